//go:build unix

package demo

import (
	"os"
	"os/exec"
	"syscall"
)

func ownGroup(c *exec.Cmd) { c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends the named SSH signal ("TERM", "KILL", …) to p's group.
func signalGroup(p *os.Process, name string) { _ = syscall.Kill(-p.Pid, signalNamed(name)) }

func signalNamed(name string) syscall.Signal {
	switch name {
	case "KILL":
		return syscall.SIGKILL
	case "INT":
		return syscall.SIGINT
	case "HUP":
		return syscall.SIGHUP
	}
	return syscall.SIGTERM
}
