package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/lacop/lacop"
)

// handleEvents streams server-sent events for the caller's session: one
// "session-ended" event with the reason the moment it ends anywhere, then
// the stream closes. Idle streams get a heartbeat comment, and each
// heartbeat re-checks the session, so a stream learns of an end it was
// not told about (expiry, another process) and never keeps a session
// alive: it does not count as activity.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	events, cancel := s.auth.Notify.Subscribe(id.Session.ID)
	defer cancel()
	// The session may have ended between the check and the subscription.
	if reason, err := s.auth.StillLive(r.Context(), id.Session.ID, s.client(r)); err != nil {
		s.error(w, r, err)
		return
	} else if reason != "" {
		s.error(w, r, lacop.Errorf(lacop.EUNAUTHENTICATED, "Your session has ended."))
		return
	}

	rc := http.NewResponseController(w)
	// A stream outlives the server's read timeout, which would otherwise
	// cancel it after half a minute.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events through at once
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 5000\n: connected\n\n")
	if err := rc.Flush(); err != nil {
		return
	}

	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case ev := <-events:
			s.sendEnded(w, rc, ev.Reason)
			return
		case <-heartbeat.C:
			reason, err := s.auth.StillLive(r.Context(), id.Session.ID, s.client(r))
			if err != nil {
				s.logger.Warn("event stream re-check", "err", err)
				return // the client reconnects and is checked afresh
			} else if reason != "" {
				s.sendEnded(w, rc, reason)
				return
			}
			fmt.Fprint(w, ": heartbeat\n\n")
			if err := rc.Flush(); err != nil {
				return
			}
		case <-s.closing:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) sendEnded(w http.ResponseWriter, rc *http.ResponseController, reason string) {
	data, _ := json.Marshal(map[string]string{"reason": reason})
	fmt.Fprintf(w, "event: session-ended\ndata: %s\n\n", data)
	rc.Flush()
}
