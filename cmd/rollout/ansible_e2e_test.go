package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/engine"
)

const plainChange = "name: touch\napply: echo applied on {{.Host}}\nverify: 'true'\nrollback: 'true'\n"

// runIn runs the binary in dir with its own state dir.
func runIn(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "state"))
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	_ = cmd.Run()
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// planOf runs plan --json and returns each phase's hosts.
func planOf(t *testing.T, dir string, args ...string) map[string][]string {
	t.Helper()
	out, errOut, code := runIn(t, dir, append([]string{"plan", "--json", "--ssh-config", ""}, args...)...)
	if code != 0 {
		t.Fatalf("plan %v: exit %d\n%s%s", args, code, out, errOut)
	}
	var p planJSON
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	phases := map[string][]string{}
	for _, ph := range p.Phases {
		for _, b := range ph.Batches {
			phases[ph.Phase] = append(phases[ph.Phase], b...)
		}
	}
	return phases
}

// TestAnsibleInventoriesFromTheirDocumentation plans rollouts over the
// examples of Ansible's inventory guide, kept verbatim in
// inventory/ansible/testdata/docs: groups play roles by name, by the
// change's groups:, or by --group.
func TestAnsibleInventoriesFromTheirDocumentation(t *testing.T) {
	docs, err := filepath.Abs("../../inventory/ansible/testdata/docs")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"change.yaml":    plainChange,
		"staging.yaml":   plainChange + "groups: {test: dbservers, fleet: appservers}\n",
		"by-groups.yaml": plainChange,
	})
	// multiple-groups.yml has a group named test; with no mapping the
	// fleet is every other host.
	got := planOf(t, dir, "-i", filepath.Join(docs, "multiple-groups.yml"), "-c", "change.yaml")
	if !slices.Equal(got["test"], []string{"bar.example.com", "three.example.com"}) ||
		!slices.Equal(got["fleet"], []string{"mail.example.com", "foo.example.com", "one.example.com", "two.example.com"}) {
		t.Errorf("multiple-groups.yml: %v", got)
	}
	// The change maps the groups of the staging inventory (INI, no extension).
	got = planOf(t, dir, "-i", filepath.Join(docs, "inventory_staging"), "-c", "staging.yaml")
	if !slices.Equal(got["test"], []string{"db01.staging.example.com", "db02.staging.example.com"}) || len(got["fleet"]) != 3 {
		t.Errorf("inventory_staging: %v", got)
	}
	// --group, on the basic INI example.
	got = planOf(t, dir, "-i", filepath.Join(docs, "basic.ini"), "-c", "change.yaml", "--group", "test=webservers", "--group", "canary=ungrouped", "--group", "fleet=dbservers")
	if !slices.Equal(got["test"], []string{"foo.example.com", "bar.example.com"}) || !slices.Equal(got["canary"], []string{"mail.example.com"}) || len(got["fleet"]) != 3 {
		t.Errorf("basic.ini with --group: %v", got)
	}
	// A group that is not there is named, with those that are.
	_, errOut, code := runIn(t, dir, "plan", "--ssh-config", "", "-i", filepath.Join(docs, "basic.ini"), "-c", "change.yaml", "--group", "test=webserver")
	if code != 2 || !strings.Contains(errOut, "webserver") || !strings.Contains(errOut, "webservers") {
		t.Errorf("unknown group: exit %d\n%s", code, errOut)
	}
}

// TestRolloutOverAnAnsibleINIInventory runs a whole rollout, preflight and
// remote lock included, over an INI inventory of local hosts, and resumes
// knowing how the inventory was read.
func TestRolloutOverAnAnsibleINIInventory(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"hosts.ini": `[canaries]
t1 ansible_connection=local

[web]
w[1:3] ansible_connection=local
`,
		"change.yaml": plainChange,
	})
	out, errOut, code := runIn(t, dir, "run", "--plain", "--yes", "--ssh-config", "", "-i", "hosts.ini", "-c", "change.yaml", "-s", "web",
		"--group", "test=canaries", "--group", "fleet=web")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, h := range []string{"t1", "w1", "w2", "w3"} {
		if !strings.Contains(out, "applied on "+h) {
			t.Errorf("%s not applied:\n%s", h, out)
		}
	}
	journals, _ := filepath.Glob(filepath.Join(dir, "state", "rollout", "*.journal"))
	if len(journals) != 1 {
		t.Fatalf("journals %v", journals)
	}
	rp, err := engine.ReadJournal(journals[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"--group=test=canaries", "--group=fleet=web"}; !slices.Equal(rp.Header.InventoryArgs, want) {
		t.Errorf("header inventory args %v, want %v", rp.Header.InventoryArgs, want)
	}
	st := engine.Fold(rp.Records)
	if st.Outcome != engine.OutcomeSucceeded || len(st.Order) != 4 {
		t.Errorf("outcome %s, hosts %v", st.Outcome, st.Order)
	}
	// Roll it back from the journal: the plan is rebuilt from the same groups.
	out, errOut, code = runIn(t, dir, "rollback", "--plain", "--yes", "--ssh-config", "", rp.Header.ID)
	if code != 1 || !strings.Contains(errOut, "rolled back") {
		t.Errorf("rollback: exit %d\n%s%s", code, out, errOut)
	}
}

// TestFleetFromSSHConfigPatterns fills the fleet from ~/.ssh/config's Host
// aliases matching a pattern, each with the config's connection settings.
func TestFleetFromSSHConfigPatterns(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ssh_config": `Host web-test
  HostName 10.0.0.9
Host web-01 web-02
  User deploy
Host web-03
  HostName 10.0.0.3
Host web-*
  Port 2222
Host *
  ServerAliveInterval 5
`,
		"inventory.yaml": "services:\n  web:\n    test: [web-test]\n",
		"change.yaml":    plainChange,
	})
	out, errOut, code := runIn(t, dir, "plan", "--json", "--ssh-config", "ssh_config", "--from-ssh-config", "fleet=web-*,!web-test")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	got := planOf(t, dir, "--ssh-config", "ssh_config", "--from-ssh-config", "fleet=web-*,!web-test")
	if !slices.Equal(got["fleet"], []string{"web-01", "web-02", "web-03"}) {
		t.Errorf("fleet %v", got["fleet"])
	}
	_, errOut, code = runIn(t, dir, "plan", "--ssh-config", "ssh_config", "--from-ssh-config", "fleet=db-*")
	if code != 2 || !strings.Contains(errOut, `no Host alias matches "db-*"`) || !strings.Contains(errOut, "aliases: web-test, web-01") {
		t.Errorf("no match: exit %d %s", code, errOut)
	}
}
