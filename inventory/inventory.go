// Package inventory reads inventory.yaml: the hosts a rollout may touch, how
// each is reached, and the role each plays in a service (test, standby,
// primary, canary, fleet). It validates the file as a whole, reporting every
// problem with file:line:col, and merges in the user's ~/.ssh/config where the
// inventory is silent.
package inventory

import (
	"github.com/rolloutconsole/rollout/inventory/diag"
)

// Transport names how a host is reached.
const (
	TransportSSH   = "ssh"   // over SSH, the default
	TransportLocal = "local" // sh -c on this machine, for tests and local swap steps
)

// SwapLocal is the swap host value that runs the swap command on this machine.
const SwapLocal = "local"

// Role is the part a host plays in a service's rollout.
type Role string

// The roles, in the order a rollout reaches them.
const (
	RoleTest    Role = "test"
	RoleStandby Role = "standby"
	RolePrimary Role = "primary"
	RoleCanary  Role = "canary"
	RoleFleet   Role = "fleet"
)

// Settings are the connection settings a host may have; any of them may be
// given in defaults, per host, or come from ~/.ssh/config.
type Settings struct {
	Address      string   `json:"address,omitempty"` // what to dial: a DNS name or IP; the host's name when empty
	Port         int      `json:"port,omitempty"`
	User         string   `json:"user,omitempty"`
	IdentityFile []string `json:"identity_file,omitempty"`
	KnownHosts   string   `json:"known_hosts,omitempty"`
	Jump         []string `json:"jump,omitempty"` // ProxyJump chain, outermost first
	Transport    string   `json:"transport,omitempty"`
	ForwardAgent bool     `json:"forward_agent,omitempty"`
}

// Host is one host with its settings resolved: per-host overrides, then
// defaults, then ~/.ssh/config, then built-in defaults (port 22, transport ssh).
type Host struct {
	Name string `json:"name"`
	Settings
	// Pos is where the host is first named in the inventory.
	Pos diag.Pos `json:"-"`
}

// Service is one service's hosts by role, in the order the file gives them.
type Service struct {
	Name    string   `json:"name"`
	Test    []string `json:"test"`
	Standby string   `json:"standby,omitempty"`
	Primary string   `json:"primary,omitempty"`
	Canary  []string `json:"canary,omitempty"`
	Fleet   []string `json:"fleet,omitempty"`
	// Swap is the host the swap command runs on, or SwapLocal.
	Swap string   `json:"swap,omitempty"`
	Pos  diag.Pos `json:"-"`
}

// Roles returns the role of every host in the service.
func (s *Service) Roles() map[string]Role {
	m := make(map[string]Role, len(s.Test)+len(s.Canary)+len(s.Fleet)+2)
	for _, h := range s.Test {
		m[h] = RoleTest
	}
	if s.Standby != "" {
		m[s.Standby] = RoleStandby
	}
	if s.Primary != "" {
		m[s.Primary] = RolePrimary
	}
	for _, h := range s.Canary {
		m[h] = RoleCanary
	}
	for _, h := range s.Fleet {
		m[h] = RoleFleet
	}
	return m
}

// Inventory is a loaded, validated inventory file.
type Inventory struct {
	// File is the path the inventory was read from.
	File string `json:"file"`
	// Services by name, and their names in file order.
	Services     map[string]*Service `json:"services"`
	ServiceNames []string            `json:"-"`
	// Hosts holds every host named by a service, its swap host and every host
	// listed under hosts:, resolved.
	Hosts map[string]*Host `json:"hosts"`
}

// Service returns the named service, or the only one when name is empty.
// The error lists the services there are, so the user can pick one.
func (inv *Inventory) Service(name string) (*Service, error) {
	if name == "" {
		if len(inv.ServiceNames) == 1 {
			return inv.Services[inv.ServiceNames[0]], nil
		}
		return nil, &diag.Error{File: inv.File, Msg: "the inventory has several services; choose one with -s", Hint: "services: " + join(inv.ServiceNames)}
	}
	s, ok := inv.Services[name]
	if !ok {
		return nil, &diag.Error{File: inv.File, Msg: "no service " + quote(name) + " in the inventory", Hint: "services: " + join(inv.ServiceNames)}
	}
	return s, nil
}
