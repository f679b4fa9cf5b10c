// Package sshx is the engine's SSH transport, built on golang.org/x/crypto/ssh.
//
// What it guarantees:
//
//   - Host keys are always verified against known_hosts (hashed entries,
//     [host]:port, @revoked, @cert-authority, every key type), and the key
//     algorithms offered are the ones known_hosts holds for the host. An
//     unknown host is refused with its SHA256 fingerprint and the command that
//     records it; Options.AcceptNewHostKeys records it instead, as OpenSSH's
//     StrictHostKeyChecking=accept-new does. A changed or revoked key is
//     refused, always: there is no option that turns checking off.
//   - Credentials: ssh-agent first, then identity files. Nothing ever prompts:
//     a passphrase-protected key that no agent holds is an error that says to
//     ssh-add it.
//   - One *ssh.Client per host, reused for every step; at most
//     Options.MaxSessionsPerConn sessions at once on it. Jump hosts are shared:
//     a thousand hosts behind one bastion make one connection to it.
//   - A global bound on handshakes in flight, so a large fleet does not trip
//     sshd's MaxStartups, and keepalives that close a connection whose peer
//     stopped answering, so no Run waits forever on a dead host.
//
// # Making remote commands killable
//
// The SSH "signal" request gets no reply; OpenSSH before 7.9 ignores it, and
// so does every OpenSSH for root, whose sessions run without privilege
// separation ("session signalling requires privilege separation"); where it
// works it reaches the session's shell only, not the processes the shell
// started. Closing a session without a terminal does not hang anything up
// either: a remote "sleep 300; deploy" would run on after an abort, or after
// the connection dropped. So every command runs under a small POSIX sh
// wrapper (wrapperNoPTY and wrapperPTY in remote.go) that makes it killable
// by construction:
//
//   - Without a PTY the command runs in a process group of its own
//     (setsid), and the wrapper keeps a watcher on the session's stdin, which
//     the transport holds open and never writes to except to steer a cancel.
//     "TERM" on stdin sends SIGTERM to the whole group, "KILL" sends SIGKILL,
//     and end of file — the transport closed the session, or the connection
//     died and sshd closed the pipe — sends SIGTERM, then SIGKILL after the
//     grace period. A SIGTERM, SIGHUP or SIGINT delivered to the wrapper by
//     the "signal" request is forwarded to the group as well.
//   - With a PTY (Command.PTY) the command keeps the terminal, so sudo's
//     requiretty works; it runs in the wrapper's process group, the
//     terminal's foreground group, and the wrapper passes SIGTERM, SIGHUP
//     and SIGINT on to that group. To cancel, the transport types the
//     interrupt character (^C), so the kernel itself sends SIGINT to the
//     group, whatever the server makes of "signal"; closing the session
//     then hangs up the terminal, and the kernel's SIGHUP follows.
//
// On cancel, Run sends the "signal" request and "TERM" on stdin (^C with a
// PTY), waits Options.Grace, then sends "KILL", closes stdin and the
// session, and returns ctx.Err(). A peer that does not even close the session within a further
// grace period has its whole connection closed, so Run always returns.
//
// Processes the command itself moved out of its group (daemons that call
// setsid) are, as with OpenSSH, out of reach.
//
// # Warm sessions
//
// A new session costs two round trips (open, exec) and, on the host, sshd's
// fork and the shells' execs before the command starts. A warm session's
// wrapper is started before its command is known, and reads it from stdin,
// up to a random terminator line; with "+" after the terminator it runs
// the command, frames its end on stdout (the terminator, a colon and the
// exit status) and on stderr, and waits for the next. So a command with
// More (engine.Command.More: verify after apply) runs in such a session,
// and, once it succeeds, the next command runs in the same one: no new
// session, login shell and wrapper on the host. On a connection opened
// ahead of the host's turn (Warm), the first command's session is started
// while the host waits. A command with more to come runs in a process
// group of its own (setsid), and is framed only if it succeeded and left
// nothing running in it: else the session ends with it, and its output is
// read to the end of every process holding it, as for a session of its
// own. The session's last command runs in the wrapper's group. A warm
// session takes one of the
// connection's session slots; an unused one reads end of file when the
// connection closes and exits without running anything, and one whose
// command failed is closed at once. Commands with a PTY, and lines over 16
// KiB, are passed as arguments as before, in a session of their own (a
// command with More then warms the next one's while it runs).
//
// Environment variables are quoted into the command line (engine.WithEnv):
// most sshd configurations refuse SetEnv.
package sshx
