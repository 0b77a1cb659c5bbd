package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/agent"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/passkey"
)

// ceremonyCookie holds the token of the passkey ceremony this browser
// began: the options go to the page, the token stays out of its reach
// (HttpOnly), so a ceremony can only be finished by the browser that
// began it, once, within passkey.Timeout.
const ceremonyCookie = "__Host-lacop_passkey"

func (s *Server) setCeremony(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: ceremonyCookie, Value: token, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(passkey.Timeout / time.Second)})
}

// takeCeremonyCookie reads the ceremony token and tells the browser to drop
// it: a ceremony is answered once.
func takeCeremonyCookie(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(ceremonyCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: ceremonyCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1, Expires: time.Unix(0, 0)})
	return c.Value
}

// answerCeremony sends the options of a ceremony begun.
func (s *Server) answerCeremony(w http.ResponseWriter, pc *auth.PasskeyCeremony, err error, r *http.Request) {
	if err != nil {
		s.error(w, r, err)
		return
	}
	noStore(w)
	s.setCeremony(w, pc.Token)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pc.Options)
}

// credentialJSON is the browser's answer, passed on as it came.
type credentialJSON = json.RawMessage

// handlePasskeyLoginOptions answers POST /api/passkeys/login/options
// {"conditional"}: options for a sign-in without a password.
func (s *Server) handlePasskeyLoginOptions(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Conditional bool `json:"conditional"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		s.error(w, r, err)
		return
	}
	pc, err := s.auth.BeginPasskeyLogin(r.Context(), req.Conditional)
	s.answerCeremony(w, pc, err, r)
}

// handlePasskeyLogin answers POST /api/passkeys/login {"credential",
// "rememberMe", "targetURL"}: signed in at the second-factor level. Like
// the form, a sign-in over a live session of this browser replaces it.
func (s *Server) handlePasskeyLogin(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var req struct {
		Credential credentialJSON `json:"credential"`
		RememberMe bool           `json:"rememberMe"`
		TargetURL  string         `json:"targetURL"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	in, err := s.auth.FinishPasskeyLogin(r.Context(), takeCeremonyCookie(w, r), req.Credential, req.RememberMe, device(r), s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if !s.startSignedIn(w, r, in) {
		return
	}
	s.json(w, http.StatusOK, map[string]any{
		"user":      newUserJSON(in.User),
		"authLevel": in.Session.AuthLevel,
		"redirect":  s.signedInTarget(&auth.Identity{User: in.User, Session: in.Session}, req.TargetURL),
	})
}

// handlePasskeySecondFactorOptions answers POST
// /api/login/second-factor/passkey/options for a half-signed-in session.
func (s *Server) handlePasskeySecondFactorOptions(w http.ResponseWriter, r *http.Request) {
	if err := decodeJSON(r, &struct{}{}, true); err != nil {
		s.error(w, r, err)
		return
	}
	pc, err := s.auth.BeginPasskeySecondFactor(r.Context(), identity(r))
	s.answerCeremony(w, pc, err, r)
}

// handlePasskeySecondFactor answers POST /api/login/second-factor/passkey
// {"credential", "targetURL"}: the session rises under a fresh secret.
func (s *Server) handlePasskeySecondFactor(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Credential credentialJSON `json:"credential"`
		TargetURL  string         `json:"targetURL"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	id := identity(r)
	secret, err := s.auth.FinishPasskeySecondFactor(r.Context(), id, takeCeremonyCookie(w, r), req.Credential, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.setSessionCookie(w, secret, id.Session)
	s.json(w, http.StatusOK, map[string]any{"user": newUserJSON(id.User), "authLevel": id.Session.AuthLevel,
		"redirect": s.redirects.Target(req.TargetURL, "/")})
}

// passkeyJSON is the public shape of a passkey: never its key or
// credential id.
type passkeyJSON struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	CreatedAt    time.Time  `json:"createdAt"`
	LastUsedAt   *time.Time `json:"lastUsedAt"`
	UserVerified bool       `json:"userVerified"`
}

func newPasskeyJSON(p *lacop.Passkey) passkeyJSON {
	j := passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, UserVerified: p.UserVerified}
	if !p.LastUsedAt.IsZero() {
		j.LastUsedAt = &p.LastUsedAt
	}
	return j
}

func passkeysJSON(list []*lacop.Passkey) []passkeyJSON {
	out := make([]passkeyJSON, len(list))
	for i, p := range list {
		out[i] = newPasskeyJSON(p)
	}
	return out
}

// handlePasskeysList answers GET /api/account/passkeys.
func (s *Server) handlePasskeysList(w http.ResponseWriter, r *http.Request) {
	list, err := s.auth.ListPasskeys(r.Context(), identity(r).User.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"passkeys": passkeysJSON(list), "available": s.auth.PasskeysOn()})
}

// handlePasskeyConfirmOptions answers POST
// /api/account/passkeys/confirm/options: one of the person's passkeys,
// asked to stand in for the password before adding another.
func (s *Server) handlePasskeyConfirmOptions(w http.ResponseWriter, r *http.Request) {
	if err := decodeJSON(r, &struct{}{}, true); err != nil {
		s.error(w, r, err)
		return
	}
	pc, err := s.auth.BeginPasskeyConfirm(r.Context(), identity(r))
	s.answerCeremony(w, pc, err, r)
}

// handlePasskeyRegisterOptions answers POST /api/account/passkeys/options
// {"password"} or {"credential"} (the answer to the confirm ceremony).
func (s *Server) handlePasskeyRegisterOptions(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password   string         `json:"password"`
		Credential credentialJSON `json:"credential"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	token := ""
	if len(req.Credential) > 0 {
		token = takeCeremonyCookie(w, r)
	}
	pc, err := s.auth.BeginPasskeyRegistration(r.Context(), identity(r), req.Password, token, req.Credential, s.client(r))
	s.answerCeremony(w, pc, err, r)
}

// handlePasskeyRegister answers POST /api/account/passkeys {"name",
// "credential"}.
func (s *Server) handlePasskeyRegister(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name       string         `json:"name"`
		Credential credentialJSON `json:"credential"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	id := identity(r)
	added, err := s.auth.FinishPasskeyRegistration(r.Context(), id, takeCeremonyCookie(w, r), req.Name, req.Credential, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if added.NewSecret != "" {
		s.setSessionCookie(w, added.NewSecret, id.Session)
	}
	s.json(w, http.StatusCreated, map[string]any{"passkey": newPasskeyJSON(added.Passkey)})
}

// handlePasskeyRename answers PATCH /api/account/passkeys/{id} {"name"}.
func (s *Server) handlePasskeyRename(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.auth.RenamePasskey(r.Context(), identity(r), r.PathValue("id"), req.Name); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// endingJSON is a session that removing a passkey would end.
type endingJSON struct {
	ID           string    `json:"id"`
	Current      bool      `json:"current"`
	Device       string    `json:"device"`
	IP           string    `json:"ip"`
	LastActiveAt time.Time `json:"lastActiveAt"`
}

// handlePasskeySessions answers GET /api/account/passkeys/{id}/sessions:
// what removing it would end, to show before the person confirms.
func (s *Server) handlePasskeySessions(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	list, err := s.auth.PasskeySessions(r.Context(), id.User.ID, r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"sessions": endingSessions(list, id.Session.ID)})
}

func endingSessions(list []*lacop.Session, current string) []endingJSON {
	out := make([]endingJSON, len(list))
	for i, sess := range list {
		out[i] = endingJSON{ID: sess.ID, Current: sess.ID == current, Device: agent.Describe(sess.UserAgent).String(), IP: sess.IP,
			LastActiveAt: sess.LastActiveAt}
	}
	return out
}

// handlePasskeyRemove answers DELETE /api/account/passkeys/{id}
// {"password"}: the passkey goes, and every session it signed in.
func (s *Server) handlePasskeyRemove(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	id := identity(r)
	out, err := s.auth.RemovePasskey(r.Context(), id, r.PathValue("id"), req.Password, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.applyOutcome(w, out, id.Session)
	s.json(w, http.StatusOK, map[string]any{"ended": out.Revoked(), "currentEnded": out.CurrentEnded})
}

// handleAdminPasskeys answers GET /api/admin/users/{id}/passkeys.
func (s *Server) handleAdminPasskeys(w http.ResponseWriter, r *http.Request) {
	list, err := s.auth.ListPasskeys(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"passkeys": passkeysJSON(list)})
}

// handleAdminPasskeyRemove answers DELETE
// /api/admin/users/{id}/passkeys/{passkey}.
func (s *Server) handleAdminPasskeyRemove(w http.ResponseWriter, r *http.Request) {
	admin := identity(r)
	out, err := s.auth.AdminRemovePasskey(r.Context(), r.PathValue("id"), r.PathValue("passkey"), admin.User.ID, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.applyOutcome(w, out, admin.Session)
	s.json(w, http.StatusOK, map[string]any{"ended": out.Revoked(), "currentEnded": out.CurrentEnded})
}
