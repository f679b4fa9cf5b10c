package change

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/internal/yamlx"
	"github.com/rolloutconsole/rollout/inventory/shell"
)

// HostFields are the placeholders every host command may use.
var HostFields = []string{"Host", "Address", "Service", "Change"}

// SwapFields are the placeholders the swap commands may use.
var SwapFields = []string{"Promote", "Demote", "Host", "Service", "Change"}

// Options tune how a change file is loaded.
type Options struct {
	// Getenv reads the operator's environment for env values given as
	// from_env; nil means os.Getenv.
	Getenv func(string) string
}

// Load reads and validates the change file at path. The error, when not nil,
// is a diag.List holding every problem found, each with file:line:col.
func Load(path string, opts Options) (*Change, error) {
	data, err := inventory.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, opts)
}

// Parse validates change data read from file (used in messages only).
func Parse(file string, data []byte, opts Options) (*Change, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	var errs diag.List
	doc := &yamlx.Doc{File: file, Errs: &errs}
	root := yamlx.Parse(doc, data)
	if !root.Present() {
		if len(errs) == 0 {
			errs.Add(file, diag.Pos{Line: 1, Col: 1}, "see examples/change.yaml", "the change file is empty")
		}
		return nil, errs.Err()
	}
	if !root.IsMap() {
		root.Errorf("see examples/change.yaml", "the change must be a mapping of key: value, not %s", root.Describe())
		return nil, errs.Err()
	}
	p := &parser{file: file, errs: &errs, getenv: opts.Getenv}
	c := p.change(root)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	c.File = file
	c.Digest = digest(c)
	return c, nil
}

type parser struct {
	file   string
	errs   *diag.List
	getenv func(string) string
	// captures are the names under capture:, read before rollback so that
	// its {{.Captured.NAME}} placeholders can be checked against them.
	captures []string
}

// scope is what a template may refer to where it is used: the placeholders
// that have a value there, and whether it belongs to the rollback, the only
// place where captured values exist.
type scope struct {
	fields   []string
	rollback bool
}

var (
	hostScope     = scope{fields: HostFields}
	swapScope     = scope{fields: SwapFields}
	rollbackScope = scope{fields: HostFields, rollback: true}
)

func (p *parser) change(root yamlx.Node) *Change {
	f := root.Fields("the change", "name", "apply", "verify", "rollback", "swap", "canary", "fleet", "timeouts", "env",
		"preflight", "fingerprint", "capture", "lock", "on", "groups")
	c := &Change{}
	before := len(*p.errs)
	c.Name = f["name"].String("name")
	if strings.TrimSpace(c.Name) == "" {
		p.missing(root, f, "name", before, "name the change, e.g. name: nginx 1.25.3", "the change has no name")
	}
	c.Timeouts = p.timeouts(f["timeouts"])
	before = len(*p.errs)
	c.Apply = p.step(f["apply"], "apply", hostScope)
	if c.Apply.Run == nil {
		p.missing(root, f, "apply", before, "add apply: the command that makes the change on a host", "the change has no apply command")
	}
	before = len(*p.errs)
	c.Verify = p.checks(f["verify"], "verify", hostScope)
	if len(c.Verify) == 0 {
		p.missing(root, f, "verify", before, "add verify: a command that exits 0 only when the host is healthy", "the change has no verify check; without one no phase can pass")
	}
	c.Preflight = p.checks(f["preflight"], "preflight", hostScope)
	c.Fingerprint, _ = p.named(f["fingerprint"], "fingerprint")
	c.Capture, p.captures = p.named(f["capture"], "capture")
	before = len(*p.errs)
	var rf map[string]yamlx.Node
	c.Rollback, rf = p.stepWith(f["rollback"], "rollback", rollbackScope, "verify")
	c.RollbackVerify = c.Verify
	if v, ok := rf["verify"]; ok {
		n := len(*p.errs)
		c.RollbackVerify = p.checks(v, "rollback verify", rollbackScope)
		if len(c.RollbackVerify) == 0 && len(*p.errs) == n {
			// "verify:" with nothing after it: no check at all after a
			// rollback is not what leaving the key out means.
			v.Errorf("give a check of the old version, or leave verify out to use the change's verify", "rollback verify has no check")
		}
	}
	if c.Rollback.Run == nil {
		p.missing(root, f, "rollback", before, "add rollback: the command that undoes apply", "the change has no rollback command")
	}
	if sw := f["swap"]; sw.Present() {
		c.Swap = p.swap(sw)
	}
	c.Canary = p.canary(f["canary"])
	c.Fleet = p.fleet(f["fleet"])
	c.Env = p.env(f["env"])
	c.Lock = p.lock(f["lock"])
	c.On = p.hooks(f["on"])
	c.Groups = p.groups(f["groups"])
	return c
}

