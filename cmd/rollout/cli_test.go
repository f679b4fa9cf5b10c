package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/change"
)

const (
	exampleInventory = "../../examples/inventory.yaml"
	exampleChange    = "../../examples/change.yaml"
)

// runCLI calls run with args, as main would, and returns what it wrote to
// standard output and standard error, and its exit code. run writes through
// os.Stdout and os.Stderr, so they are swapped for pipes meanwhile; tests that
// use runCLI must not run in parallel.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var outBuf, errBuf bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(&outBuf, outR) }()
	go func() { defer wg.Done(); io.Copy(&errBuf, errR) }()

	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outW, errW
	func() {
		defer func() { os.Stdout, os.Stderr = oldOut, oldErr }()
		// --ssh-config "" keeps the tester's own ~/.ssh/config out of it.
		code = run(context.Background(), append(args, "--ssh-config", ""))
	}()
	outW.Close()
	errW.Close()
	wg.Wait()
	outR.Close()
	errR.Close()
	return outBuf.String(), errBuf.String(), code
}

// serial cuts n hosts into batch sizes the way the README says Ansible's
// serial does: each entry a count or a percentage of all n (rounded down, at
// least one), the last one repeated until every host has a batch.
func serial(n int, entries []string) []int {
	var sizes []int
	for i, left := 0, n; left > 0; i++ {
		e := entries[min(i, len(entries)-1)]
		size := 0
		if pct, ok := strings.CutSuffix(e, "%"); ok {
			fmt.Sscan(pct, &size)
			size = max(1, n*size/100)
		} else {
			fmt.Sscan(e, &size)
		}
		size = min(size, left)
		sizes = append(sizes, size)
		left -= size
	}
	return sizes
}

// webFleet is the example's web fleet, web-03 to web-40, cut the way the
// example change's batches: [1, 10%, 50%, 100%] say.
func webFleet() [][]string {
	var batches [][]string
	next := 3
	for _, size := range serial(40-3+1, []string{"1", "10%", "50%", "100%"}) {
		var b []string
		for range size {
			b = append(b, fmt.Sprintf("web-%02d.example.com", next))
			next++
		}
		batches = append(batches, b)
	}
	return batches
}

