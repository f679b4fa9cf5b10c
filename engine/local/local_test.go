package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

type lines struct {
	mu  sync.Mutex
	out []string
}

func (l *lines) add(s engine.Stream, b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out = append(l.out, s.String()+":"+string(b))
}

func dial(t *testing.T, tr *Transport) engine.Conn {
	t.Helper()
	c, err := tr.Dial(context.Background(), &inventory.Host{Name: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRunStreamsStdoutAndStderrApartWithExitCode(t *testing.T) {
	c := dial(t, &Transport{})
	var l lines
	code, err := c.Run(context.Background(), engine.Command{
		Line: `echo "one $ROLLOUT_HOST"; echo two >&2; printf 'no newline'; echo "$GREETING"; exit 3`,
		Env:  []engine.EnvVar{{Name: "GREETING", Value: "it's $(not run) `here`"}},
	}, l.add)
	if err != nil || code != 3 {
		t.Fatalf("code %d err %v", code, err)
	}
	got := strings.Join(l.out, "|")
	for _, want := range []string{"stdout:one web-1", "stderr:two", "stdout:no newlineit's $(not run) `here`"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
}

func TestCancelKillsTheWholeProcessGroup(t *testing.T) {
	c := dial(t, &Transport{Grace: 200 * time.Millisecond})
	marker := fmt.Sprintf("sleep 31%d", os.Getpid()%1000)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, engine.Command{Line: "echo up; " + marker + " & wait"}, func(engine.Stream, []byte) { once.Do(func() { close(started) }) })
		done <- err
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := exec.Command("pgrep", "-f", marker).Output()
		if len(strings.TrimSpace(string(out))) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q still running after cancel: %s", marker, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLongLinesArriveInBoundedPieces(t *testing.T) {
	c := dial(t, &Transport{})
	var l lines
	if _, err := c.Run(context.Background(), engine.Command{Line: "head -c 200000 /dev/zero | tr '\\0' x; echo"}, l.add); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range l.out {
		if len(s) > 70000 {
			t.Errorf("a piece of %d bytes", len(s))
		}
		total += len(s) - len("stdout:")
	}
	if total != 200000 {
		t.Errorf("%d bytes arrived, want 200000", total)
	}
}
