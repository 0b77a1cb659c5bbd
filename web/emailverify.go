package web

import (
	"net/http"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
)

// emailChangePending is what a change of address is told when lacop sends
// mail: the change waits for the link mailed to the new address.
const emailChangePending = "We mailed a link to the new address. Your address changes when you open it (within 24 hours); until then it stays as it is."

// verifyView is what verify_email.html shows.
type verifyView struct {
	Old, New, Token string
}

// handleVerifyEmailPage shows GET /verify-email/{token}: what the link
// would change, and a button. Opening the link changes nothing, since
// mail scanners and previews open links too.
func (s *Server) handleVerifyEmailPage(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	token := r.PathValue("token")
	ch, err := s.auth.EmailChangeTarget(r.Context(), token)
	if err != nil {
		s.verifyEmailError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "verify_email.html", pageData{Title: "Confirm your new email address",
		Data: verifyView{Old: ch.User.Email, New: ch.NewEmail, Token: token}})
}

func (s *Server) verifyEmailError(w http.ResponseWriter, r *http.Request, err error) {
	if lacop.ErrorCode(err) != lacop.EINVALID && lacop.ErrorCode(err) != lacop.ECONFLICT {
		s.error(w, r, err)
		return
	}
	status := http.StatusGone
	if lacop.ErrorCode(err) == lacop.ECONFLICT {
		status = http.StatusConflict
	}
	s.render(w, r, status, "verify_email.html", pageData{Title: "Confirm your new email address", Error: lacop.ErrorMessage(err)})
}

// handleVerifyEmailSubmit makes the change. When this browser is signed
// in as the person, its session stays (under a fresh secret); otherwise
// every session of the account ends and the person signs in anew.
func (s *Server) handleVerifyEmailSubmit(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	var current *auth.Identity
	if secret := s.sessionSecret(r); secret != "" {
		if id, err := s.checkCookie(r.Context(), secret, s.client(r)); err == nil && s.auth.Pending(id) == auth.StepNone {
			current = id
		}
	}
	out, err := s.auth.ConfirmEmailChange(r.Context(), r.PathValue("token"), current, s.client(r))
	if err != nil {
		s.verifyEmailError(w, r, err)
		return
	}
	if current != nil && !out.CurrentEnded {
		s.finishPageEvent(w, out, current, "/security?done=email", "email_changed")
		return
	}
	seeOther(w, "/login?emailChanged=1")
}
