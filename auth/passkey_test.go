package auth_test

import (
	"testing"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/passkey"
	"github.com/lacop/lacop/passkey/passkeytest"
)

// withPasskeys gives the env's service a relying party at
// https://auth.example.com.
func withPasskeys(t *testing.T, e *env) {
	t.Helper()
	rp, err := passkey.New("auth.example.com", "lacop", "https://auth.example.com")
	if err != nil {
		t.Fatal(err)
	}
	e.svc.WebAuthn = rp
}

// addPasskey registers a passkey of key for id's person, behind the
// password, and returns it with the session's new secret ("" when it did
// not rise).
func addPasskey(t *testing.T, e *env, id *auth.Identity, key *passkeytest.Authenticator, pw string) (*lacop.Passkey, string) {
	t.Helper()
	cer, err := e.svc.BeginPasskeyRegistration(e.ctx, id, pw, "", nil, client)
	if err != nil {
		t.Fatalf("BeginPasskeyRegistration: %v", err)
	}
	answer, _, err := key.Register(cer.Options, passkeytest.Ceremony{})
	if err != nil {
		t.Fatal(err)
	}
	added, err := e.svc.FinishPasskeyRegistration(e.ctx, id, cer.Token, "", answer, client)
	if err != nil {
		t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	return added.Passkey, added.NewSecret
}

// TestPasskeySatisfiesRequiredSecondFactor: with a second factor required,
// a passkey is one (the session that adds it rises, and the person owes
// nothing more), and the last one cannot be removed by its owner, only by
// an admin (who ends its sessions).
func TestPasskeySatisfiesRequiredSecondFactor(t *testing.T) {
	cfg := defaultConfig
	cfg.RequireSecondFactor = true
	e := newEnv(t, cfg)
	withPasskeys(t, e)
	const pw = "a-long-enough-passphrase"
	u := e.createUser(t, "pk@example.com", pw)
	in := e.login(t, u.Email, pw, false)
	id := e.mustAuth(t, in.Secret)
	if got := e.svc.Pending(id); got != auth.StepEnrol {
		t.Fatalf("Pending before any factor = %v; want StepEnrol", got)
	}
	key := &passkeytest.Authenticator{Origin: "https://auth.example.com", UserVerified: true}
	p, secret := addPasskey(t, e, id, key, pw)
	if secret == "" {
		t.Fatal("adding a passkey at one factor gave no new secret; want the session raised under a fresh one")
	}
	e.mustBeDead(t, in.Secret)
	id = e.mustAuth(t, secret)
	if p.Name != "Passkey 1" {
		t.Errorf("an unnamed passkey is called %q; want Passkey 1", p.Name)
	}
	if got := e.svc.Pending(id); got != auth.StepNone || id.Session.AuthLevel != lacop.AuthLevelTwoFactor {
		t.Fatalf("after adding a passkey: Pending %v, level %d; want nothing owed at level 2", got, id.Session.AuthLevel)
	}
	if _, err := e.svc.RemovePasskey(e.ctx, id, p.ID, pw, client); lacop.ErrorCode(err) != lacop.ECONFLICT {
		t.Errorf("removing the only second factor while one is required = %v; want ECONFLICT", err)
	}
	// Passwordless, then the admin removes it: that session ends, the
	// password session stays.
	cer, err := e.svc.BeginPasskeyLogin(e.ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := key.Assert(cer.Options, nil, passkeytest.Ceremony{})
	if err != nil {
		t.Fatal(err)
	}
	viaKey, err := e.svc.FinishPasskeyLogin(e.ctx, cer.Token, answer, false, "", client)
	if err != nil {
		t.Fatalf("FinishPasskeyLogin: %v", err)
	}
	out, err := e.svc.AdminRemovePasskey(e.ctx, u.ID, p.ID, "", auth.Client{Via: auth.ViaCLI})
	if err != nil || out.Revoked() != 1 {
		t.Fatalf("AdminRemovePasskey = %v, %v; want the one passkey session ended", out, err)
	}
	e.mustBeDead(t, viaKey.Secret)
	if _, err := e.svc.Authenticate(e.ctx, secret, client); err != nil {
		t.Errorf("the session that added the passkey ended with it: %v", err)
	}
}
