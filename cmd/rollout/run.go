package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/local"
	"github.com/rolloutconsole/rollout/engine/sshx"
	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/change"
	"github.com/rolloutconsole/rollout/tui"
	"github.com/rolloutconsole/rollout/tui/plain"
)

// consoleFlags are the flags of every command that drives a rollout.
type consoleFlags struct {
	stateDir      string
	plain         bool
	yes           bool
	acceptNewKeys bool
	noPreflight   bool
}

func (f *consoleFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.stateDir, "state-dir", defaultStateDir(), "where journals and locks live")
	cmd.Flags().BoolVar(&f.plain, "plain", false, "print one line per event and read answers from stdin, even on a terminal")
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "confirm every gate that passed (a failed gate still waits for an answer)")
	cmd.Flags().BoolVar(&f.noPreflight, "no-preflight", false, "start at the plan instead of first reaching every host (preflight checks, fingerprints and the remote lock are then skipped)")
	cmd.Flags().BoolVar(&f.acceptNewKeys, "accept-new-host-keys", false, "record the key of a host known_hosts does not know yet (like OpenSSH's StrictHostKeyChecking=accept-new); a changed key is always refused")
}

func newRunCmd() *cobra.Command {
	var in inputFlags
	var cf consoleFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Roll the change out: test, standby, swap, canary, fleet, confirming each widening",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := in.absolute(); err != nil {
				return err
			}
			l, errs := in.load()
			if errs != nil {
				return inputError(errs)
			}
			plans, errs := l.plans(in.service, false)
			if errs != nil {
				return inputError(errs)
			}
			p := plans[0]
			id := engine.NewID(time.Now(), p.Service)
			lock, err := lockService(cf.stateDir, p.Service, id)
			if err != nil {
				return err
			}
			defer lock.Release()
			opts := engineOptions(cf, id, l.inv, l.ch)
			opts.InventoryArgs = in.inventoryArgs()
			eng, err := engine.New(p, opts)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			return drive(cmd.Context(), eng, cf, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	in.register(cmd)
	cf.register(cmd)
	return cmd
}

// absolute makes the file paths absolute, so the journal can find them from
// any directory on resume.
func (f *inputFlags) absolute() error {
	for _, p := range []*string{&f.inventory, &f.change} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		*p = abs
	}
	return nil
}

