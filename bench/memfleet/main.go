// Command memfleet measures what a whole rollout costs in memory per host:
// a rollout of N fleet hosts (plus one test host) through engine/fake, a
// transport with no network, at a given parallelism, the journal on disk
// (fsync'd as in a real run) and the line console (tui/plain) printing every
// event to /dev/null, as `rollout run --plain --yes` would. It prints the
// process's peak RSS (VmHWM) before and after the rollout, the heap the
// rollout left live, and bytes per host.
//
//	go run ./bench/memfleet -hosts 10000 -parallel 100
//
// What it leaves out is the SSH transport; bench/peers.sh measures a real
// one (NMAX=1000 WORKLOADS=h1000 P=100).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/fake"
	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/change"
	"github.com/rolloutconsole/rollout/tui/plain"
)

func main() {
	hosts := flag.Int("hosts", 10000, "fleet hosts (one test host comes on top)")
	parallel := flag.Int("parallel", 100, "fleet parallelism")
	lines := flag.Int("lines", 1, "output lines each command prints")
	flag.Parse()
	if err := run(*hosts, *parallel, *lines); err != nil {
		fmt.Fprintln(os.Stderr, "memfleet:", err)
		os.Exit(1)
	}
}

func run(n, parallel, lines int) error {
	dir, err := os.MkdirTemp("", "memfleet")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	width := len(strconv.Itoa(n + 1))
	inv := fmt.Sprintf("defaults: {transport: ssh}\nservices:\n  web:\n    test: [t1]\n    fleet:\n      - \"h[%0*d:%0*d]\"\n", width, 1, width, n)
	ch := fmt.Sprintf("name: memfleet\napply: apply {{.Host}}\nverify: verify {{.Host}}\nrollback: rollback {{.Host}}\nfleet: {batches: [100%%], parallel: %d}\n", parallel)
	if err := os.WriteFile(filepath.Join(dir, "inventory.yaml"), []byte(inv), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "change.yaml"), []byte(ch), 0o600); err != nil {
		return err
	}
	// As the CLI does: load both files, plan, create the journal.
	iv, err := inventory.Load(filepath.Join(dir, "inventory.yaml"), inventory.Options{})
	if err != nil {
		return err
	}
	c, err := change.Load(filepath.Join(dir, "change.yaml"), change.Options{})
	if err != nil {
		return err
	}
	svc, err := iv.Service("web")
	if err != nil {
		return err
	}
	plan, err := engine.NewPlan(iv, svc, c)
	if err != nil {
		return err
	}
	ft := fake.New()
	if lines > 0 {
		out := make([]string, lines)
		for i := range out {
			out[i] = "ok"
		}
		for _, h := range plan.Hosts {
			ft.Script(h.Name, fake.Script{Output: out})
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	before := vmHWM()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc

	e, err := engine.New(plan, engine.Options{Transport: ft, Local: ft, StateDir: filepath.Join(dir, "state"), AutoConfirm: true, User: "bench"})
	if err != nil {
		return err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	records := e.Subscribe()
	con := plain.New(devnull, e, true)
	con.Scripted = true
	start := time.Now()
	type result struct {
		o   engine.Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		o, err := e.Run(context.Background())
		done <- result{o, err}
	}()
	con.Run(context.Background(), records, strings.NewReader(""))
	res := <-done
	took := time.Since(start)
	if res.err != nil || res.o != engine.OutcomeSucceeded {
		return fmt.Errorf("outcome %s: %v", res.o, res.err)
	}
	peak := vmHWM()
	runtime.ReadMemStats(&ms)
	live := ms.HeapAlloc
	runtime.GC()
	runtime.ReadMemStats(&ms)
	total := n + 1
	st := e.JournalStats()
	fmt.Printf("memfleet: %d hosts (1 test + %d fleet), parallel %d, %d output line(s) per command, fake transport, journal on (%d events, %d fsyncs), plain console to /dev/null\n",
		total, n, parallel, lines, st.Events, st.Syncs)
	fmt.Printf("  wall %.2f s (%.1f µs/host)\n", took.Seconds(), float64(took.Microseconds())/float64(total))
	fmt.Printf("  peak RSS (VmHWM) %.1f MiB before the rollout, %.1f MiB after: %.0f bytes/host\n",
		mib(before), mib(peak), float64(peak-before)/float64(total))
	fmt.Printf("  Go heap after the rollout: %.1f MiB live before GC, %.1f MiB after GC (%.0f bytes/host kept: the engine's state of every host)\n",
		mib(live), mib(ms.HeapAlloc), float64(int64(ms.HeapAlloc)-int64(heapBefore))/float64(total))
	return nil
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// vmHWM is the process's peak resident set size, from /proc/self/status.
func vmHWM() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
