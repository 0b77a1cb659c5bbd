package web

import (
	"cmp"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/agent"
	"github.com/lacop/lacop/auth"
)

// pageAdmin runs h only for a fully signed-in administrator; other
// signed-in people get a 403 page.
func (s *Server) pageAdmin(h http.HandlerFunc) http.HandlerFunc {
	return s.pageSession(func(w http.ResponseWriter, r *http.Request) {
		if !identity(r).User.Admin {
			s.error(w, r, errNotAdmin)
			return
		}
		h(w, r)
	})
}

// adminTab is one tab of the admin panel.
type adminTab struct{ Name, Path string }

// adminTabs are the admin panel's tabs, in order; a page names its own in
// pageData.Tab.
var adminTabs = []adminTab{{"People", "/admin/users"}, {"Sessions", "/admin/sessions"}, {"Logs", "/admin/logs"},
	{"Bans", "/admin/bans"}, {"Apps", "/admin/apps"}}

var adminNotices = map[string]string{
	"created":  "The user is created.",
	"disabled": "The user is disabled and every one of their sessions and tokens has ended.",
	"enabled":  "The user is enabled again and can sign in.",
	"ended":    "Every session and token of the user has ended.",
	"reset":    "The user's second factor is removed and every one of their sessions has ended.",
	"passkeys": "The user's passkeys are removed, and every session they signed in has ended.",
	"session":  "That session has ended.",
	"saved":    "The changes are saved.",
	"demoted":  "They are no longer an administrator; every one of their sessions has ended.",
	"deleted":  "The person is deleted: every session, token and app sign-in of theirs has ended, and the email is free.",
	"lifted":   "The ban is lifted.",
}

// peoplePageSize is the number of people a page of /admin/users shows.
const peoplePageSize = 50

// adminUsersData is what /admin/users shows.
type adminUsersData struct {
	Users []adminUserView
	// The filter: search text, "admins" or "", "disabled" or "", a group.
	Q, Role, Status, Group string
	// Total people selected; From and To number the ones on this page.
	Total, From, To int
	// Prev and Next are the queries of the neighbouring pages ("" none).
	Prev, Next string
}

// handleAdminUsersPage lists people a page at a time, searched and
// filtered, with a form to add one.
func (s *Server) handleAdminUsersPage(w http.ResponseWriter, r *http.Request) {
	s.renderAdminUsers(w, r, http.StatusOK, "", nil)
}

func (s *Server) renderAdminUsers(w http.ResponseWriter, r *http.Request, status int, errMsg string, form map[string]string) {
	v := r.URL.Query()
	d := adminUsersData{Q: strings.TrimSpace(v.Get("q")), Role: v.Get("role"), Status: v.Get("status"), Group: strings.TrimSpace(v.Get("group"))}
	page, _ := strconv.Atoi(v.Get("page"))
	page = min(max(page, 1), 1_000_000) // a page past every person is empty, not an overflow
	q := lacop.UserQuery{Search: d.Q, Admins: d.Role == "admins", Disabled: d.Status == "disabled", Group: d.Group,
		Offset: (page - 1) * peoplePageSize, Limit: peoplePageSize}
	users, total, err := s.auth.ListUsers(r.Context(), q)
	if err != nil {
		s.logger.Error("admin: list users", "err", err)
		s.error(w, r, errListUnavailable)
		return
	}
	for _, u := range users {
		d.Users = append(d.Users, newAdminUserView(u))
	}
	d.Total = total
	if len(users) > 0 {
		d.From, d.To = q.Offset+1, q.Offset+len(users)
	}
	link := func(p int) string {
		l := url.Values{}
		for k, val := range map[string]string{"q": d.Q, "role": d.Role, "status": d.Status, "group": d.Group} {
			if val != "" {
				l.Set(k, val)
			}
		}
		if p > 1 {
			l.Set("page", strconv.Itoa(p))
		}
		return "?" + l.Encode()
	}
	if page > 1 {
		d.Prev = link(page - 1)
	}
	if q.Offset+len(users) < total {
		d.Next = link(page + 1)
	}
	noStore(w)
	s.render(w, r, status, "admin_users.html", pageData{Title: "People", Tab: "People", Identity: identity(r), Error: errMsg, Form: form,
		Notice: adminNotices[v.Get("done")], Data: d})
}

