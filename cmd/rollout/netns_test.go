//go:build linux

package main

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/sshx/sshdtest"
)

// The tests in this file put hosts behind a real network link: a network
// namespace of the test's own (sshdtest.NewNetns), joined to this one by a
// veth pair, with its own sshd. They cut the link mid-command, or slow it
// down for a whole rollout, and run the built binary in plain mode as
// ssh_e2e_test.go does. They need root and iproute2, and skip, saying so,
// where a namespace cannot be made.

// netnsChange's apply records the connection the command came in on, waits for the
// test to open the host's gate (a FIFO under marks/) when there is one, then
// marks the host done. verify checks for that last mark: the new version.
const netnsChange = `name: link
apply: |
  echo "start $SSH_CONNECTION" >> {{MARKS}}/{{.Host}}
  if [ -p {{MARKS}}/{{.Host}}.gate ]; then cat {{MARKS}}/{{.Host}}.gate >/dev/null; fi
  echo done >> {{MARKS}}/{{.Host}}
verify: grep -qx done {{MARKS}}/{{.Host}}
rollback: rm -f {{MARKS}}/{{.Host}}
fleet: {batches: [2, 100%], parallel: 4}
timeouts: {connect: 10s, apply: 60s, verify: 10s, rollback: 10s}
`

// hold makes host's apply wait, once started, until release.
func (b *sshBed) hold(host string) {
	b.t.Helper()
	if err := syscall.Mkfifo(filepath.Join(b.marks, host+".gate"), 0o600); err != nil {
		b.t.Fatal(err)
	}
}

// release lets host's held apply go on. The apply may not have opened its
// gate yet: the open is retried until it has.
func (b *sshBed) release(host string) {
	b.t.Helper()
	path := filepath.Join(b.marks, host+".gate")
	sshdtest.WaitFor(b.t, host+"'s apply to wait at its gate", 10*time.Second, func() bool {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if errors.Is(err, syscall.ENXIO) { // no reader yet
			return false
		}
		if err != nil {
			b.t.Fatal(err)
		}
		f.Close()
		return true
	})
}

// hasLine reports whether host's marks hold the line want.
func (b *sshBed) hasLine(host, want string) bool {
	for _, l := range b.marked(host) {
		if l == want {
			return true
		}
	}
	return false
}

