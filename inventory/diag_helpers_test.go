package inventory

import (
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/internal/diagtest"
)

// wantErr is one expected problem; see diagtest.Want.
type wantErr struct {
	line int
	near string
	col  int
	msg  string
	hint string
}

func diagList(t *testing.T, err error) diag.List {
	t.Helper()
	return diagtest.List(t, err)
}

func checkErrs(t *testing.T, file, src string, err error, want []wantErr) {
	t.Helper()
	w := make([]diagtest.Want, len(want))
	for i, x := range want {
		w[i] = diagtest.Want{Line: x.line, Near: x.near, Col: x.col, Msg: x.msg, Hint: x.hint}
	}
	diagtest.Check(t, file, src, err, w)
}
