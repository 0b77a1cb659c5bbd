package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// client speaks to lacop as the browsers and the apps would.
type client struct {
	base       string
	http       *http.Client
	unexpected atomic.Int64
	mu         sync.Mutex
	first      string
}

// session is one signed-in lacop session and the tokens each app got
// through it.
type session struct {
	cookie string // name=value
	tokens map[string]*appTokens
}

type appTokens struct {
	mu                   sync.Mutex
	access, refresh, sid string
}

func newClient(base string) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &client{base: base, http: &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) surprise(format string, args ...any) {
	c.mu.Lock()
	if c.first == "" {
		c.first = fmt.Sprintf(format, args...)
	}
	c.mu.Unlock()
	c.unexpected.Add(1)
}

func (c *client) firstUnexpected() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// parallel runs f(i) for i in [0, n) on conc goroutines and returns the
// first error.
func parallel(ctx context.Context, n, conc int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func (c *client) signIn(ctx context.Context, n, conc int) ([]*session, error) {
	out := make([]*session, n)
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	err := parallel(ctx, n, conc, func(i int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := c.http.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("sign-in: %s", res.Status)
		}
		for _, ck := range res.Cookies() {
			if ck.Value != "" && strings.Contains(ck.Name, "session") {
				out[i] = &session{cookie: ck.Name + "=" + ck.Value, tokens: map[string]*appTokens{}}
			}
		}
		if out[i] == nil {
			return errors.New("sign-in set no session cookie")
		}
		return nil
	})
	return out, err
}

// codeFlows signs every session in to every app and returns the round
// trips' durations.
func (c *client) codeFlows(ctx context.Context, sessions []*session, clients []appClient, conc int) (phase, error) {
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now()
	err := parallel(ctx, len(sessions)*len(clients), conc, func(i int) error {
		s, app := sessions[i/len(clients)], clients[i%len(clients)]
		t0 := time.Now()
		tok, err := c.codeFlow(ctx, s, app)
		if err != nil {
			return err
		}
		d := time.Since(t0)
		mu.Lock()
		s.tokens[app.id] = tok
		lat = append(lat, d)
		mu.Unlock()
		return nil
	})
	return phase{name: "authorization code round trip", lat: lat, took: time.Since(start)}, err
}

// codeFlow is one app's sign-in of a signed-in session: authorize, follow
// lacop's redirects to the app's redirect URI, exchange the code.
func (c *client) codeFlow(ctx context.Context, s *session, app appClient) (*appTokens, error) {
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	state, nonce := rand.Text(), rand.Text()
	q := url.Values{"client_id": {app.id}, "redirect_uri": {app.redirect}, "response_type": {"code"},
		"scope": {"openid profile email offline_access"}, "state": {state}, "nonce": {nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	next := c.base + "/oauth/authorize?" + q.Encode()
	var code string
	for hop := 0; code == ""; hop++ {
		if hop > 10 {
			return nil, errors.New("authorize: more than 10 redirects")
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		req.Header.Set("Cookie", s.cookie)
		res, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		loc, err := res.Location()
		if err != nil {
			return nil, fmt.Errorf("authorize: %s at %s, no redirect", res.Status, next)
		}
		if strings.HasPrefix(loc.String(), app.redirect) {
			if loc.Query().Get("state") != state {
				return nil, fmt.Errorf("authorize: state not echoed: %s", loc.RawQuery)
			}
			if code = loc.Query().Get("code"); code == "" {
				return nil, fmt.Errorf("authorize: no code: %s", loc.RawQuery)
			}
			break
		}
		next = loc.String()
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	status, err := c.token(ctx, app, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {app.redirect}, "code_verifier": {verifier}}, &tok)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK || tok.AccessToken == "" || tok.RefreshToken == "" || tok.IDToken == "" {
		return nil, fmt.Errorf("code exchange: %d, tokens missing", status)
	}
	sid, err := claim(tok.IDToken, "sid")
	if err != nil {
		return nil, err
	}
	return &appTokens{access: tok.AccessToken, refresh: tok.RefreshToken, sid: sid}, nil
}

// claim reads one string claim of a JWT without checking it (the e2e
// tests check ID tokens with go-oidc; this tool only needs the sid).
func claim(jwt, name string) (string, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return "", err
	}
	v, _ := m[name].(string)
	if v == "" {
		return "", fmt.Errorf("no %s claim", name)
	}
	return v, nil
}

// post sends a client-authenticated form to path and decodes a 200's
// answer into v.
func (c *client) post(ctx context.Context, path string, app appClient, form url.Values, v any) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(app.id), url.QueryEscape(app.secret))
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if v != nil && res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	return res.StatusCode, nil
}

