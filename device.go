package lacop

import (
	"context"
	"time"
)

// DeviceStore remembers the browsers each person has signed in from, by
// the SHA-256 of a random id lacop keeps in a long-lived cookie there (a
// cookie, never a fingerprint), so a sign-in from a new one can be told to
// the person; and whether they want to be told.
type DeviceStore interface {
	// SeenDevice records that userID signed in at now from the device
	// whose id hashes to hash. known says the device signed in before;
	// first that no device of userID had.
	SeenDevice(ctx context.Context, userID string, hash []byte, now time.Time) (known, first bool, err error)
	// NewSignInAlerts reports whether userID wants mail about sign-ins
	// from new devices (yes unless turned off).
	NewSignInAlerts(ctx context.Context, userID string) (bool, error)
	// SetNewSignInAlerts turns those mails on or off for userID.
	SetNewSignInAlerts(ctx context.Context, userID string, on bool) error
	// PruneDevices forgets the devices not seen since before.
	PruneDevices(ctx context.Context, before time.Time) error
}
