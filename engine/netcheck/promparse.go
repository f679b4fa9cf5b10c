package netcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// promResult is a parsed answer of Prometheus's /api/v1/query: the samples
// of an instant vector, or one sample without labels for a scalar.
type promResult struct {
	scalar  bool
	samples []promSample
}

// promSample is one series' value at the query's time.
type promSample struct {
	labels map[string]string
	value  float64
}

// apiError is Prometheus's own refusal of a query: status "error" with its
// errorType (bad_data, execution, timeout, …) and message.
type apiError struct{ kind, msg string }

func (e *apiError) Error() string {
	kind := e.kind
	if kind == "" {
		kind = "error"
	}
	return fmt.Sprintf("prometheus answered %s: %s", plain(kind, 40), plain(e.msg, 300))
}

// parsePromQuery reads an /api/v1/query answer. It accepts the two instant
// result types a bound can be checked on, vector and scalar, and returns a
// plain-words error for anything else: an API error, a range vector, a
// string, a native histogram, or JSON that is not the documented shape.
// Nothing in body can make it panic or produce an unbounded message.
func parsePromQuery(body []byte) (promResult, error) {
	var resp struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      *struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return promResult{}, malformed(err)
	}
	switch {
	case resp.Status == "error":
		return promResult{}, &apiError{kind: resp.ErrorType, msg: resp.Error}
	case resp.Status != "success":
		return promResult{}, malformed(fmt.Errorf("status %s, want success or error", quoted(resp.Status, 40)))
	case resp.Data == nil:
		return promResult{}, malformed(errors.New("no data"))
	}
	switch resp.Data.ResultType {
	case "vector":
		return parseVector(resp.Data.Result)
	case "scalar":
		v, err := parsePoint(resp.Data.Result)
		if err != nil {
			return promResult{}, malformed(fmt.Errorf("scalar: %v", err))
		}
		return promResult{scalar: true, samples: []promSample{{value: v}}}, nil
	case "matrix":
		return promResult{}, errors.New("the query returns a range vector; a check needs an instant vector " +
			"or a scalar (wrap it, e.g. max_over_time(…[5m]))")
	case "string":
		return promResult{}, errors.New("the query returns a string; a check needs a number")
	}
	return promResult{}, malformed(fmt.Errorf("resultType %s, want vector or scalar", quoted(resp.Data.ResultType, 40)))
}

// parseVector reads the result of an instant vector.
func parseVector(raw json.RawMessage) (promResult, error) {
	var series []struct {
		Metric    map[string]string `json:"metric"`
		Value     json.RawMessage   `json:"value"`
		Histogram json.RawMessage   `json:"histogram"`
	}
	if err := json.Unmarshal(raw, &series); err != nil {
		return promResult{}, malformed(fmt.Errorf("vector: %v", err))
	}
	res := promResult{samples: make([]promSample, 0, len(series))}
	for _, s := range series {
		if s.Value == nil && s.Histogram != nil {
			return promResult{}, fmt.Errorf("series %s is a native histogram; a check needs a number "+
				"(e.g. histogram_quantile(0.99, …))", formatLabels(s.Metric))
		}
		v, err := parsePoint(s.Value)
		if err != nil {
			return promResult{}, malformed(fmt.Errorf("series %s: %v", formatLabels(s.Metric), err))
		}
		res.samples = append(res.samples, promSample{labels: s.Metric, value: v})
	}
	return res, nil
}

// parsePoint reads a [timestamp, "value"] pair. Prometheus writes values
// as strings so that NaN and ±Inf survive JSON; ParseFloat reads those too.
func parsePoint(raw json.RawMessage) (float64, error) {
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return 0, errors.New(`value is not a [time, "number"] pair`)
	}
	var ts float64
	if err := json.Unmarshal(pair[0], &ts); err != nil {
		return 0, errors.New("sample time is not a number")
	}
	var s string
	if err := json.Unmarshal(pair[1], &s); err != nil {
		return 0, errors.New("sample value is not a string")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("sample value %s is not a number", quoted(s, 40))
	}
	return v, nil
}

// malformed says the answer is not what Prometheus's API documents: most
// often the URL points at something that is not a Prometheus server.
func malformed(err error) error {
	return fmt.Errorf("not a Prometheus query answer: %s", plain(err.Error(), 200))
}

// formatLabels renders a series as Prometheus does, name first then the
// labels in order: up{instance="web-1", job="node"}. Long label sets are
// clipped.
func formatLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(plain(m["__name__"], 100))
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(plain(k, 100))
		b.WriteByte('=')
		b.WriteString(quoted(m[k], 100))
		if b.Len() > 300 && i < len(keys)-1 {
			fmt.Fprintf(&b, ", … %d more", len(keys)-i-1)
			break
		}
	}
	b.WriteByte('}')
	return b.String()
}

// formatValue writes a sample value the way PromQL does: 0.12, +Inf, NaN.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
