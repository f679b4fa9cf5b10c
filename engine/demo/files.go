package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// OldVersion and NewVersion are the demo-service versions the demo change
// upgrades from and to.
const (
	OldVersion = "1.0"
	NewVersion = "2.0"
)

// serviceScript is the demo-service each virtual host runs: deploy writes the
// version after a host-specific delay, reloads the front proxy (printing its
// version, as nginx -v does), and logs each deploy's start and end to the
// deploys file (so tests can tell a host applied twice); health answers like
// an HTTP health check would, broken or flaky where the demo was asked to make
// it so; version prints the version running, for the change's capture.
const serviceScript = `#!/bin/sh
# demo-service: the small "service" rollout demo upgrades on every host.
cd "$(dirname "$0")" || exit 1
case "$1" in
deploy)
  v=$2
  echo "start $v" >> deploys
  echo "fetching demo-service $v on $DEMO_HOST"
  sleep "$(cat latency)"
  if [ -e drop ] && [ "$v" = "` + NewVersion + `" ]; then
    echo "downloading a large artifact..."
    sleep "$(cat drop)"
  fi
  if [ -e hang ] && [ "$v" = "` + NewVersion + `" ]; then
    echo "waiting for the package manager lock held by another process..."
    sleep 3600
  fi
  echo "installing demo-service $v"
  sleep "$(cat latency)"
  echo "$v" > version
  echo "done $v" >> deploys
  echo "restarted demo-service $v"
  echo "reloaded the front proxy: $(cat proxy)"
  ;;
version)
  cat version
  ;;
health)
  v=$(cat version)
  sleep "$(cat check-latency)"
  if [ -n "$2" ] && [ "$v" != "$2" ]; then
    echo "GET /healthz: 200 OK, but demo-service $v is running, not $2" >&2
    exit 1
  fi
  if [ -e fail ] && [ "$v" = "` + NewVersion + `" ]; then
    echo "GET /healthz: 503 Service Unavailable (demo-service $v: upstream pool empty)" >&2
    exit 1
  fi
  if [ -e flaky ] && [ "$v" = "` + NewVersion + `" ]; then
    n=$(cat flaky)
    if [ "$n" -gt 0 ]; then
      echo $((n - 1)) > flaky
      echo "GET /healthz: connection refused (demo-service $v still warming up)" >&2
      exit 1
    fi
  fi
  echo "GET /healthz: 200 OK (demo-service $v)"
  ;;
*)
  echo "usage: ./service deploy VERSION | health [VERSION] | version" >&2
  exit 2
  ;;
esac
`

