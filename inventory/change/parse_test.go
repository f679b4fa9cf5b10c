package change

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/shell"
)

// base is the smallest valid change; cases append to it.
const base = `name: n
apply: a
verify: v
rollback: r
`

func noEnv(string) string { return "" }

// TestParseErrors feeds one broken change per case and checks that every
// problem, and nothing else, is reported at its line and column.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []wantErr
	}{
		// Unknown keys, with the nearest known key as a hint.
		{"unknown top-level key", base + "timeout: {apply: 5m}\n",
			[]wantErr{{line: 5, near: "timeout", col: 1, msg: `unknown key "timeout" in the change`, hint: `did you mean "timeouts"?`}}},
		{"misspelt required key", "name: n\napply: a\nverify: v\nrollbak: r\n", []wantErr{
			{line: 1, col: 1, msg: "the change has no rollback command", hint: "add rollback:"},
			{line: 4, near: "rollbak", col: 1, msg: `unknown key "rollbak" in the change`, hint: `did you mean "rollback"?`},
		}},
		{"unknown key in a check", `name: n
apply: a
rollback: r
verify:
  - run: curl -fsS localhost
    retires: 5
`, []wantErr{{line: 6, near: "retires", msg: `unknown key "retires" in verify`, hint: `did you mean "retries"?`}}},
		{"unknown key in the second check", `name: n
apply: a
rollback: r
verify:
  - true
  - {run: curl, intervall: 2s}
`, []wantErr{{line: 6, near: "intervall", msg: `unknown key "intervall" in verify check 2`, hint: `did you mean "interval"?`}}},
		{"unknown key in fleet", base + "fleet: {batch: [1, 100%]}\n",
			[]wantErr{{line: 5, near: "batch", msg: `unknown key "batch" in fleet`, hint: `did you mean "batches"?`}}},
		{"unknown key in canary", base + "canary: {soke: 2m}\n",
			[]wantErr{{line: 5, near: "soke", msg: `unknown key "soke" in canary`, hint: `did you mean "soak"?`}}},
		{"unknown key in timeouts", base + "timeouts: {aply: 5m}\n",
			[]wantErr{{line: 5, near: "aply", msg: `unknown key "aply" in timeouts`, hint: `did you mean "apply"?`}}},
		{"unknown key in a step", "name: n\napply: {run: a, pyt: true}\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: "pyt", msg: `unknown key "pyt" in apply`, hint: `did you mean "pty"?`}}},
		{"unknown key in an env variable", base + "env:\n  A: {vaule: x}\n", []wantErr{
			{line: 6, near: "{", msg: "env A has no value", hint: "add value: or from_env:"},
			{line: 6, near: "vaule", msg: `unknown key "vaule" in env A`, hint: `did you mean "value"?`},
		}},
		{"unknown key in swap", base + "swap: {rum: \"promote {{.Promote}}\"}\n", []wantErr{
			{line: 5, near: "{", msg: "swap has no run command"},
			{line: 5, near: "rum", msg: `unknown key "rum" in swap`, hint: `did you mean "run"?`},
		}},

		// Wrong types.
		{"string where a number goes", base + "fleet: {parallel: abc}\n",
			[]wantErr{{line: 5, near: "abc", msg: `parallel must be a whole number, not a string "abc"`}}},
		{"quoted number where a number goes", base + "fleet: {parallel: \"5\"}\n",
			[]wantErr{{line: 5, near: `"5"`, msg: `parallel must be a whole number, not a string "5"`}}},
		{"word where retries go", "name: n\napply: a\nrollback: r\nverify: {run: v, retries: five}\n",
			[]wantErr{{line: 4, near: "five", msg: `retries must be a whole number, not a string "five"`}}},
		{"string where a boolean goes", "name: n\napply: {run: a, pty: \"yes\"}\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: `"yes"`, msg: `pty must be true or false, not a string "yes"`, hint: "use true or false"}}},
		{"bare number where a duration goes", base + "canary: {soak: 5}\n",
			[]wantErr{{line: 5, near: "5}", msg: "soak needs a unit, not a bare number 5", hint: "write 5s for seconds"}}},
		{"word where a duration goes", "name: n\napply: a\nrollback: r\nverify: {run: v, interval: often}\n",
			[]wantErr{{line: 4, near: "often", msg: `interval must be a duration, not a string "often"`, hint: "30s, 2m or 1m30s"}}},
		{"list where the name goes", "name: [n]\napply: a\nverify: v\nrollback: r\n",
			[]wantErr{{line: 1, near: "[n]", msg: "name must be a string, not a list"}}},
		{"list where a command goes", "name: n\napply: [a, b]\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: "[a, b]", msg: "apply must be a string, not a list"}}},
		{"list where a mapping goes", base + "fleet: [1, 100%]\n",
			[]wantErr{{line: 5, near: "[1", msg: "fleet must be a mapping of key: value, not a list"}}},
		{"string where a mapping goes", base + "canary: 2m\n",
			[]wantErr{{line: 5, near: "2m", msg: "canary must be a mapping of key: value, not a string"}}},
		{"number where a list goes", base + "fleet: {batches: 5}\n",
			[]wantErr{{line: 5, near: "5}", msg: "batches must be a list, not a number"}}},
		{"list where env goes", base + "env: [A=1]\n",
			[]wantErr{{line: 5, near: "[A=1]", msg: "env must be a mapping of key: value, not a list"}}},
		{"the whole file is a list", "- apply\n- verify\n", []wantErr{
			{line: 1, near: "-", msg: "the change must be a mapping of key: value, not a list", hint: "examples/change.yaml"},
		}},

		// The batch list.
		{"batch list that never reaches 100%", base + "fleet:\n  batches: [1, 10%, 50%]\n",
			[]wantErr{{line: 6, near: "[1", msg: "the batch list never reaches 100% of the fleet", hint: "end the list with 100%"}}},
		{"batch list of counts only", base + "fleet:\n  batches:\n    - 1\n    - 5\n",
			[]wantErr{{line: 7, near: "-", msg: "the batch list never reaches 100% of the fleet"}}},
		{"empty batch list", base + "fleet: {batches: []}\n",
			[]wantErr{{line: 5, near: "[]", msg: "the batch list is empty", hint: "batches: [1, 10%, 50%, 100%]"}}},
		{"batches with nothing after it", base + "fleet:\n  batches:\n",
			[]wantErr{{line: 6, near: "batches", msg: "the batch list is empty"}}},
		{"batches without a value in a flow mapping", base + "fleet: {batches}\n",
			[]wantErr{{line: 5, near: "batches", msg: "the batch list is empty"}}},
		{"zero-host batch", base + "fleet: {batches: [0, 100%]}\n",
			[]wantErr{{line: 5, near: "0,", msg: "batch 0 is out of range: give 1 to 1000000, or a percentage"}}},
		{"zero-percent batch", base + "fleet: {batches: [0%, 100%]}\n",
			[]wantErr{{line: 5, near: "0%", msg: "batch 0% is out of range: a percentage is 1% to 100%"}}},
		{"batch over 100%", base + "fleet: {batches: [1, 150%]}\n",
			[]wantErr{{line: 5, near: "150%", msg: "batch 150% is out of range: a percentage is 1% to 100%"}}},
		{"batch of a million and one", base + "fleet: {batches: [1000001, 100%]}\n",
			[]wantErr{{line: 5, near: "1000001", msg: "batch 1000001 is out of range: give 1 to 1000000, or a percentage"}}},
		{"batch that is a word", base + "fleet: {batches: [half, 100%]}\n",
			[]wantErr{{line: 5, near: "half", msg: `batch must be a number or a percentage, not "half"`, hint: `a percentage ("10%")`}}},

		// max_failures.
		{"max_failures over 100%", base + "fleet: {max_failures: 101%}\n",
			[]wantErr{{line: 5, near: "101%", msg: "max_failures 101% is out of range: a percentage is 0% to 100%"}}},
		{"max_failures far over 100%", base + "fleet: {max_failures: 1000%}\n",
			[]wantErr{{line: 5, near: "1000%", msg: "max_failures 1000% is out of range: a percentage is 0% to 100%"}}},
		{"max_failures below zero", base + "fleet: {max_failures: -1}\n",
			[]wantErr{{line: 5, near: "-1", msg: "max_failures -1 is out of range: give 0 to 1000000, or a percentage"}}},
		{"max_failures a word", base + "fleet: {max_failures: abc}\n",
			[]wantErr{{line: 5, near: "abc", msg: `max_failures must be a number or a percentage, not "abc"`}}},
		{"max_failures a negative percentage", base + "fleet: {max_failures: -5%}\n",
			[]wantErr{{line: 5, near: "-5%", msg: `max_failures must be a number or a percentage, not "-5%"`}}},
		{"max_failures a fraction", base + "fleet: {max_failures: 0.5}\n",
			[]wantErr{{line: 5, near: "0.5", msg: `max_failures must be a number or a percentage, not "0.5"`}}},
		{"max_failures a list", base + "fleet: {max_failures: [1]}\n",
			[]wantErr{{line: 5, near: "[1]", msg: "max_failures must be a number or a percentage, not a list"}}},
		{"max_failures with no value", base + "fleet:\n  max_failures:\n",
			[]wantErr{{line: 6, near: "max_failures", msg: "max_failures must be a number or a percentage, not null"}}},

		// parallel.
		{"parallel zero", base + "fleet: {parallel: 0}\n",
			[]wantErr{{line: 5, near: "0}", msg: "parallel 0 is out of range: give 1 to 10000"}}},
		{"parallel negative", base + "fleet: {parallel: -3}\n",
			[]wantErr{{line: 5, near: "-3", msg: "parallel -3 is out of range: give 1 to 10000"}}},
		{"parallel too high", base + "fleet: {parallel: 10001}\n",
			[]wantErr{{line: 5, near: "10001", msg: "parallel 10001 is out of range: give 1 to 10000"}}},
		{"parallel a fraction", base + "fleet: {parallel: 1.5}\n",
			[]wantErr{{line: 5, near: "1.5", msg: `parallel must be a whole number, not a number "1.5"`}}},

		// Retries and durations out of range.
		{"retries negative", "name: n\napply: a\nrollback: r\nverify: {run: v, retries: -1}\n",
			[]wantErr{{line: 4, near: "-1", msg: "retries -1 is out of range: give 0 to 1000"}}},
		{"retries too many", "name: n\napply: a\nrollback: r\nverify: {run: v, retries: 1001}\n",
			[]wantErr{{line: 4, near: "1001", msg: "retries 1001 is out of range: give 0 to 1000"}}},
		{"zero timeout", base + "timeouts: {connect: 0s}\n",
			[]wantErr{{line: 5, near: "0s", msg: "the connect timeout must be more than zero"}}},
		{"keepalive too short", base + "timeouts: {keepalive: 1s}\n",
			[]wantErr{{line: 5, near: "1s", msg: "the keepalive timeout 1s is too short", hint: "give 2s or more: a probe goes out every half of it"}}},
		{"negative timeout", base + "timeouts: {apply: -1s}\n",
			[]wantErr{{line: 5, near: "-1s", msg: `apply timeout must be a duration, not a string "-1s"`}}},
		{"zero soak interval", base + "canary: {soak: 1m, interval: 0s}\n",
			[]wantErr{{line: 5, near: "0s", msg: "the soak interval must be more than zero"}}},
		{"soak interval a word", base + "canary: {soak: 1m, interval: often}\n",
			[]wantErr{{line: 5, near: "often", msg: `interval must be a duration, not a string "often"`}}},

		// Placeholders.
		{"swap placeholder in apply", "name: n\napply: promote {{.Promote}}\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: "promote", msg: "apply uses {{.Promote}}, which has no value there", hint: "placeholders here: {{.Host}}, {{.Address}}, {{.Service}}, {{.Change}}"}}},
		{"template function", "name: n\napply: a\nverify: \"test {{printf .Host}}\"\nrollback: r\n",
			[]wantErr{{line: 3, near: `"test`, msg: `verify: "{{printf .Host}}" is not a placeholder: write {{.Name}}, such as {{.Host}}`}}},
		{"template pipeline", "name: n\napply: a\nverify: v\nrollback: 'undo {{.Host | printf \"%q\"}}'\n",
			[]wantErr{{line: 4, near: "'undo", msg: `rollback: "{{.Host | printf \"%q\"}}" is not a placeholder: write {{.Name}}, such as {{.Host}}`}}},
		{"template dot", "name: n\napply: echo {{.}}\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: "echo", msg: `apply: "{{.}}" is not a placeholder: write {{.Name}}, such as {{.Host}}`}}},
		{"template trim marker", "name: n\napply: echo {{- .Host}}\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: "echo", msg: `apply: "{{- .Host}}" is not a placeholder: write {{.Name}}, such as {{.Host}}`}}},
		{"unclosed placeholder", "name: n\napply: echo {{.Host\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: "echo", msg: `apply: "{{.Host" is not a placeholder: write {{.Name}}, such as {{.Host}}`}}},
		{"stray closing braces", "name: n\napply: a\nverify: v\nrollback: x }} y\n",
			[]wantErr{{line: 4, near: "x }}", msg: "rollback: }} without a matching {{"}}},
		{"unknown placeholder", "name: n\napply: a\nverify: [v, \"check {{.Hostname}}\"]\nrollback: r\n",
			[]wantErr{{line: 3, near: `"check`, msg: "verify check 2 uses {{.Hostname}}, which has no value there"}}},
		{"dotted placeholder", "name: n\napply: echo {{.Host.Name}}\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: "echo", msg: "apply uses {{.Host.Name}}, which has no value there"}}},
		{"unknown placeholder in swap", base + "swap:\n  run: promote {{.Standby}}\n",
			[]wantErr{{line: 6, near: "promote", msg: "swap run uses {{.Standby}}, which has no value there", hint: "{{.Promote}}, {{.Demote}}"}}},
		{"host placeholder allowed, address not, in swap verify", base + "swap:\n  run: promote {{.Promote}}\n  verify: curl {{.Address}}\n",
			[]wantErr{{line: 7, near: "curl", msg: "swap verify uses {{.Address}}, which has no value there"}}},

		// Required keys and empty commands.
		{"only a name", "name: n\n", []wantErr{
			{line: 1, col: 1, msg: "the change has no apply command", hint: "add apply:"},
			{line: 1, col: 1, msg: "the change has no verify check; without one no phase can pass", hint: "add verify:"},
			{line: 1, col: 1, msg: "the change has no rollback command", hint: "add rollback:"},
		}},
		{"apply with nothing after it", "name: n\napply:\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: "apply", col: 1, msg: "the change has no apply command"}}},
		{"blank name", "name: \"  \"\napply: a\nverify: v\nrollback: r\n",
			[]wantErr{{line: 1, near: `"  "`, msg: "the change has no name", hint: "name: nginx 1.25.3"}}},
		{"empty command", "name: n\napply: \"\"\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: `""`, msg: "apply is an empty command"}}},
		{"blank command in a list", "name: n\napply: a\nverify: [v, \" \"]\nrollback: r\n",
			[]wantErr{{line: 3, near: `" "`, msg: "verify check 2 is an empty command"}}},
		{"NUL in a command", "name: n\napply: \"a\\0b\"\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: `"a`, msg: "apply holds a NUL byte"}}},
		{"empty verify list", "name: n\napply: a\nverify: []\nrollback: r\n",
			[]wantErr{{line: 3, near: "[]", msg: "verify is an empty list", hint: "give at least one command"}}},
		{"step without run", "name: n\napply: {pty: true}\nverify: v\nrollback: r\n",
			[]wantErr{{line: 2, near: "{", msg: "apply has no run command", hint: "add run:"}}},
		{"check without run", "name: n\napply: a\nverify: [{retries: 3}]\nrollback: r\n",
			[]wantErr{{line: 3, near: "{", msg: "verify has no run command"}}},
		{"rollback verify with nothing after it", "name: n\napply: a\nverify: v\nrollback:\n  run: r\n  verify:\n",
			[]wantErr{{line: 6, near: "verify", msg: "rollback verify has no check", hint: "leave verify out"}}},
		{"rollback verify an empty list", "name: n\napply: a\nverify: v\nrollback: {run: r, verify: []}\n",
			[]wantErr{{line: 4, near: "[]", msg: "rollback verify is an empty list"}}},
		{"rollback verify with a swap placeholder", "name: n\napply: a\nverify: v\nrollback: {run: r, verify: \"c {{.Demote}}\"}\n",
			[]wantErr{{line: 4, near: `"c`, msg: "rollback verify uses {{.Demote}}, which has no value there"}}},
		{"swap without run", base + "swap: {verify: \"curl {{.Promote}}\"}\n",
			[]wantErr{{line: 5, near: "{", msg: "swap has no run command", hint: "{{.Promote}} and {{.Demote}}"}}},

		// env.
		{"env name starting with a digit", base + "env: {1ST: x}\n",
			[]wantErr{{line: 5, near: "1ST", msg: `env name "1ST" is not valid`}}},
		{"env name with a dash", base + "env:\n  MY-VAR: x\n",
			[]wantErr{{line: 6, near: "MY-VAR", msg: `env name "MY-VAR" is not valid`}}},
		{"env with value and from_env", base + "env:\n  A: {value: x, from_env: B}\n",
			[]wantErr{{line: 6, near: "{", msg: "env A has both value and from_env", hint: "keep one"}}},
		{"env from_env not a name", base + "env:\n  A: {from_env: \"$(id)\"}\n",
			[]wantErr{{line: 6, near: `"$(id)"`, msg: `from_env "$(id)" is not a valid variable name`}}},
		{"env without a value", base + "env:\n  A: {secret: true}\n",
			[]wantErr{{line: 6, near: "{", msg: "env A has no value"}}},
		{"env with NUL", base + "env:\n  A: \"x\\0\"\n",
			[]wantErr{{line: 6, near: `"x`, msg: "env A holds a NUL byte"}}},
		{"env twice", base + "env:\n  A: x\n  A: y\n",
			[]wantErr{{line: 7, near: "A", msg: `"A" is given twice in env (first at line 6)`, hint: "remove one of them"}}},

		// Network checks, and what a check holds.
		{"run and http in one check", base + "preflight:\n  - {run: a, http: \"http://x\"}\n",
			[]wantErr{{line: 6, near: "{", msg: "preflight has both run and http", hint: "give each its own list item"}}},
		{"three kinds in one check", "name: n\napply: a\nrollback: r\nverify:\n  - v\n  - run: a\n    http: http://x\n    tcp: x:1\n",
			[]wantErr{{line: 6, near: "run", msg: "verify check 2 has run, http and tcp", hint: "keep one"}}},
		{"http and prometheus in one check", base + "preflight: {http: \"http://x\", prometheus: {url: \"http://p\", query: up, min: 1}}\n",
			[]wantErr{{line: 5, near: "{", msg: "preflight has both http and prometheus"}}},
		{"check with a name only", base + "preflight: [{name: disk}]\n",
			[]wantErr{{line: 5, near: "{name", msg: "preflight has no run command", hint: "or one of http:, tcp: or prometheus:"}}},
		{"check with run given no value", base + "preflight:\n  - name: disk\n    run:\n",
			[]wantErr{{line: 6, near: "name", msg: "preflight has no run command", hint: "add run:"}}},
		{"pty on an http check", base + "preflight:\n  - http: http://x\n    pty: true\n",
			[]wantErr{{line: 7, near: "true", msg: "preflight: pty is for run commands, not http checks", hint: "remove pty"}}},
		{"misspelt check kind", base + "preflight: [{promethus: {}}]\n", []wantErr{
			{line: 5, near: "{p", msg: "preflight has no run command"},
			{line: 5, near: "promethus", msg: `unknown key "promethus" in preflight`, hint: `did you mean "prometheus"?`},
		}},
		{"blank check name", base + "preflight: [{name: \" \", run: x}]\n",
			[]wantErr{{line: 5, near: `" "`, msg: "preflight has an empty name", hint: "leave name out"}}},
		{"check name with nothing after it", base + "preflight:\n  - run: x\n    name:\n",
			[]wantErr{{line: 7, near: "name", msg: "preflight has an empty name"}}},
		{"check name on two lines", base + "preflight: [{name: \"a\\nb\", run: x}]\n",
			[]wantErr{{line: 5, near: `"a`, msg: "preflight name holds a control character or a line break", hint: "one line"}}},
		{"check name a list", base + "preflight: [{name: [a], run: x}]\n",
			[]wantErr{{line: 5, near: "[a]", msg: "preflight name must be a string, not a list"}}},

		// http.
		{"http URL of another scheme", base + "preflight:\n  - http: ftp://{{.Address}}/x\n",
			[]wantErr{{line: 6, near: "ftp", msg: `preflight http url "ftp://{{.Address}}/x" is not an http or https URL`, hint: "http://{{.Address}}:8080/health"}}},
		{"http URL without a host", base + "preflight: [{http: \"http:///health\"}]\n",
			[]wantErr{{line: 5, near: `"http:`, msg: `preflight http url "http:///health" is not an http or https URL`}}},
		{"http URL that is only a placeholder", base + "preflight: [{http: \"{{.Address}}\"}]\n",
			[]wantErr{{line: 5, near: `"{{`, msg: `preflight http url "{{.Address}}" is not an http or https URL`}}},
		{"http URL with a port out of range", base + "preflight: [{http: \"http://{{.Address}}:65536/\"}]\n",
			[]wantErr{{line: 5, near: `"http`, msg: `preflight http url "http://{{.Address}}:65536/" has port 65536, out of range`}}},
		{"http URL with a space in the host", base + "preflight: [{http: \"http://a b/\"}]\n",
			[]wantErr{{line: 5, near: `"http`, msg: `preflight http url "http://a b/" is not an http or https URL`}}},
		{"http URL with a swap placeholder", base + "preflight: [{http: \"http://{{.Promote}}/\"}]\n",
			[]wantErr{{line: 5, near: `"http`, msg: "preflight http url uses {{.Promote}}, which has no value there", hint: "{{.Address}}"}}},
		{"http URL with a template function", base + "preflight: [{http: \"http://{{printf .Host}}/\"}]\n",
			[]wantErr{{line: 5, near: `"http`, msg: `preflight http url: "{{printf .Host}}" is not a placeholder: write {{.Name}}, such as {{.Host}}`}}},
		{"http URL blank", base + "preflight: [{http: {url: \" \"}}]\n",
			[]wantErr{{line: 5, near: `" "`, msg: "preflight http url is empty"}}},
		{"http URL a list", base + "preflight: [{http: {url: [a]}}]\n",
			[]wantErr{{line: 5, near: "[a]", msg: "preflight http url must be a string, not a list"}}},
		{"http without url", base + "preflight:\n  - http: {status: 200}\n",
			[]wantErr{{line: 6, near: "{", msg: "preflight http has no url", hint: "add url:"}}},
		{"http with nothing after it", base + "preflight:\n  - http:\n",
			[]wantErr{{line: 6, near: "http", msg: "preflight http has no url"}}},
		{"http a list", base + "preflight:\n  - http: [a]\n",
			[]wantErr{{line: 6, near: "[a]", msg: "preflight http must be a URL or a mapping with url:, not a list", hint: "http: {url: …, status: 200}"}}},
		{"http status too low", base + "preflight: [{http: {url: \"http://x\", status: 99}}]\n",
			[]wantErr{{line: 5, near: "99", msg: "preflight http status 99 is out of range: give 100 to 599", hint: "any 2xx"}}},
		{"http status too high", base + "preflight: [{http: {url: \"http://x\", status: 600}}]\n",
			[]wantErr{{line: 5, near: "600", msg: "preflight http status 600 is out of range: give 100 to 599"}}},
		{"http status a word", base + "preflight: [{http: {url: \"http://x\", status: ok}}]\n",
			[]wantErr{{line: 5, near: "ok", msg: `preflight http status must be a whole number, not a string "ok"`}}},
		{"http body_contains empty", base + "preflight: [{http: {url: \"http://x\", body_contains: \"\"}}]\n",
			[]wantErr{{line: 5, near: `""`, msg: "preflight http body_contains is empty", hint: "leave body_contains out"}}},
		{"http body_contains a list", base + "preflight: [{http: {url: \"http://x\", body_contains: [a]}}]\n",
			[]wantErr{{line: 5, near: "[a]", msg: "preflight http body_contains must be a string, not a list"}}},
		{"http from elsewhere", base + "preflight: [{http: {url: \"http://x\", from: remote}}]\n",
			[]wantErr{{line: 5, near: "remote", msg: `preflight http from must be console or host, not "remote"`, hint: "through its SSH connection"}}},
		{"http from a list", base + "preflight: [{http: {url: \"http://x\", from: [host]}}]\n",
			[]wantErr{{line: 5, near: "[host]", msg: "preflight http from must be a string, not a list"}}},
		{"http timeout a bare number", base + "preflight: [{http: {url: \"http://x\", timeout: 5}}]\n",
			[]wantErr{{line: 5, near: "5}", msg: "preflight http timeout needs a unit, not a bare number 5"}}},
		{"http key misspelt", base + "preflight: [{http: {url: \"http://x\", stauts: 200}}]\n",
			[]wantErr{{line: 5, near: "stauts", msg: `unknown key "stauts" in preflight http`, hint: `did you mean "status"?`}}},
		{"http placeholder for the host in swap verify", base + "swap:\n  run: p {{.Promote}}\n  verify: {http: \"http://{{.Address}}/\"}\n",
			[]wantErr{{line: 7, near: `"http`, msg: "swap verify http url uses {{.Address}}, which has no value there", hint: "{{.Promote}}"}}},

		// tcp.
		{"tcp without a port", base + "preflight: [{tcp: \"{{.Address}}\"}]\n",
			[]wantErr{{line: 5, near: `"{{`, msg: `preflight tcp address "{{.Address}}" is not host:port`, hint: `"[::1]:5432"`}}},
		{"tcp without a host", base + "preflight: [{tcp: \":5432\"}]\n",
			[]wantErr{{line: 5, near: `":5432"`, msg: `preflight tcp address ":5432" is not host:port`}}},
		{"tcp IPv6 without brackets", base + "preflight: [{tcp: \"::1:5432\"}]\n",
			[]wantErr{{line: 5, near: `"::1`, msg: `preflight tcp address "::1:5432" is not host:port`}}},
		{"tcp URL", base + "preflight: [{tcp: \"tcp://db:5432\"}]\n",
			[]wantErr{{line: 5, near: `"tcp:`, msg: `preflight tcp address "tcp://db:5432" is not host:port`}}},
		{"tcp port zero", base + "preflight: [{tcp: \"db:0\"}]\n",
			[]wantErr{{line: 5, near: `"db:0"`, msg: `preflight tcp address "db:0" has port "0", not a number from 1 to 65535`}}},
		{"tcp port a service name", base + "preflight: [{tcp: \"db:postgres\"}]\n",
			[]wantErr{{line: 5, near: `"db:`, msg: `preflight tcp address "db:postgres" has port "postgres", not a number from 1 to 65535`}}},
		{"tcp without address", base + "preflight: [{tcp: {timeout: 1s}}]\n",
			[]wantErr{{line: 5, near: "{timeout", msg: "preflight tcp has no address", hint: "add address:"}}},
		{"tcp a list", base + "preflight: [{tcp: [a]}]\n",
			[]wantErr{{line: 5, near: "[a]", msg: "preflight tcp must be host:port or a mapping with address:, not a list"}}},
		{"tcp key misspelt", base + "preflight: [{tcp: {adress: \"x:1\"}}]\n", []wantErr{
			{line: 5, near: "{adress", msg: "preflight tcp has no address"},
			{line: 5, near: "adress", msg: `unknown key "adress" in preflight tcp`, hint: `did you mean "address"?`},
		}},
		{"tcp with an unknown placeholder", base + "preflight: [{tcp: \"{{.Host}}:{{.Port}}\"}]\n",
			[]wantErr{{line: 5, near: `"{{`, msg: "preflight tcp address uses {{.Port}}, which has no value there"}}},

		// prometheus.
		{"prometheus a string", base + "preflight: [{prometheus: up}]\n",
			[]wantErr{{line: 5, near: "up", msg: `preflight prometheus must be a mapping with url, query and max or min, not a string "up"`, hint: "max: 0.01"}}},
		{"prometheus with nothing", base + "preflight:\n  - prometheus: {}\n", []wantErr{
			{line: 6, near: "{}", msg: "preflight prometheus has no url", hint: "http://prometheus:9090"},
			{line: 6, near: "{}", msg: "preflight prometheus has no query", hint: "PromQL"},
			{line: 6, near: "{}", msg: "preflight prometheus has neither max nor min", hint: "add max:"},
		}},
		{"prometheus max a string", base + "preflight: [{prometheus: {url: \"http://p\", query: up, max: \"1\"}}]\n",
			[]wantErr{{line: 5, near: `"1"`, msg: `preflight prometheus max must be a number, not a string "1"`}}},
		{"prometheus min infinite", base + "preflight: [{prometheus: {url: \"http://p\", query: up, min: .inf}}]\n",
			[]wantErr{{line: 5, near: ".inf", msg: `preflight prometheus min must be a finite decimal number, not a number ".inf"`}}},
		{"prometheus max with nothing after it", base + "preflight:\n  - prometheus:\n      url: http://p\n      query: up\n      max:\n",
			[]wantErr{{line: 9, near: "max", msg: "preflight prometheus max must be a number, not null"}}},
		{"prometheus min above max", base + "preflight: [{prometheus: {url: \"http://p\", query: up, min: 2, max: 1.5}}]\n",
			[]wantErr{{line: 5, near: "{url", msg: "preflight prometheus min 2 is above max 1.5: no value can pass"}}},
		{"prometheus url not a URL", base + "preflight: [{prometheus: {url: prometheus:9090, query: up, max: 1}}]\n",
			[]wantErr{{line: 5, near: "prometheus:9090", msg: `preflight prometheus url "prometheus:9090" is not an http or https URL`}}},
		{"prometheus query with a swap placeholder", base + "preflight: [{prometheus: {url: \"http://p\", query: \"up{i='{{.Demote}}'}\", max: 1}}]\n",
			[]wantErr{{line: 5, near: `"up`, msg: "preflight prometheus query uses {{.Demote}}, which has no value there"}}},
		{"prometheus key misspelt", base + "preflight: [{prometheus: {url: \"http://p\", query: up, maxx: 1}}]\n", []wantErr{
			{line: 5, near: "{url", msg: "preflight prometheus has neither max nor min"},
			{line: 5, near: "maxx", msg: `unknown key "maxx" in preflight prometheus`, hint: `did you mean "max"?`},
		}},

		// preflight.
		{"preflight an empty list", base + "preflight: []\n",
			[]wantErr{{line: 5, near: "[]", msg: "preflight is an empty list"}}},
		{"preflight with a swap placeholder", base + "preflight: \"ping -c1 {{.Promote}}\"\n",
			[]wantErr{{line: 5, near: `"ping`, msg: "preflight uses {{.Promote}}, which has no value there"}}},
		{"preflight misspelt", base + "prefligth: [x]\n",
			[]wantErr{{line: 5, near: "prefligth", msg: `unknown key "prefligth" in the change`, hint: `did you mean "preflight"?`}}},

		// fingerprint and capture.
		{"fingerprint name with a dash", base + "fingerprint:\n  os-release: cat /etc/os-release\n",
			[]wantErr{{line: 6, near: "os-release", msg: `fingerprint name "os-release" is not valid`, hint: "letters, digits and '_'"}}},
		{"capture name starting with a digit", base + "capture:\n  1st: cat /v\n",
			[]wantErr{{line: 6, near: "1st", msg: `capture name "1st" is not valid`, hint: "{{.Captured.NAME}}"}}},
		{"capture given twice", base + "capture:\n  v: cat /v\n  v: cat /w\n",
			[]wantErr{{line: 7, near: "v", msg: `"v" is given twice in capture (first at line 6)`}}},
		{"capture with nothing after it", base + "capture:\n  v:\n",
			[]wantErr{{line: 6, near: "v", msg: "capture v has no command", hint: "v: cat /etc/myapp/version"}}},
		{"capture without run", base + "capture:\n  v: {timeout: 5s}\n",
			[]wantErr{{line: 6, near: "{", msg: "capture v has no run command", hint: "add run:"}}},
		{"capture with an unknown key", base + "capture:\n  v: {run: cat /v, pyt: true}\n",
			[]wantErr{{line: 6, near: "pyt", msg: `unknown key "pyt" in capture v`, hint: `did you mean "pty"?`}}},
		{"capture a list", base + "capture: [cat /v]\n",
			[]wantErr{{line: 5, near: "[", msg: "capture must be a mapping of key: value, not a list"}}},
		{"fingerprint command a list", base + "fingerprint: {os: [a]}\n",
			[]wantErr{{line: 5, near: "[a]", msg: "fingerprint os must be a string, not a list"}}},
		{"fingerprint with a swap placeholder", base + "fingerprint: {os: \"ssh {{.Promote}} uname\"}\n",
			[]wantErr{{line: 5, near: `"ssh`, msg: "fingerprint os uses {{.Promote}}, which has no value there"}}},
		{"captures misspelt", base + "captures: {v: cat /v}\n",
			[]wantErr{{line: 5, near: "captures", msg: `unknown key "captures" in the change`, hint: `did you mean "capture"?`}}},

		// {{.Captured.NAME}}.
		{"captured value in apply", base[:len("name: n\n")] + "apply: \"echo {{.Captured.v}}\"\nverify: v\nrollback: r\ncapture: {v: cat /v}\n",
			[]wantErr{{line: 2, near: `"echo`, msg: "apply uses {{.Captured.v}}, but captured values exist only in rollback", hint: "rollback: its run and its verify checks"}}},
		{"captured value in verify", "name: n\napply: a\nverify: [v, {tcp: \"{{.Address}}:{{.Captured.port}}\"}]\nrollback: r\ncapture: {port: cat /port}\n",
			[]wantErr{{line: 3, near: `"{{`, msg: "verify check 2 tcp address uses {{.Captured.port}}, but captured values exist only in rollback"}}},
		{"captured value in preflight", base + "preflight: \"test {{.Captured.v}}\"\ncapture: {v: cat /v}\n",
			[]wantErr{{line: 5, near: `"test`, msg: "preflight uses {{.Captured.v}}, but captured values exist only in rollback"}}},
		{"captured value in a capture", base + "capture: {v: cat /v, w: \"echo {{.Captured.v}}\"}\n",
			[]wantErr{{line: 5, near: `"echo`, msg: "capture w uses {{.Captured.v}}, but captured values exist only in rollback"}}},
		{"captured value in swap", base + "swap: {run: \"p {{.Promote}} {{.Captured.v}}\"}\ncapture: {v: cat /v}\n",
			[]wantErr{{line: 5, near: `"p`, msg: "swap run uses {{.Captured.v}}, but captured values exist only in rollback"}}},
		{"captured value that is not declared", "name: n\napply: a\nverify: v\nrollback: \"undo {{.Captured.verison}}\"\ncapture:\n  version: cat /v\n  build: cat /b\n",
			[]wantErr{{line: 4, near: `"undo`, msg: `rollback uses {{.Captured.verison}}, but no capture is named "verison"`, hint: "captures: {{.Captured.version}}, {{.Captured.build}}"}}},
		{"captured value without any capture", "name: n\napply: a\nverify: v\nrollback: \"undo {{.Captured.v}}\"\n",
			[]wantErr{{line: 4, near: `"undo`, msg: `rollback uses {{.Captured.v}}, but no capture is named "v"`, hint: "declare the command whose output you need under capture:"}}},
		{"captured value without a name", "name: n\napply: a\nverify: v\nrollback: \"undo {{.Captured}}\"\ncapture: {v: cat /v}\n",
			[]wantErr{{line: 4, near: `"undo`, msg: "rollback uses {{.Captured}} without naming a capture", hint: "write {{.Captured.NAME}}; captures: {{.Captured.v}}"}}},
		{"captured value with a dotted name", "name: n\napply: a\nverify: v\nrollback: \"undo {{.Captured.v.x}}\"\ncapture: {v: cat /v}\n",
			[]wantErr{{line: 4, near: `"undo`, msg: `rollback uses {{.Captured.v.x}}, but no capture is named "v.x"`}}},
		{"captured value undeclared in rollback verify http", "name: n\napply: a\nverify: v\nrollback:\n  run: r\n  verify: {http: \"http://{{.Address}}/v/{{.Captured.x}}\"}\ncapture: {v: cat /v}\n",
			[]wantErr{{line: 6, near: `"http`, msg: `rollback verify http url uses {{.Captured.x}}, but no capture is named "x"`}}},
		{"unknown placeholder in rollback lists the captures", "name: n\napply: a\nverify: v\nrollback: \"undo {{.Hst}}\"\ncapture: {v: cat /v}\n",
			[]wantErr{{line: 4, near: `"undo`, msg: "rollback uses {{.Hst}}, which has no value there", hint: "{{.Change}}, {{.Captured.v}}"}}},

		// lock.
		{"lock yes", base + "lock: yes\n",
			[]wantErr{{line: 5, near: "yes", msg: `lock must be true, false or {path: …}, not a string "yes"`, hint: "lock: false turns the lock off"}}},
		{"lock a number", base + "lock: 1\n",
			[]wantErr{{line: 5, near: "1", msg: `lock must be true, false or {path: …}, not a number "1"`}}},
		{"lock a list", base + "lock: [/var/lock/x]\n",
			[]wantErr{{line: 5, near: "[", msg: "lock must be true, false or {path: …}, not a list"}}},
		{"lock path empty", base + "lock: {path: \"\"}\n",
			[]wantErr{{line: 5, near: `""`, msg: "the lock path is empty", hint: "leave path out for .rollout/locks/{{.Service}}"}}},
		{"lock path with nothing after it", base + "lock:\n  path:\n",
			[]wantErr{{line: 6, near: "path", msg: "lock path must be a string, not null"}}},
		{"lock path on two lines", base + "lock: {path: \"/var/lock\\nx\"}\n",
			[]wantErr{{line: 5, near: `"/var`, msg: "the lock path holds a control character or a line break"}}},
		{"lock path with NUL", base + "lock: {path: \"/var/lock\\0\"}\n",
			[]wantErr{{line: 5, near: `"/var`, msg: "the lock path holds a control character or a line break"}}},
		{"lock path with a line separator", base + "lock: {path: \"/var/lock\\u2028\"}\n",
			[]wantErr{{line: 5, near: `"/var`, msg: "the lock path holds a control character or a line break"}}},
		{"lock path under ~", base + "lock: {path: ~/locks}\n",
			[]wantErr{{line: 5, near: "~/", msg: `the lock path "~/locks" starts with ~, which is not expanded`, hint: "relative to the login directory"}}},
		{"lock path the root", base + "lock: {path: /}\n",
			[]wantErr{{line: 5, near: "/}", msg: `the lock path "/" names no directory of its own`, hint: "a directory of its own"}}},
		{"lock path back up to the login directory", base + "lock: {path: \"locks/{{.Service}}/../..\"}\n",
			[]wantErr{{line: 5, near: `"locks`, msg: `the lock path "locks/{{.Service}}/../.." names no directory of its own`}}},
		{"lock path like an option", base + "lock: {path: -rf}\n",
			[]wantErr{{line: 5, near: "-rf", msg: `the lock path "-rf" starts with -, and would be read as an option`, hint: "write ./-rf"}}},
		{"lock path with a host placeholder", base + "lock: {path: \"/run/{{.Host}}\"}\n",
			[]wantErr{{line: 5, near: `"/run`, msg: "lock path uses {{.Host}}, which has no value there", hint: "placeholders here: {{.Service}}"}}},
		{"lock path a list", base + "lock: {path: [a]}\n",
			[]wantErr{{line: 5, near: "[a]", msg: "lock path must be a string, not a list"}}},
		{"lock key misspelt", base + "lock: {pth: /x}\n",
			[]wantErr{{line: 5, near: "pth", msg: `unknown key "pth" in lock`, hint: `did you mean "path"?`}}},

		// on.
		{"on event misspelt", base + "on:\n  finish: ./chat.sh\n",
			[]wantErr{{line: 6, near: "finish", msg: `unknown key "finish" in on`, hint: `did you mean "finished"? keys of on: gate, failed, finished, rolled_back`}}},
		{"on event unknown", base + "on:\n  started: ./chat.sh\n",
			[]wantErr{{line: 6, near: "started", msg: `unknown key "started" in on`, hint: "known keys: gate, failed, finished, rolled_back"}}},
		{"on event with nothing after it", base + "on:\n  failed:\n",
			[]wantErr{{line: 6, near: "failed", msg: "on failed has no command", hint: "the event as JSON on stdin"}}},
		{"on event without run", base + "on:\n  gate: {timeout: 5s}\n",
			[]wantErr{{line: 6, near: "{", msg: "on gate has no command"}}},
		{"on event a list", base + "on:\n  gate: [a, b]\n",
			[]wantErr{{line: 6, near: "[a", msg: "on gate must be a string, not a list"}}},
		{"on event blank", base + "on: {rolled_back: \" \"}\n",
			[]wantErr{{line: 5, near: `" "`, msg: "on rolled_back is an empty command"}}},
		{"on event with NUL", base + "on: {gate: \"a\\0\"}\n",
			[]wantErr{{line: 5, near: `"a`, msg: "on gate holds a NUL byte"}}},
		{"on timeout a word", base + "on: {gate: {run: x, timeout: soon}}\n",
			[]wantErr{{line: 5, near: "soon", msg: `on gate timeout must be a duration, not a string "soon"`}}},
		{"on key in a hook misspelt", base + "on: {gate: {rn: x}}\n", []wantErr{
			{line: 5, near: "{rn", msg: "on gate has no command"},
			{line: 5, near: "rn:", msg: `unknown key "rn" in on gate`, hint: `did you mean "run"?`},
		}},
		{"on a list", base + "on: [x]\n",
			[]wantErr{{line: 5, near: "[x]", msg: "on must be a mapping of key: value, not a list"}}},

		// groups.
		{"groups role misspelt", base + "groups:\n  primry: web_a\n",
			[]wantErr{{line: 6, near: "primry", msg: `unknown key "primry" in groups`, hint: `did you mean "primary"? keys of groups: test, standby, primary, canary, fleet`}}},
		{"groups role unknown", base + "groups:\n  database: db\n",
			[]wantErr{{line: 6, near: "database", msg: `unknown key "database" in groups`, hint: "known keys: test, standby, primary, canary, fleet"}}},
		{"groups role with no group", base + "groups:\n  test: []\n  fleet:\n",
			[]wantErr{
				{line: 6, near: "[]", msg: "groups test names no group", hint: "test: web_test"},
				{line: 7, near: "fleet", msg: "groups fleet names no group"},
			}},
		{"group given twice for a role", base + "groups:\n  fleet: [web, api, web]\n",
			[]wantErr{{line: 6, near: "web]", msg: `group "web" is given twice in groups fleet`, hint: "remove one of them"}}},
		{"group given for two roles", base + "groups:\n  fleet: web\n  canary: [canary, web]\n",
			[]wantErr{{line: 7, near: "web]", msg: `group "web" is given for both fleet and canary`, hint: "a host plays one role"}}},
		{"group name with a space", base + "groups:\n  test: \"web test\"\n",
			[]wantErr{{line: 6, near: `"web`, msg: `groups test: "web test" is not a group name`, hint: "an Ansible group name"}}},
		{"group name a mapping", base + "groups:\n  test: [{a: b}]\n",
			[]wantErr{{line: 6, near: "{a", msg: "groups test must be a string, not a mapping"}}},
		{"groups a list", base + "groups: [web]\n",
			[]wantErr{{line: 5, near: "[web]", msg: "groups must be a mapping of key: value, not a list"}}},

		// YAML itself.
		{"syntax error", "name: n\napply: \"unterminated\nverify: v\n",
			[]wantErr{{line: 2, near: `"`, msg: "YAML syntax: could not find end character of double-quoted text"}}},
		{"alias refused", "name: &n nginx\napply: a\nverify: v\nrollback: r\nenv: {NAME: *n}\n",
			[]wantErr{{line: 5, near: "*n", msg: "YAML aliases (*name) are not supported"}}},
		{"merge key refused", base + "canary:\n  <<: {soak: 1m}\n",
			[]wantErr{{line: 6, near: "<<", msg: "YAML merge keys (<<) are not supported"}}},
		{"two documents", base + "---\n" + base,
			[]wantErr{{line: 6, near: "name", msg: "the file holds 2 YAML documents; rollout reads exactly one"}}},
		{"key given twice", base + "apply: b\n",
			[]wantErr{{line: 5, near: "apply", msg: `"apply" is given twice in the change (first at line 2)`}}},

		// Empty files.
		{"empty file", "", []wantErr{{line: 1, col: 1, msg: "the change file is empty", hint: "examples/change.yaml"}}},
		{"only a document marker", "---\n...\n", []wantErr{{line: 1, col: 1, msg: "the change file is empty"}}},
		{"only comments", "# to do\n", []wantErr{{line: 1, col: 1, msg: "the change file is empty"}}},
		{"only null", "null\n", []wantErr{{line: 1, col: 1, msg: "the change file is empty"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("change.yaml", []byte(tt.in), Options{Getenv: noEnv})
			if c != nil {
				t.Errorf("got a change along with the error")
			}
			checkErrs(t, "change.yaml", tt.in, err, tt.want)
		})
	}
}

// TestParseReportsEveryProblem checks that five problems in five places are
// five errors, in file order, not only the first.
func TestParseReportsEveryProblem(t *testing.T) {
	src := `name: five problems
apply: install {{.Promote}}
verify:
  - run: curl -fsS localhost
    retires: 3
rollback: undo
fleet:
  batches: [1, 10%]
  parallel: 0
env:
  9LIVES: x
`
	_, err := Parse("change.yaml", []byte(src), Options{Getenv: noEnv})
	checkErrs(t, "change.yaml", src, err, []wantErr{
		{line: 2, near: "install", msg: "apply uses {{.Promote}}, which has no value there"},
		{line: 5, near: "retires", msg: `unknown key "retires" in verify`},
		{line: 8, near: "[1", msg: "the batch list never reaches 100% of the fleet"},
		{line: 9, near: "0", msg: "parallel 0 is out of range: give 1 to 10000"},
		{line: 11, near: "9LIVES", msg: `env name "9LIVES" is not valid`},
	})
	if n := len(diagList(t, err)); n != 5 {
		t.Errorf("got %d problems, want 5", n)
	}
}

func TestLoadFileProblems(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(dir, "change.yaml"), filepath.Join(dir, "change.yaml") + ": no such file\n\thint: check the path given with -i or -c"},
		{dir, dir + ": is a directory, not a file\n\thint: give the file inside it"},
	} {
		c, err := Load(tt.path, Options{})
		if c != nil || err == nil || err.Error() != tt.want {
			t.Errorf("Load(%s) = %v, %v; want error %q", tt.path, c, err, tt.want)
		}
		if l := diagList(t, err); len(l) != 1 || l[0].Line != 0 {
			t.Errorf("Load(%s): %#v, want one problem about the whole file", tt.path, l)
		}
	}
}

func TestLoadExample(t *testing.T) {
	c, err := Load("../../examples/change.yaml", Options{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if c.File != "../../examples/change.yaml" || c.Name != "nginx 1.25.3" {
		t.Errorf("file %q, name %q", c.File, c.Name)
	}
	if got := c.Apply.Run.String(); got != "sudo apt-get install -y nginx=1.25.3-1" {
		t.Errorf("apply %q", got)
	}
	if c.Apply.Pos != (diag.Pos{Line: 5, Col: 8}) {
		t.Errorf("apply at %v, want 5:8", c.Apply.Pos)
	}
	if len(c.Verify) != 2 {
		t.Fatalf("%d checks, want 2", len(c.Verify))
	}
	v0, v1 := c.Verify[0], c.Verify[1]
	if v0.Run.String() != "curl -fsS http://localhost/healthz" || v0.Retries != 5 || v0.Interval != 2*time.Second || v0.Timeout != 0 {
		t.Errorf("check 1: %+v", v0)
	}
	if v1.Run.String() != "nginx -v 2>&1 | grep -q 1.25.3" || v1.Retries != 0 || v1.Interval != DefaultInterval {
		t.Errorf("check 2: %+v", v1)
	}
	if c.Swap == nil || c.Swap.Run.Run.String() != "sudo /usr/local/bin/promote {{.Promote}} --demote {{.Demote}}" ||
		!slices.Equal(c.Swap.Run.Run.Fields(), []string{"Promote", "Demote"}) || len(c.Swap.Verify) != 1 {
		t.Errorf("swap: %+v", c.Swap)
	}
	if c.Canary != (Canary{Soak: 2 * time.Minute, Interval: 15 * time.Second}) {
		t.Errorf("canary %+v", c.Canary)
	}
	wantFleet := Fleet{Batches: []Batch{{N: 1}, {N: 10, Percent: true}, {N: 50, Percent: true}, {N: 100, Percent: true}}, Parallel: 20}
	if !reflect.DeepEqual(c.Fleet, wantFleet) {
		t.Errorf("fleet %+v, want %+v", c.Fleet, wantFleet)
	}
	wantTimeouts := Timeouts{Connect: 10 * time.Second, Apply: 10 * time.Minute, Verify: 2 * time.Minute, Rollback: DefaultRollbackTimeout, Swap: DefaultSwapTimeout}
	if c.Timeouts != wantTimeouts {
		t.Errorf("timeouts %+v, want %+v", c.Timeouts, wantTimeouts)
	}
	if !reflect.DeepEqual(c.Env, []EnvVar{{Name: "DEBIAN_FRONTEND", Value: "noninteractive"}}) {
		t.Errorf("env %+v", c.Env)
	}
	if len(c.Digest) != 64 || strings.Trim(c.Digest, "0123456789abcdef") != "" || c.ShortDigest() != c.Digest[:12] {
		t.Errorf("digest %q, short %q", c.Digest, c.ShortDigest())
	}
}

// TestParseDefaults checks what the smallest change gets when it is silent.
func TestParseDefaults(t *testing.T) {
	c, err := Parse("change.yaml", []byte(base), Options{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if c.Swap != nil || c.Env != nil {
		t.Errorf("swap %v, env %v; want none", c.Swap, c.Env)
	}
	if c.Canary != (Canary{Interval: DefaultSoakInterval}) {
		t.Errorf("canary %+v", c.Canary)
	}
	if !reflect.DeepEqual(c.Fleet, Fleet{Batches: DefaultBatches, Parallel: DefaultParallel}) {
		t.Errorf("fleet %+v", c.Fleet)
	}
	want := Timeouts{Connect: DefaultConnectTimeout, Apply: DefaultApplyTimeout, Verify: DefaultVerifyTimeout, Rollback: DefaultRollbackTimeout, Swap: DefaultSwapTimeout}
	if c.Timeouts != want {
		t.Errorf("timeouts %+v", c.Timeouts)
	}
}

// TestVerifyForms checks that a command, one check written out, and a list of
// either all read the same.
func TestVerifyForms(t *testing.T) {
	one := Check{Interval: DefaultInterval}
	tests := []struct {
		verify string
		want   []Check
	}{
		{"verify: curl localhost", []Check{one}},
		{"verify: [curl localhost]", []Check{one}},
		{"verify: {run: curl localhost}", []Check{one}},
		{"verify:\n  - run: curl localhost", []Check{one}},
		{"verify: {run: curl localhost, retries: 3, interval: 1s, timeout: 5s, pty: true}",
			[]Check{{Step: Step{PTY: true, Timeout: 5 * time.Second}, Retries: 3, Interval: time.Second}}},
		{"verify: [curl localhost, {run: curl localhost, retries: 2}]", []Check{one, {Retries: 2, Interval: DefaultInterval}}},
	}
	for _, tt := range tests {
		c, err := Parse("change.yaml", []byte("name: n\napply: a\nrollback: r\n"+tt.verify+"\n"), Options{Getenv: noEnv})
		if err != nil {
			t.Errorf("%s: %v", tt.verify, err)
			continue
		}
		if len(c.Verify) != len(tt.want) {
			t.Errorf("%s: %d checks, want %d", tt.verify, len(c.Verify), len(tt.want))
			continue
		}
		for i, got := range c.Verify {
			if got.Run == nil || got.Run.String() != "curl localhost" || got.Pos.Line < 4 {
				t.Errorf("%s: check %d runs %v at %v", tt.verify, i+1, got.Run, got.Pos)
			}
			got.Run, got.Pos = nil, diag.Pos{}
			if !reflect.DeepEqual(got, tt.want[i]) {
				t.Errorf("%s: check %d\n got %+v\nwant %+v", tt.verify, i+1, got, tt.want[i])
			}
		}
	}
}

func TestBatchAndBudget(t *testing.T) {
	for _, tt := range []struct {
		b     Batch
		total int
		size  int
		text  string
	}{
		{Batch{N: 1}, 38, 1, "1"},
		{Batch{N: 5}, 3, 5, "5"},
		{Batch{N: 10, Percent: true}, 38, 3, "10%"},
		{Batch{N: 10, Percent: true}, 5, 1, "10%"}, // at least one host
		{Batch{N: 50, Percent: true}, 38, 19, "50%"},
		{Batch{N: 100, Percent: true}, 38, 38, "100%"},
	} {
		if got := tt.b.Size(tt.total); got != tt.size {
			t.Errorf("%v.Size(%d) = %d, want %d", tt.b, tt.total, got, tt.size)
		}
		if got := tt.b.String(); got != tt.text {
			t.Errorf("String() = %q, want %q", got, tt.text)
		}
	}
	for _, tt := range []struct {
		b       Budget
		total   int
		allowed int
		text    string
	}{
		{Budget{}, 38, 0, "0"},
		{Budget{N: 3}, 38, 3, "3"},
		{Budget{N: 5, Percent: true}, 38, 1, "5%"},
		{Budget{N: 5, Percent: true}, 10, 0, "5%"}, // rounded down, may be none
		{Budget{N: 100, Percent: true}, 38, 38, "100%"},
	} {
		if got := tt.b.Allowed(tt.total); got != tt.allowed {
			t.Errorf("%v.Allowed(%d) = %d, want %d", tt.b, tt.total, got, tt.allowed)
		}
		if got := tt.b.String(); got != tt.text {
			t.Errorf("String() = %q, want %q", got, tt.text)
		}
	}
	c, err := Parse("change.yaml", []byte(base+"fleet: {batches: [2, \"25 %\", 100%], max_failures: 5%}\n"), Options{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Batch{{N: 2}, {N: 25, Percent: true}, {N: 100, Percent: true}}; !slices.Equal(c.Fleet.Batches, want) {
		t.Errorf("batches %v, want %v", c.Fleet.Batches, want)
	}
	if c.Fleet.MaxFailures != (Budget{N: 5, Percent: true}) {
		t.Errorf("max_failures %v", c.Fleet.MaxFailures)
	}
}

// digestOf parses src and returns its digest, failing on any error.
func digestOf(t *testing.T, src string, getenv func(string) string) string {
	t.Helper()
	c, err := Parse("change.yaml", []byte(src), Options{Getenv: getenv})
	if err != nil {
		t.Fatalf("%v\nin:\n%s", err, src)
	}
	return c.Digest
}

// digestBase is a change using every section, written in block style.
const digestBase = `name: nginx 1.25.3
apply:
  run: sudo apt-get install -y nginx=1.25.3-1
  pty: true
verify:
  - run: curl -fsS http://localhost/healthz
    retries: 5
    interval: 2s
  - nginx -v 2>&1 | grep -q 1.25.3
rollback: sudo apt-get install -y --allow-downgrades nginx=1.24.0-1
swap:
  run: sudo promote {{.Promote}} --demote {{.Demote}}
  verify: curl -fsS http://{{.Promote}}/healthz
canary:
  soak: 2m
  interval: 15s
fleet:
  batches:
    - 1
    - 10%
    - 100%
  parallel: 20
  max_failures: 0
timeouts:
  connect: 10s
  apply: 10m
env:
  DEBIAN_FRONTEND: noninteractive
  LANG: C
  TOKEN: {from_env: DEPLOY_TOKEN, secret: true}
`

// TestDigestPinned pins the digests of changes written before the file
// grew keys: a rollout journaled under one of them must still resume after
// an upgrade, since resume refuses a change whose digest differs. If this
// fails, the canonical form of an existing change moved; fix that, never the
// pinned values.
func TestDigestPinned(t *testing.T) {
	c, err := Load("../../examples/change.yaml", Options{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, got, want string }{
		{"examples/change.yaml", c.Digest, "bc8a5cc6e8f1088472a61d1cb07e9b105aba73571d1747c000b8f0926f3e0d26"},
		{"digestBase", digestOf(t, digestBase, noEnv), "eaa616b0a5370e24889708057503e565dd447e8346d0a5357249599cf0cf20a9"},
		{"base", digestOf(t, base, noEnv), "8b8f8a7ae1ec31774e900b02f4a8fe85ee62ad82ed628eb028d05583504023e0"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: digest %s, pinned %s", tt.name, tt.got, tt.want)
		}
	}
}

// TestDigestIgnoresFormatting checks that the digest is of what the change
// does: reindenting, reordering keys, flow or block style, quoting, comments,
// spelling a default out or a duration another way do not change it.
func TestDigestIgnoresFormatting(t *testing.T) {
	want := digestOf(t, digestBase, noEnv)
	same := map[string]string{
		"reindented": strings.NewReplacer("\n  ", "\n      ", "\n    ", "\n          ").Replace(digestBase),
		"keys reordered": `# comments do not count
env:
  TOKEN: {secret: true, from_env: DEPLOY_TOKEN}
  LANG: C
  DEBIAN_FRONTEND: noninteractive
timeouts: {apply: 10m, connect: 10s}
fleet:
  max_failures: 0
  parallel: 20
  batches: [1, 10%, 100%]
canary: {interval: 15s, soak: 2m}
swap:
  verify: curl -fsS http://{{.Promote}}/healthz
  run: sudo promote {{.Promote}} --demote {{.Demote}}
rollback: sudo apt-get install -y --allow-downgrades nginx=1.24.0-1
verify:
  - interval: 2s
    retries: 5
    run: curl -fsS http://localhost/healthz
  - nginx -v 2>&1 | grep -q 1.25.3
apply: {pty: true, run: sudo apt-get install -y nginx=1.25.3-1}
name: nginx 1.25.3
`,
		"flow style": `{name: nginx 1.25.3, apply: {run: sudo apt-get install -y nginx=1.25.3-1, pty: true},
 verify: [{run: "curl -fsS http://localhost/healthz", retries: 5, interval: 2s}, "nginx -v 2>&1 | grep -q 1.25.3"],
 rollback: sudo apt-get install -y --allow-downgrades nginx=1.24.0-1,
 swap: {run: "sudo promote {{.Promote}} --demote {{.Demote}}", verify: ["curl -fsS http://{{.Promote}}/healthz"]},
 canary: {soak: 2m, interval: 15s}, fleet: {batches: [1, 10%, 100%], parallel: 20, max_failures: 0},
 timeouts: {connect: 10s, apply: 10m}, env: {DEBIAN_FRONTEND: noninteractive, LANG: C, TOKEN: {from_env: DEPLOY_TOKEN, secret: true}}}
`,
		"quoting and equivalent spellings": strings.NewReplacer(
			"name: nginx 1.25.3", `name: "nginx 1.25.3"`,
			"rollback: sudo", "rollback: 'sudo",
			"nginx=1.24.0-1\n", "nginx=1.24.0-1'\n",
			"soak: 2m", "soak: 120s",
			"parallel: 20", "parallel: 20\n  # spelt out\n",
			"apply: 10m", "apply: 10m0s\n  verify: 2m\n  rollback: 10m\n  swap: 5m",
		).Replace(digestBase),
		"secret value differs": digestBase,
	}
	for name, src := range same {
		getenv := noEnv
		if name == "secret value differs" {
			getenv = func(string) string { return "another-secret" }
		}
		if got := digestOf(t, src, getenv); got != want {
			t.Errorf("%s: digest changed\n%s", name, src)
		}
	}
}

// TestDigestFollowsMeaning checks that changing what any command does, or how
// the rollout is paced, changes the digest.
func TestDigestFollowsMeaning(t *testing.T) {
	seen := map[string]string{"base": digestOf(t, digestBase, noEnv)}
	for name, r := range map[string][2]string{
		"apply command":   {"nginx=1.25.3-1\n", "nginx=1.25.4-1\n"},
		"apply pty":       {"pty: true", "pty: false"},
		"verify command":  {"localhost/healthz", "localhost/health"},
		"verify retries":  {"retries: 5", "retries: 4"},
		"verify order":    {"  - run: curl -fsS http://localhost/healthz\n    retries: 5\n    interval: 2s\n  - nginx -v 2>&1 | grep -q 1.25.3\n", "  - nginx -v 2>&1 | grep -q 1.25.3\n  - run: curl -fsS http://localhost/healthz\n    retries: 5\n    interval: 2s\n"},
		"rollback":        {"nginx=1.24.0-1", "nginx=1.24.1-1"},
		"swap command":    {"--demote", "--retire"},
		"soak":            {"soak: 2m", "soak: 3m"},
		"batches":         {"- 10%", "- 20%"},
		"max_failures":    {"max_failures: 0", "max_failures: 1"},
		"timeout":         {"connect: 10s", "connect: 11s"},
		"env value":       {"LANG: C", "LANG: C.UTF-8"},
		"secret env name": {"DEPLOY_TOKEN", "OTHER_TOKEN"},
		"name":            {"name: nginx 1.25.3", "name: nginx 1.25.3 again"},
	} {
		src := strings.Replace(digestBase, r[0], r[1], 1)
		if src == digestBase {
			t.Fatalf("%s: %q is not in the change", name, r[0])
		}
		d := digestOf(t, src, noEnv)
		for other, od := range seen {
			if od == d {
				t.Errorf("%s: same digest as %s", name, other)
			}
		}
		seen[name] = d
	}
}

// TestSecretsStayOut checks that a secret value is in neither the JSON (the
// digest's input and --json's output) nor the digest, while Secrets returns
// it for redaction.
func TestSecretsStayOut(t *testing.T) {
	const secret = "hunter2-s3cr3t"
	src := base + `env:
  PLAIN: visible-value
  INLINE: {value: ` + secret + `-inline, secret: true}
  FROM: {from_env: DEPLOY_TOKEN, secret: true}
  FROMPLAIN: {from_env: OTHER}
`
	getenv := func(name string) string {
		switch name {
		case "DEPLOY_TOKEN":
			return secret
		case "OTHER":
			return "from-the-operator"
		}
		return ""
	}
	c, err := Parse("change.yaml", []byte(src), Options{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := []EnvVar{
		{Name: "PLAIN", Value: "visible-value"},
		{Name: "INLINE", Value: secret + "-inline", Secret: true},
		{Name: "FROM", Value: secret, Secret: true, FromEnv: "DEPLOY_TOKEN"},
		{Name: "FROMPLAIN", Value: "from-the-operator", FromEnv: "OTHER"},
	}
	if !reflect.DeepEqual(c.Env, wantEnv) {
		t.Fatalf("env\n got %+v\nwant %+v", c.Env, wantEnv)
	}
	if got := c.Secrets(); !slices.Equal(got, []string{secret + "-inline", secret}) {
		t.Errorf("Secrets() = %q", got)
	}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	js := string(data)
	if strings.Contains(js, secret) || strings.Contains(js, "from-the-operator") {
		t.Errorf("JSON holds a secret or an operator's environment value:\n%s", js)
	}
	for _, want := range []string{`{"name":"PLAIN","value":"visible-value"}`, `{"name":"INLINE","secret":true}`, `{"name":"FROM","secret":true,"from_env":"DEPLOY_TOKEN"}`} {
		if !strings.Contains(js, want) {
			t.Errorf("JSON lacks %s:\n%s", want, js)
		}
	}
	if strings.Contains(c.Digest, secret) {
		t.Errorf("digest holds the secret")
	}
	// The digest is of the JSON without secrets: other secret values, same digest.
	other := strings.Replace(src, secret+"-inline", "something-else", 1)
	if d := digestOf(t, other, func(string) string { return "x" }); d != c.Digest {
		t.Errorf("digest depends on secret values")
	}
}

func TestTemplateJSON(t *testing.T) {
	c, err := Parse("change.yaml", []byte("name: n\napply: echo {{.Host}}\nverify: v\nrollback: r\n"), Options{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(c.Apply)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"run":"echo {{.Host}}"}` {
		t.Errorf("apply as JSON: %s", data)
	}
}

func TestRollbackVerify(t *testing.T) {
	base := "name: x\napply: a\nverify: check-new\n"
	c, err := Parse("change.yaml", []byte(base+"rollback: undo\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RollbackVerify) != 1 || c.RollbackVerify[0].Run.String() != "check-new" {
		t.Errorf("rollback verify defaults to verify: %+v", c.RollbackVerify)
	}
	c, err = Parse("change.yaml", []byte(base+"rollback:\n  run: undo\n  verify: check-old\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RollbackVerify) != 1 || c.RollbackVerify[0].Run.String() != "check-old" {
		t.Errorf("rollback verify: %+v", c.RollbackVerify)
	}
	if _, err := Parse("change.yaml", []byte(base+"rollback:\n  run: undo\n  verfy: x\n"), Options{}); err == nil || !strings.Contains(err.Error(), `did you mean "verify"`) {
		t.Errorf("typo in rollback: %v", err)
	}
}

// tmpl parses a template the way the change parser does, for expected values.
func tmpl(t *testing.T, text string) *shell.Template {
	t.Helper()
	tm, err := shell.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func f64(v float64) *float64 { return &v }

// zeroPos clears every position in c, so that a test can compare the rest
// with reflect.DeepEqual and check the positions it cares about on their own.
func zeroPos(c *Change) {
	clearChecks := func(cs []Check) {
		for i := range cs {
			cs[i].Pos = diag.Pos{}
		}
	}
	c.Apply.Pos, c.Rollback.Pos = diag.Pos{}, diag.Pos{}
	clearChecks(c.Verify)
	clearChecks(c.RollbackVerify)
	clearChecks(c.Preflight)
	if c.Swap != nil {
		c.Swap.Run.Pos = diag.Pos{}
		clearChecks(c.Swap.Verify)
	}
	for _, ns := range [][]Named{c.Fingerprint, c.Capture} {
		for i := range ns {
			ns[i].Pos = diag.Pos{}
		}
	}
	for _, h := range []*Hook{c.On.Gate, c.On.Failed, c.On.Finished, c.On.RolledBack} {
		if h != nil {
			h.Pos = diag.Pos{}
		}
	}
}

// TestLoadFull loads a change using every key and compares all of it.
func TestLoadFull(t *testing.T) {
	const file = "testdata/full.yaml"
	c, err := Load(file, Options{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		what string
		got  diag.Pos
		want diag.Pos
	}{
		{"verify check 3", c.Verify[2].Pos, diag.Pos{Line: 17, Col: 5}},
		{"verify check 4", c.Verify[3].Pos, diag.Pos{Line: 19, Col: 5}},
		{"fingerprint packages", c.Fingerprint[1].Pos, diag.Pos{Line: 50, Col: 13}},
		{"capture version", c.Capture[0].Pos, diag.Pos{Line: 53, Col: 12}},
		{"on gate", c.On.Gate.Pos, diag.Pos{Line: 60, Col: 9}},
		{"on failed", c.On.Failed.Pos, diag.Pos{Line: 61, Col: 11}},
	} {
		if tt.got != tt.want {
			t.Errorf("%s at %v, want %v", tt.what, tt.got, tt.want)
		}
	}
	if len(c.Digest) != 64 {
		t.Errorf("digest %q", c.Digest)
	}
	zeroPos(c)
	iv := DefaultInterval
	want := &Change{
		File:  file,
		Name:  "myapp 2.4.0",
		Apply: Step{Run: tmpl(t, "sudo /usr/local/bin/deploy myapp 2.4.0")},
		Verify: []Check{
			{Name: "health", HTTP: &HTTPCheck{URL: tmpl(t, "http://{{.Address}}:8080/health"), From: FromConsole}, Retries: 5, Interval: 2 * time.Second},
			{Name: "version", HTTP: &HTTPCheck{URL: tmpl(t, "https://{{.Host}}:8443/version"), Status: 200, BodyContains: "2.4.0", Timeout: 3 * time.Second, From: FromHost}, Interval: iv},
			{Name: "postgres", TCP: &TCPCheck{Address: tmpl(t, "{{.Address}}:5432"), From: FromConsole}, Interval: iv},
			{TCP: &TCPCheck{Address: tmpl(t, "127.0.0.1:6379"), Timeout: time.Second, From: FromHost}, Interval: iv},
			{Step: Step{Timeout: 45 * time.Second}, Name: "error rate", Prometheus: &PrometheusCheck{
				URL:   tmpl(t, "http://prometheus.internal:9090"),
				Query: tmpl(t, `sum(rate(http_errors_total{instance="{{.Host}}:9100"}[1m]))`),
				Max:   f64(0.01), Timeout: 10 * time.Second, From: FromConsole,
			}, Retries: 3, Interval: 30 * time.Second},
			{Step: Step{Run: tmpl(t, "myapp --version | grep -q 2.4.0"), PTY: true}, Interval: iv},
		},
		Rollback: Step{Run: tmpl(t, "sudo /usr/local/bin/deploy myapp {{.Captured.version}}")},
		RollbackVerify: []Check{
			{Step: Step{Run: tmpl(t, "myapp --version | grep -qF {{.Captured.version}}")}, Interval: iv},
			{HTTP: &HTTPCheck{URL: tmpl(t, "http://{{.Address}}:8080/version?want={{.Captured.version}}"), From: FromConsole}, Interval: iv},
		},
		Swap: &Swap{
			Run: Step{Run: tmpl(t, "sudo promote {{.Promote}} --demote {{.Demote}}")},
			Verify: []Check{{Prometheus: &PrometheusCheck{
				URL: tmpl(t, "http://prometheus.internal:9090"), Query: tmpl(t, `up{instance="{{.Promote}}:9100"}`),
				Min: f64(1), Max: f64(1), From: FromConsole,
			}, Interval: iv}},
		},
		Canary:   Canary{Soak: 2 * time.Minute, Interval: 15 * time.Second},
		Fleet:    Fleet{Batches: []Batch{{N: 1}, {N: 25, Percent: true}, {N: 100, Percent: true}}, Parallel: 10},
		Timeouts: Timeouts{Connect: DefaultConnectTimeout, Apply: DefaultApplyTimeout, Verify: time.Minute, Rollback: DefaultRollbackTimeout, Swap: DefaultSwapTimeout},
		Env:      []EnvVar{{Name: "MYAPP_ENV", Value: "production"}},
		Preflight: []Check{
			{Step: Step{Run: tmpl(t, `df --output=pcent / | tail -1 | tr -dc 0-9 | awk '$1 < 90'`)}, Interval: iv},
			{Name: "ssh answers", TCP: &TCPCheck{Address: tmpl(t, "{{.Address}}:22"), From: FromConsole}, Interval: iv},
		},
		Fingerprint: []Named{
			{Name: "os", Step: Step{Run: tmpl(t, "cat /etc/os-release")}},
			{Name: "packages", Step: Step{Run: tmpl(t, "dpkg-query -W myapp libssl3"), Timeout: 20 * time.Second}},
		},
		Capture: []Named{
			{Name: "version", Step: Step{Run: tmpl(t, "myapp --version")}},
			{Name: "config", Step: Step{Run: tmpl(t, "sudo sha256sum /etc/myapp.conf"), PTY: true, Timeout: 10 * time.Second}},
		},
		Lock: Lock{Path: "/var/lock/rollout-{{.Service}}"},
		On: Hooks{
			Gate:       &Hook{Run: `notify-send "rollout at a gate"`},
			Failed:     &Hook{Run: "./page-oncall.sh", Timeout: time.Minute},
			Finished:   &Hook{Run: "./post-to-chat.sh"},
			RolledBack: &Hook{Run: "./post-to-chat.sh --rolled-back"},
		},
		Groups: map[string][]string{
			"test": {"myapp_test"}, "standby": {"myapp_standby"}, "primary": {"myapp_primary"},
			"canary": {"myapp_canary_a", "myapp_canary_b"}, "fleet": {"myapp"},
		},
		Digest: c.Digest,
	}
	if !reflect.DeepEqual(c, want) {
		g, _ := json.MarshalIndent(c, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("loaded change differs\n got %s\nwant %s", g, w)
	}
}

// TestCheckShapes reads every shape a check may take, in each list of checks.
func TestCheckShapes(t *testing.T) {
	iv := DefaultInterval
	console := func(u string) *HTTPCheck { return &HTTPCheck{URL: tmpl(t, u), From: FromConsole} }
	tests := []struct {
		name  string
		key   string // the list of checks: preflight, verify, rollback verify or swap verify
		check string // YAML under key
		want  Check
	}{
		{"http shorthand", "preflight", "{http: \"http://{{.Address}}:8080/health\"}",
			Check{HTTP: console("http://{{.Address}}:8080/health"), Interval: iv}},
		{"http shorthand, block style", "preflight", "\n  - http: http://{{.Address}}:8080/health",
			Check{HTTP: console("http://{{.Address}}:8080/health"), Interval: iv}},
		{"http https with a path, query and port", "verify", "{http: \"https://{{.Host}}.example.com:8443/v1/health?full=1#x\"}",
			Check{HTTP: console("https://{{.Host}}.example.com:8443/v1/health?full=1#x"), Interval: iv}},
		{"http IPv6 literal", "verify", "{http: \"http://[::1]:8080/\"}",
			Check{HTTP: console("http://[::1]:8080/"), Interval: iv}},
		{"http long form", "verify", "{http: {url: \"http://localhost:8080/\", status: 204, body_contains: ok, timeout: 2s, from: host}}",
			Check{HTTP: &HTTPCheck{URL: tmpl(t, "http://localhost:8080/"), Status: 204, BodyContains: "ok", Timeout: 2 * time.Second, From: FromHost}, Interval: iv}},
		{"http from console said out loud", "verify", "{http: {url: \"http://x/\", from: console}}",
			Check{HTTP: console("http://x/"), Interval: iv}},
		{"http with the common keys", "verify", "{name: health, http: \"http://x/\", retries: 3, interval: 1s, timeout: 9s}",
			Check{Step: Step{Timeout: 9 * time.Second}, Name: "health", HTTP: console("http://x/"), Retries: 3, Interval: time.Second}},
		{"http in swap verify", "swap verify", "{http: \"http://{{.Promote}}/health\"}",
			Check{HTTP: console("http://{{.Promote}}/health"), Interval: iv}},
		{"http in rollback verify with a captured port", "rollback verify", "{http: \"http://{{.Address}}:{{.Captured.port}}/\"}",
			Check{HTTP: console("http://{{.Address}}:{{.Captured.port}}/"), Interval: iv}},
		{"tcp shorthand", "preflight", "{tcp: \"{{.Address}}:5432\"}",
			Check{TCP: &TCPCheck{Address: tmpl(t, "{{.Address}}:5432"), From: FromConsole}, Interval: iv}},
		{"tcp shorthand unquoted", "preflight", "\n  - tcp: localhost:5432",
			Check{TCP: &TCPCheck{Address: tmpl(t, "localhost:5432"), From: FromConsole}, Interval: iv}},
		{"tcp IPv6 in brackets", "verify", "{tcp: \"[{{.Address}}]:5432\"}",
			Check{TCP: &TCPCheck{Address: tmpl(t, "[{{.Address}}]:5432"), From: FromConsole}, Interval: iv}},
		{"tcp long form", "verify", "{tcp: {address: \"127.0.0.1:6379\", timeout: 1s, from: host}}",
			Check{TCP: &TCPCheck{Address: tmpl(t, "127.0.0.1:6379"), Timeout: time.Second, From: FromHost}, Interval: iv}},
		{"tcp with a captured port in rollback verify", "rollback verify", "{tcp: \"{{.Host}}:{{.Captured.port}}\"}",
			Check{TCP: &TCPCheck{Address: tmpl(t, "{{.Host}}:{{.Captured.port}}"), From: FromConsole}, Interval: iv}},
		{"prometheus max", "verify", "{prometheus: {url: \"http://prom:9090\", query: \"up\", max: 0.5}}",
			Check{Prometheus: &PrometheusCheck{URL: tmpl(t, "http://prom:9090"), Query: tmpl(t, "up"), Max: f64(0.5), From: FromConsole}, Interval: iv}},
		{"prometheus min, negative", "verify", "{prometheus: {url: \"http://prom:9090\", query: \"x\", min: -2}}",
			Check{Prometheus: &PrometheusCheck{URL: tmpl(t, "http://prom:9090"), Query: tmpl(t, "x"), Min: f64(-2), From: FromConsole}, Interval: iv}},
		{"prometheus both, equal, long form", "swap verify", `
    prometheus:
      url: https://prom.example.com
      query: up{instance="{{.Promote}}:9100"}
      min: 1
      max: 1
      timeout: 5s
      from: host
    retries: 2`,
			Check{Prometheus: &PrometheusCheck{URL: tmpl(t, "https://prom.example.com"), Query: tmpl(t, `up{instance="{{.Promote}}:9100"}`),
				Min: f64(1), Max: f64(1), Timeout: 5 * time.Second, From: FromHost}, Retries: 2, Interval: iv}},
		{"command with a name", "preflight", "{name: disk, run: \"df /\", pty: true}",
			Check{Step: Step{Run: tmpl(t, "df /"), PTY: true}, Name: "disk", Interval: iv}},
		{"command in rollback verify with a captured value", "rollback verify", "\"grep -qF {{.Captured.port}} /etc/app.conf\"",
			Check{Step: Step{Run: tmpl(t, "grep -qF {{.Captured.port}} /etc/app.conf")}, Interval: iv}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src string
			switch tt.key {
			case "preflight":
				src = base + "preflight: " + tt.check + "\n"
			case "verify":
				src = "name: n\napply: a\nrollback: r\nverify: " + tt.check + "\n"
			case "rollback verify":
				src = "name: n\napply: a\nverify: v\ncapture: {port: cat /port}\nrollback:\n  run: r\n  verify: " + strings.ReplaceAll(tt.check, "\n  ", "\n    ") + "\n"
			case "swap verify":
				src = base + "swap:\n  run: \"p {{.Promote}}\"\n  verify: " + strings.ReplaceAll(tt.check, "\n  ", "\n    ") + "\n"
			}
			c, err := Parse("change.yaml", []byte(src), Options{Getenv: noEnv})
			if err != nil {
				t.Fatalf("%v\nin:\n%s", err, src)
			}
			var got []Check
			switch tt.key {
			case "preflight":
				got = c.Preflight
			case "verify":
				got = c.Verify
			case "rollback verify":
				got = c.RollbackVerify
			case "swap verify":
				got = c.Swap.Verify
			}
			if len(got) != 1 {
				t.Fatalf("%d checks, want 1", len(got))
			}
			if got[0].Pos.Line < 4 {
				t.Errorf("check at %v", got[0].Pos)
			}
			got[0].Pos = diag.Pos{}
			if !reflect.DeepEqual(got[0], tt.want) {
				g, _ := json.Marshal(got[0])
				w, _ := json.Marshal(tt.want)
				t.Errorf("\n got %s\nwant %s", g, w)
			}
			if k := got[0].Kind(); !strings.Contains(tt.name, k) && k != "command" {
				t.Errorf("kind %q", k)
			}
		})
	}
}

// TestLockHooksGroupsShapes reads every form of lock, on, groups,
// fingerprint and capture, and what each means when it is left out.
func TestLockHooksGroupsShapes(t *testing.T) {
	parse := func(t *testing.T, extra string) *Change {
		t.Helper()
		c, err := Parse("change.yaml", []byte(base+extra), Options{Getenv: noEnv})
		if err != nil {
			t.Fatalf("%v\nin:\n%s", err, base+extra)
		}
		zeroPos(c)
		return c
	}
	for _, tt := range []struct {
		in   string
		want Lock
	}{
		{"", Lock{}},
		{"lock:\n", Lock{}},
		{"lock: true\n", Lock{}},
		{"lock: false\n", Lock{Disabled: true}},
		{"lock: {}\n", Lock{}},
		{"lock: {path: /var/lock/rollout}\n", Lock{Path: "/var/lock/rollout"}},
		{"lock:\n  path: \"locks/{{.Service}} deploy\"\n", Lock{Path: "locks/{{.Service}} deploy"}},
	} {
		if got := parse(t, tt.in).Lock; got != tt.want {
			t.Errorf("%q: lock %+v, want %+v", tt.in, got, tt.want)
		}
	}

	c := parse(t, "on:\n  failed: ./page.sh {{.Host}} $HOME\n  rolled_back: {run: \"./chat.sh 'rolled back'\", timeout: 5s}\n")
	want := Hooks{Failed: &Hook{Run: "./page.sh {{.Host}} $HOME"}, RolledBack: &Hook{Run: "./chat.sh 'rolled back'", Timeout: 5 * time.Second}}
	if !reflect.DeepEqual(c.On, want) {
		t.Errorf("on %+v, want %+v", c.On, want)
	}
	if c := parse(t, ""); c.On != (Hooks{}) || c.Groups != nil || c.Preflight != nil || c.Fingerprint != nil || c.Capture != nil {
		t.Errorf("a change without the keys: %+v", c)
	}

	c = parse(t, "groups:\n  fleet: [web_b, web_a]\n  test: web_test\n  canary:\n    - web_canary\n")
	if want := map[string][]string{"fleet": {"web_b", "web_a"}, "test": {"web_test"}, "canary": {"web_canary"}}; !reflect.DeepEqual(c.Groups, want) {
		t.Errorf("groups %v, want %v", c.Groups, want)
	}
	if c := parse(t, "groups: {}\n"); c.Groups != nil {
		t.Errorf("groups: {} is %v", c.Groups)
	}

	// File order is kept, whatever the names.
	c = parse(t, "fingerprint:\n  zeta: uname -r\n  alpha: {run: cat /etc/os-release, timeout: 5s, pty: true}\n  _m1: \"echo {{.Host}}\"\ncapture: {b: cat /b, a: cat /a}\n")
	wantFP := []Named{
		{Name: "zeta", Step: Step{Run: tmpl(t, "uname -r")}},
		{Name: "alpha", Step: Step{Run: tmpl(t, "cat /etc/os-release"), Timeout: 5 * time.Second, PTY: true}},
		{Name: "_m1", Step: Step{Run: tmpl(t, "echo {{.Host}}")}},
	}
	if !reflect.DeepEqual(c.Fingerprint, wantFP) {
		t.Errorf("fingerprint %+v", c.Fingerprint)
	}
	if wantCap := []Named{{Name: "b", Step: Step{Run: tmpl(t, "cat /b")}}, {Name: "a", Step: Step{Run: tmpl(t, "cat /a")}}}; !reflect.DeepEqual(c.Capture, wantCap) {
		t.Errorf("capture %+v", c.Capture)
	}
}

// TestDigestNewKeys checks the digest of a change using every key: the
// same however it is written, different whenever what it does differs.
func TestDigestNewKeys(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	full := string(data)
	want := digestOf(t, full, noEnv)
	replace := func(name, src string, pairs ...string) string {
		t.Helper()
		for i := 0; i < len(pairs); i += 2 {
			next := strings.Replace(src, pairs[i], pairs[i+1], 1)
			if next == src {
				t.Fatalf("%s: %q is not in the change", name, pairs[i])
			}
			src = next
		}
		return src
	}
	same := map[string][]string{
		"fingerprints reordered": {"  os: cat /etc/os-release\n  packages: {run: dpkg-query -W myapp libssl3, timeout: 20s}\n",
			"  packages: {timeout: 20s, run: dpkg-query -W myapp libssl3}\n  os: cat /etc/os-release\n"},
		"captures reordered": {"  version: myapp --version\n  config: {run: sudo sha256sum /etc/myapp.conf, pty: true, timeout: 10s}\n",
			"  config:\n    run: sudo sha256sum /etc/myapp.conf\n    timeout: 10s\n    pty: true\n  version: {run: myapp --version}\n"},
		"hooks reordered": {"  gate: notify-send \"rollout at a gate\"\n  failed: {run: ./page-oncall.sh, timeout: 1m}\n",
			"  failed: {timeout: 60s, run: ./page-oncall.sh}\n  gate: 'notify-send \"rollout at a gate\"'\n"},
		"groups reordered and spelt out": {"  test: myapp_test\n  standby: myapp_standby\n", "  standby: [myapp_standby]\n  test:\n    - myapp_test\n"},
		"http written out":               {"    http: http://{{.Address}}:8080/health\n", "    http: {from: console, url: \"http://{{.Address}}:8080/health\"}\n"},
		"tcp written out":                {"    tcp: \"{{.Address}}:5432\"\n", "    tcp:\n      address: \"{{.Address}}:5432\"\n"},
		"swap verify as a list, bounds reordered": {"    prometheus: {url: \"http://prometheus.internal:9090\", query: 'up{instance=\"{{.Promote}}:9100\"}', min: 1, max: 1}\n",
			"    - prometheus: {max: 1.0, min: 1, query: 'up{instance=\"{{.Promote}}:9100\"}', url: \"http://prometheus.internal:9090\"}\n"},
		"check keys reordered": {"  - name: postgres\n    tcp: \"{{.Address}}:5432\"\n", "  - tcp: \"{{.Address}}:5432\"\n    name: postgres\n"},
	}
	for name, r := range same {
		if got := digestOf(t, replace(name, full, r...), noEnv); got != want {
			t.Errorf("%s: digest changed", name)
		}
	}
	for _, extra := range []string{"lock: true\n", "lock:\n", "lock: {}\n", "lock: {path: \"" + DefaultLockPath + "\"}\n", "on: {}\ngroups: {}\nfingerprint: {}\ncapture: {}\n"} {
		if got, want := digestOf(t, base+extra, noEnv), digestOf(t, base, noEnv); got != want {
			t.Errorf("%q changes the digest of a change without it", extra)
		}
	}

	seen := map[string]string{"full": want}
	differ := map[string][]string{
		"http url":                 {"8080/health", "8081/health"},
		"http status":              {"status: 200", "status: 201"},
		"http body_contains":       {`body_contains: "2.4.0"`, `body_contains: "2.4.1"`},
		"http from":                {"      from: host\n", "      from: console\n"},
		"http timeout":             {"timeout: 3s", "timeout: 4s"},
		"tcp address":              {":5432", ":5433"},
		"tcp from":                 {"timeout: 1s, from: host}", "timeout: 1s}"},
		"prometheus max":           {"max: 0.01", "max: 0.02"},
		"prometheus query":         {"[1m]", "[5m]"},
		"swap prometheus min":      {"min: 1,", "min: 0,"},
		"check name":               {"name: postgres", "name: pg"},
		"check kind":               {"tcp: \"{{.Address}}:5432\"", "http: \"http://{{.Address}}:5432\""},
		"preflight command":        {"$1 < 90", "$1 < 80"},
		"preflight tcp":            {":22\"", ":2222\""},
		"fingerprint command":      {"cat /etc/os-release", "cat /etc/lsb-release"},
		"fingerprint name":         {"  os: cat", "  osr: cat"},
		"capture command":          {"version: myapp --version", "version: myapp -V"},
		"capture pty":              {"pty: true, timeout: 10s", "pty: false, timeout: 10s"},
		"rollback's capture":       {"deploy myapp {{.Captured.version}}", "deploy myapp {{.Captured.config}}"},
		"lock path":                {"/var/lock/rollout-", "/run/lock/rollout-"},
		"lock off":                 {"lock:\n  path: /var/lock/rollout-{{.Service}}\n", "lock: false\n"},
		"on gate":                  {"at a gate", "at the gate"},
		"on failed timeout":        {"timeout: 1m}", "timeout: 2m}"},
		"on finished left out":     {"  finished: ./post-to-chat.sh\n", ""},
		"groups":                   {"fleet: myapp\n", "fleet: [myapp, myapp_extra]\n"},
		"groups standby left out":  {"  standby: myapp_standby\n", ""},
		"rollback verify checks":   {"grep -qF {{.Captured.version}}", "grep -F {{.Captured.version}}"},
		"rollback verify http url": {"http://{{.Address}}:8080/version?want=", "http://{{.Address}}:8080/version?have="},
	}
	for name, r := range differ {
		d := digestOf(t, replace(name, full, r...), noEnv)
		for other, od := range seen {
			if od == d {
				t.Errorf("%s: same digest as %s", name, other)
			}
		}
		seen[name] = d
	}
}

func TestKeepaliveTimeout(t *testing.T) {
	c, err := Parse("change.yaml", []byte("name: n\napply: a\nverify: v\nrollback: r\ntimeouts: {keepalive: 6s}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeouts.Keepalive != 6*time.Second {
		t.Errorf("keepalive %s", c.Timeouts.Keepalive)
	}
	plain, err := Parse("change.yaml", []byte("name: n\napply: a\nverify: v\nrollback: r\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Timeouts.Keepalive != 0 || plain.Digest == c.Digest {
		t.Errorf("without the key: keepalive %s; digests %s, %s", plain.Timeouts.Keepalive, plain.Digest, c.Digest)
	}
}
