// Package change reads change.yaml: what a rollout does on each host (apply),
// how it proves the host is healthy (verify), how it undoes itself (rollback),
// how traffic moves from primary to standby (swap), how long canaries soak and
// how the fleet is cut into batches; and around that, what is checked before
// anything is touched (preflight, fingerprint, lock), what each host's
// rollback needs kept (capture), whom to tell (on) and where an Ansible
// inventory keeps the hosts (groups). It validates the whole file, reporting
// every problem with file:line:col, and gives the change a digest that stays
// the same when only the formatting changes.
package change

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/shell"
)

// Defaults used when the change file is silent.
const (
	DefaultConnectTimeout  = 10 * time.Second
	DefaultApplyTimeout    = 10 * time.Minute
	DefaultVerifyTimeout   = 2 * time.Minute
	DefaultRollbackTimeout = 10 * time.Minute
	DefaultSwapTimeout     = 5 * time.Minute
	DefaultInterval        = 2 * time.Second
	DefaultParallel        = 10
	DefaultSoakInterval    = 10 * time.Second
)

// DefaultBatches is the fleet's batch list when the change gives none: one
// host, then a tenth, then half, then the rest.
var DefaultBatches = []Batch{{N: 1}, {N: 10, Percent: true}, {N: 50, Percent: true}, {N: 100, Percent: true}}

// Change is a validated change file.
type Change struct {
	// File is the path the change was read from.
	File string `json:"-"`
	Name string `json:"name"`
	// Apply makes the change on one host.
	Apply Step `json:"apply"`
	// Verify checks that a host is healthy; every check must pass.
	Verify []Check `json:"verify"`
	// Rollback undoes Apply on one host.
	Rollback Step `json:"rollback"`
	// RollbackVerify checks a host after its rollback: Verify unless the
	// change gives rollback: {run: …, verify: …}, since a check of the new
	// version fails on a host rolled back to the old one.
	RollbackVerify []Check `json:"rollback_verify"`
	// Swap moves traffic from the primary to the standby; nil when the change has none.
	Swap     *Swap    `json:"swap,omitempty"`
	Canary   Canary   `json:"canary"`
	Fleet    Fleet    `json:"fleet"`
	Timeouts Timeouts `json:"timeouts"`
	// Env is set for every command, in file order.
	Env []EnvVar `json:"env,omitempty"`
	// Preflight checks run on every host of the plan before the test phase
	// touches anything; a host that fails one is shown at the preflight gate,
	// where the engineer excludes it or stops.
	Preflight []Check `json:"preflight,omitempty"`
	// Fingerprint commands describe a host's configuration (OS release,
	// package versions, a config checksum). Preflight runs them on the test
	// hosts and on production and shows where they differ.
	Fingerprint []Named `json:"fingerprint,omitempty"`
	// Capture commands run on each host just before apply; their output is
	// journaled and given to that host's rollback as {{.Captured.NAME}}.
	Capture []Named `json:"capture,omitempty"`
	// Lock is the lock directory taken on every host in preflight.
	Lock Lock `json:"lock,omitzero"`
	// On are local commands run when the rollout reaches a gate, fails,
	// finishes or is rolled back, with the event as JSON on stdin.
	On Hooks `json:"on,omitzero"`
	// Groups maps roles (test, standby, primary, canary, fleet) to the
	// groups of an Ansible inventory, for reading hosts from one.
	Groups map[string][]string `json:"groups,omitempty"`
	// Digest identifies the change's meaning: sha256 of its canonical form.
	Digest string `json:"-"`
}

// Step is one command.
type Step struct {
	Run *shell.Template `json:"run"`
	// PTY asks for a terminal, for sudo with requiretty and so that a hang-up
	// reaches the whole process group on abort.
	PTY bool `json:"pty,omitempty"`
	// Timeout bounds the command; zero means the phase's default from Timeouts.
	Timeout time.Duration `json:"timeout,omitempty"`
	Pos     diag.Pos      `json:"-"`
}

