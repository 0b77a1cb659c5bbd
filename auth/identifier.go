package auth

import "github.com/lacop/lacop"

// isEmail reports whether email (normalised) is an address an account
// could have: the rule User.Validate applies, so that no account's email
// is ever taken for something else.
func isEmail(email string) bool {
	return email != "" && (&lacop.User{Email: email}).Validate() == nil
}

// identifierDetail adds to an audit event's detail what was typed as the
// email: the address when it is one, and otherwise only that it was not.
// People type their password into the email field; that text must land in
// no event, CSV or log.
func identifierDetail(d map[string]string, email string) map[string]string {
	if isEmail(email) {
		d["email"] = email
	} else {
		d["identifier"] = "not_an_email"
	}
	return d
}