// missing reports a required key, at the key when it is there but empty, or
// at the top of the file. When reading the key already reported a problem
// (errors grew past before), that problem says it all and missing is silent.
func (p *parser) missing(root yamlx.Node, f map[string]yamlx.Node, key string, before int, hint, msg string) {
	if len(*p.errs) > before {
		return
	}
	if n, ok := f[key]; ok {
		n.Errorf(hint, "%s", msg)
		return
	}
	p.errs.Add(p.file, diag.Pos{Line: 1, Col: 1}, hint, "%s", msg)
}

// step reads "cmd" or {run, pty, timeout}.
func (p *parser) step(n yamlx.Node, what string, sc scope) Step {
	s, _ := p.stepWith(n, what, sc)
	return s
}

// stepWith is step for a command whose long form takes more keys; it returns
// the long form's fields (nil for the short form).
func (p *parser) stepWith(n yamlx.Node, what string, sc scope, extra ...string) (Step, map[string]yamlx.Node) {
	if !n.Present() {
		return Step{}, nil
	}
	s := Step{Pos: n.Pos()}
	run := n
	var f map[string]yamlx.Node
	if n.IsMap() {
		f = n.Fields(what, append([]string{"run", "pty", "timeout"}, extra...)...)
		run = f["run"]
		s.PTY = f["pty"].Bool("pty")
		s.Timeout = p.duration(f["timeout"], what+" timeout")
		if !run.Present() {
			n.Errorf("add run: the command to run", "%s has no run command", what)
			return Step{}, f
		}
	}
	s.Run = p.template(run, what, sc)
	return s, f
}

// template reads a command with placeholders.
func (p *parser) template(n yamlx.Node, what string, sc scope) *shell.Template {
	return p.parseTemplate(n, what, "an empty command", sc)
}

// parseTemplate reads a string with placeholders, a command or not; empty
// ends "<what> is …" when the string is blank.
func (p *parser) parseTemplate(n yamlx.Node, what, empty string, sc scope) *shell.Template {
	if !n.IsScalar() {
		n.String(what) // reports what it is instead
		return nil
	}
	text := n.String(what)
	if strings.TrimSpace(text) == "" {
		n.Errorf("", "%s is %s", what, empty)
		return nil
	}
	if strings.IndexByte(text, 0) >= 0 {
		n.Errorf("", "%s holds a NUL byte", what)
		return nil
	}
	t, err := shell.Parse(text)
	if err != nil {
		n.Errorf("", "%s: %v", what, err)
		return nil
	}
	for _, name := range t.Fields() {
		switch {
		case contains(sc.fields, name):
		case name == "Captured" || strings.HasPrefix(name, "Captured."):
			p.captured(n, what, name, sc)
		default:
			n.Errorf(p.placeholderHint(sc), "%s uses {{.%s}}, which has no value there", what, name)
		}
	}
	return t
}

// placeholderHint lists what a template may use in scope sc.
func (p *parser) placeholderHint(sc scope) string {
	names := slices.Clone(sc.fields)
	if sc.rollback {
		for _, c := range p.captures {
			names = append(names, "Captured."+c)
		}
	}
	return "placeholders here: {{." + strings.Join(names, "}}, {{.") + "}}"
}

// captured checks a {{.Captured…}} placeholder: it must name a capture, and
// be in the rollback, since values are captured just before apply for that
// host's rollback only.
func (p *parser) captured(n yamlx.Node, what, name string, sc scope) {
	declared := "captures: {{.Captured." + strings.Join(p.captures, "}}, {{.Captured.") + "}}"
	if len(p.captures) == 0 {
		declared = "declare the command whose output you need under capture:, e.g. capture: {version: cat /etc/myapp/version}"
	}
	capture, named := strings.CutPrefix(name, "Captured.")
	switch {
	case !sc.rollback:
		n.Errorf("{{.Captured.NAME}} may be used in rollback: its run and its verify checks", "%s uses {{.%s}}, but captured values exist only in rollback", what, name)
	case !named:
		n.Errorf("write {{.Captured.NAME}}; "+declared, "%s uses {{.Captured}} without naming a capture", what)
	case !contains(p.captures, capture):
		n.Errorf(declared, "%s uses {{.%s}}, but no capture is named %q", what, name, capture)
	}
}

