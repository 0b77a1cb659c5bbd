package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// resetAnswer is what a reset request is told, whether or not an account
// has the address: the same words, status and time.
const resetAnswer = "If an account has this address, a link to choose a new password is on its way. It works for 30 minutes. Check your spam folder if nothing arrives."

// handleResetRequestAPI answers POST /api/password-reset.
func (s *Server) handleResetRequestAPI(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var req struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.auth.RequestReset(r.Context(), req.Email, s.client(r)); err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusAccepted, map[string]string{"message": resetAnswer})
}

// handleResetPage shows GET /reset: the form asking for an address, or,
// without mail, who to ask.
func (s *Server) handleResetPage(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	s.render(w, r, http.StatusOK, "reset.html", pageData{Title: "Reset your password",
		Form: map[string]string{"email": r.URL.Query().Get("email")}, Data: resetView{Mail: s.auth.Letters != nil}})
}

// resetView is what reset.html and reset_link.html need besides the form.
type resetView struct {
	Mail bool // lacop sends mail: self-service reset is on
	Sent bool
	// Email, NeedsCode and NeedsPasskey describe the account a link
	// resets (its second factors).
	Email        string
	NeedsCode    bool
	NeedsPasskey bool
	Token        string
}

// handleResetSubmit is the form of GET /reset.
func (s *Server) handleResetSubmit(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	email := r.PostForm.Get("email")
	data := pageData{Title: "Reset your password", Form: map[string]string{"email": email}, Data: resetView{Mail: s.auth.Letters != nil}}
	err := s.auth.RequestReset(r.Context(), email, s.client(r))
	switch {
	case err == nil:
		data.Data, data.Notice = resetView{Mail: true, Sent: true}, resetAnswer
		s.render(w, r, http.StatusOK, "reset.html", data)
	case lacop.ErrorCode(err) == lacop.EINVALID || lacop.ErrorCode(err) == lacop.ETOOMANYATTEMPTS:
		data.Error = formError(w, err)
		s.render(w, r, errorStatus(err), "reset.html", data)
	default:
		s.error(w, r, err)
	}
}

// handleResetLinkPage shows GET /reset/{token}: the new-password form, or
// why the link no longer works.
func (s *Server) handleResetLinkPage(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the path
	token := r.PathValue("token")
	target, err := s.auth.ResetLinkTarget(r.Context(), token)
	if err != nil {
		s.resetLinkError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "reset_link.html", pageData{Title: "Choose a new password",
		Data: resetView{Email: target.Email, NeedsCode: target.NeedsCode, NeedsPasskey: target.NeedsPasskey, Token: token}})
}

func (s *Server) resetLinkError(w http.ResponseWriter, r *http.Request, err error) {
	if lacop.ErrorCode(err) != lacop.EINVALID {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusGone, "reset.html", pageData{Title: "Reset your password", Error: lacop.ErrorMessage(err),
		Form: map[string]string{}, Data: resetView{Mail: s.auth.Letters != nil}})
}

// handleResetLinkSubmit sets the new password from the link's form.
func (s *Server) handleResetLinkSubmit(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	f := r.PostForm
	token := r.PathValue("token")
	target, err := s.auth.ResetLinkTarget(r.Context(), token)
	if err != nil {
		s.resetLinkError(w, r, err)
		return
	}
	again := func(err error) {
		if t, ok := errors.AsType[*auth.Throttled](err); ok {
			w.Header().Set("Retry-After", retryAfter(t))
		}
		s.render(w, r, errorStatus(err), "reset_link.html", pageData{Title: "Choose a new password", Error: lacop.ErrorMessage(err),
			Data: resetView{Email: target.Email, NeedsCode: target.NeedsCode, NeedsPasskey: target.NeedsPasskey, Token: token}})
	}
	if f.Get("password") != f.Get("passwordConfirm") {
		again(lacop.Errorf(lacop.EINVALID, "The two passwords differ."))
		return
	}
	var pk auth.PasskeyProof
	if answer := f.Get("passkeyCredential"); answer != "" {
		pk = auth.PasskeyProof{Token: takeCeremonyCookie(w, r), Answer: []byte(answer)}
	}
	out, err := s.auth.CompleteReset(r.Context(), token, f.Get("password"), f.Get("code"), f.Get("recoveryCode"), pk, s.client(r))
	switch {
	case err == nil:
		s.clearSessionCookie(w)
		seeOther(w, "/login?reset=1&ended="+strconv.Itoa(out.Revoked()))
	case lacop.ErrorCode(err) == lacop.EINVALID || lacop.ErrorCode(err) == lacop.EWEAKPASSWORD ||
		lacop.ErrorCode(err) == lacop.ETOOMANYATTEMPTS || lacop.ErrorCode(err) == lacop.EINVALIDCODE:
		again(err)
	default:
		s.error(w, r, err)
	}
}

// handleResetCompleteAPI answers POST /api/password-reset/complete.
func (s *Server) handleResetCompleteAPI(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var req struct {
		Token        string         `json:"token"`
		NewPassword  string         `json:"newPassword"`
		Code         string         `json:"code"`
		RecoveryCode string         `json:"recoveryCode"`
		Credential   credentialJSON `json:"credential"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	var pk auth.PasskeyProof
	if len(req.Credential) > 0 {
		pk = auth.PasskeyProof{Token: takeCeremonyCookie(w, r), Answer: req.Credential}
	}
	out, err := s.auth.CompleteReset(r.Context(), req.Token, req.NewPassword, req.Code, req.RecoveryCode, pk, s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.clearSessionCookie(w)
	s.json(w, http.StatusOK, map[string]any{"revokedSessions": out.Revoked(), "redirect": "/login?reset=1"})
}

// handleResetPasskeyOptions answers POST /api/password-reset/passkey/options
// {"token"}: the passkey step of a reset, for an account with passkeys.
func (s *Server) handleResetPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var req struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.error(w, r, err)
		return
	}
	pc, err := s.auth.BeginResetPasskey(r.Context(), req.Token)
	s.answerCeremony(w, pc, err, r)
}
