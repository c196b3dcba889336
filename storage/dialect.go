package storage

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// The database is SQLite (a file path, the default) or PostgreSQL (a
// postgres:// or postgresql:// URL, for replicas that share one highly
// available database). There is one code path for both: every query is
// written once, in SQL both understand, with SQLite's ? placeholders, and
// conn and txn rebind it for PostgreSQL ($1, $2, …). What the two do not
// share is kept to this file and storage.go:
//
//   - the schema: migrations/*.sql for SQLite, migrations/postgres/*.sql for
//     PostgreSQL, the same versions and names, each PostgreSQL file the
//     translation of its SQLite twin (the rules are at the top of
//     migrations/postgres/0001_init.sql);
//   - how a transaction takes the write lock (see DB.inTx);
//   - how a constraint violation is recognised (isConstraint);
//   - booleans, which both store as 0/1 integers: SQLite's driver binds a Go
//     bool as one, pgx does not (bindArgs).

// dialect says which database a DB is.
type dialect struct {
	postgres bool
}

func (d dialect) String() string {
	if d.postgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

// isPostgresDSN reports whether dsn names a PostgreSQL database rather than
// a SQLite file.
func isPostgresDSN(dsn string) bool {
	scheme, _, ok := strings.Cut(dsn, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// RedactDSN returns dsn fit for an error or a log: a PostgreSQL URL without
// its password (in the user info or as a password parameter); a SQLite path
// as it is.
func RedactDSN(dsn string) string {
	if !isPostgresDSN(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// Not even its host is safe to show: the password may be anywhere in it.
		scheme, _, _ := strings.Cut(dsn, "://")
		return scheme + "://(a URL that does not parse)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// dsnSecrets returns the secrets in a PostgreSQL DSN, to scrub them from
// errors that quote it.
func dsnSecrets(dsn string) []string {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil
	}
	var out []string
	if pw, ok := u.User.Password(); ok && pw != "" {
		out = append(out, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	if pw := u.Query().Get("password"); pw != "" {
		out = append(out, pw, url.QueryEscape(pw))
	}
	return out
}

// scrubbed wraps an error so that its message never contains any of the
// secrets (pgx already leaves the password out of its messages; this makes
// sure of it). errors.Is and errors.As still see the error.
type scrubbed struct {
	err     error
	secrets []string
}

func scrub(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	return scrubbed{err, secrets}
}

func (s scrubbed) Error() string {
	msg := s.err.Error()
	for _, secret := range s.secrets {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "xxxxx")
		}
	}
	return msg
}

func (s scrubbed) Unwrap() error { return s.err }

// rebind turns a query's ? placeholders into PostgreSQL's $1, $2, … A ?
// inside a quoted string or identifier is left alone. SQLite's queries are
// returned as they are.
func (d dialect) rebind(query string) string {
	if !d.postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte // the quote we are inside, 0 outside
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens: same result
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// bindArgs makes args what the dialect's driver binds as SQLite does: on
// PostgreSQL a bool (of any bool type) becomes 0 or 1, since the columns are
// integers in both schemas and pgx will not bind a bool to an integer.
func (d dialect) bindArgs(args []any) []any {
	if !d.postgres {
		return args
	}
	var out []any
	for i, a := range args {
		if a == nil {
			continue
		}
		if v := reflect.ValueOf(a); v.Kind() == reflect.Bool {
			if out == nil {
				out = append([]any(nil), args...)
			}
			out[i] = int64(0)
			if v.Bool() {
				out[i] = int64(1)
			}
		}
	}
	if out == nil {
		return args
	}
	return out
}

// conn is the database, with each query rebound for its dialect. It has only
// the methods that rebind, so no query reaches the driver unrebound.
type conn struct {
	db *sql.DB
	d  dialect
}

func (c conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.db.ExecContext(ctx, c.d.rebind(query), c.d.bindArgs(args)...)
}

func (c conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.db.QueryContext(ctx, c.d.rebind(query), c.d.bindArgs(args)...)
}

func (c conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.db.QueryRowContext(ctx, c.d.rebind(query), c.d.bindArgs(args)...)
}

// txn is a transaction, with each query rebound for its dialect (see conn).
type txn struct {
	tx *sql.Tx
	d  dialect
}

func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.d.rebind(query), t.d.bindArgs(args)...)
}

func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.d.rebind(query), t.d.bindArgs(args)...)
}

func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.d.rebind(query), t.d.bindArgs(args)...)
}

// constraint is a kind of constraint violation.
type constraint int

const (
	constraintPrimaryKey constraint = iota + 1
	constraintUnique                // a UNIQUE constraint or unique index other than the primary key
	constraintForeignKey
)

// PostgreSQL's SQLSTATEs for the violations storage tells apart.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
)

// isConstraint reports whether err is a violation of that kind, in either
// dialect. PostgreSQL reports primary and other unique keys with one code;
// a primary key is told by its constraint's name, which PostgreSQL makes
// <table>_pkey (the schema names none of its primary keys itself).
func isConstraint(err error, kind constraint) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch kind {
		case constraintPrimaryKey:
			return se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
		case constraintUnique:
			return se.ExtendedCode == sqlite3.ErrConstraintUnique
		case constraintForeignKey:
			return se.ExtendedCode == sqlite3.ErrConstraintForeignKey
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		pkey := strings.HasSuffix(pe.ConstraintName, "_pkey")
		switch kind {
		case constraintPrimaryKey:
			return pe.Code == pgUniqueViolation && pkey
		case constraintUnique:
			return pe.Code == pgUniqueViolation && !pkey
		case constraintForeignKey:
			return pe.Code == pgForeignKeyViolation
		}
	}
	return false
}

// lockForUpdate is the clause that locks the rows a SELECT reads until the
// transaction ends: PostgreSQL's FOR UPDATE. SQLite has no row locks and
// needs none: its write transactions hold the whole database (see inTx).
func (d dialect) lockForUpdate() string {
	if d.postgres {
		return " FOR UPDATE"
	}
	return ""
}
