package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

func (m *Main) userCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users"}
	cmd.AddCommand(m.userAddCommand(), m.userPasswdCommand(), m.userDisableCommand(), m.userResetTOTPCommand(), m.userResetLinkCommand(),
		m.userListCommand(), m.userEnableCommand(), m.userDeleteCommand(), m.userSetGroupsCommand(), m.userSetAdminCommand())
	return cmd
}

// openWithPassword opens the store and reads one line from stdin as the
// password: passwords never go on the command line, where other users and
// shell history could see them.
func (m *Main) openWithPassword(cmd *cobra.Command, stdin bool) (string, error) {
	if !stdin {
		return "", errors.New("give the password on stdin with --password-stdin")
	}
	if err := m.Open(cmd); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(m.Stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", errors.New("no password on stdin")
		}
		return "", errors.New("empty password on stdin")
	}
	return line, nil
}

func (m *Main) userAddCommand() *cobra.Command {
	var name string
	var admin, stdin bool
	var groups []string
	cmd := &cobra.Command{
		Use:         "add EMAIL --password-stdin",
		Annotations: map[string]string{dashArgs: argEmail},
		Short:       "Create a user",
		Args:        cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			groups, err := groupList(groups)
			if err != nil {
				return err
			}
			pw, err := m.openWithPassword(cmd, stdin)
			if err != nil {
				return err
			}
			u, err := m.Auth.CreateUser(cmd.Context(), auth.NewUser{
				Email: args[0], Name: name, Password: pw, Admin: admin, Groups: groups,
			}, "", cliClient)
			if err != nil {
				return userError(err)
			}
			fmt.Fprintf(m.Stdout, "created user %s (id %s)\n", u.Email, u.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().BoolVar(&admin, "admin", false, "make the user an administrator")
	cmd.Flags().StringArrayVar(&groups, "group", nil, "add the user to groups: --group a,b or --group a --group b")
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from stdin")
	return cmd
}

// groupList splits every --group value at commas and trims the names, so
// that "--group a,b", "--group 'a, b'" and "--group a --group b" all mean
// the groups a and b. An empty name is a slip (a doubled or trailing comma),
// so it is refused rather than dropped; a repeated name counts once.
func groupList(values []string) ([]string, error) {
	var groups []string
	for _, v := range values {
		for g := range strings.SplitSeq(v, ",") {
			if g = strings.TrimSpace(g); g == "" {
				return nil, fmt.Errorf("empty group name in --group %q", v)
			} else if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	return groups, nil
}

func (m *Main) userPasswdCommand() *cobra.Command {
	var stdin bool
	cmd := &cobra.Command{
		Use:         "passwd EMAIL --password-stdin",
		Annotations: map[string]string{dashArgs: argEmail},
		Short:       "Set a user's password and end every session and token of that user",
		Args:        cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := m.openWithPassword(cmd, stdin)
			if err != nil {
				return err
			}
			u, err := m.userByEmail(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := m.Auth.ResetPassword(cmd.Context(), u.ID, pw, "", cliClient); err != nil {
				return userError(err)
			}
			fmt.Fprintf(m.Stdout, "password set for %s; every session of that user has ended\n", u.Email)
			return nil
		},
	}
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from stdin")
	return cmd
}

func (m *Main) userDisableCommand() *cobra.Command {
	return m.userAction("disable EMAIL", "Disable a user and end every session and token of that user", cobra.ExactArgs(1),
		func(ctx context.Context, u *lacop.User, _ []string) error {
			if err := m.Auth.DisableUser(ctx, u.ID, "", cliClient); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "disabled %s; every session of that user has ended\n", u.Email)
			return nil
		})
}

func (m *Main) userResetTOTPCommand() *cobra.Command {
	return m.userAction("reset-2fa EMAIL", "Remove a user's second factor and end every session of that user", cobra.ExactArgs(1),
		func(ctx context.Context, u *lacop.User, _ []string) error {
			if err := m.Auth.ResetTOTP(ctx, u.ID, "", cliClient); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "second factor removed for %s; every session of that user has ended\n", u.Email)
			return nil
		})
}

func (m *Main) userResetLinkCommand() *cobra.Command {
	cmd := m.userAction("reset-link EMAIL", "Make a one-time link (30 minutes) for a user to choose a new password", cobra.ExactArgs(1),
		func(ctx context.Context, u *lacop.User, _ []string) error {
			link, err := m.Auth.MakeResetLink(ctx, u.ID, "", cliClient)
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "%s\n", link)
			fmt.Fprintf(m.Stderr, "one-time link for %s, valid for 30 minutes; give it to them over a channel you trust\n", u.Email)
			return nil
		})
	cmd.Long = `Prints a link that lets the user choose a new password, once, within 30
minutes; a user with a second factor must pass it too. Hand it over
yourself: nothing is mailed, and the link is in no log. Making a link voids
the user's earlier ones. Works with or without smtp.url.`
	return cmd
}
