package netcheck

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeProm is a small server speaking Prometheus's /api/v1/query: it
// answers every query with one canned status and body, and hands the
// query it was asked to the test.
type fakeProm struct {
	*httptest.Server
	status int
	body   string
	asked  chan string
}

func newFakeProm(t *testing.T, prefix string) *fakeProm {
	t.Helper()
	f := &fakeProm{status: 200, asked: make(chan string, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/api/v1/query", func(w http.ResponseWriter, r *http.Request) {
		f.asked <- r.URL.Query().Get("query")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func bound(v float64) *float64 { return &v }

const (
	oneSeries = `{"status":"success","data":{"resultType":"vector","result":[
		{"metric":{"instance":"web-1"},"value":[1700000000.123,"0.12"]}]}}`
	threeSeries = `{"status":"success","data":{"resultType":"vector","result":[
		{"metric":{"__name__":"up","instance":"web-1","job":"node"},"value":[1700000000,"1"]},
		{"metric":{"__name__":"up","instance":"web-2","job":"node"},"value":[1700000000,"0"]},
		{"metric":{"__name__":"up","instance":"web-3","job":"node"},"value":[1700000000,"0"]}]}}`
	scalarTwo   = `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"2"]}}`
	emptyVector = `{"status":"success","data":{"resultType":"vector","result":[]}}`
	nanSeries   = `{"status":"success","data":{"resultType":"vector","result":[
		{"metric":{"instance":"web-1"},"value":[1700000000,"NaN"]}]}}`
	infSeries = `{"status":"success","data":{"resultType":"vector","result":[
		{"metric":{"instance":"web-1"},"value":[1700000000,"+Inf"]}]}}`
	matrix = `{"status":"success","data":{"resultType":"matrix","result":[
		{"metric":{"instance":"web-1"},"values":[[1700000000,"1"],[1700000015,"1"]]}]}}`
	badData = `{"status":"error","errorType":"bad_data",
		"error":"invalid parameter \"query\": 1:6: parse error: unclosed left parenthesis"}`
)

func TestPrometheus(t *testing.T) {
	const q = `rate(http_errors[5m])`
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		max, min *float64
		want     string // "" passes
	}{
		{"one series within max", 200, oneSeries, bound(0.2), nil, ""},
		{"one series above max", 200, oneSeries, bound(0.05), nil,
			`prometheus query rate(http_errors[5m]) = 0.12 on {instance="web-1"}, above max 0.05`},
		{"one series below min", 200, oneSeries, nil, bound(0.5), `prometheus query rate(http_errors[5m]) = 0.12 on {instance="web-1"}, below min 0.5`},
		{"no bounds, a series", 200, oneSeries, nil, nil, ""},
		{"several series within", 200, threeSeries, bound(1), bound(0), ""},
		{"several series, first offender named", 200, threeSeries, nil, bound(1),
			`prometheus query rate(http_errors[5m]) = 0 on up{instance="web-2", job="node"}, below min 1 (2 of 3 series out of bounds)`},
		{"scalar within", 200, scalarTwo, bound(2), bound(2), ""},
		{"scalar above", 200, scalarTwo, bound(1), nil, `prometheus query rate(http_errors[5m]) = 2, above max 1`},
		{"empty result", 200, emptyVector, bound(1), nil,
			`prometheus query rate(http_errors[5m]): no series (the query matched nothing)`},
		{"NaN fails even unbounded", 200, nanSeries, nil, nil,
			`prometheus query rate(http_errors[5m]) = NaN on {instance="web-1"}, not a number (often 0/0: a ratio with no traffic)`},
		{"+Inf above max", 200, infSeries, bound(1e9), nil,
			`prometheus query rate(http_errors[5m]) = +Inf on {instance="web-1"}, above max 1e+09`},
		{"range vector", 200, matrix, bound(1), nil,
			`prometheus query rate(http_errors[5m]): the query returns a range vector; a check needs an instant vector or a scalar (wrap it, e.g. max_over_time(…[5m]))`},
		{"error status", 400, badData, bound(1), nil,
			`prometheus query rate(http_errors[5m]): prometheus answered bad_data: invalid parameter "query": 1:6: parse error: unclosed left parenthesis (HTTP 400)`},
		{"not json, not 200", 502, "<html>Bad Gateway</html>", bound(1), nil,
			`prometheus query rate(http_errors[5m]): GET URL/api/v1/query: status 502, want 200 (first 80 bytes: "<html>Bad Gateway</html>")`},
		{"not json, 200", 200, "<html>Grafana</html>", bound(1), nil,
			`prometheus query rate(http_errors[5m]): not a Prometheus query answer: invalid character '<' looking for beginning of value`},
		{"value not a string", 200, `{"status":"success","data":{"resultType":"scalar","result":[1,2]}}`, bound(1), nil,
			`prometheus query rate(http_errors[5m]): not a Prometheus query answer: scalar: sample value is not a string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeProm(t, "")
			f.status, f.body = tc.status, tc.body
			err := Prometheus{URL: f.URL, Query: q, Max: tc.max, Min: tc.min}.Check(ctxFor(t, 5*time.Second), nil)
			if got := <-f.asked; got != q {
				t.Errorf("server was asked %q", got)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, strings.ReplaceAll(tc.want, "URL", f.URL))
		})
	}
}

// TestPrometheusURL: a base with a path prefix, a trailing slash and
// credentials still reaches /prefix/api/v1/query, and the query's
// characters arrive intact.
func TestPrometheusURL(t *testing.T) {
	f := newFakeProm(t, "/prometheus")
	f.body = oneSeries
	const q = `sum by (instance) (rate(http_requests_total{code=~"5..",path!="/a&b"}[5m])) > 0`
	base := strings.Replace(f.URL, "http://", "http://alice:s3cret@", 1) + "/prometheus/"
	if err := (Prometheus{URL: base, Query: q, Max: bound(1)}).Check(ctxFor(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if got := <-f.asked; got != q {
		t.Errorf("server was asked %q, want %q", got, q)
	}

	f.status, f.body = 500, "oops"
	err := Prometheus{URL: base, Query: "up"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, `prometheus query up: GET http://***@`+strings.TrimPrefix(f.URL, "http://")+
		`/prometheus/api/v1/query: status 500, want 200 (first 80 bytes: "oops")`)

	err = Prometheus{URL: "127.0.0.1:9090", Query: "up"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, `prometheus query up: 127.0.0.1:9090: bad URL: no scheme, want http://… or https://…`)
}

func TestPrometheusRefused(t *testing.T) {
	addr := closedPort(t)
	err := Prometheus{URL: "http://" + addr, Query: "up"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, "prometheus query up: GET http://"+addr+"/api/v1/query: connection refused")
}

// TestPrometheusTooLarge: an answer past MaxPrometheusBody is refused
// with a hint, not parsed.
func TestPrometheusTooLarge(t *testing.T) {
	f := newFakeProm(t, "")
	f.body = `{"status":"success","data":{"resultType":"vector","result":[` +
		strings.Repeat(`{"metric":{"instance":"web-1"},"value":[1,"1"]},`, MaxPrometheusBody/40) + `]}}`
	err := Prometheus{URL: f.URL, Query: "up", Max: bound(1)}.Check(ctxFor(t, 10*time.Second), nil)
	wantErr(t, err, "prometheus query up: answer larger than 16 MiB; narrow the query")
}

// TestPrometheusDialFunc: the query goes through the DialFunc, as it does
// when a host's own Prometheus listens on the host's loopback only.
func TestPrometheusDialFunc(t *testing.T) {
	f := newFakeProm(t, "")
	f.body = oneSeries
	d := newRedirectDial(f.Listener.Addr().String())
	err := Prometheus{URL: "http://127.0.0.1:9090", Query: "up", Max: bound(1)}.Check(ctxFor(t, 5*time.Second), d.dial)
	if err != nil {
		t.Fatal(err)
	}
	if got := <-d.asked; got != "tcp 127.0.0.1:9090" {
		t.Errorf("dial asked for %q", got)
	}
}
