// Package pgtest gives a test an empty PostgreSQL schema of its own on the
// server that KAIZALA_TEST_POSTGRES names (.ci/run starts a throwaway one),
// or skips the test, saying how to run it.
package pgtest

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Env names the variable holding the test server's DSN.
const Env = "KAIZALA_TEST_POSTGRES"

// Skip skips t unless Env is set.
func Skip(t testing.TB) {
	t.Helper()
	if os.Getenv(Env) == "" {
		t.Skipf("set %s to a PostgreSQL DSN (postgres://user:password@127.0.0.1:5432/db?sslmode=disable, "+
			"a user that may create schemas and the citext extension) to run this on PostgreSQL; .ci/run starts one", Env)
	}
}

// admin is the connection that creates and drops the tests' schemas,
// opened once. It creates citext in public, where every test's search_path
// finds it: an extension is one per database, so the schemas' migrations
// find it there rather than each installing its own.
var admin = sync.OnceValues(func() (*sql.DB, error) {
	db, err := sql.Open("pgx", os.Getenv(Env))
	if err == nil {
		_, err = db.Exec(`CREATE EXTENSION IF NOT EXISTS citext SCHEMA public`)
	}
	return db, err
})

var schemas atomic.Int64

// DSN returns the DSN of a new, empty schema (a database each would be
// slower by far), dropped when t ends, with search_path set to it; it skips
// t when Env is not set. redact hides the password in what it reports.
func DSN(t testing.TB, redact func(error) error) string {
	t.Helper()
	Skip(t)
	db, err := admin()
	if err != nil {
		t.Fatalf("%s: %v", Env, redact(err))
	}
	schema := fmt.Sprintf("kaizala_test_%d_%d", os.Getpid(), schemas.Add(1))
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("creating the test schema: %v", redact(err))
	}
	// Registered first, so it runs after every Close the test registers.
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`); err != nil {
			t.Errorf("dropping the test schema %s: %v", schema, redact(err))
		}
	})
	u, err := url.Parse(os.Getenv(Env))
	if err != nil {
		t.Fatalf("%s does not parse as a URL", Env)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}
