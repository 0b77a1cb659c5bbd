package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// receivers are the apps' back-channel logout endpoints (and their
// redirect URIs, which only need to exist: the tool reads the code from
// lacop's redirect). They record when each logout token arrived, for
// which app and sid, and its jti.
type receivers struct {
	base string
	srv  *http.Server
	mu   sync.Mutex
	got  []arrival
	seen map[string]int // app + " " + sid → arrivals
	jtis map[string]int
	more chan struct{}
}

type arrival struct {
	at       time.Time
	app, sid string
}

func newReceivers(apps int) *receivers {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	rc := &receivers{base: "http://" + ln.Addr().String(), seen: map[string]int{}, jtis: map[string]int{}, more: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /bc/{app}", rc.handle)
	mux.HandleFunc("GET /cb/{app}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	rc.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go rc.srv.Serve(ln)
	return rc
}

func (rc *receivers) close() { rc.srv.Close() }

// handle takes a logout token. It only reads the claims it counts by:
// the e2e tests check every rule of the token; this tool times arrivals.
func (rc *receivers) handle(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	tok := r.PostFormValue("logout_token")
	parts := strings.Split(tok, ".")
	var claims struct {
		Sid string `json:"sid"`
		Jti string `json:"jti"`
	}
	if len(parts) != 3 {
		http.Error(w, "no logout token", http.StatusBadRequest)
		return
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &claims) != nil || claims.Sid == "" || claims.Jti == "" {
		http.Error(w, "malformed logout token", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.got = append(rc.got, arrival{at: at, app: r.PathValue("app"), sid: claims.Sid})
	rc.seen[r.PathValue("app")+" "+claims.Sid]++
	rc.jtis[claims.Jti]++
	rc.mu.Unlock()
	select {
	case rc.more <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusOK)
}

// wait returns once want logouts arrived, or after timeout.
func (rc *receivers) wait(ctx context.Context, want int, timeout time.Duration) int {
	deadline := time.After(timeout)
	for {
		rc.mu.Lock()
		n := len(rc.got)
		rc.mu.Unlock()
		if n >= want {
			// A little longer, to see a duplicate if one is coming.
			time.Sleep(2 * time.Second)
			rc.mu.Lock()
			defer rc.mu.Unlock()
			return len(rc.got)
		}
		select {
		case <-rc.more:
		case <-deadline:
			return n
		case <-ctx.Done():
			return n
		}
	}
}

// latencies are the arrivals' delays after from, sorted.
func (rc *receivers) latencies(from time.Time) []time.Duration {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]time.Duration, 0, len(rc.got))
	for _, a := range rc.got {
		out = append(out, a.at.Sub(from))
	}
	slices.Sort(out)
	return out
}

// duplicates counts logout tokens that arrived more than once (same jti)
// and (app, sid) pairs told more than once.
func (rc *receivers) duplicates() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, c := range rc.jtis {
		n += c - 1
	}
	for _, c := range rc.seen {
		n += c - 1
	}
	return n
}

// missing counts (app, sid) pairs the sessions signed in to that got no
// logout.
func (rc *receivers) missing(sessions []*session, clients []appClient) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, s := range sessions {
		for _, c := range clients {
			t := s.tokens[c.id]
			if t == nil || rc.seen[c.id+" "+t.sid] == 0 {
				n++
			}
		}
	}
	return n
}
