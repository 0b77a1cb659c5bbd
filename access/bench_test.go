package access_test

import (
	"testing"

	"github.com/lacop/lacop/access"
)

// benchRules are a deployment's worth of rules with prefixes.
func benchRules(tb testing.TB) *access.Rules {
	rules, err := access.New("one_factor", []access.Rule{
		{Domain: "docs.example.com", Policy: "bypass", Resources: []string{"/public/", "/assets/"}},
		{Domain: "app.example.com", Policy: "deny", Resources: []string{"/admin", "/internal/"}},
		{Domain: "app.example.com", Policy: "two_factor", Resources: []string{"/billing/"}},
		{Domain: "*.example.com", Policy: "one_factor", Groups: []string{"staff"}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return rules
}

// TestPlainPathDoesNotAllocate: the common forward-auth path, plain ASCII
// without escapes, dot segments or ";", is parsed and decided without
// allocating.
func TestPlainPathDoesNotAllocate(t *testing.T) {
	rules := benchRules(t)
	subject := &access.Subject{Groups: []string{"staff"}}
	for _, target := range []string{"/inbox/42?tab=all", "/Inbox/Messages", "/public/app.js"} {
		var p access.Policy
		n := testing.AllocsPerRun(100, func() {
			path, err := access.ParsePath(target)
			if err != nil {
				t.Fatal(err)
			}
			p = rules.Decide("app.example.com:443", &path, subject)
		})
		if n != 0 {
			t.Errorf("ParsePath(%q) and Decide: %v allocations (policy %v); want 0", target, n, p)
		}
	}
}

// BenchmarkDecide is the cost of reading a path and deciding on it: a
// plain path, and a hostile one that needs every reading.
func BenchmarkDecide(b *testing.B) {
	rules := benchRules(b)
	subject := &access.Subject{Groups: []string{"staff"}}
	for _, bc := range []struct{ name, target string }{
		{"plain", "/inbox/42?tab=all"},
		{"hostile", "/Public/x/%2e%2e;/..;x/Admin/"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				path, err := access.ParsePath(bc.target)
				if err != nil {
					b.Fatal(err)
				}
				rules.Decide("app.example.com", &path, subject)
			}
		})
	}
}
