package web

import (
	"net/http"

	"github.com/lacop/lacop/auth"
)

// routes lists every route lacop serves.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Sign-in and sign-out.
	mux.HandleFunc("POST /api/login", s.handleLoginAPI)
	mux.HandleFunc("POST /api/logout", s.handleLogoutAPI)
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login", s.handleLoginSubmit)
	mux.HandleFunc("GET /logout", s.handleLogoutPage)
	mux.HandleFunc("POST /logout", s.handleLogoutSubmit)

	// Forgotten passwords: a link by mail (or from an admin).
	mux.HandleFunc("POST /api/passkeys/login/options", s.handlePasskeyLoginOptions)
	mux.HandleFunc("POST /api/passkeys/login", s.handlePasskeyLogin)
	mux.HandleFunc("POST /api/password-reset", s.handleResetRequestAPI)
	mux.HandleFunc("POST /api/password-reset/complete", s.handleResetCompleteAPI)
	mux.HandleFunc("POST /api/password-reset/passkey/options", s.handleResetPasskeyOptions)
	mux.HandleFunc("GET /reset", s.handleResetPage)
	mux.HandleFunc("POST /reset", s.handleResetSubmit)
	mux.HandleFunc("GET /reset/{token}", s.handleResetLinkPage)
	mux.HandleFunc("POST /reset/{token}", s.handleResetLinkSubmit)
	mux.HandleFunc("GET /not-me/{token}", s.handleNotMePage)
	mux.HandleFunc("POST /not-me/{token}", s.handleNotMeSubmit)
	mux.HandleFunc("POST /security/alerts", s.pageSession(s.handleAlertsSubmit))
	mux.HandleFunc("GET /verify-email/{token}", s.handleVerifyEmailPage)
	mux.HandleFunc("POST /verify-email/{token}", s.handleVerifyEmailSubmit)

	// First admin.
	mux.HandleFunc("GET /setup", s.handleSetupPage)
	mux.HandleFunc("POST /setup", s.handleSetupSubmit)

	// The second factor: completing a half sign-in, enrolling, turning off.
	mux.HandleFunc("POST /api/login/second-factor", s.apiStep(auth.StepSecondFactor, s.handleSecondFactorAPI))
	mux.HandleFunc("POST /api/login/second-factor/passkey/options", s.apiStep(auth.StepSecondFactor, s.handlePasskeySecondFactorOptions))
	mux.HandleFunc("POST /api/login/second-factor/passkey", s.apiStep(auth.StepSecondFactor, s.handlePasskeySecondFactor))
	mux.HandleFunc("GET /api/account/passkeys", s.apiStep(auth.StepEnrol, s.handlePasskeysList))
	mux.HandleFunc("POST /api/account/passkeys/confirm/options", s.apiStep(auth.StepEnrol, s.handlePasskeyConfirmOptions))
	mux.HandleFunc("POST /api/account/passkeys/options", s.apiStep(auth.StepEnrol, s.handlePasskeyRegisterOptions))
	mux.HandleFunc("POST /api/account/passkeys", s.apiStep(auth.StepEnrol, s.handlePasskeyRegister))
	mux.HandleFunc("PATCH /api/account/passkeys/{id}", s.apiSession(s.handlePasskeyRename))
	mux.HandleFunc("GET /api/account/passkeys/{id}/sessions", s.apiSession(s.handlePasskeySessions))
	mux.HandleFunc("DELETE /api/account/passkeys/{id}", s.apiSession(s.handlePasskeyRemove))
	mux.HandleFunc("GET /login/second-factor", s.pageStep(auth.StepSecondFactor, s.handleSecondFactorPage))
	mux.HandleFunc("POST /login/second-factor", s.pageStep(auth.StepSecondFactor, s.handleSecondFactorSubmit))
	mux.HandleFunc("POST /api/account/totp", s.apiStep(auth.StepEnrol, s.handleTOTPStart))
	mux.HandleFunc("POST /api/account/totp/confirm", s.apiStep(auth.StepEnrol, s.handleTOTPConfirm))
	mux.HandleFunc("DELETE /api/account/totp", s.apiSession(s.handleTOTPDisable))
	mux.HandleFunc("POST /security/totp/{action}", s.pageStep(auth.StepEnrol, s.handleSecurityTOTPSubmit))

	// Signed-in API and pages.
	mux.HandleFunc("GET /api/me", s.apiSessionOrBearer(s.handleMe))
	mux.HandleFunc("GET /api/events", s.apiSession(s.handleEvents))
	mux.HandleFunc("GET /api/sessions", s.apiSession(s.handleSessionsList))
	mux.HandleFunc("DELETE /api/sessions/{id}", s.apiSession(s.handleSessionDelete))
	mux.HandleFunc("POST /api/sessions/revoke-all", s.apiSession(s.handleSessionsRevokeAll))
	mux.HandleFunc("POST /api/account/password", s.apiSession(s.handlePasswordChange))
	mux.HandleFunc("POST /api/account/email", s.apiSession(s.handleEmailChange))
	mux.HandleFunc("POST /api/account/report-concern", s.apiSession(s.handleReportConcern))
	mux.HandleFunc("GET /api/account/activity", s.apiSession(s.handleActivity))
	mux.HandleFunc("GET /{$}", s.pageSession(s.handleDashboard))
	mux.HandleFunc("GET /sessions", s.pageSession(s.handleSessionsPage))
	mux.HandleFunc("POST /sessions/{id}/end", s.pageSession(s.handleSessionEndSubmit))
	mux.HandleFunc("POST /sessions/end-all", s.pageSession(s.handleSignOutEverywhereSubmit))
	mux.HandleFunc("GET /security", s.pageStep(auth.StepEnrol, s.handleSecurityPage))
	mux.HandleFunc("POST /security/{form}", s.pageSession(s.handleSecuritySubmit))
	mux.HandleFunc("POST /security/passkeys/{id}/{action}", s.pageSession(s.handleSecurityPasskeySubmit))
	mux.HandleFunc("GET /activity", s.pageSession(s.handleActivityPage))

	// Tokens for apps: issued to a session, rotated, revoked, verified
	// with the published keys.
	mux.HandleFunc("POST /api/tokens", s.apiSession(s.handleTokensIssue))
	mux.HandleFunc("POST /oauth/token", s.withCORS(s.handleOAuthToken))
	for path := range corsPaths {
		mux.HandleFunc("OPTIONS "+path, s.handlePreflight)
	}

	// OpenID Connect provider (oidc/): the library's endpoints, and the
	// pages that answer its requests and end sessions for apps.
	mux.HandleFunc("GET /.well-known/openid-configuration", s.withCORS(s.appsOnly(s.handleDiscovery)))
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.appsOnly(s.handleDiscovery))
	mux.HandleFunc("GET /oauth/authorize", s.appsOnly(s.handleProvider))
	mux.HandleFunc("POST /oauth/authorize", s.appsOnly(s.handleProvider))
	mux.HandleFunc("GET /oauth/authorize/callback", s.appsOnly(s.handleProvider))
	mux.HandleFunc("GET /oauth/userinfo", s.appsOnly(s.handleProvider))
	mux.HandleFunc("POST /oauth/userinfo", s.appsOnly(s.handleProvider))
	mux.HandleFunc("POST /oauth/introspect", s.appsOnly(s.handleProvider))
	mux.HandleFunc("GET /oauth/continue", s.appsOnly(s.handleOAuthContinue))
	mux.HandleFunc("POST /oauth/continue", s.appsOnly(s.handleOAuthContinue))
	mux.HandleFunc("GET /api/account/apps", s.appsOnly(s.apiSession(s.handleAppsList)))
	mux.HandleFunc("DELETE /api/account/apps/{id}", s.appsOnly(s.apiSession(s.handleAppRemove)))
	mux.HandleFunc("POST /security/apps/{id}/remove", s.appsOnly(s.pageSession(s.handleAppRemoveSubmit)))
	mux.HandleFunc("GET /oauth/logout", s.appsOnly(s.handleEndSession))
	mux.HandleFunc("POST /oauth/logout", s.appsOnly(s.handleEndSession))
	mux.HandleFunc("POST /oauth/revoke", s.withCORS(s.handleOAuthRevoke))
	mux.HandleFunc("GET /.well-known/jwks.json", s.withCORS(s.handleJWKS))

	// Forward-auth for reverse proxies: Traefik and Caddy, and nginx.
	mux.HandleFunc("GET /api/authz/forward-auth", s.handleForwardAuth)
	mux.HandleFunc("GET /api/authz/auth-request", s.handleAuthRequest)

	// Administration.
	mux.HandleFunc("GET /api/admin/users", s.apiAdmin(s.handleAdminUserList))
	mux.HandleFunc("GET /api/admin/users/{id}", s.apiAdmin(s.handleAdminUserGet))
	mux.HandleFunc("PATCH /api/admin/users/{id}", s.apiAdmin(s.handleAdminUserUpdate))
	mux.HandleFunc("DELETE /api/admin/users/{id}", s.apiAdmin(s.handleAdminUserDelete))
	mux.HandleFunc("POST /api/admin/users/{id}/enable", s.apiAdmin(s.handleAdminUserEnable))
	mux.HandleFunc("GET /api/admin/bans", s.apiAdmin(s.handleAdminBans))
	mux.HandleFunc("POST /api/admin/bans/lift", s.apiAdmin(s.handleAdminBanLift))
	mux.HandleFunc("POST /api/admin/users", s.apiAdmin(s.handleAdminUserCreate))
	mux.HandleFunc("POST /api/admin/users/{id}/disable", s.apiAdmin(s.handleAdminUserDisable))
	mux.HandleFunc("POST /api/admin/users/{id}/revoke-sessions", s.apiAdmin(s.handleAdminUserRevoke))
	mux.HandleFunc("DELETE /api/admin/users/{id}/totp", s.apiAdmin(s.handleAdminResetTOTP))
	mux.HandleFunc("POST /api/admin/users/{id}/reset-link", s.apiAdmin(s.handleAdminResetLink))
	mux.HandleFunc("GET /api/admin/users/{id}/passkeys", s.apiAdmin(s.handleAdminPasskeys))
	mux.HandleFunc("DELETE /api/admin/users/{id}/passkeys/{passkey}", s.apiAdmin(s.handleAdminPasskeyRemove))
	mux.HandleFunc("GET /api/admin/sessions", s.apiAdmin(s.handleAdminSessions))
	mux.HandleFunc("DELETE /api/admin/sessions/{id}", s.apiAdmin(s.handleAdminSessionDelete))
	mux.HandleFunc("GET /api/admin/audit", s.apiAdmin(s.handleAdminAudit))
	mux.HandleFunc("GET /api/admin/apps", s.apiAdmin(s.handleAdminApps))

	// The admin panel.
	mux.HandleFunc("GET /admin", s.pageAdmin(func(w http.ResponseWriter, r *http.Request) { seeOther(w, "/admin/users") }))
	mux.HandleFunc("GET /admin/users", s.pageAdmin(s.handleAdminUsersPage))
	mux.HandleFunc("POST /admin/users", s.pageAdmin(s.handleAdminUserCreateSubmit))
	mux.HandleFunc("GET /admin/users/{id}", s.pageAdmin(s.handleAdminPersonPage))
	mux.HandleFunc("POST /admin/users/{id}/{action}", s.pageAdmin(s.handleAdminUserActionSubmit))
	mux.HandleFunc("GET /admin/bans", s.pageAdmin(s.handleAdminBansPage))
	mux.HandleFunc("POST /admin/bans/lift", s.pageAdmin(s.handleAdminBanLiftSubmit))
	mux.HandleFunc("GET /admin/sessions", s.pageAdmin(s.handleAdminSessionsPage))
	mux.HandleFunc("POST /admin/sessions/{id}/end", s.pageAdmin(s.handleAdminSessionEndSubmit))
	mux.HandleFunc("GET /admin/logs", s.pageAdmin(s.handleAdminLogsPage))
	mux.HandleFunc("GET /admin/apps", s.pageAdmin(s.handleAdminAppsPage))

	// Help, readable signed in or not.
	mux.HandleFunc("GET /help", s.handleHelp)
	mux.HandleFunc("GET /help/logout", s.handleHelp)

	// Operations.
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /static/", s.staticHandler())
	mux.HandleFunc("GET /manifest.webmanifest", s.rootFile("manifest.webmanifest", "application/manifest+json"))
	mux.HandleFunc("GET /sw.js", s.rootFile("sw.js", "text/javascript; charset=utf-8"))

	// Everything else: JSON for the API, a page elsewhere; 405 when the path
	// exists for another method.
	mux.HandleFunc("/", s.notFound(mux))
	return mux
}
