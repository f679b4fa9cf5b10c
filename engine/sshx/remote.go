package sshx

import (
	"strconv"
	"strings"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory/shell"
)

// wrapperNoPTY runs "$1" (the command, env already quoted in) with
// /bin/sh in a process group that the wrapper can signal as a whole, and
// signals that group when the transport says so on stdin or when stdin
// ends; "$2" is the grace period in whole seconds between SIGTERM and
// SIGKILL when stdin ends without warning (the connection died).
//
// Where sshd made the session's shell a process group leader (OpenSSH calls
// setsid for every session without a PTY) — the wrapper reads its group
// from /proc/$$/stat, as that shell exec'd it keeps its pid — the command
// runs in the wrapper's own group and is stopped with "kill 0": one exec
// fewer per command than setsid, 0.85 of 3.5 ms of CPU on the host. The
// wrapper and the watcher ignore SIGTERM (set after the command is forked,
// before the watcher is), so a TERM to the group stops only the command and
// the wrapper reports its status; a KILL ends the wrapper too, and the
// session ends by signal, as the cancel that sent it expects. Elsewhere
// (no /proc, another server) the command gets a session of its own from
// setsid(1), or without setsid only its own process is signalled.
//
// Details that matter, each learnt the hard way:
//   - an asynchronous list's stdin is /dev/null in a shell without job
//     control, so the watcher reads a copy of stdin kept on fd 3;
//   - setsid does not fork here (a background child is never a process group
//     leader), so $! is the new group's id;
//   - the wrapper waits with the wait builtin, which a trapped signal
//     interrupts, and waits again until the command is really gone;
//   - in the setsid form the watcher is forked before the wrapper traps
//     TERM, so it starts with SIGTERM's default action: a subshell forked
//     with the trap set clears it only once running, and dash drops a
//     SIGTERM that arrives in between, which the wrapper's "kill $w" after a
//     quick command often did (3–5 of 100 'true' commands on OpenSSH 9.2);
//     that watcher lived on until stdin ended, then signalled a process
//     group long gone (its id free for reuse) and held a sleep for the
//     grace period. In the group form the watcher inherits SIGTERM ignored,
//     at fork, and the wrapper ends it with SIGKILL;
//   - once the command is started the wrapper ignores SIGPIPE and sends its
//     own output to /dev/null: dash reports a job killed by a signal on
//     stderr, and when the connection is gone that write would kill the
//     wrapper before it could stop the watcher.
//
// It is one line, so that it survives a login shell of any kind on its way
// to /bin/sh.
const wrapperNoPTY = `exec 3<&0 </dev/null; ` + readGroup +
	`if [ "$g" = "$$" ]; then ` +
	`/bin/sh -c "$1" 3<&- & p=$!; trap '' TERM PIPE; ` +
	watchGroup + ` >/dev/null 2>&1 & ` +
	`w=$!; trap 'kill -s TERM 0' HUP INT; ` +
	`else ` +
	`if command -v setsid >/dev/null 2>&1; then setsid /bin/sh -c "$1" 3<&- & else /bin/sh -c "$1" 3<&- & fi; ` +
	`p=$!; trap '' PIPE; ` + killSetsid + watchSetsid + ` >/dev/null 2>&1 & ` +
	`w=$!; trap 'k TERM' TERM HUP INT; ` +
	`fi; ` +
	`exec 3<&- >/dev/null 2>&1; ` + waitCommand +
	`kill -s KILL "$w" 2>/dev/null; exit "$s"`

// Pieces the no-PTY wrappers share, so that a fix to one is a fix to both.
// In each, "$2" is the grace period in whole seconds, p the command's pid,
// and fd 3 the session's stdin.
const (
	// readGroup sets g to the wrapper's process group, where /proc says.
	readGroup = `g=; { read -r _ _ _ _ g _ </proc/$$/stat; } 2>/dev/null; `
	// watchGroup is the group form's watcher: it signals the whole group,
	// where the wrapper and the watcher itself ignore SIGTERM.
	watchGroup = `( while IFS= read -r l <&3; do case $l in TERM) kill -s TERM 0;; KILL) kill -s KILL 0;; esac; done; kill -s TERM 0; sleep "$2"; kill -s KILL 0 )`
	// killSetsid defines k, the setsid form's signal: to the command's
	// group, or without one to the command alone.
	killSetsid = `k() { kill -s "$1" -- "-$p" 2>/dev/null || kill -s "$1" "$p" 2>/dev/null; }; `
	// watchSetsid is the setsid form's watcher.
	watchSetsid = `( while IFS= read -r l <&3; do case $l in TERM) k TERM;; KILL) k KILL;; esac; done; k TERM; sleep "$2"; k KILL )`
	// waitCommand waits for the command, again after a trapped signal
	// interrupts the wait, and sets s to its status.
	waitCommand = `wait "$p"; s=$?; while kill -0 "$p" 2>/dev/null; do wait "$p"; s=$?; done; `
)

