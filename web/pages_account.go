package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/agent"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/oidc"
)

// notices are the messages a page shows after a form, chosen by a fixed key
// in the redirect so no request can make a page say anything else.
var notices = map[string]string{
	"ended":           "That session has ended.",
	"others":          "Every other session has ended. This one has a fresh key, so a copied cookie no longer works.",
	"password":        "Your password is changed. Every other session has ended.",
	"email":           "Your email address is changed. Every other session has ended.",
	"concern":         "Thank you. Every other session has ended, and your administrators have been told.",
	"totp_off":        "Two-step sign-in is off. Every other session has ended.",
	"app":             "The app's access is removed: it is signed out everywhere and must ask you again.",
	"alerts_on":       "You will get a mail when your account is signed in to from a new browser.",
	"alerts_off":      "New-sign-in mails are off. Mails about password and address changes still come.",
	"passkey_added":   "Your passkey is added: you can sign in with it, without your password.",
	"passkey_renamed": "The passkey's new name is saved.",
	"passkey_removed": "The passkey is removed, and every session it signed in has ended.",
}

// handleSessionsPage lists the person's sessions with a button to end each.
func (s *Server) handleSessionsPage(w http.ResponseWriter, r *http.Request) {
	views, err := s.mySessions(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "sessions.html", pageData{
		Title: "Your sessions", Identity: identity(r), Notice: notices[r.URL.Query().Get("done")], Data: views,
	})
}

// handleSessionEndSubmit ends one session from the list. Ending the one in
// use is signing out.
func (s *Server) handleSessionEndSubmit(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	out, err := s.auth.EndMySession(r.Context(), id, r.PathValue("id"), s.client(r))
	if lacop.ErrorCode(err) == lacop.ENOTFOUND {
		seeOther(w, "/sessions?done=ended") // already gone: the person's wish holds
		return
	} else if err != nil {
		s.error(w, r, err)
		return
	}
	s.finishPageEvent(w, out, id, "/sessions?done=ended", "revoked")
}