func (c *client) token(ctx context.Context, app appClient, form url.Values, v any) (int, error) {
	return c.post(ctx, "/oauth/token", app, form, v)
}

// pairs lists (session, app) pairs, spread so that concurrent workers
// use different sessions.
func pairs(sessions []*session, clients []appClient) []struct {
	s   *session
	app appClient
} {
	var out []struct {
		s   *session
		app appClient
	}
	for _, s := range sessions {
		for _, app := range clients {
			out = append(out, struct {
				s   *session
				app appClient
			}{s, app})
		}
	}
	return out
}

// refreshLoop refreshes for d on workers goroutines, each on its own
// tokens (a refresh rotates them).
func (c *client) refreshLoop(ctx context.Context, sessions []*session, clients []appClient, workers int, d time.Duration) (phase, error) {
	ps := pairs(sessions, clients)
	return c.loop(ctx, "token endpoint: refresh_token (rotating)", workers, d, func(w, i int) error {
		p := ps[(w+i*workers)%len(ps)]
		t := p.s.tokens[p.app.id]
		t.mu.Lock()
		defer t.mu.Unlock()
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		status, err := c.token(ctx, p.app, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t.refresh}}, &tok)
		if err != nil {
			return err
		}
		if status != http.StatusOK || tok.RefreshToken == "" || tok.RefreshToken == t.refresh {
			c.surprise("refresh: %d (or the refresh token did not rotate)", status)
			return nil
		}
		t.access, t.refresh = tok.AccessToken, tok.RefreshToken
		return nil
	})
}

func (c *client) introspectLoop(ctx context.Context, sessions []*session, clients []appClient, workers int, d time.Duration) (phase, error) {
	ps := pairs(sessions, clients)
	return c.loop(ctx, "introspection (active token)", workers, d, func(w, i int) error {
		p := ps[(w+i*workers)%len(ps)]
		t := p.s.tokens[p.app.id]
		t.mu.Lock()
		access := t.access
		t.mu.Unlock()
		var v struct {
			Active bool `json:"active"`
		}
		status, err := c.post(ctx, "/oauth/introspect", p.app, url.Values{"token": {access}}, &v)
		if err != nil {
			return err
		}
		if status != http.StatusOK || !v.Active {
			c.surprise("introspect: %d active=%v", status, v.Active)
		}
		return nil
	})
}

// loop runs f on workers goroutines for d and times each call.
func (c *client) loop(ctx context.Context, name string, workers int, d time.Duration, f func(w, i int) error) (phase, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var first error
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var mine []time.Duration
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				if err := f(w, i); err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						first = cmp(first, err)
						mu.Unlock()
					}
					break
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return phase{name: name, lat: lat, took: time.Since(start)}, first
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// revokeAll ends every session of the user with one request; it returns
// when the answer arrived and how long the request took.
func (c *client) revokeAll(ctx context.Context, s *session) (time.Time, time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/sessions/revoke-all", strings.NewReader(`{"keepCurrent":false}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", s.cookie)
	t0 := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		return time.Time{}, 0, err
	}
	answered := time.Now()
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return answered, 0, fmt.Errorf("revoke-all: %s", res.Status)
	}
	return answered, answered.Sub(t0), nil
}

// deadRefreshes tries n refresh tokens of ended sessions and counts those
// that still worked.
func (c *client) deadRefreshes(ctx context.Context, sessions []*session, clients []appClient, n int) int {
	alive := 0
	ps := pairs(sessions, clients)
	for i := range min(n, len(ps)) {
		p := ps[i*len(ps)/min(n, len(ps))]
		t := p.s.tokens[p.app.id]
		status, err := c.token(ctx, p.app, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t.refresh}}, nil)
		if err != nil || status == http.StatusOK {
			alive++
		} else if status != http.StatusBadRequest {
			c.surprise("refresh of an ended session: %d", status)
		}
	}
	return alive
}
