package storage

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/internal/pgtest"
)

// clock is a test Now that moves one second per call, so every stored time
// differs and orders are deterministic.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// testPostgresEnv names the variable that holds the DSN of a PostgreSQL
// database to run the PostgreSQL variants of the tests on (.ci/run starts a
// throwaway server and sets it). The user must be able to create schemas
// and the citext extension there: each test gets a schema of its own,
// dropped when it ends.
const testPostgresEnv = pgtest.Env

// backend is a kind of database the tests run on.
type backend struct {
	name string
	d    dialect
}

var backends = []backend{{"sqlite", dialect{}}, {"postgres", dialect{postgres: true}}}

// eachBackend runs test on each backend, as subtests named after it. The
// PostgreSQL one skips, saying how to run it, unless KAIZALA_TEST_POSTGRES
// is set.
func eachBackend(t *testing.T, test func(t *testing.T, be backend)) {
	t.Helper()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			if be.d.postgres {
				pgtest.Skip(t)
			}
			test(t, be)
		})
	}
}

// newDSN returns where a new, empty database is: a file in a temp dir, or on
// PostgreSQL a schema made for the test (a database each would be slower by
// far) and dropped when it ends, with the DSN's search_path set to it.
func (be backend) newDSN(t *testing.T) string {
	t.Helper()
	if !be.d.postgres {
		return filepath.Join(t.TempDir(), "kaizalabot.db")
	}
	return pgtest.DSN(t, redactDSNErr)
}

func redactDSNErr(err error) error { return scrub(err, dsnSecrets(os.Getenv(testPostgresEnv))) }

// open opens a new database; it is closed when the test ends. The string is
// its DSN, to open it again.
func (be backend) open(t *testing.T, opts Options) (*DB, string) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = newClock().Now
	}
	dsn := be.newDSN(t)
	db, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dsn
}

// openTest opens a new SQLite database (see backend.open).
func openTest(t *testing.T, opts Options) (*DB, string) {
	t.Helper()
	return backends[0].open(t, opts)
}

// rawDB opens the database as any other program would, without this
// package's schema or checks; its queries are written with ? and rebound
// for PostgreSQL, as the package's are.
func rawDB(t *testing.T, dsn string) conn {
	t.Helper()
	driver, d := "sqlite3", dialect{}
	if isPostgresDSN(dsn) {
		driver, d = "pgx", dialect{postgres: true}
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return conn{db: raw, d: d}
}

// Exec, Query, QueryRow and Close, for the tests' raw SQL.
func (c conn) Exec(query string, args ...any) (sql.Result, error) {
	return c.ExecContext(context.Background(), query, args...)
}

func (c conn) Query(query string, args ...any) (*sql.Rows, error) {
	return c.QueryContext(context.Background(), query, args...)
}

func (c conn) QueryRow(query string, args ...any) *sql.Row {
	return c.QueryRowContext(context.Background(), query, args...)
}

func (c conn) Close() error { return c.db.Close() }

func exec(t *testing.T, db conn, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func TestOpenAppliesEachSchemaMigrationOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, path := be.open(t, Options{})
		all, err := schemaMigrations(be.d)
		if err != nil || len(all) == 0 {
			t.Fatalf("embedded migrations: %v, %v", all, err)
		}
		var applied string
		if err := db.sql.QueryRow(`SELECT applied_at FROM schema_migrations WHERE version = 1`).Scan(&applied); err != nil {
			t.Fatal(err)
		}
		db.Close()

		again, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatalf("reopening: %v", err)
		}
		defer again.Close()
		var n int
		var appliedAgain string
		if err := again.sql.QueryRow(`SELECT count(*), min(applied_at) FROM schema_migrations`).Scan(&n, &appliedAgain); err != nil {
			t.Fatal(err)
		}
		if n != len(all) || appliedAgain != applied {
			t.Errorf("after reopening: %d migrations applied first at %s, want %d applied once at %s", n, appliedAgain, len(all), applied)
		}
		if v, err := again.VerifyAudit(ctx); err != nil || !v.OK || v.Rows != 0 || v.Head != genesisHash {
			t.Errorf("a new history: %+v, %v; want OK with 0 rows and the genesis head", v, err)
		}
	})
}

