package change

import (
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/rolloutconsole/rollout/inventory/internal/yamlx"
	"github.com/rolloutconsole/rollout/inventory/shell"
)

// checkKinds are the keys of which a check written as a mapping has exactly one.
var checkKinds = []string{"run", "http", "tcp", "prometheus"}

// checks reads a list of checks (verify, rollback verify, swap verify,
// preflight): one check, or a list of them, each a command or a mapping.
func (p *parser) checks(n yamlx.Node, what string, sc scope) []Check {
	var items []yamlx.Node
	if n.IsMap() {
		items = []yamlx.Node{n}
	} else {
		items = n.Seq(what, true)
		if n.IsSeq() && len(items) == 0 {
			n.Errorf("give at least one command that exits 0 only when the host is healthy", "%s is an empty list", what)
		}
	}
	var out []Check
	for i, item := range items {
		name := what
		if len(items) > 1 {
			name = what + " check " + strconv.Itoa(i+1)
		}
		if c, ok := p.check(item, name, sc); ok {
			out = append(out, c)
		}
	}
	return out
}

// check reads one check: a command, or a mapping with the common keys (name,
// retries, interval, timeout) and exactly one of run (with pty), http, tcp
// and prometheus. It reports false when the check is unusable.
func (p *parser) check(item yamlx.Node, name string, sc scope) (Check, bool) {
	c := Check{Interval: DefaultInterval}
	c.Pos = item.Pos()
	if !item.IsMap() {
		c.Run = p.template(item, name, sc)
		return c, c.Run != nil
	}
	f := item.Fields(name, "name", "run", "http", "tcp", "prometheus", "retries", "interval", "timeout", "pty")
	c.Name = p.checkName(f, name)
	if r, ok := f["retries"].Int("retries"); ok {
		if r < 0 || r > 1000 {
			f["retries"].Errorf("", "retries %d is out of range: give 0 to 1000", r)
		}
		c.Retries = r
	}
	if iv, ok := f["interval"]; ok {
		c.Interval = p.duration(iv, "interval")
	}
	c.Timeout = p.duration(f["timeout"], "timeout")
	c.PTY = f["pty"].Bool("pty")
	var kinds []string
	for _, k := range checkKinds {
		if _, ok := f[k]; ok {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		item.Errorf("add run: the command to run, or one of http:, tcp: or prometheus:", "%s has no run command", name)
		return c, false
	case 1:
	case 2:
		item.Errorf(oneKind, "%s has both %s and %s", name, kinds[0], kinds[1])
		return c, false
	default:
		item.Errorf(oneKind, "%s has %s and %s", name, strings.Join(kinds[:len(kinds)-1], ", "), kinds[len(kinds)-1])
		return c, false
	}
	kind := kinds[0]
	if pty, ok := f["pty"]; ok && kind != "run" {
		pty.Errorf("remove pty", "%s: pty is for run commands, not %s checks", name, kind)
	}
	v := f[kind]
	switch kind {
	case "run":
		if !v.Present() {
			item.Errorf("add run: the command to run", "%s has no run command", name)
			return c, false
		}
		c.Run = p.template(v, name, sc)
		return c, c.Run != nil
	case "http":
		c.HTTP = p.httpCheck(v, name+" http", sc)
		return c, c.HTTP != nil
	case "tcp":
		c.TCP = p.tcpCheck(v, name+" tcp", sc)
		return c, c.TCP != nil
	default:
		c.Prometheus = p.prometheusCheck(v, name+" prometheus", sc)
		return c, c.Prometheus != nil
	}
}

const oneKind = "keep one: a check runs one command or makes one http, tcp or prometheus check; give each its own list item"

// checkName reads a check's label, shown at gates on one line.
func (p *parser) checkName(f map[string]yamlx.Node, what string) string {
	n, ok := f["name"]
	if !ok {
		return ""
	}
	const empty = "name the check, or leave name out"
	switch {
	case !n.Present():
		n.Errorf(empty, "%s has an empty name", what)
		return ""
	case !n.IsScalar():
		n.String(what + " name") // reports what it is instead
		return ""
	}
	s := n.String(what + " name")
	switch {
	case strings.TrimSpace(s) == "":
		n.Errorf(empty, "%s has an empty name", what)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		n.Errorf("a name is shown on one line at gates", "%s name holds a control character or a line break", what)
	}
	return s
}

// exampleURL is the form of a URL a check asks for, for hints.
const exampleURL = "http://{{.Address}}:8080/health"

// httpCheck reads http: URL or http: {url, status, body_contains, timeout, from}.
func (p *parser) httpCheck(n yamlx.Node, what string, sc scope) *HTTPCheck {
	h := &HTTPCheck{From: FromConsole}
	u, given := n, n.Present()
	if n.IsMap() {
		f := n.Fields(what, "url", "status", "body_contains", "timeout", "from")
		u, given = required(f, "url", n)
		if v, ok := f["status"]; ok {
			if st, ok := v.Int(what + " status"); ok {
				if st < 100 || st > 599 {
					v.Errorf("leave status out to accept any 2xx", "%s status %d is out of range: give 100 to 599", what, st)
				}
				h.Status = st
			}
		}
		if v, ok := f["body_contains"]; ok {
			if h.BodyContains = v.String(what + " body_contains"); v.IsScalar() && h.BodyContains == "" {
				v.Errorf("give the text the body must hold, or leave body_contains out", "%s body_contains is empty", what)
			}
		}
		h.Timeout = p.duration(f["timeout"], what+" timeout")
		h.From = p.from(f, what)
	} else if n.Present() && !n.IsScalar() {
		n.Errorf("write http: "+exampleURL+", or http: {url: …, status: 200}", "%s must be a URL or a mapping with url:, not %s", what, n.Describe())
		return nil
	}
	if !given {
		u.Errorf("add url:, e.g. url: "+exampleURL, "%s has no url", what)
		return nil
	}
	if h.URL = p.url(u, what+" url", sc); h.URL == nil {
		return nil
	}
	return h
}

// tcpCheck reads tcp: host:port or tcp: {address, timeout, from}.
func (p *parser) tcpCheck(n yamlx.Node, what string, sc scope) *TCPCheck {
	const example = `"{{.Address}}:5432"`
	t := &TCPCheck{From: FromConsole}
	a, given := n, n.Present()
	if n.IsMap() {
		f := n.Fields(what, "address", "timeout", "from")
		a, given = required(f, "address", n)
		t.Timeout = p.duration(f["timeout"], what+" timeout")
		t.From = p.from(f, what)
	} else if n.Present() && !n.IsScalar() {
		n.Errorf("write tcp: "+example+", or tcp: {address: …, timeout: 5s}", "%s must be host:port or a mapping with address:, not %s", what, n.Describe())
		return nil
	}
	if !given {
		a.Errorf("add address:, e.g. address: "+example, "%s has no address", what)
		return nil
	}
	if t.Address = p.address(a, what+" address", sc); t.Address == nil {
		return nil
	}
	return t
}

// prometheusCheck reads prometheus: {url, query, max, min, timeout, from}.
func (p *parser) prometheusCheck(n yamlx.Node, what string, sc scope) *PrometheusCheck {
	const hint = `give url: (the Prometheus server), query: and max: or min:, e.g. {url: "http://prometheus:9090", query: "…", max: 0.01}`
	if !n.IsMap() {
		n.Errorf(hint, "%s must be a mapping with url, query and max or min, not %s", what, n.Describe())
		return nil
	}
	f := n.Fields(what, "url", "query", "max", "min", "timeout", "from")
	pc := &PrometheusCheck{From: FromConsole}
	ok := true
	if u, given := required(f, "url", n); given {
		pc.URL = p.url(u, what+" url", sc)
		ok = ok && pc.URL != nil
	} else {
		u.Errorf("add url: the Prometheus server, e.g. http://prometheus:9090", "%s has no url", what)
		ok = false
	}
	if q, given := required(f, "query", n); given {
		pc.Query = p.parseTemplate(q, what+" query", "empty", sc)
		ok = ok && pc.Query != nil
	} else {
		q.Errorf(`add query: the PromQL whose every sample must be in bounds, e.g. rate(http_errors_total{instance="{{.Host}}"}[1m])`, "%s has no query", what)
		ok = false
	}
	_, hasMax := f["max"]
	_, hasMin := f["min"]
	if hasMax {
		pc.Max = p.number(f["max"], what+" max")
		ok = ok && pc.Max != nil
	}
	if hasMin {
		pc.Min = p.number(f["min"], what+" min")
		ok = ok && pc.Min != nil
	}
	if !hasMax && !hasMin {
		n.Errorf("add max: (the check fails above it), min: (fails below it), or both", "%s has neither max nor min", what)
		ok = false
	}
	if pc.Max != nil && pc.Min != nil && *pc.Min > *pc.Max {
		n.Errorf("", "%s min %g is above max %g: no value can pass", what, *pc.Min, *pc.Max)
		ok = false
	}
	pc.Timeout = p.duration(f["timeout"], what+" timeout")
	pc.From = p.from(f, what)
	if !ok {
		return nil
	}
	return pc
}

// required returns f[key] and true when the key has a value. Otherwise it
// returns where to report that the value is missing, and false: at the key
// when it is given with nothing after it, else at parent.
func required(f map[string]yamlx.Node, key string, parent yamlx.Node) (yamlx.Node, bool) {
	if v, ok := f[key]; ok {
		return v, v.Present()
	}
	return parent, false
}

// from reads where a network check dials from: console (the default) or host.
func (p *parser) from(f map[string]yamlx.Node, what string) string {
	n, ok := f["from"]
	if !ok {
		return FromConsole
	}
	if !n.IsScalar() {
		n.String(what + " from")
		return FromConsole
	}
	switch s := n.String(what + " from"); s {
	case FromConsole, FromHost:
		return s
	default:
		n.Errorf(`console dials from this machine (the default); host dials from the host, through its SSH connection`, "%s from must be console or host, not %q", what, s)
		return FromConsole
	}
}

// dummy stands for every placeholder when a URL or an address is checked:
// a value valid as a host name, a port and a path segment alike.
func dummy(string) (string, bool) { return "1", true }

// url reads an http or https URL that may hold placeholders. It is checked
// with each placeholder replaced by a dummy value, so the scheme and the
// host's shape must be written out; a placeholder may stand for a host, a
// port or part of the path.
func (p *parser) url(n yamlx.Node, what string, sc scope) *shell.Template {
	t := p.parseTemplate(n, what, "empty", sc)
	if t == nil {
		return nil
	}
	s, _ := t.Expand(dummy)
	u, err := url.Parse(s)
	const hint = "write http:// or https://, a host and a path, e.g. " + exampleURL
	switch {
	case err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Hostname() == "":
		n.Errorf(hint, "%s %q is not an http or https URL", what, t.String())
		return nil
	case u.Port() != "" && !validPort(u.Port()):
		n.Errorf("a port is 1 to 65535", "%s %q has port %s, out of range", what, t.String(), u.Port())
		return nil
	}
	return t
}

// address reads host:port that may hold placeholders, checked the way url is.
func (p *parser) address(n yamlx.Node, what string, sc scope) *shell.Template {
	t := p.parseTemplate(n, what, "empty", sc)
	if t == nil {
		return nil
	}
	s, _ := t.Expand(dummy)
	host, port, err := net.SplitHostPort(s)
	switch {
	case err != nil || host == "" || strings.ContainsFunc(host, func(r rune) bool { return r == '/' || unicode.IsSpace(r) || unicode.IsControl(r) }):
		n.Errorf(`write host:port, e.g. "{{.Address}}:5432"; an IPv6 address goes in brackets: "[::1]:5432"`, "%s %q is not host:port", what, t.String())
		return nil
	case !validPort(port):
		n.Errorf("a port is a number from 1 to 65535", "%s %q has port %q, not a number from 1 to 65535", what, t.String(), port)
		return nil
	}
	return t
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && isDigits(s) && n >= 1 && n <= 65535
}

// number reads a YAML number (5, 0.25, -1). As for whole numbers, a quoted
// "5" is a string and refused. yamlx has no float reader, so the node's kind
// is read from Describe, which starts with "a number" for every YAML number.
func (p *parser) number(n yamlx.Node, what string) *float64 {
	if !strings.HasPrefix(n.Describe(), "a number") {
		n.Errorf("write a number such as 0.01 or 100", "%s must be a number, not %s", what, n.Describe())
		return nil
	}
	v, err := strconv.ParseFloat(n.String(what), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		n.Errorf("write a decimal number such as 0.01 or 100", "%s must be a finite decimal number, not %s", what, n.Describe())
		return nil
	}
	return &v
}
