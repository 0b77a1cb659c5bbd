package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lacop/lacop"
)

func (m *Main) sessionCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "session", Short: "List and end sessions"}
	var listUser, revokeUser string
	var asJSON bool
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
			emails := m.emails()
			if asJSON {
				out := make([]sessionJSON, 0, len(sessions))
				for _, s := range sessions {
					out = append(out, sessionJSON{ID: s.ID, UserID: s.UserID, UserEmail: emails.of(ctx, s.UserID), IP: s.IP,
						Browser: agentText(s.UserAgent), UserAgent: s.UserAgent, CreatedAt: s.CreatedAt, LastActiveAt: s.LastActiveAt,
						ExpiresAt: m.Auth.SessionExpiry(s), AuthLevel: s.AuthLevel, RememberMe: s.RememberMe})
				}
				return m.printJSON(map[string]any{"sessions": out})
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tIP\tCREATED\tLAST ACTIVE\tEXPIRES\tLEVEL\tREMEMBER")
			for _, s := range sessions {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%v\n", printable(s.ID), printable(emails.of(ctx, s.UserID)), printable(s.IP),
					s.CreatedAt.Format(time.RFC3339), s.LastActiveAt.Format(time.RFC3339),
					m.Auth.SessionExpiry(s).Format(time.RFC3339), s.AuthLevel, s.RememberMe)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&listUser, "user", "", "only this user's sessions")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")

	revoke := &cobra.Command{
		Use:         "revoke ID | revoke --user EMAIL",
		Short:       "End one session, or every session of a user",
		Args:        cobra.MaximumNArgs(1),
		Annotations: map[string]string{dashArgs: argSessionID},
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

// sessionJSON is a session as --json prints it.
type sessionJSON struct {
	ID           string    `json:"id"`
	UserID       string    `json:"userId"`
	UserEmail    string    `json:"userEmail"`
	IP           string    `json:"ip"`
	Browser      string    `json:"browser"`
	UserAgent    string    `json:"userAgent"`
	CreatedAt    time.Time `json:"createdAt"`
	LastActiveAt time.Time `json:"lastActiveAt"`
	ExpiresAt    time.Time `json:"expiresAt"`
	AuthLevel    int       `json:"authLevel"`
	RememberMe   bool      `json:"rememberMe"`
}
