package web

import (
	"encoding/base64"
	"html/template"
	"net/http"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// handleSecondFactorAPI completes a half sign-in: {"code"} or
// {"recoveryCode"}. The session gets a fresh secret at level 2.
func (s *Server) handleSecondFactorAPI(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code         string `json:"code"`
		RecoveryCode string `json:"recoveryCode"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	id := identity(r)
	secret, err := s.auth.VerifySecondFactor(r.Context(), id, req.Code, req.RecoveryCode, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.setSessionCookie(w, secret, id.Session)
	s.json(w, http.StatusOK, map[string]any{"user": newUserJSON(id.User), "authLevel": id.Session.AuthLevel})
}

// handleSecondFactorPage asks for the code of a half-signed-in session.
func (s *Server) handleSecondFactorPage(w http.ResponseWriter, r *http.Request) {
	if s.auth.Pending(identity(r)) != auth.StepSecondFactor {
		seeOther(w, s.redirects.Target(r.URL.Query().Get("rd"), "/"))
		return
	}
	s.render(w, r, http.StatusOK, "second_factor.html", pageData{Title: "Second factor",
		Form: s.secondFactorForm(identity(r), r.URL.Query().Get("rd"))})
}

// secondFactorForm says which ways the second-factor page offers.
func (s *Server) secondFactorForm(id *auth.Identity, rd string) map[string]string {
	f := map[string]string{"rd": rd}
	if id.User.HasTOTP() {
		f["totp"] = "1"
	}
	if id.User.Passkeys > 0 && s.auth.PasskeysOn() {
		f["passkeys"] = "1"
	}
	return f
}

// handleSecondFactorSubmit checks the code from the form.
func (s *Server) handleSecondFactorSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	id, f := identity(r), r.PostForm
	secret, err := s.auth.VerifySecondFactor(r.Context(), id, f.Get("code"), f.Get("recoveryCode"), s.client(r))
	switch lacop.ErrorCode(err) {
	case "":
		s.setSessionCookie(w, secret, id.Session)
		seeOther(w, s.redirects.Target(f.Get("rd"), "/"))
	case lacop.EINVALIDCODE, lacop.ETOOMANYATTEMPTS, lacop.EINVALID:
		s.render(w, r, errorStatus(err), "second_factor.html", pageData{Title: "Second factor",
			Error: formError(w, err), Form: s.secondFactorForm(id, f.Get("rd"))})
	default:
		s.error(w, r, err)
	}
}

// handleTOTPStart answers POST /api/account/totp {"password"}.
func (s *Server) handleTOTPStart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	e, err := s.auth.StartTOTP(r.Context(), identity(r), req.Password, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]string{"secret": e.Secret, "otpauthURL": e.URL,
		"qrPNG": base64.StdEncoding.EncodeToString(e.QRPNG)})
}

// handleTOTPConfirm answers POST /api/account/totp/confirm {"code"}.
func (s *Server) handleTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	id := identity(r)
	done, err := s.auth.ConfirmTOTP(r.Context(), id, req.Code, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.setSessionCookie(w, done.NewSecret, id.Session)
	s.json(w, http.StatusOK, map[string]any{"recoveryCodes": done.RecoveryCodes})
}

// handleTOTPDisable answers DELETE /api/account/totp {"password"}.
func (s *Server) handleTOTPDisable(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	id := identity(r)
	out, err := s.auth.DisableTOTP(r.Context(), id, req.Password, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.applyOutcome(w, out, id.Session)
	w.WriteHeader(http.StatusNoContent)
}

// totpView is the enrolment shown on /security.
type totpView struct {
	Secret string
	QR     template.URL // a data: URL of the PNG, built here, never from input
}

// handleSecurityTOTPSubmit runs the second-factor forms of /security:
// start (password → QR code), confirm (code → recovery codes) and disable.
func (s *Server) handleSecurityTOTPSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	id, f, c := identity(r), r.PostForm, s.client(r)
	var err error
	data := pageData{Form: map[string]string{"failed": "totp"}}
	switch r.PathValue("action") {
	case "start":
		var e *auth.Enrolment
		if e, err = s.auth.StartTOTP(r.Context(), id, f.Get("password"), c); err == nil {
			data.Form["enrolSecret"] = e.Secret
			data.Data = totpView{Secret: e.Secret, QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRPNG))}
		}
	case "confirm":
		var done *auth.Confirmed
		if done, err = s.auth.ConfirmTOTP(r.Context(), id, f.Get("code"), c); err == nil {
			s.setSessionCookie(w, done.NewSecret, id.Session)
			data.Data = done.RecoveryCodes
			data.Notice = "Two-step sign-in is on. Keep these recovery codes somewhere safe: each works once, and they are shown only now."
		}
	case "disable":
		var out *auth.Outcome
		if out, err = s.auth.DisableTOTP(r.Context(), id, f.Get("password"), c); err == nil {
			s.finishPageEvent(w, out, id, "/security?done=totp_off", "second_factor_disabled")
			return
		}
	default:
		s.error(w, r, errNotFound)
		return
	}
	switch lacop.ErrorCode(err) {
	case "":
		s.renderSecurity(w, r, http.StatusOK, data)
	case lacop.EINVALID, lacop.EINVALIDCREDENTIALS, lacop.EINVALIDCODE, lacop.ECONFLICT, lacop.ETOOMANYATTEMPTS:
		data.Error = formError(w, err)
		s.renderSecurity(w, r, errorStatus(err), data)
	default:
		s.error(w, r, err)
	}
}
