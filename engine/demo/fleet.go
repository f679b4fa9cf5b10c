// Package demo is the embedded fleet behind `rollout demo`: one in-process
// SSH server per virtual host, each on its own loopback port with its own
// host key, accepting only a client key generated for this run, each running
// real commands (sh -c) in its own sandbox directory where a small
// "demo-service" lives. It writes an inventory, a change and a known_hosts
// for the fleet, so the console reaches it through the ordinary SSH
// transport with host keys verified, as it would reach production.
package demo

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Fault is what goes wrong on a virtual host.
type Fault string

// Faults a user can ask for.
const (
	FaultNone  Fault = ""
	FaultFail  Fault = "fail"  // the new version is unhealthy: verify fails
	FaultFlaky Fault = "flaky" // verify fails twice, then recovers within retries
	FaultHang  Fault = "hang"  // deploy of the new version hangs
	FaultDrop  Fault = "drop"  // the connection drops during the first deploy
)

// Options shape the fleet.
type Options struct {
	// Fleet is the number of fleet hosts (24 when zero).
	Fleet int
	// Faults by host name.
	Faults map[string]Fault
	// Down names hosts whose SSH server is never started: their port
	// refuses connections, so preflight finds them unreachable.
	Down []string
	// Drift names hosts whose operating system differs from the others'
	// (another os-release), so the fingerprint shows drift.
	Drift []string
	// Odd names hosts whose deploy prints another front proxy version than
	// the others, so grouping output by host picks them out.
	Odd []string
	// Speed scales every delay: 2 is twice as fast; 0 means 1.
	Speed float64
	// Dir is where the fleet lives; a new temp dir when empty.
	Dir string
}

// Host is one virtual host.
type Host struct {
	Name    string
	Role    string
	Port    int
	Sandbox string
	Fault   Fault
	// Down: no server listens on Port.
	Down bool
	// Drift: the host runs another OS release than the rest of the fleet.
	Drift bool
	// Odd: the host's front proxy is another version, and its deploy says so.
	Odd bool
	// Version is the demo-service version the host starts on.
	Version string
	Latency time.Duration
	speed   float64
}

func (h *Host) scale(d time.Duration) time.Duration {
	return time.Duration(float64(d) / h.speed)
}

// Fleet is a running embedded fleet.
type Fleet struct {
	Dir        string
	Hosts      []*Host
	Inventory  string // path of the inventory written for the fleet
	Change     string // path of the change
	KnownHosts string
	ClientKey  string // private key file, mode 0600
	servers    []*server
}

// Names of the demo's fixed hosts.
var fixedRoles = []struct{ name, role string }{
	{"test-1", "test"}, {"test-2", "test"}, {"standby", "standby"}, {"primary", "primary"},
	{"canary-1", "canary"}, {"canary-2", "canary"},
}

// Start builds the fleet's files and starts a server per host, all bound to
// 127.0.0.1. Close it to stop the servers.
func Start(opts Options) (*Fleet, error) {
	if opts.Fleet <= 0 {
		opts.Fleet = 24
	}
	if opts.Fleet > 2000 {
		return nil, fmt.Errorf("--hosts %d is more than the demo runs (2000)", opts.Fleet)
	}
	if opts.Speed <= 0 {
		opts.Speed = 1
	}
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "rollout-demo-")
		if err != nil {
			return nil, fmt.Errorf("create demo dir: %w", err)
		}
		dir = d
	}
	f := &Fleet{Dir: dir}
	roles := append([]struct{ name, role string }(nil), fixedRoles...)
	for i := 1; i <= opts.Fleet; i++ {
		roles = append(roles, struct{ name, role string }{fmt.Sprintf("fleet-%02d", i), "fleet"})
	}
	known := map[string]bool{}
	for _, r := range roles {
		known[r.name] = true
	}
	named := slices.Collect(maps.Keys(opts.Faults))
	named = append(append(append(named, opts.Down...), opts.Drift...), opts.Odd...)
	for _, name := range named {
		if !known[name] {
			return nil, fmt.Errorf("no demo host %q (hosts: test-1, test-2, standby, primary, canary-1, canary-2, fleet-01 … fleet-%02d)", name, opts.Fleet)
		}
	}
	clientPub, err := f.writeClientKey()
	if err != nil {
		return nil, err
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "LANG=C"}
	var kh strings.Builder
	for _, r := range roles {
		h := &Host{Name: r.name, Role: r.role, Sandbox: filepath.Join(dir, "hosts", r.name), Fault: opts.Faults[r.name], speed: opts.Speed,
			Down: slices.Contains(opts.Down, r.name), Drift: slices.Contains(opts.Drift, r.name), Odd: slices.Contains(opts.Odd, r.name),
			Version: StartVersion(r.name)}
		h.Latency = latencyFor(r.name)
		if err := h.setup(); err != nil {
			f.Close()
			return nil, err
		}
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("host key: %w", err)
		}
		signer, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("host key: %w", err)
		}
		if h.Down {
			// Its key is in known_hosts all the same: the host is known,
			// only not answering.
			if h.Port, err = closedPort(); err != nil {
				f.Close()
				return nil, fmt.Errorf("port for %s: %w", h.Name, err)
			}
		} else {
			srv, err := newServer(h, signer, clientPub, env)
			if err != nil {
				f.Close()
				return nil, err
			}
			f.servers = append(f.servers, srv)
		}
		f.Hosts = append(f.Hosts, h)
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
		fmt.Fprintf(&kh, "[127.0.0.1]:%d %s\n", h.Port, line)
	}
	f.KnownHosts = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(f.KnownHosts, []byte(kh.String()), 0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	if err := f.writeInventory(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.writeChange(opts.Speed); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// startVersions are the hosts that do not start on OldVersion: a fleet is
// seldom uniform, and a rollback must return each host to the version it
// had ({{.Captured.version}}), not to one version for all.
var startVersions = map[string]string{"canary-1": "0.9.7", "fleet-05": "1.0.1"}

// StartVersion is the demo-service version the named host starts on:
// OldVersion for all but a couple.
func StartVersion(name string) string {
	if v, ok := startVersions[name]; ok {
		return v
	}
	return OldVersion
}

// closedPort returns a loopback port nothing listens on: a down host's.
// It was free a moment ago; another process taking it in between is
// possible but unlikely, and would only make the host answer differently.
func closedPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}

// latencyFor gives each host a stable, varied base latency (300 ms to 1.5 s)
// so the screen shows work happening at different paces.
func latencyFor(name string) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(name))
	return 300*time.Millisecond + time.Duration(h.Sum32()%1200)*time.Millisecond
}

func (f *Fleet) writeClientKey() (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "rollout demo")
	if err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	f.ClientKey = filepath.Join(f.Dir, "id_ed25519")
	if err := os.WriteFile(f.ClientKey, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, fmt.Errorf("write client key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	return sshPub, nil
}

// Close stops every server. It leaves the files; RemoveAll removes them.
func (f *Fleet) Close() {
	for _, s := range f.servers {
		s.close()
	}
	f.servers = nil
}

// RemoveAll stops the fleet and deletes its directory.
func (f *Fleet) RemoveAll() error {
	f.Close()
	return os.RemoveAll(f.Dir)
}

// Version reads a host's demo-service version.
func (f *Fleet) Version(name string) (string, error) {
	data, err := os.ReadFile(filepath.Join(f.Dir, "hosts", name, "version"))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

// Host returns the named host.
func (f *Fleet) Host(name string) (*Host, error) {
	for _, h := range f.Hosts {
		if h.Name == name {
			return h, nil
		}
	}
	return nil, errors.New("no demo host " + name)
}