// The OS releases a demo host runs: the fleet's, and a drifted host's.
const (
	osRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`
	driftedOSRelease = `PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
ID=debian
`
)

// serviceConf is demo-service's configuration, the same on every host: the
// change fingerprints its checksum.
const serviceConf = `# demo-service configuration
listen = 127.0.0.1:8080
workers = 4
upstream = pool-a
`

// The front proxy's version, as its deploy prints it; an --odd host has
// another.
const (
	proxyVersion    = "nginx version: nginx/1.24.0"
	oddProxyVersion = "nginx version: nginx/1.22.1"
)

// setup writes the host's sandbox: the service at the host's starting
// version, its configuration, OS release and front proxy, its delays, and
// its fault.
func (h *Host) setup() error {
	if err := os.MkdirAll(h.Sandbox, 0o700); err != nil {
		return fmt.Errorf("create sandbox for %s: %w", h.Name, err)
	}
	version := h.Version
	if version == "" {
		version = OldVersion
	}
	files := map[string]string{
		"service":       serviceScript,
		"version":       version + "\n",
		"service.conf":  serviceConf,
		"os-release":    osRelease,
		"proxy":         proxyVersion + "\n",
		"latency":       seconds(h.scale(h.Latency)),
		"check-latency": seconds(h.scale(h.Latency / 4)),
	}
	if h.Drift {
		files["os-release"] = driftedOSRelease
	}
	if h.Odd {
		files["proxy"] = oddProxyVersion + "\n"
	}
	switch h.Fault {
	case FaultFail:
		files["fail"] = ""
	case FaultFlaky:
		files["flaky"] = "2\n"
	case FaultHang:
		files["hang"] = ""
	case FaultDrop:
		// Long enough that the connection drop (400 ms in) always lands
		// mid-deploy, however loaded the machine.
		files["drop"] = seconds(h.scale(4 * time.Second))
	}
	for name, content := range files {
		mode := os.FileMode(0o600)
		if name == "service" {
			mode = 0o700
		}
		if err := os.WriteFile(filepath.Join(h.Sandbox, name), []byte(content), mode); err != nil {
			return fmt.Errorf("write %s for %s: %w", name, h.Name, err)
		}
	}
	return nil
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.3f\n", d.Seconds())
}

// writeInventory writes the fleet's inventory: every host on 127.0.0.1 at its
// own port, the demo's key and known_hosts, the swap run locally.
func (f *Fleet) writeInventory() error {
	var b strings.Builder
	fmt.Fprintf(&b, "# The embedded demo fleet: every host is an SSH server on 127.0.0.1.\n")
	fmt.Fprintf(&b, "defaults:\n  user: demo\n  address: 127.0.0.1\n  identity_file: %s\n  known_hosts: %s\n", f.ClientKey, f.KnownHosts)
	roles := map[string][]string{}
	for _, h := range f.Hosts {
		roles[h.Role] = append(roles[h.Role], h.Name)
	}
	fmt.Fprintf(&b, "services:\n  demo:\n")
	fmt.Fprintf(&b, "    test: [%s]\n", strings.Join(roles["test"], ", "))
	fmt.Fprintf(&b, "    standby: %s\n    primary: %s\n    swap: local\n", roles["standby"][0], roles["primary"][0])
	fmt.Fprintf(&b, "    canary: [%s]\n", strings.Join(roles["canary"], ", "))
	fmt.Fprintf(&b, "    fleet:\n")
	for _, n := range roles["fleet"] {
		fmt.Fprintf(&b, "      - %s\n", n)
	}
	fmt.Fprintf(&b, "hosts:\n")
	for _, h := range f.Hosts {
		fmt.Fprintf(&b, "  %s: {port: %d}\n", h.Name, h.Port)
	}
	f.Inventory = filepath.Join(f.Dir, "inventory.yaml")
	if err := os.WriteFile(f.Inventory, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write demo inventory: %w", err)
	}
	return nil
}

// writeChange writes the demo change: check every host before anything
// changes (preflight, fingerprint, the remote lock), keep each host's
// version before its deploy (capture), deploy the new version, check health,
// redeploy the kept version to roll back, move the "active" marker to swap.
func (f *Fleet) writeChange(speed float64) error {
	d := func(x time.Duration) string { return time.Duration(float64(x) / speed).String() }
	change := fmt.Sprintf(`# The demo change: upgrade demo-service from %[1]s (most hosts) to %[2]s on every host.
name: demo-service %[2]s
# Before anything changes, every host is reached, checked and described.
preflight:
  - name: demo-service installed
    run: test -x ./service && ./service version > /dev/null
  - name: the disk takes writes
    run: echo probe > .preflight-probe && rm .preflight-probe
fingerprint:                  # test hosts beside production: drift shows here
  os: . ./os-release && echo "$ID $VERSION_ID"
  service: cksum < service.conf | cut -d ' ' -f 1
lock:                         # taken on every host: a second console is refused
  path: .rollout/locks/{{.Service}}
# Kept on each host just before its deploy, for that host's rollback.
capture:
  version: ./service version
apply: ./service deploy %[2]s
verify:
  - name: healthz on %[2]s
    run: ./service health %[2]s
    retries: 3
    interval: %[3]s
rollback:                     # each host back to the version it had
  run: ./service deploy {{.Captured.version}}
  verify: ./service health {{.Captured.version}}
swap:
  run: echo {{.Promote}} > active-primary && echo traffic now on {{.Promote}}, {{.Demote}} is standby
  verify: grep -q {{.Promote}} active-primary
canary: {soak: %[4]s, interval: %[5]s}
fleet: {batches: [1, 25%%, 100%%], parallel: 6, max_failures: 0}
timeouts: {connect: 5s, apply: %[6]s, verify: 30s}
`, OldVersion, NewVersion, d(time.Second), d(6*time.Second), d(2*time.Second), d(30*time.Second))
	f.Change = filepath.Join(f.Dir, "change.yaml")
	if err := os.WriteFile(f.Change, []byte(change), 0o600); err != nil {
		return fmt.Errorf("write demo change: %w", err)
	}
	return nil
}
