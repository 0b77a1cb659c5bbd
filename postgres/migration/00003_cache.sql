-- +goose Up
-- Cache leases (lacop.CacheLeaseStore): an instance caches sessions only
-- while its lease here is live. expires_at is Unix milliseconds on the
-- database's clock.
CREATE TABLE cache_leases (
    instance   text PRIMARY KEY,
    expires_at bigint NOT NULL
);

-- The invalidation counter: one row. Invalidate updates it and Lease reads
-- it FOR SHARE, so the two never interleave.
CREATE TABLE cache_seq (
    id int PRIMARY KEY CHECK (id = 1),
    n  bigint NOT NULL
);
INSERT INTO cache_seq (id, n) VALUES (1, 0);

-- +goose Down
DROP TABLE cache_seq;
DROP TABLE cache_leases;