// wrapperPTY runs "$1" on the session's terminal, in the wrapper's own
// process group (the terminal's foreground group), and passes SIGTERM,
// SIGHUP and SIGINT on to the whole group. The command keeps the terminal as
// its stdin (fd 3 carries it past the /dev/null an asynchronous list gets).
const wrapperPTY = `exec 3<&0; ` +
	`trap 'trap - TERM HUP INT; kill -s TERM 0 2>/dev/null' TERM HUP INT; ` +
	`/bin/sh -c "$1" <&3 3<&- & ` +
	`p=$!; exec 3<&-; ` +
	`wait "$p"; s=$?; while kill -0 "$p" 2>/dev/null; do wait "$p"; s=$?; done; exit "$s"`

// What the transport writes to a command's stdin to steer a cancel: lines
// for the no-PTY wrapper's watcher, and for a PTY the terminal's interrupt
// character (^C), which makes the kernel send SIGINT to the foreground
// process group.
const (
	stdinTerm    = "TERM\n"
	stdinKill    = "KILL\n"
	ptyInterrupt = "\x03"
)

// remoteCommand is the exec request for cmd: its environment and line
// quoted into the wrapper that makes it killable.
func remoteCommand(cmd engine.Command, grace time.Duration) string {
	line := engine.WithEnv(cmd)
	if cmd.PTY {
		return "exec /bin/sh -c " + shell.Quote(wrapperPTY) + " rollout " + shell.Quote(line)
	}
	return "exec /bin/sh -c " + shell.Quote(wrapperNoPTY) + " rollout " + shell.Quote(line) + " " + strconv.Itoa(graceSeconds(grace))
}

