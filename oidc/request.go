package oidc

import (
	"slices"
	"time"

	proto "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequest is an authorization request in flight and, once a sign-in
// answered it, who answered and through which session. It is stored as
// JSON in lacop.AuthRequest.Data, so any instance can finish it.
type authRequest struct {
	ID                  string                    `json:"id"`
	ClientID            string                    `json:"clientId"`
	RedirectURI         string                    `json:"redirectUri"`
	State               string                    `json:"state,omitempty"`
	Nonce               string                    `json:"nonce,omitempty"`
	Scopes              []string                  `json:"scopes"`
	ResponseType        proto.ResponseType        `json:"responseType"`
	ResponseMode        proto.ResponseMode        `json:"responseMode,omitempty"`
	CodeChallenge       string                    `json:"codeChallenge,omitempty"`
	CodeChallengeMethod proto.CodeChallengeMethod `json:"codeChallengeMethod,omitempty"`
	Prompt              []string                  `json:"prompt,omitempty"`
	MaxAge              *uint                     `json:"maxAge,omitempty"`
	LoginHint           string                    `json:"loginHint,omitempty"`
	CreatedAt           time.Time                 `json:"createdAt"`

	// Set by the sign-in that answers it.
	UserID    string    `json:"userId,omitempty"`
	SessionID string    `json:"sessionId,omitempty"`
	AuthTime  time.Time `json:"authTime"`
	AuthLevel int       `json:"authLevel,omitempty"`
	// AMR are the sign-in's methods (auth.Service.SignInMethods).
	AMR      []string `json:"amr,omitempty"`
	Answered bool     `json:"answered,omitempty"`
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string  { return a.ID }
func (a *authRequest) GetACR() string { return acr(a.AuthLevel) }
func (a *authRequest) GetAMR() []string {
	if len(a.AMR) > 0 {
		return a.AMR
	}
	return amr(a.AuthLevel)
}
func (a *authRequest) GetAudience() []string {
	return []string{a.ClientID}
}
func (a *authRequest) GetAuthTime() time.Time { return a.AuthTime }
func (a *authRequest) GetClientID() string    { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *proto.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &proto.CodeChallenge{Challenge: a.CodeChallenge, Method: a.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                    { return a.Nonce }
func (a *authRequest) GetRedirectURI() string              { return a.RedirectURI }
func (a *authRequest) GetResponseType() proto.ResponseType { return a.ResponseType }
func (a *authRequest) GetResponseMode() proto.ResponseMode { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                 { return a.Scopes }
func (a *authRequest) GetState() string                    { return a.State }
func (a *authRequest) GetSubject() string                  { return a.UserID }
func (a *authRequest) Done() bool                          { return a.Answered }

// prompts reports whether the request asked for prompt p.
func (a *authRequest) prompts(p string) bool { return slices.Contains(a.Prompt, p) }

// refreshRequest is a refresh-token grant: the grant it continues and the
// token it spends.
type refreshRequest struct {
	grantID   string
	sessionID string
	userID    string
	clientID  string
	scopes    []string
	authTime  time.Time
	authLevel int
	amr       []string
	hash      []byte
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string {
	if len(r.amr) > 0 {
		return r.amr
	}
	return amr(r.authLevel)
}
func (r *refreshRequest) GetAudience() []string       { return []string{r.clientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.authTime }
func (r *refreshRequest) GetClientID() string         { return r.clientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.userID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

// acr names the assurance of a session's sign-in, after the access_control
// policies: one_factor or two_factor.
func acr(level int) string {
	if level >= 2 {
		return "two_factor"
	}
	return "one_factor"
}

// amr lists the methods of RFC 8176 a session's sign-in used.
func amr(level int) []string {
	if level >= 2 {
		return []string{"pwd", "otp", "mfa"}
	}
	return []string{"pwd"}
}
