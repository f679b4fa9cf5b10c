package plain

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/engine"
)

type fakeCtl struct{ calls []string }

func (f *fakeCtl) Decide(g int, d engine.Decision) error {
	f.calls = append(f.calls, fmt.Sprintf("decide %d %s", g, d))
	return nil
}
func (f *fakeCtl) Answer(g int, a engine.Answer) error {
	f.calls = append(f.calls, fmt.Sprintf("answer %d %s host=%q size=%d reason=%q", g, a.Decision, a.Host, a.Size, a.Reason))
	return nil
}
func (f *fakeCtl) FinishNow(reason string) error {
	f.calls = append(f.calls, fmt.Sprintf("finish-now %q", reason))
	return nil
}
func (f *fakeCtl) FastRollback(reason string) error {
	f.calls = append(f.calls, fmt.Sprintf("fast-rollback %q", reason))
	return nil
}
func (f *fakeCtl) Pause() error    { f.calls = append(f.calls, "pause"); return nil }
func (f *fakeCtl) Unpause() error  { f.calls = append(f.calls, "unpause"); return nil }
func (f *fakeCtl) Abort() error    { f.calls = append(f.calls, "abort"); return nil }
func (f *fakeCtl) Rollback() error { f.calls = append(f.calls, "rollback"); return nil }

func gate(n int, kind engine.GateKind, opts ...engine.Decision) engine.Record {
	return engine.Record{Seq: int64(n), Event: engine.GateReached{Gate: n, Kind: kind, Phase: engine.PhaseTest, Options: opts}}
}

func TestAnswersAheadOfTheGate(t *testing.T) {
	for _, c := range []struct {
		name     string
		scripted bool
		want     []string
	}{
		{"a script's answers wait for their gates", true, []string{"decide 1 proceed", "decide 2 rollback"}},
		{"at a terminal an early y is refused", false, []string{"rollback"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			ctl := &fakeCtl{}
			con := New(&out, ctl, false)
			con.Scripted = c.scripted
			con.command("y")
			con.command("r")
			con.print(gate(1, engine.GateStart, engine.Proceed, engine.Abort))
			con.print(engine.Record{Event: engine.GateAnswered{Gate: 1, Decision: engine.Proceed}})
			con.print(gate(2, engine.GatePhase, engine.Proceed, engine.Rollback, engine.Abort))
			if strings.Join(ctl.calls, ",") != strings.Join(c.want, ",") {
				t.Errorf("calls %v, want %v\n%s", ctl.calls, c.want, out.String())
			}
		})
	}
}

func TestRefusedAnswerAndEndOfInputAbortOnce(t *testing.T) {
	var out bytes.Buffer
	ctl := &fakeCtl{}
	con := New(&out, ctl, false)
	con.Scripted = true
	con.command("y")
	con.print(gate(1, engine.GateFailed, engine.Retry, engine.Rollback, engine.Abort))
	if len(ctl.calls) != 0 || !strings.Contains(out.String(), `"y" is not an answer here`) {
		t.Fatalf("a failed gate took y: %v\n%s", ctl.calls, out.String())
	}
	con.eof = true
	con.nextQueued()
	con.nextQueued()
	if strings.Join(ctl.calls, ",") != "decide 1 abort" {
		t.Errorf("calls %v, want one abort", ctl.calls)
	}
}

func TestPauseWorksAtAGateAndToggles(t *testing.T) {
	var out bytes.Buffer
	ctl := &fakeCtl{}
	con := New(&out, ctl, false)
	con.print(gate(1, engine.GatePhase, engine.Proceed, engine.Abort))
	con.command("p")
	con.command("p")
	if strings.Join(ctl.calls, ",") != "pause,unpause" {
		t.Errorf("calls %v", ctl.calls)
	}
}

func TestOutputIsPrintedAsTheEngineCleanedIt(t *testing.T) {
	var out bytes.Buffer
	con := New(&out, &fakeCtl{}, false)
	con.print(engine.Record{Event: engine.HostOutput{Host: "web-1", Lines: []string{engine.Printable("\x1b]52;c;ZXZpbA==\x07title")}}})
	if strings.ContainsRune(out.String(), 0x1b) || !strings.Contains(out.String(), "web-1 | ^[]52;c;ZXZpbA==^Gtitle") {
		t.Errorf("output %q", out.String())
	}
}
