// Package storage keeps kaizalabot's state in SQLite: migrations and their
// journal, scans, Slack bookkeeping, settings, and the hash-chained audit
// history. It satisfies bot.Store.
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

	"github.com/mattn/go-sqlite3"

	"github.com/kaizalabot/kaizalabot/bot"
)

// Options configure a DB.
type Options struct {
	// AuditKey, when set, makes audit hashes HMAC-SHA256 with this key, so nobody without the key can
	// recompute a valid chain after editing rows. Empty: plain SHA-256 (still detects edits and deletions).
	AuditKey []byte
	Now      func() time.Time // default time.Now
}

// DB is kaizalabot's SQLite database.
type DB struct {
	sql      *sql.DB
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

// Open opens (creating if needed) the database at path and applies the
// schema migrations it lacks.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
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
	db, err := open(ctx, path, readWriteParams, opts)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating %s: %w", path, err)
	}
	return db, nil
}

// OpenReadOnly opens an existing, migrated database for reading. It never
// creates or migrates: a missing file is an error for which
// errors.Is(err, fs.ErrNotExist), and a schema of another version is an error.
func OpenReadOnly(ctx context.Context, path string, opts Options) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	db, err := open(ctx, path, readOnlyParams, opts)
	if err != nil {
		return nil, err
	}
	if err := db.checkSchema(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return db, nil
}

func open(ctx context.Context, file, params string, opts Options) (*DB, error) {
	// A file: URI, so the path's own '?', '#' and '%' must be escaped.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(file)
	conn, err := sql.Open("sqlite3", "file:"+escaped+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", file, err)
	}
	if err := conn.PingContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("opening %s: %w", file, err)
	}
	db := &DB{sql: conn, auditKey: opts.AuditKey, now: opts.Now}
	if db.now == nil {
		db.now = time.Now
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

//go:embed migrations/*.sql
var migrationFiles embed.FS

// schemaMigration is one file of migrations/, e.g. 0001_init.sql.
type schemaMigration struct {
	version int
	name    string
	sql     string
}

// schemaMigrations returns the embedded migrations in order.
func schemaMigrations() ([]schemaMigration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
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
// own transaction. The transaction takes the write lock at BEGIN and checks
// the version again inside it, so two processes opening a new file at once
// never apply a migration twice.
func (db *DB) migrate(ctx context.Context) error {
	all, err := schemaMigrations()
	if err != nil {
		return err
	}
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	for _, m := range all {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			current, err := schemaVersion(ctx, tx)
			switch {
			case err != nil:
				return err
			case current > len(all):
				return newerSchemaError(current, len(all))
			case current >= m.version:
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
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

// checkSchema makes sure a database opened read-only has exactly the schema
// this binary knows.
func (db *DB) checkSchema(ctx context.Context) error {
	all, err := schemaMigrations()
	if err != nil {
		return err
	}
	var tables int
	if err := db.sql.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables); err != nil {
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

// querier is what *sql.DB and *sql.Tx have in common.
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

// inTx runs fn in a transaction (immediate: see readWriteParams) and commits
// if fn returns nil.
//
// A write made with a context that carries a bot.Fence (the worker's) is
// refused with bot.ErrFenced, inside the same transaction, when the fence is
// no longer the lease's.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if ctx.Value(noFenceKey{}) == nil {
		if err := checkFence(ctx, tx); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isConstraint reports whether err is the SQLite constraint violation code.
func isConstraint(err error, code sqlite3.ErrNoExtended) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == code
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
