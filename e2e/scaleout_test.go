package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lacop/lacop/postgres/pgtest"
)

// scaleOutConfigs are the shared backends several instances run on: one
// PostgreSQL database of the test's own, and the same with the test's own
// Redis key prefix in front.
func scaleOutConfigs(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"postgres": func(t *testing.T) string {
			return fmt.Sprintf("storage:\n  driver: postgres\n  postgres_url: %q\n", pgtest.NewDatabase(t))
		},
		"postgres+redis": func(t *testing.T) string {
			// A Redis of the test's own: lacop refuses one that keeps no
			// append-only file, as the shared test Redis does.
			return fmt.Sprintf("storage:\n  driver: postgres\n  postgres_url: %q\n  redis_url: %q\n",
				pgtest.NewDatabase(t), startRedis(t).url)
		},
	}
}

// startInstances starts n lacop instances of one deployment on the shared
// storage of configYAML: each has its own data directory, holding the one
// secret.key they share (it seals signing keys and TOTP secrets).
func startInstances(t *testing.T, n int, configYAML string) []*portal {
	t.Helper()
	// One deployment has one public URL, its load balancer's, whatever
	// ports the instances listen on: tokens name it as issuer and audience.
	configYAML = "public_url: http://127.0.0.1:9440\n" + configYAML
	first := startPortal(t, configYAML)
	list := []*portal{first}
	key, err := os.ReadFile(filepath.Join(first.DataDir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	for range n - 1 {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "secret.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		list = append(list, startPortalIn(t, dir, configYAML))
	}
	return list
}

const appURL = "https://app.example.com/inbox"

// fwdStatus is the forward-auth answer for a GET of the app with secret.
func (p *portal) fwdStatus(secret string) int {
	p.t.Helper()
	return p.forwardAuth("GET", appURL, cookieHeader(cookieName, secret)).StatusCode
}

// TestScaleOutTwoInstances: two lacop processes on one PostgreSQL (and
// Redis) are one portal: a session made on either works on both, and a
// session ended on either is refused by the other on the very next request,
// and the other's open event streams hear of it within a second.
func TestScaleOutTwoInstances(t *testing.T) {
	t.Parallel()
	for name, config := range scaleOutConfigs(t) {
		t.Run(name, func(t *testing.T) {
			nodes := startInstances(t, 2, config(t))
			a, b := nodes[0].forTest(t), nodes[1].forTest(t)
			a.addUser("ann@example.com")

			// Sign in through A; B knows the session at once.
			secret := a.login("ann@example.com")
			if got := b.fwdStatus(secret); got != http.StatusOK {
				t.Fatalf("forward-auth on B with A's session = %d; want 200", got)
			}
			tokens := a.issueTokens(secret)
			if got := b.do(request{method: "GET", path: "/api/me", header: bearerHeader(tokens.access)}).StatusCode; got != http.StatusOK {
				t.Fatalf("A's access token on B = %d; want 200", got)
			}

			// A stream held on A hears of a sign-out made through B.
			stream, res := a.openEvents(t, secret)
			if stream == nil {
				t.Fatalf("events on A = %d %s", res.StatusCode, res.Body)
			}
			stream.waitConnected()
			signedOut := time.Now()
			if res := b.do(request{method: "POST", path: "/api/logout", cookie: secret}); res.StatusCode != http.StatusOK {
				t.Fatalf("logout through B = %d %s", res.StatusCode, res.Body)
			}
			if got := a.meStatus(secret); got != http.StatusUnauthorized {
				t.Errorf("A: /api/me right after sign-out through B = %d; want 401", got)
			}
			if got := a.fwdStatus(secret); got != http.StatusUnauthorized {
				t.Errorf("A: forward-auth right after sign-out through B = %d; want 401", got)
			}
			if got := a.do(request{method: "GET", path: "/api/me", header: bearerHeader(tokens.access)}).StatusCode; got != http.StatusUnauthorized {
				t.Errorf("A: access token right after sign-out through B = %d; want 401", got)
			}
			wantEnded(t, stream, "A's stream", signedOut, "logout")

			// Sign out everywhere on A is seen by B.
			b1, b2 := b.login("ann@example.com"), b.login("ann@example.com")
			onA := a.login("ann@example.com")
			streamB, res := b.openEvents(t, b1)
			if streamB == nil {
				t.Fatalf("events on B = %d %s", res.StatusCode, res.Body)
			}
			streamB.waitConnected()
			everywhere := time.Now()
			res = a.do(request{method: "POST", path: "/api/sessions/revoke-all", cookie: onA, body: map[string]any{"keepCurrent": false}})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("revoke-all on A = %d %s", res.StatusCode, res.Body)
			}
			for i, s := range []string{b1, b2, onA} {
				if got := b.fwdStatus(s); got != http.StatusUnauthorized {
					t.Errorf("B: forward-auth with session %d right after sign out everywhere on A = %d; want 401", i, got)
				}
				if got := b.meStatus(s); got != http.StatusUnauthorized {
					t.Errorf("B: /api/me with session %d right after sign out everywhere on A = %d; want 401", i, got)
				}
			}
			wantEnded(t, streamB, "B's stream", everywhere, "")

			// Both instances record into the one audit log.
			events, _ := b.activity(b.login("ann@example.com"), "")
			counts := map[string]int{}
			for _, e := range events {
				counts[e.Type]++
			}
			if counts["login.succeeded"] < 5 || counts["session.revoked_all"] < 1 || counts["logout"] < 1 {
				t.Errorf("audit seen from B = %v; want the 5 sign-ins and the sign-out made through either instance", counts)
			}
		})
	}
}

// wantEnded reads stream until its session-ended event, which must come
// within a second of since and, when reason is set, carry it.
func wantEnded(t *testing.T, stream *sseStream, what string, since time.Time, reason string) {
	t.Helper()
	ev, ok := stream.nextEvent(3 * time.Second)
	if !ok || ev.name != "session-ended" {
		t.Fatalf("%s: got %+v, %v; want session-ended", what, ev, ok)
	}
	var data struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(ev.data), &data); err != nil || (reason != "" && data.Reason != reason) {
		t.Errorf("%s: session-ended data %s; want reason %q", what, ev.data, reason)
	}
	if d := ev.at.Sub(since); d > time.Second {
		t.Errorf("%s: session-ended %v after the end; want within 1s", what, d)
	}
}
