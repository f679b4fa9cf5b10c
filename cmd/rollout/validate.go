package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

func newValidateCmd() *cobra.Command {
	var f inputFlags
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the inventory and change files; exit 2 with file:line:col for each problem",
		Long: `validate reads both files and reports every problem it finds, each as
file:line:col: message, with a hint where one helps. Without -s it checks the
change against every service in the inventory. It connects to nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, errs := f.load()
			if errs == nil {
				_, errs = l.plans(f.service, true)
			}
			out := cmd.OutOrStdout()
			if f.json {
				errs.Sort()
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				res := struct {
					OK     bool      `json:"ok"`
					Errors diag.List `json:"errors"`
				}{OK: len(errs) == 0, Errors: errs}
				if res.Errors == nil {
					res.Errors = diag.List{}
				}
				if err := enc.Encode(res); err != nil {
					return err
				}
				if len(errs) > 0 {
					return &exitError{code: exitUsage}
				}
				return nil
			}
			if len(errs) > 0 {
				return inputError(errs)
			}
			hosts := len(l.inv.Hosts)
			fmt.Fprintf(out, "ok: %s: %d services, %d hosts\n", f.inventory, len(l.inv.Services), hosts)
			fmt.Fprintf(out, "ok: %s: %q, digest %s\n", f.change, l.ch.Name, l.ch.ShortDigest())
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
