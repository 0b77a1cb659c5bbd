// Package deploycheck tests a live lacop deployment from the outside, as
// `lacop check` runs it after every change to a proxy: it signs in through
// the real proxy with a test account and checks what a person and an
// attacker would meet — the app refuses anonymous requests, the cookie's
// attributes, the identity headers the app receives (forged ones
// replaced), every form of sign-out refused by the app on the very next
// request, no caching of sign-out pages, no hostile redirect followed, no
// sign-out by GET, and the security headers arriving through the proxy.
// Each check says what to fix when it fails.
package deploycheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Target is the deployment to check.
type Target struct {
	// PublicURL is lacop's public_url, as people reach it.
	PublicURL string
	// AppURL is a page of an app behind the proxy, protected by lacop.
	AppURL string
	// Email and Password are a test account's (one factor: the check
	// cannot pass a second factor).
	Email, Password string
	// Client sends the requests; nil: a client with a 15 s timeout.
	// Redirects are never followed.
	Client *http.Client
}

// Result is one check's outcome.
type Result struct {
	Name string `json:"name"`
	// Status is "pass", "fail" or "skip" (could not be checked here).
	Status string `json:"status"`
	// Detail says what was seen; Fix, for a failure, what to change.
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Statuses.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip"
)

// Failed reports whether any result failed.
func Failed(results []Result) bool {
	for _, r := range results {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

// checker runs the checks against one target.
type checker struct {
	t       Target
	ctx     context.Context
	client  *http.Client
	public  *url.URL
	app     *url.URL
	results []Result
}

func (c *checker) add(name, status, detail, fix string) {
	c.results = append(c.results, Result{Name: name, Status: status, Detail: detail, Fix: fix})
}

// session is one sign-in: its cookie as lacop set it.
type session struct {
	cookie *http.Cookie
	raw    string // the Set-Cookie line
}

// Run checks the target and returns a result per check, in order. Only an
// unusable target (bad URLs) is an error; everything the deployment gets
// wrong is a failed result.
func Run(ctx context.Context, t Target) ([]Result, error) {
	c := &checker{t: t, ctx: ctx, client: t.Client}
	var err error
	if c.public, err = parseBase(t.PublicURL); err != nil {
		return nil, fmt.Errorf("public URL: %w", err)
	}
	if c.app, err = parseBase(t.AppURL); err != nil {
		return nil, fmt.Errorf("app URL: %w", err)
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: 15 * time.Second}
	}
	cl := *c.client
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cl.Jar = nil // cookies are sent by hand, to the hosts they are for
	c.client = &cl

	if !c.portalReachable() {
		return c.results, nil
	}
	c.securityHeaders()
	c.appProtected()
	s, ok := c.signIn("sign-in")
	if !ok {
		return c.results, nil
	}
	c.cookieAttributes(s)
	if c.appAllows(s, "app-signed-in") {
		c.identityHeaders(s)
	}
	c.signOutPages(s)
	c.signOuts()
	c.redirects()
	return c.results, nil
}

func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http or https URL", raw)
	}
	return u, nil
}

// do sends a request; header values are set as given, cookie (if any) is
// sent when its scope covers the URL's host.
func (c *checker) do(method, rawURL string, body io.Reader, header map[string]string, s *session) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(c.ctx, method, rawURL, body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", "lacop-check")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if s != nil && cookieReaches(s.cookie, req.URL.Hostname()) {
		req.AddCookie(&http.Cookie{Name: s.cookie.Name, Value: s.cookie.Value})
	}
	res, err := c.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res, data, nil
}

func (c *checker) portalURL(path string) string { return c.public.JoinPath(path).String() }

// cookieReaches reports whether a browser would send the cookie to host.
func cookieReaches(ck *http.Cookie, host string) bool {
	if ck.Domain == "" {
		return true // host-only: the caller sends it only to the portal's host or the app's, which the cookie check judges
	}
	d := strings.TrimPrefix(strings.ToLower(ck.Domain), ".")
	host = strings.ToLower(host)
	return host == d || strings.HasSuffix(host, "."+d)
}

