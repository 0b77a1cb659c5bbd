package main

import (
	"testing"
	"time"
)

var printableTests = []struct{ in, want string }{
	{"", "-"},
	{"Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (X11; Linux x86_64)"},
	{"caf\u00e9 \u4e2d\u6587 \u05e9\u05dc\u05d5\u05dd", "caf\u00e9 \u4e2d\u6587 \u05e9\u05dc\u05d5\u05dd"},
	{"a\x1b[2Jb", `a\x1b[2Jb`},
	{"a\x00b\x7f", `a\x00b\x7f`},
	{"a\tb\r\nc", `a\tb\r\nc`},
	{"csi\u009b2J nel\u0085", `csi\u009b2J nel\u0085`},
	{"\u202aLRE\u202bRLE\u202cPDF\u202dLRO\u202eRLO", `\u202aLRE\u202bRLE\u202cPDF\u202dLRO\u202eRLO`},
	{"\u2066LRI\u2067RLI\u2068FSI\u2069PDI", `\u2066LRI\u2067RLI\u2068FSI\u2069PDI`},
	{"\u200eLRM\u200fRLM\u061cALM", `\u200eLRM\u200fRLM\u061cALM`},
	{"ls\u2028ps\u2029zw\u200bnb\u00a0", `ls\u2028ps\u2029zw\u200bnb\u00a0`},
	{"bad\xff\xc3end", `bad\xff\xc3end`},
	{"real \ufffd kept", "real \ufffd kept"},
	{`not \x1b an escape`, `not \\x1b an escape`},
}

func TestPrintable(t *testing.T) {
	for _, tt := range printableTests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

var parseSinceTests = []struct {
	in   string
	want time.Duration
	ok   bool
}{
	{"1d", 24 * time.Hour, true},
	{"2d12h", 60 * time.Hour, true},
	{"1d30m", 24*time.Hour + 30*time.Minute, true},
	{"36h", 36 * time.Hour, true},
	{"90m", 90 * time.Minute, true},
	{"0d", 0, true},
	{"100000d", 100_000 * 24 * time.Hour, true},
	{"", 0, false},
	{"d", 0, false},
	{"d12h", 0, false},
	{"1.5d", 0, false},
	{"-1d", 0, false},
	{"-1h", 0, false},
	{"1d-1h", 0, false},
	{"1x", 0, false},
	{"1dd", 0, false},
	{"100001d", 0, false},
	{"99999999999999999999d", 0, false},
}

func TestParseSince(t *testing.T) {
	for _, tt := range parseSinceTests {
		got, err := parseSince(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSince(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
