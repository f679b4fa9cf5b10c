package engine_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/fake"
	"github.com/rolloutconsole/rollout/engine/local"
	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/change"
)

func startWith(t *testing.T, p *engine.Plan, tr engine.Transport, dir string, pol policy, opt func(*engine.Options)) *run {
	t.Helper()
	o := engine.Options{Transport: tr, Local: tr, StateDir: dir, User: "tester", Grace: time.Second}
	opt(&o)
	e, err := engine.New(p, o)
	if err != nil {
		t.Fatal(err)
	}
	ft, _ := tr.(*fake.Transport)
	return drive(t, e, ft, dir, pol)
}

func withPreflight(o *engine.Options) { o.Preflight = true }

func TestPreflightExcludesAnUnreachableHostWhenTheEngineerProceeds(t *testing.T) {
	spec := defaultSpec()
	spec.extra = "lock: false\npreflight: [diskok]\n"
	ft := fake.New()
	ft.Script("f04", fake.Script{DialErr: engine.ErrUnreachable})
	ft.Script("f07", fake.Script{Exits: map[string]int{"diskok": 1}})
	r := startWith(t, spec.plan(t), ft, t.TempDir(), openGates, func(o *engine.Options) {
		o.Preflight = true
		o.AutoConfirm = true // --yes must not answer a preflight gate with problems
	})
	g := r.waitGate()
	if g.Kind != engine.GatePreflight || g.Preflight == nil {
		t.Fatalf("first gate %+v", g)
	}
	p := g.Preflight
	if p.Checked != 16 || p.OK != 14 || len(p.Unreachable) != 1 || p.Unreachable[0].Host != "f04" ||
		len(p.Failing) != 1 || p.Failing[0].Host != "f07" || p.Blocking != "" {
		t.Fatalf("report %+v", p)
	}
	if !strings.Contains(p.Unreachable[0].Error, "unreachable") || !strings.Contains(p.Failing[0].Error, "exit status 1") {
		t.Errorf("errors: %q, %q", p.Unreachable[0].Error, p.Failing[0].Error)
	}
	if !slices.Equal(g.Options, []engine.Decision{engine.Proceed, engine.Exclude, engine.Abort}) {
		t.Errorf("options %v", g.Options)
	}
	r.answer(g, engine.Answer{Decision: engine.Proceed})
	if o := r.wait(); o != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", o, r.dump())
	}
	st := r.state()
	for _, h := range []string{"f04", "f07"} {
		if hs := st.Hosts[h]; hs.State != engine.StateSkipped || !strings.HasPrefix(hs.Excluded, "preflight: ") {
			t.Errorf("%s: %+v", h, hs)
		}
		if ft.Applied()[h] != 0 {
			t.Errorf("%s applied", h)
		}
	}
	if st.Hosts["f05"].State != engine.StateDone {
		t.Errorf("f05 %s", st.Hosts["f05"].State)
	}
}

func TestPreflightBlocksWhenTheStandbyIsUnreachable(t *testing.T) {
	spec := defaultSpec()
	spec.extra = "lock: false\n"
	ft := fake.New()
	ft.Script("sb", fake.Script{DialErr: engine.ErrUnreachable})
	r := startWith(t, spec.plan(t), ft, t.TempDir(), openGates, withPreflight)
	g := r.waitGate()
	if g.Preflight == nil || !strings.Contains(g.Preflight.Blocking, "sb failed preflight") || slices.Contains(g.Options, engine.Proceed) {
		t.Fatalf("gate %+v report %+v", g, g.Preflight)
	}
	if err := r.eng.Decide(g.Gate, engine.Proceed); !errors.Is(err, engine.ErrNotAllowed) {
		t.Errorf("proceed past a blocking preflight: %v", err)
	}
	r.answer(g, engine.Answer{Decision: engine.Abort})
	if o := r.wait(); o != engine.OutcomeAborted || len(ft.Applied()) != 0 {
		t.Errorf("outcome %s, applied %v", o, ft.Applied())
	}
}