// wrapperChain is what a warm session runs: the no-PTY wrapper, in a loop
// that reads each command from stdin rather than from its arguments, so
// that a session can be started before its command is known and can run
// more than one. "$1" is the terminator (random per connection), "$2" the
// grace period, as in wrapperNoPTY. Each command is its lines, then a line that is the
// terminator: the wrapper runs it and exits with its status, as
// wrapperNoPTY does; or the terminator and "+": the wrapper runs it, then,
// if it succeeded, writes a frame, "$1:" and the status on stdout and "$1:"
// alone on stderr, each with a newline, and waits for the next command (a
// command that failed ends the session with its status, as the last one
// does: nothing follows a failure, and a killed command's processes may
// still be on their way out). The frames
// tell where the command's output ends (each stream is a pipe, so what the
// command wrote comes first); the client reads its status from them. End
// of file where a command is awaited (the session closed, unused or after
// a chain) exits quietly, running nothing.
//
// Beyond wrapperNoPTY (whose details it shares):
//   - the session's stdin stays on fd 3 and its stdout and stderr on fds 4
//     and 5 for the wrapper's whole life; the command gets them as 0 (no:
//     /dev/null), 1 and 2, and neither it nor the watcher holds 3, 4 or 5;
//   - a command with "+" runs in a session of its own, from setsid, and
//     only the session's last command in the wrapper's process group (the
//     group form, where sshd made the wrapper a group leader); so stopping
//     one command never stops what another left running;
//   - a command with "+" that left processes in its group (a daemon an
//     apply started, say), which may hold its stdout or stderr, is not
//     framed either: the wrapper exits with its status, and the client reads its
//     output to the end, as it would for a session of its own (OpenSSH's
//     way: the output ends when the last process holding it has closed
//     it); the next command gets a new session. So too where there is no
//     setsid to tell. A process that left the group itself (a daemon that
//     calls setsid) and still holds the output is not seen: the session's
//     last command then waits for it, where a session per command would
//     have had the first wait;
//   - the wrapper waits for the watcher to be gone before it frames the
//     command, so the next command's line, which the client sends only on
//     reading the frame, cannot be read by a watcher still there;
//   - traps are reset before each command is forked, and the wrapper's own
//     variables are unset, or moved into the positional parameters, first:
//     an exported variable of the same name is handed on unchanged.
//
// It is one line, so that it survives a login shell of any kind on its way
// to /bin/sh.
const wrapperChain = `exec 3<&0 4>&1 5>&2 </dev/null >/dev/null 2>&1; ` + readGroup +
	`if [ "$g" = "$$" ]; then set -- "$1" "$2" 1; else set -- "$1" "$2" ""; fi; unset g; ` +
	`while :; do ` +
	`trap - TERM HUP INT PIPE; unset p q w s; ` +
	`_rl=; _rf=; _rc=; _rg=; _rn=; ` +
	`while IFS= read -r _rl <&3; do ` +
	`if [ "$_rl" = "$1" ]; then _rf=1; break; fi; ` +
	`if [ "$_rl" = "$1+" ]; then _rf=2; break; fi; ` +
	`if [ -n "$_rg" ]; then [ -n "$_rn" ] || { _rn=$(printf '\nx'); _rn=${_rn%x}; }; _rc=$_rc$_rn$_rl; else _rc=$_rl; _rg=1; fi; ` +
	`done; [ -n "$_rf" ] || exit 0; ` +
	`set -- "$1" "$2" "$3" "$_rf" "$_rc"; unset _rl _rf _rc _rg _rn; ` +
	`if [ "$4" = 1 ] && [ "$3" = 1 ]; then ` +
	`/bin/sh -c "$5" >&4 2>&5 3<&- 4>&- 5>&- & p=$!; trap '' TERM PIPE; ` +
	watchGroup + ` 4>&- 5>&- & ` +
	`w=$!; trap 'kill -s TERM 0' HUP INT; ` +
	`else ` +
	`if command -v setsid >/dev/null 2>&1; then setsid /bin/sh -c "$5" >&4 2>&5 3<&- 4>&- 5>&- & q=1; else /bin/sh -c "$5" >&4 2>&5 3<&- 4>&- 5>&- & fi; ` +
	`p=$!; trap '' PIPE; ` + killSetsid + watchSetsid + ` 4>&- 5>&- & ` +
	`w=$!; trap 'k TERM' TERM HUP INT; ` +
	`fi; ` + waitCommand +
	`kill -s KILL "$w" 2>/dev/null; wait "$w"; ` +
	`[ "$4" = 2 ] && [ "$s" = 0 ] && [ -n "$q" ] && ! kill -s 0 -- "-$p" 2>/dev/null || exit "$s"; ` +
	`printf '%s:%s\n' "$1" "$s" >&4; printf '%s:\n' "$1" >&5; ` +
	`set -- "$1" "$2" "$3"; ` +
	`done`

// maxWarmLine bounds the commands sent to a warm session: the shell's read
// takes stdin a byte at a time, so a very long command is cheaper as an
// argument.
const maxWarmLine = 16 << 10

// warmCommand is the exec request for a warm session: the wrapper, waiting
// on stdin for its command and the terminator.
func warmCommand(terminator string, grace time.Duration) string {
	return "exec /bin/sh -c " + shell.Quote(wrapperChain) + " rollout " + shell.Quote(terminator) + " " + strconv.Itoa(graceSeconds(grace))
}

// warmInput is what a warm session reads for one command: its line, then
// the terminator, with "+" when more is set (the session stays for another
// command). ok is false when the line cannot be sent this way (too long,
// or it holds a terminator line of either kind as a line of its own).
func warmInput(line, terminator string, more bool) (in string, ok bool) {
	if len(line) > maxWarmLine {
		return "", false
	}
	if l := "\n" + line + "\n"; strings.Contains(l, "\n"+terminator+"\n") || strings.Contains(l, "\n"+terminator+"+\n") {
		return "", false
	}
	if more {
		return line + "\n" + terminator + "+\n", true
	}
	return line + "\n" + terminator + "\n", true
}

func graceSeconds(grace time.Duration) int {
	return max(1, int((grace+time.Second-1)/time.Second))
}
