package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lacop/lacop"
)

func (m *Main) sessionCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "session", Short: "List and end sessions"}
	var listUser, revokeUser string
	list := &cobra.Command{
		Use:   "list [--user EMAIL]",
		Short: "List live sessions, most recently active first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := m.Open(cmd); err != nil {
				return err
			}
			ctx := cmd.Context()
			var sessions []*lacop.Session
			var err error
			if listUser != "" {
				u, err := m.userByEmail(ctx, listUser)
				if err != nil {
					return err
				}
				sessions, err = m.Auth.Sessions.UserSessions(ctx, u.ID)
				if err != nil {
					return err
				}
			} else if sessions, err = m.Auth.Sessions.AllSessions(ctx); err != nil {
				return err
			}
			emails := map[string]string{}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tIP\tCREATED\tLAST ACTIVE\tEXPIRES\tLEVEL\tREMEMBER")
			for _, s := range sessions {
				if _, ok := emails[s.UserID]; !ok {
					if u, err := m.Auth.Users.UserByID(ctx, s.UserID); err == nil {
						emails[s.UserID] = u.Email
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%v\n", printable(s.ID), printable(emails[s.UserID]), printable(s.IP),
					s.CreatedAt.Format(time.RFC3339), s.LastActiveAt.Format(time.RFC3339),
					m.Auth.SessionExpiry(s).Format(time.RFC3339), s.AuthLevel, s.RememberMe)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&listUser, "user", "", "only this user's sessions")

	revoke := &cobra.Command{
		Use:         "revoke ID | revoke --user EMAIL",
		Short:       "End one session, or every session of a user",
		Args:        cobra.MaximumNArgs(1),
		Annotations: map[string]string{idArgs: "session"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (revokeUser != "") {
				return errors.New("give either a session ID or --user EMAIL")
			}
			if err := m.Open(cmd); err != nil {
				return err
			}
			ctx := cmd.Context()
			if revokeUser != "" {
				u, err := m.userByEmail(ctx, revokeUser)
				if err != nil {
					return err
				}
				n, err := m.Auth.RevokeAll(ctx, u.ID, "", cliClient)
				if err != nil {
					return userError(err)
				}
				fmt.Fprintf(m.Stdout, "ended %d session(s) of %s\n", n, u.Email)
				return nil
			}
			if err := m.Auth.AdminEndSession(ctx, args[0], "", cliClient); err != nil {
				return userError(err)
			}
			fmt.Fprintf(m.Stdout, "ended session %s\n", args[0])
			return nil
		},
	}
	revoke.Flags().StringVar(&revokeUser, "user", "", "end every session of this user")
	cmd.AddCommand(list, revoke)
	return cmd
}

// idArgs marks a command whose arguments are public session ids, which
// Execute hands to idArgsLast before the flags are parsed.
const idArgs = "lacop:id-args"

// publicIDLen is the length of a public session id: 16 random bytes in
// unpadded base64url.
const publicIDLen = 22

// idArgsLast moves every argument that has the shape of a public session id
// and starts with '-', but is no flag of cmd, behind a "--", so that it is
// read as the id. Ids minted before lacop stopped starting them with '-'
// live on in existing databases, and an id must work exactly as session list
// shows it: pflag would read "-8T8Zi…" as the shorthand flags -8 -T -8…
// Anything else that starts with '-' is left for pflag, so a mistyped flag
// is still reported as one.
func idArgsLast(cmd *cobra.Command, args []string) []string {
	cmd.InitDefaultHelpFlag() // also merges the inherited flags into cmd.Flags()
	var kept, ids []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(append(append(kept, "--"), ids...), args[i+1:]...)
		}
		isFlag, takesNext := flagArg(cmd, a)
		switch {
		case isFlag:
			kept = append(kept, a)
			if takesNext && i+1 < len(args) {
				i++
				kept = append(kept, args[i])
			}
		case strings.HasPrefix(a, "-") && idShaped(a):
			ids = append(ids, a)
		default:
			kept = append(kept, a)
		}
	}
	if len(ids) == 0 {
		return kept
	}
	return append(append(kept, "--"), ids...)
}

// flagArg reports whether pflag would read a as flags of cmd, and whether
// the last of them takes the next argument as its value.
func flagArg(cmd *cobra.Command, a string) (isFlag, takesNext bool) {
	flags := cmd.Flags()
	if name, ok := strings.CutPrefix(a, "--"); ok {
		name, _, hasValue := strings.Cut(name, "=")
		f := flags.Lookup(name)
		return f != nil, f != nil && !hasValue && f.NoOptDefVal == ""
	}
	if len(a) < 2 || a[0] != '-' {
		return false, false
	}
	for j := 1; j < len(a); j++ {
		f := flags.ShorthandLookup(a[j : j+1])
		switch {
		case f == nil:
			return false, false
		case f.NoOptDefVal == "" || j+1 < len(a) && a[j+1] == '=':
			// The rest of a is the value, or else the next argument is.
			return true, f.NoOptDefVal == "" && j+1 == len(a)
		}
	}
	return true, false
}

// idShaped reports whether a could be a public session id.
func idShaped(a string) bool {
	if len(a) != publicIDLen {
		return false
	}
	for _, c := range []byte(a) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
