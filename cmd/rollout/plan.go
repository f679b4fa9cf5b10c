package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

func newPlanCmd() *cobra.Command {
	var f inputFlags
	var preflight, acceptNewKeys bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Print every phase, its hosts and batches, and what is skipped; connects to nothing unless --preflight",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, errs := f.load()
			if errs != nil {
				return inputError(errs)
			}
			plans, errs := l.plans(f.service, false)
			if errs != nil {
				return inputError(errs)
			}
			p := plans[0]
			if preflight {
				return runPreflight(cmd.Context(), cmd.OutOrStdout(), p, l, f.json, acceptNewKeys)
			}
			if f.json {
				return writePlanJSON(cmd.OutOrStdout(), p)
			}
			writePlan(cmd.OutOrStdout(), p, f.inventory, f.change)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&preflight, "preflight", false, "reach every host as a rollout's preflight would: host keys, preflight checks, fingerprints (test vs production) and the remote lock; changes nothing (exit 1 when anything needs attention)")
	cmd.Flags().BoolVar(&acceptNewKeys, "accept-new-host-keys", false, "with --preflight: record the key of a host known_hosts does not know yet; a changed key is always refused")
	return cmd
}

// runPreflight reaches every host of the plan and prints what a rollout's
// preflight gate would show.
func runPreflight(ctx context.Context, w io.Writer, p *engine.Plan, l *loaded, asJSON, acceptNewKeys bool) error {
	opts := engineOptions(consoleFlags{acceptNewKeys: acceptNewKeys}, "", l.inv, l.ch)
	opts.User = currentUser()
	rep, hosts, err := engine.Preflight(ctx, p, opts)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("preflight: %w", err)}
	}
	attention := len(rep.Unreachable)+len(rep.Failing)+len(rep.Locked) > 0 || rep.Drift || rep.Blocking != ""
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Report *engine.PreflightReport `json:"report"`
			Hosts  []engine.PreflightHost  `json:"hosts"`
		}{rep, hosts}); err != nil {
			return err
		}
	} else {
		writePreflight(w, p, rep)
	}
	if attention {
		return &exitError{code: exitFailed, err: errors.New("preflight: some hosts need attention before a rollout (see above)")}
	}
	return nil
}

// writePreflight prints a preflight report for a person.
func writePreflight(w io.Writer, p *engine.Plan, r *engine.PreflightReport) {
	fmt.Fprintf(w, "preflight of %s for %q: %d hosts reached and checked, %d ok\n", p.Service, p.Change.Name, r.Checked, r.OK)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, g := range []struct {
		what  string
		hosts []engine.HostSummary
	}{{"unreachable", r.Unreachable}, {"failing", r.Failing}, {"locked", r.Locked}} {
		for _, h := range g.hosts {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", g.what, h.Host, h.Error)
		}
	}
	tw.Flush()
	if r.Blocking != "" {
		fmt.Fprintf(w, "blocking: %s\n", r.Blocking)
	}
	if len(r.Fingerprints) > 0 {
		fmt.Fprintf(w, "\nfingerprints, test hosts | production:\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, row := range r.Fingerprints {
			mark := "  "
			if row.Differs {
				mark = "≠ "
			}
			fmt.Fprintf(tw, "  %s%s\t%s\t| %s\n", mark, row.Name, valueGroupsText(row.Test), valueGroupsText(row.Production))
		}
		tw.Flush()
		if r.Drift {
			fmt.Fprintf(w, "drift: the test hosts differ from production (rows marked ≠); a test there proves less. A rollout stops at its first gate until someone acknowledges this.\n")
		} else {
			fmt.Fprintf(w, "no drift: the test hosts match production in every fingerprint\n")
		}
	}
}

// valueGroupsText renders fingerprint values with their host counts.
func valueGroupsText(gs []engine.ValueGroup) string {
	if len(gs) == 0 {
		return "-"
	}
	parts := make([]string, len(gs))
	for i, g := range gs {
		v := g.Value
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		parts[i] = fmt.Sprintf("%d× %q", g.Count, v)
		if g.Count <= 2 {
			parts[i] = fmt.Sprintf("%s %q", strings.Join(g.Hosts, ","), v)
		}
	}
	return strings.Join(parts, " · ")
}

// planJSON is the plan for scripts: durations as Go duration strings.
type planJSON struct {
	Service   string      `json:"service"`
	Change    string      `json:"change"`
	Digest    string      `json:"digest"`
	Inventory string      `json:"inventory"`
	Hosts     int         `json:"hosts"`
	Phases    []phaseJSON `json:"phases"`
}