// TestPlanExample checks the README's main command: the five phases in order,
// each with its hosts, the fleet in its batches, and nothing else on stderr.
func TestPlanExample(t *testing.T) {
	out, errOut, code := runCLI(t, "plan", "-i", exampleInventory, "-c", exampleChange, "-s", "web")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	ch, err := change.Load(exampleChange, change.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fleet := webFleet()
	if len(fleet) != 4 {
		t.Fatalf("the test's own batching gives %d batches", len(fleet))
	}
	// 2 test, standby, primary, 2 canary, 38 fleet.
	header := fmt.Sprintf("Plan for %q on service web: 44 hosts in 5 phases. Nothing has been touched.", ch.Name)
	if !strings.HasPrefix(out, header+"\n") {
		t.Errorf("plan does not start with %q:\n%s", header, out)
	}
	if !strings.Contains(out, "(digest "+ch.ShortDigest()+")") {
		t.Errorf("plan does not show the change's digest %s", ch.ShortDigest())
	}

	// Each phase's line, in the order they must come.
	want := []string{
		`1  test     2 hosts   web-test-[1:2].example.com`,
		`2  standby  1 host    web-b.example.com`,
		`3  swap     on lb-1.example.com: promote web-b.example.com, demote web-a.example.com`,
		`then apply + verify web-a.example.com (the old primary)`,
		`4  canary   2 hosts   web-[01:02].example.com`,
		`then soak 2m0s: verify every 15s`,
		fmt.Sprintf(`5  fleet    38 hosts in %d batches, 20 at a time`, len(fleet)),
	}
	for i, b := range fleet {
		if i > 0 {
			want = append(want, fmt.Sprintf("── gate: you confirm before batch %d", i+1))
		}
		hosts := b[0]
		if len(b) > 1 {
			hosts = fmt.Sprintf("web-[%s:%s].example.com", b[0][4:6], b[len(b)-1][4:6])
		}
		noun := "hosts"
		if len(b) == 1 {
			noun = "host"
		}
		want = append(want, fmt.Sprintf("batch %d/%d  %-9s %s", i+1, len(fleet), fmt.Sprintf("%d %s", len(b), noun), hosts))
	}
	want = append(want, "Run it with: rollout run -i "+exampleInventory+" -c "+exampleChange+" -s web")
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("plan lacks, or has out of order, %q:\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
	if n := strings.Count(out, "── gate: you confirm"); n != 5+len(fleet)-1 {
		t.Errorf("%d gates, want one before each of the 5 phases and each later batch", n)
	}
}

// TestPlanSkips checks that a service without a standby says the standby and
// swap phases are skipped, and why, and numbers the rest in order.
func TestPlanSkips(t *testing.T) {
	out, errOut, code := runCLI(t, "plan", "-i", exampleInventory, "-c", exampleChange, "-s", "api")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	rest := out
	for _, w := range []string{
		"13 hosts in 3 phases",
		"1  test     1 host    api-test-1.example.com",
		"-  standby  skipped: the service has no standby",
		"-  swap     skipped: the service has no standby to swap to",
		"2  canary   1 host    api-01.example.com",
		"3  fleet    11 hosts in 4 batches",
	} {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("plan lacks, or has out of order, %q:\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
}

// TestPlanJSON checks that --json is JSON a script can read, with the same
// phases, hosts and batches.
func TestPlanJSON(t *testing.T) {
	out, errOut, code := runCLI(t, "plan", "-i", exampleInventory, "-c", exampleChange, "-s", "web", "--json")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	var plan struct {
		Service   string `json:"service"`
		Change    string `json:"change"`
		Digest    string `json:"digest"`
		Inventory string `json:"inventory"`
		Hosts     int    `json:"hosts"`
		Phases    []struct {
			Phase    string     `json:"phase"`
			Skipped  string     `json:"skipped"`
			Batches  [][]string `json:"batches"`
			Parallel int        `json:"parallel"`
			Soak     string     `json:"soak"`
			SwapHost string     `json:"swap_host"`
			Promote  string     `json:"promote"`
			Demote   string     `json:"demote"`
		} `json:"phases"`
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, out)
	}
	ch, err := change.Load(exampleChange, change.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Service != "web" || plan.Change != ch.Name || plan.Digest != ch.Digest || plan.Inventory != exampleInventory || plan.Hosts != 44 {
		t.Errorf("header: service %q, change %q, digest %q, inventory %q, hosts %d", plan.Service, plan.Change, plan.Digest, plan.Inventory, plan.Hosts)
	}
	var phases []string
	for _, ph := range plan.Phases {
		phases = append(phases, ph.Phase)
		if ph.Skipped != "" {
			t.Errorf("phase %s skipped: %s", ph.Phase, ph.Skipped)
		}
	}
	if got := strings.Join(phases, " "); got != "test standby swap canary fleet" {
		t.Fatalf("phases %q, want test standby swap canary fleet", got)
	}
	check := func(i int, want [][]string) {
		t.Helper()
		if got := plan.Phases[i].Batches; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s batches\n got %q\nwant %q", plan.Phases[i].Phase, got, want)
		}
	}
	check(0, [][]string{{"web-test-1.example.com", "web-test-2.example.com"}})
	check(1, [][]string{{"web-b.example.com"}})
	check(3, [][]string{{"web-01.example.com", "web-02.example.com"}})
	check(4, webFleet())
	if sw := plan.Phases[2]; sw.SwapHost != "lb-1.example.com" || sw.Promote != "web-b.example.com" || sw.Demote != "web-a.example.com" {
		t.Errorf("swap phase %+v", sw)
	}
	if plan.Phases[3].Soak != "2m0s" || plan.Phases[4].Parallel != 20 {
		t.Errorf("canary soak %q, fleet parallel %d", plan.Phases[3].Soak, plan.Phases[4].Parallel)
	}
}

func TestValidateExample(t *testing.T) {
	out, errOut, code := runCLI(t, "validate", "-i", exampleInventory, "-c", exampleChange)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	ch, err := change.Load(exampleChange, change.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// web: 2 test, standby, primary, 2 canary, 38 fleet, lb-1; api: 1 test,
	// 1 canary, 11 fleet; the bastion under hosts:.
	want := fmt.Sprintf("ok: %s: 2 services, 59 hosts\nok: %s: %q, digest %s\n", exampleInventory, exampleChange, ch.Name, ch.ShortDigest())
	if out != want {
		t.Errorf("validate printed\n%s\nwant\n%s", out, want)
	}
}

// brokenFiles writes an inventory and a change with known problems and
// returns their paths.
func brokenFiles(t *testing.T) (inv, ch string) {
	dir := t.TempDir()
	inv = filepath.Join(dir, "inventory.yaml")
	ch = filepath.Join(dir, "change.yaml")
	write := func(path, data string) {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(inv, `services:
  web:
    tset: [t1]
    fleet:
      - web-[9:1]
`)
	write(ch, `name: broken
apply: install {{.Promote}}
verify: curl localhost
rollback: undo
fleet: {batches: [1, 10%]}
`)
	return inv, ch
}

// TestValidateBroken checks that every problem in both files is printed as
// file:line:col: message, in order, with a count, and exit code 2.
func TestValidateBroken(t *testing.T) {
	inv, ch := brokenFiles(t)
	out, errOut, code := runCLI(t, "validate", "-i", inv, "-c", ch)
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if out != "" {
		t.Errorf("stdout: %q, want nothing", out)
	}
	// Sorted by file name: change.yaml comes before inventory.yaml.
	want := []string{
		ch + `:2:8: apply uses {{.Promote}}, which has no value there`,
		ch + `:5:18: the batch list never reaches 100% of the fleet`,
		inv + `:2:3: service "web" has no test hosts`,
		inv + `:3:5: unknown key "tset" in service web`,
		"\thint: did you mean \"test\"?",
		inv + `:5:9: range [9:1] in "web-[9:1]": the range is inverted: 9 is greater than 1`,
		"5 problems found; nothing was run.",
	}
	rest := errOut
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("stderr lacks, or has out of order, %q:\n%s", w, errOut)
		}
		rest = rest[i+len(w):]
	}
	// Every line that is not a hint or the count is file:line:col: message.
	located := regexp.MustCompile(`^/.+\.yaml:\d+:\d+: \S`)
	for _, line := range strings.Split(strings.TrimSuffix(errOut, "\n"), "\n") {
		if !strings.HasPrefix(line, "\thint: ") && !strings.HasSuffix(line, "nothing was run.") && !located.MatchString(line) {
			t.Errorf("line %q is not file:line:col: message", line)
		}
	}
}

// TestValidateBrokenJSON checks --json on broken files: JSON on stdout with
// every problem's place, and exit code 2.
func TestValidateBrokenJSON(t *testing.T) {
	inv, ch := brokenFiles(t)
	out, errOut, code := runCLI(t, "validate", "-i", inv, "-c", ch, "--json")
	if code != exitUsage || errOut != "" {
		t.Errorf("exit %d, stderr %q; want %d and nothing", code, errOut, exitUsage)
	}
	var res struct {
		OK     bool `json:"ok"`
		Errors []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Col     int    `json:"col"`
			Message string `json:"message"`
			Hint    string `json:"hint"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if res.OK || len(res.Errors) != 5 {
		t.Fatalf("ok %v with %d errors, want false with 5:\n%s", res.OK, len(res.Errors), out)
	}
	e := res.Errors[3]
	if e.File != inv || e.Line != 3 || e.Col != 5 || e.Message != `unknown key "tset" in service web` || e.Hint != `did you mean "test"?` {
		t.Errorf("fourth error %+v", e)
	}
	for _, e := range res.Errors {
		if e.Line < 1 || e.Col < 1 || e.Message == "" {
			t.Errorf("error without a place: %+v", e)
		}
	}

	out, errOut, code = runCLI(t, "validate", "-i", exampleInventory, "-c", exampleChange, "--json")
	if code != exitOK || errOut != "" || strings.Join(strings.Fields(out), " ") != `{ "ok": true, "errors": [] }` {
		t.Errorf("valid files with --json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestUsageErrors checks the other ways a command line can be wrong: all exit
// 2 with a message on stderr and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"plan", "-i", missing, "-c", exampleChange, "-s", "web"}, missing + ": no such file\n\thint: check the path given with -i or -c\nnothing was run.\n"},
		{"directory as file", []string{"validate", "-i", exampleInventory, "-c", dir}, dir + ": is a directory, not a file\n"},
		{"no such service", []string{"plan", "-i", exampleInventory, "-c", exampleChange, "-s", "db"}, exampleInventory + `: no service "db" in the inventory` + "\n\thint: services: web, api\n"},
		{"service not chosen", []string{"plan", "-i", exampleInventory, "-c", exampleChange}, exampleInventory + ": the inventory has several services; choose one with -s\n"},
		{"unknown flag", []string{"plan", "--nope"}, "rollout: unknown flag: --nope\nRun 'rollout --help' for usage.\n"},
		{"stray argument", []string{"validate", "extra"}, "Run 'rollout --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, tt.args...)
			if code != exitUsage || out != "" || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and stderr containing %q", code, out, errOut, exitUsage, tt.want)
			}
		})
	}
}
