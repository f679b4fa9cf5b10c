package ansible

import (
	"os"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/internal/diagtest"
)

// TestDetect: the format of a file, from its content first and its name
// where the content does not say.
func TestDetect(t *testing.T) {
	tests := []struct {
		name, path, in string
		want           Format
	}{
		{"rollout's own format", "inventory.yaml", "services:\n  web: {test: [t1]}\n", Native},
		{"rollout's own format, any name", "hosts", "defaults: {user: deploy}\nservices: {}\n", Native},
		{"rollout's own hosts: overrides", "inv.yml", "hosts:\n  web-1: {port: 2222}\n", Native},
		{"rollout's format, empty", "inventory.yaml", "", Native},
		{"rollout's format, not a mapping", "inventory.yaml", "- a\n", Native},
		{"rollout's format, broken YAML", "inventory.yaml", "services:\n  web: {test: [t1]\n", Native},
		{"Ansible YAML with all:", "inventory.yml", "all:\n  hosts:\n    web1:\n", YAML},
		{"Ansible YAML, groups at the top, no extension", "hosts", "web:\n  hosts:\n    web1:\n", YAML},
		{"Ansible YAML with a group called hosts", "inv", "hosts:\n  hosts:\n    web1:\n", YAML},
		{"Ansible YAML, empty group", "inv", "web:\n", YAML},
		{"Ansible YAML, broken", "inventory.yml", "all:\n  hosts:\n   web1: [\n", YAML},
		{"Ansible YAML as JSON", "inventory.json", `{"all": {"hosts": {"web1": null}}}`, YAML},
		{"a YAML-named file with a bad group beside a good one is YAML, for its errors", "inv.yaml", "web: 3\ndb:\n  hosts: {d1: }\n", YAML},
		{"a YAML-named file of keys and values is Native, for its errors", "inv.yaml", "name: nginx\napply: true\n", Native},
		{"the project's change file given as -i is Native, for its errors", "../../examples/change.yaml", "", Native},
		{"INI with a section first", "hosts", "# comment\n[web]\nweb1\n", INI},
		{"INI with a section first, YAML name", "hosts.yml", "[web]\nweb1\n", INI},
		{"INI with ungrouped hosts first", "hosts", "mail.example.com\n\n[web]\nweb1\n", INI},
		{"INI of one host", "hosts", "web1 ansible_host=10.0.0.1\n", INI},
		{"INI host:port", "hosts", "badwolf.example.com:5309\n", INI},
		{"INI that YAML reads as a mapping", "hosts", "web1 x='a: b'\n", INI},
		{"empty INI", "hosts.ini", "", INI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in == "" && strings.HasPrefix(tt.path, "../") {
				data, err := os.ReadFile(tt.path)
				if err != nil {
					t.Fatal(err)
				}
				tt.in = string(data)
			}
			if got := Detect(tt.path, []byte(tt.in)); got != tt.want {
				t.Errorf("Detect = %v, want %v", got, tt.want)
			}
			if got := IsAnsible(tt.path, []byte(tt.in)); got != (tt.want != Native) {
				t.Errorf("IsAnsible = %v", got)
			}
		})
	}
}

// TestDetectExamples: the project's own example inventory is Native.
func TestDetectExamples(t *testing.T) {
	data, err := os.ReadFile("../../examples/inventory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := Detect("../../examples/inventory.yaml", data); got != Native {
		t.Errorf("Detect(examples/inventory.yaml) = %v", got)
	}
}

// TestParseNative: Parse refuses rollout's own format rather than misread it.
func TestParseNative(t *testing.T) {
	in := "services:\n  web: {test: [t1]}\n"
	_, err := Parse("inventory.yaml", []byte(in))
	diagtest.Check(t, "inventory.yaml", in, err, []diagtest.Want{
		{Line: 1, Col: 1, Msg: "this is a rollout inventory, not an Ansible inventory"}})
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{Native: "rollout inventory", INI: "Ansible INI", YAML: "Ansible YAML"} {
		if got := f.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", f, got, want)
		}
	}
	_ = diag.Pos{}
}