type phaseJSON struct {
	Phase       string     `json:"phase"`
	Skipped     string     `json:"skipped,omitempty"`
	Batches     [][]string `json:"batches"`
	Parallel    int        `json:"parallel,omitempty"`
	MaxFailures int        `json:"max_failures"`
	Soak        string     `json:"soak,omitempty"`
	SwapHost    string     `json:"swap_host,omitempty"`
	Promote     string     `json:"promote,omitempty"`
	Demote      string     `json:"demote,omitempty"`
}

func writePlanJSON(w io.Writer, p *engine.Plan) error {
	out := planJSON{Service: p.Service, Change: p.Change.Name, Digest: p.Change.Digest, Inventory: p.InventoryFile, Hosts: p.HostCount()}
	for _, ph := range p.Phases {
		pj := phaseJSON{Phase: string(ph.Phase), Skipped: ph.Skipped, Batches: ph.Batches, MaxFailures: ph.MaxFailures,
			SwapHost: ph.SwapHost, Promote: ph.Promote, Demote: ph.Demote}
		if pj.Batches == nil {
			pj.Batches = [][]string{}
		}
		if ph.Skipped == "" {
			pj.Parallel = ph.Parallel
		}
		if ph.Soak > 0 {
			pj.Soak = ph.Soak.String()
		}
		out.Phases = append(out.Phases, pj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// writePlan prints the plan for a person: phases in order, each with its
// hosts (runs folded into ranges), the gates between them, and what is
// skipped and why.
func writePlan(w io.Writer, p *engine.Plan, invFile, changeFile string) {
	ch := p.Change
	fmt.Fprintf(w, "Plan for %q on service %s: %d hosts in %d phases. Nothing has been touched.\n", ch.Name, p.Service, p.HostCount(), countRunning(p))
	fmt.Fprintf(w, "  change %s (digest %s), inventory %s\n\n", changeFile, ch.ShortDigest(), invFile)
	n := 0
	for i := range p.Phases {
		ph := &p.Phases[i]
		if ph.Skipped != "" {
			fmt.Fprintf(w, "  -  %-8s skipped: %s\n\n", ph.Phase, ph.Skipped)
			continue
		}
		n++
		if n == 1 {
			fmt.Fprintf(w, "     ── gate: you confirm to start\n\n")
		} else {
			fmt.Fprintf(w, "     ── gate: you confirm before %s starts\n\n", ph.Phase)
		}
		hosts := ph.Hosts()
		switch ph.Phase {
		case engine.PhaseSwap:
			where := "on " + ph.SwapHost
			if ph.SwapHost == inventory.SwapLocal {
				where = "on this machine"
			}
			fmt.Fprintf(w, "  %d  %-8s %s: promote %s, demote %s\n", n, ph.Phase, where, ph.Promote, ph.Demote)
			fmt.Fprintf(w, "     %-8s then apply + verify %s (the old primary)\n", "", ph.Demote)
		case engine.PhaseFleet:
			fmt.Fprintf(w, "  %d  %-8s %s in %d batches, %d at a time\n",
				n, ph.Phase, plural(len(hosts), "host"), len(ph.Batches), ph.Parallel)
			for bi, b := range ph.Batches {
				if bi > 0 {
					fmt.Fprintf(w, "     %-8s ── gate: you confirm before batch %d\n", "", bi+1)
				}
				fmt.Fprintf(w, "     %-8s batch %d/%d  %-9s %s\n", "", bi+1, len(ph.Batches), plural(len(b), "host"), hostList(b))
			}
		default:
			fmt.Fprintf(w, "  %d  %-8s %-9s %s\n", n, ph.Phase, plural(len(hosts), "host"), hostList(hosts))
			if ph.Phase == engine.PhaseCanary && ph.Soak > 0 {
				fmt.Fprintf(w, "     %-8s then soak %s: verify every %s, any failure fails the canary\n", "", ph.Soak, ch.Canary.Interval)
			}
		}
		fmt.Fprintf(w, "     %-8s apply, verify (%s); %s\n\n", "", plural(len(ch.Verify), "check"), budgetText(ph))
	}
	fmt.Fprintf(w, "Run it with: rollout run -i %s -c %s -s %s\n", invFile, changeFile, p.Service)
}

func budgetText(ph *engine.PhasePlan) string {
	if ph.MaxFailures == 0 {
		return "any failure stops the rollout"
	}
	return fmt.Sprintf("more than %d failures stop the rollout", ph.MaxFailures)
}

func countRunning(p *engine.Plan) int {
	n := 0
	for _, ph := range p.Phases {
		if ph.Skipped == "" {
			n++
		}
	}
	return n
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// hostList folds runs of hosts into ranges for reading.
func hostList(hosts []string) string {
	return strings.Join(inventory.Fold(hosts), ", ")
}
