package config

import "strings"

// FieldError is one problem with a configuration.
type FieldError struct {
	// Key names what is wrong, as the user wrote it: a dotted key for the
	// file and flags (access_control.rules[0].policy), the variable name for
	// the environment (LACOP_SESSION_LIFETIME). Empty for problems with a
	// whole source, such as a file that does not parse.
	Key string
	// Source says where the bad value came from: "file PATH", "env", "flag"
	// or "default". Empty from Validate, which does not know.
	Source  string
	Message string
}

// Error formats the problem as `key: message [source]`.
func (e FieldError) Error() string {
	var b strings.Builder
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Source != "" {
		b.WriteString(" [")
		b.WriteString(e.Source)
		b.WriteString("]")
	}
	return b.String()
}

// Errors is every problem found in a configuration, in the order found.
type Errors []FieldError

// Error lists the problems one per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns each problem, so errors.As finds a FieldError.
func (e Errors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, fe := range e {
		errs[i] = fe
	}
	return errs
}