// handleAdminUserCreateSubmit adds a user from the form. On a mistake the
// form comes back with the error and what was typed, the password aside.
func (s *Server) handleAdminUserCreateSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	f := r.PostForm
	_, err := s.auth.CreateUser(r.Context(), auth.NewUser{Email: f.Get("email"), Name: f.Get("name"), Password: f.Get("password"),
		Admin: f.Get("admin") == "1", Groups: formGroups(f.Get("groups"))}, identity(r).User.ID, s.client(r))
	switch code := lacop.ErrorCode(err); code {
	case "":
		seeOther(w, "/admin/users?done=created")
	case lacop.EINVALID, lacop.ECONFLICT, lacop.EWEAKPASSWORD:
		kept := map[string]string{"email": f.Get("email"), "name": f.Get("name"), "groups": f.Get("groups"), "admin": f.Get("admin"),
			"field": map[string]string{lacop.EWEAKPASSWORD: "password", lacop.ECONFLICT: "email"}[code]}
		s.renderAdminUsers(w, r, errorStatus(err), lacop.ErrorMessage(err), kept)
	default:
		s.error(w, r, err)
	}
}

// formGroups reads a comma-separated groups field; blanks between commas
// are dropped (the store refuses names that are not group names).
func formGroups(v string) []string {
	groups := []string{}
	for g := range strings.SplitSeq(v, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	return groups
}

// adminPersonData is what /admin/users/{id} shows.
type adminPersonData struct {
	User     adminUserView
	Sessions []sessionView
	// Apps are the apps signed in through the person's sessions.
	Apps []string
	// Self is the admin looking at their own account.
	Self bool
	// ResetLink, just made, is shown once on this answer (never in a URL
	// or a log).
	ResetLink string
}

// handleAdminPersonPage shows one person: details, an edit form, their
// sessions, the actions, and a delete that says what it ends.
func (s *Server) handleAdminPersonPage(w http.ResponseWriter, r *http.Request) {
	s.renderPerson(w, r, http.StatusOK, "", "")
}

func (s *Server) renderPerson(w http.ResponseWriter, r *http.Request, status int, errMsg, resetLink string) {
	ctx := r.Context()
	u, err := s.auth.Users.UserByID(ctx, r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	list, err := s.auth.Sessions.UserSessions(ctx, u.ID)
	if err != nil {
		s.error(w, r, errListUnavailable)
		return
	}
	id := identity(r)
	d := adminPersonData{User: newAdminUserView(u), Sessions: s.sessionViews(list, id.Session.ID), Self: u.ID == id.User.ID, ResetLink: resetLink}
	if err := s.addApps(r, d.Sessions); err != nil {
		s.error(w, r, err)
		return
	}
	for _, v := range d.Sessions {
		for _, a := range v.Apps {
			if !slices.Contains(d.Apps, a.Name) {
				d.Apps = append(d.Apps, a.Name)
			}
		}
	}
	s.render(w, r, status, "admin_person.html", pageData{Title: u.Email, Tab: "People", Identity: id, Error: errMsg,
		Notice: adminNotices[r.URL.Query().Get("done")], Data: d})
}

// handleAdminUserActionSubmit runs one action on a person, from their page
// or the list (back=list returns there).
func (s *Server) handleAdminUserActionSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	id, target, c, ctx := identity(r), r.PathValue("id"), s.client(r), r.Context()
	var err error
	var done string
	signedOut := target == id.User.ID // acting on oneself ends one's own sessions, unless said below
	switch r.PathValue("action") {
	case "disable":
		err, done = s.auth.DisableUser(ctx, target, id.User.ID, c), "disabled"
	case "enable":
		err, done, signedOut = s.auth.EnableUser(ctx, target, id.User.ID, c), "enabled", false
	case "end-sessions":
		_, err = s.auth.RevokeAll(ctx, target, id.User.ID, c)
		done = "ended"
	case "reset-2fa":
		err, done = s.auth.ResetTOTP(ctx, target, id.User.ID, c), "reset"
	case "remove-passkeys":
		err, done = s.auth.AdminRemovePasskeys(ctx, target, id.User.ID, c), "passkeys"
	case "delete":
		if r.PostForm.Get("confirm") != "1" {
			s.renderPerson(w, r, http.StatusBadRequest, "Tick the box to confirm the delete.", "")
			return
		}
		if _, err := s.auth.DeleteUser(ctx, target, id.User.ID, c); err != nil {
			s.personError(w, r, err)
			return
		}
		seeOther(w, "/admin/users?done=deleted")
		return
	case "edit":
		f := r.PostForm
		name, groups, admin := f.Get("name"), formGroups(f.Get("groups")), f.Get("admin") == "1"
		out, err := s.auth.UpdateUser(ctx, target, auth.UserChange{Name: &name, Groups: &groups, Admin: &admin}, id.Session, id.User.ID, c)
		if err != nil {
			s.personError(w, r, err)
			return
		}
		done = "saved"
		if out != nil {
			done = "demoted"
			s.applyOutcome(w, out, id.Session)
			if target == id.User.ID { // no longer an admin: the panel is closed to them
				seeOther(w, "/?done=demoted")
				return
			}
		}
		seeOther(w, "/admin/users/"+url.PathEscape(target)+"?done="+done)
		return
	case "reset-link":
		link, err := s.auth.MakeResetLink(ctx, target, id.User.ID, c)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.renderPerson(w, r, http.StatusOK, "", link)
		return
	default:
		s.error(w, r, errNotFound)
		return
	}
	if err != nil {
		s.personError(w, r, err)
		return
	}
	if signedOut { // an admin acting on themselves is signed out
		s.forgetSession(w)
		seeOther(w, "/login?loggedOut=1&reason=admin")
		return
	}
	if r.PostForm.Get("back") == "list" {
		seeOther(w, "/admin/users?done="+done)
		return
	}
	seeOther(w, "/admin/users/"+url.PathEscape(target)+"?done="+done)
}

// personError shows a refused action on the person's page with the
// reason (the last administrator, a bad group); anything else as an error.
func (s *Server) personError(w http.ResponseWriter, r *http.Request, err error) {
	switch lacop.ErrorCode(err) {
	case lacop.EINVALID, lacop.ECONFLICT, lacop.EFORBIDDEN:
		s.renderPerson(w, r, errorStatus(err), lacop.ErrorMessage(err), "")
	default:
		s.error(w, r, err)
	}
}

// adminSessionsData is what /admin/sessions shows.
type adminSessionsData struct {
	Sessions []adminSessionView
	User     string // the filter: a user id
	Email    string // the filter as typed: an email
}

// handleAdminSessionsPage lists every live session, or one person's (by
// ?user=ID or ?email=).
func (s *Server) handleAdminSessionsPage(w http.ResponseWriter, r *http.Request) {
	d := adminSessionsData{User: r.URL.Query().Get("user"), Email: strings.TrimSpace(r.URL.Query().Get("email"))}
	status := http.StatusOK
	var errMsg string
	switch {
	case d.Email != "":
		u, err := s.auth.Users.UserByEmail(r.Context(), d.Email)
		if lacop.ErrorCode(err) == lacop.ENOTFOUND {
			d.User, errMsg, status = "-", "Nobody has the email "+d.Email+".", http.StatusNotFound
		} else if err != nil {
			s.error(w, r, errListUnavailable)
			return
		} else {
			d.User = u.ID
		}
	case d.User != "":
		if u, err := s.auth.Users.UserByID(r.Context(), d.User); err == nil {
			d.Email = u.Email
		}
	}
	var err error
	if d.User != "-" {
		if d.Sessions, err = s.adminSessions(r, d.User); err != nil {
			s.error(w, r, err)
			return
		}
	}
	s.render(w, r, status, "admin_sessions.html", pageData{Title: "All sessions", Tab: "Sessions", Identity: identity(r), Error: errMsg,
		Notice: adminNotices[r.URL.Query().Get("done")], Data: d})
}

// handleAdminSessionEndSubmit ends any session from the list.
func (s *Server) handleAdminSessionEndSubmit(w http.ResponseWriter, r *http.Request) {
	id, target := identity(r), r.PathValue("id")
	err := s.auth.AdminEndSession(r.Context(), target, id.User.ID, s.client(r))
	if err != nil && lacop.ErrorCode(err) != lacop.ENOTFOUND { // already gone: the wish holds
		s.error(w, r, err)
		return
	}
	if target == id.Session.ID {
		s.forgetSession(w)
		seeOther(w, "/login?loggedOut=1&reason=admin")
		return
	}
	back := "/admin/sessions?done=session"
	if u := r.URL.Query().Get("user"); u != "" {
		back += "&user=" + url.QueryEscape(u)
	}
	seeOther(w, back)
}

// eventType is an event type the log can be filtered by: its raw name
// and what it means.
type eventType struct{ Raw, Text string }

// eventTypes lists every audit event type with its text.
func eventTypes() []eventType {
	var out []eventType
	for _, t := range lacop.AuditTypes() {
		text := eventTexts[t]
		if text == "" {
			text = t
		}
		out = append(out, eventType{Raw: t, Text: text})
	}
	return out
}

// adminLogRow is one audit event with the names a person reads.
type adminLogRow struct {
	*lacop.AuditEvent
	UserEmail  string
	ActorEmail string
	Concern    bool
	// Text is what happened, in words (describeEvent); Details the rest of
	// the event's detail as sentences (detailText); Agent its browser.
	Text, Details, Agent string
}

// adminLogsData is what /admin/logs shows.
type adminLogsData struct {
	Rows                 []adminLogRow
	Types                []eventType
	User, Type, From, To string
	// Next and CSV are the queries (with their "?", so the template puts
	// them in the URL as they are) of the next, older page ("" on the last)
	// and of this filter as CSV.
	Next, CSV string
}

// logPageSize is the number of events per page of /admin/logs.
const logPageSize = 50

// handleAdminLogsPage shows the audit log, filtered by user (email), type
// and time range, a page at a time, or the whole filter as CSV.
func (s *Server) handleAdminLogsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	data := adminLogsData{Types: eventTypes(), User: q.Get("user"), Type: q.Get("type"), From: q.Get("from"), To: q.Get("to")}
	f := lacop.AuditFilter{Type: data.Type, BeforeID: q.Get("before"), Limit: logPageSize}
	var bad []string
	if data.User != "" {
		u, err := s.auth.Users.UserByEmail(ctx, data.User)
		switch {
		case err == nil:
			f.UserID = u.ID
		case lacop.ErrorCode(err) == lacop.ENOTFOUND:
			f.UserID = "-" // no such user: an empty log, not everyone's
		default:
			s.error(w, r, errListUnavailable)
			return
		}
	}
	for _, p := range []struct {
		value string
		into  *time.Time
		name  string
	}{{data.From, &f.Since, "From"}, {data.To, &f.Until, "To"}} {
		if p.value == "" {
			continue
		}
		t, err := time.Parse("2006-01-02T15:04", p.value)
		if err != nil {
			bad = append(bad, p.name+" must be a date and time like 2026-01-31T09:00.")
			continue
		}
		*p.into = t
	}
	csvOut := q.Get("format") == "csv"
	if csvOut {
		f.Limit = 200
	}
	var rows []adminLogRow
	if len(bad) == 0 {
		events, err := s.adminEvents(ctx, f, csvOut)
		if err != nil {
			s.error(w, r, err)
			return
		}
		rows = s.logRows(ctx, events)
	}
	if csvOut {
		s.writeLogCSV(w, rows)
		return
	}
	data.Rows = rows
	base := url.Values{}
	for k, v := range map[string]string{"user": data.User, "type": data.Type, "from": data.From, "to": data.To} {
		if v != "" {
			base.Set(k, v)
		}
	}
	csvQuery := url.Values{}
	for k, v := range base {
		csvQuery[k] = v
	}
	csvQuery.Set("format", "csv")
	data.CSV = "?" + csvQuery.Encode()
	if len(rows) == logPageSize {
		base.Set("before", rows[len(rows)-1].ID)
		data.Next = "?" + base.Encode()
	}
	status := http.StatusOK
	if len(bad) > 0 {
		status = http.StatusBadRequest
	}
	s.render(w, r, status, "admin_logs.html", pageData{Title: "Logs", Tab: "Logs", Identity: identity(r), Error: strings.Join(bad, " "), Data: data})
}

