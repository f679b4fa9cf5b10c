package change

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

// FuzzChangeParse checks that no input crashes Parse, that it returns a
// change or positioned errors, never both or neither, the same each time, and
// that a loaded change is complete, in range and has a stable digest.
func FuzzChangeParse(f *testing.F) {
	data, err := os.ReadFile("../../examples/change.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, s := range []string{
		"", "---\n", "null\n", "- a\n", base, digestBase,
		base + "fleet: {batches: [1, 10%], parallel: 0, max_failures: -1}\n",
		base + "fleet: {batches: [0%, 101%, 1000001, x], max_failures: 1000%}\n",
		base + "fleet:\n  max_failures:\n  batches: 5\n",
		"name: [n]\napply: [a]\nverify: {run: v, retires: 1}\nrollback: \"\"\n",
		"name: n\napply: \"a {{.Promote}}\"\nverify: \"{{printf .Host}}\"\nrollback: \"x }} y\"\n",
		"name: n\napply: \"a\\0b\"\nverify: []\nrollback: {pty: true}\n",
		base + "swap: {run: \"p {{.Promote}} {{.Demote}}\", verify: \"c {{.Address}}\"}\n",
		"name: n\napply: a\nverify: v\nrollback: {run: r, verify: [x, {run: y, retries: 2}]}\n",
		"name: n\napply: a\nverify: v\nrollback: {run: r, verify: }\n",
		base + "env: {1A: x, B: {value: x, from_env: Y}, C: {secret: true}, D: {from_env: \"$(x)\"}, E: *a}\n",
		base + "timeouts: {connect: 0s, apply: -1s, verify: 5}\ncanary: {soak: 5, interval: 0s}\n",
		"name: &a n\napply: a\nverify: v\nrollback: r\n<<: {x: 1}\n",
		base + "---\n" + base,
	} {
		f.Add([]byte(s))
	}
	getenv := func(name string) string { return "value-of-" + name }
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("change.yaml", data, Options{Getenv: getenv})
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned %v and %v: want exactly one", c, err)
		}
		if err != nil {
			var l diag.List
			if !errors.As(err, &l) || len(l) == 0 {
				t.Fatalf("error is %T: %v", err, err)
			}
			for i, e := range l {
				if e.File != "change.yaml" || e.Line < 1 || e.Col < 1 || e.Msg == "" {
					t.Fatalf("problem %d is badly placed or empty: %#v", i, *e)
				}
			}
			if _, err2 := Parse("change.yaml", data, Options{Getenv: getenv}); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("a second parse reports differently:\n%v\n---\n%v", err, err2)
			}
			return
		}
		if strings.TrimSpace(c.Name) == "" || c.Apply.Run == nil || c.Rollback.Run == nil || len(c.Verify) == 0 || len(c.RollbackVerify) == 0 {
			t.Fatalf("incomplete change: %+v", c)
		}
		for _, v := range slices.Concat(c.Verify, c.RollbackVerify) {
			if v.Run == nil || v.Retries < 0 || v.Retries > 1000 || v.Pos.Line < 1 {
				t.Fatalf("check %+v", v)
			}
		}
		if c.Swap != nil && c.Swap.Run.Run == nil {
			t.Fatalf("swap without a command: %+v", c.Swap)
		}
		fl := c.Fleet
		if n := len(fl.Batches); n == 0 || fl.Batches[n-1] != (Batch{N: 100, Percent: true}) || fl.Parallel < 1 || fl.Parallel > 10000 {
			t.Fatalf("fleet %+v", fl)
		}
		for _, b := range fl.Batches {
			if b.N < 1 || b.Percent && b.N > 100 || b.N > maxCount {
				t.Fatalf("batch %+v", b)
			}
		}
		if b := fl.MaxFailures; b.N < 0 || b.Percent && b.N > 100 {
			t.Fatalf("max_failures %+v", b)
		}
		if c.Canary.Interval <= 0 || c.Timeouts.Connect <= 0 || c.Timeouts.Apply <= 0 || c.Timeouts.Verify <= 0 || c.Timeouts.Rollback <= 0 || c.Timeouts.Swap <= 0 {
			t.Fatalf("a zero interval or timeout: %+v %+v", c.Canary, c.Timeouts)
		}
		if len(c.Digest) != 64 {
			t.Fatalf("digest %q", c.Digest)
		}
		js, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range c.Secrets() {
			if strings.Contains(string(js), s) && !strings.Contains(string(data), s) {
				t.Fatalf("secret %q in JSON %s", s, js)
			}
		}
		c2, err := Parse("change.yaml", data, Options{Getenv: func(string) string { return "other" }})
		if err != nil || c2.Digest != c.Digest {
			t.Fatalf("digest depends on the operator's environment: %v", err)
		}
	})
}
