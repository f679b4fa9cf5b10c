package sshx

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"

	"github.com/rolloutconsole/rollout/engine"
)

// HostKeyError is a host key that was refused: unknown, changed or revoked.
// It matches engine.ErrHostKeyUnknown or engine.ErrHostKeyMismatch with
// errors.Is, so a console can badge it, and carries what a person needs to
// decide: the fingerprint offered and the entries it was checked against.
type HostKeyError struct {
	// Host is the inventory name (or the jump host's name).
	Host string
	// Address is where it was reached, host:port.
	Address string
	// Key is the key the server offered.
	Key ssh.PublicKey
	// Known holds the recorded keys it differs from; empty for an unknown host.
	Known []xknownhosts.KnownKey
	// Revoked is set when the offered key is marked @revoked.
	Revoked bool
	// File is the known_hosts file a new key would be recorded in.
	File string
}

// Fingerprint is the offered key's SHA256 fingerprint, as OpenSSH prints it.
func (e *HostKeyError) Fingerprint() string { return ssh.FingerprintSHA256(e.Key) }

// Unwrap returns the sentinel the error stands for.
func (e *HostKeyError) Unwrap() error {
	if e.Revoked || len(e.Known) > 0 {
		return engine.ErrHostKeyMismatch
	}
	return engine.ErrHostKeyUnknown
}