// adminBansData is what /admin/bans shows.
type adminBansData struct {
	Bans   []auth.BanView
	Target string // the lift form's value, kept on a mistake
}

// handleAdminBansPage lists the throttling bans in force, each with a
// button that lifts it, and a form to lift one by address or email.
func (s *Server) handleAdminBansPage(w http.ResponseWriter, r *http.Request) {
	s.renderBans(w, r, http.StatusOK, "", "")
}

func (s *Server) renderBans(w http.ResponseWriter, r *http.Request, status int, errMsg, target string) {
	bans, err := s.auth.Bans(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, status, "admin_bans.html", pageData{Title: "Bans", Tab: "Bans", Identity: identity(r), Error: errMsg,
		Notice: adminNotices[r.URL.Query().Get("done")], Data: adminBansData{Bans: bans, Target: target}})
}

// handleAdminBanLiftSubmit lifts the bans on the form's target.
func (s *Server) handleAdminBanLiftSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	target := r.PostForm.Get("target")
	lifted, err := s.auth.LiftBans(r.Context(), target, identity(r).User.ID, s.client(r))
	switch {
	case err == nil && len(lifted) == 0:
		s.renderBans(w, r, http.StatusNotFound, "No ban is in force on "+strings.TrimSpace(target)+".", target)
	case err == nil:
		seeOther(w, "/admin/bans?done=lifted")
	case lacop.ErrorCode(err) == lacop.EINVALID:
		s.renderBans(w, r, http.StatusBadRequest, lacop.ErrorMessage(err), target)
	default:
		s.error(w, r, err)
	}
}

