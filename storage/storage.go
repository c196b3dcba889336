// Package storage keeps kaizalabot's state in SQLite (a file, the default)
// or PostgreSQL (for replicas sharing one highly available database; see
// dialect.go): migrations and their journal, scans, Slack bookkeeping,
// settings, and the hash-chained audit history. It satisfies bot.Store.
package storage

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver

	"github.com/kaizalabot/kaizalabot/bot"
)

// Options configure a DB.
type Options struct {
	// AuditKey, when set, makes audit hashes HMAC-SHA256 with this key, so nobody without the key can
	// recompute a valid chain after editing rows. Empty: plain SHA-256 (still detects edits and deletions).
	AuditKey []byte
	Now      func() time.Time // default time.Now
}

// DB is kaizalabot's database.
type DB struct {
	sql      conn
	d        dialect
	readOnly bool
	auditKey []byte
	now      func() time.Time
}

var _ bot.Store = (*DB)(nil)

// readWriteParams: WAL lets `audit` and the digest read while the bot writes;
// synchronous=FULL because this database records money being spent; and
// txlock=immediate takes the write lock at BEGIN, so reading the audit head
// and appending after it (or checking a version and updating) is atomic.
const readWriteParams = "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=5000&_synchronous=FULL&_txlock=immediate"

// readOnlyParams: mode=ro never creates the file; transactions stay deferred
// (a read snapshot) so verifying never holds the bot's write lock.
const readOnlyParams = "mode=ro&_foreign_keys=on&_busy_timeout=5000"

// Open opens (creating if needed) the database and applies the schema
// migrations it lacks. dsn is a postgres:// or postgresql:// URL for
// PostgreSQL (the database must exist; its tables are created), anything
// else the path of a SQLite file.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	var db *DB
	var err error
	if isPostgresDSN(dsn) {
		db, err = openPostgres(ctx, dsn, false, opts)
	} else {
		db, err = openSQLite(ctx, dsn, opts)
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating %s: %w", RedactDSN(dsn), err)
	}
	return db, nil
}

func openSQLite(ctx context.Context, path string, opts Options) (*DB, error) {
	// The database holds the rotated Partner Center refresh token: create it
	// readable by its owner only (SQLite gives its -wal and -shm files the
	// same permissions). One made before that, or copied in, may be readable
	// by others: take away their access, and leave the owner's as it is.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && st.Mode().Perm()&0o077 != 0 {
			err = os.Chmod(p, st.Mode().Perm()&^0o077)
		}
		if err != nil {
			return nil, fmt.Errorf("making %s readable by its owner only: %w", p, err)
		}
	}
	return open(ctx, path, readWriteParams, opts)
}

// OpenReadOnly opens an existing, migrated database for reading. It never
// creates or migrates: a missing SQLite file is an error for which
// errors.Is(err, fs.ErrNotExist), and a schema of another version is an
// error. On PostgreSQL every transaction is read-only
// (default_transaction_read_only) and reads one snapshot.
func OpenReadOnly(ctx context.Context, dsn string, opts Options) (*DB, error) {
	var db *DB
	var err error
	if isPostgresDSN(dsn) {
		db, err = openPostgres(ctx, dsn, true, opts)
	} else {
		if _, err := os.Stat(dsn); err != nil {
			return nil, fmt.Errorf("opening the database: %w", err)
		}
		db, err = open(ctx, dsn, readOnlyParams, opts)
		if db != nil {
			db.readOnly = true
		}
	}
	if err != nil {
		return nil, err
	}
	if err := db.checkSchema(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", RedactDSN(dsn), err)
	}
	return db, nil
}

func open(ctx context.Context, file, params string, opts Options) (*DB, error) {
	// A file: URI, so the path's own '?', '#' and '%' must be escaped.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(file)
	raw, err := sql.Open("sqlite3", "file:"+escaped+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", file, err)
	}
	if err := raw.PingContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("opening %s: %w", file, err)
	}
	return newDB(raw, dialect{}, opts), nil
}

func newDB(raw *sql.DB, d dialect, opts Options) *DB {
	db := &DB{sql: conn{db: raw, d: d}, d: d, auditKey: opts.AuditKey, now: opts.Now}
	if db.now == nil {
		db.now = time.Now
	}
	return db
}

