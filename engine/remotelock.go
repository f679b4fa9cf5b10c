package engine

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rolloutconsole/rollout/inventory/change"
	"github.com/rolloutconsole/rollout/inventory/shell"
)

// The remote lock (issue 9), like Kamal's but on every host: a directory
// made with mkdir, which is atomic, holding a file "info" with one
// key=value line each for the holder's owner, rollout id, reason, start
// time (RFC 3339, UTC) and pid. Each operation is one POSIX sh command
// (one Conn.Run); every value in it is quoted with shell.Quote.
//
// RemoteLockInfo and AcquireRemoteLock carry "Remote" because LockInfo and
// AcquireLock already name the console's local flock (lock.go).

// RemoteLockInfo is who holds a remote lock, as its info file says.
type RemoteLockInfo struct {
	// Owner is user@machine of the console that took the lock; "unknown"
	// when the info file is missing or says nothing useful.
	Owner string `json:"owner"`
	// ID is the rollout (or manual hold) that holds the lock.
	ID     string    `json:"id"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	PID    int       `json:"pid,omitempty"`
	// Problem is set when the info file could not be read back: it is
	// missing (the taker died between mkdir and writing it) or garbled. Such
	// a lock is held all the same, and only a forced release removes it.
	Problem string `json:"problem,omitempty"`
}

// LockHeldError is returned when a host's lock is held by another rollout.
// errors.Is(err, ErrLocked) is true for it, as for the local LockedError.
type LockHeldError struct {
	// Host is set by the caller: a Conn does not know its host's name.
	Host   string
	Path   string
	Holder RemoteLockInfo
}

// Error says who holds the lock, since when, why, and what to do.
func (e *LockHeldError) Error() string {
	return e.describe(time.Now()) + "; wait for it, or release it with rollout lock release --force if you are sure it is stale"
}

// describe is the error without its advice, against the clock now.
func (e *LockHeldError) describe(now time.Time) string {
	var b strings.Builder
	if e.Host != "" {
		b.WriteString(e.Host + ": ")
	}
	b.WriteString("locked " + DescribeHolder(e.Holder, now))
	if e.Holder.Problem != "" {
		fmt.Fprintf(&b, " (%s: %s)", e.Path, e.Holder.Problem)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrLocked) true for a LockHeldError.
func (e *LockHeldError) Is(target error) bool { return target == ErrLocked }

// DescribeHolder renders a holder for people: `by alice@jump1 for rollout
// ID since 10:04 UTC (41m ago): "reason"`, leaving out what is unknown.
func DescribeHolder(h RemoteLockInfo, now time.Time) string {
	owner := h.Owner
	if owner == "" {
		owner = "unknown"
	}
	s := "by " + owner
	if h.ID != "" {
		s += " for rollout " + h.ID
	}
	if !h.Since.IsZero() {
		since := h.Since.UTC()
		layout := "15:04 UTC"
		if now.UTC().Format("2006-01-02") != since.Format("2006-01-02") {
			layout = "2006-01-02 15:04 UTC"
		}
		s += " since " + since.Format(layout) + " (" + age(now.Sub(h.Since)) + ")"
	}
	if h.Reason != "" {
		s += ": " + strconv.Quote(h.Reason)
	}
	return s
}

// age is a duration as people say it: "41m ago", "3h05m ago", "2d4h ago".
func age(d time.Duration) string {
	if d < 0 {
		return "in the future: check the clocks"
	}
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m ago"
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh ago", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

var servicePlaceholder = regexp.MustCompile(`\{\{\s*\.Service\s*\}\}`)

// LockPath expands a change's lock path for a service:
// change.DefaultLockPath when path is empty, {{.Service}} replaced by the
// service's name. Relative paths are relative to the login directory (the
// directory a command starts in: the login user's home over SSH, the
// transport's directory for the local transport). "~" is not expanded, since
// the path is always quoted: CheckLockPath refuses it.
func LockPath(path, service string) string {
	if path == "" {
		path = change.DefaultLockPath
	}
	return servicePlaceholder.ReplaceAllLiteralString(path, service)
}

// CheckLockPath says why an expanded lock path cannot be used, or nil.
// The operations check it themselves; it is exported for earlier checks.
func CheckLockPath(p string) error {
	switch {
	case p == "":
		return errors.New("lock path is empty")
	case strings.HasPrefix(p, "~"):
		return fmt.Errorf("lock path %q: ~ is not expanded (the path is quoted); give a path relative to the login directory, like %s, or an absolute one", p, change.DefaultLockPath)
	case strings.Contains(p, "{{"):
		return fmt.Errorf("lock path %q: only {{.Service}} may be used in it", p)
	case !utf8.ValidString(p) || strings.IndexFunc(p, unsafeRune) >= 0:
		return fmt.Errorf("lock path %q has control characters", p)
	}
	switch c := path.Clean(p); c {
	case ".", "/", "..":
		return fmt.Errorf("lock path %q names no directory of its own", p)
	}
	return nil
}

// Protocol lines the lock commands print on stdout. The first one found
// decides; a login shell's chatter before it is skipped.
const (
	markTaken    = "ROLLOUT-LOCK-TAKEN"
	markHeld     = "ROLLOUT-LOCK-HELD"
	markFree     = "ROLLOUT-LOCK-FREE"
	markReleased = "ROLLOUT-LOCK-RELEASED"
	// markInfo comes before the info file's lines, markNoInfo when there is
	// no info file.
	markInfo   = "ROLLOUT-LOCK-INFO"
	markNoInfo = "ROLLOUT-LOCK-NOINFO"
)

// lockPrelude sets L to the quoted lock path and defines show, which prints
// the info file after markInfo, or markNoInfo when there is none. A lock
// whose info is missing may be being taken this very moment (mkdir is done,
// the info not yet moved in), so show waits up to a second for it first.
// A relative path gets "./" in front so that no command reads it as an option.
func lockPrelude(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "./" + p
	}
	return "L=" + shell.Quote(p) + "; " +
		`show() { n=0; while [ ! -f "$L/info" ] && [ "$n" -lt 5 ]; do sleep 0.2 2>/dev/null || { sleep 1; n=4; }; n=$((n+1)); done; ` +
		`if [ -f "$L/info" ]; then echo ` + markInfo + `; head -n 32 "$L/info"; else echo ` + markNoInfo + `; fi; }; ` +
		`notdir() { echo "$L exists and is not a directory" >&2; exit 1; }; `
}

// acquireCommand takes the lock: mkdir makes the directory or fails because
// it is there; the info is written to a temporary file and moved in, so a
// reader sees all of it or none. If writing fails the directory is removed
// again, since this command made it.
func acquireCommand(p string, info RemoteLockInfo) string {
	lines := []string{
		"owner=" + info.Owner,
		"id=" + info.ID,
		"reason=" + info.Reason,
		"since=" + formatSince(info.Since),
		"pid=" + strconv.Itoa(info.PID),
	}
	args := make([]string, len(lines))
	for i, l := range lines {
		args[i] = shell.Quote(l)
	}
	return lockPrelude(p) +
		`mkdir -p "$(dirname "$L")" || exit 1; ` +
		`if e=$(mkdir "$L" 2>&1); then ` +
		`if printf '%s\n' ` + strings.Join(args, " ") + ` > "$L/info.$$" && mv -f "$L/info.$$" "$L/info"; ` +
		`then echo ` + markTaken + `; else rm -f "$L/info.$$"; rmdir "$L"; exit 1; fi; ` +
		`elif [ -d "$L" ]; then echo ` + markHeld + `; show; ` +
		`elif [ -e "$L" ]; then notdir; ` +
		`else echo "$e" >&2; exit 1; fi`
}

// releaseCommand removes the lock if its info names id, or whatever holds
// it when force is set. It never removes more than the info file (and a
// taker's leftover temporary one) and the then empty directory: rmdir
// refuses a directory with anything else in it, and the info file, moved
// aside first, is put back, so a failed release leaves the lock as it was.
// Hosts that share one lock directory (local hosts, aliases of one machine,
// an NFS home) release it at once: a directory another release removed
// meanwhile is released, not a failure.
func releaseCommand(p, id string, force bool) string {
	cond := `[ -n "$i" ] && [ "$i" = ` + shell.Quote(id) + ` ]`
	if force {
		cond = "true"
	}
	return lockPrelude(p) +
		`if [ ! -e "$L" ]; then echo ` + markFree + `; exit 0; fi; ` +
		`[ -d "$L" ] || notdir; ` +
		`i=$(sed -n 's/^id=//p' "$L/info" 2>/dev/null | head -n 1); ` +
		`if ` + cond + `; then echo ` + markReleased + `; show; ` +
		`if [ -f "$L/info" ]; then mv -f "$L/info" "$L.info.$$" 2>/dev/null || [ ! -e "$L/info" ] || exit 1; fi; rm -f "$L"/info.*; ` +
		`if rmdir "$L" 2>/dev/null || [ ! -e "$L" ]; then rm -f "$L.info.$$"; ` +
		`else rmdir "$L"; [ -f "$L.info.$$" ] && mv -f "$L.info.$$" "$L/info"; exit 1; fi; ` +
		`else echo ` + markHeld + `; show; fi`
}

// readCommand says whether the lock is there, and what its info says.
func readCommand(p string) string {
	return lockPrelude(p) +
		`if [ -d "$L" ]; then echo ` + markHeld + `; show; ` +
		`elif [ -e "$L" ]; then notdir; ` +
		`else echo ` + markFree + `; fi`
}

// AcquireRemoteLock takes the lock at path on one host through conn,
// recording info. If the lock is already held by info.ID (a resumed
// rollout) it succeeds and leaves the info as it was. If another holds it,
// it returns a *LockHeldError with the holder (its Host is for the caller,
// who knows it, to set). Any other error means the outcome is unknown (the
// connection may have dropped after mkdir): ReadLock tells, and ReleaseLock
// with the same id is always safe to call.
func AcquireRemoteLock(ctx context.Context, conn Conn, path string, info RemoteLockInfo) error {
	if err := CheckLockPath(path); err != nil {
		return err
	}
	info = sanitizeInfo(info)
	if info.ID == "" {
		return errors.New("take lock: the rollout id is empty")
	}
	res, err := runLock(ctx, conn, acquireCommand(path, info))
	if err != nil {
		return fmt.Errorf("take lock %s: %w", path, err)
	}
	switch res.mark {
	case markTaken:
		return nil
	case markHeld:
		if res.holder.ID == info.ID {
			return nil
		}
		return &LockHeldError{Path: path, Holder: res.holder}
	}
	return res.unexpected("take lock", path)
}

// ReleaseLock removes the lock at path if id holds it. A lock held by
// another is left, and a *LockHeldError returned, unless force is set; a
// lock whose info is missing or garbled is held by nobody known, so only
// force removes it. A free lock is released already: nil.
func ReleaseLock(ctx context.Context, conn Conn, path, id string, force bool) error {
	_, err := ReleaseLockHolder(ctx, conn, path, id, force)
	return err
}

// ReleaseLockHolder is ReleaseLock that also returns who held the lock it
// removed (nil when the lock was free already), for a console to say whose
// lock a forced release broke.
func ReleaseLockHolder(ctx context.Context, conn Conn, path, id string, force bool) (*RemoteLockInfo, error) {
	if err := CheckLockPath(path); err != nil {
		return nil, err
	}
	id = oneLine(id, maxInfoValue)
	if id == "" && !force {
		return nil, errors.New("release lock: the rollout id is empty")
	}
	res, err := runLock(ctx, conn, releaseCommand(path, id, force))
	if err != nil {
		return nil, fmt.Errorf("release lock %s: %w", path, err)
	}
	switch res.mark {
	case markFree:
		return nil, nil
	case markReleased:
		return &res.holder, nil
	case markHeld:
		return nil, &LockHeldError{Path: path, Holder: res.holder}
	}
	return nil, res.unexpected("release lock", path)
}

// ReadLock returns who holds the lock at path, or nil when it is free.
func ReadLock(ctx context.Context, conn Conn, path string) (*RemoteLockInfo, error) {
	if err := CheckLockPath(path); err != nil {
		return nil, err
	}
	res, err := runLock(ctx, conn, readCommand(path))
	if err != nil {
		return nil, fmt.Errorf("read lock %s: %w", path, err)
	}
	switch res.mark {
	case markFree:
		return nil, nil
	case markHeld:
		return &res.holder, nil
	}
	return nil, res.unexpected("read lock", path)
}

// lockResult is what a lock command printed.
type lockResult struct {
	mark   string
	holder RemoteLockInfo
	stderr []string
}

func (r *lockResult) unexpected(stage, path string) error {
	return fmt.Errorf("%s %s: the host did not say whether the lock is held (is /bin/sh a POSIX shell?)%s", stage, path, r.errTail())
}

// errTail is the last few lines of stderr, for an error message.
func (r *lockResult) errTail() string {
	if len(r.stderr) == 0 {
		return ""
	}
	return ": " + strings.Join(r.stderr, "; ")
}

// Bounds on what a lock command's output may make us keep.
const (
	maxLockLines = 64
	maxErrLines  = 4
	maxInfoValue = 300 // bytes of one info value, longer ones cut
)

// runLock runs a lock command and reads its answer. A non-zero exit is an
// error carrying the command's last stderr lines.
func runLock(ctx context.Context, conn Conn, line string) (*lockResult, error) {
	var stdout []string
	res := &lockResult{}
	code, err := conn.Run(ctx, Command{Line: line}, func(s Stream, b []byte) {
		if s == Stderr {
			if l := oneLine(string(b), 200); l != "" {
				if len(res.stderr) == maxErrLines {
					res.stderr = res.stderr[1:]
				}
				res.stderr = append(res.stderr, l)
			}
			return
		}
		if len(stdout) < maxLockLines {
			stdout = append(stdout, string(b))
		}
	})
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("exit status %d%s", code, res.errTail())
	}
	parseLockOutput(stdout, res)
	return res, nil
}