// handleSignOutEverywhereSubmit ends every other session (keep=1) or all.
func (s *Server) handleSignOutEverywhereSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	id := identity(r)
	out, err := s.auth.SignOutEverywhere(r.Context(), id, r.PostForm.Get("keep") == "1", s.client(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.finishPageEvent(w, out, id, "/sessions?done=others", "revoked_all")
}

// finishPageEvent answers a form that ended sessions: on to next, or, when
// the person's own session ended, to the login page with the browser's data
// for this site cleared (by applyOutcome).
func (s *Server) finishPageEvent(w http.ResponseWriter, out *auth.Outcome, id *auth.Identity, next, reason string) {
	s.applyOutcome(w, out, id.Session)
	if out.CurrentEnded {
		seeOther(w, loggedOutPage+"&reason="+reason)
		return
	}
	seeOther(w, next)
}

// handleSecurityPage shows the forms that change the password or email and
// report a concern, each saying what it will end.
func (s *Server) handleSecurityPage(w http.ResponseWriter, r *http.Request) {
	data := pageData{Notice: notices[r.URL.Query().Get("done")]}
	if s.auth.Pending(identity(r)) == auth.StepEnrol {
		data.Notice = "Set up two-step sign-in to continue: your organisation requires it."
	}
	s.renderSecurity(w, r, http.StatusOK, data)
}

// securityView is what /security shows besides the forms.
type securityView struct {
	Others       int  // other sessions a change would end
	TOTP         bool // the second factor is on
	RecoveryLeft int
	// Extra is an enrolment in progress (totpView) or fresh recovery codes.
	Extra any
	// Mail says lacop sends mail; NewSignInMails whether this person gets
	// one for a sign-in from a new browser.
	Mail, NewSignInMails bool
	// Apps are the apps the person allowed (OpenID Connect).
	Apps []oidc.AllowedApp
	// PasskeysOn says passkeys can be added here; Passkeys are the
	// person's.
	PasskeysOn bool
	Passkeys   []passkeyView
}

// passkeyView is one passkey on /security, with the sessions removing it
// would end, so the person knows before confirming.
type passkeyView struct {
	ID, Name   string
	CreatedAt  time.Time
	LastUsedAt time.Time
	// Ending describes each live session it signed in ("Firefox on
	// Linux, 203.0.113.7"); Current says this session is among them.
	Ending  []string
	Current bool
}

// renderSecurity shows /security with the number of other sessions each
// form would end.
func (s *Server) renderSecurity(w http.ResponseWriter, r *http.Request, status int, data pageData) {
	views, err := s.mySessions(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	id := identity(r)
	// Read the user afresh: a form on this page may just have changed it.
	user, err := s.auth.Users.UserByID(r.Context(), id.User.ID)
	if err != nil {
		s.error(w, r, lacop.Errorf(lacop.EUNAVAILABLE, "Your account cannot be read right now."))
		return
	}
	left := 0
	if user.HasTOTP() {
		if left, err = s.auth.RecoveryCodesLeft(r.Context(), user.ID); err != nil {
			s.error(w, r, err)
			return
		}
	}
	data.Title, data.Identity = "Security", id
	var apps []oidc.AllowedApp
	if s.cfg.Apps != nil {
		if apps, err = s.cfg.Apps.AllowedApps(r.Context(), user.ID); err != nil {
			s.error(w, r, lacop.Errorf(lacop.EUNAVAILABLE, "Your apps cannot be listed right now."))
			return
		}
	}
	alerts, err := s.auth.NewSignInAlerts(r.Context(), user.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	passkeys, err := s.passkeyViews(r, user.ID, id.Session.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	data.Data = securityView{Others: len(views) - 1, TOTP: user.HasTOTP(), RecoveryLeft: left, Extra: data.Data, Apps: apps,
		Mail: s.auth.Letters != nil, NewSignInMails: alerts, PasskeysOn: s.auth.PasskeysOn(), Passkeys: passkeys}
	s.render(w, r, status, "security.html", data)
}

// securityForms maps each form on /security to its event and the notice
// shown after it.
func (s *Server) securityForm(r *http.Request, form string) (*auth.Outcome, error) {
	id, f, c := identity(r), r.PostForm, s.client(r)
	switch form {
	case "password":
		if f.Get("newPassword") != f.Get("newPasswordConfirm") {
			return nil, lacop.Errorf(lacop.EINVALID, "The two new passwords differ.")
		}
		return s.auth.ChangePassword(r.Context(), id, f.Get("currentPassword"), f.Get("newPassword"), c)
	case "email":
		return s.auth.ChangeEmail(r.Context(), id, f.Get("password"), f.Get("newEmail"), c)
	default:
		return s.auth.ReportConcern(r.Context(), id, f.Get("note"), c)
	}
}

// handleSecuritySubmit runs one of the /security forms.
func (s *Server) handleSecuritySubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	form := r.PathValue("form")
	if _, ok := notices[form]; !ok || form == "ended" || form == "others" {
		s.error(w, r, errNotFound)
		return
	}
	id := identity(r)
	if form == "email" && s.auth.Letters != nil {
		err := s.auth.RequestEmailChange(r.Context(), id, r.PostForm.Get("password"), r.PostForm.Get("newEmail"), s.client(r))
		switch lacop.ErrorCode(err) {
		case "":
			s.renderSecurity(w, r, http.StatusOK, pageData{Notice: emailChangePending})
		case lacop.EINVALID, lacop.EINVALIDCREDENTIALS, lacop.ECONFLICT, lacop.ETOOMANYATTEMPTS:
			s.renderSecurity(w, r, errorStatus(err), pageData{Error: formError(w, err), Form: map[string]string{"failed": form}})
		default:
			s.error(w, r, err)
		}
		return
	}
	out, err := s.securityForm(r, form)
	switch lacop.ErrorCode(err) {
	case "":
		s.finishPageEvent(w, out, id, "/security?done="+form, form)
	case lacop.EINVALID, lacop.EINVALIDCREDENTIALS, lacop.EWEAKPASSWORD, lacop.ECONFLICT, lacop.ETOOMANYATTEMPTS:
		s.renderSecurity(w, r, errorStatus(err), pageData{Error: formError(w, err), Form: map[string]string{"failed": form}})
	default:
		s.error(w, r, err)
	}
}

// formError is the message a page shows for a form that failed. A
// throttled one also gets Retry-After and says how long to wait: the
// person sees the form again, not a bare error page.
func formError(w http.ResponseWriter, err error) string {
	msg := lacop.ErrorMessage(err)
	var t *auth.Throttled
	if errors.As(err, &t) {
		w.Header().Set("Retry-After", retryAfter(t))
		msg += " " + waitText(time.Now(), t.Until)
	}
	return msg
}

// waitText says when a ban ends, on the clock and in whole minutes from
// now: "You can try again at 03:28 UTC, in 12 minutes."
func waitText(now, until time.Time) string {
	d := until.Sub(now)
	at := until.UTC().Add(59 * time.Second).Truncate(time.Minute).Format("15:04 UTC") // rounded up: never too early
	if n := int(math.Ceil(d.Minutes())); n > 1 {
		return fmt.Sprintf("You can try again at %s, in %d minutes.", at, n)
	}
	return "You can try again at " + at + ", in a minute."
}

// activityItem is one audit event as the activity page shows it.
type activityItem struct {
	*lacop.AuditEvent
	Text  string
	Agent string
	Mine  bool // about the session in use
}

// handleActivityPage lists the person's own security events.
func (s *Server) handleActivityPage(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	events, err := s.auth.Activity(r.Context(), id.User.ID, r.URL.Query().Get("before"), 50)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "activity.html", pageData{Title: "Activity", Identity: id, Data: activityItems(events, id.Session.ID)})
}

func activityItems(events []*lacop.AuditEvent, currentID string) []activityItem {
	items := make([]activityItem, 0, len(events))
	for _, e := range events {
		items = append(items, activityItem{AuditEvent: e, Text: describeEvent(e), Agent: eventAgent(e),
			Mine: e.SessionID != "" && e.SessionID == currentID})
	}
	return items
}

// passkeyViews lists userID's passkeys with the sessions each signed in.
func (s *Server) passkeyViews(r *http.Request, userID, current string) ([]passkeyView, error) {
	list, err := s.auth.ListPasskeys(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	out := make([]passkeyView, len(list))
	for i, p := range list {
		out[i] = passkeyView{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt}
		sessions, err := s.auth.PasskeySessions(r.Context(), userID, p.ID)
		if err != nil {
			return nil, err
		}
		for _, sess := range sessions {
			d := agent.Describe(sess.UserAgent).String()
			if sess.IP != "" {
				d += ", " + sess.IP
			}
			if sess.ID == current {
				d += " (this session)"
				out[i].Current = true
			}
			out[i].Ending = append(out[i].Ending, d)
		}
	}
	return out, nil
}

// handleSecurityPasskeySubmit runs a passkey's forms on /security: rename,
// and remove (with the password; it ends the sessions the page listed).
func (s *Server) handleSecurityPasskeySubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	id, f := identity(r), r.PostForm
	var err error
	switch r.PathValue("action") {
	case "rename":
		if err = s.auth.RenamePasskey(r.Context(), id, r.PathValue("id"), f.Get("name")); err == nil {
			seeOther(w, "/security?done=passkey_renamed#passkeys")
			return
		}
	case "remove":
		var out *auth.Outcome
		if out, err = s.auth.RemovePasskey(r.Context(), id, r.PathValue("id"), f.Get("password"), s.client(r)); err == nil {
			s.finishPageEvent(w, out, id, "/security?done=passkey_removed#passkeys", "passkey_removed")
			return
		}
	default:
		s.error(w, r, errNotFound)
		return
	}
	switch lacop.ErrorCode(err) {
	case lacop.EINVALID, lacop.EINVALIDCREDENTIALS, lacop.ECONFLICT, lacop.ETOOMANYATTEMPTS, lacop.ENOTFOUND:
		s.renderSecurity(w, r, errorStatus(err), pageData{Error: formError(w, err)})
	default:
		s.error(w, r, err)
	}
}
