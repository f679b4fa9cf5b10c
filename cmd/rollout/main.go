// Command rollout walks an on-call engineer through a production change over
// SSH: test, standby, swap, canary, fleet, stopping for a keypress before
// each widening of the blast radius.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Exit codes, as documented in the README.
const (
	exitOK      = 0 // the rollout succeeded, or the command did what was asked
	exitFailed  = 1 // the rollout failed, was aborted or rolled back
	exitUsage   = 2 // bad usage or bad input files
	exitLocked  = 3 // another rollout holds the service's lock
	exitUnknown = 1
)

// exitError carries an exit code up to main, with the message to print (if any).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(context.Background())
	intr := &interrupts{}
	go func() {
		// The first signal (^C, SIGTERM, or SIGHUP when the engineer's SSH
		// session to the jump box drops) stops new work: hosts in flight get
		// the grace period, and the journal stays resumable. A second ^C
		// during the grace aborts the hosts in flight at once.
		<-sigs
		cancel()
		for s := range sigs {
			if s == os.Interrupt {
				intr.abort()
			}
		}
	}()
	os.Exit(run(withInterrupts(ctx, intr), os.Args[1:]))
}

// interrupts holds what a second ^C does: abort the running rollout.
type interrupts struct {
	mu     sync.Mutex
	onNext func()
}

// onSecond sets what a second ^C does.
func (i *interrupts) onSecond(fn func()) {
	i.mu.Lock()
	i.onNext = fn
	i.mu.Unlock()
}

func (i *interrupts) abort() {
	i.mu.Lock()
	fn := i.onNext
	i.mu.Unlock()
	if fn != nil {
		fn()
	}
}

type interruptsKey struct{}

func withInterrupts(ctx context.Context, i *interrupts) context.Context {
	return context.WithValue(ctx, interruptsKey{}, i)
}

// interruptsFrom returns the process's interrupt handling, or a no-op one
// (tests that call run directly).
func interruptsFrom(ctx context.Context) *interrupts {
	if i, ok := ctx.Value(interruptsKey{}).(*interrupts); ok {
		return i
	}
	return &interrupts{}
}

// run executes the command line and returns the process exit code.
func run(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, ee.err)
		}
		return ee.code
	}
	// Cobra's own errors (unknown flag, missing argument) are usage errors.
	fmt.Fprintf(os.Stderr, "rollout: %v\nRun 'rollout --help' for usage.\n", err)
	return exitUsage
}
