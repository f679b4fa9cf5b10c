package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// LockInfo says who holds a service's lock.
type LockInfo struct {
	User    string    `json:"user"`
	PID     int       `json:"pid"`
	Machine string    `json:"machine,omitempty"`
	ID      string    `json:"id,omitempty"`
	Started time.Time `json:"started"`
}

// Lock is a held lock on one service in a state dir. Two consoles on one
// machine cannot roll out the same service at once: the second is refused
// and told who holds it. The operating system drops the lock when the
// holder dies, so a crash never leaves a stale lock behind.
type Lock struct {
	f    *os.File
	path string
}

// LockedError is returned when another console holds the lock.
type LockedError struct {
	Service string
	Holder  LockInfo
}

func (e *LockedError) Error() string {
	h := e.Holder
	who := h.User
	if who == "" {
		who = "someone"
	}
	msg := fmt.Sprintf("service %s is locked: %s (pid %d", e.Service, who, h.PID)
	if h.Machine != "" {
		msg += " on " + h.Machine
	}
	if !h.Started.IsZero() {
		msg += ", since " + h.Started.Local().Format("2006-01-02 15:04:05 MST")
	}
	msg += ")"
	if h.ID != "" {
		msg += " is running rollout " + h.ID
	} else {
		msg += " holds it"
	}
	return msg + "; wait for it to finish, or watch it with: rollout watch " + h.ID
}

// ErrLocked matches a LockedError with errors.Is.
var ErrLocked = errors.New("locked")

// Is makes errors.Is(err, ErrLocked) true for a LockedError.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// AcquireLock takes the lock on service in dir, recording info as the holder.
func AcquireLock(dir, service string, info LockInfo) (*Lock, error) {
	ldir := filepath.Join(dir, "locks")
	if err := os.MkdirAll(ldir, 0o700); err != nil {
		return nil, fmt.Errorf("create lock dir: %w", err)
	}
	path := filepath.Join(ldir, service+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		var holder LockInfo
		data, _ := os.ReadFile(path)
		_ = json.Unmarshal(data, &holder)
		f.Close()
		return nil, &LockedError{Service: service, Holder: holder}
	}
	data, _ := json.Marshal(info)
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(data, '\n'), 0)
	}
	return &Lock{f: f, path: path}, nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	return err
}
