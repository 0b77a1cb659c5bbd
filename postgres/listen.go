package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// listen runs one connection of its own: LISTEN channel, call listening,
// then hand every payload that arrives to handle until the connection
// fails or ctx ends. A connection silent for health is pinged, so a
// server that vanished without closing it is noticed.
func (db *DB) listen(ctx context.Context, channel string, health time.Duration, listening func(), handle func(payload string)) error {
	cfg := db.pool.Config().ConnConfig
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return redact(err, cfg.Password)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+channel); err != nil {
		return err
	}
	listening()
	for {
		waitCtx, cancel := context.WithTimeout(ctx, health)
		nt, err := conn.WaitForNotification(waitCtx)
		idle := waitCtx.Err() != nil
		cancel()
		switch {
		case err == nil:
			handle(nt.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case idle:
			pingCtx, cancel := context.WithTimeout(ctx, health)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}