// count is the number of host's marks that start with prefix.
func (b *sshBed) count(host, prefix string) int {
	n := 0
	for _, l := range b.marked(host) {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// waitOutputWithin polls until out holds want, for at most within, and
// returns how long that took.
func waitOutputWithin(t *testing.T, out *syncBuffer, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !strings.Contains(out.String(), want) {
		if time.Since(start) > within {
			t.Fatalf("no %q within %s in:\n%s", want, within, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// firstHostLines is the state lines of the output up to the first
// "applying" one, as "host state".
func firstHostLines(out string) []string {
	var seen []string
	for _, l := range strings.Split(out, "\n") {
		m := hostLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if m[2] == "applying" {
			break
		}
		seen = append(seen, m[1]+" "+m[2])
	}
	return seen
}

// cutBed is an sshBed whose fleet host f-2 lives in a network namespace of
// its own, behind a link the test can cut; every other host is an alias of
// the loopback server. f-2's apply waits, once started, until released.
type cutBed struct {
	*sshBed
	ns  *sshdtest.Netns
	far *sshdtest.Server // f-2's sshd, inside the namespace
}

func newCutBed(t *testing.T, change string) *cutBed {
	t.Helper()
	ns := sshdtest.NewNetns(t)
	far := ns.StartSSHD(t)
	inv := strings.ReplaceAll(sshInventory, `fleet: ["f-[1:4]"]`, `fleet: ["f-[1:4]"]
hosts:
  f-2: {address: `+ns.NSAddr+`, port: `+strconv.Itoa(far.Port)+`}`)
	b := newSSHBed(t, inv, change)
	kh := b.srv.KnownHostsLine("127.0.0.1") + "\n" + far.KnownHostsLine(ns.NSAddr) + "\n"
	if err := os.WriteFile(b.kh, []byte(kh), 0o600); err != nil {
		t.Fatal(err)
	}
	b.hold("f-2")
	return &cutBed{sshBed: b, ns: ns, far: far}
}

// runAndCut starts a rollout (--yes, answers on the returned pipe), waits
// for f-2's apply to start over the namespace link, and cuts the link.
func (b *cutBed) runAndCut() (*sshProc, *os.File) {
	t := b.t
	t.Helper()
	stdin, answers, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { answers.Close() })
	p := b.start(stdin, "run", "--plain", "--yes")
	stdin.Close()
	sshdtest.WaitFor(t, "f-2's apply to start", 20*time.Second, func() bool { return b.count("f-2", "start ") > 0 })
	// SSH_CONNECTION: client address, port, server address, port.
	if m := b.marked("f-2")[0]; !strings.HasPrefix(m, "start "+b.ns.HostAddr+" ") || !strings.HasSuffix(m, " "+b.ns.NSAddr+" "+strconv.Itoa(b.far.Port)) {
		t.Fatalf("f-2's apply did not come in over the namespace link: %q", m)
	}
	b.ns.Cut(t)
	return p, answers
}

// stopAtFailedGate checks the console waits at the fleet's failed gate
// (--yes does not pass it), lets f-2's apply finish on its side of the cut,
// aborts at the gate, and returns the output of the run (exit 1).
func (b *cutBed) stopAtFailedGate(p *sshProc, answers *os.File) string {
	t := b.t
	t.Helper()
	waitOutput(t, &p.out, "== gate 4: fleet FAILED (1 passed, 1 failed)")
	select {
	case <-p.done:
		t.Fatalf("the console did not wait at the failed gate:\n%s", p.out.String())
	default:
	}
	// The command runs on beyond the cut, and finishes there: the console
	// cannot know, which is why the host must be unknown and not failed.
	b.release("f-2")
	sshdtest.WaitFor(t, "f-2's apply to finish on its side of the cut", 10*time.Second, func() bool { return b.hasLine("f-2", "done") })
	if _, err := io.WriteString(answers, "a\n"); err != nil {
		t.Fatal(err)
	}
	if code := p.exit(t); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, p.out.String())
	}
	text := p.out.String()
	sshContains(t, text, "f-2 unknown", "rollout FAILED")
	last := sshStates(t, text)
	sshWantState(t, last, engine.StateDone, "", "t-1", "t-2", "c-1", "f-1")
	for _, h := range []string{"f-3", "f-4"} {
		if st, ok := last[h]; ok {
			t.Errorf("%s reached %s after the link to f-2 was cut", h, st.State)
		}
	}
	b.untouched("f-3", "f-4")
	return text
}

// restoreAndResume brings the link back and resumes the failed rollout (by
// its ID: without one, resume picks only an unfinished rollout). f-2 must
// be re-verified before anything is applied, found done, and never applied
// again; the rest of the fleet is applied once.
func (b *cutBed) restoreAndResume(text string) {
	t := b.t
	t.Helper()
	b.ns.Restore(t)
	sshdtest.WaitReachable(t, net.JoinHostPort(b.ns.NSAddr, strconv.Itoa(b.far.Port)), 10*time.Second)
	id := strings.TrimSuffix(filepath.Base(between(text, "journal: ", "\n")), ".journal")
	out := b.runSSH(0, "", "resume", id, "--plain", "--yes")
	sshContains(t, out, "re-verifying 1 hosts", "rollout SUCCEEDED")
	if first := firstHostLines(out); len(first) < 2 || first[0] != "f-2 connecting" && first[0] != "f-2 verifying" || !strings.Contains(strings.Join(first, ","), "f-2 done") {
		t.Errorf("resume did not re-verify f-2 first and find it done (before the first apply: %q)\n%s", first, out)
	}
	if n := b.count("f-2", "start "); n != 1 {
		t.Errorf("f-2 was applied %d times, want once: resume must re-verify it, not apply again", n)
	}
	for _, h := range []string{"t-1", "t-2", "c-1", "f-1", "f-3", "f-4"} {
		if n := b.count(h, "start "); n != 1 {
			t.Errorf("%s applied %d times, want 1", h, n)
		}
	}
	sshWantState(t, sshStates(t, out), engine.StateDone, "", sshHosts...)
}

// The link to a fleet host is cut while its apply runs. The console has no
// way to tell a dead link from a slow command but the keepalive: it notices
// within the change's timeouts.keepalive, ends the host unknown
// (connection lost) — neither done nor failed, since the command may well
// have finished on the far side, as it does here — journals why, and stops
// at the fleet's failed gate, which --yes does not pass. The host that
// shared the batch finished, and the next batch never started. With the
// link back, resume re-verifies the unknown host before anything else,
// finds the change there, never applies it again, and goes on to the end.
func TestNetnsLinkCutMidApply(t *testing.T) {
	if testing.Short() {
		t.Skip("short: waits out the keepalive (6s)")
	}
	// timeouts.keepalive sets the bound: a probe every 3s, lost after 6s.
	b := newCutBed(t, strings.Replace(netnsChange, "rollback: 10s}", "rollback: 10s, keepalive: 6s}", 1))
	p, answers := b.runAndCut()
	bound := 6 * time.Second
	took := waitOutputWithin(t, &p.out, "f-2 unknown", bound+10*time.Second)
	t.Logf("the cut was noticed after %s (keepalive bound %s)", took.Round(time.Millisecond), bound)
	if took > bound+2*time.Second {
		t.Errorf("the cut was noticed after %s, beyond the keepalive bound of %s", took, bound)
	}
	text := b.stopAtFailedGate(p, answers)
	sshContains(t, text, "f-2 unknown", "connection lost", "no answer to a keepalive within")
	last := sshStates(t, text)
	sshWantState(t, last, engine.StateUnknown, "connection lost", "f-2")
	if e := last["f-2"].Error; !strings.Contains(e, "f-2") || !strings.Contains(e, "no answer to a keepalive within 3s") {
		t.Errorf("f-2's journaled error does not say what happened: %q", e)
	}
	b.restoreAndResume(text)
}

// TestNetnsApplyTimeoutOnACutLink: the same cut, with an apply timeout (3s)
// shorter than the keepalive's bound. The timeout fires and the cancel
// cannot reach the host, so after two grace periods the connection is
// closed while the command may run on and finish on the far side: the host
// must end unknown (re-verified on resume), never failed (retried, so
// applied twice). Found by this test; fixed in engine/sshx and engine.
func TestNetnsApplyTimeoutOnACutLink(t *testing.T) {
	b := newCutBed(t, strings.Replace(netnsChange, "apply: 60s", "apply: 3s", 1))
	p, answers := b.runAndCut()
	text := b.stopAtFailedGate(p, answers)
	if got := sshStates(t, text)["f-2"]; got.State != engine.StateUnknown {
		t.Errorf("f-2 ended %s (kind %q, %q) after a timeout whose cancel could not reach it; want unknown", got.State, got.Kind, got.Error)
	}
	b.restoreAndResume(text)
}

// A whole rollout over a slow link: every host is behind the namespace's
// link, delayed 150ms ± 50ms each way — with tc netem where the kernel has
// it, else through DelayProxy, a user-space proxy in front of the link.
// Everything passes (the connect and command timeouts are far above a few
// round trips), each host is applied once over that link, and the journal
// ends with every host done.
func TestNetnsSlowLinkRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a rollout of some 90 round trips of 300ms")
	}
	const delay, jitter = 150 * time.Millisecond, 50 * time.Millisecond
	ns := sshdtest.NewNetns(t)
	far := ns.StartSSHD(t)
	addr, port := ns.NSAddr, far.Port
	if err := ns.Netem(delay, jitter); err != nil {
		t.Logf("netem is not available (%v): delaying through a user-space proxy in front of the link instead", err)
		hp := sshdtest.DelayProxy(t, net.JoinHostPort(ns.NSAddr, strconv.Itoa(far.Port)), delay, jitter)
		h, p, _ := net.SplitHostPort(hp)
		addr = h
		port, _ = strconv.Atoi(p)
	} else {
		t.Logf("netem delay %s ± %s on both ends of the link", delay, jitter)
	}
	// The round trip is slow now; measure it as the rollout will see it.
	start := time.Now()
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 64)); err != nil { // sshd's banner
		t.Fatal(err)
	}
	c.Close()
	// At least one delay: the banner's way back (netem delays the
	// connect's round trip too, the proxy does not).
	if rtt := time.Since(start); rtt < delay-jitter {
		t.Fatalf("the link is not slow: connect and banner took %s", rtt)
	} else {
		t.Logf("connect and banner over the link: %s", rtt.Round(time.Millisecond))
	}

	inv := strings.Replace(sshInventory, "address: 127.0.0.1\n  port: {{PORT}}", "address: "+addr+"\n  port: "+strconv.Itoa(port), 1)
	b := newSSHBed(t, inv, netnsChange)
	if err := os.WriteFile(b.kh, []byte(far.Line("ed25519", "["+addr+"]:"+strconv.Itoa(port))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	out := b.runSSH(0, "", "run", "--plain", "--yes")
	t.Logf("the rollout took %s over the slow link", time.Since(began).Round(time.Millisecond))
	sshContains(t, out, "fleet batch 2/2 started: f-[3:4] (2 hosts)", "rollout SUCCEEDED")
	for _, h := range sshHosts {
		m := b.marked(h)
		if len(m) != 2 || !strings.HasPrefix(m[0], "start "+ns.HostAddr+" ") || !strings.HasSuffix(m[0], " "+ns.NSAddr+" "+strconv.Itoa(far.Port)) || m[1] != "done" {
			t.Errorf("%s: marks %q, want one apply over the namespace link", h, m)
		}
	}
	sshWantState(t, sshStates(t, out), engine.StateDone, "", sshHosts...)
}
