// Package reqid carries a request's id through its context, so the log
// lines a request causes (here and in the packages it calls) and the error
// page its person sees can be matched up.
package reqid

import (
	"context"
	"crypto/rand"
)

type key struct{}

// New returns a fresh id: 26 characters of crypto/rand base32, unique
// enough to find one request among a year's logs.
func New() string { return rand.Text() }

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context { return context.WithValue(ctx, key{}, id) }

// From returns the id ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
