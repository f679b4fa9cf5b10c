package sshx

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

func dialErr(t *testing.T, tr *Transport, h *inventory.Host) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tr.Dial(ctx, h)
	if err == nil {
		c.Close()
		t.Fatalf("dial %s succeeded, want an error", h.Name)
	}
	return err
}

func otherKeyLine(t *testing.T, names string) (string, ssh.PublicKey) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return names + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))), k
}

// known_hosts entries in the forms OpenSSH writes are all accepted: by
// inventory name or by address, hashed (ssh-keygen -H), and for one key type
// only, in which case that is the only type negotiated.
func TestHostKeyForms(t *testing.T) {
	s := needSSHD(t)
	hashed := knownHosts(t, s.line("ecdsa", s.hostPort("web-1")), s.line("rsa", s.hostPort("127.0.0.1")))
	if out, err := exec.Command("ssh-keygen", "-q", "-H", "-f", hashed).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -H: %v %s", err, out)
	}
	if b, _ := os.ReadFile(hashed); !strings.HasPrefix(string(b), "|1|") {
		t.Fatalf("not hashed: %s", b)
	}
	for _, tc := range []struct{ name, kh string }{
		{"by name", knownHosts(t, s.line("ed25519", s.hostPort("web-1")))},
		{"by address", knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))},
		{"rsa only", knownHosts(t, s.line("rsa", s.hostPort("web-1")))},
		{"ecdsa only", knownHosts(t, s.line("ecdsa", s.hostPort("web-1")))},
		{"hashed", hashed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, newTransport(t, Options{}), s.host("web-1", tc.kh))
			if code, _, err := runCmd(t, c, engine.Command{Line: "true"}); err != nil || code != 0 {
				t.Fatalf("code %d, err %v", code, err)
			}
		})
	}
}

// An unknown host is refused; the message shows the fingerprint and the
// command that records the key, and the file is left alone.
func TestHostKeyUnknown(t *testing.T) {
	s := needSSHD(t)
	kh := filepath.Join(t.TempDir(), "known_hosts") // does not exist
	err := dialErr(t, newTransport(t, Options{}), s.host("web-1", kh))
	if !errors.Is(err, engine.ErrHostKeyUnknown) || errors.Is(err, engine.ErrHostKeyMismatch) {
		t.Fatalf("err = %v, want ErrHostKeyUnknown", err)
	}
	var hk *HostKeyError
	if !errors.As(err, &hk) {
		t.Fatalf("err = %T, want a *HostKeyError inside", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"handshake web-1: unknown host key for web-1 (127.0.0.1:" + strconv.Itoa(s.Port) + ")",
		ssh.FingerprintSHA256(hk.Key),
		"ssh-keyscan -p " + strconv.Itoa(s.Port) + " -t ",
		">> " + kh,
		"--accept-new-host-keys",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if _, err := os.Stat(kh); !os.IsNotExist(err) {
		t.Errorf("known_hosts was created without AcceptNewHostKeys")
	}
	// The suggested command does record what the next dial accepts.
	cmd := msg[strings.Index(msg, "ssh-keyscan"):strings.Index(msg, " (or rerun")]
	if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v %s", cmd, err, out)
	}
	dial(t, newTransport(t, Options{}), s.host("web-1", kh))
}

// A changed key is refused loudly, even with AcceptNewHostKeys, whether the
// stale entry is under the name or the address, and nothing is written.
func TestHostKeyMismatch(t *testing.T) {
	s := needSSHD(t)
	stale, _ := otherKeyLine(t, s.hostPort("127.0.0.1"))
	for _, tc := range []struct{ name, kh string }{
		{"address", knownHosts(t, stale)},
		{"name", knownHosts(t, strings.Replace(stale, s.hostPort("127.0.0.1"), s.hostPort("web-1"), 1))},
		// The name's entry is right, but the address's says otherwise:
		// refused all the same.
		{"one of two", knownHosts(t, s.line("ed25519", s.hostPort("web-1")), stale)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(tc.kh)
			err := dialErr(t, newTransport(t, Options{AcceptNewHostKeys: true}), s.host("web-1", tc.kh))
			if !errors.Is(err, engine.ErrHostKeyMismatch) || errors.Is(err, engine.ErrHostKeyUnknown) {
				t.Fatalf("err = %v, want ErrHostKeyMismatch", err)
			}
			if !strings.Contains(err.Error(), "MISMATCH") || !strings.Contains(err.Error(), tc.kh+":") {
				t.Errorf("message not loud or lacks the file: %v", err)
			}
			if after, _ := os.ReadFile(tc.kh); string(after) != string(before) {
				t.Errorf("known_hosts changed:\n%s", after)
			}
		})
	}
}

