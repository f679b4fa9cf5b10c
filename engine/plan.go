// Package engine runs a rollout: it turns an inventory service and a change
// into a plan of phases and batches, walks the plan host by host over a
// Transport, stops at a gate before every widening of the blast radius, obeys
// pause, abort, rollback and retry, and records every step as an event in an
// fsync'd journal that resume, show and watch fold back into state.
//
// The engine knows nothing of terminals: a console subscribes to its events
// and sends it commands.
package engine

import (
	"fmt"
	"time"

	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/change"
	"github.com/rolloutconsole/rollout/inventory/diag"
)

// Phase is one stage of a rollout.
type Phase string

// The phases, in the order a rollout walks them.
const (
	PhaseTest    Phase = "test"
	PhaseStandby Phase = "standby"
	PhaseSwap    Phase = "swap"
	PhaseCanary  Phase = "canary"
	PhaseFleet   Phase = "fleet"
)

// Phases lists every phase in order.
var Phases = []Phase{PhaseTest, PhaseStandby, PhaseSwap, PhaseCanary, PhaseFleet}

// PhasePlan is what one phase will do.
type PhasePlan struct {
	Phase Phase `json:"phase"`
	// Batches are the hosts of the phase in the order they are changed; a
	// gate stands before each batch. Every phase but fleet has one batch.
	Batches [][]string `json:"batches"`
	// Skipped says why the phase does nothing; empty when it runs.
	Skipped string `json:"skipped,omitempty"`
	// Parallel is how many hosts of a batch run at once.
	Parallel int `json:"parallel"`
	// MaxFailures is how many hosts may fail before the phase fails.
	MaxFailures int `json:"max_failures"`
	// Soak is how long canaries keep being verified after they pass.
	Soak time.Duration `json:"soak,omitempty"`
	// Swap phase only: where the swap command runs, the host it promotes
	// (the standby) and the host it demotes (the primary, changed after).
	SwapHost string `json:"swap_host,omitempty"`
	Promote  string `json:"promote,omitempty"`
	Demote   string `json:"demote,omitempty"`
}

// Hosts returns every host of the phase, in order.
func (p *PhasePlan) Hosts() []string {
	var out []string
	for _, b := range p.Batches {
		out = append(out, b...)
	}
	return out
}

// Plan is the whole rollout, decided before anything connects anywhere.
type Plan struct {
	Service string                     `json:"service"`
	Change  *change.Change             `json:"-"`
	Phases  []PhasePlan                `json:"phases"`
	Hosts   map[string]*inventory.Host `json:"-"`
	// InventoryFile is where the hosts came from, for the journal header.
	InventoryFile string `json:"inventory"`
}

// Phase returns the plan of one phase.
func (p *Plan) Phase(ph Phase) *PhasePlan {
	for i := range p.Phases {
		if p.Phases[i].Phase == ph {
			return &p.Phases[i]
		}
	}
	return nil
}

// HostCount is how many hosts the rollout changes.
func (p *Plan) HostCount() int {
	n := 0
	for i := range p.Phases {
		n += len(p.Phases[i].Hosts())
	}
	return n
}

// NewPlan decides the phases and batches for a service and a change. It fails
// only when the two files disagree (a standby and primary but no swap command);
// each file has been validated on its own already.
func NewPlan(inv *inventory.Inventory, svc *inventory.Service, ch *change.Change) (*Plan, error) {
	if svc.Primary != "" && ch.Swap == nil {
		return nil, diag.List{{File: ch.File, Line: 1, Col: 1,
			Msg:  fmt.Sprintf("service %q has a primary and a standby, but the change has no swap command", svc.Name),
			Hint: "add swap: {run: ...} using {{.Promote}} and {{.Demote}}"}}
	}
	p := &Plan{Service: svc.Name, Change: ch, Hosts: inv.Hosts, InventoryFile: inv.File}
	par := ch.Fleet.Parallel

	test := PhasePlan{Phase: PhaseTest, Batches: [][]string{svc.Test}, Parallel: par}
	p.Phases = append(p.Phases, test)

	standby := PhasePlan{Phase: PhaseStandby, Parallel: 1}
	if svc.Standby == "" {
		standby.Skipped = "the service has no standby"
	} else {
		standby.Batches = [][]string{{svc.Standby}}
	}
	p.Phases = append(p.Phases, standby)

	swap := PhasePlan{Phase: PhaseSwap, Parallel: 1}
	if svc.Standby == "" {
		swap.Skipped = "the service has no standby to swap to"
	} else {
		swap.SwapHost, swap.Promote, swap.Demote = svc.Swap, svc.Standby, svc.Primary
		swap.Batches = [][]string{{svc.Primary}}
	}
	p.Phases = append(p.Phases, swap)

	canary := PhasePlan{Phase: PhaseCanary, Parallel: par, Soak: ch.Canary.Soak}
	if len(svc.Canary) == 0 {
		canary.Skipped = "the service has no canary hosts"
	} else {
		canary.Batches = [][]string{svc.Canary}
	}
	p.Phases = append(p.Phases, canary)

	fleet := PhasePlan{Phase: PhaseFleet, Parallel: par}
	if len(svc.Fleet) == 0 {
		fleet.Skipped = "the service has no fleet hosts"
	} else {
		fleet.Batches = Batches(svc.Fleet, ch.Fleet.Batches)
		fleet.MaxFailures = ch.Fleet.MaxFailures.Allowed(len(svc.Fleet))
	}
	p.Phases = append(p.Phases, fleet)
	return p, nil
}

// Batches cuts hosts into batches with Ansible's serial semantics: each entry
// is a batch size (a count, or a percentage of all hosts rounded down with a
// minimum of one), the last entry repeats until every host has a batch.
func Batches(hosts []string, list []change.Batch) [][]string {
	if len(list) == 0 {
		list = []change.Batch{{N: 100, Percent: true}}
	}
	var out [][]string
	rest := hosts
	for i := 0; len(rest) > 0; i++ {
		b := list[min(i, len(list)-1)]
		n := min(b.Size(len(hosts)), len(rest))
		out = append(out, rest[:n:n])
		rest = rest[n:]
	}
	return out
}
