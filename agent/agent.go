// Package agent names a browser from its User-Agent header the way a person
// recognises it ("Firefox on Linux"), for session lists, activity pages and
// security mails. It is a description, never an identification: headers
// are whatever the client sends.
package agent

import (
	"strings"

	"github.com/mileusna/useragent"
)

// Agent is a user agent as a person reads it: "Chrome on Windows, desktop".
type Agent struct {
	Browser string
	OS      string
	Device  string
}

// Describe turns a User-Agent header into names a person recognises.
// Unknown parts stay "" so a page can say "Unknown browser".
func Describe(header string) Agent {
	if header == "" {
		return Agent{}
	}
	ua := useragent.Parse(header)
	a := Agent{Browser: ua.Name, OS: ua.OS}
	switch {
	case ua.Bot:
		a.Device = "Bot"
	case ua.Tablet:
		a.Device = "Tablet"
	case ua.Mobile:
		a.Device = "Phone"
	case ua.Desktop:
		a.Device = "Computer"
	}
	if ua.Device != "" && a.Device != "Computer" {
		a.Device = strings.TrimSpace(ua.Device)
	}
	if a.Browser == "" && strings.HasPrefix(header, "lacop-cli") {
		a.Browser = "lacop command line"
	}
	return a
}

// String reads "Chrome on Windows", "Safari on iOS", "Firefox", or
// "Unknown browser".
func (a Agent) String() string {
	b := a.Browser
	if b == "" {
		b = "Unknown browser"
	}
	if a.OS != "" {
		return b + " on " + a.OS
	}
	return b
}