// postgresParams are the session settings a PostgreSQL connection gets
// unless the DSN sets them itself.
//
//   - lock_timeout: a transaction that waits this long for the write lock
//     (see inTx) fails, as SQLite's busy_timeout makes it.
//   - idle_in_transaction_session_timeout: the server ends a session that
//     sits inside a transaction this long. storage never waits on anything
//     but the database inside one, so only a paused (SIGSTOP) or hung
//     process does: its transaction is rolled back and its locks released,
//     so the others (and a takeover of the lease) go on, and what it had
//     not committed never is. UNCONFIRMED value: twice bot.DefaultLeaseTTL.
//   - application_name, to tell kaizalabot's sessions apart in pg_stat_activity.
var postgresParams = map[string]string{
	"lock_timeout":                        "5s",
	"idle_in_transaction_session_timeout": "30s",
	"application_name":                    "kaizalabot",
}

// openPostgres connects to the PostgreSQL database at dsn (a URL; its
// password never appears in an error) through pgx's database/sql driver.
func openPostgres(ctx context.Context, dsn string, readOnly bool, opts Options) (*DB, error) {
	where, secrets := RedactDSN(dsn), dsnSecrets(dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", where, scrub(err, secrets))
	}
	for k, v := range postgresParams {
		if _, set := cfg.RuntimeParams[k]; !set {
			cfg.RuntimeParams[k] = v
		}
	}
	if readOnly {
		// The server refuses every write, whatever a caller tries.
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	raw := stdlib.OpenDB(*cfg)
	if err := raw.PingContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("opening %s: %w", where, scrub(err, secrets))
	}
	db := newDB(raw, dialect{postgres: true}, opts)
	db.readOnly = readOnly
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.db.Close() }

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// schemaMigration is one file of migrations/, e.g. 0001_init.sql.
type schemaMigration struct {
	version int
	name    string
	sql     string
}

// migrationsDir is where the dialect's schema migrations are.
func (d dialect) migrationsDir() string {
	if d.postgres {
		return "migrations/postgres"
	}
	return "migrations"
}

// schemaMigrations returns the dialect's embedded migrations in order.
func schemaMigrations(d dialect) ([]schemaMigration, error) {
	names, err := fs.Glob(migrationFiles, d.migrationsDir()+"/*.sql")
	if err != nil {
		return nil, err
	}
	var out []schemaMigration
	for _, name := range names { // fs.Glob returns them sorted
		base := strings.TrimSuffix(path.Base(name), ".sql")
		num, label, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version != len(out)+1 {
			return nil, fmt.Errorf("schema migration %s: want NNNN_name.sql numbered from 0001 without gaps", name)
		}
		text, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, schemaMigration{version: version, name: label, sql: string(text)})
	}
	return out, nil
}