// Error says what was refused, where, and what to do about it.
func (e *HostKeyError) Error() string {
	host, port, _ := net.SplitHostPort(e.Address)
	offered := fmt.Sprintf("%s key %s", e.Key.Type(), e.Fingerprint())
	switch {
	case e.Revoked:
		return fmt.Sprintf("host key REVOKED for %s (%s): it offered %s, which known_hosts marks @revoked; not connecting",
			e.Host, e.Address, offered)
	case len(e.Known) > 0:
		var b strings.Builder
		fmt.Fprintf(&b, "host key MISMATCH for %s (%s): it offered %s, but ", e.Host, e.Address, offered)
		for i, k := range e.Known {
			if i == 3 {
				fmt.Fprintf(&b, " and %d more", len(e.Known)-i)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s:%d has %s %s", k.Filename, k.Line, k.Key.Type(), ssh.FingerprintSHA256(k.Key))
		}
		b.WriteString(". Someone may be intercepting the connection, or the host was reinstalled; not connecting. " +
			"If the change is expected, confirm the new fingerprint out of band, then delete the old entry")
		if len(e.Known) > 0 {
			fmt.Fprintf(&b, " (line %d of %s)", e.Known[0].Line, e.Known[0].Filename)
		}
		return b.String()
	default:
		portFlag := ""
		if port != "" && port != "22" {
			portFlag = "-p " + port + " "
		}
		return fmt.Sprintf("unknown host key for %s (%s): it offered %s, which is not in %s. "+
			"Check that fingerprint out of band, then record it with: ssh-keyscan %s-t %s %s >> %s "+
			"(or rerun with --accept-new-host-keys)",
			e.Host, e.Address, offered, e.File, portFlag, keyscanType(e.Key.Type()), host, e.File)
	}
}

// keyscanType is ssh-keyscan's -t name for an SSH key type.
func keyscanType(t string) string {
	switch {
	case t == ssh.KeyAlgoED25519:
		return "ed25519"
	case strings.HasPrefix(t, "ecdsa-"):
		return "ecdsa"
	case t == ssh.KeyAlgoRSA:
		return "rsa"
	}
	return t
}

// hostIdentity names one SSH server for host key checks.
type hostIdentity struct {
	name  string   // inventory or jump host name
	addr  string   // dial address
	port  int      // dial port
	files []string // known_hosts files to read
	write string   // where a new key is recorded
}

// candidates are the host:port forms the key may be recorded under: the
// inventory name first, then the address, as OpenSSH would record it.
func (id hostIdentity) candidates() []string {
	p := strconv.Itoa(id.port)
	out := []string{net.JoinHostPort(id.name, p)}
	if a := net.JoinHostPort(id.addr, p); id.addr != "" && knownhosts.Normalize(a) != knownhosts.Normalize(out[0]) {
		out = append(out, a)
	}
	return out
}

// hostKeys reads known_hosts files, caching each parsed set until a file
// changes, and records keys accepted under AcceptNewHostKeys. It belongs to
// one Transport.
type hostKeys struct {
	mu    sync.Mutex
	dbs   map[string]*khEntry
	added []addedKey // written by this transport: consulted even before a reload
}

type khEntry struct {
	files  []string
	stamps []fileStamp
	db     *knownhosts.HostKeyDB
}

type addedKey struct {
	names []string // normalized
	key   ssh.PublicKey
	file  string
}

type fileStamp struct {
	exists bool
	size   int64
	mod    time.Time
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{exists: true, size: fi.Size(), mod: fi.ModTime()}
}

// db returns the parsed files, reparsing only when one of them changed.
func (h *hostKeys) db(files []string) (*knownhosts.HostKeyDB, error) {
	key := strings.Join(files, "\x00")
	stamps := make([]fileStamp, len(files))
	for i, f := range files {
		stamps[i] = stampOf(f)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if e := h.dbs[key]; e != nil && sameStamps(e.stamps, stamps) {
		return e.db, nil
	}
	var existing []string
	for i, f := range files {
		if stamps[i].exists {
			existing = append(existing, f)
		}
	}
	db, err := knownhosts.NewDB(existing...)
	if err != nil {
		return nil, fmt.Errorf("read known_hosts: %w", err)
	}
	if h.dbs == nil {
		h.dbs = make(map[string]*khEntry)
	}
	h.dbs[key] = &khEntry{files: files, stamps: stamps, db: db}
	return db, nil
}

func sameStamps(a, b []fileStamp) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// verifier checks one server's key. It is built before the handshake so that
// the handshake can offer only the key algorithms known_hosts holds.
type verifier struct {
	h         *hostKeys
	id        hostIdentity
	db        *knownhosts.HostKeyDB
	acceptNew bool
	algos     []string
	// verified is set once the key passed (on the handshake's goroutine): a
	// later failure is about auth.
	verified atomic.Bool
}

func (h *hostKeys) verifier(id hostIdentity, acceptNew bool) (*verifier, error) {
	db, err := h.db(id.files)
	if err != nil {
		return nil, err
	}
	v := &verifier{h: h, id: id, db: db, acceptNew: acceptNew}
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			v.algos = append(v.algos, a)
		}
	}
	for _, c := range id.candidates() {
		for _, a := range db.HostKeyAlgorithms(c) {
			add(a)
		}
	}
	for _, k := range h.addedFor(id) {
		if k.Type() == ssh.KeyAlgoRSA {
			add(ssh.KeyAlgoRSASHA512)
			add(ssh.KeyAlgoRSASHA256)
		}
		add(k.Type())
	}
	if len(v.algos) == 0 {
		// An unknown host: OpenSSH's preference, so that the key recorded
		// (or shown) is the one ssh would have recorded.
		v.algos = unknownHostKeyAlgos()
	}
	return v, nil
}

// unknownHostKeyAlgos are the host key algorithms asked of a host that
// known_hosts does not know, in OpenSSH's order; no certificates, since no
// authority is known for it either.
func unknownHostKeyAlgos() []string {
	return []string{
		ssh.KeyAlgoED25519,
		ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
	}
}

// addedFor returns the keys this transport recorded for id.
func (h *hostKeys) addedFor(id hostIdentity) []ssh.PublicKey {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []ssh.PublicKey
	for _, c := range id.candidates() {
		n := knownhosts.Normalize(c)
		for _, a := range h.added {
			for _, an := range a.names {
				if an == n {
					out = append(out, a.key)
				}
			}
		}
	}
	return out
}