func TestPreflightShowsDriftAndYesDoesNotAcknowledgeIt(t *testing.T) {
	spec := defaultSpec()
	spec.extra = "lock: false\nfingerprint: {os: osrel, pkg: pkgver}\n"
	ft := fake.New()
	for _, h := range []string{"t01", "t02", "sb", "pr", "c01", "c02", "f01", "f02", "f03", "f04", "f05", "f06", "f07", "f08", "f09", "f10"} {
		ft.Script(h, fake.Script{Outputs: map[string][]string{"osrel": {"debian 12"}, "pkgver": {"nginx 1.24"}}})
	}
	ft.Script("t02", fake.Script{Outputs: map[string][]string{"osrel": {"debian 11"}, "pkgver": {"nginx 1.24"}}})
	r := startWith(t, spec.plan(t), ft, t.TempDir(), openGates, func(o *engine.Options) { o.Preflight, o.AutoConfirm = true, true })
	g := r.waitGate()
	p := g.Preflight
	if p == nil || !p.Drift || len(p.Fingerprints) != 2 {
		t.Fatalf("report %+v", p)
	}
	os, pkg := p.Fingerprints[0], p.Fingerprints[1]
	if os.Name != "os" || !os.Differs || pkg.Differs {
		t.Errorf("rows %+v / %+v", os, pkg)
	}
	if len(os.Test) != 2 || len(os.Production) != 1 || os.Production[0].Value != "debian 12" || os.Production[0].Count != 14 {
		t.Errorf("os row %+v", os)
	}
	r.answer(g, engine.Answer{Decision: engine.Proceed, Reason: "t02 is the old image; known"})
	if o := r.wait(); o != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s", o)
	}
	st := r.state()
	if !auditHas(st, "proceed at the preflight gate", "t02 is the old image; known") {
		t.Errorf("audit %+v", st.Audit)
	}
	if got := st.Hosts["t02"].Fingerprint["os"]; got != "debian 11" {
		t.Errorf("t02 fingerprint %q", got)
	}
}

