package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

func newPlanCmd() *cobra.Command {
	var f inputFlags
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Print every phase, its hosts and batches, and what is skipped; connects to nothing",
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
			if f.json {
				return writePlanJSON(cmd.OutOrStdout(), p)
			}
			writePlan(cmd.OutOrStdout(), p, f.inventory, f.change)
			return nil
		},
	}
	f.register(cmd)
	return cmd
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
