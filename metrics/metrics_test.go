package metrics

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lacop/lacop"
)

// names are the metric families a serving lacop exposes: New's, and the
// session cache's two that serve registers.
func names(t *testing.T) map[string]bool {
	t.Helper()
	m := New()
	m.Register(CounterFunc("lacop_session_cache_hits_total", "h", func() float64 { return 0 }),
		CounterFunc("lacop_session_cache_misses_total", "m", func() float64 { return 0 }))
	m.ForwardAuth(Allowed, time.Millisecond) // vectors show once they have a child
	m.Observe(&lacop.AuditEvent{Type: lacop.AuditLoginSucceeded}, &lacop.AuditEvent{Type: lacop.AuditLogout},
		&lacop.AuditEvent{Type: lacop.AuditLoginThrottled}, &lacop.AuditEvent{Type: lacop.AuditSecondFactorFailed},
		&lacop.AuditEvent{Type: lacop.AuditOIDCLogoutSent}, &lacop.AuditEvent{Type: lacop.AuditMailQueued})
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range families {
		out[f.GetName()] = true
	}
	return out
}

// TestDocsReferToRealMetrics: every lacop_ metric the Grafana dashboard and
// the alert rules in docs/monitoring use is one lacop exposes, so a rename
// cannot leave them quietly empty.
func TestDocsReferToRealMetrics(t *testing.T) {
	have := names(t)
	used := regexp.MustCompile(`lacop_[a-z_]+`)
	for _, file := range []string{"../docs/monitoring/grafana-dashboard.json", "../docs/monitoring/alerts.yml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, name := range used.FindAllString(string(data), -1) {
			base := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(name, suffix); ok && have[b] {
					base = b
				}
			}
			if !have[base] {
				t.Errorf("%s uses %s, which lacop does not expose", file, name)
			}
			found++
		}
		if found < 5 {
			t.Errorf("%s uses %d lacop metrics; want the dashboard's and rules' queries", file, found)
		}
	}
}

func TestObserve(t *testing.T) {
	m := New()
	m.Observe(
		&lacop.AuditEvent{Type: lacop.AuditLoginSucceeded, Detail: map[string]string{"method": "passkey"}},
		&lacop.AuditEvent{Type: lacop.AuditLoginFailed},
		&lacop.AuditEvent{Type: lacop.AuditSessionRevoked, Detail: map[string]string{"reason": "password_changed"}},
		&lacop.AuditEvent{Type: lacop.AuditSessionRevoked, Detail: map[string]string{"reason": "ann@example.com"}},
		&lacop.AuditEvent{Type: lacop.AuditSessionExpired},
	)
	for _, tt := range []struct {
		got  float64
		want float64
		what string
	}{
		{testutil.ToFloat64(m.signIns.WithLabelValues("succeeded", "passkey")), 1, "passkey sign-ins"},
		{testutil.ToFloat64(m.signIns.WithLabelValues("failed", "password")), 1, "failed password sign-ins"},
		{testutil.ToFloat64(m.ended.WithLabelValues("password_changed")), 1, "ended for a password change"},
		{testutil.ToFloat64(m.ended.WithLabelValues("expired")), 1, "expired (no reason in the detail)"},
		{testutil.ToFloat64(m.ended.WithLabelValues("other")), 1, "a reason that is not a word of ours, as other"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v; want %v", tt.what, tt.got, tt.want)
		}
	}
	var nilMetrics *Metrics
	nilMetrics.ForwardAuth(Allowed, time.Second) // counts nothing, does not panic
	nilMetrics.Unavailable()
}