func (p *parser) duration(n yamlx.Node, what string) time.Duration {
	d, _ := n.Duration(what)
	return d
}

func (p *parser) swap(n yamlx.Node) *Swap {
	f := n.Fields("swap", "run", "verify", "pty", "timeout")
	s := &Swap{}
	if !f["run"].Present() {
		n.Errorf("add run: the command that moves traffic, using {{.Promote}} and {{.Demote}}", "swap has no run command")
	} else {
		s.Run = Step{Run: p.template(f["run"], "swap run", swapScope), Pos: f["run"].Pos()}
		s.Run.PTY = f["pty"].Bool("pty")
		s.Run.Timeout = p.duration(f["timeout"], "swap timeout")
	}
	s.Verify = p.checks(f["verify"], "swap verify", swapScope)
	return s
}

func (p *parser) canary(n yamlx.Node) Canary {
	f := n.Fields("canary", "soak", "interval")
	c := Canary{Interval: DefaultSoakInterval}
	c.Soak = p.duration(f["soak"], "soak")
	if iv, ok := f["interval"]; ok {
		if d, ok := iv.Duration("interval"); ok && d > 0 {
			c.Interval = d
		} else if ok {
			iv.Errorf("", "the soak interval must be more than zero")
		}
	}
	return c
}

func (p *parser) fleet(n yamlx.Node) Fleet {
	f := n.Fields("fleet", "batches", "parallel", "max_failures")
	fl := Fleet{Parallel: DefaultParallel, Batches: DefaultBatches}
	if b, ok := f["batches"]; ok {
		fl.Batches = p.batches(b)
	}
	if v, ok := f["parallel"]; ok {
		if par, ok := v.Int("parallel"); ok {
			if par < 1 || par > 10000 {
				v.Errorf("", "parallel %d is out of range: give 1 to 10000", par)
			}
			fl.Parallel = par
		}
	}
	if v, ok := f["max_failures"]; ok {
		n, pct, ok := p.countOrPercent(v, "max_failures", 0)
		if ok {
			fl.MaxFailures = Budget{N: n, Percent: pct}
		}
	}
	return fl
}

var percentRE = regexp.MustCompile(`^(\d+)\s*%$`)

// maxCount bounds a count of hosts; no fleet is larger.
const maxCount = 1_000_000