func (c *checker) portalReachable() bool {
	res, body, err := c.do("GET", c.portalURL("/healthz"), nil, nil, nil)
	switch {
	case err != nil:
		c.add("portal-reachable", Fail, err.Error(), "Check that the public URL is right and that the proxy forwards it to lacop.")
		return false
	case res.StatusCode != http.StatusOK || !strings.Contains(string(body), "ok"):
		c.add("portal-reachable", Fail, fmt.Sprintf("GET /healthz = %d", res.StatusCode), "The proxy must pass the portal's host to lacop.")
		return false
	}
	c.add("portal-reachable", Pass, "GET /healthz = 200", "")
	return true
}

func (c *checker) securityHeaders() {
	res, _, err := c.do("GET", c.portalURL("/login"), nil, map[string]string{"Accept": "text/html"}, nil)
	if err != nil {
		c.add("security-headers", Fail, err.Error(), "")
		return
	}
	h := res.Header
	var missing []string
	if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		missing = append(missing, "Content-Security-Policy with frame-ancestors 'none'")
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		missing = append(missing, "X-Content-Type-Options: nosniff")
	}
	if h.Get("X-Frame-Options") != "DENY" {
		missing = append(missing, "X-Frame-Options: DENY")
	}
	if h.Get("Referrer-Policy") != "no-referrer" {
		missing = append(missing, "Referrer-Policy: no-referrer")
	}
	if c.public.Scheme == "https" && !strings.Contains(h.Get("Strict-Transport-Security"), "max-age=") {
		missing = append(missing, "Strict-Transport-Security")
	}
	if len(missing) > 0 {
		c.add("security-headers", Fail, "missing through the proxy: "+strings.Join(missing, ", "),
			"The proxy must not drop or override lacop's response headers (no proxy_hide_header, header_down or add_header replacing them).")
		return
	}
	detail := "CSP, nosniff, DENY, no-referrer"
	if c.public.Scheme == "https" {
		detail += ", HSTS"
	} else {
		detail += " (HSTS not expected over http)"
	}
	c.add("security-headers", Pass, detail, "")
}

// refused reports whether an app answer turns the request away (a login
// redirect, 401 or 403) and says how.
func refused(res *http.Response) (bool, string) {
	switch res.StatusCode {
	case http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect:
		return true, fmt.Sprintf("%d to %s", res.StatusCode, res.Header.Get("Location"))
	case http.StatusUnauthorized, http.StatusForbidden:
		return true, fmt.Sprint(res.StatusCode)
	}
	return false, fmt.Sprint(res.StatusCode)
}

func (c *checker) appProtected() {
	res, _, err := c.do("GET", c.app.String(), nil, map[string]string{"Accept": "text/html"}, nil)
	if err != nil {
		c.add("app-protected", Fail, err.Error(), "Check the app URL and that the proxy answers it.")
		return
	}
	if ok, how := refused(res); !ok {
		c.add("app-protected", Fail, "an anonymous request reached the app: "+how,
			"The proxy does not ask lacop: add auth_request (nginx) or forward_auth (Caddy, Traefik) to the app's location.")
		return
	} else if loc := res.Header.Get("Location"); res.StatusCode == http.StatusFound && !strings.HasPrefix(loc, c.portalURL("/login")) {
		c.add("app-protected", Fail, "an anonymous browser is sent to "+loc, "Send 401s to lacop's login page (error_page 401 =302 $login for nginx).")
		return
	} else {
		c.add("app-protected", Pass, "anonymous: "+how, "")
	}
}

