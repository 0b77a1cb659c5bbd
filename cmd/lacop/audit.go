package main

import (
	"context"
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
	"github.com/lacop/lacop/agent"
)

func (m *Main) auditCommand() *cobra.Command {
	var user, typ string
	var since sinceValue
	var limit int
	var wide, asJSON bool
	cmd := &cobra.Command{
		Use:   "audit [--user EMAIL] [--type T] [--since DURATION] [--wide] [--json]",
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
			emails := m.emails()
			if asJSON {
				out := make([]auditJSON, 0, len(events))
				for _, e := range events {
					out = append(out, auditJSON{AuditEvent: e, UserEmail: emails.of(ctx, e.UserID),
						ActorEmail: emails.of(ctx, e.ActorID), Browser: agentText(e.UserAgent)})
				}
				return m.printJSON(map[string]any{"events": out})
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			agentHead := "BROWSER"
			if wide {
				agentHead = "USER AGENT"
			}
			fmt.Fprintln(tw, "TIME\tTYPE\tUSER\tSESSION\tACTOR\tIP\t"+agentHead+"\tDETAIL")
			for _, e := range events {
				// --wide is the raw record: ids, the whole User-Agent
				// header and every detail; the default is for reading.
				user, actor, ua, det := e.UserID, e.ActorID, e.UserAgent, detail(e.Detail)
				if !wide {
					user, actor, ua, det = emails.label(ctx, e.UserID), emails.actor(ctx, e), agentText(e.UserAgent), clip(det, 60)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), printable(e.Type),
					printable(user), printable(e.SessionID), printable(actor), printable(e.IP), printable(ua), det)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "only events about this user")
	cmd.Flags().StringVar(&typ, "type", "", "only events of this type, e.g. login.failed")
	cmd.Flags().Var(&since, "since", "only events newer than this, e.g. 1d, 2d12h or 90m")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many events")
	cmd.Flags().BoolVar(&wide, "wide", false, "print the raw record: user ids, the whole user agent, every detail")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (with the raw user agent) instead of a table")
	return cmd
}

// auditJSON is an event as --json prints it: the stored event, and the
// emails and browser the table shows in their place.
type auditJSON struct {
	*lacop.AuditEvent
	UserEmail  string `json:"userEmail,omitempty"`
	ActorEmail string `json:"actorEmail,omitempty"`
	Browser    string `json:"browser,omitempty"`
}

// agentText is a User-Agent header as a person reads it ("Firefox on
// Linux"), or "" for none.
func agentText(header string) string {
	if header == "" {
		return ""
	}
	return agent.Describe(header).String()
}

// clip shortens s to n characters with an ellipsis, so one long detail
// does not widen every row; --wide prints it whole.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// emailBook resolves user ids to emails for tables, once per id: from the
// user, or for a deleted one from the user.deleted event, which keeps it.
type emailBook struct {
	m     *Main
	known map[string]string
}

func (m *Main) emails() *emailBook { return &emailBook{m: m, known: map[string]string{}} }

// of is the email of the user id, "" when there is none to tell.
func (b *emailBook) of(ctx context.Context, id string) string {
	if e, ok := b.known[id]; ok || id == "" {
		return e
	}
	email := b.m.Auth.UserLabel(ctx, id)
	b.known[id] = email
	return email
}

// label is the email, or the id when no email is known.
func (b *emailBook) label(ctx context.Context, id string) string {
	if e := b.of(ctx, id); e != "" {
		return e
	}
	return id
}

// actor says who acted: an admin's email, "operator" for the command line.
func (b *emailBook) actor(ctx context.Context, e *lacop.AuditEvent) string {
	if e.ActorID != "" {
		return b.label(ctx, e.ActorID)
	}
	if e.Detail["by"] == "cli" || e.UserAgent == cliClient.UserAgent {
		return "operator"
	}
	return ""
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
