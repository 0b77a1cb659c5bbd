package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lacop/lacop"
)

// KindBackchannelLogout is the outbox kind of a back-channel logout.
const KindBackchannelLogout = "backchannel_logout"

// logoutTTL is how long a logout token is valid (the contract: at most two
// minutes). Each attempt signs a fresh token with the same jti, so a retry
// hours later is still valid and a receiver can tell it is a repeat.
const logoutTTL = 2 * time.Minute

// backchannelEvent is the one member of a logout token's events claim.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutPayload is what a back-channel delivery stores: enough to sign the
// token at each attempt, nothing secret.
type logoutPayload struct {
	Client    string `json:"client"`
	Subject   string `json:"sub"`
	SID       string `json:"sid"`
	JTI       string `json:"jti"`
	SessionID string `json:"session"`
}

// Logouts returns the back-channel logout of an ended grant, if its app
// has a back-channel URI; auth writes it in the transaction that ends the
// grant.
func (p *Provider) Logouts(g *lacop.AppGrant) []*lacop.Delivery {
	c, ok := p.clients[g.ClientID]
	if !ok || c.cfg.BackchannelLogoutURI == "" {
		return nil
	}
	payload, _ := json.Marshal(logoutPayload{
		Client: g.ClientID, Subject: g.UserID, SID: p.sid(g.SessionID), JTI: p.randomID(), SessionID: g.SessionID,
	})
	now := p.now()
	return []*lacop.Delivery{{
		ID: p.randomID(), Kind: KindBackchannelLogout, Key: g.ClientID, Payload: payload,
		State: lacop.DeliveryPending, CreatedAt: now, NextAttemptAt: now,
	}}
}

// LogoutToken signs a logout token (OIDC Back-Channel Logout 1.0 §2.4):
// typ logout+jwt, iss, aud, iat, exp, jti, sub, sid, the event, no nonce.
func (p *Provider) LogoutToken(ctx context.Context, pl logoutPayload) (string, error) {
	// Signed as the app's ID tokens are: it verifies both the same way.
	alg := p.alg(pl.Client)
	k, err := p.keys.current(ctx, alg)
	if err != nil {
		return "", err
	}
	now := p.now()
	claims := jwt.MapClaims{
		"iss": p.cfg.Issuer, "aud": pl.Client, "iat": now.Unix(), "exp": now.Add(logoutTTL).Unix(),
		"jti": pl.JTI, "sub": pl.Subject, "sid": pl.SID,
		"events": map[string]any{backchannelEvent: map[string]any{}},
	}
	t := jwt.NewWithClaims(jwt.GetSigningMethod(string(alg)), claims)
	t.Header["typ"] = "logout+jwt"
	t.Header["kid"] = k.id
	return t.SignedString(k.private)
}

// backchannelTransport keeps enough idle connections per app for the
// outbox's concurrent attempts to one receiver (DefaultTransport keeps 2,
// so a burst of logouts opened a new connection for most of them).
func backchannelTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	return t
}

// noRedirects is the back-channel HTTP client: a receiver answers, it does
// not send the token elsewhere.
var noRedirects = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// SendLogout delivers one back-channel logout. permanent reports a failure
// that retrying cannot mend: a 4xx (or 3xx) answer, an app no longer
// configured. ctx carries the attempt's timeout.
func (p *Provider) SendLogout(ctx context.Context, d *lacop.Delivery) (permanent bool, err error) {
	var pl logoutPayload
	if err := json.Unmarshal(d.Payload, &pl); err != nil {
		return true, fmt.Errorf("malformed delivery: %w", err)
	}
	c, ok := p.clients[pl.Client]
	if !ok || c.cfg.BackchannelLogoutURI == "" {
		return true, errors.New("the app is no longer configured with a back-channel logout URI")
	}
	token, err := p.LogoutToken(ctx, pl)
	if err != nil {
		return false, err
	}
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BackchannelLogoutURI, strings.NewReader(body))
	if err != nil {
		return true, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "lacop back-channel logout")
	resp, err := p.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		p.auth.Record(ctx, &lacop.AuditEvent{
			Type: lacop.AuditOIDCLogoutSent, UserID: pl.Subject, SessionID: pl.SessionID,
			Detail: map[string]string{"client": pl.Client, "attempts": fmt.Sprint(d.Attempts + 1)},
		})
		return false, nil
	case resp.StatusCode >= 500:
		return false, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return true, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
}

// LogoutFailed audits a back-channel logout given up after its last retry.
func (p *Provider) LogoutFailed(ctx context.Context, d *lacop.Delivery, lastErr string) {
	var pl logoutPayload
	_ = json.Unmarshal(d.Payload, &pl)
	p.auth.Record(ctx, &lacop.AuditEvent{
		Type: lacop.AuditOIDCLogoutFailed, UserID: pl.Subject, SessionID: pl.SessionID,
		Detail: map[string]string{"client": pl.Client, "error": lastErr, "attempts": fmt.Sprint(d.Attempts)},
	})
}
