package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

// rollout lock: the remote lock (engine/remotelock.go) a rollout takes on
// every host in preflight, shown, taken for an incident, or released by
// hand. It reaches the hosts exactly as run does (the same transports from
// engineOptions) and the same hosts preflight locks.

// lockParallel bounds the hosts reached at once.
const lockParallel = 32

// lockOpTimeout bounds one lock command once a host is connected.
const lockOpTimeout = 30 * time.Second

// lockFlags are the flags every lock subcommand shares: run's inputs and
// SSH options.
type lockFlags struct {
	in            inputFlags
	stateDir      string
	acceptNewKeys bool
}

func (f *lockFlags) register(cmd *cobra.Command) {
	f.in.register(cmd)
	cmd.Flags().StringVar(&f.stateDir, "state-dir", defaultStateDir(), "where journals and locks live (a manual hold's id is kept here)")
	cmd.Flags().BoolVar(&f.acceptNewKeys, "accept-new-host-keys", false, "record the key of a host known_hosts does not know yet (like OpenSSH's StrictHostKeyChecking=accept-new); a changed key is always refused")
}

func newLockCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Show, take or release the service's lock on every host (the lock each rollout takes in preflight)",
		Long: `A rollout takes a lock on every host before it changes anything: a directory
(the change's lock.path, default .rollout/locks/SERVICE under the login
directory) holding who took it, for which rollout, why and when. A second
rollout of the service, from any machine, stops in preflight and is told who
holds it.

  rollout lock status               who holds the lock, host by host
  rollout lock acquire -m REASON    hold the service during an incident: no rollout starts
  rollout lock release              release that hold (or --id ID, or --force)

Exit codes: 0 done (status: all free), 1 some hosts could not be reached,
2 bad usage or input, 3 another holds the lock on some hosts.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newLockStatusCmd(), newLockAcquireCmd(), newLockReleaseCmd())
	return cmd
}

// lockTarget is what the lock subcommands act on.
type lockTarget struct {
	service string
	path    string
	hosts   []string
	inv     *inventory.Inventory
	opts    engine.Options // the transports, as run builds them
	connect time.Duration
}

// target loads the inventory and change as run does and works out the lock
// path and the hosts.
func (f *lockFlags) target() (*lockTarget, error) {
	l, errs := f.in.load()
	if errs != nil {
		return nil, inputError(errs)
	}
	plans, errs := l.plans(f.in.service, false)
	if errs != nil {
		return nil, inputError(errs)
	}
	p := plans[0]
	if l.ch.Lock.Disabled {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: the change turns the remote lock off (lock: false), so rollouts of it neither take nor heed one", l.ch.File)}
	}
	path := engine.LockPath(l.ch.Lock.Path, p.Service)
	if err := engine.CheckLockPath(path); err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", l.ch.File, err)}
	}
	return &lockTarget{
		service: p.Service,
		path:    path,
		hosts:   lockHosts(p),
		inv:     l.inv,
		opts:    engineOptions(consoleFlags{stateDir: f.stateDir, acceptNewKeys: f.acceptNewKeys}, "", l.inv, l.ch),
		connect: l.ch.Timeouts.Connect,
	}, nil
}

// lockHosts is every host preflight reaches and locks: the plan's hosts in
// order, and the swap host unless the swap runs on this machine. It is the
// engine's preflightHosts, which is not exported.
func lockHosts(p *engine.Plan) []string {
	seen := map[string]bool{inventory.SwapLocal: true}
	var out []string
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for i := range p.Phases {
		for _, h := range p.Phases[i].Hosts() {
			add(h)
		}
		add(p.Phases[i].SwapHost)
	}
	return out
}

// lockRow is one host's outcome.
type lockRow struct {
	Host string `json:"host"`
	// State is free, held, taken, released or error.
	State  string                 `json:"state"`
	Holder *engine.RemoteLockInfo `json:"holder,omitempty"`
	Error  string                 `json:"error,omitempty"`
	// ran is true when the lock command was started (so an error leaves
	// its outcome unknown), false when the host was never reached.
	ran bool
}

// lockOp is one lock command on a connected host.
type lockOp func(ctx context.Context, conn engine.Conn, row *lockRow)

// each runs op on every host, lockParallel at a time, and returns the rows
// in host order.
func (t *lockTarget) each(ctx context.Context, hosts []string, op lockOp) []lockRow {
	rows := make([]lockRow, len(hosts))
	sem := make(chan struct{}, lockParallel)
	var wg sync.WaitGroup
	for i, name := range hosts {
		rows[i].Host = name
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					rows[i].State, rows[i].Error = "error", fmt.Sprintf("internal error: %v", r)
				}
			}()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				rows[i].State, rows[i].Error = "error", ctx.Err().Error()
				return
			}
			t.one(ctx, &rows[i], op)
		}()
	}
	wg.Wait()
	return rows
}

// one connects to a host, as the engine does, and runs op.
func (t *lockTarget) one(ctx context.Context, row *lockRow, op lockOp) {
	h := t.inv.Hosts[row.Host]
	if h == nil {
		row.State, row.Error = "error", "not in the inventory"
		return
	}
	tr := t.opts.Transport
	if h.Transport == inventory.TransportLocal {
		tr = t.opts.Local
	}
	var conn engine.Conn
	var err error
	if dt, ok := tr.(engine.DialTimeouter); ok {
		conn, err = dt.DialTimeout(ctx, h, t.connect)
	} else {
		dctx, cancel := context.WithTimeout(ctx, t.connect)
		conn, err = tr.Dial(dctx, h)
		cancel()
	}
	if err != nil {
		row.State, row.Error = "error", err.Error()
		return
	}
	defer conn.Close()
	octx, cancel := context.WithTimeout(ctx, lockOpTimeout)
	defer cancel()
	row.ran = true
	op(octx, conn, row)
}

// setErr records err on row: a lock held by another is "held", with its
// holder; anything else is "error".
func (row *lockRow) setErr(err error) {
	var held *engine.LockHeldError
	if errors.As(err, &held) {
		row.State, row.Holder = "held", &held.Holder
		return
	}
	row.State, row.Error = "error", err.Error()
}

// lockReport is what status prints with --json.
type lockReport struct {
	Service string    `json:"service"`
	Path    string    `json:"path"`
	Hosts   []lockRow `json:"hosts"`
	Free    int       `json:"free"`
	Held    int       `json:"held"`
	Errors  int       `json:"errors"`
}

func countState(rows []lockRow, state string) int {
	n := 0
	for _, r := range rows {
		if r.State == state {
			n++
		}
	}
	return n
}

// printRows prints one line per host, names aligned.
func printRows(w io.Writer, rows []lockRow, now time.Time) {
	width := 0
	for _, r := range rows {
		width = max(width, min(len(r.Host), 32))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s  %s\n", width, r.Host, rowText(r, now))
	}
}

func rowText(r lockRow, now time.Time) string {
	switch {
	case r.State == "error":
		return "error: " + r.Error
	case r.Holder != nil:
		return r.State + " " + engine.DescribeHolder(*r.Holder, now) + problemText(r.Holder)
	}
	return r.State
}

// releaseText is one host's line of a release: what was done there.
func releaseText(r lockRow, now time.Time) string {
	switch r.State {
	case "released":
		if r.Holder != nil {
			return "released " + r.Host + ": was held " + engine.DescribeHolder(*r.Holder, now) + problemText(r.Holder)
		}
		return "released " + r.Host
	case "free":
		return r.Host + ": free already"
	case "held":
		return "left " + r.Host + ": held " + engine.DescribeHolder(*r.Holder, now) + problemText(r.Holder)
	}
	return r.Host + ": error: " + r.Error
}

func problemText(h *engine.RemoteLockInfo) string {
	if h.Problem == "" {
		return ""
	}
	return " (" + h.Problem + ")"
}

// holders summarises who holds the held rows: "alice@jump1 (rollout ID) on 3 hosts".
func holders(rows []lockRow) string {
	type key struct{ owner, id string }
	n := map[key]int{}
	var order []key
	for _, r := range rows {
		if r.State != "held" || r.Holder == nil {
			continue
		}
		k := key{r.Holder.Owner, r.Holder.ID}
		if n[k] == 0 {
			order = append(order, k)
		}
		n[k]++
	}
	var parts []string
	for _, k := range order {
		s := k.owner
		if k.id != "" {
			s += " (rollout " + k.id + ")"
		}
		parts = append(parts, s+" on "+plural(n[k], "host"))
	}
	return strings.Join(parts, ", ")
}

func newLockStatusCmd() *cobra.Command {
	var f lockFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show who holds the service's lock on each host",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := f.target()
			if err != nil {
				return err
			}
			rows := t.each(cmd.Context(), t.hosts, func(ctx context.Context, conn engine.Conn, row *lockRow) {
				h, err := engine.ReadLock(ctx, conn, t.path)
				switch {
				case err != nil:
					row.setErr(err)
				case h == nil:
					row.State = "free"
				default:
					row.State, row.Holder = "held", h
				}
			})
			rep := lockReport{Service: t.service, Path: t.path, Hosts: rows, Free: countState(rows, "free"), Held: countState(rows, "held"), Errors: countState(rows, "error")}
			out := cmd.OutOrStdout()
			if f.in.json {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return &exitError{code: exitFailed, err: err}
				}
			} else {
				fmt.Fprintf(out, "lock %s of service %s on %s\n", t.path, t.service, plural(len(rows), "host"))
				printRows(out, rows, time.Now())
				summary := fmt.Sprintf("%d free, %d held, %s", rep.Free, rep.Held, plural(rep.Errors, "error"))
				if rep.Held > 0 {
					summary += "; held by " + holders(rows)
				}
				fmt.Fprintln(out, summary)
			}
			switch {
			case rep.Held > 0:
				return &exitError{code: exitLocked}
			case rep.Errors > 0:
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// A manual hold's id is kept in STATE_DIR/locks/SERVICE.hold, so that
// release finds it without --id.
type holdRecord struct {
	ID     string    `json:"id"`
	Path   string    `json:"path"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