func lockService(dir, service, id string) (*engine.Lock, error) {
	host, _ := os.Hostname()
	lock, err := engine.AcquireLock(dir, service, engine.LockInfo{User: currentUser(), PID: os.Getpid(), Machine: host, ID: id, Started: time.Now()})
	var le *engine.LockedError
	if errors.As(err, &le) {
		return nil, &exitError{code: exitLocked, err: err}
	}
	if err != nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	return lock, nil
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func engineOptions(cf consoleFlags, id string, inv *inventory.Inventory, ch *change.Change) engine.Options {
	so := sshx.Options{AcceptNewHostKeys: cf.acceptNewKeys, ResolveJump: func(name string) *inventory.Host { return inv.Hosts[name] }}
	var secrets []string
	if ch != nil {
		secrets = ch.Secrets()
		if k := ch.Timeouts.Keepalive; k > 0 {
			// Lost once a probe, sent every half of it, goes unanswered twice over.
			so.KeepaliveInterval, so.KeepaliveMaxMissed = k/2, 1
		}
	}
	return engine.Options{
		Local:       &local.Transport{},
		Transport:   sshx.New(so),
		StateDir:    cf.stateDir,
		ID:          id,
		AutoConfirm: cf.yes,
		Secrets:     secrets,
		Preflight:   !cf.noPreflight,
		Hooks:       true,
	}
}

// drive runs the engine under a console and turns its outcome into an exit
// code: the full-screen console when stdin and stdout are terminals, the
// line printer otherwise or with --plain.
func drive(ctx context.Context, eng *engine.Engine, cf consoleFlags, stdin io.Reader, stdout io.Writer) error {
	interruptsFrom(ctx).onSecond(func() { _ = eng.Abort() })
	records := eng.Subscribe()
	type result struct {
		outcome engine.Outcome
		err     error
	}
	// Detach cancels only the engine's context: it stops cleanly and leaves
	// the journal resumable.
	engCtx, detach := context.WithCancel(ctx)
	defer detach()
	console := !cf.plain && isTTY(stdin) && isTTY(stdout)
	var history []engine.Record // a resumed rollout's past, read before the engine adds to it
	if console {
		if rp, err := engine.ReadJournal(eng.JournalPath()); err == nil {
			history = rp.Records
		}
	}
	done := make(chan result, 1)
	go func() {
		o, err := eng.Run(engCtx)
		done <- result{o, err}
	}()
	if console {
		st, err := runConsole(ctx, eng, history, records, detach, stdin, stdout)
		res := <-done
		tui.WriteSummary(stdout, st, eng.ID(), eng.JournalPath())
		if err != nil {
			return &exitError{code: exitFailed, err: fmt.Errorf("rollout %s: %w; the rollout was stopped and can be resumed: rollout resume %s", eng.ID(), err, eng.ID())}
		}
		return runError(eng.ID(), res.outcome, res.err)
	}
	fmt.Fprintf(stdout, "journal: %s\n", eng.JournalPath())
	con := plain.New(stdout, eng, cf.yes)
	con.Scripted = !isTerminal(stdin)
	con.Run(ctx, records, stdin)
	res := <-done
	return runError(eng.ID(), res.outcome, res.err)
}

// runError is the exit for how Run ended: a lock another rollout holds on
// some host is exit 3, like the local lock; an engine that could not record
// is a failure; otherwise the outcome decides.
func runError(id string, o engine.Outcome, err error) error {
	switch {
	case errors.Is(err, engine.ErrRemoteLocked):
		return &exitError{code: exitLocked, err: fmt.Errorf("rollout %s did not start: %w", id, err)}
	case err != nil:
		return &exitError{code: exitFailed, err: fmt.Errorf("rollout %s: %w", id, err)}
	}
	return outcomeError(id, o)
}

// outcomeError maps how a rollout ended to the exit code, with a line that
// says what to do next.
func outcomeError(id string, o engine.Outcome) error {
	switch o {
	case engine.OutcomeSucceeded:
		return nil
	case engine.OutcomeInterrupted:
		return &exitError{code: exitFailed, err: fmt.Errorf("rollout %s was interrupted; go on with: rollout resume %s", id, id)}
	case engine.OutcomeFailed, engine.OutcomeAborted:
		return &exitError{code: exitFailed, err: fmt.Errorf("rollout %s %s; see rollout show %s, then rollout resume %s or rollout rollback %s", id, o, id, id, id)}
	case engine.OutcomeRolledBack:
		return &exitError{code: exitFailed, err: fmt.Errorf("rollout %s was rolled back: every host it changed is back on the old version; see rollout show %s", id, id)}
	case engine.OutcomeRollbackFailed:
		return &exitError{code: exitFailed, err: fmt.Errorf("rollout %s: some hosts could not be rolled back; see rollout show %s", id, id)}
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("rollout %s %s", id, o)}
}

func newResumeCmd(rollback bool) *cobra.Command {
	var cf consoleFlags
	var sshConfig string
	use, short := "resume [ID]", "Go on with a rollout from its journal (the most recent unfinished one without ID)"
	if rollback {
		use, short = "rollback ID", "Roll back every host a rollout changed, in reverse order, from its journal"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			} else if rollback {
				return &exitError{code: exitUsage, err: errors.New("rollback needs the rollout ID; see rollout history")}
			}
			je, err := findJournal(cf.stateDir, id)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			h := je.replay.Header
			in := inputFlags{inventory: h.Inventory, change: h.ChangeFile, service: h.Service, sshConfig: sshConfig}
			in.setInventoryArgs(h.InventoryArgs)
			l, errs := in.load()
			if errs != nil {
				return inputError(errs)
			}
			plans, errs := l.plans(h.Service, false)
			if errs != nil {
				return inputError(errs)
			}
			lock, err := lockService(cf.stateDir, h.Service, h.ID)
			if err != nil {
				return err
			}
			defer lock.Release()
			opts := engineOptions(cf, h.ID, l.inv, l.ch)
			opts.RollbackNow = rollback
			eng, err := engine.Resume(je.path, plans[0], opts)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			return drive(cmd.Context(), eng, cf, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&sshConfig, "ssh-config", defaultSSHConfig(), "OpenSSH client config consulted where the inventory is silent")
	return cmd
}

// isTerminal reports whether r is a terminal (a person typing), not a pipe
// or a file (a script).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
