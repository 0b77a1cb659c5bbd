package main

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/lacop/lacop"
)

func (m *Main) auditCommand() *cobra.Command {
	var user, typ string
	var since sinceValue
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [--user EMAIL] [--type T] [--since DURATION]",
		Short: "Print audit events, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// A mistyped type would match nothing and look like a quiet log.
			if typ != "" && !slices.Contains(lacop.AuditTypes(), typ) {
				return fmt.Errorf("unknown event type %q; the types are %s", typ, strings.Join(lacop.AuditTypes(), ", "))
			}
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
				f.Since = time.Now().Add(-time.Duration(since))
			}
			events, err := m.Auth.Audit.Events(ctx, f)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tTYPE\tUSER\tSESSION\tACTOR\tIP\tUSER AGENT\tDETAIL")
			for _, e := range events {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), printable(e.Type),
					printable(e.UserID), printable(e.SessionID), printable(e.ActorID), printable(e.IP), printable(e.UserAgent), detail(e.Detail))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "only events about this user")
	cmd.Flags().StringVar(&typ, "type", "", "only events of this type, e.g. login.failed")
	cmd.Flags().Var(&since, "since", "only events newer than this, e.g. 1d, 2d12h or 90m")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many events")
	return cmd
}

// sinceValue is --since: whole days, then a Go duration ("1d", "2d12h",
// "36h"), since days are how people think of an audit window and Go's
// durations stop at hours.
type sinceValue time.Duration

// maxSinceDays keeps days*24h inside a time.Duration (about 292 years).
const maxSinceDays = 100_000

func (s *sinceValue) String() string {
	if *s == 0 {
		return ""
	}
	return time.Duration(*s).String()
}

func (s *sinceValue) Type() string { return "duration" }

func (s *sinceValue) Set(v string) error {
	d, err := parseSince(v)
	if err != nil {
		return err
	}
	*s = sinceValue(d)
	return nil
}

// parseSince reads "[Nd][Go duration]" into a duration that is not
// negative.
func parseSince(v string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration such as 1d, 2d12h or 90m", v)
	var d time.Duration
	rest := v
	if days, after, ok := strings.Cut(v, "d"); ok { // no Go unit has a d
		n, err := strconv.ParseUint(days, 10, 64)
		if err != nil || n > maxSinceDays {
			return 0, bad
		}
		d, rest = time.Duration(n)*24*time.Hour, after
		if rest == "" {
			return d, nil
		}
	}
	r, err := time.ParseDuration(rest)
	if err != nil || r < 0 {
		return 0, bad
	}
	return d + r, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printable is a column's text as a terminal may show it: ordinary
// Unicode (é, 中) as it is, anything that is not printable (C0 and C1
// controls such as ESC and CSI, tabs that would shift the columns, bidi
// overrides and isolates that reorder the line, line separators, bytes that
// are not UTF-8) as a visible Go escape (\x1b, \t, \u202e, \xff), and a
// backslash doubled so an escape cannot be faked. Client-supplied text (the
// User-Agent) must not drive the operator's terminal.
func printable(s string) string {
	if s == "" {
		return "-"
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case strconv.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\t', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

// detail prints an event's detail as sorted key=value pairs, each value
// quoted with its non-printable characters escaped.
func detail(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", printable(k), d[k])
	}
	return dash(strings.Join(parts, " "))
}
