package ansible

import (
	"reflect"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

// checkParsed compares a parsed inventory, INI or YAML, with what a case
// wants: each group's hosts (children's included), hosts' merged variables,
// and where hosts are named.
func checkParsed(t *testing.T, inv *Inventory, groups map[string][]string, vars map[string]map[string]string, pos map[string]diag.Pos) {
	t.Helper()
	for g, want := range groups {
		if inv.Groups[g] == nil {
			t.Fatalf("no group %s", g)
		}
		if got := inv.GroupHosts(g); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
			t.Errorf("group %s: %q, want %q", g, got, want)
		}
	}
	for h, want := range vars {
		hv := inv.HostVars(h)
		if hv == nil {
			t.Fatalf("no host %s: %q", h, inv.HostNames)
		}
		for k, v := range want {
			if got, ok := hv[k]; !ok || got.Value != v {
				t.Errorf("host %s: %s = %q (given: %v), want %q", h, k, got.Value, ok, v)
			}
		}
	}
	for h, want := range pos {
		if got := inv.Hosts[h].Pos; got != want {
			t.Errorf("host %s at %v, want %v", h, got, want)
		}
	}
}
