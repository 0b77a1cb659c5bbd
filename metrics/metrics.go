// Package metrics counts what an operator watches lacop by — sign-ins and
// their failures, throttling, sessions ended and why, forward-auth
// decisions and their time, refusals for lack of a store, cache hits,
// back-channel logouts and mail — and serves them to Prometheus.
//
// Labels are few and fixed (an event type, a reason from the policy table,
// a decision): never a person, session, address or URL, so the number of
// series stays small whatever the traffic. Most counts are read off the
// audit events as they are recorded (Audit), so a count and the log never
// disagree about what happened.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lacop/lacop"
)

// Decision is how forward-auth answered, the decision label of
// lacop_forward_auth_requests_total. A small integer, so counting one on
// the hot path indexes an array rather than hashing a label.
type Decision uint8

// Forward-auth decisions.
const (
	Allowed   Decision = iota // signed in and the rules allow: 200
	Bypassed                  // a bypass rule: 200 without credentials
	Denied                    // signed in but not allowed, or a deny rule: 403
	SignIn                    // not signed in: to the login page (302 or 401)
	Refused                   // a bearer token refused, or a malformed request
	Throttled                 // too many unknown cookies from the address: 429
	Failed                    // a store could not answer: 503
	decisions
)

// decisionNames are the label values, by Decision.
var decisionNames = [decisions]string{"allowed", "bypassed", "denied", "sign_in", "refused", "throttled", "failed"}

// Metrics holds lacop's collectors on their own registry (no global
// state: two servers in one test process count apart).
type Metrics struct {
	reg *prometheus.Registry

	events      *prometheus.CounterVec
	signIns     *prometheus.CounterVec
	factors     *prometheus.CounterVec
	ended       *prometheus.CounterVec
	throttled   *prometheus.CounterVec
	logouts     *prometheus.CounterVec
	mails       *prometheus.CounterVec
	unavailable prometheus.Counter

	fwdCount [decisions]prometheus.Counter
	fwdTime  [decisions]prometheus.Observer
	handler  http.Handler
}

// New makes the collectors and registers them, with the Go runtime's and
// the process's.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lacop_audit_events_total",
		Help: "Audit events recorded, by type (login.succeeded, session.revoked, ...)."}, []string{"type"})
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lacop_sign_ins_total",
		Help: "Sign-in attempts by result (succeeded, failed, throttled) and method (password, passkey)."}, []string{"result", "method"})
	m.factors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lacop_second_factor_attempts_total",
		Help: "Second-factor attempts by result (succeeded, failed)."}, []string{"result"})
	m.ended = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lacop_sessions_ended_total",
		Help: "Sessions ended, by the policy table's reason (logout, expired, password_changed, ...)."}, []string{"reason"})
	m.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lacop_throttled_total",
		Help: "Attempts refused by throttling, by step (password, second_factor, ...)."}, []string{"step"})
	m.logouts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lacop_backchannel_logouts_total",
		Help: "Back-channel logouts to apps by result: sent, or failed after the last retry."}, []string{"result"})
	m.mails = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lacop_mails_total",
		Help: "Mails by result: queued in the outbox, or failed after the last retry."}, []string{"result"})
	m.unavailable = prometheus.NewCounter(prometheus.CounterOpts{Name: "lacop_store_unavailable_total",
		Help: "Requests refused (503) because a store could not answer."})
	count := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lacop_forward_auth_requests_total",
		Help: "Forward-auth and auth-request decisions, by decision."}, []string{"decision"})
	took := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lacop_forward_auth_duration_seconds",
		Help:    "Server time of a forward-auth or auth-request decision, by decision.",
		Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .1, .5}}, []string{"decision"})
	for d, name := range decisionNames { // resolved once: a decision costs no label lookup
		m.fwdCount[d], m.fwdTime[d] = count.WithLabelValues(name), took.WithLabelValues(name)
	}
	m.reg.MustRegister(m.events, m.signIns, m.factors, m.ended, m.throttled, m.logouts, m.mails, m.unavailable, count, took,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// Register adds more collectors (the session cache's hit counts, the
// outbox's backlog) to the registry.
func (m *Metrics) Register(cs ...prometheus.Collector) { m.reg.MustRegister(cs...) }

// CounterFunc is a counter read from fn when scraped: for counts another
// package keeps (cache hits), without it importing this one.
func CounterFunc(name, help string, fn func() float64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn)
}

