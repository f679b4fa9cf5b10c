package sshx

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// defaultIdentities are tried, as by OpenSSH, when a host names none.
func defaultIdentities() []string {
	return []string{"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"}
}

// identity is one identity file, parsed once per transport.
type identity struct {
	path    string
	signers []ssh.Signer  // the key, preceded by its certificate when PATH-cert.pub exists
	pub     ssh.PublicKey // known even when the key is encrypted, when the file or PATH.pub says
	missing bool
	locked  bool // passphrase-protected
	err     error
}

// keyFiles caches parsed identity files for a transport.
type keyFiles struct {
	mu   sync.Mutex
	byID map[string]*identity
}

func (k *keyFiles) load(path string) *identity {
	k.mu.Lock()
	defer k.mu.Unlock()
	if id := k.byID[path]; id != nil {
		return id
	}
	id := parseIdentity(path)
	if k.byID == nil {
		k.byID = make(map[string]*identity)
	}
	k.byID[path] = id
	return id
}

func parseIdentity(path string) *identity {
	id := &identity{path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		id.missing = true
		return id
	}
	if err != nil {
		id.err = err
		return id
	}
	signer, err := ssh.ParsePrivateKey(data)
	var locked *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &locked):
		id.locked = true
		id.pub = locked.PublicKey
		if id.pub == nil {
			if b, err := os.ReadFile(path + ".pub"); err == nil {
				id.pub, _, _, _, _ = ssh.ParseAuthorizedKey(b)
			}
		}
		return id
	case err != nil:
		id.err = fmt.Errorf("not a private key OpenSSH can use: %w", err)
		return id
	}
	id.pub = signer.PublicKey()
	if b, err := os.ReadFile(path + "-cert.pub"); err == nil {
		if pk, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil {
			if cert, ok := pk.(*ssh.Certificate); ok {
				if cs, err := ssh.NewCertSigner(cert, signer); err == nil {
					id.signers = append(id.signers, cs)
				}
			}
		}
	}
	id.signers = append(id.signers, signer)
	return id
}

// credentials are the signers offered to one server, in order, with what a
// person needs to know if every one of them is refused.
type credentials struct {
	signers []ssh.Signer
	notes   []string
	close   func()
}

// credentials gathers the signers for one connection: keys in both the
// agent and the identity files first (in file order), then the agent's other
// keys (certificates included), then identity-file keys the agent lacks, as
// OpenSSH orders them. A passphrase-protected file that no agent holds is
// never prompted for; if nothing else is left to offer, that is the error.
func (t *Transport) credentials(ctx context.Context, files []string) (*credentials, error) {
	cr := &credentials{close: func() {}}
	var agentSigners []ssh.Signer
	sock := t.agentSocket()
	if sock != "" {
		var d net.Dialer
		ac, err := d.DialContext(ctx, "unix", sock)
		if err != nil {
			cr.notes = append(cr.notes, fmt.Sprintf("ssh-agent at %s: %v", sock, err))
		} else {
			// A hung agent must not hang the dial: its answers, the
			// signature during the handshake included, are due by the
			// handshake's deadline.
			if d, ok := ctx.Deadline(); ok {
				_ = ac.SetDeadline(d)
			}
			cr.close = func() { ac.Close() }
			agentSigners, err = agent.NewClient(ac).Signers()
			// The agent package flattens errors: a timeout shows as the
			// deadline having passed.
			if dl, ok := ctx.Deadline(); err != nil && (isTimeout(err) || ok && !time.Now().Before(dl)) {
				ac.Close()
				return nil, fmt.Errorf("the ssh-agent at %s did not answer", sock)
			}
			if err != nil {
				cr.notes = append(cr.notes, fmt.Sprintf("ssh-agent at %s: %v", sock, err))
			}
		}
	}
	explicit := len(files) > 0
	if !explicit {
		files = defaultIdentities()
	}
	inAgent := func(pub ssh.PublicKey) ssh.Signer {
		if pub == nil {
			return nil
		}
		for _, s := range agentSigners {
			if keysEqual(s.PublicKey(), pub) {
				return s
			}
		}
		return nil
	}
	used := map[ssh.Signer]bool{}
	var fromFiles []ssh.Signer
	var locked []string
	for _, f := range files {
		path := t.expand(f)
		id := t.keys.load(path)
		switch {
		case id.missing:
			if explicit {
				cr.notes = append(cr.notes, path+": no such file")
			}
			continue
		case id.err != nil:
			cr.notes = append(cr.notes, path+": "+id.err.Error())
			continue
		}
		if s := inAgent(id.pub); s != nil {
			if !used[s] {
				used[s] = true
				cr.signers = append(cr.signers, s)
			}
			continue
		}
		if id.locked {
			locked = append(locked, path)
			continue
		}
		fromFiles = append(fromFiles, id.signers...)
	}
	for _, s := range agentSigners {
		if !used[s] {
			cr.signers = append(cr.signers, s)
		}
	}
	cr.signers = append(cr.signers, fromFiles...)
	for _, p := range locked {
		why := "no ssh-agent is running (SSH_AUTH_SOCK is not set)"
		if sock != "" {
			why = "the ssh-agent does not hold it"
		}
		cr.notes = append(cr.notes, fmt.Sprintf("%s is passphrase-protected and %s: add it with `ssh-add %s` (rollout never prompts for a passphrase)", p, why, p))
	}
	if len(cr.signers) == 0 {
		cr.close()
		msg := "no key to offer"
		if len(cr.notes) > 0 {
			msg += ": " + strings.Join(cr.notes, "; ")
		} else if sock == "" {
			msg += ": no ssh-agent (SSH_AUTH_SOCK is not set) and none of " + strings.Join(files, ", ") + " exists"
		}
		return nil, errors.New(msg)
	}
	return cr, nil
}

// describe lists the keys offered, for an auth failure.
func (cr *credentials) describe() string {
	var parts []string
	for i, s := range cr.signers {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("%d more", len(cr.signers)-i))
			break
		}
		parts = append(parts, s.PublicKey().Type()+" "+ssh.FingerprintSHA256(s.PublicKey()))
	}
	msg := "offered " + strings.Join(parts, ", ")
	if len(cr.notes) > 0 {
		msg += "; " + strings.Join(cr.notes, "; ")
	}
	return msg
}

func (t *Transport) agentSocket() string {
	if t.AgentSocket != "" {
		return t.AgentSocket
	}
	return t.getenv("SSH_AUTH_SOCK")
}
