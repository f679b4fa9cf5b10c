package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/local"
	"github.com/rolloutconsole/rollout/inventory"
)

// The remote lock's tests run its commands for real, with sh -c in a
// temporary directory standing for a host's login directory (the local
// transport), and against a scripted Conn where a host must answer oddly.

const lockRel = ".rollout/locks/web"

// lockHost is a "host": a directory the local transport runs commands in.
type lockHost struct {
	t    *testing.T
	dir  string
	conn engine.Conn
}

func newLockHost(t *testing.T) *lockHost {
	t.Helper()
	dir := t.TempDir()
	c, err := (&local.Transport{Dir: dir}).Dial(context.Background(), &inventory.Host{Name: "web-03"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &lockHost{t: t, dir: dir, conn: c}
}

func (h *lockHost) path(rel string) string { return filepath.Join(h.dir, rel) }

func lockInfo(id string) engine.RemoteLockInfo {
	return engine.RemoteLockInfo{Owner: "alice@jump1", ID: id, Reason: "nginx 1.25.3",
		Since: time.Date(2026, 11, 26, 10, 4, 5, 0, time.UTC), PID: 4242}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestLockPathExpandsTheService(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ".rollout/locks/web"},
		{"/var/lock/rollout-{{.Service}}", "/var/lock/rollout-web"},
		{"locks/{{ .Service }}/x", "locks/web/x"},
		{"fixed", "fixed"},
	} {
		if got := engine.LockPath(c.in, "web"); got != c.want {
			t.Errorf("LockPath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", "~/.rollout/locks/web", "~deploy/locks", ".", "/", "./", "..", "a/{{.Host}}", "a\nb", "a\x1bb"} {
		if err := engine.CheckLockPath(bad); err == nil {
			t.Errorf("CheckLockPath(%q) accepted", bad)
		}
	}
	err := engine.CheckLockPath("~/.rollout/locks/web")
	if err == nil || !strings.Contains(err.Error(), "login directory") {
		t.Errorf("the ~ error does not say what to write instead: %v", err)
	}
}

func TestRemoteLockTildeRefusedBeforeAnythingRuns(t *testing.T) {
	h := newLockHost(t)
	err := engine.AcquireRemoteLock(ctxT(t), h.conn, "~/locks/web", lockInfo("r1"))
	if err == nil || !strings.Contains(err.Error(), "~ is not expanded") {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(h.dir); len(entries) != 0 {
		t.Errorf("something was made: %v", entries)
	}
}

func TestRemoteLockAcquireFreeWritesInfo(t *testing.T) {
	h := newLockHost(t)
	ctx := ctxT(t)
	if got, err := engine.ReadLock(ctx, h.conn, lockRel); err != nil || got != nil {
		t.Fatalf("before: %+v, %v; want free", got, err)
	}
	if err := engine.AcquireRemoteLock(ctx, h.conn, lockRel, lockInfo("r1")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(h.path(lockRel + "/info"))
	if err != nil {
		t.Fatal(err)
	}
	want := "owner=alice@jump1\nid=r1\nreason=nginx 1.25.3\nsince=2026-11-26T10:04:05Z\npid=4242\n"
	if string(data) != want {
		t.Errorf("info:\n%s\nwant:\n%s", data, want)
	}
	got, err := engine.ReadLock(ctx, h.conn, lockRel)
	if err != nil || got == nil || *got != lockInfo("r1") {
		t.Fatalf("ReadLock = %+v, %v; want %+v", got, err, lockInfo("r1"))
	}
	if entries, _ := os.ReadDir(h.path(lockRel)); len(entries) != 1 {
		t.Errorf("lock dir holds %v, want only info", entries)
	}
}

func TestRemoteLockSameIDSucceedsAnotherIsRefused(t *testing.T) {
	h := newLockHost(t)
	ctx := ctxT(t)
	if err := engine.AcquireRemoteLock(ctx, h.conn, lockRel, lockInfo("r1")); err != nil {
		t.Fatal(err)
	}
	// A resumed rollout takes its own lock again; the info stays the first one.
	again := lockInfo("r1")
	again.PID = 1
	if err := engine.AcquireRemoteLock(ctx, h.conn, lockRel, again); err != nil {
		t.Fatalf("same id: %v", err)
	}
	if got, _ := engine.ReadLock(ctx, h.conn, lockRel); got == nil || got.PID != 4242 {
		t.Errorf("info after retaking: %+v", got)
	}
	other := engine.RemoteLockInfo{Owner: "bob@jump2", ID: "r2", Reason: "other", Since: time.Now(), PID: 7}
	err := engine.AcquireRemoteLock(ctx, h.conn, lockRel, other)
	var held *engine.LockHeldError
	if !errors.As(err, &held) {
		t.Fatalf("another id: %v, want a LockHeldError", err)
	}
	if held.Holder != lockInfo("r1") || held.Path != lockRel {
		t.Errorf("holder %+v at %q", held.Holder, held.Path)
	}
	if !errors.Is(err, engine.ErrLocked) {
		t.Error("errors.Is(err, ErrLocked) is false")
	}
	held.Host = "web-03"
	msg := held.Error()
	for _, want := range []string{"web-03: locked by alice@jump1 for rollout r1 since ", `"nginx 1.25.3"`, "ago", "rollout lock release --force"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
}

func TestRemoteLockReleaseByOwnerOtherAndForce(t *testing.T) {
	h := newLockHost(t)
	ctx := ctxT(t)
	if err := engine.AcquireRemoteLock(ctx, h.conn, lockRel, lockInfo("r1")); err != nil {
		t.Fatal(err)
	}
	// Another id is refused and the lock left as it was.
	err := engine.ReleaseLock(ctx, h.conn, lockRel, "r2", false)
	var held *engine.LockHeldError
	if !errors.As(err, &held) || held.Holder.ID != "r1" {
		t.Fatalf("release by another: %v", err)
	}
	if got, _ := engine.ReadLock(ctx, h.conn, lockRel); got == nil || *got != lockInfo("r1") {
		t.Fatalf("after a refused release: %+v", got)
	}
	if err := engine.ReleaseLock(ctx, h.conn, lockRel, "", false); err == nil {
		t.Error("release with an empty id and no force succeeded")
	}
	// The owner releases; the parent directory stays.
	if err := engine.ReleaseLock(ctx, h.conn, lockRel, "r1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h.path(lockRel)); !os.IsNotExist(err) {
		t.Errorf("lock dir still there: %v", err)
	}
	if _, err := os.Stat(h.path(".rollout/locks")); err != nil {
		t.Errorf("parent gone: %v", err)
	}
	// Releasing a free lock is done already.
	if err := engine.ReleaseLock(ctx, h.conn, lockRel, "r1", false); err != nil {
		t.Errorf("release of a free lock: %v", err)
	}
	// Force breaks another's lock and says whose it was.
	if err := engine.AcquireRemoteLock(ctx, h.conn, lockRel, lockInfo("r1")); err != nil {
		t.Fatal(err)
	}
	was, err := engine.ReleaseLockHolder(ctx, h.conn, lockRel, "", true)
	if err != nil || was == nil || *was != lockInfo("r1") {
		t.Fatalf("ReleaseLockHolder = %+v, %v", was, err)
	}
	if got, err := engine.ReadLock(ctx, h.conn, lockRel); got != nil || err != nil {
		t.Fatalf("after force: %+v, %v", got, err)
	}
	if was, err := engine.ReleaseLockHolder(ctx, h.conn, lockRel, "", true); was != nil || err != nil {
		t.Errorf("ReleaseLockHolder of a free lock = %+v, %v", was, err)
	}
	if err := engine.AcquireRemoteLock(ctx, h.conn, lockRel, lockInfo("r1")); err != nil {
		t.Fatal(err)
	}
	if err := engine.ReleaseLock(ctx, h.conn, lockRel, "r9", true); err != nil {
		t.Fatalf("ReleaseLock with force: %v", err)
	}
	if _, err := os.Stat(h.path(lockRel)); !os.IsNotExist(err) {
		t.Errorf("lock dir still there after force: %v", err)
	}
}

// A taker that died between mkdir and writing the info leaves a bare
// directory: held by someone unknown, never taken over or released without force.
func TestRemoteLockMissingInfoIsHeldAndStale(t *testing.T) {
	h := newLockHost(t)
	ctx := ctxT(t)
	if err := os.MkdirAll(h.path(lockRel), 0o700); err != nil {
		t.Fatal(err)
	}
	err := engine.AcquireRemoteLock(ctx, h.conn, lockRel, lockInfo("r1"))
	var held *engine.LockHeldError
	if !errors.As(err, &held) {
		t.Fatalf("acquire over a bare lock dir: %v", err)
	}
	if held.Holder.Owner != "unknown" || held.Holder.ID != "" || !strings.Contains(held.Holder.Problem, "no info file") {
		t.Errorf("holder %+v", held.Holder)
	}
	if msg := held.Error(); !strings.Contains(msg, "locked by unknown") || !strings.Contains(msg, "no info file") {
		t.Errorf("message: %s", msg)
	}
	if got, err := engine.ReadLock(ctx, h.conn, lockRel); err != nil || got == nil || got.Problem == "" {
		t.Errorf("ReadLock = %+v, %v", got, err)
	}
	if err := engine.ReleaseLock(ctx, h.conn, lockRel, "r1", false); !errors.As(err, &held) {
		t.Errorf("release without force: %v", err)
	}
	if _, err := os.Stat(h.path(lockRel)); err != nil {
		t.Fatalf("the bare lock was removed without force: %v", err)
	}
	// A taker's leftover temporary file goes with a forced release.
	if err := os.WriteFile(h.path(lockRel+"/info.123"), []byte("owner=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if was, err := engine.ReleaseLockHolder(ctx, h.conn, lockRel, "", true); err != nil || was == nil || was.Owner != "unknown" {
		t.Fatalf("ReleaseLockHolder = %+v, %v", was, err)
	}
	if _, err := os.Stat(h.path(lockRel)); !os.IsNotExist(err) {
		t.Errorf("still there: %v", err)
	}
}

func TestRemoteLockGarbledInfo(t *testing.T) {
	for name, content := range map[string]string{
		"empty":    "",
		"no keys":  "garbage\n\x00\xff\xfe\n",
		"escapes":  "owner=\x1b]0;pwned\x07eve\x1b[2J\nid=r9\nsince=yesterday\npid=many\n",
		"long":     "owner=" + strings.Repeat("é", 5000) + "\nid=r9\n",
		"bad utf8": "owner=\xff\xfe\nid=r9\n",
	} {
		t.Run(name, func(t *testing.T) {
			h := newLockHost(t)
			ctx := ctxT(t)
			if err := os.MkdirAll(h.path(lockRel), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(h.path(lockRel+"/info"), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := engine.ReadLock(ctx, h.conn, lockRel)
			if err != nil || got == nil {
				t.Fatalf("ReadLock = %+v, %v", got, err)
			}
			for _, s := range []string{got.Owner, got.ID, got.Reason, got.Problem} {
				if strings.ContainsAny(s, "\x00\x07\x1b\n\r") || len(s) > 400 {
					t.Errorf("unsafe or unbounded value %q", s)
				}
			}
			if got.Owner == "" {
				t.Error("owner empty, want unknown or a name")
			}
			if name != "long" && name != "bad utf8" && got.Problem == "" {
				t.Errorf("no problem reported for %+v", got)
			}
			err = engine.AcquireRemoteLock(ctx, h.conn, lockRel, lockInfo("r1"))
			var held *engine.LockHeldError
			if !errors.As(err, &held) {
				t.Fatalf("acquire: %v", err)
			}
			_ = held.Error()
		})
	}
}

// Every value reaches the host quoted: nothing in a reason, owner, id or
// path is run, and the values come back as one line each.
func TestRemoteLockHostileValuesRoundTripInert(t *testing.T) {
	h := newLockHost(t)
	ctx := ctxT(t)
	hostile := `it's "bad" $(touch pwned1) ` + "`touch pwned2`" + ` ; touch pwned3 & \ %s %n ${HOME} 'x'` +
		"\nline two\r\x1b[31mred\x1b[0m\ttab ünïcødé 🚀 \u2028sep"
	info := engine.RemoteLockInfo{Owner: "eve'$(touch pwned4)@jump\n", ID: "r1;touch pwned5", Reason: hostile, Since: time.Now().UTC().Truncate(time.Second), PID: 1}
	path := `locks/we b'$(touch pwned6)"` + "`touch pwned7`"
	if err := engine.AcquireRemoteLock(ctx, h.conn, path, info); err != nil {
		t.Fatal(err)
	}
	got, err := engine.ReadLock(ctx, h.conn, path)
	if err != nil || got == nil {
		t.Fatalf("ReadLock = %+v, %v", got, err)
	}
	wantReason := `it's "bad" $(touch pwned1) ` + "`touch pwned2`" + ` ; touch pwned3 & \ %s %n ${HOME} 'x'` +
		" line two  [31mred [0m tab ünïcødé 🚀  sep"
	if got.Reason != wantReason {
		t.Errorf("reason\n got %q\nwant %q", got.Reason, wantReason)
	}
	if got.Owner != "eve'$(touch pwned4)@jump" || got.ID != "r1;touch pwned5" {
		t.Errorf("owner %q id %q", got.Owner, got.ID)
	}
	if _, err := os.Stat(filepath.Join(h.dir, path, "info")); err != nil {
		t.Errorf("the lock is not at the literal path: %v", err)
	}
	if err := engine.ReleaseLock(ctx, h.conn, path, "r1;touch pwned5", false); err != nil {
		t.Fatal(err)
	}
	_ = filepath.WalkDir(h.dir, func(p string, d os.DirEntry, err error) error {
		if d != nil && strings.HasPrefix(d.Name(), "pwned") {
			t.Errorf("a value was run: %s", p)
		}
		return nil
	})
}

func TestRemoteLockConcurrentAcquiresOneWins(t *testing.T) {
	h := newLockHost(t)
	ctx := ctxT(t)
	const n = 12
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			info := lockInfo(fmt.Sprintf("r%d", i))
			info.Owner = fmt.Sprintf("user%d@m", i)
			errs[i] = engine.AcquireRemoteLock(ctx, h.conn, lockRel, info)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		var held *engine.LockHeldError
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("both r%d and r%d took the lock", winner, i)
			}
			winner = i
		case !errors.As(err, &held):
			t.Errorf("r%d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("nobody took the lock")
	}
	for i, err := range errs {
		var held *engine.LockHeldError
		if errors.As(err, &held) && held.Holder.ID != fmt.Sprintf("r%d", winner) {
			t.Errorf("r%d was told the holder is %+v, want r%d", i, held.Holder, winner)
		}
	}
	if got, _ := engine.ReadLock(ctx, h.conn, lockRel); got == nil || got.ID != fmt.Sprintf("r%d", winner) {
		t.Errorf("holder %+v, want r%d", got, winner)
	}
}

func TestRemoteLockNotADirectoryOrUnremovable(t *testing.T) {
	h := newLockHost(t)
	ctx := ctxT(t)
	if err := os.WriteFile(h.path("afile"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"acquire": engine.AcquireRemoteLock(ctx, h.conn, "afile", lockInfo("r1")),
		"release": engine.ReleaseLock(ctx, h.conn, "afile", "r1", false),
	} {
		if err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("%s over a file: %v", name, err)
		}
	}
	if _, err := engine.ReadLock(ctx, h.conn, "afile"); err == nil {
		t.Error("read of a file succeeded")
	}
	// A lock directory with something else in it is never emptied by force:
	// the release fails and the lock stays as it was, info included.
	if err := engine.AcquireRemoteLock(ctx, h.conn, lockRel, lockInfo("r1")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.path(lockRel+"/keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.ReleaseLockHolder(ctx, h.conn, lockRel, "", true); err == nil {
		t.Fatal("force release of a lock dir with other files succeeded")
	}
	if got, err := engine.ReadLock(ctx, h.conn, lockRel); err != nil || got == nil || *got != lockInfo("r1") {
		t.Errorf("after the failed release: %+v, %v", got, err)
	}
	if _, err := os.Stat(h.path(lockRel + "/keep")); err != nil {
		t.Error(err)
	}
}

func TestDescribeHolder(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 45, 30, 0, time.UTC)
	h := engine.RemoteLockInfo{Owner: "alice@jump1", ID: "20261126-100405-web-ab12", Reason: "nginx", Since: now.Add(-41 * time.Minute)}
	want := `by alice@jump1 for rollout 20261126-100405-web-ab12 since 10:04 UTC (41m ago): "nginx"`
	if got := engine.DescribeHolder(h, now); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	h.Since = now.Add(-50 * time.Hour)
	if got := engine.DescribeHolder(h, now); !strings.Contains(got, "since 2026-11-24 08:45 UTC (2d2h ago)") {
		t.Errorf("old lock: %s", got)
	}
	if got := engine.DescribeHolder(engine.RemoteLockInfo{}, now); got != "by unknown" {
		t.Errorf("empty holder: %s", got)
	}
}

// scriptConn answers every command with fixed output, exit code and error.
type scriptConn struct {
	stdout, stderr []string
	code           int
	err            error
	lines          []string
}

func (c *scriptConn) Run(_ context.Context, cmd engine.Command, out engine.OutputFunc) (int, error) {
	c.lines = append(c.lines, cmd.Line)
	for _, l := range c.stdout {
		out(engine.Stdout, []byte(l))
	}
	for _, l := range c.stderr {
		out(engine.Stderr, []byte(l))
	}
	return c.code, c.err
}

func (c *scriptConn) Close() error { return nil }

func TestRemoteLockOddAnswers(t *testing.T) {
	ctx := ctxT(t)
	lost := fmt.Errorf("web-03: %w", engine.ErrConnectionLost)
	var held *engine.LockHeldError

	// A dropped connection: the outcome is unknown, not "held".
	err := engine.AcquireRemoteLock(ctx, &scriptConn{err: lost}, lockRel, lockInfo("r1"))
	if !errors.Is(err, engine.ErrConnectionLost) || errors.As(err, &held) {
		t.Errorf("lost: %v", err)
	}
	// A failing command's stderr is in the error.
	err = engine.AcquireRemoteLock(ctx, &scriptConn{code: 1, stderr: []string{"mkdir: cannot create directory '.rollout': Permission denied"}}, lockRel, lockInfo("r1"))
	if err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("exit 1: %v", err)
	}
	// No protocol line at all (a shell that is not sh, say).
	if err := engine.AcquireRemoteLock(ctx, &scriptConn{stdout: []string{"Welcome!"}}, lockRel, lockInfo("r1")); err == nil || errors.As(err, &held) {
		t.Errorf("no marker: %v", err)
	}
	// A login shell's chatter first, and an info file that tries to forge
	// a state line: the first state line decides.
	c := &scriptConn{stdout: []string{"Last login: yesterday", "ROLLOUT-LOCK-HELD", "ROLLOUT-LOCK-INFO", "ROLLOUT-LOCK-TAKEN", "owner=bob@x", "id=r2"}}
	err = engine.AcquireRemoteLock(ctx, c, lockRel, lockInfo("r1"))
	if !errors.As(err, &held) || held.Holder.Owner != "bob@x" || held.Holder.ID != "r2" {
		t.Errorf("forged: %v", err)
	}
	// The command quotes the path and every value.
	line := c.lines[0]
	for _, want := range []string{"L='./.rollout/locks/web'", "'owner=alice@jump1'", "'reason=nginx 1.25.3'", "'id=r1'"} {
		if !strings.Contains(line, want) {
			t.Errorf("command lacks %s:\n%s", want, line)
		}
	}
}
