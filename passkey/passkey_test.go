package passkey_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/lacop/lacop/passkey"
	"github.com/lacop/lacop/passkey/passkeytest"
)

const origin = "https://auth.example.com"

func newRP(t *testing.T) *passkey.RP {
	t.Helper()
	rp, err := passkey.New("example.com", "lacop (auth.example.com)", origin)
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// register makes a passkey for an account with handle "u1" and returns
// the account holding its record.
func register(t *testing.T, rp *passkey.RP, a *passkeytest.Authenticator) (passkey.Account, *passkeytest.Credential) {
	t.Helper()
	acct := passkey.Account{Handle: []byte("u1"), Name: "ada@example.com", DisplayName: "Ada"}
	opts, state, err := rp.BeginRegistration(acct)
	if err != nil {
		t.Fatal(err)
	}
	answer, cred, err := a.Register(opts, passkeytest.Ceremony{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := rp.FinishRegistration(acct, state, answer)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	if !bytes.Equal(reg.CredentialID, cred.ID) || reg.UserVerified != a.UserVerified || reg.SignCount != 1 {
		t.Fatalf("Registered = %+v; want credential %x, UV %v, count 1", reg, cred.ID, a.UserVerified)
	}
	acct.Records = [][]byte{reg.Record}
	return acct, cred
}

func TestPasskeyCeremonies(t *testing.T) {
	rp := newRP(t)
	a := &passkeytest.Authenticator{Origin: origin, UserVerified: true}
	acct, cred := register(t, rp, a)

	// Without a password: any discoverable passkey, the handle names the account.
	opts, state, err := rp.BeginLogin(nil, false, true)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := a.Assert(opts, nil, passkeytest.Ceremony{})
	if err != nil {
		t.Fatal(err)
	}
	id, handle, err := passkey.CredentialID(answer)
	if err != nil || !bytes.Equal(id, cred.ID) || string(handle) != "u1" {
		t.Fatalf("CredentialID = %x, %q, %v; want %x, u1", id, handle, err, cred.ID)
	}
	got, err := rp.FinishLogin(acct, state, answer)
	if err != nil || got.SignCount != 2 || !got.UserVerified {
		t.Fatalf("FinishLogin = %+v, %v; want count 2, verified", got, err)
	}

	// As a second factor: the account's own credentials are allowed.
	opts, state, err = rp.BeginLogin(&acct, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(opts, []byte(`"allowCredentials"`)) {
		t.Errorf("second-factor options allow no credentials: %s", opts)
	}
	answer, err = a.Assert(opts, cred, passkeytest.Ceremony{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.FinishLogin(acct, state, answer); err != nil {
		t.Fatalf("FinishLogin as second factor: %v", err)
	}
}

func TestPasskeyRefusals(t *testing.T) {
	rp := newRP(t)
	a := &passkeytest.Authenticator{Origin: origin, UserVerified: true}
	acct, cred := register(t, rp, a)
	other := &passkeytest.Authenticator{Origin: origin, UserVerified: true}
	otherAcct, otherCred := register(t, rp, other)
	otherAcct.Handle = []byte("u2")

	tests := []struct {
		name   string
		ch     passkeytest.Ceremony
		acct   passkey.Account
		cred   *passkeytest.Credential
		noUV   bool
		second bool
	}{
		{name: "another origin", ch: passkeytest.Ceremony{Origin: "https://evil.example.net"}},
		{name: "a sibling origin", ch: passkeytest.Ceremony{Origin: "https://app.example.com"}},
		{name: "another RP ID", ch: passkeytest.Ceremony{RPID: "evil.example.net"}},
		{name: "another challenge", ch: passkeytest.Ceremony{Challenge: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{name: "a creation answer", ch: passkeytest.Ceremony{Type: "webauthn.create"}},
		{name: "no user verification without a password", noUV: true},
		{name: "another person's key for this account", cred: otherCred},
		{name: "as second factor, a key of another account", cred: otherCred, second: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var allow *passkey.Account
			if tt.second {
				allow = &acct
			}
			opts, state, err := rp.BeginLogin(allow, false, !tt.second)
			if err != nil {
				t.Fatal(err)
			}
			c, auth := cred, a
			if tt.cred != nil {
				c, auth = tt.cred, other
			}
			auth.UserVerified = !tt.noUV
			defer func() { auth.UserVerified = true }()
			answer, err := auth.Assert(opts, c, tt.ch)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rp.FinishLogin(acct, state, answer); !errors.Is(err, passkey.ErrRefused) {
				t.Errorf("FinishLogin = %v; want refused", err)
			}
		})
	}
	// Registration answers are checked the same way.
	opts, state, err := rp.BeginRegistration(passkey.Account{Handle: []byte("u3"), Name: "c@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	answer, _, err := a.Register(opts, passkeytest.Ceremony{Origin: "https://evil.example.net"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.FinishRegistration(passkey.Account{Handle: []byte("u3"), Name: "c@example.com"}, state, answer); !errors.Is(err, passkey.ErrRefused) {
		t.Errorf("FinishRegistration from another origin = %v; want refused", err)
	}
	_ = otherAcct
}
