//go:build windows

package demo

import (
	"os"
	"os/exec"
)

func ownGroup(c *exec.Cmd) {}

// signalGroup ends p: Windows has no signals to forward.
func signalGroup(p *os.Process, name string) { _ = p.Kill() }
