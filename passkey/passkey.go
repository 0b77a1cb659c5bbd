// Package passkey runs WebAuthn ceremonies for lacop: it turns a person and
// their stored credential records into the options a browser needs, and a
// browser's answer into a verified credential. It wraps
// github.com/go-webauthn/webauthn so that the rest of lacop sees bytes and
// small structs, never the library's types: the auth package decides who
// may do what, this package only checks signatures, challenges, origins and
// RP IDs.
package passkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Timeout is how long a ceremony may take, from options to answer; the
// browser is told the same.
const Timeout = 5 * time.Minute

// ErrRefused is wrapped by every error a browser's answer can cause
// (a bad signature, another origin, a stale or foreign challenge, an
// unknown credential): the caller answers "not accepted" and counts a
// failure, never 503.
var ErrRefused = errors.New("passkey: not accepted")

// RP is the relying party: this portal, with its RP ID and origin.
type RP struct {
	wa *webauthn.WebAuthn
	ID string
}

// New returns the relying party for rpID, named name, accepting ceremonies
// from origin only (the public URL's origin).
func New(rpID, name, origin string) (*RP, error) {
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: name,
		RPOrigins:     []string{origin},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: Timeout, TimeoutUVD: Timeout},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: Timeout, TimeoutUVD: Timeout},
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &RP{wa: wa, ID: rpID}, nil
}

// Account is a person as a ceremony sees them.
type Account struct {
	// Handle is the user handle stored in the authenticator (lacop's user
	// id: random, not personal data).
	Handle []byte
	// Name and DisplayName are shown by the authenticator (email, name).
	Name, DisplayName string
	// Records are the person's stored credential records.
	Records [][]byte
}

// user adapts an Account to the library.
type user struct {
	a     Account
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.a.Handle }
func (u *user) WebAuthnName() string                       { return u.a.Name }
func (u *user) WebAuthnDisplayName() string                { return u.a.DisplayName }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func newUser(a Account) (*user, error) {
	u := &user{a: a}
	for _, r := range a.Records {
		var c webauthn.Credential
		if err := json.Unmarshal(r, &c); err != nil {
			return nil, fmt.Errorf("passkey: stored record: %w", err)
		}
		u.creds = append(u.creds, c)
	}
	return u, nil
}

// Options are what the browser passes to navigator.credentials (the
// "publicKey" member and mediation), as JSON.
type Options = json.RawMessage

// BeginRegistration starts registering a new passkey for a: a discoverable
// credential (so it can sign in without an email), with user verification
// preferred, excluding the ones a already has. state is kept by the caller
// (never by the browser) until FinishRegistration.
func (rp *RP) BeginRegistration(a Account) (opts Options, state []byte, err error) {
	u, err := newUser(a)
	if err != nil {
		return nil, nil, err
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, session, err := rp.wa.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationPreferred,
		}),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return marshalBoth(creation, session)
}

// Registered is a new passkey, checked.
type Registered struct {
	CredentialID []byte
	// Record is the credential record to store (public key, flags, AAGUID).
	Record       []byte
	SignCount    uint32
	UserVerified bool
}

// FinishRegistration checks the browser's answer (the JSON of a
// PublicKeyCredential) against state.
func (rp *RP) FinishRegistration(a Account, state, answer []byte) (*Registered, error) {
	u, session, err := resume(a, state)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(answer)
	if err != nil {
		return nil, refused(err)
	}
	cred, err := rp.wa.CreateCredential(u, session, parsed)
	if err != nil {
		return nil, refused(err)
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return nil, fmt.Errorf("passkey: encode record: %w", err)
	}
	return &Registered{CredentialID: cred.ID, Record: record, SignCount: cred.Authenticator.SignCount,
		UserVerified: cred.Flags.UserVerified}, nil
}

