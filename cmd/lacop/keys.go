package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (m *Main) keysCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage access-token signing keys"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Add a new signing key; older keys verify until their tokens expire",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := m.Open(cmd); err != nil {
				return err
			}
			kid, err := m.Auth.RotateKey(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "new signing key %s; running servers use it within seconds\n", kid)
			if m.Apps != nil {
				idk, err := m.Apps.RotateKey(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "new ID-token key %s; running servers publish it within a minute and sign ID tokens with it after two\n", idk)
			}
			return nil
		},
	})
	return cmd
}
