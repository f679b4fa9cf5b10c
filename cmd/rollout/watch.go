package main

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/tui"
)

// newWatchCmd is rollout watch: the console, read-only, following a
// rollout's journal as another terminal runs it.
func newWatchCmd() *cobra.Command {
	var stateDir string
	cmd := &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a running rollout in the console, read-only, from another terminal",
		Long: `watch opens the console on a rollout another terminal is running, and follows
its journal as it grows. It is read-only: gates are answered, and the rollout
paused, aborted or rolled back, only from the terminal that runs it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			je, err := findJournal(stateDir, args[0])
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			stdout := cmd.OutOrStdout()
			if !isTTY(cmd.InOrStdin()) || !isTTY(stdout) {
				return &exitError{code: exitUsage, err: errors.New("watch needs a terminal; rollout show " + je.replay.Header.ID + " prints the rollout as text")}
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			records, err := tui.Follow(ctx, je.path, tui.DefaultPoll)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			id := je.replay.Header.ID
			st, err := tui.Run(ctx, tui.Options{Records: records, ID: id, JournalPath: je.path})
			cancel()
			for range records { // let the follower see the end
			}
			tui.WriteSummary(stdout, st, id, je.path)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", defaultStateDir(), "where journals and locks live")
	return cmd
}

// isTTY reports whether a reader or writer is a terminal.
func isTTY(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// runConsole runs the full-screen console over a running engine and returns
// the state it saw, every record drained; the engine is detached (stopped
// cleanly, resumable) if the console fails.
func runConsole(ctx context.Context, eng *engine.Engine, history []engine.Record, records <-chan engine.Record, detach func(), stdin io.Reader, stdout io.Writer) (*engine.State, error) {
	opts := tui.Options{Records: records, History: history, Controller: eng, Detach: detach, ID: eng.ID(), JournalPath: eng.JournalPath(), Output: stdout}
	if stdin != os.Stdin {
		opts.Input = stdin
	}
	st, err := tui.Run(ctx, opts)
	if err != nil {
		detach()
	}
	for r := range records {
		st.Apply(r)
	}
	return st, err
}
