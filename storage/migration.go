package storage

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kaizalabot/kaizalabot/bot"
)

const migrationColumns = `id, customer_id, customer_domain, customer_name, subscription_id, plan, plan_hash,
	requester_id, requester_name, state, failed_step, error, override, new_subscription_id,
	created_at, updated_at, version, failure_kind, outcome`

// CreateMigration inserts m with Version 1 (CreatedAt defaults to now). An id
// already taken is an ErrConflict, so a caller can draw a new one.
func (db *DB) CreateMigration(ctx context.Context, m *bot.Migration, audit ...bot.AuditEntry) error {
	plan, err := jsonText(m.Plan)
	if err != nil {
		return fmt.Errorf("creating migration %s: encoding the plan: %w", m.ID, err)
	}
	outcome, err := jsonText(m.Outcome)
	if err != nil {
		return fmt.Errorf("creating migration %s: encoding the outcome: %w", m.ID, err)
	}
	created := m.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	err = db.inTx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO migrations (`+migrationColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			m.ID, m.CustomerID, m.CustomerDomain, m.CustomerName, m.SubscriptionID, plan, m.PlanHash,
			m.Requester.ID, m.Requester.Name, m.State, m.FailedStep, m.Error, m.Override, m.NewSubscriptionID,
			formatTime(created), formatTime(created), m.FailureKind, outcome)
		if isConstraint(err, constraintPrimaryKey) {
			return fmt.Errorf("migration id %s is taken: %w", m.ID, bot.ErrConflict)
		}
		if isConstraint(err, constraintUnique) {
			return fmt.Errorf("subscription %s already has a migration: %w", m.SubscriptionID, bot.ErrConflict)
		}
		if err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("creating migration %s: %w", m.ID, err)
	}
	m.CreatedAt, m.UpdatedAt, m.Version = created, created, 1
	return nil
}

// GetMigration returns the migration with this id (any case), or ErrNotFound.
func (db *DB) GetMigration(ctx context.Context, id string) (*bot.Migration, error) {
	m, err := scanMigration(db.sql.QueryRowContext(ctx, `SELECT `+migrationColumns+` FROM migrations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("migration %s: %w", id, bot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading migration %s: %w", id, err)
	}
	return m, nil
}

// SaveMigration writes m if m.Version is still the stored version, then
// increments m.Version and sets m.UpdatedAt. If someone saved it meanwhile it
// returns ErrConflict, writes nothing (not the audit entries either) and
// leaves m as it was.
func (db *DB) SaveMigration(ctx context.Context, m *bot.Migration, audit ...bot.AuditEntry) error {
	plan, err := jsonText(m.Plan)
	if err != nil {
		return fmt.Errorf("saving migration %s: encoding the plan: %w", m.ID, err)
	}
	outcome, err := jsonText(m.Outcome)
	if err != nil {
		return fmt.Errorf("saving migration %s: encoding the outcome: %w", m.ID, err)
	}
	updated := db.now()
	err = db.inTx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE migrations SET customer_id = ?, customer_domain = ?, customer_name = ?,
			subscription_id = ?, plan = ?, plan_hash = ?, requester_id = ?, requester_name = ?, state = ?,
			failed_step = ?, error = ?, override = ?, new_subscription_id = ?, updated_at = ?, version = version + 1,
			failure_kind = ?, outcome = ?
			WHERE id = ? AND version = ?`,
			m.CustomerID, m.CustomerDomain, m.CustomerName, m.SubscriptionID, plan, m.PlanHash,
			m.Requester.ID, m.Requester.Name, m.State, m.FailedStep, m.Error, m.Override, m.NewSubscriptionID,
			formatTime(updated), m.FailureKind, outcome, m.ID, m.Version)
		if err != nil {
			return err
		}
		return db.versioned(ctx, tx, res, "migrations", m.ID, m.Version, audit)
	})
	if err != nil {
		return fmt.Errorf("saving migration %s: %w", m.ID, err)
	}
	m.Version++
	m.UpdatedAt = updated
	return nil
}

// ListMigrations returns the migrations matching f, oldest first.
func (db *DB) ListMigrations(ctx context.Context, f bot.MigrationFilter) ([]*bot.Migration, error) {
	var where []string
	var args []any
	if len(f.States) > 0 {
		where = append(where, "state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	if f.CustomerID != "" {
		where, args = append(where, "customer_id = ?"), append(args, f.CustomerID)
	}
	if f.SubscriptionID != "" {
		where, args = append(where, "subscription_id = ?"), append(args, f.SubscriptionID)
	}
	query := `SELECT ` + migrationColumns + ` FROM migrations`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := db.sql.QueryContext(ctx, query+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	defer rows.Close()
	var out []*bot.Migration
	for rows.Next() {
		m, err := scanMigration(rows)
		if err != nil {
			return nil, fmt.Errorf("listing migrations: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	return out, nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanMigration(r rowScanner) (*bot.Migration, error) {
	var m bot.Migration
	err := r.Scan(&m.ID, &m.CustomerID, &m.CustomerDomain, &m.CustomerName, &m.SubscriptionID, jsonColumn{&m.Plan}, &m.PlanHash,
		&m.Requester.ID, &m.Requester.Name, &m.State, &m.FailedStep, &m.Error, &m.Override, &m.NewSubscriptionID,
		timeColumn{&m.CreatedAt}, timeColumn{&m.UpdatedAt}, &m.Version, &m.FailureKind, jsonColumn{&m.Outcome})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// AddDecision records d (At defaults to now) unless the same actor already
// made the same kind of decision for the same migration and plan hash. The
// audit entries are written only when d is added: a repeated click changes
// nothing, and the history records changes. An unknown migration is ErrNotFound.
func (db *DB) AddDecision(ctx context.Context, d bot.Decision, audit ...bot.AuditEntry) (added bool, err error) {
	at := d.At
	if at.IsZero() {
		at = db.now()
	}
	err = db.inTx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO decisions (migration_id, actor_id, actor_name, kind, reason, plan_hash, at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (migration_id, actor_id, kind, plan_hash) DO NOTHING`,
			d.MigrationID, d.Actor.ID, d.Actor.Name, d.Kind, d.Reason, d.PlanHash, formatTime(at))
		if err != nil {
			return notFoundIfNoParent(err)
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		added = true
		return db.appendAudit(ctx, tx, audit)
	})
	if err != nil {
		return false, fmt.Errorf("recording %s's %s of migration %s: %w", d.Actor.ID, d.Kind, d.MigrationID, err)
	}
	return added, nil
}

