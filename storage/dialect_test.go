package storage

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
)

// The two schemas are one history: the same versions, with the same names.
func TestBothDialectsHaveTheSameSchemaMigrations(t *testing.T) {
	sqlite, err := schemaMigrations(dialect{})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := schemaMigrations(dialect{postgres: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sqlite) == 0 || len(pg) != len(sqlite) {
		t.Fatalf("%d SQLite migrations and %d PostgreSQL ones, want the same number", len(sqlite), len(pg))
	}
	for i := range sqlite {
		if sqlite[i].version != pg[i].version || sqlite[i].name != pg[i].name {
			t.Errorf("migration %d: SQLite's is %04d_%s, PostgreSQL's %04d_%s", i+1,
				sqlite[i].version, sqlite[i].name, pg[i].version, pg[i].name)
		}
	}
}

func TestRebind(t *testing.T) {
	pg := dialect{postgres: true}
	for query, want := range map[string]string{
		`SELECT 1`: `SELECT 1`,
		`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`:                   `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`,
		`UPDATE t SET x = '?', y = ? WHERE "odd?" = ? AND z = 'it''s?'`: `UPDATE t SET x = '?', y = $1 WHERE "odd?" = $2 AND z = 'it''s?'`,
		`SELECT json_extract(d, '$.a') FROM t WHERE k = ?`:              `SELECT json_extract(d, '$.a') FROM t WHERE k = $1`,
	} {
		if got := pg.rebind(query); got != want {
			t.Errorf("rebind(%s)\n = %s\nwant %s", query, got, want)
		}
		if got := (dialect{}).rebind(query); got != query {
			t.Errorf("SQLite's query was changed: %s", got)
		}
	}
}

func TestBindArgsStoresBoolsAsIntegers(t *testing.T) {
	type flag bool
	args := []any{true, false, flag(true), "x", 3, nil}
	got := dialect{postgres: true}.bindArgs(args)
	want := []any{int64(1), int64(0), int64(1), "x", 3, nil}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("arg %d: %#v, want %#v", i, got[i], want[i])
		}
	}
	if args[0] != true {
		t.Error("bindArgs changed its caller's slice")
	}
}

func TestDSNs(t *testing.T) {
	for dsn, pg := range map[string]bool{
		"postgres://u:p@h/db":          true,
		"postgresql://h/db":            true,
		"POSTGRES://h/db":              true,
		"./kaizalabot.db":              false,
		"/var/lib/kaizalabot/k.db":     false,
		"postgres.db":                  false,
		"file:postgres://not-a-dsn.db": false,
	} {
		if isPostgresDSN(dsn) != pg {
			t.Errorf("isPostgresDSN(%s) = %v", dsn, !pg)
		}
	}
	for dsn, want := range map[string]string{
		"postgres://kaizala:s3cret@db.internal:5432/kaizala?sslmode=require": "postgres://kaizala:xxxxx@db.internal:5432/kaizala?sslmode=require",
		"postgresql://db.internal/kaizala?user=k&password=s3cret":            "postgresql://db.internal/kaizala?password=xxxxx&user=k",
		"postgres://kaizala@db.internal/kaizala":                             "postgres://kaizala@db.internal/kaizala",
		"postgres://k:s3cret@db internal/%zz":                                "postgres://(a URL that does not parse)",
		"./kaizalabot.db":                                                    "./kaizalabot.db",
	} {
		if got := RedactDSN(dsn); got != want {
			t.Errorf("RedactDSN(%s) = %s, want %s", dsn, got, want)
		}
	}
}

// A PostgreSQL DSN's password never shows in an error: not for a DSN that
// does not parse, a server that is not there, or a wrong password.
func TestPostgresErrorsNeverShowThePassword(t *testing.T) {
	ctx := context.Background()
	const secret = "s3cret-Pa55word"
	dsns := []string{
		"postgres://kaizala:" + secret + "@127.0.0.1:1/kaizala?sslmode=disable&connect_timeout=5",
		"postgres://kaizala:" + secret + "@127.0.0.1:1/kaizala?sslmode=nonsense",
		"postgres://kaizala@127.0.0.1:1/kaizala?sslmode=disable&password=" + secret,
	}
	wrongPassword := ""
	if base := os.Getenv(testPostgresEnv); base != "" {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(u.User.Username(), secret) // the server is there; the password is wrong
		wrongPassword = u.String()
		dsns = append(dsns, wrongPassword)
	}
	for _, dsn := range dsns {
		for name, open := range map[string]func(context.Context, string, Options) (*DB, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
			db, err := open(ctx, dsn, Options{})
			if err == nil {
				db.Close()
				if dsn == wrongPassword {
					t.Logf("the server accepts a wrong password (trust authentication?): nothing to check")
					continue
				}
				t.Errorf("%s(%s) succeeded", name, RedactDSN(dsn))
				continue
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), url.QueryEscape(secret)) {
				t.Errorf("%s: the error shows the password: %v", name, err)
			}
		}
	}
}
