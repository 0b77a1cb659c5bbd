package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lacop/lacop"
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

var adminNotices = map[string]string{
	"created":  "The user is created.",
	"disabled": "The user is disabled and every one of their sessions and tokens has ended.",
	"ended":    "Every session and token of the user has ended.",
	"reset":    "The user's second factor is removed and every one of their sessions has ended.",
	"passkeys": "The user's passkeys are removed, and every session they signed in has ended.",
	"session":  "That session has ended.",
}

// adminUsersData is what /admin/users shows.
type adminUsersData struct {
	Users []adminUserView
	// ResetLink, just made for ResetFor, is shown once on this answer
	// (never in a URL or a log).
	ResetLink, ResetFor string
}

// handleAdminUsersPage lists users with their actions and a form to add one.
func (s *Server) handleAdminUsersPage(w http.ResponseWriter, r *http.Request) {
	s.renderAdminUsers(w, r, http.StatusOK, "", nil)
}

func (s *Server) renderAdminUsers(w http.ResponseWriter, r *http.Request, status int, errMsg string, form map[string]string) {
	s.renderAdminUsersWith(w, r, status, errMsg, form, adminUsersData{})
}

func (s *Server) renderAdminUsersWith(w http.ResponseWriter, r *http.Request, status int, errMsg string, form map[string]string, data adminUsersData) {
	views, err := s.adminUsers(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	data.Users = views
	noStore(w)
	s.render(w, r, status, "admin_users.html", pageData{Title: "Users", Identity: identity(r), Error: errMsg, Form: form,
		Notice: adminNotices[r.URL.Query().Get("done")], Data: data})
}

// handleAdminUserCreateSubmit adds a user from the form. On a mistake the
// form comes back with the error and what was typed, the password aside.
func (s *Server) handleAdminUserCreateSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	f := r.PostForm
	var groups []string
	for _, g := range strings.Split(f.Get("groups"), ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	_, err := s.auth.CreateUser(r.Context(), auth.NewUser{Email: f.Get("email"), Name: f.Get("name"), Password: f.Get("password"),
		Admin: f.Get("admin") == "1", Groups: groups}, identity(r).User.ID, s.client(r))
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

// handleAdminUserActionSubmit runs one action on a user from the list.
func (s *Server) handleAdminUserActionSubmit(w http.ResponseWriter, r *http.Request) {
	id, target, c := identity(r), r.PathValue("id"), s.client(r)
	var err error
	var done string
	switch r.PathValue("action") {
	case "disable":
		err, done = s.auth.DisableUser(r.Context(), target, id.User.ID, c), "disabled"
	case "end-sessions":
		_, err = s.auth.RevokeAll(r.Context(), target, id.User.ID, c)
		done = "ended"
	case "reset-2fa":
		err, done = s.auth.ResetTOTP(r.Context(), target, id.User.ID, c), "reset"
	case "remove-passkeys":
		err, done = s.auth.AdminRemovePasskeys(r.Context(), target, id.User.ID, c), "passkeys"
	case "reset-link":
		link, err := s.auth.MakeResetLink(r.Context(), target, id.User.ID, c)
		if err != nil {
			s.error(w, r, err)
			return
		}
		u, err := s.auth.Users.UserByID(r.Context(), target)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.renderAdminUsersWith(w, r, http.StatusOK, "", nil, adminUsersData{ResetLink: link, ResetFor: u.Email})
		return
	default:
		s.error(w, r, errNotFound)
		return
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if target == id.User.ID { // an admin acting on themselves is signed out
		s.forgetSession(w)
		seeOther(w, "/login?loggedOut=1&reason=admin")
		return
	}
	seeOther(w, "/admin/users?done="+done)
}

// adminSessionsData is what /admin/sessions shows.
type adminSessionsData struct {
	Sessions []adminSessionView
	Users    []adminUserView
	User     string // the filter
}

// handleAdminSessionsPage lists every live session, or one user's.
func (s *Server) handleAdminSessionsPage(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	users, err := s.adminUsers(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	sessions, err := s.adminSessions(r, user)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_sessions.html", pageData{Title: "All sessions", Identity: identity(r),
		Notice: adminNotices[r.URL.Query().Get("done")], Data: adminSessionsData{Sessions: sessions, Users: users, User: user}})
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

// auditTypes are the event types the log can be filtered by.
var auditTypes = lacop.AuditTypes()

// adminLogRow is one audit event with the names a person reads.
type adminLogRow struct {
	*lacop.AuditEvent
	UserEmail  string
	ActorEmail string
	Concern    bool
}

// adminLogsData is what /admin/logs shows.
type adminLogsData struct {
	Rows                 []adminLogRow
	Types                []string
	User, Type, From, To string
	Next                 string // query of the next (older) page, "" on the last
	CSV                  string // query of this filter as CSV
}

// logPageSize is the number of events per page of /admin/logs.
const logPageSize = 50

// handleAdminLogsPage shows the audit log, filtered by user (email), type
// and time range, a page at a time, or the whole filter as CSV.
func (s *Server) handleAdminLogsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	data := adminLogsData{Types: auditTypes, User: q.Get("user"), Type: q.Get("type"), From: q.Get("from"), To: q.Get("to")}
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
	data.CSV = csvQuery.Encode()
	if len(rows) == logPageSize {
		base.Set("before", rows[len(rows)-1].ID)
		data.Next = base.Encode()
	}
	status := http.StatusOK
	if len(bad) > 0 {
		status = http.StatusBadRequest
	}
	s.render(w, r, status, "admin_logs.html", pageData{Title: "Logs", Identity: identity(r), Error: strings.Join(bad, " "), Data: data})
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
		if u, err := s.auth.Users.UserByID(ctx, id); err == nil {
			emails[id] = u.Email
		} else {
			emails[id] = id
		}
		return emails[id]
	}
	rows := make([]adminLogRow, 0, len(events))
	for _, e := range events {
		rows = append(rows, adminLogRow{AuditEvent: e, UserEmail: email(e.UserID), ActorEmail: email(e.ActorID),
			Concern: e.Type == lacop.AuditConcernReported})
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
