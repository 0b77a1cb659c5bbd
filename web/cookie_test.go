package web

import (
	"net/http"
	"testing"
)

// TestSessionSecret: the session cookie is found among others, in any of
// several Cookie headers, first one winning, like r.Cookie would.
func TestSessionSecret(t *testing.T) {
	s := &Server{cookieName: "__Host-lacop_session"}
	tests := []struct {
		headers []string
		want    string
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"__Host-lacop_session=abc"}, "abc"},
		{[]string{"a=1; __Host-lacop_session=abc; b=2"}, "abc"},
		{[]string{"a=1;__Host-lacop_session=abc"}, "abc"},
		{[]string{"a=1", "__Host-lacop_session=abc"}, "abc"},
		{[]string{`__Host-lacop_session="abc"`}, "abc"},
		{[]string{"__Host-lacop_session=first; __Host-lacop_session=second"}, "first"},
		{[]string{"x__Host-lacop_session=abc"}, ""},
		{[]string{"__Host-lacop_sessionX=abc"}, ""},
		{[]string{"__Secure-lacop_session=abc"}, ""},
		{[]string{"__Host-lacop_session"}, ""},
		{[]string{"__Host-lacop_session="}, ""},
	}
	for _, tt := range tests {
		r := &http.Request{Header: http.Header{}}
		if tt.headers != nil {
			r.Header["Cookie"] = tt.headers
		}
		std := ""
		if c, err := r.Cookie(s.cookieName); err == nil {
			std = c.Value
		}
		if got := s.sessionSecret(r); got != tt.want || got != std {
			t.Errorf("sessionSecret(%q) = %q (r.Cookie: %q); want %q", tt.headers, got, std, tt.want)
		}
	}
}
