// Package access decides, for a request a reverse proxy forwards, which
// policy applies: the access_control rules of the configuration, first
// match wins, else the default. It knows nothing of sessions; the caller
// says who is asking.
package access

import (
	"fmt"
	"slices"
	"strings"
)

// Policy is what a request needs.
type Policy int

// Policies, from least to most demanding. Deny refuses everyone.
const (
	Bypass    Policy = iota // no sign-in needed
	OneFactor               // a full session (password, and the second factor if the user has one)
	TwoFactor               // a session that passed a second factor
	Deny                    // nobody
)

// ParsePolicy reads a policy name from the configuration.
func ParsePolicy(name string) (Policy, error) {
	switch name {
	case "bypass":
		return Bypass, nil
	case "one_factor":
		return OneFactor, nil
	case "two_factor":
		return TwoFactor, nil
	case "deny":
		return Deny, nil
	}
	return 0, fmt.Errorf("access: unknown policy %q", name)
}

// Rule is one access_control rule as configured.
type Rule struct {
	// Domain is "app.example.com" (that host) or "*.example.com" (any
	// subdomain, not example.com itself).
	Domain string
	Policy string
	// Groups, when set, limit the rule to members of any of them.
	Groups []string
	// Resources, when set, limit the rule to paths with one of these
	// prefixes.
	Resources []string
}

type rule struct {
	host      string // exact host, or "" when suffix is set
	suffix    string // ".example.com" for "*.example.com"
	policy    Policy
	groups    []string
	resources []string
}

// Rules are compiled access rules and the default policy.
type Rules struct {
	rules []rule
	def   Policy
}

// New compiles rules. Hosts compare case-insensitively.
func New(defaultPolicy string, rules []Rule) (*Rules, error) {
	def, err := ParsePolicy(defaultPolicy)
	if err != nil {
		return nil, err
	}
	r := &Rules{def: def}
	for i, in := range rules {
		p, err := ParsePolicy(in.Policy)
		if err != nil {
			return nil, fmt.Errorf("access: rule %d: %w", i, err)
		}
		c := rule{policy: p, groups: in.Groups, resources: in.Resources}
		d := strings.ToLower(in.Domain)
		if rest, ok := strings.CutPrefix(d, "*."); ok {
			c.suffix = "." + rest
		} else {
			c.host = d
		}
		r.rules = append(r.rules, c)
	}
	return r, nil
}

// Subject is who is asking: nil for an anonymous request.
type Subject struct {
	Groups []string
}

// Decide returns the policy for a request to host and path by subject.
// A rule limited to groups is passed over for a subject in none of them,
// so a later rule may still admit them; if none does, they are denied
// rather than given the default policy (a domain limited to admins never
// falls through to "one_factor" for everyone else). For an anonymous
// subject such a rule cannot be decided yet, so at least a sign-in is
// asked for, after which the rules are read again.
func (r *Rules) Decide(host, path string, subject *Subject) Policy {
	host = strings.ToLower(host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i] // drop the port
	}
	// "admin.example.com." is the same host in DNS, and proxies route it
	// as such: it must meet the same rules.
	host = strings.TrimSuffix(host, ".")
	groupMiss := false
	for i := range r.rules {
		c := &r.rules[i]
		if c.host != "" && c.host != host || c.suffix != "" && !strings.HasSuffix(host, c.suffix) {
			continue
		}
		if len(c.resources) > 0 && !slices.ContainsFunc(c.resources, func(prefix string) bool { return strings.HasPrefix(path, prefix) }) {
			continue
		}
		if len(c.groups) > 0 {
			if subject == nil {
				return max(c.policy, OneFactor)
			}
			if !slices.ContainsFunc(c.groups, func(g string) bool { return slices.Contains(subject.Groups, g) }) {
				groupMiss = true
				continue
			}
		}
		return c.policy
	}
	if groupMiss {
		return Deny
	}
	return r.def
}
