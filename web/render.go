package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/lacop/lacop"
	"github.com/lacop/lacop/auth"
	"github.com/lacop/lacop/reqid"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageData is what every page template receives.
type pageData struct {
	Title    string
	Identity *auth.Identity
	Error    string
	Notice   string
	// Tab is the admin tab the page belongs to ("" outside the admin
	// panel): the tab row and the menu mark it as the current one.
	Tab string
	// RequestID is the request's id (X-Request-Id), shown on error pages.
	RequestID string
	// Page-specific values.
	Form map[string]string
	Data any
}

// templateFuncs are the helpers pages use; now is the server's clock.
func templateFuncs(now func() time.Time) template.FuncMap {
	return template.FuncMap{
		"datetime": func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"ago":      func(t time.Time) string { return ago(now(), t) },
		"tabs":     func() []adminTab { return adminTabs },
		"add":      func(a, b int) int { return a + b },
	}
}

// parsePages parses every page together with the layout, once at start.
func parsePages(funcs template.FuncMap) (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := name[len("templates/"):]
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes a page. Every page may show session state, so none is cached.
// Only a fully signed-in session is shown as one (the menu, the account's
// name and email): a session that still owes a step has proved at most a
// password, and sees every page as someone signed out would.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data pageData) {
	if data.Identity != nil && s.auth.Pending(data.Identity) != auth.StepNone {
		data.Identity = nil
	}
	data.RequestID = reqid.From(r.Context())
	t, ok := s.pages[page]
	if !ok {
		s.logger.Error("no such template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.logger.Error("render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	noStore(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if status == http.StatusUnauthorized && w.Header()["Www-Authenticate"] == nil {
		w.Header()["Www-Authenticate"] = challengeValue // RFC 9110 15.5.2: every 401
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// json writes v as a JSON response.
func (s *Server) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.logger.Debug("write json", "err", err)
	}
}

// decodeJSON reads a JSON body into v. An empty body is allowed when
// optional is true. Oversized bodies are 413, anything unparsable 400.
func decodeJSON(r *http.Request, v any, optional bool) error {
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBodyTooLarge
	} else if err != nil {
		return lacop.Errorf(lacop.EINVALID, "Could not read the request body.")
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return errMalformedJSON
	} else if dec.More() {
		return errMalformedJSON
	}
	return nil
}

// parseForm parses a form body, mapping an oversized one to 413.
func parseForm(r *http.Request) error {
	err := r.ParseForm()
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBodyTooLarge
	} else if err != nil {
		return lacop.Errorf(lacop.EINVALID, "The form could not be read.")
	}
	return nil
}

// rootFile serves one embedded static file at a path of its own: the web
// app manifest, and the service worker, whose scope is the directory it is
// served from, so it must live at the root. Both are re-checked on every
// use (no-cache), so a new version reaches installed apps.
func (s *Server) rootFile(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			s.error(w, r, errNotFound)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}

// staticHandler serves the embedded CSS, script and icons. They hold no
// session state, so they may be cached. Only files are served: a directory
// (/static/ itself too) is 404, never a listing or a redirect to one.
func (s *Server) staticHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "static/" + strings.TrimPrefix(r.URL.Path, "/static/")
		if info, err := fs.Stat(staticFS, name); !fs.ValidPath(name) || err != nil || info.IsDir() {
			s.error(w, r, errNotFound)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.ServeFileFS(w, r, staticFS, name)
	})
}
