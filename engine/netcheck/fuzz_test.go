package netcheck

import (
	"math"
	"strings"
	"testing"
	"unicode"
)

// FuzzPrometheusResponse feeds arbitrary bytes to the /api/v1/query parser
// and the bounds check, as a hostile or broken server could. Neither may
// panic; every error must be short and free of control characters (it is
// shown on the console and journaled); and a pass must mean at least one
// sample, every one a number within the bounds.
func FuzzPrometheusResponse(f *testing.F) {
	for _, seed := range []string{
		oneSeries, threeSeries, scalarTwo, emptyVector, nanSeries, infSeries, matrix, badData,
		`{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{"count":"2"}]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a\u001b[31m":"\u0007"},"value":[1,"-Inf"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[null,{"value":[1,"1"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":{"not":"a list"}}}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1e999,"1"]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":["1","0x1p-2"]}}`,
		`{"status":"success","data":null}`,
		`{"status":"error","errorType":"execution","error":"query timed out in expression evaluation"}`,
		`{"status":"success","warnings":["x"],"data":{"resultType":"vector","result":[{"metric":{"__name__":"up"},"value":[1,"1"]}]}}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`,
		`"status"`, `null`, `{}`, ``,
	} {
		f.Add([]byte(seed))
	}
	c := Prometheus{Max: bound(1), Min: bound(0)}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := parsePromQuery(body)
		if err == nil {
			err = c.judge("prometheus query q", res)
			if err == nil {
				if len(res.samples) == 0 {
					t.Fatal("passed with no sample")
				}
				for _, s := range res.samples {
					if math.IsNaN(s.value) || s.value > 1 || s.value < 0 {
						t.Fatalf("passed with sample %v out of [0, 1]", s.value)
					}
				}
				return
			}
		}
		msg := err.Error()
		if len(msg) > 2048 {
			t.Fatalf("error of %d bytes: %.200s…", len(msg), msg)
		}
		if strings.ContainsFunc(msg, unicode.IsControl) {
			t.Fatalf("error with a control character: %q", msg)
		}
	})
}