// adminEvents reads one page of events, or with all set every matching
// event, page by page, up to 10,000.
func (s *Server) adminEvents(ctx context.Context, f lacop.AuditFilter, all bool) ([]*lacop.AuditEvent, error) {
	var out []*lacop.AuditEvent
	for {
		page, err := s.auth.AuditEvents(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if !all || len(page) < f.Limit || len(out) >= 10_000 {
			return out, nil
		}
		f.BeforeID = page[len(page)-1].ID
	}
}

// logRows adds the emails of the users and actors.
func (s *Server) logRows(ctx context.Context, events []*lacop.AuditEvent) []adminLogRow {
	emails := map[string]string{}
	email := func(id string) string {
		if id == "" {
			return ""
		}
		if e, ok := emails[id]; ok {
			return e
		}
		emails[id] = cmp.Or(s.auth.UserLabel(ctx, id), id)
		return emails[id]
	}
	rows := make([]adminLogRow, 0, len(events))
	for _, e := range events {
		actor := email(e.ActorID)
		switch {
		case e.ActorID != "" && e.ActorID == e.UserID:
			actor = "themselves"
		case actor == "":
			actor = byWho[e.Detail["by"]]
		}
		rows = append(rows, adminLogRow{AuditEvent: e, UserEmail: email(e.UserID), ActorEmail: actor,
			Concern: e.Type == lacop.AuditConcernReported, Text: describeEvent(e), Details: detailText(e.Detail),
			Agent: agent.Describe(e.UserAgent).String()})
	}
	return rows
}

// writeLogCSV sends rows as a CSV download.
func (s *Server) writeLogCSV(w http.ResponseWriter, rows []adminLogRow) {
	noStore(w)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="lacop-audit.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "time", "type", "user", "session", "actor", "ip", "user_agent", "detail"})
	for _, r := range rows {
		var detail []string
		for k, v := range r.Detail {
			detail = append(detail, k+"="+v)
		}
		slices.Sort(detail)
		cw.Write([]string{r.ID, r.Time.UTC().Format(time.RFC3339), r.Type, csvSafe(r.UserEmail), r.SessionID, csvSafe(r.ActorEmail),
			r.IP, csvSafe(r.UserAgent), csvSafe(strings.Join(detail, "; "))})
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a value as a formula (a user
// agent or a note is typed by whoever signs in).
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
