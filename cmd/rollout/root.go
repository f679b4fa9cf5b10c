package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/change"
	"github.com/rolloutconsole/rollout/inventory/diag"
)

// version is stamped by the release build with -ldflags "-X main.version=…".
var version = ""

// buildVersion is the stamped version, or the module version go install
// recorded, or "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "rollout",
		Short: "Walk a production change through test, standby, swap, canary and fleet over SSH",
		Long: `rollout walks a production change host by host over plain SSH, in the order
that keeps users safe: test -> standby -> swap -> canary -> fleet. It stops for
a keypress before each widening of the blast radius, and keeps a journal so
nothing is lost if the console dies.`,
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newValidateCmd(), newPlanCmd(), newRunCmd(), newResumeCmd(false), newResumeCmd(true), newHistoryCmd(), newShowCmd(), newDemoCmd(), newWatchCmd(), newLockCmd())
	return root
}

// inputFlags are the flags every command that reads the two files shares.
type inputFlags struct {
	inventory string
	change    string
	service   string
	sshConfig string
	json      bool
}

func (f *inputFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.inventory, "inventory", "i", "inventory.yaml", "inventory file: hosts and their roles")
	cmd.Flags().StringVarP(&f.change, "change", "c", "change.yaml", "change file: apply, verify, rollback")
	cmd.Flags().StringVarP(&f.service, "service", "s", "", "service to roll out (may be left out when the inventory has one)")
	cmd.Flags().StringVar(&f.sshConfig, "ssh-config", defaultSSHConfig(), "OpenSSH client config consulted where the inventory is silent (\"\" for none)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON for scripts")
}

func defaultSSHConfig() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".ssh", "config")
}

// loaded is the result of reading both files.
type loaded struct {
	inv *inventory.Inventory
	ch  *change.Change
}

// load reads both files and reports every problem in both, not just the
// first file's.
func (f *inputFlags) load() (*loaded, diag.List) {
	var errs diag.List
	var sshCfg *inventory.SSHConfig
	if f.sshConfig != "" {
		cfg, err := inventory.LoadSSHConfig(f.sshConfig)
		if err != nil {
			errs = append(errs, asDiag(err)...)
		}
		sshCfg = cfg
	}
	inv, err := inventory.Load(f.inventory, inventory.Options{SSHConfig: sshCfg})
	if err != nil {
		errs = append(errs, asDiag(err)...)
	}
	ch, err := change.Load(f.change, change.Options{})
	if err != nil {
		errs = append(errs, asDiag(err)...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &loaded{inv: inv, ch: ch}, nil
}

// plans builds the plan for the chosen service, or for every service when
// none is chosen and all is true.
func (l *loaded) plans(service string, all bool) ([]*engine.Plan, diag.List) {
	var names []string
	switch {
	case service != "" || !all:
		svc, err := l.inv.Service(service)
		if err != nil {
			return nil, asDiag(err)
		}
		names = []string{svc.Name}
	default:
		names = l.inv.ServiceNames
	}
	var plans []*engine.Plan
	var errs diag.List
	for _, name := range names {
		p, err := engine.NewPlan(l.inv, l.inv.Services[name], l.ch)
		if err != nil {
			errs = append(errs, asDiag(err)...)
			continue
		}
		plans = append(plans, p)
	}
	return plans, errs
}

// asDiag turns any error into a diag.List, so every input problem prints the same way.
func asDiag(err error) diag.List {
	switch e := err.(type) {
	case diag.List:
		return e
	case *diag.Error:
		return diag.List{e}
	default:
		return diag.List{{Msg: e.Error()}}
	}
}

// inputError is exit 2 with every problem printed, then a count.
func inputError(errs diag.List) error {
	errs.Sort()
	msg := errs.Error()
	if len(errs) > 1 {
		msg += fmt.Sprintf("\n%d problems found; nothing was run.", len(errs))
	} else {
		msg += "\nnothing was run."
	}
	return &exitError{code: exitUsage, err: fmt.Errorf("%s", msg)}
}
