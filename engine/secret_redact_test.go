package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/fake"
)

// TestSecretsRedactedBeforeCleaning: a secret holding a control character or
// invalid UTF-8, or one straddling the line-length cut, reaches neither the
// journal nor a subscriber, not even in its printable (caret) form.
func TestSecretsRedactedBeforeCleaning(t *testing.T) {
	secrets := []string{"tok\x01en\x1b[0m-\xff-42", "plain-secret-value"}
	long := strings.Repeat("a", 4090) + "plain-secret-value"
	spec := defaultSpec()
	spec.fleet = 1
	spec.batches = "[100%]"
	ft := fake.New()
	for _, h := range []string{"t01", "t02", "sb", "pr", "c01", "c02", "f01"} {
		ft.Script(h, fake.Script{Output: []string{"token=" + secrets[0] + ";", long}})
	}
	dir := t.TempDir()
	e, err := engine.New(spec.plan(t), engine.Options{Transport: ft, Local: ft, StateDir: dir, User: "tester", Grace: time.Second, Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	r := drive(t, e, ft, dir, proceedAll)
	if got := r.wait(); got != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s", got)
	}
	journal, err := os.ReadFile(filepath.Join(dir, e.ID()+".journal"))
	if err != nil {
		t.Fatal(err)
	}
	var shown strings.Builder
	for _, rec := range r.events() {
		if o, ok := rec.Event.(engine.HostOutput); ok {
			for _, l := range o.Lines {
				shown.WriteString(l + "\n")
			}
		}
	}
	if !strings.Contains(shown.String(), "token=********;") {
		t.Errorf("the secret is not shown masked:\n%.300s", shown.String())
	}
	for _, s := range secrets {
		for _, form := range []string{s, engine.Printable(s), engine.Printable(s[:6])} {
			if strings.Contains(string(journal), form) || strings.Contains(shown.String(), form) {
				t.Errorf("secret %q leaks as %q", s, form)
			}
		}
	}
}
