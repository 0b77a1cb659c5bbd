package accesstoken_test

import (
	"fmt"
	"testing"

	"github.com/lacop/lacop/accesstoken"
)

// benchTokens signs n distinct valid tokens.
func benchTokens(b *testing.B, a *accesstoken.Authority, n int) []string {
	tokens := make([]string, n)
	for i := range tokens {
		c := validClaims()
		c.ID = fmt.Sprintf("jti-%d", i)
		tokens[i] = sign(b, a, c)
	}
	return tokens
}

// BenchmarkVerifyCached is the hot path: a token presented again.
func BenchmarkVerifyCached(b *testing.B) {
	a, _ := newAuthority(b, accesstoken.Options{}, newKey(b, 1, t0))
	tokens := benchTokens(b, a, 1024)
	for _, tok := range tokens {
		if _, err := a.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := a.Verify(tokens[i%len(tokens)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifyUncached is a token seen for the first time: parse, check
// the signature and the claims.
func BenchmarkVerifyUncached(b *testing.B) {
	a, _ := newAuthority(b, accesstoken.Options{NoCache: true}, newKey(b, 1, t0))
	tokens := benchTokens(b, a, 1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := a.Verify(tokens[i%len(tokens)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifyCachedParallel measures contention on the cache's lock.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	a, _ := newAuthority(b, accesstoken.Options{}, newKey(b, 1, t0))
	tokens := benchTokens(b, a, 1024)
	for _, tok := range tokens {
		if _, err := a.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := a.Verify(tokens[i%len(tokens)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkSign(b *testing.B) {
	a, _ := newAuthority(b, accesstoken.Options{}, newKey(b, 1, t0))
	c := validClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}
