package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/lacop/lacop"
)

// testDevices: a device is new the first time a person signs in from it
// and known after; the first device of all is marked; each person's
// devices are their own; alerts are on until turned off.
func testDevices(t *testing.T, s lacop.DeviceStore) {
	ctx := t.Context()
	laptop, phone := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	seen := func(user string, hash []byte, at time.Time, wantKnown, wantFirst bool) {
		t.Helper()
		known, first, err := s.SeenDevice(ctx, user, hash, at)
		must(t, "SeenDevice", err)
		if known != wantKnown || first != wantFirst {
			t.Errorf("SeenDevice(%s, %x) = known %v, first %v; want %v, %v", user, hash[:1], known, first, wantKnown, wantFirst)
		}
	}
	seen("u1", laptop, base, false, true)
	seen("u1", laptop, base.Add(time.Hour), true, false)
	seen("u1", phone, base.Add(2*time.Hour), false, false)
	seen("u2", laptop, base.Add(3*time.Hour), false, true) // the same browser, another person
	// Devices not seen since the cut are forgotten: the laptop (last seen
	// at 1 h) is new again, the phone (2 h) is not.
	must(t, "PruneDevices", s.PruneDevices(ctx, base.Add(90*time.Minute)))
	seen("u1", laptop, base.Add(4*time.Hour), false, false)
	seen("u1", phone, base.Add(4*time.Hour), true, false)

	for _, step := range []struct {
		set, want bool
	}{{true, true}, {false, false}, {false, false}, {true, true}} {
		must(t, "SetNewSignInAlerts", s.SetNewSignInAlerts(ctx, "u3", step.set))
		on, err := s.NewSignInAlerts(ctx, "u3")
		if err != nil || on != step.want {
			t.Errorf("NewSignInAlerts after setting %v = %v, %v; want %v", step.set, on, err, step.want)
		}
	}
	if on, err := s.NewSignInAlerts(ctx, "u4"); err != nil || !on {
		t.Errorf("NewSignInAlerts of someone who never chose = %v, %v; want on", on, err)
	}
}