// check is the ssh.HostKeyCallback. The key must be recorded under the
// inventory name or the address, and no entry of its type under either may
// differ: a stale entry for the address is a mismatch even when the name's
// entry matches, so a reused address never slips past.
func (v *verifier) check(_ string, remote net.Addr, key ssh.PublicKey) error {
	cb := v.db.HostKeyCallback()
	var (
		matched bool
		want    []xknownhosts.KnownKey
		other   error
	)
	for _, c := range v.id.candidates() {
		err := cb(c, remote, key)
		var keyErr *xknownhosts.KeyError
		var revoked *xknownhosts.RevokedError
		switch {
		case err == nil:
			matched = true
		case errors.As(err, &revoked):
			return v.refuse(key, nil, true)
		case errors.As(err, &keyErr):
			want = append(want, keyErr.Want...)
		default:
			if other == nil {
				other = err
			}
		}
	}
	v.h.mu.Lock()
	for _, c := range v.id.candidates() {
		n := knownhosts.Normalize(c)
		for _, a := range v.h.added {
			for _, an := range a.names {
				if an != n {
					continue
				}
				if keysEqual(a.key, key) {
					matched = true
				} else {
					want = append(want, xknownhosts.KnownKey{Key: a.key, Filename: a.file})
				}
			}
		}
	}
	v.h.mu.Unlock()
	if matched {
		// Entries of other types are other keys of the same server; an
		// entry of the same type that differs contradicts the match.
		var conflict []xknownhosts.KnownKey
		for _, w := range want {
			if w.Key.Type() == key.Type() && !keysEqual(w.Key, key) {
				conflict = append(conflict, w)
			}
		}
		want = conflict
	}
	switch {
	case len(want) > 0:
		return v.refuse(key, want, false)
	case matched:
		v.verified.Store(true)
		return nil
	case other != nil:
		return fmt.Errorf("check host key for %s: %w", v.id.name, other)
	case v.acceptNew:
		conflict, err := v.h.record(v.id, key)
		if err != nil {
			return err
		}
		if len(conflict) > 0 {
			return v.refuse(key, conflict, false)
		}
		v.verified.Store(true)
		return nil
	}
	return v.refuse(key, nil, false)
}

func (v *verifier) refuse(key ssh.PublicKey, want []xknownhosts.KnownKey, revoked bool) error {
	return &HostKeyError{
		Host:    v.id.name,
		Address: net.JoinHostPort(v.id.addr, strconv.Itoa(v.id.port)),
		Key:     key,
		Known:   want,
		Revoked: revoked,
		File:    v.id.write,
	}
}

func keysEqual(a, b ssh.PublicKey) bool {
	return a.Type() == b.Type() && string(a.Marshal()) == string(b.Marshal())
}

// record appends key for id to its known_hosts file, under the inventory
// name and the address, as OpenSSH's accept-new would.
//
// It returns the keys recorded meanwhile for the same names, if they differ.
func (h *hostKeys) record(id hostIdentity, key ssh.PublicKey) ([]xknownhosts.KnownKey, error) {
	var names []string
	for _, c := range id.candidates() {
		names = append(names, knownhosts.Normalize(c))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// A concurrent dial of the same host, or of another name for the same
	// address, may have recorded it since the check.
	var conflict []xknownhosts.KnownKey
	for _, a := range h.added {
		for _, an := range a.names {
			if !slices.Contains(names, an) {
				continue
			}
			if keysEqual(a.key, key) {
				return nil, nil
			}
			conflict = append(conflict, xknownhosts.KnownKey{Key: a.key, Filename: a.file})
		}
	}
	if len(conflict) > 0 {
		return conflict, nil
	}
	before := stampOf(id.write)
	if err := appendLine(id.write, knownhosts.Line(id.candidates(), key)); err != nil {
		return nil, fmt.Errorf("record host key for %s in %s: %w", id.name, id.write, err)
	}
	h.added = append(h.added, addedKey{names: names, key: key, file: id.write})
	// The cached parse lacks only the line just written, which h.added
	// holds: keep it rather than reparse the file for every new host.
	after := stampOf(id.write)
	for _, e := range h.dbs {
		for i, f := range e.files {
			if f == id.write && e.stamps[i] == before {
				e.stamps[i] = after
			}
		}
	}
	return nil, nil
}

// appendLine adds line to a known_hosts file, creating it (and its
// directory) private to the user when missing.
func appendLine(path, line string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	prefix := ""
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			prefix = "\n"
		}
	}
	_, werr := f.WriteString(prefix + line + "\n")
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}
