package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/lacop/lacop/auth"
)

// TestPendingSessionNotTouched: a session that owes a step (here the
// enrolment require_second_factor asks for) is not kept alive by its own
// requests; a fully signed-in one is. Both are asked every 10 minutes for
// an hour with a 30-minute inactivity timeout.
func TestPendingSessionNotTouched(t *testing.T) {
	for _, tt := range []struct {
		name    string
		require bool
		alive   bool
	}{
		{"signed in", false, true},
		{"owing enrolment", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig
			cfg.RequireSecondFactor = tt.require
			e := newEnv(t, cfg)
			e.createUser(t, "pat@example.com", alicePassword)
			in := e.login(t, "pat@example.com", alicePassword, false)
			var err error
			for i := 0; i < 6 && err == nil; i++ {
				e.clock.Advance(10 * time.Minute)
				_, err = e.svc.Authenticate(e.ctx, in.Secret, client)
			}
			if alive := err == nil; alive != tt.alive {
				t.Errorf("after an hour of requests every 10 minutes: Authenticate err = %v; want alive %v", err, tt.alive)
			}
			if !tt.alive && !errors.Is(err, auth.ErrSessionExpired) {
				t.Errorf("err = %v; want ErrSessionExpired (ended by inactivity)", err)
			}
		})
	}
}
