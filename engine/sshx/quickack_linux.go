package sshx

import (
	"net"
	"syscall"
)

// quickAck makes a direct TCP connection acknowledge every segment at once.
//
// sshd leaves Nagle's algorithm on for sessions without a terminal, and
// right after authentication it sends a packet that needs no answer (the
// hostkeys-00@openssh.com notice) and then, behind it, the confirmation of
// the first session: Nagle holds the confirmation until the notice is
// acknowledged, and Linux delays that acknowledgement by its 40 ms minimum.
// Every host's first command so waited ~45 ms on a loopback sshd (measured
// with engine/sshx/internal/fanout: first Run 46–53 ms, later ones 3–4 ms;
// with quick acks, 4–9 ms). TCP_QUICKACK does not stick, so it is set again
// after every read; that is one setsockopt per read of an SSH connection,
// a microsecond, where a read already costs a decryption.
func quickAck(nc net.Conn) net.Conn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	return &quickAckConn{TCPConn: tc, rc: rc}
}

type quickAckConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

func (c *quickAckConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	if n > 0 {
		_ = c.rc.Control(setQuickAck)
	}
	return n, err
}

func setQuickAck(fd uintptr) {
	_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
}
