//go:build windows

package local

import "os/exec"

// ownGroup is a no-op on Windows, which has no POSIX process groups.
func ownGroup(c *exec.Cmd) {}

// terminate ends the command; Windows has no SIGTERM.
func terminate(c *exec.Cmd) { _ = c.Process.Kill() }

// kill ends the command.
func kill(c *exec.Cmd) { _ = c.Process.Kill() }

// signalled is always false on Windows.
func signalled(state interface{ Sys() any }) (int, bool) { return 0, false }
