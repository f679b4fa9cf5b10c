package inventory

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// bigInventory is an inventory of 10,000 hosts written with ranges, plus
// 1,000 entries under hosts: (900 single hosts and 100 ten-host ranges).
func bigInventory() []byte {
	var b strings.Builder
	b.WriteString(`defaults:
  user: deploy
  port: 22
  identity_file: [~/.ssh/id_ed25519, ~/.ssh/id_rsa]
  known_hosts: ~/.ssh/known_hosts
  jump: bastion.example.com
services:
  web:
    test: "web-t[01:08].example.com"
    standby: web-b.example.com
    primary: web-a.example.com
    swap: lb-1.example.com
    canary: "web-c[001:990].example.com"
    fleet:
      - web-[00001:09000].example.com
hosts:
  bastion.example.com: {jump: []}
`)
	for i := 1; i <= 900; i++ {
		fmt.Fprintf(&b, "  web-%05d.example.com: {address: 10.0.%d.%d, port: 2201}\n", i, i/250, i%250+1)
	}
	for i := range 100 {
		from := 1001 + 10*i
		fmt.Fprintf(&b, "  web-[%05d:%05d].example.com: {user: ops%d, jump: [\"hop@bastion-%d.example.com:2222\"]}\n", from, from+9, i, i%4)
	}
	return []byte(b.String())
}

// hostsInBig is how many hosts bigInventory names: 8 test, standby, primary,
// 990 canary, 9,000 fleet, plus the swap host and the bastion.
const hostsInBig = 8 + 1 + 1 + 990 + 9000 + 1 + 1

func TestBigInventory(t *testing.T) {
	inv, err := Parse("big.yaml", bigInventory(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Hosts) != hostsInBig {
		t.Fatalf("%d hosts, want %d", len(inv.Hosts), hostsInBig)
	}
	web := inv.Services["web"]
	if len(web.Test)+len(web.Canary)+len(web.Fleet)+2 != 10_000 {
		t.Errorf("the service has %d hosts, want 10,000", len(web.Test)+len(web.Canary)+len(web.Fleet)+2)
	}
	for name, want := range map[string]Settings{
		"web-00001.example.com": {Address: "10.0.0.2", Port: 2201, User: "deploy"},
		"web-00900.example.com": {Address: "10.0.3.151", Port: 2201, User: "deploy"},
		"web-01005.example.com": {Address: "web-01005.example.com", Port: 22, User: "ops0"},
		"web-01999.example.com": {Address: "web-01999.example.com", Port: 22, User: "ops99"},
		"web-09000.example.com": {Address: "web-09000.example.com", Port: 22, User: "deploy"},
		"web-c990.example.com":  {Address: "web-c990.example.com", Port: 22, User: "deploy"},
	} {
		h := inv.Hosts[name]
		if h == nil || h.Address != want.Address || h.Port != want.Port || h.User != want.User {
			t.Errorf("%s: %+v, want %+v", name, h, want)
		}
	}
	if j := inv.Hosts["web-01999.example.com"].Jump; len(j) != 1 || j[0] != "hop@bastion-3.example.com:2222" {
		t.Errorf("web-01999 jump %q", j)
	}
}

// BenchmarkLoad10kHosts loads bigInventory. It reports allocations per host as
// well as per load, since they should grow with hosts, not faster.
//
//	go test -run '^$' -bench BenchmarkLoad10kHosts -benchmem ./inventory/
func BenchmarkLoad10kHosts(b *testing.B) {
	data := bigInventory()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		inv, err := Parse("big.yaml", data, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(inv.Hosts) != hostsInBig {
			b.Fatalf("%d hosts", len(inv.Hosts))
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N)/hostsInBig, "allocs/host")
}