// migrate applies each migration the database lacks, in order, each in its
// own transaction. The transaction takes the write lock at BEGIN (on
// PostgreSQL, the lock inTx takes) and checks the version again inside it,
// so two processes opening a new database at once never apply a migration
// twice. On PostgreSQL the schema_migrations table is created under that
// lock too: two CREATE TABLE IF NOT EXISTS at once can fail there.
func (db *DB) migrate(ctx context.Context) error {
	all, err := schemaMigrations(db.d)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
		return err
	})
	if err != nil {
		return err
	}
	for _, m := range all {
		err := db.inTx(ctx, func(tx *txn) error {
			current, err := schemaVersion(ctx, tx)
			switch {
			case err != nil:
				return err
			case current > len(all):
				return newerSchemaError(current, len(all))
			case current >= m.version:
				return nil
			}
			// As written, not rebound: a migration has no placeholders, and
			// PostgreSQL's may quote a function's body with $$.
			if _, err := tx.tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("applying %04d_%s: %w", m.version, m.name, err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, formatTime(db.now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// hasTableQuery counts the tables named ? that the database's queries see.
func (d dialect) hasTableQuery() string {
	if d.postgres {
		return `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	return `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
}

// checkSchema makes sure a database opened read-only has exactly the schema
// this binary knows.
func (db *DB) checkSchema(ctx context.Context) error {
	all, err := schemaMigrations(db.d)
	if err != nil {
		return err
	}
	var tables int
	if err := db.sql.QueryRowContext(ctx, db.d.hasTableQuery(), "schema_migrations").Scan(&tables); err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	if tables == 0 {
		return errors.New("not a kaizalabot database (it has no schema_migrations table)")
	}
	current, err := schemaVersion(ctx, db.sql)
	switch {
	case err != nil:
		return err
	case current > len(all):
		return newerSchemaError(current, len(all))
	case current < len(all):
		return fmt.Errorf("the database's schema is version %d and this kaizalabot reads version %d; "+
			"it is migrated the next time the bot opens it for writing", current, len(all))
	}
	return nil
}

func newerSchemaError(have, know int) error {
	return fmt.Errorf("the database's schema is version %d, newer than this kaizalabot knows (%d): use a newer kaizalabot", have, know)
}

// querier is what conn and *txn have in common.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	return v, nil
}

// PGWriteLock is the key of the PostgreSQL advisory lock that every write
// transaction holds ("kaizala" in ASCII). Advisory locks are per database,
// so databases on one server do not share it.
const PGWriteLock int64 = 0x6b61697a616c61

// inTx runs fn in a transaction and commits if fn returns nil.
//
// The transaction holds the database's write lock from its start until it
// ends, so whatever it reads stays true until it commits: no other write
// transaction runs in between. That is what makes reading the audit head
// and appending after it, checking a version and updating, and checking
// the fence and writing atomic. SQLite takes the lock at BEGIN
// (_txlock=immediate). PostgreSQL has no such lock, and its default
// isolation (read committed) would let two transactions read the same head,
// or a takeover of the lease commit between a fence check and the write it
// guards; so inTx first takes a transaction-scoped advisory lock
// (pg_advisory_xact_lock), the same one in every write transaction, which
// the server releases when the transaction ends, however it ends (also
// when it kills the session of a paused process: see postgresParams). Each
// statement after it sees everything committed before it, as in SQLite.
// Serialisation rather than SERIALIZABLE isolation: the latter fails
// transactions for the caller to retry, which nothing here does.
//
// On a read-only PostgreSQL database a transaction takes no lock: it is
// read-only and repeatable read, one snapshot, as SQLite's deferred read
// transactions are.
//
// A write made with a context that carries a bot.Fence (the worker's) is
// refused with bot.ErrFenced, inside the same transaction, when the fence is
// no longer the lease's.
func (db *DB) inTx(ctx context.Context, fn func(tx *txn) error) error {
	var opts *sql.TxOptions
	if db.d.postgres && db.readOnly {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	raw, err := db.sql.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	tx := &txn{tx: raw, d: db.d}
	if db.d.postgres && !db.readOnly {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, PGWriteLock); err != nil {
			_ = raw.Rollback()
			return fmt.Errorf("taking the write lock: %w", err)
		}
	}
	if ctx.Value(noFenceKey{}) == nil {
		if err := checkFence(ctx, tx); err != nil {
			_ = raw.Rollback()
			return err
		}
	}
	if err := fn(tx); err != nil {
		_ = raw.Rollback()
		return err
	}
	return raw.Commit()
}

// timeLayout is RFC 3339 with a fixed nine-digit fraction, always written in
// UTC, so stored times sort as text (with RFC3339Nano "…:05Z" would sort
// after "…:05.5Z").
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// timeColumn scans a stored time (NULL: the zero time) into *t.
type timeColumn struct{ t *time.Time }

func (c timeColumn) Scan(src any) error {
	text, ok, err := textOf(src)
	if err != nil || !ok {
		*c.t = time.Time{}
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return fmt.Errorf("stored time %q: %w", text, err)
	}
	*c.t = t.UTC()
	return nil
}

// textOf returns a text column's value; ok is false for NULL.
func textOf(src any) (text string, ok bool, err error) {
	switch v := src.(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case []byte:
		return string(v), true, nil
	}
	return "", false, fmt.Errorf("want text, got %T", src)
}

// jsonColumn scans a JSON text column into v (NULL leaves v alone).
type jsonColumn struct{ v any }

func (c jsonColumn) Scan(src any) error {
	text, ok, err := textOf(src)
	if err != nil || !ok {
		return err
	}
	return json.Unmarshal([]byte(text), c.v)
}

// jsonText encodes v for a JSON column.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
