// Package pgtest gives each test a PostgreSQL database of its own, on the
// server named by LACOP_TEST_POSTGRES_URL, and drops it when the test ends.
// Tests skip when the variable is unset, except in CI (CI set), where
// skipping would hide that the PostgreSQL backend went untested.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding the URL of a PostgreSQL server where
// tests may create and drop databases, such as
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const EnvURL = "LACOP_TEST_POSTGRES_URL"

// timeout bounds each administrative step, so that a server that stopped
// answering fails the test rather than hanging it.
const timeout = 30 * time.Second

// NewDatabase creates an empty database named lacop_test_<random hex> on
// the server at $LACOP_TEST_POSTGRES_URL and returns its URL; t.Cleanup
// drops it, closing any connection left open. A set but unreachable server
// fails the test: only a missing URL outside CI skips it.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(EnvURL + " not set; CI must run the PostgreSQL tests")
		}
		t.Skip(EnvURL + " not set; skipping PostgreSQL tests")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// The parse error would repeat the URL, password and all.
		t.Fatal(EnvURL + " is not a postgres:// URL")
	}
	name := "lacop_test_" + randomHex(8)
	if err := admin(base, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := admin(base, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// NewSchema creates an empty schema named lacop_test_<random hex> in the
// database at url (one from NewDatabase) and returns url with search_path
// set to it, so that everything opened through it lives in that schema;
// t.Cleanup drops it. A schema costs a few milliseconds where a database
// costs a copy of the template, so suites that need a fresh store per
// subtest take one database and a schema per subtest.
func NewSchema(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal("pgtest: NewSchema: not a URL")
	}
	name := "lacop_test_" + randomHex(8)
	if err := admin(dbURL, `CREATE SCHEMA `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := admin(dbURL, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// admin runs one statement on a connection of its own to the database at
// url: CREATE and DROP DATABASE cannot run inside a transaction or on the
// database they name.
func admin(base, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err // pgx masks the password of the URL it prints
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
