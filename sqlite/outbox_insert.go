package sqlite

import (
	"context"

	"github.com/lacop/lacop"
)

// insertDeliveries writes ds into the outbox on ex, normally the
// transaction of the change they announce, so that the change and its
// announcement commit together or not at all. An empty State becomes
// lacop.DeliveryPending (set on the delivery too); zero times are stored as
// 0, which makes a delivery with no NextAttemptAt due at once. Both the
// outbox store and EndAppGrants write through here, so the column set is
// defined in one place. Errors other than domain ones come back as they
// are, for the caller's transaction to wrap.
func insertDeliveries(ctx context.Context, ex execer, ds []*lacop.Delivery) error {
	for _, d := range ds {
		if d.ID == "" || d.Kind == "" {
			return lacop.Errorf(lacop.EINVALID, "A delivery needs an id and a kind.")
		}
		if d.State == "" {
			d.State = lacop.DeliveryPending
		}
		payload := d.Payload
		if payload == nil {
			payload = []byte{} // NOT NULL, and nil would bind as NULL
		}
		_, err := ex.ExecContext(ctx, `INSERT INTO outbox (id, kind, key, payload, state, attempts, last_error,
			created_at, next_attempt_at, lease_owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.Kind, d.Key, payload, d.State, d.Attempts, d.LastError,
			msOrZero(d.CreatedAt), msOrZero(d.NextAttemptAt), d.LeaseOwner, msOrZero(d.LeaseUntil))
		if isUniqueViolation(err) {
			return lacop.Errorf(lacop.ECONFLICT, "Delivery %s already exists.", d.ID)
		} else if err != nil {
			return err
		}
	}
	return nil
}