// parseLockOutput finds the state line and the holder's info after it.
// Only the first state line counts, so an info file cannot forge one.
func parseLockOutput(lines []string, res *lockResult) {
	i := 0
	for ; i < len(lines); i++ {
		switch l := strings.TrimSpace(lines[i]); l {
		case markTaken, markHeld, markFree, markReleased:
			res.mark = l
		}
		if res.mark != "" {
			break
		}
	}
	if res.mark != markHeld && res.mark != markReleased {
		return
	}
	rest := lines[min(i+1, len(lines)):]
	switch {
	case len(rest) > 0 && strings.TrimSpace(rest[0]) == markInfo:
		res.holder = parseInfo(rest[1:])
	default:
		res.holder = RemoteLockInfo{Owner: "unknown", Problem: "the lock directory has no info file; " +
			"its taker died before writing one (a stale lock) or is writing it right now"}
	}
}

// parseInfo reads an info file's key=value lines. Whatever the file holds,
// the values come back as one printable line each.
func parseInfo(lines []string) RemoteLockInfo {
	var h RemoteLockInfo
	var bad []string
	for _, l := range lines {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			if strings.TrimSpace(l) != "" {
				bad = append(bad, "a line without =")
			}
			continue
		}
		v = oneLine(v, maxInfoValue)
		switch strings.TrimSpace(k) {
		case "owner":
			h.Owner = v
		case "id":
			h.ID = v
		case "reason":
			h.Reason = v
		case "since":
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				h.Since = t.UTC()
			} else if v != "" {
				bad = append(bad, "since is not an RFC 3339 time")
			}
		case "pid":
			if n, err := strconv.Atoi(v); err == nil {
				h.PID = n
			} else if v != "" {
				bad = append(bad, "pid is not a number")
			}
		}
	}
	switch {
	case h.Owner == "" && h.ID == "":
		h.Problem = "the lock's info file names no owner and no rollout id (empty or garbled)"
	case len(bad) > 0:
		h.Problem = "the lock's info file is garbled: " + bad[0]
	}
	if h.Owner == "" {
		h.Owner = "unknown"
	}
	return h
}

// sanitizeInfo makes every value one printable line, as the info file's
// format needs.
func sanitizeInfo(info RemoteLockInfo) RemoteLockInfo {
	info.Owner = oneLine(info.Owner, maxInfoValue)
	info.ID = oneLine(info.ID, maxInfoValue)
	info.Reason = oneLine(info.Reason, maxInfoValue)
	info.Problem = ""
	return info
}

func formatSince(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// oneLine returns s as one printable line of at most max bytes: invalid
// UTF-8 becomes U+FFFD, control characters (newlines, escapes) and line
// separators become spaces, and the ends are trimmed.
func oneLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// unsafeRune is a rune that would break a line or steer a terminal.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085'
}