func TestOpenSetsThePragmas(t *testing.T) {
	db, _ := openTest(t, Options{})
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"synchronous":  "2", // FULL
		"busy_timeout": "5000",
	} {
		var got string
		if err := db.sql.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestOpenAPathThatLooksLikeAURI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd?name#with%25.db")
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at the path given: %v", err)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, path := be.open(t, Options{})
		db.Close()
		exec(t, rawDB(t, path), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', '')`)
		for name, open := range map[string]func(context.Context, string, Options) (*DB, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
			if db, err := open(ctx, path, Options{}); err == nil || !strings.Contains(err.Error(), "version 99, newer than this kaizalabot") {
				t.Errorf("%s: %v, want an error about the newer schema", name, err)
				if db != nil {
					db.Close()
				}
			}
		}
	})
}

func TestOpenReadOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		if !be.d.postgres {
			missing := filepath.Join(t.TempDir(), "missing.db")
			if _, err := OpenReadOnly(ctx, missing, Options{}); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
				t.Errorf("missing file: %v, want fs.ErrNotExist naming the path", err)
			}
			if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("OpenReadOnly created %s", missing)
			}
		}

		other := be.newDSN(t)
		exec(t, rawDB(t, other), `CREATE TABLE t (x INTEGER)`)
		if _, err := OpenReadOnly(ctx, other, Options{}); err == nil || !strings.Contains(err.Error(), "not a kaizalabot database") {
			t.Errorf("another program's database: %v", err)
		}

		unmigrated := be.newDSN(t)
		exec(t, rawDB(t, unmigrated), `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)`)
		if _, err := OpenReadOnly(ctx, unmigrated, Options{}); err == nil || !strings.Contains(err.Error(), "schema is version 0") {
			t.Errorf("an unmigrated database: %v", err)
		}

		db, path := be.open(t, Options{})
		if err := db.AppendAudit(ctx, auditEntry("scan.finished")); err != nil {
			t.Fatal(err)
		}
		ro, err := OpenReadOnly(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		if v, err := ro.VerifyAudit(ctx); err != nil || !v.OK || v.Rows != 1 {
			t.Errorf("verifying read-only: %+v, %v", v, err)
		}
		if err := ro.AppendAudit(ctx, auditEntry("scan.finished")); err == nil {
			t.Error("a read-only database accepted a write")
		}
	})
}

func TestANewDatabaseIsReadableByItsOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting(context.Background(), "pc.refresh_token", "x"); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range []string{path, path + "-wal"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := st.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s has mode %v; others must not read it", filepath.Base(p), mode)
		}
	}
}

func TestOpenMakesAnExistingDatabaseReadableByItsOwnerOnly(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	// Another process keeps it open, so the -wal and -shm files exist.
	if err := db.SetSetting(ctx, "pc.refresh_token", "x"); err != nil {
		t.Fatal(err)
	}
	modes := map[string]fs.FileMode{path: 0o754, path + "-wal": 0o644, path + "-shm": 0o660}
	for p, mode := range modes {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	again, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	for p, mode := range modes {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := mode &^ 0o077; st.Mode().Perm() != want {
			t.Errorf("%s has mode %v after Open, want %v (the owner's bits kept, the others' removed)", filepath.Base(p), st.Mode().Perm(), want)
		}
	}
}

// A slot is taken once per period, even by many at the same moment.
func TestClaimSlotOncePerPeriod(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		var wg sync.WaitGroup
		var claimed atomic.Int32
		for range 20 {
			wg.Go(func() {
				ok, _, err := db.ClaimSlot(ctx, "digest.asked", time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					claimed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := claimed.Load(); n != 1 {
			t.Fatalf("%d of 20 at once took the slot, want 1", n)
		}
		if ok, last, err := db.ClaimSlot(ctx, "digest.asked", time.Minute); err != nil || ok || last.IsZero() {
			t.Errorf("again within the period: %v %v %v; want refused, naming when it was taken", ok, last, err)
		}
		if ok, _, err := db.ClaimSlot(ctx, "digest.asked", time.Nanosecond); err != nil || !ok {
			t.Errorf("after the period: %v %v; want taken", ok, err)
		}
	})
}