// signIn signs the test account in through the proxy.
func (c *checker) signIn(name string) (*session, bool) {
	body, _ := json.Marshal(map[string]string{"email": c.t.Email, "password": c.t.Password})
	res, data, err := c.do("POST", c.portalURL("/api/login"), strings.NewReader(string(body)), map[string]string{"Content-Type": "application/json"}, nil)
	if err != nil {
		c.add(name, Fail, err.Error(), "")
		return nil, false
	}
	if res.StatusCode != http.StatusOK {
		c.add(name, Fail, fmt.Sprintf("POST /api/login = %d %.200s", res.StatusCode, data),
			"Use a test account with a password and no second factor (its password on stdin), not throttled.")
		return nil, false
	}
	for _, line := range res.Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err == nil && strings.HasSuffix(ck.Name, "lacop_session") && ck.Value != "" {
			if strings.Contains(string(data), `"secondFactorRequired":true`) {
				c.add(name, Fail, "the account has a second factor", "Use a test account without a second factor.")
				return nil, false
			}
			if name == "sign-in" {
				c.add(name, Pass, "signed in through the proxy", "")
			}
			return &session{cookie: ck, raw: line}, true
		}
	}
	c.add(name, Fail, "no session cookie came back", "The proxy must pass Set-Cookie from lacop.")
	return nil, false
}

func (c *checker) signOut(s *session) {
	c.do("POST", c.portalURL("/api/logout"), nil, nil, s)
}

func (c *checker) cookieAttributes(s *session) {
	ck, raw := s.cookie, strings.ToLower(s.raw)
	var wrong []string
	switch {
	case strings.HasPrefix(ck.Name, "__Host-"):
		if ck.Domain != "" || ck.Path != "/" {
			wrong = append(wrong, "__Host- with a Domain or a Path other than /")
		}
	case strings.HasPrefix(ck.Name, "__Secure-"):
		if ck.Domain == "" {
			wrong = append(wrong, "__Secure- without a Domain")
		}
	default:
		wrong = append(wrong, "no __Host- or __Secure- prefix")
	}
	loopback := isLoopback(c.public.Hostname())
	if !ck.Secure && !(c.public.Scheme == "http" && loopback) {
		wrong = append(wrong, "not Secure")
	}
	if !ck.HttpOnly {
		wrong = append(wrong, "not HttpOnly")
	}
	if !strings.Contains(raw, "samesite=lax") && !strings.Contains(raw, "samesite=strict") {
		wrong = append(wrong, "SameSite neither Lax nor Strict")
	}
	if !cookieReaches(ck, c.app.Hostname()) || (ck.Domain == "" && !strings.EqualFold(c.app.Hostname(), c.public.Hostname())) {
		wrong = append(wrong, "it does not reach the app's host "+c.app.Hostname())
	}
	if len(wrong) > 0 {
		c.add("cookie", Fail, ck.Name+": "+strings.Join(wrong, "; "),
			"Do not rewrite lacop's Set-Cookie in the proxy (proxy_cookie_*); for apps on other hosts set session.cookie_domain.")
		return
	}
	detail := ck.Name + ": HttpOnly, SameSite"
	if ck.Secure {
		detail += ", Secure"
	}
	if ck.Domain != "" {
		detail += ", Domain=" + ck.Domain
	}
	c.add("cookie", Pass, detail, "")
}

// appAllows checks that the signed-in session reaches the app.
func (c *checker) appAllows(s *session, name string) bool {
	res, _, err := c.do("GET", c.app.String(), nil, map[string]string{"Accept": "text/html"}, s)
	if err != nil {
		c.add(name, Fail, err.Error(), "")
		return false
	}
	if res.StatusCode != http.StatusOK {
		c.add(name, Fail, fmt.Sprintf("signed in, the app answered %d %s", res.StatusCode, res.Header.Get("Location")),
			"The test account must be allowed by access_control for the app's host; the proxy must pass the cookie to lacop.")
		return false
	}
	c.add(name, Pass, "signed in, the app answered 200", "")
	return true
}

// forged are the identity headers the check sends itself; a proxy that
// passes any of them on lets anyone be anyone.
var forged = map[string]string{"Remote-User": "forged-by-lacop-check", "Remote-Email": "forged@lacop-check.invalid",
	"Remote-Groups": "forged-admins", "Remote-Name": "Forged By Check", "Remote_User": "forged-underscore"}