// Check is a verify check with its retry policy. It passes when it
// succeeds within Timeout, on the first try or any of Retries more. Exactly
// one of Run (a command on the host, exit 0 passes), HTTP, TCP and Prometheus
// is set.
type Check struct {
	Step
	// Name labels the check at gates; empty means it is shown by number and kind.
	Name       string           `json:"name,omitempty"`
	HTTP       *HTTPCheck       `json:"http,omitempty"`
	TCP        *TCPCheck        `json:"tcp,omitempty"`
	Prometheus *PrometheusCheck `json:"prometheus,omitempty"`
	Retries    int              `json:"retries"`
	Interval   time.Duration    `json:"interval"`
}

// Kind names what the check does: "command", "http", "tcp" or "prometheus".
func (c *Check) Kind() string {
	switch {
	case c.HTTP != nil:
		return "http"
	case c.TCP != nil:
		return "tcp"
	case c.Prometheus != nil:
		return "prometheus"
	}
	return "command"
}

// Where a network check dials from.
const (
	// FromConsole dials from the machine running rollout (the default).
	FromConsole = "console"
	// FromHost dials from the host, through its SSH connection, so that a
	// port listening only on the host's loopback can be checked.
	FromHost = "host"
)

// HTTPCheck passes when a GET of URL answers Status (any 2xx when zero) and,
// if BodyContains is set, a body containing it.
type HTTPCheck struct {
	// URL may use host placeholders; they are substituted unquoted.
	URL          *shell.Template `json:"url"`
	Status       int             `json:"status,omitempty"`
	BodyContains string          `json:"body_contains,omitempty"`
	Timeout      time.Duration   `json:"timeout,omitempty"`
	From         string          `json:"from,omitempty"`
}

// TCPCheck passes when a TCP connection to Address (host:port) opens.
type TCPCheck struct {
	Address *shell.Template `json:"address"`
	Timeout time.Duration   `json:"timeout,omitempty"`
	From    string          `json:"from,omitempty"`
}

// PrometheusCheck passes when the instant Query, asked of the Prometheus
// server at URL, returns at least one sample and every sample is at most Max
// (and at least Min when set).
type PrometheusCheck struct {
	URL     *shell.Template `json:"url"`
	Query   *shell.Template `json:"query"`
	Max     *float64        `json:"max,omitempty"`
	Min     *float64        `json:"min,omitempty"`
	Timeout time.Duration   `json:"timeout,omitempty"`
	From    string          `json:"from,omitempty"`
}

// Named is a command whose output is kept under a name: a fingerprint or a
// captured value.
type Named struct {
	Name string `json:"name"`
	Step
}

// Lock is the lock directory taken on every host the rollout touches.
type Lock struct {
	// Disabled is true for lock: false.
	Disabled bool `json:"disabled,omitempty"`
	// Path is the lock directory on each host; relative paths are under the
	// login directory. DefaultLockPath when the change is silent (Path is
	// then empty). Like DefaultLockPath it may use {{.Service}}, and no
	// other placeholder; it never starts with "-".
	Path string `json:"path,omitempty"`
}

// DefaultLockPath is the lock directory used when the change names none;
// {{.Service}} is replaced by the service's name.
const DefaultLockPath = ".rollout/locks/{{.Service}}"

// Hooks are local commands run on rollout events. Each gets the event as one
// JSON object on stdin; its failure is shown but never stops the rollout.
type Hooks struct {
	Gate       *Hook `json:"gate,omitempty"`
	Failed     *Hook `json:"failed,omitempty"`
	Finished   *Hook `json:"finished,omitempty"`
	RolledBack *Hook `json:"rolled_back,omitempty"`
}

// Hook is one local command, run with sh -c.
type Hook struct {
	Run     string        `json:"run"`
	Timeout time.Duration `json:"timeout,omitempty"`
	Pos     diag.Pos      `json:"-"`
}

// DefaultHookTimeout bounds a hook when the change gives no timeout.
const DefaultHookTimeout = 30 * time.Second