func holdFile(stateDir, service string) string {
	return filepath.Join(stateDir, "locks", service+".hold")
}

func writeHold(stateDir, service string, h holdRecord) error {
	if err := os.MkdirAll(filepath.Join(stateDir, "locks"), 0o700); err != nil {
		return err
	}
	data, _ := json.Marshal(h)
	return os.WriteFile(holdFile(stateDir, service), append(data, '\n'), 0o600)
}

func readHold(stateDir, service string) (*holdRecord, error) {
	data, err := os.ReadFile(holdFile(stateDir, service))
	if err != nil {
		return nil, err
	}
	var h holdRecord
	if err := json.Unmarshal(data, &h); err != nil || h.ID == "" {
		return nil, fmt.Errorf("%s is damaged; give --id (rollout lock status shows it)", holdFile(stateDir, service))
	}
	return &h, nil
}

// manualID names a manual hold: who, and when, to the second.
func manualID(now time.Time) string {
	return "manual-" + currentUser() + "-" + now.UTC().Format("20060102-150405")
}

func lockOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return currentUser() + "@" + host
}

func newLockAcquireCmd() *cobra.Command {
	var f lockFlags
	var reason string
	cmd := &cobra.Command{
		Use:   "acquire -m REASON",
		Short: "Take the service's lock on every host, or on none: no rollout starts while it is held",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.in.json {
				return &exitError{code: exitUsage, err: errors.New("lock acquire: --json is for rollout lock status")}
			}
			if strings.TrimSpace(reason) == "" {
				return &exitError{code: exitUsage, err: errors.New("lock acquire: -m REASON must say why (it is shown to whoever is stopped by the lock)")}
			}
			t, err := f.target()
			if err != nil {
				return err
			}
			now := time.Now()
			info := engine.RemoteLockInfo{Owner: lockOwner(), ID: manualID(now), Reason: reason, Since: now, PID: os.Getpid()}
			rows := t.each(cmd.Context(), t.hosts, func(ctx context.Context, conn engine.Conn, row *lockRow) {
				if err := engine.AcquireRemoteLock(ctx, conn, t.path, info); err != nil {
					row.setErr(err)
					return
				}
				row.State = "taken"
			})
			return t.finishAcquire(cmd, f.stateDir, info, rows)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&reason, "message", "m", "", "why the service is held (required); shown to anyone the lock stops")
	_ = cmd.MarkFlagRequired("message")
	return cmd
}

