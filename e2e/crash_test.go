package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // for the integrity check of the killed server's file
)

// TestCrashKeepsEnds: lacop killed with SIGKILL in the middle of a load of
// sign-ins, sign-outs and token revocations, ten times over, restarts on
// the same data; every sign-out and every revocation that was answered 200
// before the kill still holds after it, and the database passes SQLite's
// integrity check each time.
func TestCrashKeepsEnds(t *testing.T) {
	const rounds, workers = 10, 6
	p := startPortal(t, "regulation:\n  max_failures: 1000000\n  max_failures_per_ip: 1000000\n")
	for i := range workers {
		p.addUser(fmt.Sprintf("crash%d@example.com", i))
	}
	var (
		mu          sync.Mutex
		deadCookies []string // sessions whose sign-out got 200
		deadRefresh []string // refresh tokens whose revocation got 200
	)
	for round := range rounds {
		var stop atomic.Bool
		var wg sync.WaitGroup
		var answered atomic.Int64
		for w := range workers {
			wg.Go(func() {
				email := fmt.Sprintf("crash%d@example.com", w)
				for i := 0; !stop.Load(); i++ {
					secret, refresh, ok := crashSignIn(p, email)
					if !ok {
						continue
					}
					answered.Add(1)
					if i%2 == 0 {
						if res, err := p.try(request{method: "POST", path: "/api/logout", cookie: secret}); err == nil && res.StatusCode == http.StatusOK {
							mu.Lock()
							deadCookies = append(deadCookies, secret)
							deadRefresh = append(deadRefresh, refresh)
							mu.Unlock()
						}
					} else if res, err := p.try(request{method: "POST", path: "/oauth/revoke", body: "token=" + url.QueryEscape(refresh),
						header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}); err == nil && res.StatusCode == http.StatusOK {
						mu.Lock()
						deadRefresh = append(deadRefresh, refresh)
						mu.Unlock()
					}
				}
			})
		}
		// Kill once the load is under way, at a different point each round.
		for deadline := time.Now().Add(20 * time.Second); answered.Load() < workers && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(100+round*53) * time.Millisecond)
		p.cmd.Process.Kill()
		p.cmd.Wait()
		stop.Store(true)
		wg.Wait()
		if answered.Load() == 0 {
			t.Fatalf("round %d: no sign-in answered before the kill", round)
		}

		checkIntegrity(t, filepath.Join(p.DataDir, "lacop.db"))
		p.cmd = exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0"}, p.dataArgs()...)...)
		p.cmd.Env = cleanEnv()
		p = restart(t, p)

		mu.Lock()
		cookies, refreshes := append([]string(nil), deadCookies...), append([]string(nil), deadRefresh...)
		mu.Unlock()
		for _, c := range cookies {
			if got := p.meStatus(c); got != http.StatusUnauthorized {
				t.Fatalf("round %d: a session signed out (200) before the kill answers %d after the restart; want 401", round, got)
			}
		}
		for _, r := range refreshes {
			res := p.do(request{method: "POST", path: "/oauth/token", body: "grant_type=refresh_token&refresh_token=" + url.QueryEscape(r),
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(res.Body), "invalid_grant") {
				t.Fatalf("round %d: a refresh token revoked (200) before the kill refreshes after the restart: %d %s", round, res.StatusCode, res.Body)
			}
		}
	}
	t.Logf("%d rounds: %d sign-outs and %d revoked refresh tokens held across SIGKILL", rounds, len(deadCookies), len(deadRefresh))
}

// crashSignIn signs in and takes tokens, tolerating a server that dies.
func crashSignIn(p *portal, email string) (secret, refresh string, ok bool) {
	res, err := p.try(request{method: "POST", path: "/api/login", body: map[string]any{"email": email, "password": testPassword}})
	if err != nil || res.StatusCode != http.StatusOK {
		return "", "", false
	}
	c := sessionCookie(res.Response)
	if c == nil {
		return "", "", false
	}
	res, err = p.try(request{method: "POST", path: "/api/tokens", cookie: c.Value})
	if err != nil || res.StatusCode != http.StatusOK {
		return "", "", false
	}
	var body struct {
		RefreshToken string `json:"refreshToken"`
	}
	if json.Unmarshal(res.Body, &body) != nil || body.RefreshToken == "" {
		return "", "", false
	}
	leaks.secret("refresh token", body.RefreshToken)
	return c.Value, body.RefreshToken, true
}

// checkIntegrity runs SQLite's integrity check on a file a killed lacop
// left, read-only, before anything opens it for writing.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var result string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&result); err != nil || result != "ok" {
		t.Fatalf("integrity_check of %s after SIGKILL = %q, %v; want ok", path, result, err)
	}
}
