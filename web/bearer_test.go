package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

var bearerTokenTests = []struct {
	header []string // Authorization values, in order
	token  string
	cred   credential
}{
	{nil, "", noBearer},
	{[]string{""}, "", noBearer},
	{[]string{"Bearer abc.DEF-ghi_jkl~mno+pqr/stu"}, "abc.DEF-ghi_jkl~mno+pqr/stu", bearer},
	{[]string{"Bearer abc=="}, "abc==", bearer},
	{[]string{"bearer abc"}, "abc", bearer},
	{[]string{"BEARER abc"}, "abc", bearer},
	{[]string{"Bearer   abc"}, "abc", bearer}, // 1*SP
	{[]string{"Bearer"}, "", badBearer},
	{[]string{"bearer"}, "", badBearer},
	{[]string{"Bearer "}, "", badBearer},
	{[]string{"Bearer\tabc"}, "", badBearer},
	{[]string{"Bearer \tabc"}, "", badBearer},
	{[]string{"Bearer abc def"}, "", badBearer},
	{[]string{"Bearer abc "}, "", badBearer},
	{[]string{"Bearer =="}, "", badBearer},
	{[]string{"Bearer a=b"}, "", badBearer},
	{[]string{"Bearer abc,"}, "", badBearer},
	{[]string{`Bearer "abc"`}, "", badBearer},
	{[]string{`Bearer realm="x"`}, "", badBearer},
	{[]string{"Bearer ab%63"}, "", badBearer},
	{[]string{"Bearer ab\x00c"}, "", badBearer},
	{[]string{"Bearer \u00fcmlaut"}, "", badBearer},
	{[]string{"Bearer abc", "Bearer abc"}, "", badBearer},
	{[]string{"Basic dXNlcjpwYXNz", "Bearer abc"}, "", badBearer},
	{[]string{"Bearer abc", "Basic dXNlcjpwYXNz"}, "", badBearer},
	{[]string{"Basic dXNlcjpwYXNz"}, "", noBearer},
	{[]string{"Basic"}, "", noBearer},
	{[]string{"Negotiate abc"}, "", noBearer},
	{[]string{"Bearertoken"}, "", noBearer},
	{[]string{"Bearer,abc"}, "", noBearer},
	{[]string{"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"}, "", noBearer},
	{[]string{"Basic a", "Digest b"}, "", noBearer},
}

func TestBearerToken(t *testing.T) {
	for _, tt := range bearerTokenTests {
		r := httptest.NewRequest("GET", "/api/me", nil)
		if tt.header != nil {
			r.Header["Authorization"] = tt.header
		}
		token, cred := bearerToken(r)
		if token != tt.token || cred != tt.cred {
			t.Errorf("bearerToken(%q) = %q, %d; want %q, %d", tt.header, token, cred, tt.token, tt.cred)
		}
	}
}

func TestBearerChallenge(t *testing.T) {
	for _, tt := range []struct{ code, description, want string }{
		{"invalid_token", "The access token is invalid or expired.",
			`Bearer realm="lacop", error="invalid_token", error_description="The access token is invalid or expired."`},
		{"invalid_request", `Must be "Bearer" and a token\` + "\x00\n\u00e9.",
			`Bearer realm="lacop", error="invalid_request", error_description="Must be Bearer and a token."`},
	} {
		if got := bearerChallenge(tt.code, tt.description); got != tt.want {
			t.Errorf("bearerChallenge(%q, %q) = %q; want %q", tt.code, tt.description, got, tt.want)
		}
	}
}

func TestOAuthCode(t *testing.T) {
	for _, tt := range []struct{ code, want string }{
		{"invalid_request", "invalid_request"},
		{"invalid_grant", "invalid_grant"},
		{"unsupported_grant_type", "unsupported_grant_type"},
		{"invalid_client", "invalid_client"},
		{"forbidden", "invalid_request"},
		{"method_not_allowed", "invalid_request"},
		{"request_too_large", "invalid_request"},
		{"not_found", "invalid_request"},
		{"unavailable", "temporarily_unavailable"},
		{"internal", "server_error"},
	} {
		if got := oauthCode(tt.code); got != tt.want {
			t.Errorf("oauthCode(%q) = %q; want %q", tt.code, got, tt.want)
		}
	}
}

// BenchmarkBearerToken: reading the header allocates nothing, so the
// forward-auth answers that carry no token pay nothing for it.
func BenchmarkBearerToken(b *testing.B) {
	r := httptest.NewRequest("GET", "/api/authz/forward-auth", nil)
	r.Header.Set("Authorization", "Bearer "+strings.Repeat("A", 400))
	b.ReportAllocs()
	for b.Loop() {
		if _, cred := bearerToken(r); cred != bearer {
			b.Fatal("not a bearer token")
		}
	}
}
