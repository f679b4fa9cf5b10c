package change

import (
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/shell"
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
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
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
		// The keys of preflight, fingerprints, captures, network checks, the lock, hooks and groups.
		base + "preflight: [{http: \"http://{{.Address}}:8080/\"}, {tcp: \"{{.Address}}:22\"}, {prometheus: {url: \"http://p:9090\", query: up, min: 1}}]\n",
		base + "preflight: [{run: a, http: b}, {http: ftp://x}, {tcp: \"x:0\"}, {http: {status: 99, from: there}}, {prometheus: {max: \"1\", min: .inf}}, {name: \"\", pty: true, tcp: \"[::1]:1\"}]\n",
		"name: n\napply: a\nverify: v\nrollback: {run: \"r {{.Captured.v}}\", verify: [{http: \"http://{{.Host}}:{{.Captured.v}}/\"}, \"c {{.Captured.w}} {{.Captured}}\"]}\ncapture: {v: cat /v, 1x: y, z: {pty: true}}\n",
		"name: n\napply: \"a {{.Captured.v}}\"\nverify: {tcp: \"{{.Captured.v}}:1\"}\nrollback: r\ncapture: {v: cat /v}\nfingerprint: {os: uname, os-2: x}\n",
		base + "lock: false\non: {gate: g, failed: {run: f, timeout: 1s}, finish: x}\ngroups: {test: t, fleet: [a, a, t], canary: [], primry: p}\n",
		base + "lock: {path: \"-x/{{.Host}}\"}\non: {rolled_back: {timeout: 5}}\ngroups: {standby: [\"a b\"]}\n",
		base + "lock: yes\nfingerprint: [x]\ncapture:\non:\ngroups:\npreflight:\n",
		base + "swap:\n  run: \"p {{.Promote}}\"\n  verify: {prometheus: {url: \"https://{{.Promote}}:9090\", query: \"up{i=\\\"{{.Demote}}\\\"}\", min: 2, max: 1}}\n",
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
		var swapVerify []Check
		if c.Swap != nil {
			swapVerify = c.Swap.Verify
		}
		for _, v := range slices.Concat(c.Verify, c.RollbackVerify, c.Preflight, swapVerify) {
			if v.Retries < 0 || v.Retries > 1000 || v.Pos.Line < 1 {
				t.Fatalf("check %+v", v)
			}
			checkCheck(t, v)
		}
		checkNewKeys(t, c)
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

// checkCheck fails t unless v is exactly one complete check.
func checkCheck(t *testing.T, v Check) {
	t.Helper()
	kinds := 0
	for _, set := range []bool{v.Run != nil, v.HTTP != nil, v.TCP != nil, v.Prometheus != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		t.Fatalf("check with %d kinds: %+v", kinds, v)
	}
	if v.Kind() != "command" && v.PTY {
		t.Fatalf("%s check with a pty", v.Kind())
	}
	dummy := func(string) (string, bool) { return "1", true }
	isURL := func(tm *shell.Template) bool {
		s, err := tm.Expand(dummy)
		u, perr := url.Parse(s)
		return err == nil && perr == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
	}
	from := func(f string) bool { return f == FromConsole || f == FromHost }
	switch {
	case v.HTTP != nil:
		h := v.HTTP
		if h.URL == nil || !isURL(h.URL) || h.Status != 0 && (h.Status < 100 || h.Status > 599) || !from(h.From) {
			t.Fatalf("http check %+v", h)
		}
	case v.TCP != nil:
		a := v.TCP
		if a.Address == nil || !from(a.From) {
			t.Fatalf("tcp check %+v", a)
		}
		s, _ := a.Address.Expand(dummy)
		if _, _, err := net.SplitHostPort(s); err != nil {
			t.Fatalf("tcp address %q: %v", a.Address, err)
		}
	case v.Prometheus != nil:
		pc := v.Prometheus
		if pc.URL == nil || !isURL(pc.URL) || pc.Query == nil || pc.Max == nil && pc.Min == nil || !from(pc.From) ||
			pc.Max != nil && pc.Min != nil && *pc.Min > *pc.Max {
			t.Fatalf("prometheus check %+v", pc)
		}
		for _, b := range []*float64{pc.Max, pc.Min} {
			if b != nil && (math.IsNaN(*b) || math.IsInf(*b, 0)) {
				t.Fatalf("prometheus bound %v", *b)
			}
		}
	}
}

// templates lists the templates of checks, for the placeholder invariants.
func templates(cs []Check) []*shell.Template {
	var out []*shell.Template
	for _, c := range cs {
		switch {
		case c.HTTP != nil:
			out = append(out, c.HTTP.URL)
		case c.TCP != nil:
			out = append(out, c.TCP.Address)
		case c.Prometheus != nil:
			out = append(out, c.Prometheus.URL, c.Prometheus.Query)
		default:
			out = append(out, c.Run)
		}
	}
	return out
}

// checkNewKeys checks the invariants of the keys around the rollout itself:
// names, the lock, hooks, groups, and that captured values appear in the
// rollback only, each naming a capture.
func checkNewKeys(t *testing.T, c *Change) {
	t.Helper()
	ident := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	var captures []string
	for i, ns := range [][]Named{c.Fingerprint, c.Capture} {
		seen := map[string]bool{}
		for _, n := range ns {
			if !ident.MatchString(n.Name) || seen[n.Name] || n.Run == nil || n.Pos.Line < 1 {
				t.Fatalf("named command %d %+v", i, n)
			}
			seen[n.Name] = true
			if i == 1 {
				captures = append(captures, n.Name)
			}
		}
	}
	elsewhere := []*shell.Template{c.Apply.Run}
	elsewhere = append(elsewhere, templates(c.Verify)...)
	elsewhere = append(elsewhere, templates(c.Preflight)...)
	for _, ns := range [][]Named{c.Fingerprint, c.Capture} {
		for _, n := range ns {
			elsewhere = append(elsewhere, n.Run)
		}
	}
	if c.Swap != nil {
		elsewhere = append(elsewhere, c.Swap.Run.Run)
		elsewhere = append(elsewhere, templates(c.Swap.Verify)...)
	}
	for _, tm := range elsewhere {
		for _, f := range tm.Fields() {
			if strings.HasPrefix(f, "Captured") {
				t.Fatalf("{{.%s}} outside the rollback: %q", f, tm)
			}
		}
	}
	for _, tm := range append(templates(c.RollbackVerify), c.Rollback.Run) {
		for _, f := range tm.Fields() {
			if name, ok := strings.CutPrefix(f, "Captured."); (ok || f == "Captured") && !slices.Contains(captures, name) {
				t.Fatalf("{{.%s}} names no capture of %q", f, captures)
			}
		}
	}
	if l := c.Lock; l.Disabled && l.Path != "" || strings.ContainsAny(l.Path, "\x00\n\r") || strings.HasPrefix(l.Path, "-") || strings.HasPrefix(l.Path, "~") {
		t.Fatalf("lock %+v", l)
	}
	for _, h := range []*Hook{c.On.Gate, c.On.Failed, c.On.Finished, c.On.RolledBack} {
		if h != nil && (strings.TrimSpace(h.Run) == "" || strings.IndexByte(h.Run, 0) >= 0 || h.Pos.Line < 1) {
			t.Fatalf("hook %+v", h)
		}
	}
	owner := map[string]string{}
	for role, groups := range c.Groups {
		if !slices.Contains(roles, role) || len(groups) == 0 {
			t.Fatalf("groups %q: %q", role, groups)
		}
		for _, g := range groups {
			if prev, dup := owner[g]; dup || g == "" {
				t.Fatalf("group %q in %s and %s", g, prev, role)
			}
			owner[g] = role
		}
	}
}
