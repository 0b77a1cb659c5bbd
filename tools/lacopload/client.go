package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// client speaks lacop's HTTP API: one shared http.Client for every virtual
// user and the checker, no cookie jar (the session cookie is Secure, and
// this is plain http on loopback, so it is sent by hand), no redirects.
type client struct {
	base   string
	hc     *http.Client
	stats  *stats
	budget *budget
}

func newClient(addr string, s *stats, b *budget) *client {
	tr := &http.Transport{
		MaxIdleConns:        128,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &client{base: "http://" + addr, stats: s, budget: b, hc: &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// budget stops the load when the request count reaches its limit (the
// timer in run stops it when the duration has passed).
type budget struct {
	issued atomic.Int64
	limit  int64
	stop   atomic.Bool
}

func (b *budget) spend() {
	if b.issued.Add(1) >= b.limit {
		b.stop.Store(true)
	}
}

func (b *budget) stopping() bool { return b.stop.Load() }

// call is one request.
type call struct {
	method, path string
	cookie       string // "name=value" of the session cookie
	bearer       string // access token
	json         any    // JSON body
	form         url.Values
	forwarded    bool // forward-auth: what Traefik sends for https://app.example.com/x
}

// reply is lacop's answer; status 0 means none came (err says why).
type reply struct {
	status int
	body   []byte
	header http.Header
	err    error
}

// send makes the request and records its status and latency under op.
func (c *client) send(ctx context.Context, op string, k call) reply {
	c.budget.spend()
	var body io.Reader
	ctype := ""
	switch {
	case k.json != nil:
		b, _ := json.Marshal(k.json)
		body, ctype = bytes.NewReader(b), "application/json"
	case k.form != nil:
		body, ctype = strings.NewReader(k.form.Encode()), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequestWithContext(ctx, k.method, c.base+k.path, body)
	if err != nil {
		return reply{err: err}
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "lacopload")
	if k.cookie != "" {
		req.Header.Set("Cookie", k.cookie)
	}
	if k.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+k.bearer)
	}
	if k.forwarded {
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "app.example.com")
		req.Header.Set("X-Forwarded-Uri", "/x")
	}
	t0 := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.stats.add(op, 0, time.Since(t0))
		return reply{err: err}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	c.stats.add(op, resp.StatusCode, time.Since(t0))
	if err != nil {
		return reply{status: resp.StatusCode, header: resp.Header, err: err}
	}
	return reply{status: resp.StatusCode, body: data, header: resp.Header}
}

// want reports whether r has one of the statuses; if not, it records an
// unexpected answer under op. Bodies are lacop's error JSON, never secrets.
func (c *client) want(op string, k call, r reply, statuses ...int) bool {
	if r.err == nil && slices.Contains(statuses, r.status) {
		return true
	}
	what := fmt.Sprintf("%d %q", r.status, truncate(string(r.body), 200))
	if r.err != nil {
		what = "no response: " + r.err.Error()
	}
	c.stats.unexpected(op, fmt.Sprintf("%s %s answered %s; want %v", k.method, pathOnly(k.path), what, statuses))
	return false
}

// do is send then want.
func (c *client) do(ctx context.Context, op string, k call, statuses ...int) (reply, bool) {
	r := c.send(ctx, op, k)
	return r, c.want(op, k, r, statuses...)
}

// pathOnly drops ids from paths shown in the report.
func pathOnly(p string) string {
	if strings.HasPrefix(p, "/api/sessions/") && p != "/api/sessions/revoke-all" {
		return "/api/sessions/{id}"
	}
	return p
}

// sessionCookie returns "name=value" of the session cookie lacop set.
func sessionCookie(h http.Header) (string, error) {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if strings.HasSuffix(c.Name, "lacop_session") && c.Value != "" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", errors.New("no session cookie set")
}

// decode unmarshals a JSON answer into v, recording a bad one under op.
func (c *client) decode(op string, r reply, v any) bool {
	if err := json.Unmarshal(r.body, v); err != nil {
		c.stats.unexpected(op, fmt.Sprintf("answer %q is not the JSON expected: %v", truncate(string(r.body), 200), err))
		return false
	}
	return true
}

// short is the first 6 characters of a secret: enough to tell credentials
// apart in a report, useless to anyone reading it.
func short(secret string) string {
	if _, v, ok := strings.Cut(secret, "="); ok && strings.Contains(secret, "lacop_session") {
		secret = v
	}
	if len(secret) > 6 {
		return secret[:6] + "…"
	}
	return secret
}
