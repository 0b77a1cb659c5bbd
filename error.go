package lacop

import (
	"errors"
	"fmt"
)

// Error codes. They double as the "error" field of the HTTP API, and web maps
// each to a status in exactly one place.
const (
	EINVALID            = "invalid_request"     // malformed or unacceptable input
	EUNAUTHENTICATED    = "unauthenticated"     // no live session or token
	EINVALIDCREDENTIALS = "invalid_credentials" // wrong email or password, deliberately vague
	EFORBIDDEN          = "forbidden"           // signed in but not allowed
	ENOTFOUND           = "not_found"           // no such thing, or not yours
	ECONFLICT           = "conflict"            // already exists
	EWEAKPASSWORD       = "weak_password"       // password fails the strength check
	ETOOMANYATTEMPTS    = "too_many_attempts"   // throttled
	EINVALIDCODE        = "invalid_code"        // a wrong or replayed second-factor code
	ESECONDFACTOR       = "second_factor_required"
	EENROLREQUIRED      = "second_factor_enrolment_required"
	EINVALIDGRANT       = "invalid_grant"          // OAuth: an unknown, spent, expired or ended refresh token
	EUNSUPPORTEDGRANT   = "unsupported_grant_type" // OAuth: a grant lacop does not offer
	EUNAVAILABLE        = "unavailable"            // a store cannot be reached: refuse, never allow
	EINTERNAL           = "internal"               // a bug or an unexpected failure; details only in logs
)

// Error is a failure meant for the application's users. Code is machine
// readable, Message is safe to show a person. Anything else goes in the log.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("lacop error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil: unknown failures are never
// mistaken for a user mistake.
// (errors.AsType, not errors.As: a pointer handed to errors.As escapes,
// and this is asked on every forward-auth check.)
func ErrorCode(err error) string {
	if err == nil {
		return ""
	} else if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the person-facing message of the first *Error in
// err's chain, or a generic one so internal details never leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	} else if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "Internal error."
}