// BeginLogin starts an assertion. With allow (the records of one person)
// it asks for one of those (a second factor after a password, or a
// confirmation); without, for any discoverable passkey of this RP (a
// sign-in without a password). verify requires user verification (PIN or
// biometrics), else it is only preferred. conditional asks for the
// autofill (conditional mediation) form.
func (rp *RP) BeginLogin(allow *Account, conditional, verify bool) (opts Options, state []byte, err error) {
	mediation := protocol.MediationDefault
	if conditional {
		mediation = protocol.MediationConditional
	}
	var assertion *protocol.CredentialAssertion
	var session *webauthn.SessionData
	uv := protocol.VerificationPreferred
	if verify {
		uv = protocol.VerificationRequired
	}
	if allow == nil {
		assertion, session, err = rp.wa.BeginDiscoverableMediatedLogin(mediation, webauthn.WithUserVerification(uv))
	} else {
		var u *user
		if u, err = newUser(*allow); err != nil {
			return nil, nil, err
		}
		assertion, session, err = rp.wa.BeginMediatedLogin(u, mediation, webauthn.WithUserVerification(uv))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin login: %w", err)
	}
	return marshalBoth(assertion, session)
}

// Asserted is a verified use of a passkey.
type Asserted struct {
	CredentialID []byte
	// Handle is the user handle the authenticator returned ("" when it
	// returned none, as a second factor may).
	Handle []byte
	// SignCount is the authenticator's counter; the caller checks it moved
	// forward (atomically, in the store).
	SignCount    uint32
	UserVerified bool
}

// CredentialID reads which credential an answer claims to be from, so the
// caller can look up its record before FinishLogin. It checks nothing.
func CredentialID(answer []byte) ([]byte, []byte, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(answer)
	if err != nil {
		return nil, nil, refused(err)
	}
	return parsed.RawID, parsed.Response.UserHandle, nil
}

// FinishLogin checks the browser's answer against state and the account
// the credential belongs to (looked up by the caller with CredentialID).
// For a sign-in without a password, state came from BeginLogin(nil, …)
// and the answer must carry the account's handle and user verification.
func (rp *RP) FinishLogin(a Account, state, answer []byte) (*Asserted, error) {
	u, session, err := resume(a, state)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(answer)
	if err != nil {
		return nil, refused(err)
	}
	var cred *webauthn.Credential
	if len(session.UserID) == 0 {
		_, cred, err = rp.wa.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
			if string(handle) != string(a.Handle) {
				return nil, errors.New("the credential is not this account's")
			}
			return u, nil
		}, session, parsed)
	} else {
		cred, err = rp.wa.ValidateLogin(u, session, parsed)
	}
	if err != nil {
		return nil, refused(err)
	}
	return &Asserted{CredentialID: cred.ID, Handle: parsed.Response.UserHandle,
		SignCount: parsed.Response.AuthenticatorData.Counter, UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified()}, nil
}

func marshalBoth(opts any, session *webauthn.SessionData) (Options, []byte, error) {
	o, err := json.Marshal(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: encode options: %w", err)
	}
	st, err := json.Marshal(session)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: encode state: %w", err)
	}
	return o, st, nil
}

// resume is a ceremony's account and stored state, read back to check an
// answer against.
func resume(a Account, state []byte) (*user, webauthn.SessionData, error) {
	var session webauthn.SessionData
	u, err := newUser(a)
	if err != nil {
		return nil, session, err
	}
	if err := json.Unmarshal(state, &session); err != nil {
		return nil, session, fmt.Errorf("passkey: stored state: %w", err)
	}
	return u, session, nil
}

// refused wraps a library error caused by the browser's answer, keeping its
// details (for the audit log) behind ErrRefused.
func refused(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w: %s (%s)", ErrRefused, pe.Details, pe.DevInfo)
	} else if errors.As(err, &pe) {
		return fmt.Errorf("%w: %s", ErrRefused, pe.Details)
	}
	return fmt.Errorf("%w: %v", ErrRefused, err)
}

// Synced reports whether a stored credential record can leave its device
// (the authenticator said it is backup eligible: a synced passkey), so an
// app can tell a software-held key from a hardware-bound one.
func Synced(record []byte) bool {
	var c webauthn.Credential
	return json.Unmarshal(record, &c) == nil && c.Flags.BackupEligible
}
