package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
)

//go:embed templates
var templateFS embed.FS

// Each letter is templates/NAME.tmpl defining "subject", "text" (the plain
// text body) and "body" (the HTML body, inside layout.html's frame).
// Subject and text are text/template, the HTML html/template: a name or a
// browser string with markup in it is escaped in the HTML and left as it
// is in the plain text.

// Rendered is a letter ready to send.
type Rendered struct {
	Subject, Text, HTML string
}

// view is what templates see.
type view struct {
	Name      string
	PublicURL string
	// D holds the letter's data: times, addresses, browsers, links.
	D map[string]string
}

type parsed struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

var templates = sync.OnceValues(func() (*parsed, error) {
	p := &parsed{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	layout, err := fs.ReadFile(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.tmpl")
	if err != nil {
		return nil, err
	}
	for _, file := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "templates/"), ".tmpl")
		src, err := fs.ReadFile(templateFS, file)
		if err != nil {
			return nil, err
		}
		t, err := texttemplate.New(name).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("mail: template %s: %w", name, err)
		}
		h, err := htmltemplate.New("layout").Option("missingkey=error").Parse(string(layout))
		if err == nil {
			_, err = h.Parse(string(src))
		}
		if err != nil {
			return nil, fmt.Errorf("mail: template %s: %w", name, err)
		}
		p.text[name], p.html[name] = t, h
	}
	return p, nil
})

// Templates lists the letters there are.
func Templates() []string {
	p, err := templates()
	if err != nil {
		return nil
	}
	var names []string
	for n := range p.text {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func known(name string) bool { return slices.Contains(Templates(), name) }

// Render fills l's template. A key the template asks for that l.Data lacks
// is an error, never an empty line in a mail.
func Render(l Letter, publicURL string) (Rendered, error) {
	var r Rendered
	p, err := templates()
	if err != nil {
		return r, err
	}
	t, h := p.text[l.Template], p.html[l.Template]
	if t == nil {
		return r, fmt.Errorf("mail: no template %q", l.Template)
	}
	data := l.Data
	if data == nil {
		data = map[string]string{}
	}
	v := view{Name: l.Name, PublicURL: strings.TrimSuffix(publicURL, "/"), D: data}
	var subject, text, html bytes.Buffer
	if err := t.ExecuteTemplate(&subject, "subject", v); err != nil {
		return r, fmt.Errorf("mail: %s: %w", l.Template, err)
	}
	if err := t.ExecuteTemplate(&text, "text", v); err != nil {
		return r, fmt.Errorf("mail: %s: %w", l.Template, err)
	}
	if err := h.ExecuteTemplate(&html, "layout", v); err != nil {
		return r, fmt.Errorf("mail: %s: %w", l.Template, err)
	}
	// A subject is one line, whatever a template or its data hold.
	r.Subject = strings.Join(strings.Fields(subject.String()), " ")
	r.Text, r.HTML = strings.TrimSpace(text.String())+"\n", html.String()
	return r, nil
}