// A key marked @revoked is refused even though it is also listed.
func TestHostKeyRevoked(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("web-1")), "@revoked "+s.line("ed25519", "*"))
	err := dialErr(t, newTransport(t, Options{AcceptNewHostKeys: true}), s.host("web-1", kh))
	if !errors.Is(err, engine.ErrHostKeyMismatch) || !strings.Contains(err.Error(), "REVOKED") {
		t.Fatalf("err = %v, want a revoked-key ErrHostKeyMismatch", err)
	}
}

// A host known only by a key type the server does not offer is refused as
// a mismatch, not connected with another of its keys.
func TestHostKeyTypeGone(t *testing.T) {
	s := needSSHD(t)
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader) // this sshd has no P-384 key
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	kh := knownHosts(t, s.hostPort("web-1")+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))))
	err = dialErr(t, newTransport(t, Options{AcceptNewHostKeys: true}), s.host("web-1", kh))
	if !errors.Is(err, engine.ErrHostKeyMismatch) || !strings.Contains(err.Error(), "ecdsa-sha2-nistp384") {
		t.Fatalf("err = %v, want ErrHostKeyMismatch naming the known type", err)
	}
}

// AcceptNewHostKeys records an unknown key under the inventory name and the
// address, as OpenSSH would; a second transport, without the option, then
// accepts the host, and another alias of the same address too.
func TestAcceptNewHostKeys(t *testing.T) {
	s := needSSHD(t)
	kh := filepath.Join(t.TempDir(), "sub", "known_hosts") // directory missing too
	c := dial(t, newTransport(t, Options{AcceptNewHostKeys: true}), s.host("web-1", kh))
	if code, _, err := runCmd(t, c, engine.Command{Line: "true"}); err != nil || code != 0 {
		t.Fatalf("code %d, err %v", code, err)
	}
	b, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], s.hostPort("web-1")+","+s.hostPort("127.0.0.1")+" ") {
		t.Fatalf("known_hosts = %q, want one line for %s and %s", b, s.hostPort("web-1"), s.hostPort("127.0.0.1"))
	}
	if fi, _ := os.Stat(kh); fi.Mode().Perm() != 0o600 {
		t.Errorf("known_hosts mode %v, want 0600", fi.Mode().Perm())
	}
	strict := newTransport(t, Options{})
	dial(t, strict, s.host("web-1", kh))
	dial(t, strict, s.host("web-2", kh)) // by the address entry
	// OpenSSH agrees with what was written.
	out, err := exec.Command("ssh-keygen", "-F", s.hostPort("web-1"), "-f", kh).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "found") {
		t.Fatalf("ssh-keygen -F: %v %s", err, out)
	}
}

// Many aliases of one unknown address, accepted at once, record it once.
func TestAcceptNewHostKeysConcurrent(t *testing.T) {
	s := needSSHD(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	tr := newTransport(t, Options{AcceptNewHostKeys: true})
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := tr.Dial(ctx, s.host("web-"+strconv.Itoa(i), kh))
			if err == nil {
				c.Close()
			}
			done <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	// The first alias recorded the address, which vouches for the others,
	// as it would for OpenSSH: they add nothing.
	b, _ := os.ReadFile(kh)
	if n := strings.Count(string(b), s.hostPort("127.0.0.1")); n != 1 {
		t.Fatalf("the address is recorded %d times, want once:\n%s", n, b)
	}
	if !strings.Contains(string(b), " ssh-ed25519 ") {
		t.Errorf("recorded key is not the ed25519 one OpenSSH would pick:\n%s", b)
	}
}
