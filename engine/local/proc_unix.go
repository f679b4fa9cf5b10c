//go:build unix

package local

import (
	"os/exec"
	"syscall"
)

// ownGroup runs the command in its own process group, so a cancel reaches
// everything it started.
func ownGroup(c *exec.Cmd) { c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// terminate sends SIGTERM to the command's process group.
func terminate(c *exec.Cmd) { _ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM) }

// kill sends SIGKILL to the command's process group.
func kill(c *exec.Cmd) { _ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }

// signalled reports the signal that ended a process, if one did.
func signalled(state interface{ Sys() any }) (int, bool) {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return int(ws.Signal()), true
	}
	return 0, false
}