// Swap promotes the standby and demotes the primary.
type Swap struct {
	// Run is the swap command; {{.Promote}} and {{.Demote}} name the hosts.
	Run Step `json:"run"`
	// Verify checks the promoted host, run where the swap runs.
	Verify []Check `json:"verify,omitempty"`
}

// Canary is how canaries are watched after they pass verify.
type Canary struct {
	// Soak is how long verify keeps being repeated; any failure fails the canary.
	Soak time.Duration `json:"soak"`
	// Interval is the pause between soak rounds.
	Interval time.Duration `json:"interval"`
}

// Fleet is how the rest of the hosts are changed.
type Fleet struct {
	Batches     []Batch `json:"batches"`
	Parallel    int     `json:"parallel"`
	MaxFailures Budget  `json:"max_failures"`
}

// Batch is one entry of the batch list: a host count, or a percentage of the
// fleet (Ansible's serial semantics: rounded down, at least one host).
type Batch struct {
	N       int  `json:"n"`
	Percent bool `json:"percent,omitempty"`
}

// Size is how many hosts the batch takes from a fleet of total hosts.
func (b Batch) Size(total int) int {
	if b.Percent {
		return max(1, total*b.N/100)
	}
	return b.N
}

// String renders the batch as written: "5" or "10%".
func (b Batch) String() string { return fmtN(b.N, b.Percent) }

// Budget is how many host failures a phase tolerates: a count, or a
// percentage of the phase's hosts.
type Budget struct {
	N       int  `json:"n"`
	Percent bool `json:"percent,omitempty"`
}

// Allowed is how many of total hosts may fail without failing the phase.
func (b Budget) Allowed(total int) int {
	if b.Percent {
		return total * b.N / 100
	}
	return b.N
}

// String renders the budget as written: "0" or "5%".
func (b Budget) String() string { return fmtN(b.N, b.Percent) }

func fmtN(n int, pct bool) string {
	if pct {
		return strconv.Itoa(n) + "%"
	}
	return strconv.Itoa(n)
}

// Timeouts are the defaults for each kind of step.
type Timeouts struct {
	Connect  time.Duration `json:"connect"`
	Apply    time.Duration `json:"apply"`
	Verify   time.Duration `json:"verify"`
	Rollback time.Duration `json:"rollback"`
	Swap     time.Duration `json:"swap"`
	// Keepalive is how long a connection may go without answering a
	// keepalive probe before it is taken for lost (its host then unknown);
	// zero means the transport's default (20s over SSH).
	Keepalive time.Duration `json:"keepalive,omitempty"`
}

// EnvVar is one environment variable set for the change's commands. A secret
// one is never written to the journal, the screen or logs.
type EnvVar struct {
	Name   string `json:"name"`
	Value  string `json:"-"`
	Secret bool   `json:"secret,omitempty"`
	// FromEnv names the operator's environment variable the value was read from.
	FromEnv string `json:"from_env,omitempty"`
}

// ShortDigest is the first 12 hex digits of the digest, for display.
func (c *Change) ShortDigest() string {
	if len(c.Digest) < 12 {
		return c.Digest
	}
	return c.Digest[:12]
}

// Secrets returns the values of secret env vars, for redaction.
func (c *Change) Secrets() []string {
	var out []string
	for _, e := range c.Env {
		if e.Secret && e.Value != "" {
			out = append(out, e.Value)
		}
	}
	return out
}

// MarshalJSON writes the variable for the digest and --json output: the value
// of a non-secret variable, never the value of a secret one.
func (e EnvVar) MarshalJSON() ([]byte, error) {
	type plain struct {
		Name    string `json:"name"`
		Value   string `json:"value,omitempty"`
		Secret  bool   `json:"secret,omitempty"`
		FromEnv string `json:"from_env,omitempty"`
	}
	p := plain{Name: e.Name, Secret: e.Secret, FromEnv: e.FromEnv}
	if !e.Secret && e.FromEnv == "" {
		p.Value = e.Value
	}
	return json.Marshal(p)
}
