package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// printJSON writes v as indented JSON: what --json gives scripts instead
// of a table.
func (m *Main) printJSON(v any) error {
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// userJSON is a person as the command line's --json prints them.
type userJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Admin     bool      `json:"admin"`
	Groups    []string  `json:"groups"`
	Disabled  bool      `json:"disabled"`
	TOTP      bool      `json:"totp"`
	Passkeys  int       `json:"passkeys"`
	CreatedAt time.Time `json:"createdAt"`
}

func newUserJSON(u *lacop.User) userJSON {
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Admin: u.Admin, Groups: groups,
		Disabled: u.Disabled, TOTP: u.HasTOTP(), Passkeys: u.Passkeys, CreatedAt: u.CreatedAt}
}

func (m *Main) userListCommand() *cobra.Command {
	var q lacop.UserQuery
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--disabled] [--admins] [--group G] [--search TEXT] [--json]",
		Short: "List users by email",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := m.Open(cmd); err != nil {
				return err
			}
			users, _, err := m.Auth.ListUsers(cmd.Context(), q)
			if err != nil {
				return userError(err)
			}
			if asJSON {
				out := make([]userJSON, 0, len(users))
				for _, u := range users {
					out = append(out, newUserJSON(u))
				}
				return m.printJSON(map[string]any{"users": out})
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tGROUPS\tSTATE\tSECOND FACTOR\tCREATED")
			for _, u := range users {
				role, state := "user", "active"
				if u.Admin {
					role = "admin"
				}
				if u.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(u.Email), printable(u.Name), role,
					printable(strings.Join(u.Groups, ",")), state, factors(u), u.CreatedAt.Format("2006-01-02"))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&q.Disabled, "disabled", false, "only disabled users")
	cmd.Flags().BoolVar(&q.Admins, "admins", false, "only administrators")
	cmd.Flags().StringVar(&q.Group, "group", "", "only members of this group")
	cmd.Flags().StringVar(&q.Search, "search", "", "only users whose email or name contains this")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// factors names a user's second factors for a table: "totp, 2 passkeys".
func factors(u *lacop.User) string {
	var f []string
	if u.HasTOTP() {
		f = append(f, "totp")
	}
	switch {
	case u.Passkeys == 1:
		f = append(f, "1 passkey")
	case u.Passkeys > 1:
		f = append(f, fmt.Sprintf("%d passkeys", u.Passkeys))
	}
	return dash(strings.Join(f, ", "))
}

// userAction is a command that does one thing to the user an EMAIL
// argument names.
func (m *Main) userAction(use, short string, args cobra.PositionalArgs, run func(ctx context.Context, u *lacop.User, args []string) error) *cobra.Command {
	return &cobra.Command{
		Use:         use,
		Annotations: map[string]string{dashArgs: argEmail},
		Short:       short,
		Args:        args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := m.Open(cmd); err != nil {
				return err
			}
			u, err := m.userByEmail(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return userError(run(cmd.Context(), u, args[1:]))
		},
	}
}

func (m *Main) userEnableCommand() *cobra.Command {
	return m.userAction("enable EMAIL", "Let a disabled user sign in again", cobra.ExactArgs(1),
		func(ctx context.Context, u *lacop.User, _ []string) error {
			if !u.Disabled {
				fmt.Fprintf(m.Stdout, "%s is not disabled\n", u.Email)
				return nil
			}
			if err := m.Auth.EnableUser(ctx, u.ID, "", cliClient); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "enabled %s; they can sign in again\n", u.Email)
			return nil
		})
}

func (m *Main) userDeleteCommand() *cobra.Command {
	return m.userAction("delete EMAIL", "Delete a user: end every session, token and app sign-in, free the email (the audit trail stays)",
		cobra.ExactArgs(1), func(ctx context.Context, u *lacop.User, _ []string) error {
			n, err := m.Auth.DeleteUser(ctx, u.ID, "", cliClient)
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "deleted %s (id %s); %d session(s) ended; the audit trail keeps the email\n", u.Email, u.ID, n)
			return nil
		})
}

