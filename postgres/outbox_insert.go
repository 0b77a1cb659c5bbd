package postgres

import (
	"context"

	"github.com/lacop/lacop"
)

// insertDeliveries writes ds into the outbox on q, normally the
// transaction of the change they announce, so that the change and its
// announcement commit together or not at all. The rows travel as one array
// per column, so any number of deliveries is one statement. An empty State
// becomes lacop.DeliveryPending (set on the delivery too); zero times are
// stored as 0, which makes a delivery with no NextAttemptAt due at once.
// Both the outbox store and EndAppGrants write through here, so the column
// set is defined in one place. Errors other than domain ones come back as
// they are, for the caller's transaction to wrap.
func insertDeliveries(ctx context.Context, q queryer, ds []*lacop.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	n := len(ds)
	ids, kinds, keys, states := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	lastErrors, owners := make([]string, n), make([]string, n)
	payloads, attempts := make([][]byte, n), make([]int32, n)
	created, nextAttempt, leaseUntil := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, d := range ds {
		if d.ID == "" || d.Kind == "" {
			return lacop.Errorf(lacop.EINVALID, "A delivery needs an id and a kind.")
		}
		if d.State == "" {
			d.State = lacop.DeliveryPending
		}
		ids[i], kinds[i], keys[i], states[i], lastErrors[i], owners[i] = d.ID, d.Kind, d.Key, d.State, clean(d.LastError), d.LeaseOwner
		payloads[i] = d.Payload
		if payloads[i] == nil {
			payloads[i] = []byte{} // a nil element would be NULL
		}
		attempts[i] = int32(d.Attempts)
		if !d.CreatedAt.IsZero() {
			created[i] = ms(d.CreatedAt)
		}
		if !d.NextAttemptAt.IsZero() {
			nextAttempt[i] = ms(d.NextAttemptAt)
		}
		if !d.LeaseUntil.IsZero() {
			leaseUntil[i] = ms(d.LeaseUntil)
		}
	}
	_, err := q.Exec(ctx, `INSERT INTO outbox (id, kind, key, payload, state, attempts, last_error,
			created_at, next_attempt_at, lease_owner, lease_until)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::integer[], $7::text[],
			$8::bigint[], $9::bigint[], $10::text[], $11::bigint[])`,
		ids, kinds, keys, payloads, states, attempts, lastErrors, created, nextAttempt, owners, leaseUntil)
	if c, ok := uniqueViolation(err); ok && c == "outbox_pkey" {
		return lacop.Errorf(lacop.ECONFLICT, "Delivery already exists.")
	}
	return err
}