// countOrPercent reads 3 or "25%": a count from minCount to maxCount, or a
// percentage from minCount to 100.
func (p *parser) countOrPercent(n yamlx.Node, what string, minCount int) (int, bool, bool) {
	const hint = `write a number of hosts (5) or a percentage ("10%")`
	if !n.IsScalar() {
		n.Errorf(hint, "%s must be a number or a percentage, not %s", what, n.Describe())
		return 0, false, false
	}
	s := n.String(what)
	if m := percentRE.FindStringSubmatch(s); m != nil {
		v, err := strconv.Atoi(m[1])
		if err != nil || v < minCount || v > 100 {
			n.Errorf("", "%s %s is out of range: a percentage is %d%% to 100%%", what, s, minCount)
			return 0, false, false
		}
		return v, true, true
	}
	digits := strings.TrimPrefix(s, "-")
	v, err := strconv.Atoi(s)
	if err != nil || !isDigits(digits) {
		n.Errorf(hint, "%s must be a number or a percentage, not %q", what, s)
		return 0, false, false
	}
	if v < minCount || v > maxCount {
		n.Errorf("", "%s %d is out of range: give %d to %d, or a percentage", what, v, minCount, maxCount)
		return 0, false, false
	}
	return v, false, true
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func (p *parser) batches(n yamlx.Node) []Batch {
	items := n.Seq("batches", false)
	if !n.Present() || n.IsSeq() && len(items) == 0 {
		// batches: with nothing after it is as empty as batches: [].
		n.Errorf("for example: batches: [1, 10%, 50%, 100%]", "the batch list is empty")
		return nil
	}
	var out []Batch
	for _, item := range items {
		v, pct, ok := p.countOrPercent(item, "batch", 1)
		if ok {
			out = append(out, Batch{N: v, Percent: pct})
		}
	}
	if len(out) == len(items) && len(out) > 0 {
		if last := out[len(out)-1]; !(last.Percent && last.N == 100) {
			n.Errorf("end the list with 100% so the last batch takes the rest of the fleet", "the batch list never reaches 100%% of the fleet")
		}
	}
	return out
}

func (p *parser) timeouts(n yamlx.Node) Timeouts {
	t := Timeouts{Connect: DefaultConnectTimeout, Apply: DefaultApplyTimeout, Verify: DefaultVerifyTimeout, Rollback: DefaultRollbackTimeout, Swap: DefaultSwapTimeout}
	f := n.Fields("timeouts", "connect", "apply", "verify", "rollback", "swap", "keepalive")
	for k, v := range f {
		d, ok := v.Duration(k + " timeout")
		if !ok {
			continue
		}
		if d <= 0 {
			v.Errorf("", "the %s timeout must be more than zero", k)
			continue
		}
		switch k {
		case "connect":
			t.Connect = d
		case "apply":
			t.Apply = d
		case "verify":
			t.Verify = d
		case "rollback":
			t.Rollback = d
		case "swap":
			t.Swap = d
		case "keepalive":
			if d < 2*time.Second {
				v.Errorf("give 2s or more: a probe goes out every half of it", "the keepalive timeout %s is too short", d)
				continue
			}
			t.Keepalive = d
		}
	}
	return t
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// env reads NAME: value, or NAME: {value | from_env, secret}.
func (p *parser) env(n yamlx.Node) []EnvVar {
	var out []EnvVar
	for _, kv := range n.Map("env") {
		if !envName.MatchString(kv.Key) {
			p.errs.Add(p.file, kv.KeyPos, "a variable name is letters, digits and '_', not starting with a digit", "env name %q is not valid", kv.Key)
			continue
		}
		e := EnvVar{Name: kv.Key}
		if kv.Value.IsMap() {
			f := kv.Value.Fields("env "+kv.Key, "value", "from_env", "secret")
			e.Secret = f["secret"].Bool("secret")
			_, hasValue := f["value"]
			_, hasFrom := f["from_env"]
			switch {
			case hasValue && hasFrom:
				kv.Value.Errorf("keep one", "env %s has both value and from_env", kv.Key)
			case hasFrom:
				e.FromEnv = f["from_env"].String("from_env")
				if !envName.MatchString(e.FromEnv) {
					f["from_env"].Errorf("", "from_env %q is not a valid variable name", e.FromEnv)
				}
				e.Value = p.getenv(e.FromEnv)
			case hasValue:
				e.Value = f["value"].String("value")
			default:
				kv.Value.Errorf("add value: or from_env:", "env %s has no value", kv.Key)
			}
		} else {
			e.Value = kv.Value.String("env " + kv.Key)
		}
		if strings.IndexByte(e.Value, 0) >= 0 {
			kv.Value.Errorf("", "env %s holds a NUL byte", kv.Key)
		}
		out = append(out, e)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// digest hashes the change's canonical JSON: what it does, not how the file
// is laid out. Secret values are left out; their names are in. Env is sorted
// by name, since all variables are set at once and their order means nothing;
// so are fingerprints and captures, each read on its own under its name. A
// lock path spelt as the default is the default. Keys a change does not use
// are left out of the JSON, so a change written before they existed keeps
// its digest (TestDigestPinned).
func digest(c *Change) string {
	canon := *c
	canon.Env = slices.SortedFunc(slices.Values(c.Env), func(a, b EnvVar) int { return strings.Compare(a.Name, b.Name) })
	byName := func(a, b Named) int { return strings.Compare(a.Name, b.Name) }
	canon.Fingerprint = slices.SortedFunc(slices.Values(c.Fingerprint), byName)
	canon.Capture = slices.SortedFunc(slices.Values(c.Capture), byName)
	if canon.Lock.Path == DefaultLockPath {
		canon.Lock.Path = ""
	}
	data, err := json.Marshal(&canon)
	if err != nil {
		// Marshal of these plain types cannot fail; hash what we can.
		data = []byte(c.Name)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
