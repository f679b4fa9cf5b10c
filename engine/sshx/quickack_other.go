//go:build !linux

package sshx

import "net"

// quickAck is Linux's TCP_QUICKACK (see quickack_linux.go); elsewhere the
// connection is left as it is.
func quickAck(nc net.Conn) net.Conn { return nc }