func (c *checker) identityHeaders(s *session) {
	_, me, err := c.do("GET", c.portalURL("/api/me"), nil, nil, s)
	var who struct {
		User struct{ ID, Email string } `json:"user"`
	}
	if err != nil || json.Unmarshal(me, &who) != nil || who.User.ID == "" {
		c.add("remote-headers", Fail, "cannot read /api/me", "")
		return
	}
	h := map[string]string{"Accept": "application/json"}
	for k, v := range forged {
		h[k] = v
	}
	res, body, err := c.do("GET", c.app.String(), nil, h, s)
	if err != nil || res.StatusCode != http.StatusOK {
		c.add("remote-headers", Fail, fmt.Sprintf("with forged headers the app answered %v %v", res, err), "")
		return
	}
	if strings.Contains(string(body), "forged") {
		c.add("remote-headers", Fail, "the app received a Remote-* header the client sent",
			"Make the proxy set every Remote-* header from lacop's answer and drop the client's (nginx: proxy_set_header for each; Caddy: request_header -Remote-* before forward_auth).")
		return
	}
	var seen map[string][]string
	if json.Unmarshal(body, &seen) != nil || seen == nil {
		c.add("remote-headers", Skip, "the app's answer does not show the headers it received, so what it sees was not checked; no forged value came back",
			"Point --app at a route that echoes its request headers as JSON to check them.")
		return
	}
	get := func(name string) string {
		for k, v := range seen {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	if get("Remote-User") != who.User.ID || get("Remote-Email") != who.User.Email {
		c.add("remote-headers", Fail, fmt.Sprintf("the app saw Remote-User %q, Remote-Email %q; want %q, %q", get("Remote-User"), get("Remote-Email"), who.User.ID, who.User.Email),
			"Copy lacop's Remote-User, Remote-Email, Remote-Name and Remote-Groups to the app (auth_request_set + proxy_set_header, or copy_headers).")
		return
	}
	c.add("remote-headers", Pass, "the app saw lacop's Remote-User and Remote-Email; the forged ones were replaced", "")
}

func (c *checker) signOutPages(s *session) {
	res, _, err := c.do("GET", c.portalURL("/logout"), nil, map[string]string{"Accept": "text/html"}, s)
	if err != nil {
		c.add("sign-out-not-cached", Fail, err.Error(), "")
		return
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		c.add("sign-out-not-cached", Fail, fmt.Sprintf("GET /logout has Cache-Control %q", cc),
			"Do not cache lacop's answers in the proxy (no proxy_cache on lacop's location; keep its Cache-Control).")
	} else if age := res.Header.Get("Age"); age != "" || res.Header.Get("X-Cache-Status") == "HIT" {
		c.add("sign-out-not-cached", Fail, "GET /logout came from a cache (Age "+age+")", "Do not cache lacop's answers in the proxy.")
	} else {
		c.add("sign-out-not-cached", Pass, "GET /logout: Cache-Control no-store", "")
	}
	// GET /logout is a confirmation page: it must not have signed out.
	res, _, err = c.do("GET", c.portalURL("/api/me"), nil, nil, s)
	if err != nil || res.StatusCode != http.StatusOK {
		c.add("get-logout-keeps-session", Fail, "after GET /logout the session is gone",
			"Something in front of lacop turns GET /logout into a sign-out; only a POST may sign out.")
	} else {
		c.add("get-logout-keeps-session", Pass, "GET /logout only asks; the session lives", "")
	}
	c.signOut(s)
}

// signOuts signs in and out with each form, and checks the app refuses
// the old cookie on the very next request.
func (c *checker) signOuts() {
	forms := []struct {
		name string
		end  func(s *session) (*http.Response, error)
	}{
		{"sign-out/api", func(s *session) (*http.Response, error) {
			res, _, err := c.do("POST", c.portalURL("/api/logout"), nil, nil, s)
			return res, err
		}},
		{"sign-out/form", func(s *session) (*http.Response, error) {
			res, _, err := c.do("POST", c.portalURL("/logout"), strings.NewReader("rd=%2F"),
				map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, s)
			return res, err
		}},
		{"sign-out/everywhere", func(s *session) (*http.Response, error) {
			res, _, err := c.do("POST", c.portalURL("/api/sessions/revoke-all"), strings.NewReader(`{"keepCurrent":false}`),
				map[string]string{"Content-Type": "application/json"}, s)
			return res, err
		}},
	}
	for _, f := range forms {
		s, ok := c.signIn(f.name)
		if !ok {
			continue
		}
		if res, _, err := c.do("GET", c.app.String(), nil, map[string]string{"Accept": "text/html"}, s); err != nil || res.StatusCode != http.StatusOK {
			c.add(f.name, Fail, "the app refused the session before the sign-out", "")
			c.signOut(s)
			continue
		}
		res, err := f.end(s)
		if err != nil || res.StatusCode >= 400 {
			c.add(f.name, Fail, fmt.Sprintf("the sign-out answered %v %v", statusOf(res), err), "")
			continue
		}
		if !strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
			c.add(f.name, Fail, "the sign-out answer lost Cache-Control: no-store", "Do not cache or rewrite lacop's answers in the proxy.")
			continue
		}
		after, _, err := c.do("GET", c.app.String(), nil, map[string]string{"Accept": "text/html"}, s)
		if err != nil {
			c.add(f.name, Fail, err.Error(), "")
			continue
		}
		if ok, how := refused(after); !ok {
			c.add(f.name, Fail, "after the sign-out the app still answered "+how+" to the old cookie",
				"The proxy must ask lacop on every request (no auth caching: no proxy_cache on the auth_request location).")
			continue
		}
		c.add(f.name, Pass, "the next request with the old cookie was refused", "")
	}
}

func statusOf(res *http.Response) any {
	if res == nil {
		return "no answer"
	}
	return res.StatusCode
}

// hostile are rd values that must never send a person off the portal.
var hostile = []string{"https://evil.example.net/", "//evil.example.net/", "/\\evil.example.net/", "https:evil.example.net",
	"javascript:alert(1)", "https://evil.example.net%2f@" + "x/"}

func (c *checker) redirects() {
	var followed []string
	for _, rd := range hostile {
		s, ok := c.signIn("redirects")
		if !ok {
			return
		}
		form := url.Values{"email": {c.t.Email}, "password": {c.t.Password}, "rd": {rd}}
		res, _, err := c.do("POST", c.portalURL("/login"), strings.NewReader(form.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil)
		if err == nil {
			if loc := res.Header.Get("Location"); offSite(loc) {
				followed = append(followed, fmt.Sprintf("sign-in rd=%s → %s", rd, loc))
			}
			for _, line := range res.Header.Values("Set-Cookie") {
				if ck, err := http.ParseSetCookie(line); err == nil && strings.HasSuffix(ck.Name, "lacop_session") && ck.Value != "" {
					c.signOut(&session{cookie: ck})
				}
			}
		}
		res, _, err = c.do("POST", c.portalURL("/logout"), strings.NewReader(url.Values{"rd": {rd}}.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, s)
		if err == nil {
			if loc := res.Header.Get("Location"); offSite(loc) {
				followed = append(followed, fmt.Sprintf("sign-out rd=%s → %s", rd, loc))
			}
		}
	}
	if len(followed) > 0 {
		c.add("redirects", Fail, strings.Join(followed, "; "), "Keep redirect.allowed_domains to your own domains; upgrade lacop.")
		return
	}
	c.add("redirects", Pass, fmt.Sprintf("%d hostile rd targets not followed after sign-in or sign-out", len(hostile)), "")
}

// offSite reports whether a Location sends the person to the hostile
// host (or runs a script). Every hostile rd names evil.example.net, which
// lacop must never put back in a Location in any spelling: a browser reads
// "/\\evil…" as "//evil…".
func offSite(loc string) bool {
	l := strings.ToLower(loc)
	return strings.Contains(l, "evil.example.net") || strings.HasPrefix(strings.TrimSpace(l), "javascript:")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
