package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lacop/lacop"
)

func (m *Main) auditCommand() *cobra.Command {
	var user, typ string
	var since time.Duration
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [--user EMAIL] [--type T] [--since DURATION]",
		Short: "Print audit events, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := m.Open(cmd); err != nil {
				return err
			}
			ctx := cmd.Context()
			f := lacop.AuditFilter{Type: typ, Limit: limit}
			if user != "" {
				u, err := m.userByEmail(ctx, user)
				if err != nil {
					return err
				}
				f.UserID = u.ID
			}
			if since > 0 {
				f.Since = time.Now().Add(-since)
			}
			events, err := m.Auth.Audit.Events(ctx, f)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tTYPE\tUSER\tSESSION\tACTOR\tIP\tUSER AGENT\tDETAIL")
			for _, e := range events {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Type,
					dash(e.UserID), dash(e.SessionID), dash(e.ActorID), dash(e.IP), dash(e.UserAgent), detail(e.Detail))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "only events about this user")
	cmd.Flags().StringVar(&typ, "type", "", "only events of this type, e.g. login.failed")
	cmd.Flags().DurationVar(&since, "since", 0, "only events newer than this, e.g. 24h")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many events")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// detail prints an event's detail as sorted key=value pairs.
func detail(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, d[k])
	}
	return dash(strings.Join(parts, " "))
}