// finishAcquire keeps the hold if every host was taken; otherwise it
// releases the hosts it took (all or nothing) and says why.
func (t *lockTarget) finishAcquire(cmd *cobra.Command, stateDir string, info engine.RemoteLockInfo, rows []lockRow) error {
	out := cmd.OutOrStdout()
	hold := holdRecord{ID: info.ID, Path: t.path, Reason: info.Reason, Since: info.Since}
	if countState(rows, "taken") == len(rows) {
		if err := writeHold(stateDir, t.service, hold); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: could not record the hold in %s (%v); release it with --id %s\n", stateDir, err, info.ID)
		}
		fmt.Fprintf(out, "held %s on %s as %s: %q\nrelease with: rollout lock release -s %s\n", t.service, plural(len(rows), "host"), info.ID, info.Reason, t.service)
		return nil
	}
	var problems []lockRow
	for _, r := range rows {
		if r.State != "taken" {
			problems = append(problems, r)
		}
	}
	printRows(out, problems, time.Now())
	// Undo: the hosts taken, and those whose outcome is unknown (a release
	// by this id is safe: it never removes another's lock).
	var undo []string
	for _, r := range rows {
		if r.State == "taken" || r.State == "error" && r.ran {
			undo = append(undo, r.Host)
		}
	}
	back := t.each(context.WithoutCancel(cmd.Context()), undo, func(ctx context.Context, conn engine.Conn, row *lockRow) {
		if err := engine.ReleaseLock(ctx, conn, t.path, info.ID, false); err != nil {
			row.setErr(err)
			return
		}
		row.State = "released"
	})
	var stuck []string
	for _, r := range back {
		if r.State == "error" {
			stuck = append(stuck, r.Host+" ("+r.Error+")")
		}
	}
	msg := fmt.Sprintf("took no lock: released the %s it had taken", plural(len(undo)-len(stuck), "host"))
	if len(stuck) > 0 {
		_ = writeHold(stateDir, t.service, hold)
		msg += fmt.Sprintf("; could NOT release %s: release them with rollout lock release -s %s --id %s", strings.Join(stuck, ", "), t.service, info.ID)
	}
	if held := countState(rows, "held"); held > 0 {
		return &exitError{code: exitLocked, err: fmt.Errorf("service %s is held on %s by %s; %s", t.service, plural(held, "host"), holders(rows), msg)}
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("%s could not be reached; %s", plural(countState(rows, "error"), "host"), msg)}
}

