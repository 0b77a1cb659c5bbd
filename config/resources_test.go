package config

import (
	"strings"
	"testing"
)

// TestValidateResources: a resource prefix that is not a plain path (one a
// request path, decoded and resolved, could never start with) is reported
// with its key, so `lacop config check` shows it before serve refuses it.
func TestValidateResources(t *testing.T) {
	for _, res := range []string{"/x/../admin", "/./admin", "//admin", "/admin?x=1", "/admin#top", "/a%2Fb", `/a\b`, "/a%zz", "/a%252e"} {
		c := Default()
		c.AccessControl.Rules = []Rule{{Domain: "example.com", Policy: "deny", Resources: []string{"/ok", res}}}
		lines := errorLines(t, c.Validate())
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "access_control.rules[0].resources[1]: ") {
			t.Errorf("Validate() with resource %q = %q; want one error naming access_control.rules[0].resources[1]", res, lines)
		}
	}
	for _, res := range []string{"/admin", "/public/", "/caf%C3%A9/", "/café/", "/.well-known/", "/"} {
		c := Default()
		c.AccessControl.Rules = []Rule{{Domain: "example.com", Policy: "deny", Resources: []string{res}}}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate() with resource %q: %v", res, err)
		}
	}
}
