package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lacop/lacop/deploycheck"
)

func (m *Main) checkCommand() *cobra.Command {
	var app, user string
	var stdin, asJSON bool
	cmd := &cobra.Command{
		Use:   "check PUBLIC_URL --app APP_URL --user EMAIL --password-stdin [--json]",
		Short: "Test a live deployment through its proxy: protection, cookie, identity headers, every sign-out, redirects, headers",
		Long: `check signs a test account in through the real proxy and checks what people and attackers meet:
the app refuses anonymous requests, the session cookie's attributes, the Remote-* headers the app
receives (forged ones replaced; needs an app route that echoes its request headers as JSON),
each form of sign-out refused by the app on the very next request, sign-out pages not cached,
GET /logout not signing out, hostile rd targets not followed, and the security headers arriving
through the proxy. Use an account without a second factor. Exit status 1 when a check fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if app == "" || user == "" {
				return errors.New("give the protected app's URL with --app and the test account with --user")
			}
			if !stdin {
				return errors.New("give the test account's password on stdin with --password-stdin")
			}
			line, _ := bufio.NewReader(m.Stdin).ReadString('\n')
			pw := strings.TrimRight(line, "\r\n")
			if pw == "" {
				return errors.New("no password on stdin")
			}
			results, err := deploycheck.Run(cmd.Context(), deploycheck.Target{PublicURL: args[0], AppURL: app, Email: user, Password: pw})
			if err != nil {
				return err
			}
			if asJSON {
				if err := m.printJSON(map[string]any{"results": results, "failed": deploycheck.Failed(results)}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL")
				for _, r := range results {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, strings.ToUpper(r.Status), printable(r.Detail))
					if r.Fix != "" && r.Status != deploycheck.Pass {
						fmt.Fprintf(tw, "\t\tfix: %s\n", r.Fix)
					}
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if deploycheck.Failed(results) {
				return errChecksFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&app, "app", "", "a page of an app behind the proxy, protected by lacop")
	cmd.Flags().StringVar(&user, "user", "", "a test account's email (no second factor)")
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the test account's password from stdin")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// errChecksFailed ends lacop check with status 1 after its table, which
// already says what failed.
var errChecksFailed = errors.New("some checks failed; see above")
