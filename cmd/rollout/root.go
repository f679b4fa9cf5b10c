package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/ansible"
	"github.com/rolloutconsole/rollout/inventory/change"
	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/sshhosts"
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
	// groups maps roles to an Ansible inventory's groups (--group), over
	// the change's groups:; fromSSH fills roles from ~/.ssh/config Host
	// patterns (--from-ssh-config).
	groups  []string
	fromSSH []string
}

func (f *inputFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.inventory, "inventory", "i", "inventory.yaml", "inventory file: hosts and their roles")
	cmd.Flags().StringVarP(&f.change, "change", "c", "change.yaml", "change file: apply, verify, rollback")
	cmd.Flags().StringVarP(&f.service, "service", "s", "", "service to roll out (may be left out when the inventory has one)")
	cmd.Flags().StringVar(&f.sshConfig, "ssh-config", defaultSSHConfig(), "OpenSSH client config consulted where the inventory is silent (\"\" for none)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON for scripts")
	cmd.Flags().StringArrayVar(&f.groups, "group", nil, "with an Ansible inventory (INI or YAML): ROLE=GROUP[,GROUP…] plays ROLE (test, standby, primary, canary, fleet, swap) with those groups' hosts; repeatable, over the change's groups:")
	cmd.Flags().StringArrayVar(&f.fromSSH, "from-ssh-config", nil, "ROLE=PATTERN: the role's hosts are the Host aliases of --ssh-config matching PATTERN (e.g. fleet='web-*,!web-test-*'); repeatable")
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
	ch, err := change.Load(f.change, change.Options{})
	if err != nil {
		errs = append(errs, asDiag(err)...)
	}
	inv, ierrs := f.loadInventory(ch, sshCfg)
	errs = append(errs, ierrs...)
	if len(errs) > 0 {
		return nil, errs
	}
	if len(f.fromSSH) > 0 {
		if errs := fillFromSSHConfig(inv, f.service, f.sshConfig, sshCfg, f.fromSSH); len(errs) > 0 {
			return nil, errs
		}
	}
	return &loaded{inv: inv, ch: ch}, nil
}

// inventoryArgs are the inventory options beyond its file, as flags, for
// the journal's header: a resume reads the inventory the same way.
func (f *inputFlags) inventoryArgs() []string {
	var out []string
	for _, g := range f.groups {
		out = append(out, "--group="+g)
	}
	for _, p := range f.fromSSH {
		out = append(out, "--from-ssh-config="+p)
	}
	return out
}

// setInventoryArgs reads back what inventoryArgs wrote.
func (f *inputFlags) setInventoryArgs(args []string) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--group="); ok {
			f.groups = append(f.groups, v)
		} else if v, ok := strings.CutPrefix(a, "--from-ssh-config="); ok {
			f.fromSSH = append(f.fromSSH, v)
		}
	}
}

// loadInventory reads the inventory: ours, or an Ansible inventory (INI or
// YAML, told apart by its content) whose groups play the roles the change's
// groups: and --group name.
func (f *inputFlags) loadInventory(ch *change.Change, sshCfg *inventory.SSHConfig) (*inventory.Inventory, diag.List) {
	data, err := inventory.ReadFile(f.inventory)
	if err != nil {
		return nil, asDiag(err)
	}
	if !ansible.IsAnsible(f.inventory, data) {
		if len(f.groups) > 0 {
			return nil, diag.List{{File: f.inventory, Msg: "--group maps the groups of an Ansible inventory, and " + f.inventory + " is a rollout inventory; give its roles in the file"}}
		}
		inv, err := inventory.Parse(f.inventory, data, inventory.Options{SSHConfig: sshCfg})
		if err != nil {
			return nil, asDiag(err)
		}
		return inv, nil
	}
	roles := map[string][]string{}
	if ch != nil {
		for role, groups := range ch.Groups {
			roles[role] = groups
		}
	}
	for _, g := range f.groups {
		role, list, ok := strings.Cut(g, "=")
		if !ok || role == "" || list == "" {
			return nil, diag.List{{Msg: fmt.Sprintf("--group %q: write ROLE=GROUP[,GROUP…], e.g. --group canary=web_canary", g)}}
		}
		roles[role] = strings.Split(list, ",")
	}
	if ch == nil {
		return nil, nil // the change's own problems say it all
	}
	ai, err := ansible.Parse(f.inventory, data)
	if err != nil {
		return nil, asDiag(err)
	}
	if len(roles) == 0 {
		roles = nil
	}
	inv, err := ai.Build(f.service, roles, ansible.Options{SSHConfig: sshCfg})
	if err != nil {
		return nil, asDiag(err)
	}
	return inv, nil
}

// fillFromSSHConfig gives roles of the service the Host aliases of the ssh
// config that match a pattern, each host's connection settings filled from
// the config as ssh would.
func fillFromSSHConfig(inv *inventory.Inventory, service, path string, cfg *inventory.SSHConfig, specs []string) diag.List {
	svc, err := inv.Service(service)
	if err != nil {
		return asDiag(err)
	}
	if path == "" || cfg == nil {
		return diag.List{{Msg: "--from-ssh-config needs an ssh config: --ssh-config is empty"}}
	}
	var errs diag.List
	for _, spec := range specs {
		role, pattern, ok := strings.Cut(spec, "=")
		if !ok || pattern == "" {
			errs = append(errs, &diag.Error{Msg: fmt.Sprintf("--from-ssh-config %q: write ROLE=PATTERN, e.g. --from-ssh-config 'fleet=web-*'", spec)})
			continue
		}
		hosts, err := sshhosts.Load(path, pattern, sshhosts.Options{})
		if err != nil {
			errs = append(errs, asDiag(err)...)
			continue
		}
		if len(hosts) == 0 {
			errs = append(errs, &diag.Error{File: path, Msg: fmt.Sprintf("no Host alias in %s matches %q, so %s would have no hosts", path, pattern, role)})
			continue
		}
		for _, h := range hosts {
			if owner, ok := svc.Roles()[h]; ok {
				errs = append(errs, &diag.Error{File: path, Msg: fmt.Sprintf("%s matches %q for %s but is already the service's %s host", h, pattern, role, owner)})
				continue
			}
			if inv.Hosts[h] == nil {
				host := &inventory.Host{Name: h}
				for _, problem := range cfg.Fill(h, &host.Settings, func(string) bool { return false }) {
					errs = append(errs, &diag.Error{File: path, Msg: h + ": " + problem})
				}
				inv.Hosts[h] = host
			}
		}
		switch inventory.Role(role) {
		case inventory.RoleTest:
			svc.Test = append(svc.Test, hosts...)
		case inventory.RoleCanary:
			svc.Canary = append(svc.Canary, hosts...)
		case inventory.RoleFleet:
			svc.Fleet = append(svc.Fleet, hosts...)
		case inventory.RoleStandby, inventory.RolePrimary:
			if len(hosts) != 1 {
				errs = append(errs, &diag.Error{File: path, Msg: fmt.Sprintf("%s takes one host, and %q matches %d: %s", role, pattern, len(hosts), strings.Join(hosts, ", "))})
				continue
			}
			if role == string(inventory.RoleStandby) {
				svc.Standby = hosts[0]
			} else {
				svc.Primary = hosts[0]
			}
		default:
			errs = append(errs, &diag.Error{Msg: fmt.Sprintf("--from-ssh-config %q: %q is not a role; give test, standby, primary, canary or fleet", spec, role)})
		}
	}
	return errs
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
