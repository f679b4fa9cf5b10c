package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolloutconsole/rollout/engine"
)

func newHistoryCmd() *cobra.Command {
	var stateDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List rollouts in the state dir, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, skipped, err := listJournals(stateDir)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				type row struct {
					ID      string    `json:"id"`
					Change  string    `json:"change"`
					Service string    `json:"service"`
					Started time.Time `json:"started"`
					Outcome string    `json:"outcome"`
					Journal string    `json:"journal"`
				}
				rows := []row{}
				for _, e := range entries {
					h := e.replay.Header
					rows = append(rows, row{h.ID, h.Change, h.Service, h.Created, outcomeText(e.state), e.path})
				}
				return json.NewEncoder(out).Encode(rows)
			}
			if len(entries) == 0 {
				fmt.Fprintf(out, "no rollouts in %s\n", stateDir)
			} else {
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tCHANGE\tSERVICE\tSTARTED\tOUTCOME")
				for _, e := range entries {
					h := e.replay.Header
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.ID, h.Change, h.Service, h.Created.Local().Format("2006-01-02 15:04"), outcomeText(e.state))
				}
				tw.Flush()
			}
			for _, s := range skipped {
				fmt.Fprintf(cmd.ErrOrStderr(), "skipped: %s\n", s)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", defaultStateDir(), "where journals and locks live")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

// outcomeText says how a rollout ended, or that it did not.
func outcomeText(s *engine.State) string {
	if s.Outcome == "" {
		return "unfinished (resumable)"
	}
	if s.Outcome == engine.OutcomeInterrupted {
		return "interrupted (resumable)"
	}
	return string(s.Outcome)
}

func newShowCmd() *cobra.Command {
	var stateDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Print one rollout's host-by-host outcome and its decisions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			je, err := findJournal(stateDir, args[0])
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if asJSON {
				return writeShowJSON(cmd.OutOrStdout(), je)
			}
			writeShow(cmd.OutOrStdout(), je)
			return nil
		},
	}
	cmd.Flags().StringVar(&stateDir, "state-dir", defaultStateDir(), "where journals and locks live")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

func writeShow(w io.Writer, je journalEntry) {
	h, s := je.replay.Header, je.state
	fmt.Fprintf(w, "rollout %s: %q (digest %.12s) on service %s\n", h.ID, h.Change, h.Digest, h.Service)
	fmt.Fprintf(w, "started %s by %s; outcome: %s\n", h.Created.Local().Format("2006-01-02 15:04:05"), h.User, outcomeText(s))
	if s.Error != "" {
		fmt.Fprintf(w, "  %s\n", s.Error)
	}
	if je.replay.Damage != nil {
		fmt.Fprintf(w, "journal damaged: %s\n", je.replay.Damage.Error())
	}
	fmt.Fprintf(w, "journal: %s\n\n", je.path)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tPHASE\tSTATE\tATTEMPT\tDURATION\tDETAIL")
	for _, name := range s.Order {
		hs := s.Hosts[name]
		detail := hs.Error
		if detail == "" {
			detail = hs.LastLine
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", name, hs.Phase, hs.State, hs.Attempt, hs.Duration(s.Finished).Round(time.Millisecond), detail)
	}
	tw.Flush()
	if s.Swap.State != "" {
		fmt.Fprintf(w, "\nswap (%s): promote %s, demote %s: %s", s.Swap.Where, s.Swap.Promote, s.Swap.Demote, s.Swap.State)
		if s.Swap.Back != "" {
			fmt.Fprintf(w, "; swapped back: %s", s.Swap.Back)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\ndecisions:\n")
	for _, r := range je.replay.Records {
		switch e := r.Event.(type) {
		case engine.GateAnswered:
			by := e.User
			if e.Auto {
				by += " (--yes)"
			}
			fmt.Fprintf(w, "  %s  gate %d  %-8s by %s\n", r.Time.Local().Format("15:04:05"), e.Gate, e.Decision, by)
		case engine.Paused:
			fmt.Fprintf(w, "  %s  paused by %s\n", r.Time.Local().Format("15:04:05"), e.User)
		case engine.Unpaused:
			fmt.Fprintf(w, "  %s  resumed by %s\n", r.Time.Local().Format("15:04:05"), e.User)
		case engine.AbortRequested:
			fmt.Fprintf(w, "  %s  abort by %s\n", r.Time.Local().Format("15:04:05"), e.User)
		case engine.RollbackStarted:
			fmt.Fprintf(w, "  %s  rollback by %s of %d hosts\n", r.Time.Local().Format("15:04:05"), e.User, len(e.Hosts))
		}
	}
}

func writeShowJSON(w io.Writer, je journalEntry) error {
	s := je.state
	hosts := make([]*engine.HostStatus, 0, len(s.Order))
	for _, n := range s.Order {
		hosts = append(hosts, s.Hosts[n])
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Header  engine.Header        `json:"header"`
		Outcome string               `json:"outcome"`
		Hosts   []*engine.HostStatus `json:"hosts"`
		Swap    engine.SwapStatus    `json:"swap"`
	}{je.replay.Header, outcomeText(s), hosts, s.Swap})
}
