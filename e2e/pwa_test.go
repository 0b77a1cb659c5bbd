package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"strings"
	"testing"
)

// TestInstallable: the web app manifest names the app, starts at "/" in
// standalone mode, and lists PNG icons of 192 and 512 pixels that are
// served and decode to those sizes; every page links the manifest; the
// service worker is served from the root (its scope is "/"), is never
// cached stale, and only ever touches /static/ requests.
func TestInstallable(t *testing.T) {
	t.Parallel()
	p := startPortal(t, "")
	res := p.do(request{method: "GET", path: "/manifest.webmanifest"})
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/manifest+json") {
		t.Fatalf("manifest = %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var m struct {
		Name      string `json:"name"`
		ShortName string `json:"short_name"`
		StartURL  string `json:"start_url"`
		Display   string `json:"display"`
		Scope     string `json:"scope"`
		Icons     []struct{ Src, Sizes, Type string }
	}
	if err := json.Unmarshal(res.Body, &m); err != nil {
		t.Fatalf("manifest is not JSON: %v", err)
	}
	if m.Name == "" || m.ShortName == "" || m.StartURL != "/" || m.Display != "standalone" || m.Scope != "/" {
		t.Errorf("manifest %+v; want a name, short_name, start_url /, display standalone, scope /", m)
	}
	sizes := map[string]bool{}
	for _, icon := range m.Icons {
		r := p.do(request{method: "GET", path: icon.Src})
		if r.StatusCode != http.StatusOK {
			t.Errorf("icon %s = %d", icon.Src, r.StatusCode)
			continue
		}
		img, err := png.Decode(bytes.NewReader(r.Body))
		if err != nil {
			t.Errorf("icon %s is not a PNG: %v", icon.Src, err)
			continue
		}
		b := img.Bounds()
		if got := fmt.Sprintf("%dx%d", b.Dx(), b.Dy()); got != icon.Sizes || icon.Type != "image/png" {
			t.Errorf("icon %s is a %s PNG; the manifest says %s %s", icon.Src, got, icon.Sizes, icon.Type)
		}
		sizes[icon.Sizes] = true
	}
	if !sizes["192x192"] || !sizes["512x512"] {
		t.Errorf("icon sizes %v; want 192x192 and 512x512", sizes)
	}

	login := p.do(request{method: "GET", path: "/login"})
	if !bytes.Contains(login.Body, []byte(`<link rel="manifest" href="/manifest.webmanifest">`)) {
		t.Error("the login page does not link the manifest")
	}

	sw := p.do(request{method: "GET", path: "/sw.js"})
	if sw.StatusCode != http.StatusOK || !strings.Contains(sw.Header.Get("Content-Type"), "javascript") || sw.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("sw.js = %d %q %q; want 200 JavaScript, no-cache", sw.StatusCode, sw.Header.Get("Content-Type"), sw.Header.Get("Cache-Control"))
	}
	for _, want := range []string{`url.pathname.indexOf("/static/") !== 0`, `req.method !== "GET"`, `"signed-out"`} {
		if !bytes.Contains(sw.Body, []byte(want)) {
			t.Errorf("sw.js lacks %s: it must pass pages and API answers to the network and drop its caches on sign-out", want)
		}
	}
}