func (m *Main) userSetGroupsCommand() *cobra.Command {
	return m.userAction("set-groups EMAIL [GROUP...]", "Replace a user's groups (none: no groups); access rules see it on the next request",
		cobra.MinimumNArgs(1), func(ctx context.Context, u *lacop.User, args []string) error {
			groups, err := groupList(args)
			if err != nil {
				return err
			}
			if _, err := m.Auth.UpdateUser(ctx, u.ID, auth.UserChange{Groups: &groups}, nil, "", cliClient); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "groups of %s: %s\n", u.Email, dash(strings.Join(groups, ", ")))
			return nil
		})
}

func (m *Main) userSetAdminCommand() *cobra.Command {
	return m.userAction("set-admin EMAIL true|false", "Make a user an administrator, or not (which ends their sessions)",
		cobra.ExactArgs(2), func(ctx context.Context, u *lacop.User, args []string) error {
			var admin bool
			switch strings.ToLower(args[0]) {
			case "true", "yes":
				admin = true
			case "false", "no":
			default:
				return fmt.Errorf("say true or false, not %q", args[0])
			}
			if admin == u.Admin {
				fmt.Fprintf(m.Stdout, "%s is already %s\n", u.Email, roleWord(admin))
				return nil
			}
			if _, err := m.Auth.UpdateUser(ctx, u.ID, auth.UserChange{Admin: &admin}, nil, "", cliClient); err != nil {
				return err
			}
			if admin {
				fmt.Fprintf(m.Stdout, "%s is now an administrator\n", u.Email)
			} else {
				fmt.Fprintf(m.Stdout, "%s is no longer an administrator; every session of that user has ended\n", u.Email)
			}
			return nil
		})
}

func roleWord(admin bool) string {
	if admin {
		return "an administrator"
	}
	return "not an administrator"
}

// banJSON is a ban as --json prints it.
type banJSON struct {
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	Until   time.Time `json:"until"`
}

func (m *Main) bansCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "bans", Short: "See and lift throttling bans"}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the bans in force, latest-ending first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := m.Open(cmd); err != nil {
				return err
			}
			bans, err := m.Auth.Bans(cmd.Context())
			if err != nil {
				return userError(err)
			}
			if asJSON {
				out := make([]banJSON, 0, len(bans))
				for _, b := range bans {
					out = append(out, banJSON{Kind: b.Kind, Subject: b.Subject, Until: b.Until.UTC()})
				}
				return m.printJSON(map[string]any{"bans": out})
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tSUBJECT\tUNTIL\tLEFT")
			now := time.Now()
			for _, b := range bans {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", banWords[b.Kind], printable(b.Subject), b.Until.Format(time.RFC3339),
					b.Until.Sub(now).Round(time.Second))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	lift := &cobra.Command{
		Use:         "lift ADDRESS|EMAIL",
		Short:       "End the bans on an address (an IPv6 address: its /64) or on an account (its password and second factor)",
		Args:        cobra.ExactArgs(1),
		Annotations: map[string]string{dashArgs: argEmail},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := m.Open(cmd); err != nil {
				return err
			}
			lifted, err := m.Auth.LiftBans(cmd.Context(), args[0], "", cliClient)
			if err != nil {
				return userError(err)
			}
			if len(lifted) == 0 {
				return errors.New("no ban in force on " + strings.TrimSpace(args[0]))
			}
			for _, b := range lifted {
				fmt.Fprintf(m.Stdout, "lifted the %s ban on %s\n", banWords[b.Kind], b.Subject)
			}
			return nil
		},
	}
	cmd.AddCommand(list, lift)
	return cmd
}

// banWords name a ban's kind in a sentence or a table.
var banWords = map[string]string{"address": "address", "account": "password", "second_factor": "second-factor"}
