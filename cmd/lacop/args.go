package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// checkArgs looks at the command line before cobra parses it, for two
// things cobra gets wrong for lacop: it returns the error for a mistyped
// subcommand, and the arguments with the ids and emails that start with
// '-' placed where pflag reads them as arguments (see dashArgsLast).
func checkArgs(root *cobra.Command, args []string) ([]string, error) {
	// Cobra adds these when it executes; Find must see them now.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd(args...)
	cmd, rest, _ := root.Find(args)
	if cmd == nil {
		return args, nil
	}
	cmd.InitDefaultHelpFlag() // also merges the inherited flags into cmd.Flags()
	if cmd.HasSubCommands() && !cmd.Runnable() {
		if word := firstWord(cmd, rest); word != "" {
			return nil, unknownSubcommand(cmd, word)
		}
	}
	if kind := cmd.Annotations[dashArgs]; kind != "" {
		args = dashArgsLast(cmd, args, kind)
	}
	return args, nil
}

// firstWord is the first argument that is neither a flag nor a flag's
// value: for a group of commands (lacop user), the subcommand asked for.
// Unknown flags are skipped: in "lacop session revoek --user x" the
// mistyped word is the news, not --user.
func firstWord(cmd *cobra.Command, args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		case strings.HasPrefix(a, "-") && a != "-":
			if _, takesNext := flagArg(cmd, a); takesNext {
				i++
			}
		default:
			return a
		}
	}
	return ""
}

// unknownSubcommand is the error for a group of commands given a
// subcommand it does not have. Cobra checks only the root's; "lacop user
// dissable x" printed the help of lacop user and exited 0, so a script's
// typo looked like success.
func unknownSubcommand(cmd *cobra.Command, word string) error {
	msg := fmt.Sprintf("unknown command %q for %q", word, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's own default
	}
	if s := cmd.SuggestionsFor(word); len(s) > 0 {
		return fmt.Errorf("%s; did you mean %s?", msg, strings.Join(s, " or "))
	}
	return fmt.Errorf("%s; run '%s --help' for its commands", msg, cmd.CommandPath())
}

// dashArgs is the annotation of a command whose arguments may start with
// '-': its value says what they are (argSessionID, argEmail).
const dashArgs = "lacop:dash-args"

const (
	argSessionID = "session id"
	argEmail     = "email"
)

// publicIDLen is the length of a public session id: 16 random bytes in
// unpadded base64url.
const publicIDLen = 22

// dashArgsLast moves every argument that has the shape of kind and starts
// with '-', but is no flag of cmd, behind a "--", so that pflag reads it as
// an argument. Ids minted before lacop stopped starting them with '-' live
// on in existing databases, and an id must work exactly as session list
// shows it, where pflag would read "-8T8Zi…" as the shorthand flags -8 -T
// -8…; "-bob@example.com" is a valid address. Anything else that starts
// with '-' is left to pflag, so a mistyped flag is still reported as one.
func dashArgsLast(cmd *cobra.Command, args []string, kind string) []string {
	var kept, moved []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(append(append(kept, "--"), moved...), args[i+1:]...)
		}
		isFlag, takesNext := flagArg(cmd, a)
		switch {
		case isFlag:
			kept = append(kept, a)
			if takesNext && i+1 < len(args) {
				i++
				kept = append(kept, args[i])
			}
		case strings.HasPrefix(a, "-") && shaped(kind, a):
			moved = append(moved, a)
		default:
			kept = append(kept, a)
		}
	}
	if len(moved) == 0 {
		return kept
	}
	return append(append(kept, "--"), moved...)
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

// shaped reports whether a could be an argument of kind.
func shaped(kind, a string) bool {
	switch kind {
	case argEmail:
		return strings.Contains(a, "@")
	case argSessionID:
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
	return false
}