// Decisions returns a migration's decisions, oldest first.
func (db *DB) Decisions(ctx context.Context, migrationID string) ([]bot.Decision, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT migration_id, actor_id, actor_name, kind, reason, plan_hash, at
		FROM decisions WHERE migration_id = ? ORDER BY at, id`, migrationID)
	if err != nil {
		return nil, fmt.Errorf("reading the decisions of migration %s: %w", migrationID, err)
	}
	defer rows.Close()
	var out []bot.Decision
	for rows.Next() {
		var d bot.Decision
		if err := rows.Scan(&d.MigrationID, &d.Actor.ID, &d.Actor.Name, &d.Kind, &d.Reason, &d.PlanHash, timeColumn{&d.At}); err != nil {
			return nil, fmt.Errorf("reading the decisions of migration %s: %w", migrationID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the decisions of migration %s: %w", migrationID, err)
	}
	return out, nil
}

// SaveStep writes s if s.Version is the stored version (0: a new step),
// then increments s.Version. A stale version is ErrConflict and writes
// nothing; an unknown migration is ErrNotFound.
func (db *DB) SaveStep(ctx context.Context, s *bot.Step, audit ...bot.AuditEntry) error {
	result, err := jsonText(s.Result)
	if err != nil {
		return fmt.Errorf("saving step %s of migration %s: encoding the result: %w", s.Name, s.MigrationID, err)
	}
	err = db.inTx(ctx, func(tx *txn) error {
		var res sql.Result
		var err error
		if s.Version == 0 {
			res, err = tx.ExecContext(ctx, `INSERT INTO steps (migration_id, name, state, ms_request_id, result, error, attempts, started_at, finished_at, version)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (migration_id, name) DO NOTHING`,
				s.MigrationID, s.Name, s.State, s.MSRequestID, result, s.Error, s.Attempts, nullTime(s.StartedAt), nullTime(s.FinishedAt))
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE steps SET state = ?, ms_request_id = ?, result = ?, error = ?, attempts = ?,
					started_at = ?, finished_at = ?, version = version + 1
				WHERE migration_id = ? AND name = ? AND version = ?`,
				s.State, s.MSRequestID, result, s.Error, s.Attempts, nullTime(s.StartedAt), nullTime(s.FinishedAt),
				s.MigrationID, s.Name, s.Version)
		}
		if err != nil {
			return notFoundIfNoParent(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n != 1 {
			var stored int
			if err := tx.QueryRowContext(ctx, `SELECT version FROM steps WHERE migration_id = ? AND name = ?`, s.MigrationID, s.Name).Scan(&stored); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return fmt.Errorf("version %d is stale, the stored one is %d: %w", s.Version, stored, bot.ErrConflict)
		}
		return db.appendAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("saving step %s of migration %s: %w", s.Name, s.MigrationID, err)
	}
	s.Version++
	return nil
}

