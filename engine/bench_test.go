package engine_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/fake"
)

// BenchmarkRollout10kHosts is a whole rollout of 10,000 fleet hosts (plus
// two test hosts) through a zero-latency fake transport at parallel 100,
// journal on disk with group commit, gates confirmed automatically. It reports
// engine and journal cost per host, fsyncs per host and allocations per host.
func BenchmarkRollout10kHosts(b *testing.B) {
	spec := fleetSpec{test: 2, fleet: 10000, batches: "[100%]", parallel: 100, maxFailures: "0", soak: "0s"}
	plan := spec.plan(b)
	hosts := float64(plan.HostCount())
	var syncs, events float64
	var mallocs uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		ft := fake.New()
		e, err := engine.New(plan, engine.Options{Transport: ft, Local: ft, StateDir: dir, AutoConfirm: true, User: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		sub := e.Subscribe()
		done := make(chan struct{})
		go func() {
			for range sub {
			}
			close(done)
		}()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		b.StartTimer()
		out, err := e.Run(context.Background())
		<-done
		b.StopTimer()
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - before
		if err != nil || out != engine.OutcomeSucceeded {
			b.Fatalf("outcome %s %v", out, err)
		}
		st := e.JournalStats()
		syncs += float64(st.Syncs)
		events += float64(st.Events)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n/hosts/1000, "µs/host")
	b.ReportMetric(syncs/n/hosts, "fsyncs/host")
	b.ReportMetric(events/n/hosts, "events/host")
	b.ReportMetric(float64(mallocs)/n/hosts, "allocs/host")
}
