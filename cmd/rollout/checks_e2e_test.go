package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
)

// Network checks in verify, through the binary on the local example
// (every host a directory, swap local): an http: check against an HTTP
// server the test runs on loopback and a prometheus: check against a
// server speaking Prometheus's /api/v1/query, a small one in the test, and
// the real prometheus binary where it is installed.

// checksChange is the local example's change with three verify checks: a
// command, an http check and a prometheus check.
const checksChange = `name: version 2, checked over the network
apply: mkdir -p hosts/{{.Host}} && echo 2 > hosts/{{.Host}}/version && echo x >> hosts/{{.Host}}/applied
verify:
  - name: version file
    run: grep -qx 2 hosts/{{.Host}}/version
  - name: healthz
    http: {url: "HEALTH/healthz/{{.Host}}", status: 200, body_contains: ok}
  - name: error ratio
    prometheus: {url: "PROM", query: 'QUERY', max: 0.05}
rollback:
  run: echo 1 > hosts/{{.Host}}/version
  verify: grep -qx 1 hosts/{{.Host}}/version
swap:
  run: echo {{.Promote}} > active
  verify: grep -q {{.Promote}} active
fleet: {batches: [1, 100%], parallel: 2}
`

var checkNames = []string{"version file", "healthz", "error ratio"}

