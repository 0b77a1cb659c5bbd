package e2e

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkNginx is an nginx in front of both the portal ({{PORTAL_LISTEN}})
// and an app ({{APP_LISTEN}}); {{PORTAL_EXTRA}} and {{APP_AUTH}} are where
// the broken variants differ from docs/deploy.md's setup.
const checkNginx = `worker_processes 1;
events { worker_connections 64; }
http {
    access_log {{DIR}}/access.log;
    client_body_temp_path {{DIR}}/client_body;
    proxy_temp_path {{DIR}}/proxy;
    fastcgi_temp_path {{DIR}}/fastcgi;
    uwsgi_temp_path {{DIR}}/uwsgi;
    scgi_temp_path {{DIR}}/scgi;
    proxy_cache_path {{DIR}}/cache keys_zone=lacop:1m;

    server {
        listen {{PORTAL_LISTEN}};
        location / {
            proxy_pass {{LACOP}};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
        {{PORTAL_EXTRA}}
    }

    server {
        listen {{APP_LISTEN}};
        location / {
            {{APP_AUTH}}
            proxy_set_header Host $host;
            error_page 401 =302 $login;
            proxy_pass {{APP}};
        }
        location = /internal-authz {
            internal;
            proxy_pass {{LACOP}}/api/authz/auth-request;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-For $remote_addr;
        }
    }
}
`

// goodAuth is the app location's part of docs/deploy.md's nginx setup.
const goodAuth = `auth_request /internal-authz;
            auth_request_set $user   $upstream_http_remote_user;
            auth_request_set $email  $upstream_http_remote_email;
            auth_request_set $name   $upstream_http_remote_name;
            auth_request_set $groups $upstream_http_remote_groups;
            auth_request_set $login  $upstream_http_login_url;
            proxy_set_header Remote-User   $user;
            proxy_set_header Remote-Email  $email;
            proxy_set_header Remote-Name   $name;
            proxy_set_header Remote-Groups $groups;`

// checkSetup is one proxy in front of lacop and the echo app, and what
// lacop check must find wrong with it ("" for nothing).
type checkSetup struct {
	name, portalExtra, appAuth string
	caddy                      bool
	wantFail                   []string
}

// runCheck starts lacop behind the setup's proxy and runs lacop check
// against it, returning its JSON results and exit error.
func runCheck(t *testing.T, sc checkSetup) (map[string]string, string, error) {
	t.Helper()
	portalAddr, appAddr := freeAddr(t), freeAddr(t)
	p := startPortal(t, "public_url: http://"+portalAddr+"\nserver:\n  trusted_proxies: [127.0.0.1/32]\n")
	p.addUser("check@example.com")
	app := startEchoApp(t)
	dir := t.TempDir()
	if sc.caddy {
		_, pport, _ := net.SplitHostPort(portalAddr)
		_, aport, _ := net.SplitHostPort(appAddr)
		conf := strings.NewReplacer("{{PORT}}", aport, "{{LACOP}}", hostPort(t, p.URL), "{{APP}}", hostPort(t, app.URL)).Replace(caddyConfig) +
			"\nhttp://:" + pport + " {\n\tbind 127.0.0.1\n\treverse_proxy " + hostPort(t, p.URL) + "\n}\n"
		file := filepath.Join(dir, "Caddyfile")
		if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(proxyBinary(t, "caddy"), "run", "--config", file, "--adapter", "caddyfile")
		cmd.Env = append(cleanEnv(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
		runProxy(t, "caddy", dir, appAddr, cmd)
	} else {
		conf := strings.NewReplacer("{{DIR}}", dir, "{{PORTAL_LISTEN}}", portalAddr, "{{APP_LISTEN}}", appAddr, "{{LACOP}}", p.URL,
			"{{APP}}", app.URL, "{{PORTAL_EXTRA}}", strings.ReplaceAll(sc.portalExtra, "{{LACOP}}", p.URL), "{{APP_AUTH}}", sc.appAuth).Replace(checkNginx)
		if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(proxyBinary(t, "nginx"), "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"),
			"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+"; error_log "+filepath.Join(dir, "error.log")+";")
		runProxy(t, "nginx", dir, appAddr, cmd)
	}
	out, err := p.cli(testPassword+"\n", "check", "http://"+portalAddr, "--app", "http://"+appAddr+"/", "--user", "check@example.com", "--password-stdin", "--json")
	var v struct {
		Results []struct{ Name, Status, Detail, Fix string }
	}
	if jerr := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &v); jerr != nil {
		t.Fatalf("lacop check --json: %v\n%s", jerr, out)
	}
	status := map[string]string{}
	for _, r := range v.Results {
		status[r.Name] = r.Status
	}
	return status, out, err
}

// TestCheckDeployment: lacop check passes lacop behind docs/deploy.md's
// nginx and Caddy setups, and catches by name an nginx that does not ask
// lacop, one that passes a forged Remote-User to the app, and one that
// caches the sign-out page.
func TestCheckDeployment(t *testing.T) {
	t.Parallel()
	all := []string{"portal-reachable", "security-headers", "app-protected", "sign-in", "cookie", "app-signed-in", "remote-headers",
		"sign-out-not-cached", "get-logout-keeps-session", "sign-out/api", "sign-out/form", "sign-out/everywhere", "redirects"}
	for _, sc := range []checkSetup{
		{name: "nginx", appAuth: goodAuth},
		{name: "caddy", caddy: true},
		{name: "nginx without auth_request", appAuth: "set $login \"\";", wantFail: []string{"app-protected"}},
		{name: "nginx passing the client's Remote-User", appAuth: strings.ReplaceAll(strings.ReplaceAll(goodAuth,
			"proxy_set_header Remote-User   $user;", ""), "proxy_set_header Remote-Email  $email;", ""), wantFail: []string{"remote-headers"}},
		{name: "nginx caching the sign-out page", appAuth: goodAuth, portalExtra: `location = /logout {
            proxy_pass {{LACOP}};
            proxy_set_header Host $http_host;
            proxy_cache lacop;
            proxy_cache_valid 200 1m;
            proxy_ignore_headers Cache-Control Set-Cookie;
            proxy_hide_header Cache-Control;
            add_header Cache-Control "public, max-age=60";
        }`, wantFail: []string{"sign-out-not-cached"}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			status, out, err := runCheck(t, sc)
			if len(sc.wantFail) == 0 {
				for _, name := range all { // a good setup passes everything
					if status[name] != "pass" {
						t.Errorf("%s: %s = %q; want pass", sc.name, name, status[name])
					}
				}
			}
			for _, name := range sc.wantFail { // a broken one is caught by name
				if status[name] != "fail" {
					t.Errorf("%s: %s = %q; want fail", sc.name, name, status[name])
				}
			}
			if (len(sc.wantFail) > 0) != (err != nil) {
				t.Errorf("%s: lacop check exit error %v; want failure %v", sc.name, err, len(sc.wantFail) > 0)
			}
			if t.Failed() {
				t.Logf("lacop check:\n%s", out)
			}
		})
	}
}
