// Package passkeytest is a software authenticator for tests that speak
// WebAuthn over HTTP without a browser: it answers the options lacop sends
// with the JSON a browser would post back, signed with its own P-256 keys,
// and lets a test bend any part of the answer (origin, RP ID, challenge,
// counter, user verification) to see it refused.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator holds credentials like a roaming security key or a
// platform authenticator with resident keys would.
type Authenticator struct {
	// Origin is what the "browser" reports in client data.
	Origin string
	// UserVerified sets the UV flag on every answer (a PIN or biometrics
	// was checked).
	UserVerified bool
	Creds        []*Credential
}

// Credential is one key pair the authenticator made.
type Credential struct {
	ID         []byte
	UserHandle []byte
	RPID       string
	Key        *ecdsa.PrivateKey
	SignCount  uint32
}

// Ceremony is what a test may change in one answer before it is made.
type Ceremony struct {
	// Origin, RPID and Challenge replace the real ones when not "".
	Origin, RPID, Challenge string
	// Type replaces "webauthn.create" / "webauthn.get" when not "".
	Type string
}

// options is the part of lacop's options the authenticator reads.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

var b64 = base64.RawURLEncoding

// Register answers creation options with a new credential.
func (a *Authenticator) Register(opts []byte, ch Ceremony) ([]byte, *Credential, error) {
	var o options
	if err := json.Unmarshal(opts, &o); err != nil {
		return nil, nil, fmt.Errorf("passkeytest: options: %w", err)
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("passkeytest: user id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	c := &Credential{ID: id, UserHandle: handle, RPID: o.PublicKey.RP.ID, Key: key, SignCount: 1}
	rpID := or(ch.RPID, c.RPID)
	ecdh, err := key.PublicKey.ECDH()
	if err != nil {
		return nil, nil, err
	}
	raw := ecdh.Bytes() // 0x04 || X || Y
	coseKey, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:65]})
	if err != nil {
		return nil, nil, err
	}
	attested := append(make([]byte, 16), byte(len(id)>>8), byte(len(id)))
	attested = append(append(attested, id...), coseKey...)
	authData := a.authData(rpID, 0x40, c.SignCount, attested)
	attObj, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		return nil, nil, err
	}
	cd := a.clientData(or(ch.Type, "webauthn.create"), or(ch.Challenge, o.PublicKey.Challenge), ch.Origin)
	answer, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"response":               map[string]any{"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(attObj), "transports": []string{"internal"}},
		"clientExtensionResults": map[string]any{},
	})
	if err != nil {
		return nil, nil, err
	}
	a.Creds = append(a.Creds, c)
	return answer, c, nil
}

// Assert answers request options with c (or, when c is nil, the first
// credential for the options' RP ID that the options allow).
func (a *Authenticator) Assert(opts []byte, c *Credential, ch Ceremony) ([]byte, error) {
	var o options
	if err := json.Unmarshal(opts, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: options: %w", err)
	}
	if c == nil {
		c = a.pick(o)
	}
	if c == nil {
		return nil, fmt.Errorf("passkeytest: no credential for %q", o.PublicKey.RPID)
	}
	c.SignCount++
	return a.AssertCount(opts, c, c.SignCount, ch)
}

// AssertCount is Assert with the counter given (a cloned key's).
func (a *Authenticator) AssertCount(opts []byte, c *Credential, count uint32, ch Ceremony) ([]byte, error) {
	var o options
	if err := json.Unmarshal(opts, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: options: %w", err)
	}
	authData := a.authData(or(ch.RPID, c.RPID), 0, count, nil)
	cd := a.clientData(or(ch.Type, "webauthn.get"), or(ch.Challenge, o.PublicKey.Challenge), ch.Origin)
	sum := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, authData...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(authData),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(c.UserHandle)},
		"clientExtensionResults": map[string]any{},
	})
}

func (a *Authenticator) pick(o options) *Credential {
	for _, c := range a.Creds {
		if c.RPID != o.PublicKey.RPID {
			continue
		}
		if len(o.PublicKey.AllowCredentials) == 0 {
			return c
		}
		for _, allowed := range o.PublicKey.AllowCredentials {
			if allowed.ID == b64.EncodeToString(c.ID) {
				return c
			}
		}
	}
	return nil
}

// authData is rpIdHash | flags | counter | extra, with user presence
// always and user verification when the authenticator does it.
func (a *Authenticator) authData(rpID string, flags byte, count uint32, extra []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	flags |= 0x01
	if a.UserVerified {
		flags |= 0x04
	}
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, count)
	return append(out, extra...)
}

func (a *Authenticator) clientData(typ, challenge, origin string) []byte {
	cd, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": or(origin, a.Origin), "crossOrigin": false})
	return cd
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
