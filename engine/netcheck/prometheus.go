package netcheck

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Prometheus is a check that passes when an instant query returns at least
// one sample and every sample is within the bounds: at most Max and at
// least Min, each when set. It lets a canary soak watch what users see
// (error rates, latency) rather than only what the host says of itself.
type Prometheus struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:9090 or
	// https://mon.example.com/prometheus; /api/v1/query is added to it.
	URL string
	// Query is the PromQL expression; it must give an instant vector or a scalar.
	Query string
	// Max and Min bound every sample; nil means unbounded on that side.
	Max, Min *float64
}

// MaxPrometheusBody bounds the answer read from Prometheus. A query whose
// answer is larger is refused with a hint to narrow it: a check over that
// many series is a mistake, not a health signal.
const MaxPrometheusBody = 16 << 20

// Check asks the server for the query's value now, through dial, and
// compares every sample with the bounds. A NaN sample always fails: it
// cannot be compared, and usually means 0/0 (a ratio with no traffic).
func (c Prometheus) Check(ctx context.Context, dial DialFunc) error {
	// A query written over several YAML lines is shown on one.
	what := "prometheus query " + plain(strings.Join(strings.Fields(c.Query), " "), 200)
	u, show, err := queryURL(c.URL, c.Query)
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	resp, err := get(ctx, dial, u, show, MaxPrometheusBody, "application/json")
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	res, perr := parsePromQuery(resp.body)
	var api *apiError
	switch {
	case errors.As(perr, &api):
		// Prometheus answers 400/422/503 with the reason in the body: the
		// reason is what the engineer needs.
		return fmt.Errorf("%s: %v (HTTP %d)", what, perr, resp.status)
	case resp.status != 200:
		return fmt.Errorf("%s: GET %s: status %d, want 200 (first 80 bytes: %s)",
			what, resp.where(), resp.status, quoted(string(resp.body), 80))
	case resp.truncated:
		return fmt.Errorf("%s: answer larger than %d MiB; narrow the query", what, MaxPrometheusBody>>20)
	case perr != nil:
		return fmt.Errorf("%s: %w", what, perr)
	}
	return c.judge(what, res)
}

// judge compares every sample with the bounds and names the first one out
// of them, with how many others are.
func (c Prometheus) judge(what string, res promResult) error {
	if len(res.samples) == 0 {
		return fmt.Errorf("%s: no series (the query matched nothing)", what)
	}
	var first error
	bad := 0
	for _, s := range res.samples {
		why := c.outOfBounds(s.value)
		if why == "" {
			continue
		}
		bad++
		if first == nil {
			on := ""
			if !res.scalar {
				on = " on " + formatLabels(s.labels)
			}
			first = fmt.Errorf("%s = %s%s, %s", what, formatValue(s.value), on, why)
		}
	}
	if bad > 1 {
		return fmt.Errorf("%w (%d of %d series out of bounds)", first, bad, len(res.samples))
	}
	return first
}

// outOfBounds says how v misses the bounds, or "" when it is within them.
func (c Prometheus) outOfBounds(v float64) string {
	switch {
	case math.IsNaN(v):
		return "not a number (often 0/0: a ratio with no traffic)"
	case c.Max != nil && v > *c.Max:
		return "above max " + formatValue(*c.Max)
	case c.Min != nil && v < *c.Min:
		return "below min " + formatValue(*c.Min)
	}
	return ""
}

// queryURL builds base/api/v1/query?query=…, keeping any path prefix and
// query parameters of base. It also returns the endpoint without the query
// and credentials, to name it in messages.
func queryURL(base, query string) (full, show string, err error) {
	u, err := parseHTTPURL(base)
	if err != nil {
		return "", "", fmt.Errorf("%s: %v", redact(base), err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/query"
	u.RawPath = ""
	u.Fragment, u.RawFragment = "", ""
	show = redact(u.String())
	v := u.Query()
	v.Set("query", query)
	u.RawQuery = v.Encode()
	return u.String(), show, nil
}
