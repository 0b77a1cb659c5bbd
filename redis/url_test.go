package redis

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

var parseURLTests = []struct {
	url      string
	addrs    []string
	user     string
	pass     string
	db       int
	master   string
	tls      bool
	client   string // the client type NewUniversalClient makes
	redacted string
}{
	{url: "redis://127.0.0.1:6379/0", addrs: []string{"127.0.0.1:6379"}, client: "*redis.Client",
		redacted: "redis://127.0.0.1:6379/0"},
	{url: "redis://localhost", addrs: []string{"localhost:6379"}, client: "*redis.Client",
		redacted: "redis://localhost"},
	{url: "redis://:pw@h:6380/2", addrs: []string{"h:6380"}, pass: "pw", db: 2, client: "*redis.Client",
		redacted: "redis://:xxxxx@h:6380/2"},
	{url: "redis://lacop:p%40ss%3Aw@h/3", addrs: []string{"h:6379"}, user: "lacop", pass: "p@ss:w", db: 3,
		client: "*redis.Client", redacted: "redis://lacop:xxxxx@h/3"},
	{url: "redis://lacop@h/0", addrs: []string{"h:6379"}, user: "lacop", client: "*redis.Client",
		redacted: "redis://lacop@h/0"},
	{url: "rediss://u:pw@cache.example:6380/0", addrs: []string{"cache.example:6380"}, user: "u", pass: "pw",
		tls: true, client: "*redis.Client", redacted: "rediss://u:xxxxx@cache.example:6380/0"},
	{url: "redis://u:pw@h1:6379,h2:6380/0", addrs: []string{"h1:6379", "h2:6380"}, user: "u", pass: "pw",
		client: "*redis.ClusterClient", redacted: "redis://u:xxxxx@h1:6379,h2:6380/0"},
	{url: "redis://h1,h2,[::1]:7000,[::2]", addrs: []string{"h1:6379", "h2:6379", "[::1]:7000", "[::2]:6379"},
		client: "*redis.ClusterClient", redacted: "redis://h1,h2,[::1]:7000,[::2]"},
	{url: "redis://:pw@s1:26379,s2:26379/1?master_name=mymaster", addrs: []string{"s1:26379", "s2:26379"},
		pass: "pw", db: 1, master: "mymaster", client: "*redis.Client",
		redacted: "redis://:xxxxx@s1:26379,s2:26379/1"},
	{url: "redis://s1:26379?master_name=m", addrs: []string{"s1:26379"}, master: "m", client: "*redis.Client",
		redacted: "redis://s1:26379"},
}

func TestParseURL(t *testing.T) {
	for _, tt := range parseURLTests {
		o, redacted, err := parseURL(tt.url)
		if err != nil {
			t.Errorf("parseURL(%q): %v", tt.url, err)
			continue
		}
		if !slices.Equal(o.Addrs, tt.addrs) || o.Username != tt.user || o.Password != tt.pass || o.DB != tt.db ||
			o.MasterName != tt.master || (o.TLSConfig != nil) != tt.tls {
			t.Errorf("parseURL(%q) = addrs %q user %q pass %q db %d master %q tls %v; want %q %q %q %d %q %v",
				tt.url, o.Addrs, o.Username, o.Password, o.DB, o.MasterName, o.TLSConfig != nil,
				tt.addrs, tt.user, tt.pass, tt.db, tt.master, tt.tls)
		}
		if redacted != tt.redacted {
			t.Errorf("parseURL(%q) redacted = %q; want %q", tt.url, redacted, tt.redacted)
		}
		if o.DialTimeout != 2*time.Second || o.ReadTimeout != time.Second || o.WriteTimeout != time.Second {
			t.Errorf("parseURL(%q) timeouts = dial %v read %v write %v; want 2s 1s 1s", tt.url, o.DialTimeout, o.ReadTimeout, o.WriteTimeout)
		}
		if o.MaxRetries != -1 || o.DialerRetries != 1 {
			t.Errorf("parseURL(%q) retries = %d commands, %d dials; want -1 (none), 1", tt.url, o.MaxRetries, o.DialerRetries)
		}
		c := goredis.NewUniversalClient(o)
		if got := fmt.Sprintf("%T", c); got != tt.client {
			t.Errorf("NewUniversalClient(parseURL(%q)) is a %s; want %s", tt.url, got, tt.client)
		}
		c.Close()
	}
}

func TestParseURLOptions(t *testing.T) {
	o, _, err := parseURL("rediss://h1:6379/0?dial_timeout=5s&read_timeout=3s&skip_verify=true")
	if err != nil {
		t.Fatal(err)
	}
	if o.DialTimeout != 5*time.Second || o.ReadTimeout != 3*time.Second || !o.TLSConfig.InsecureSkipVerify {
		t.Errorf("options from the query = dial %v read %v skip verify %v; want 5s 3s true",
			o.DialTimeout, o.ReadTimeout, o.TLSConfig.InsecureSkipVerify)
	}
	if o.TLSConfig.ServerName != "" {
		t.Errorf("TLS ServerName = %q; want empty (each dialled host's own)", o.TLSConfig.ServerName)
	}
}

var badURLs = []string{
	"",
	"127.0.0.1:6379",
	"http://u:secret@h:6379",
	"redis://",
	"redis://u:secret@",
	"redis://u:secret@h:abc/0",
	"redis://u:secret@h:0/0",
	"redis://u:secret@h1:6379,,h2:6379/0",
	"redis://u:secret@h1,h2/1",
	"redis://u:secret@h/0?master_name=",
	"redis://u:secret@h/0?nope=1",
	"redis://u:secret@h/x",
	"redis://u:secret@h/0/1",
	"redis://u:secret@::1:6379/0",
	"redis://u:sec%zzret@h/0",
	"redis://u%zz:secret@h/0",
}

func TestParseURLBad(t *testing.T) {
	for _, url := range badURLs {
		_, redacted, err := parseURL(url)
		if err == nil {
			t.Errorf("parseURL(%q) succeeded; want an error", url)
			continue
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(redacted, "secret") {
			t.Errorf("parseURL(%q) = %q, %v; shows the password", url, redacted, err)
		}
	}
}

func TestGraceMS(t *testing.T) {
	if want := fmt.Sprint(safetyGrace.Milliseconds()); graceMS != want {
		t.Errorf("graceMS = %s; want %s (safetyGrace)", graceMS, want)
	}
}
