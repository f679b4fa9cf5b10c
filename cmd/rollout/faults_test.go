package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// journalOf returns the single journal in the bed's state dir.
func (b *localBed) journalOf() string {
	b.t.Helper()
	paths, _ := filepath.Glob(filepath.Join(b.state, "*.journal"))
	if len(paths) != 1 {
		b.t.Fatalf("%d journals, want 1", len(paths))
	}
	return paths[0]
}

// TestShowDamagedJournal: a journal cut mid-line, or edited by hand, is
// shown up to the damage and the damage is named with its line number.
func TestShowDamagedJournal(t *testing.T) {
	b := newLocalBed(t)
	if out, errOut, code := b.run("", "run", "--plain", "--yes"); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	path := b.journalOf()
	id := strings.TrimSuffix(filepath.Base(path), ".journal")
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(full), "\n")
	cases := map[string]struct {
		data string
		want string
	}{
		// Cut in the middle of line 11.
		"torn": {strings.Join(lines[:10], "") + lines[10][:len(lines[10])/2], "line 11: the last line was cut short"},
		// Line 6 edited by hand: its seq no longer follows.
		"edited": {strings.Join(lines[:5], "") + strings.Replace(lines[5], `"seq":5`, `"seq":50`, 1) + strings.Join(lines[6:], ""), "line 6: event 50 where event 5 was expected"},
		// Line 8 is garbage.
		"garbage": {strings.Join(lines[:7], "") + "\x1b]52;c;aGk=\x07not json\n" + strings.Join(lines[8:], ""), "line 8: cannot read the record"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(c.data), 0o600); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := b.run("", "show", id)
			all := out + errOut
			if !strings.Contains(all, "journal damaged: "+c.want) {
				t.Errorf("exit %d: no %q in\n%s", code, c.want, all)
			}
			if !strings.Contains(all, "web-test-1") {
				t.Errorf("the records before the damage are not shown:\n%s", all)
			}
			if strings.ContainsRune(all, 0x1b) {
				t.Errorf("show printed an ESC byte from the damaged line")
			}
		})
	}
}

// TestTwoConsolesRaceForTheService starts two rollouts of one service at
// once: exactly one runs, the other exits 3 naming the holder.
func TestTwoConsolesRaceForTheService(t *testing.T) {
	b := newLocalBed(t)
	// A slow apply keeps the winner holding the lock while the loser starts.
	ch := filepath.Join(b.dir, "change.yaml")
	data, _ := os.ReadFile(ch)
	os.WriteFile(ch, []byte(strings.Replace(string(data), "apply: ", "apply: sleep 0.3 && ", 1)), 0o600)
	type res struct {
		out  string
		code int
	}
	results := make(chan res, 2)
	for range 2 {
		go func() {
			out, errOut, code := b.run("", "run", "--plain", "--yes")
			results <- res{out + errOut, code}
		}()
	}
	a, c := <-results, <-results
	if a.code == 3 {
		a, c = c, a
	}
	if a.code != 0 || c.code != 3 {
		t.Fatalf("exits %d and %d, want 0 and 3\n--- first:\n%s\n--- second:\n%s", a.code, c.code, a.out, c.out)
	}
	if !strings.Contains(c.out, "service web is locked") || !strings.Contains(c.out, "pid ") {
		t.Errorf("the loser does not name the holder:\n%s", c.out)
	}
	if paths, _ := filepath.Glob(filepath.Join(b.state, "*.journal")); len(paths) != 1 {
		t.Errorf("%d journals: the loser started a rollout", len(paths))
	}
	for _, h := range localHosts {
		if b.applied(h) != 1 {
			t.Errorf("%s applied %d times", h, b.applied(h))
		}
	}
}

// TestResumeWhileTheRolloutRuns: resume refuses (exit 3) while the original
// console still holds the rollout.
func TestResumeWhileTheRolloutRuns(t *testing.T) {
	dir, state := signalBed(t, "sleep 3")
	cmd, out := startPlain(t, dir, state)
	waitOutput(t, out, "t1 applying")
	res := exec.Command(binary(t), "resume", "--plain", "--yes", "--state-dir", state)
	res.Dir = dir
	got, _ := res.CombinedOutput()
	if code := res.ProcessState.ExitCode(); code != 3 {
		t.Errorf("resume while running: exit %d, want 3\n%s", code, got)
	}
	if !strings.Contains(string(got), "locked") {
		t.Errorf("resume does not say the rollout is held:\n%s", got)
	}
	cmd.Process.Kill()
	cmd.Wait()
}

// TestSecretNeverWritten: a secret env value echoed by the apply never
// reaches the journal, rollout show or the plain output; journal and lock
// files are 0600.
func TestSecretNeverWritten(t *testing.T) {
	const secret = "s3cr3t-Value-42"
	dir, state := signalBed(t, `'echo token=$TOKEN; echo "$TOKEN" >&2'`)
	ch := filepath.Join(dir, "change.yaml")
	data, _ := os.ReadFile(ch)
	os.WriteFile(ch, append(data, []byte("env:\n  TOKEN: {from_env: ROLLOUT_TEST_TOKEN, secret: true}\n")...), 0o600)
	cmd := exec.Command(binary(t), "run", "--plain", "--yes", "--state-dir", state)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ROLLOUT_TEST_TOKEN="+secret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(string(out), secret) {
		t.Errorf("the plain output shows the secret:\n%s", out)
	}
	if !strings.Contains(string(out), "token=********") {
		t.Errorf("the secret is not shown masked:\n%s", out)
	}
	paths, _ := filepath.Glob(filepath.Join(state, "*.journal"))
	if len(paths) != 1 {
		t.Fatalf("%d journals", len(paths))
	}
	j, _ := os.ReadFile(paths[0])
	if strings.Contains(string(j), secret) {
		t.Errorf("the journal holds the secret")
	}
	id := strings.TrimSuffix(filepath.Base(paths[0]), ".journal")
	show, _ := exec.Command(binary(t), "show", id, "--state-dir", state).CombinedOutput()
	if strings.Contains(string(show), secret) {
		t.Errorf("show prints the secret:\n%s", show)
	}
	locks, _ := filepath.Glob(filepath.Join(state, "locks", "*"))
	for _, p := range append(paths, locks...) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	if len(locks) == 0 {
		t.Errorf("no lock file found under %s/locks", state)
	}
}

// TestRemoteEscapesShownInert: output carrying terminal escapes (cursor
// moves, an OSC 52 clipboard write, a title change) reaches the plain output
// with no ESC or BEL byte, in caret form.
func TestRemoteEscapesShownInert(t *testing.T) {
	dir, state := signalBed(t, `'printf "\033[2J\033[Hwiped\n\033]52;c;cm0gLXJmIH4=\007clip\n\033]0;owned\007title\n\233Acsi\n"'`)
	cmd := exec.Command(binary(t), "run", "--plain", "--yes", "--state-dir", state)
	cmd.Dir = dir
	done := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer done.Stop()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.ContainsAny(string(out), "\x1b\x07\u009b") || strings.Contains(string(out), "\x9b") {
		t.Errorf("output carries a raw escape: %q", out)
	}
	for _, want := range []string{"^[[2J^[[Hwiped", "^[]52;c;cm0gLXJmIH4=^Gclip", "^[]0;owned^Gtitle"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in %q", want, out)
		}
	}
}
