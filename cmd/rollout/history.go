package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
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
		switch {
		case hs.Excluded != "":
			detail = "excluded: " + hs.Excluded
		case detail == "":
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
	if s.Lock != "" {
		fmt.Fprintf(w, "\nremote lock %s still held on %d hosts (released when the rollout ends; rollout lock status shows it)\n", s.Lock, len(s.LockHosts))
	}
	writeCaptured(w, s)
	writeAudit(w, s)
}

// writeCaptured lists what capture commands kept for each host's rollback,
// grouped by identical values so a fleet on one version is one line.
func writeCaptured(w io.Writer, s *engine.State) {
	groups := map[string][]string{}
	var keys []string
	for _, name := range s.Order {
		c := s.Hosts[name].Captured
		if len(c) == 0 {
			continue
		}
		names := make([]string, 0, len(c))
		for k := range c {
			names = append(names, k)
		}
		sort.Strings(names)
		var b strings.Builder
		for i, k := range names {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s=%q", k, c[k])
		}
		key := b.String()
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], name)
	}
	if len(keys) == 0 {
		return
	}
	fmt.Fprintf(w, "\ncaptured before apply (for each host's rollback):\n")
	for _, k := range keys {
		hosts := groups[k]
		fmt.Fprintf(w, "  %s: %s\n", strings.Join(inventory.Fold(hosts), ", "), k)
	}
}

// writeAudit prints every decision: when, who, what, and why.
func writeAudit(w io.Writer, s *engine.State) {
	fmt.Fprintf(w, "\ndecisions:\n")
	if len(s.Audit) == 0 {
		fmt.Fprintf(w, "  none\n")
	}
	for _, a := range s.Audit {
		by := a.User
		if a.Auto {
			by += " (--yes)"
		}
		line := fmt.Sprintf("  %s  %s by %s", a.Time.Local().Format("15:04:05"), a.What, by)
		if a.Reason != "" {
			line += ": " + strconv.Quote(a.Reason)
		}
		fmt.Fprintln(w, line)
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
		Audit   []engine.AuditEntry  `json:"audit"`
	}{je.replay.Header, outcomeText(s), hosts, s.Swap, s.Audit})
}
