package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/demo"
	"github.com/rolloutconsole/rollout/engine/local"
	"github.com/rolloutconsole/rollout/engine/sshx"
	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/change"
)

func newDemoCmd() *cobra.Command {
	var cf consoleFlags
	var hosts int
	var speed float64
	var keep bool
	var down, drift, odd []string
	faults := map[demo.Fault]*[]string{demo.FaultFail: new([]string), demo.FaultFlaky: new([]string), demo.FaultHang: new([]string), demo.FaultDrop: new([]string)}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start an embedded fleet of SSH hosts on 127.0.0.1 and roll a change out to it",
		Long: `demo starts one in-process SSH server per virtual host, each on its own
loopback port with its own host key, writes an inventory, a change and a
known_hosts for them, and opens the console on that fleet through the
ordinary SSH transport, host keys verified. Nothing outside this machine is
touched; the fleet's files are removed on exit unless --keep.

The change checks every host before anything changes (preflight checks,
fingerprints of the OS and the service's config, a lock on every host), keeps
each host's version before its deploy, and rolls each host back to the version
it had: most hosts start on demo-service 1.0, canary-1 on 0.9.7 and fleet-05
on 1.0.1.

Faults, each taking host names (repeat the flag or separate with commas):
  --fail    verify fails on the new version: the phase stops at a failed gate
  --flaky   verify fails twice, then passes within its retries
  --hang    the deploy hangs until its timeout
  --drop    the SSH connection drops mid-deploy: the host's outcome is unknown
  --down    no SSH server answers: preflight finds the host unreachable
  --drift   the host runs another OS release: preflight shows the drift
  --odd     the host's deploy prints another front-proxy version: its output
            falls in a group of its own

Try: rollout demo --fail fleet-07   (the fleet gate fails: practise a rollback)
     rollout demo --down fleet-03 --drift test-1   (a preflight gate to read)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fo := demo.Options{Fleet: hosts, Speed: speed, Faults: map[string]demo.Fault{},
				Down: hostNames(down), Drift: hostNames(drift), Odd: hostNames(odd)}
			for fault, names := range faults {
				for _, name := range hostNames(*names) {
					fo.Faults[name] = fault
				}
			}
			fleet, err := demo.Start(fo)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("demo: %w", err)}
			}
			defer func() {
				if keep {
					fleet.Close()
					fmt.Fprintf(cmd.ErrOrStderr(), "demo fleet kept in %s (inventory.yaml, change.yaml, hosts/*/version)\n", fleet.Dir)
					return
				}
				fleet.RemoveAll()
				if !cmd.Flags().Changed("state-dir") {
					// The summary above names the journal: say it is gone.
					fmt.Fprintln(cmd.ErrOrStderr(), "demo fleet and its journal removed; run with --keep to keep them (then rollout show ID --state-dir DIR/state)")
				}
			}()
			if !cmd.Flags().Changed("state-dir") {
				cf.stateDir = filepath.Join(fleet.Dir, "state")
			}
			inv, err := inventory.Load(fleet.Inventory, inventory.Options{})
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("demo inventory: %w", err)}
			}
			ch, err := change.Load(fleet.Change, change.Options{})
			if err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("demo change: %w", err)}
			}
			svc, _ := inv.Service("demo")
			plan, err := engine.NewPlan(inv, svc, ch)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			id := engine.NewID(time.Now(), plan.Service)
			opts2 := engineOptions(cf, id, inv, ch)
			opts2.Local = &local.Transport{Dir: fleet.Dir}
			// The demo's hosts take only the key made for this run: offering the
			// user's agent keys first would only spend their auth attempts.
			opts2.Transport = sshx.New(sshx.Options{Getenv: func(k string) string {
				if k == "SSH_AUTH_SOCK" {
					return ""
				}
				return os.Getenv(k)
			}})
			eng, err := engine.New(plan, opts2)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			err = drive(cmd.Context(), eng, cf, cmd.InOrStdin(), cmd.OutOrStdout())
			fmt.Fprintln(cmd.OutOrStdout(), versionsLine(fleet))
			return err
		},
	}
	cf.register(cmd)
	cmd.Flags().IntVar(&hosts, "hosts", 24, "number of fleet hosts (besides 2 test hosts, a standby, a primary and 2 canaries)")
	cmd.Flags().Float64Var(&speed, "speed", 1, "time scale: 2 runs twice as fast, 0.5 half as fast")
	cmd.Flags().BoolVar(&keep, "keep", false, "leave the fleet's directory (inventory, change, sandboxes) to inspect")
	cmd.Flags().StringSliceVar(faults[demo.FaultFail], "fail", nil, "hosts whose verify fails on the new version (e.g. fleet-07)")
	cmd.Flags().StringSliceVar(faults[demo.FaultFlaky], "flaky", nil, "hosts whose verify fails twice, then recovers within retries")
	cmd.Flags().StringSliceVar(faults[demo.FaultHang], "hang", nil, "hosts whose deploy hangs")
	cmd.Flags().StringSliceVar(faults[demo.FaultDrop], "drop", nil, "hosts whose connection drops mid-deploy")
	cmd.Flags().StringSliceVar(&down, "down", nil, "hosts whose SSH server is not started: preflight finds them unreachable (e.g. fleet-03)")
	cmd.Flags().StringSliceVar(&drift, "drift", nil, "hosts on another OS release: their fingerprint differs (e.g. test-1)")
	cmd.Flags().StringSliceVar(&odd, "odd", nil, "hosts whose deploy prints another front-proxy version, so their output groups apart (e.g. fleet-03,fleet-11)")
	return cmd
}

// hostNames is the host names given to a repeatable flag, blanks dropped.
func hostNames(given []string) []string {
	var out []string
	for _, n := range given {
		for _, name := range strings.Split(n, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

// versionsLine tells where every virtual host ended up, one line per
// version, most hosts first; beside others, the biggest group is "every
// other host", so the lines fit a terminal.
func versionsLine(f *demo.Fleet) string {
	count := map[string][]string{}
	var order []string
	for _, h := range f.Hosts {
		v, err := f.Version(h.Name)
		if err != nil {
			v = "unknown"
		}
		if _, ok := count[v]; !ok {
			order = append(order, v)
		}
		count[v] = append(count[v], h.Name)
	}
	slices.SortStableFunc(order, func(a, b string) int { return len(count[b]) - len(count[a]) })
	var lines []string
	for i, v := range order {
		hosts := strings.Join(inventory.Fold(count[v]), ", ")
		if i == 0 && len(order) > 1 {
			hosts = "every other host"
		}
		lines = append(lines, fmt.Sprintf("%d on demo-service %s (%s)", len(count[v]), v, hosts))
	}
	return "demo fleet: " + strings.Join(lines, "\n            ")
}