func newLockReleaseCmd() *cobra.Command {
	var f lockFlags
	var id string
	var force bool
	cmd := &cobra.Command{
		Use:   "release [--id ID] [--force]",
		Short: "Release this machine's manual hold (or rollout ID's lock); --force breaks whatever holds it",
		Long: `release removes the service's lock on every host where it is held by the
manual hold taken from this machine with rollout lock acquire, or by --id ID.
A lock held by another is shown and left (exit 3), unless --force: then
whatever holds it is released, and each holder broken is named. Only force a
lock you know is stale: its rollout may still be running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.in.json {
				return &exitError{code: exitUsage, err: errors.New("lock release: --json is for rollout lock status")}
			}
			t, err := f.target()
			if err != nil {
				return err
			}
			hold, herr := readHold(f.stateDir, t.service)
			if id == "" && hold != nil {
				id = hold.ID
			}
			if id == "" && !force {
				msg := fmt.Sprintf("no manual hold of service %s is recorded in %s; give --id ID (rollout lock status shows who holds what), or --force", t.service, f.stateDir)
				if herr != nil && !errors.Is(herr, os.ErrNotExist) {
					msg = herr.Error()
				}
				return &exitError{code: exitUsage, err: errors.New(msg)}
			}
			rows := t.each(cmd.Context(), t.hosts, func(ctx context.Context, conn engine.Conn, row *lockRow) {
				was, err := engine.ReleaseLockHolder(ctx, conn, t.path, id, force)
				switch {
				case err != nil:
					row.setErr(err)
				case was == nil:
					row.State = "free"
				default:
					row.State = "released"
					if was.ID != id || id == "" {
						row.Holder = was // a lock force broke: say whose it was
					}
				}
			})
			out := cmd.OutOrStdout()
			now := time.Now()
			for _, r := range rows {
				fmt.Fprintln(out, releaseText(r, now))
			}
			released, held, errs := countState(rows, "released"), countState(rows, "held"), countState(rows, "error")
			fmt.Fprintf(out, "%d released, %d free already, %d held by another, %s\n", released, countState(rows, "free"), held, plural(errs, "error"))
			if held == 0 && errs == 0 && hold != nil && (hold.ID == id || force) {
				_ = os.Remove(holdFile(f.stateDir, t.service))
			}
			switch {
			case held > 0:
				return &exitError{code: exitLocked, err: fmt.Errorf("left the lock of %s on %s: held by %s, not by %s; release with --force only if you are sure it is stale", t.service, plural(held, "host"), holders(rows), id)}
			case errs > 0:
				return &exitError{code: exitFailed, err: fmt.Errorf("%s could not be reached; run the release again", plural(errs, "host"))}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&id, "id", "", "release the lock held by this rollout or hold id (default: this machine's manual hold)")
	cmd.Flags().BoolVar(&force, "force", false, "release the lock whoever holds it, naming each holder broken")
	return cmd
}
