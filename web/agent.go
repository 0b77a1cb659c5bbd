package web

import (
	"strings"

	"github.com/mileusna/useragent"
)

// agent is a user agent as a person reads it: "Chrome on Windows, desktop".
type agent struct {
	Browser string
	OS      string
	Device  string
}

// describeAgent turns a User-Agent header into names a person recognises.
// Unknown parts stay "" so a page can say "Unknown browser".
func describeAgent(header string) agent {
	if header == "" {
		return agent{}
	}
	ua := useragent.Parse(header)
	a := agent{Browser: ua.Name, OS: ua.OS}
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
func (a agent) String() string {
	b := a.Browser
	if b == "" {
		b = "Unknown browser"
	}
	if a.OS != "" {
		return b + " on " + a.OS
	}
	return b
}