// Steps returns a migration's steps in the order of bot.Steps (steps of
// other names last, by name).
func (db *DB) Steps(ctx context.Context, migrationID string) ([]bot.Step, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT migration_id, name, state, ms_request_id, result, error, attempts, started_at, finished_at, version
		FROM steps WHERE migration_id = ? ORDER BY name`, migrationID)
	if err != nil {
		return nil, fmt.Errorf("reading the steps of migration %s: %w", migrationID, err)
	}
	defer rows.Close()
	var out []bot.Step
	for rows.Next() {
		var s bot.Step
		if err := rows.Scan(&s.MigrationID, &s.Name, &s.State, &s.MSRequestID, jsonColumn{&s.Result}, &s.Error, &s.Attempts,
			timeColumn{&s.StartedAt}, timeColumn{&s.FinishedAt}, &s.Version); err != nil {
			return nil, fmt.Errorf("reading the steps of migration %s: %w", migrationID, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the steps of migration %s: %w", migrationID, err)
	}
	slices.SortStableFunc(out, func(a, b bot.Step) int { return cmp.Compare(stepOrder(a.Name), stepOrder(b.Name)) })
	return out, nil
}

func stepOrder(name bot.StepName) int {
	if i := slices.Index(bot.Steps, name); i >= 0 {
		return i
	}
	return len(bot.Steps)
}

// SaveUserMove inserts or replaces the move (migration id, user id);
// UpdatedAt defaults to now. An unknown migration is ErrNotFound.
func (db *DB) SaveUserMove(ctx context.Context, mv bot.UserMove, audit ...bot.AuditEntry) error {
	updated := mv.UpdatedAt
	if updated.IsZero() {
		updated = db.now()
	}
	err := db.inTx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO user_moves (migration_id, user_id, upn, display_name, state,
				ms_request_id, ms_correlation_id, error, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (migration_id, user_id) DO UPDATE SET upn = excluded.upn, display_name = excluded.display_name,
				state = excluded.state, ms_request_id = excluded.ms_request_id, ms_correlation_id = excluded.ms_correlation_id,
				error = excluded.error, updated_at = excluded.updated_at`,
			mv.MigrationID, mv.UserID, mv.UPN, mv.DisplayName, mv.State, mv.MSRequestID, mv.MSCorrelationID, mv.Error, formatTime(updated))
		if err != nil {
			return notFoundIfNoParent(err)
		}
		return db.appendAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("saving the move of user %s in migration %s: %w", mv.UPN, mv.MigrationID, err)
	}
	return nil
}

// UserMoves returns a migration's moves ordered by UPN.
func (db *DB) UserMoves(ctx context.Context, migrationID string) ([]bot.UserMove, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT migration_id, user_id, upn, display_name, state, ms_request_id, ms_correlation_id, error, updated_at
		FROM user_moves WHERE migration_id = ? ORDER BY lower(upn), user_id`, migrationID) // lower: as COLLATE NOCASE, in both dialects
	if err != nil {
		return nil, fmt.Errorf("reading the user moves of migration %s: %w", migrationID, err)
	}
	defer rows.Close()
	var out []bot.UserMove
	for rows.Next() {
		var mv bot.UserMove
		if err := rows.Scan(&mv.MigrationID, &mv.UserID, &mv.UPN, &mv.DisplayName, &mv.State, &mv.MSRequestID, &mv.MSCorrelationID,
			&mv.Error, timeColumn{&mv.UpdatedAt}); err != nil {
			return nil, fmt.Errorf("reading the user moves of migration %s: %w", migrationID, err)
		}
		out = append(out, mv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the user moves of migration %s: %w", migrationID, err)
	}
	return out, nil
}

// notFoundIfNoParent turns a foreign key violation (a row for a migration
// that does not exist) into ErrNotFound.
func notFoundIfNoParent(err error) error {
	if isConstraint(err, constraintForeignKey) {
		return fmt.Errorf("no such migration: %w", bot.ErrNotFound)
	}
	return err
}

// versioned finishes a compare-and-set UPDATE … WHERE id = ? AND version = ?
// of table: the audit rows go with an update that happened; otherwise it
// says whether the id is unknown (bot.ErrNotFound) or the version stale
// (bot.ErrConflict), and nothing is written.
func (db *DB) versioned(ctx context.Context, tx *txn, res sql.Result, table, id string, version int, audit []bot.AuditEntry) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		return db.appendAudit(ctx, tx, audit)
	}
	var stored int
	err = tx.QueryRowContext(ctx, `SELECT version FROM `+table+` WHERE id = ?`, id).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.ErrNotFound
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("version %d is stale, the stored one is %d: %w", version, stored, bot.ErrConflict)
}
