package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (m *Main) configCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check [--config FILE]",
		Short: "Validate a configuration and print every error with its key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			warnings, err := m.ParseFlags(cmd)
			for _, w := range warnings {
				fmt.Fprintln(m.Stderr, "warning:", w)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(m.Stdout, "configuration is valid")
			return nil
		},
	})
	return cmd
}
