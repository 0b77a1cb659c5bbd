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

// String is the policy's name in the configuration.
func (p Policy) String() string {
	switch p {
	case Bypass:
		return "bypass"
	case OneFactor:
		return "one_factor"
	case TwoFactor:
		return "two_factor"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

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
	resources []string // prefixes as decoded by ParseResource
	folded    []string // the same, as fold reads them
}

// Rules are compiled access rules and the default policy.
type Rules struct {
	rules []rule
	def   Policy
	// Whether some prefix ends in "/" and whether some prefix changes
	// when folded: without either, the readings that need them decide as
	// the plain one does and are skipped.
	slash, folds bool
}

// New compiles rules. Hosts compare case-insensitively. A resource prefix
// is decoded (see ParseResource); one that is not a plain path is an error.
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
		c := rule{policy: p, groups: in.Groups}
		for j, res := range in.Resources {
			prefix, err := ParseResource(res)
			if err != nil {
				return nil, fmt.Errorf("access: rule %d: resource %d %q: %w", i, j, res, err)
			}
			f := lowerOrFold(prefix)
			c.resources, c.folded = append(c.resources, prefix), append(c.folded, f)
			r.slash = r.slash || strings.HasSuffix(prefix, "/") || strings.HasSuffix(f, "/")
			r.folds = r.folds || f != prefix
		}
		// Hosts are compared without DNS's trailing dot (ParseHost); a
		// domain written with one must still match.
		d := strings.TrimSuffix(strings.ToLower(in.Domain), ".")
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

// Decide returns the policy for a request to host (as ParseHost reads
// it: a host that does not parse is denied) and path by subject: the
// strictest the rules give under any reading of the path (see Path).
//
// A resource prefix is compared as text with the start of the path:
// "/admin" covers "/admin", "/admin/x" and "/administrator". Some
// upstreams serve "/admin" as "/admin/", so a path without a trailing
// slash is also read with one: a prefix "/admin/" covers "/admin" for a
// deny rule, and a bypass rule on "/public/" does not cover "/public".
//
// A rule limited to groups is passed over for a subject in none of them,
// so a later rule may still admit them; if none does, they are denied
// rather than given the default policy (a domain limited to admins never
// falls through to "one_factor" for everyone else). For an anonymous
// subject such a rule cannot be decided yet, so at least a sign-in is
// asked for, after which the rules are read again.
func (r *Rules) Decide(host string, path *Path, subject *Subject) Policy {
	name, err := ParseHost(host)
	if err != nil || path.n == 0 {
		return Deny
	}
	p := Bypass
	for i := range path.n {
		for f := range 2 {
			folded, lower := f == 1, false
			s := path.r[i]
			if folded {
				s, lower = path.folded(i)
				if !r.folds && !lower && s == path.r[i] {
					continue // the same comparisons as the plain reading
				}
			}
			m := match{folded: folded, lower: lower}
			p = max(p, r.decide(name, s, m, subject))
			if r.slash && !strings.HasSuffix(s, "/") {
				m.slash = true
				p = max(p, r.decide(name, s, m, subject))
			}
			if p == Deny {
				return Deny
			}
		}
	}
	return p
}

// match says how a reading of the path is compared with prefixes: with
// the folded prefixes, after ASCII lower case, and as if it ended in "/".
type match struct {
	folded, lower, slash bool
}

// decide is Decide for one reading of the path.
func (r *Rules) decide(host, s string, m match, subject *Subject) Policy {
	groupMiss := false
	for i := range r.rules {
		c := &r.rules[i]
		if c.host != "" && c.host != host || c.suffix != "" && !strings.HasSuffix(host, c.suffix) {
			continue
		}
		if len(c.resources) > 0 && !c.matches(s, m) {
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

// matches reports whether one of the rule's prefixes starts the reading
// s (or s+"/").
func (c *rule) matches(s string, m match) bool {
	prefixes := c.resources
	if m.folded {
		prefixes = c.folded
	}
	for _, prefix := range prefixes {
		switch {
		case m.lower && hasPrefixLower(s, prefix),
			!m.lower && strings.HasPrefix(s, prefix),
			m.slash && len(prefix) == len(s)+1 && prefix[len(s)] == '/' &&
				(m.lower && equalLower(s, prefix[:len(s)]) || !m.lower && prefix[:len(s)] == s):
			return true
		}
	}
	return false
}