// GaugeFunc is a gauge read from fn when scraped.
func GaugeFunc(name, help string, fn func() float64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn)
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler { return m.handler }

// A nil *Metrics counts nothing: ForwardAuth and Unavailable do nothing,
// so code that counts needs no check of its own.

// ForwardAuth counts one decision and its server time.
func (m *Metrics) ForwardAuth(d Decision, took time.Duration) {
	if m == nil || d >= decisions {
		return
	}
	m.fwdCount[d].Inc()
	m.fwdTime[d].Observe(took.Seconds())
}

// Unavailable counts a request refused because a store could not answer.
func (m *Metrics) Unavailable() {
	if m != nil {
		m.unavailable.Inc()
	}
}

// Observe counts what the events say happened. It is called with every
// event lacop records (Audit), recorded or spooled.
func (m *Metrics) Observe(events ...*lacop.AuditEvent) {
	for _, e := range events {
		m.events.WithLabelValues(e.Type).Inc()
		method := "password"
		if e.Detail["method"] == "passkey" {
			method = "passkey"
		}
		switch e.Type {
		case lacop.AuditLoginSucceeded:
			m.signIns.WithLabelValues("succeeded", method).Inc()
		case lacop.AuditLoginFailed:
			m.signIns.WithLabelValues("failed", method).Inc()
		case lacop.AuditLoginThrottled:
			step := e.Detail["step"]
			if step == "password" {
				m.signIns.WithLabelValues("throttled", "password").Inc()
			}
			m.throttled.WithLabelValues(bounded(step)).Inc()
		case lacop.AuditSecondFactorSucceeded:
			m.factors.WithLabelValues("succeeded").Inc()
		case lacop.AuditSecondFactorFailed:
			m.factors.WithLabelValues("failed").Inc()
		case lacop.AuditLogout, lacop.AuditSessionRevoked, lacop.AuditSessionExpired:
			reason := e.Detail["reason"]
			if reason == "" {
				reason = map[string]string{lacop.AuditLogout: "logout", lacop.AuditSessionExpired: "expired"}[e.Type]
			}
			m.ended.WithLabelValues(bounded(reason)).Inc()
		case lacop.AuditOIDCLogoutSent:
			m.logouts.WithLabelValues("sent").Inc()
		case lacop.AuditOIDCLogoutFailed:
			m.logouts.WithLabelValues("failed").Inc()
		case lacop.AuditMailQueued:
			m.mails.WithLabelValues("queued").Inc()
		case lacop.AuditMailFailed:
			m.mails.WithLabelValues("failed").Inc()
		}
	}
}

// bounded keeps a label value to the short words lacop's own code writes,
// so a value that came from elsewhere cannot grow the series.
func bounded(v string) string {
	if v == "" || len(v) > 40 {
		return "other"
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r == '_') {
			return "other"
		}
	}
	return v
}

// AuditStore counts every event recorded through it (Observe), then
// records it with the store it wraps.
type AuditStore struct {
	lacop.AuditStore
	m *Metrics
}

// Audit wraps an audit store so the events recorded through it are counted.
func (m *Metrics) Audit(inner lacop.AuditStore) *AuditStore {
	return &AuditStore{AuditStore: inner, m: m}
}

// RecordEvents counts the events and records them.
func (s *AuditStore) RecordEvents(ctx context.Context, events ...*lacop.AuditEvent) error {
	s.m.Observe(events...)
	return s.AuditStore.RecordEvents(ctx, events...)
}
