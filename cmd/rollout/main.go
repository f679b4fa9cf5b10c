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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
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
