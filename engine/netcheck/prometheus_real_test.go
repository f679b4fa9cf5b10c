package netcheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// realPrometheus starts the prometheus binary on 127.0.0.1, scraping
// itself every second as job "self", and returns its base URL and the
// address it scrapes once it is ready and has scraped itself once. It
// skips the test when prometheus is not on PATH.
func realPrometheus(t *testing.T) (base, target string) {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not on PATH (Debian: apt-get install prometheus); " +
			"the checks are still tested against the fake server in prometheus_test.go")
	}
	dir := t.TempDir()
	target = closedPort(t)
	config := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"+
		"scrape_configs:\n- job_name: self\n  static_configs: [{targets: [%q]}]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+target,
		"--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
		logf.Close()
	})
	showLog := func() string {
		b, _ := os.ReadFile(logf.Name())
		return string(b)
	}

	base = "http://" + target
	poll := func(what string, ready func() bool) {
		t.Helper()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(60 * time.Second)
		for !ready() {
			select {
			case err := <-exited:
				t.Fatalf("prometheus exited (%v) before %s:\n%s", err, what, showLog())
			case <-deadline:
				t.Fatalf("prometheus not %s after 60s:\n%s", what, showLog())
			case <-tick.C:
			}
		}
	}
	poll("ready", func() bool {
		req, _ := http.NewRequestWithContext(ctxFor(t, time.Second), "GET", base+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	poll("scraped once", func() bool {
		return Prometheus{URL: base, Query: `up{job="self"}`}.Check(ctxFor(t, 5*time.Second), nil) == nil
	})
	return base, target
}

// TestRealPrometheus runs the checks against the real server, so the
// parser is held to what Prometheus actually writes, not to our reading
// of its documentation.
func TestRealPrometheus(t *testing.T) {
	base, target := realPrometheus(t)
	check := func(q string, max, min *float64) error {
		return Prometheus{URL: base, Query: q, Max: max, Min: min}.Check(ctxFor(t, 10*time.Second), nil)
	}
	if err := check(`up{job="self"}`, bound(1), bound(1)); err != nil {
		t.Errorf("up within [1, 1]: %v", err)
	}
	if err := check(`1 + 1`, bound(2), bound(2)); err != nil {
		t.Errorf("scalar within [2, 2]: %v", err)
	}
	wantErr(t, check(`up{job="self"}`, bound(0.5), nil),
		fmt.Sprintf(`prometheus query up{job="self"} = 1 on up{instance=%q, job="self"}, above max 0.5`, target))
	wantErr(t, check(`up{job="self"} * 0`, nil, bound(1)),
		fmt.Sprintf(`prometheus query up{job="self"} * 0 = 0 on {instance=%q, job="self"}, below min 1`, target))
	wantErr(t, check(`up{job="nope"}`, bound(1), nil),
		`prometheus query up{job="nope"}: no series (the query matched nothing)`)
	wantErr(t, check(`0 / 0`, nil, nil),
		`prometheus query 0 / 0 = NaN, not a number (often 0/0: a ratio with no traffic)`)
	wantErr(t, check(`1 / 0`, bound(1e6), nil), `prometheus query 1 / 0 = +Inf, above max 1e+06`)
	wantErrContains(t, check(`up{job="self"}[1m]`, bound(1), nil), `: the query returns a range vector;`)
	wantErrContains(t, check(`"text"`, bound(1), nil), `: the query returns a string;`)
	wantErrContains(t, check(`rate(`, bound(1), nil), `prometheus query rate(: prometheus answered bad_data: `, `(HTTP 400)`)

	// Through a DialFunc, as when the host's own Prometheus listens on
	// the host's loopback and the check dials from the host.
	d := newRedirectDial(target)
	err := Prometheus{URL: "http://prometheus.internal:9090", Query: `up{job="self"}`, Min: bound(1)}.
		Check(ctxFor(t, 10*time.Second), d.dial)
	if err != nil {
		t.Errorf("through the DialFunc: %v", err)
	}
	if got := <-d.asked; got != "tcp prometheus.internal:9090" {
		t.Errorf("dial asked for %q", got)
	}

	// A context already cancelled stops the query before it is sent.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = Prometheus{URL: base, Query: "up"}.Check(ctx, nil)
	if !errors.Is(err, context.Canceled) || !strings.HasSuffix(err.Error(), ": canceled") {
		t.Errorf("with a cancelled context: %v", err)
	}
}