// checksBed is the local example with checksChange pointed at the servers.
func checksBed(t *testing.T, health, prom, query string) *localBed {
	t.Helper()
	b := newLocalBed(t)
	text := strings.NewReplacer("HEALTH", health, "PROM", prom, "QUERY", query).Replace(checksChange)
	if err := os.WriteFile(filepath.Join(b.dir, "change.yaml"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// asked is a set of host names a server was asked about.
type asked struct {
	mu    sync.Mutex
	hosts map[string]int
}

func (a *asked) add(h string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hosts == nil {
		a.hosts = map[string]int{}
	}
	a.hosts[h]++
}

func (a *asked) has(h string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hosts[h] > 0
}

// healthServer answers GET /healthz/HOST with 200 "ok", noting HOST.
func healthServer(t *testing.T) (*httptest.Server, *asked) {
	a := &asked{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz/{host}", func(w http.ResponseWriter, r *http.Request) {
		a.add(r.PathValue("host"))
		io.WriteString(w, "ok\n")
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s, a
}

var instanceLabel = regexp.MustCompile(`instance="([^"]*)"`)

// fakePrometheus answers /api/v1/query as Prometheus does, with one series
// for the query's instance: ratio[instance], or 0.001.
func fakePrometheus(t *testing.T, ratio map[string]string) (*httptest.Server, *asked) {
	a := &asked{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/query", func(w http.ResponseWriter, r *http.Request) {
		m := instanceLabel.FindStringSubmatch(r.URL.Query().Get("query"))
		if m == nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"status":"error","errorType":"bad_data","error":"no instance in the query"}`)
			return
		}
		a.add(m[1])
		v, ok := ratio[m[1]]
		if !ok {
			v = "0.001"
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":%q},"value":[%d.5,%q]}]}}`, m[1], time.Now().Unix(), v)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s, a
}

const ratioQuery = `job:http_errors:ratio5m{instance="{{.Host}}"}`

// Every host passes all three checks: the gates tally each check by name,
// nothing failed, and both servers were asked about every host.
func TestNetworkChecksPass(t *testing.T) {
	health, healthAsked := healthServer(t)
	prom, promAsked := fakePrometheus(t, nil)
	b := checksBed(t, health.URL, prom.URL, ratioQuery)
	out, errOut, code := b.run("", "run", "--plain", "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	recs := journalIn(t, out)
	if cf := eventsOf[engine.CheckFailed](recs); len(cf) != 0 {
		t.Errorf("checks failed: %+v", cf)
	}
	for _, g := range eventsOf[engine.GateReached](recs) {
		if g.Kind == engine.GatePreflight {
			continue
		}
		if len(g.Checks) != 3 {
			t.Errorf("gate %d tallies %+v, want the 3 checks", g.Gate, g.Checks)
			continue
		}
		for i, c := range g.Checks {
			if c.Check != i+1 || c.Name != checkNames[i] || c.Failed != 0 || c.Passed != g.Passed || c.Passed == 0 {
				t.Errorf("gate %d check %d: %+v, want %q passed on all %d hosts", g.Gate, i+1, c, checkNames[i], g.Passed)
			}
		}
	}
	if !strings.Contains(out, "verify 3 error ratio: 1 passed") || !strings.Contains(out, "verify 2 healthz: 1 passed") {
		t.Errorf("the gates do not tally the checks:\n%s", out)
	}
	for _, h := range localHosts {
		if !healthAsked.has(h) || !promAsked.has(h) {
			t.Errorf("%s: health server asked %v, prometheus asked %v", h, healthAsked.has(h), promAsked.has(h))
		}
		if b.version(h) != "2" {
			t.Errorf("%s on %q", h, b.version(h))
		}
	}
}

// The canary's error ratio is over the check's max: the canary fails at
// its third check with the check's own sentence, the failed gate's tally
// says which check failed, and a rollback undoes the hosts changed; the
// fleet is never touched.
func TestPrometheusCheckFailsTheCanary(t *testing.T) {
	health, _ := healthServer(t)
	prom, promAsked := fakePrometheus(t, map[string]string{"web-c1": "0.2"})
	b := checksBed(t, health.URL, prom.URL, ratioQuery)
	out, errOut, code := b.run("r\n", "run", "--plain", "--yes")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	recs := journalIn(t, out)
	const msg = `prometheus query job:http_errors:ratio5m{instance="web-c1"} = 0.2 on {instance="web-c1"}, above max 0.05`
	st := engine.Fold(recs)
	if c1 := st.Hosts["web-c1"]; c1.State != engine.StateRolledBack {
		t.Errorf("web-c1 ended %s, want rolled back", c1.State)
	}
	var failed *engine.HostChanged
	for _, h := range eventsOf[engine.HostChanged](recs) {
		if h.Host == "web-c1" && h.State == engine.StateFailed {
			failed = &h
		}
	}
	if failed == nil || failed.Kind != "check" || failed.Check != 3 || failed.Error != "verify 3 (error ratio): "+msg {
		t.Fatalf("web-c1 failed %+v, want check 3 failing with %q", failed, msg)
	}
	var gate *engine.GateReached
	for _, g := range eventsOf[engine.GateReached](recs) {
		if g.Kind == engine.GateFailed {
			gate = &g
		}
	}
	if gate == nil || gate.Phase != engine.PhaseCanary {
		t.Fatalf("failed gate %+v, want the canary's", gate)
	}
	want := []engine.CheckTally{{Check: 1, Name: "version file", Passed: 1}, {Check: 2, Name: "healthz", Passed: 1}, {Check: 3, Name: "error ratio", Failed: 1}}
	if !slices.Equal(gate.Checks, want) {
		t.Errorf("the failed gate tallies %+v, want %+v", gate.Checks, want)
	}
	block := gateBlock(t, out, gate.Gate)
	for _, w := range []string{"verify 3 error ratio: 0 passed, 1 FAILED", msg} {
		if !strings.Contains(block, w) {
			t.Errorf("the failed gate lacks %q:\n%s", w, block)
		}
	}
	if !promAsked.has("web-c1") || promAsked.has("web-01") {
		t.Errorf("prometheus was asked about web-c1 %v, about the fleet %v", promAsked.has("web-c1"), promAsked.has("web-01"))
	}
	if st.Outcome != engine.OutcomeRolledBack {
		t.Errorf("outcome %s", st.Outcome)
	}
	for _, h := range []string{"web-test-1", "web-b", "web-a", "web-c1"} {
		if b.version(h) != "1" {
			t.Errorf("%s on %q after the rollback, want 1", h, b.version(h))
		}
	}
	for _, h := range []string{"web-01", "web-02", "web-03", "web-04"} {
		if b.applied(h) != 0 {
			t.Errorf("fleet host %s was touched", h)
		}
	}
}

// The prometheus check against the real server, where it is installed:
// one rollout whose query is within bounds succeeds; one whose query is
// over max fails the test host with the real server's answer in the
// check's sentence.
func TestPrometheusCheckAgainstRealPrometheus(t *testing.T) {
	base := realPrometheusServer(t)
	health, _ := healthServer(t)
	query := func(v string) string {
		return `label_replace(vector(` + v + `), "instance", "{{.Host}}", "", "")`
	}

	b := checksBed(t, health.URL, base, query("0.001"))
	out, errOut, code := b.run("", "run", "--plain", "--yes")
	if code != 0 {
		t.Fatalf("within bounds: exit %d\n%s\n%s", code, out, errOut)
	}

	b = checksBed(t, health.URL, base, query("0.2"))
	out, errOut, code = b.run("a\n", "run", "--plain", "--yes")
	if code != 1 {
		t.Fatalf("over max: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	recs := journalIn(t, out)
	st := engine.Fold(recs)
	want := `verify 3 (error ratio): prometheus query label_replace(vector(0.2), "instance", "web-test-1", "", "") = 0.2 on {instance="web-test-1"}, above max 0.05`
	if h := st.Hosts["web-test-1"]; h.State != engine.StateFailed || h.Kind != "check" || h.Error != want {
		t.Errorf("web-test-1 ended %s (%s): %q, want failed: %q", h.State, h.Kind, h.Error, want)
	}
	if st.Outcome != engine.OutcomeFailed || b.applied("web-b") != 0 {
		t.Errorf("outcome %s; the standby applied %d times", st.Outcome, b.applied("web-b"))
	}
}

// realPrometheusServer starts the prometheus binary on loopback with no
// scrape targets and returns its URL once it is ready; it skips the test
// when prometheus is not on PATH.
func realPrometheusServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not on PATH (Debian: apt-get install prometheus); the checks are tested against a fake server too")
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte("global: {scrape_interval: 1m}\nscrape_configs: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30s:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
