package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// metricValue is the value of the sample written exactly as series (name
// and labels) in a Prometheus text exposition, or -1 when absent.
func metricValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// promtool returns the path of Prometheus's promtool; without it the test
// skips, except in CI, which installs Debian's prometheus package.
func promtool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("promtool is missing; CI installs it (apt-get install prometheus)")
	}
	t.Skip("promtool not installed (apt-get install prometheus); skipping the exposition check")
	return ""
}

// TestMetrics: /metrics counts sign-ins and failures, throttling, sessions
// ended by reason, forward-auth decisions and their time, and cache hits;
// promtool accepts the exposition; no label holds an email, an address or
// a session id; on the main listener it answers only a client on this
// machine that came through no proxy, and with metrics.listen only there.
func TestMetrics(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "regulation:\n  max_failures: 2\n  window: 1m\n  ban: 1m\n")
	p.addUser("met@example.com")
	secret := p.login("met@example.com")
	sid := p.sessionID(secret)
	p.loginAs("met@example.com", "wrong-password-1", nil, false)
	p.loginAs("nobody@example.com", "wrong-password-1", nil, false)
	p.loginAs("nobody@example.com", "wrong-password-1", nil, false)
	p.loginAs("nobody@example.com", "wrong-password-1", nil, false) // throttled
	for range 3 {
		p.forwardAuth("GET", "https://app.example.com/x", map[string]string{"Cookie": cookieName + "=" + secret})
	}
	p.forwardAuth("GET", "https://app.example.com/x", nil)
	if res := p.do(request{method: "POST", path: "/api/logout", cookie: secret}); res.StatusCode >= 300 {
		t.Fatalf("logout = %d", res.StatusCode)
	}

	res := p.do(request{method: "GET", path: "/metrics"})
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics = %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	text := string(res.Body)
	for series, want := range map[string]float64{
		`lacop_sign_ins_total{method="password",result="succeeded"}`:    1,
		`lacop_sign_ins_total{method="password",result="failed"}`:       3,
		`lacop_sign_ins_total{method="password",result="throttled"}`:    1,
		`lacop_sessions_ended_total{reason="logout"}`:                   1,
		`lacop_forward_auth_requests_total{decision="allowed"}`:         3,
		`lacop_forward_auth_requests_total{decision="sign_in"}`:         1,
		`lacop_forward_auth_duration_seconds_count{decision="allowed"}`: 3,
		`lacop_audit_events_total{type="login.succeeded"}`:              1,
	} {
		if got := metricValue(text, series); got != want {
			t.Errorf("%s = %v; want %v", series, got, want)
		}
	}
	if hits := metricValue(text, "lacop_session_cache_hits_total"); hits < 1 {
		t.Errorf("lacop_session_cache_hits_total = %v; want the repeated checks served from memory", hits)
	}
	for _, private := range []string{"met@example.com", "nobody@example.com", "127.0.0.1", sid, secret} {
		if strings.Contains(text, private) {
			t.Errorf("the metrics hold %q", private)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^(lacop_[a-z_]+)`).FindAllString(text, -1) {
		if !strings.Contains(text, "# HELP "+strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")) {
			t.Errorf("%s has no help text", m)
		}
	}
	check := exec.Command(promtool(t), "check", "metrics")
	check.Stdin = strings.NewReader(text)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	// Through a proxy (any forwarding header), the main listener has none.
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-IP", "Via"} {
		if res := p.do(request{method: "GET", path: "/metrics", header: map[string]string{h: "198.51.100.7"}}); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET /metrics with %s = %d; want 404", h, res.StatusCode)
		}
	}

	// With metrics.listen: there, and not on the main listener.
	q := startPortal(t, "metrics:\n  listen: 127.0.0.1:0\n")
	if res := q.do(request{method: "GET", path: "/metrics"}); res.StatusCode != http.StatusNotFound {
		t.Errorf("main listener /metrics with metrics.listen set = %d; want 404", res.StatusCode)
	}
	m := regexp.MustCompile(`metrics on (http://[^ \n]+/metrics)`).FindStringSubmatch(q.out.String())
	if m == nil {
		t.Fatalf("no metrics listen line in:\n%s", q.out.String())
	}
	r, err := http.Get(m[1])
	if err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %v, %v", m[1], r, err)
	}
	r.Body.Close()
}