// localSpec is a service of hosts on the local transport, whose commands
// really run (sh -c), in dir.
func localPlan(t *testing.T, dir, changeYAML string, hosts ...string) *engine.Plan {
	t.Helper()
	inv := "defaults: {transport: local}\nservices:\n  web:\n    test: [" + hosts[0] + "]\n"
	if len(hosts) > 1 {
		inv += "    fleet: [" + strings.Join(hosts[1:], ", ") + "]\n"
	}
	in, err := inventory.Parse(filepath.Join(dir, "inventory.yaml"), []byte(inv), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := change.Parse(filepath.Join(dir, "change.yaml"), []byte(changeYAML), change.Options{})
	if err != nil {
		t.Fatalf("change: %v\n%s", err, changeYAML)
	}
	svc, _ := in.Service("web")
	p, err := engine.NewPlan(in, svc, ch)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRemoteLockRefusesASecondRolloutOnAnotherStateDir(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, "hostlocks", "web")
	ch := fmt.Sprintf("name: locked\napply: 'true'\nverify: 'true'\nrollback: 'true'\nlock: {path: %s}\n", lock)
	p := localPlan(t, dir, ch, "h1", "h2", "h3")
	tr := &local.Transport{}
	first := startWith(t, p, tr, filepath.Join(dir, "a"), openGates, withPreflight)
	g := first.waitGate()
	if g.Kind != engine.GatePreflight {
		t.Fatalf("first gate %s", g.Kind)
	}
	info, err := os.ReadFile(filepath.Join(lock, "info"))
	if err != nil || !strings.Contains(string(info), "id="+first.eng.ID()) {
		t.Fatalf("lock info %q, %v", info, err)
	}

	second := startWith(t, localPlan(t, dir, ch, "h1", "h2", "h3"), tr, filepath.Join(dir, "b"), openGates, withPreflight)
	select {
	case <-second.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the second rollout did not stop")
	}
	if !errors.Is(second.err, engine.ErrRemoteLocked) || !strings.Contains(second.err.Error(), first.eng.ID()) || !strings.Contains(second.err.Error(), "tester@") {
		t.Fatalf("second rollout: %v", second.err)
	}
	if second.outcome != engine.OutcomeAborted {
		t.Errorf("second outcome %s", second.outcome)
	}
	// The first still holds the lock, untouched by the second.
	if again, _ := os.ReadFile(filepath.Join(lock, "info")); string(again) != string(info) {
		t.Errorf("lock info changed: %q", again)
	}
	first.answer(g, engine.Answer{Decision: engine.Proceed})
	if o := first.finishAll(); o != engine.OutcomeSucceeded {
		t.Fatalf("first outcome %s\n%s", o, first.dump())
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("the lock is still there after the rollout ended: %v", err)
	}
	st := first.state()
	if st.Lock != "" {
		t.Errorf("state says the lock is held: %q", st.Lock)
	}
}

func TestHooksGetTheEventAndTheirFailureNeverStopsTheRollout(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "hooks")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ch := fmt.Sprintf(`name: hooked
apply: 'true'
verify: 'true'
rollback: 'true'
lock: false
on:
  gate: 'cat >> %[1]s/gate.jsonl'
  finished: 'cat > %[1]s/finished.json; echo "chat is down" >&2; exit 1'
`, out)
	p := localPlan(t, dir, ch, "h1", "h2")
	r := startWith(t, p, &local.Transport{}, filepath.Join(dir, "state"), proceedAll, func(o *engine.Options) { o.Hooks = true })
	if o := r.wait(); o != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s", o)
	}
	b, err := os.ReadFile(filepath.Join(out, "finished.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Type string `json:"type"`
		Data struct {
			Outcome string `json:"outcome"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.Type != "rollout_finished" || rec.Data.Outcome != "succeeded" {
		t.Errorf("finished hook got %s (%v)", b, err)
	}
	gates, _ := os.ReadFile(filepath.Join(out, "gate.jsonl"))
	if n := strings.Count(string(gates), `"type":"gate"`); n != 2 {
		t.Errorf("gate hook ran %d times, want 2:\n%s", n, gates)
	}
	var ran []engine.HookRan
	for _, rec := range r.events() {
		if h, ok := rec.Event.(engine.HookRan); ok {
			ran = append(ran, h)
		}
	}
	var failed *engine.HookRan
	for i := range ran {
		if ran[i].On == "finished" {
			failed = &ran[i]
		}
	}
	if failed == nil || !strings.Contains(failed.Error, "exit status 1: chat is down") {
		t.Errorf("hook results %+v", ran)
	}
}

func TestHTTPAndPrometheusChecksInVerify(t *testing.T) {
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health/h2" && r.URL.Path != "/health/h1" {
			http.Error(w, "no such host", http.StatusNotFound)
			return
		}
		fmt.Fprintln(w, "ok version 2")
	}))
	defer health.Close()
	errorRate := map[string]string{"h1": "0.001", "h2": "0.2"}
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		host := strings.TrimSuffix(strings.TrimPrefix(q, `errors{host="`), `"}`)
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"host":%q},"value":[1,%q]}]}}`, host, errorRate[host])
	}))
	defer prom.Close()
	dir := t.TempDir()
	ch := fmt.Sprintf(`name: checked
apply: 'true'
verify:
  - name: health
    http: {url: '%s/health/{{.Host}}', status: 200, body_contains: version 2}
  - name: error rate
    prometheus: {url: '%s', query: 'errors{host="{{.Host}}"}', max: 0.05}
rollback: 'true'
lock: false
fleet: {max_failures: 0}
`, health.URL, prom.URL)
	p := localPlan(t, dir, ch, "h1", "h2")
	r := startWith(t, p, &local.Transport{}, filepath.Join(dir, "state"), openGates, func(*engine.Options) {})
	g := r.waitGate()
	r.answer(g, engine.Answer{Decision: engine.Proceed})
	g = r.waitGate()
	if len(g.Checks) != 2 || g.Checks[0].Name != "health" || g.Checks[0].Passed != 1 || g.Checks[1].Passed != 1 {
		t.Fatalf("after h1: %+v", g.Checks)
	}
	r.answer(g, engine.Answer{Decision: engine.Proceed})
	g = r.waitGate()
	if g.Kind != engine.GateFailed || len(g.Checks) != 2 || g.Checks[0].Passed != 1 || g.Checks[1].Failed != 1 {
		t.Fatalf("after h2: %s %+v", g.Kind, g.Checks)
	}
	h2 := r.state().Hosts["h2"]
	if !strings.Contains(h2.Error, `= 0.2 on {host="h2"}, above max 0.05`) || h2.FailedCheck != 2 {
		t.Errorf("h2 %+v", h2)
	}
	r.answer(g, engine.Answer{Decision: engine.Abort})
	r.wait()
}

// A connection preflight kept for a host's turn, gone while the engineer
// read the gate, is dialled again: the host is changed, never lost.
func TestAConnectionKeptFromPreflightThatDiedIsDialledAgain(t *testing.T) {
	spec := defaultSpec()
	spec.extra = "lock: false\n"
	ft := fake.New()
	r := startWith(t, spec.plan(t), ft, t.TempDir(), openGates, withPreflight)
	g := r.waitGate()
	if n := ft.Dials()["t01"]; n != 1 {
		t.Fatalf("t01 dialled %d times in preflight", n)
	}
	ft.Kill("t01")
	r.answer(g, engine.Answer{Decision: engine.Proceed})
	g = r.waitGate()
	if h := r.state().Hosts["t01"]; h.State != engine.StateDone || ft.Dials()["t01"] != 2 || ft.Dials()["t02"] != 1 {
		t.Errorf("t01 %+v after %d dials (t02: %d)", h, ft.Dials()["t01"], ft.Dials()["t02"])
	}
	r.answer(g, engine.Answer{Decision: engine.Abort})
	r.wait()
}
