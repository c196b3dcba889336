package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

const batchColumns = `id, target, target_name, within_days, owner, requester_id, requester_name, hash, state, unplanned,
	rejected_by_id, rejected_by_name, reject_reason, created_at, updated_at, version`

// unplanned is a bot.Unplanned in the batches.unplanned JSON column; the
// tags keep the stored names when the Go names change.
type unplanned struct {
	SubscriptionID string    `json:"subscriptionId"`
	CustomerID     string    `json:"customerId"`
	CustomerDomain string    `json:"customerDomain,omitempty"`
	CustomerName   string    `json:"customerName,omitempty"`
	Seats          int       `json:"seats"`
	EndDate        time.Time `json:"endDate,omitzero"`
	Reason         string    `json:"reason"`
}

// CreateBatch inserts b and its members with Version 1 (CreatedAt defaults
// to now), and the audit entries, in one transaction. A taken id, or a
// migration already in a batch, is ErrConflict; an unknown migration is
// ErrNotFound.
func (db *DB) CreateBatch(ctx context.Context, b *bot.Batch, audit ...bot.AuditEntry) error {
	rows := make([]unplanned, len(b.Unplanned))
	for i, u := range b.Unplanned {
		rows[i] = unplanned{SubscriptionID: u.SubscriptionID, CustomerID: u.Customer.ID, CustomerDomain: u.Customer.Domain,
			CustomerName: u.Customer.Name, Seats: u.Seats, EndDate: u.EndDate.UTC(), Reason: u.Reason}
	}
	unplannedJSON, err := jsonText(rows)
	if err != nil {
		return fmt.Errorf("creating batch %s: encoding what could not be planned: %w", b.ID, err)
	}
	created := b.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	err = db.inTx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO batches (`+batchColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			b.ID, b.Target, b.TargetName, b.WithinDays, b.Owner, b.Requester.ID, b.Requester.Name, b.Hash, b.State, unplannedJSON,
			b.RejectedBy.ID, b.RejectedBy.Name, b.RejectReason, formatTime(created), formatTime(created))
		if isConstraint(err, constraintPrimaryKey) {
			return fmt.Errorf("batch id %s is taken: %w", b.ID, bot.ErrConflict)
		}
		if err != nil {
			return err
		}
		for i, m := range b.Members {
			_, err := tx.ExecContext(ctx, `INSERT INTO batch_members (batch_id, migration_id, position, plan_hash) VALUES (?, ?, ?, ?)`,
				b.ID, m.MigrationID, i, m.PlanHash)
			switch {
			case isConstraint(err, constraintUnique), isConstraint(err, constraintPrimaryKey):
				return fmt.Errorf("migration %s is already in a batch: %w", m.MigrationID, bot.ErrConflict)
			case err != nil:
				return notFoundIfNoParent(err)
			}
		}
		return db.appendAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("creating batch %s: %w", b.ID, err)
	}
	b.CreatedAt, b.UpdatedAt, b.Version = created, created, 1
	return nil
}

// GetBatch returns the batch with this id (any case) and its members, or
// ErrNotFound.
func (db *DB) GetBatch(ctx context.Context, id string) (*bot.Batch, error) {
	var b bot.Batch
	var rows []unplanned
	err := db.sql.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = ?`, id).Scan(
		&b.ID, &b.Target, &b.TargetName, &b.WithinDays, &b.Owner, &b.Requester.ID, &b.Requester.Name, &b.Hash, &b.State,
		jsonColumn{&rows}, &b.RejectedBy.ID, &b.RejectedBy.Name, &b.RejectReason, timeColumn{&b.CreatedAt}, timeColumn{&b.UpdatedAt}, &b.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("batch %s: %w", id, bot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading batch %s: %w", id, err)
	}
	for _, u := range rows {
		b.Unplanned = append(b.Unplanned, bot.Unplanned{SubscriptionID: u.SubscriptionID,
			Customer: bot.Customer{ID: u.CustomerID, Domain: u.CustomerDomain, Name: u.CustomerName},
			Seats:    u.Seats, EndDate: u.EndDate, Reason: u.Reason})
	}
	members, err := db.sql.QueryContext(ctx, `SELECT migration_id, plan_hash FROM batch_members WHERE batch_id = ? ORDER BY position`, b.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the members of batch %s: %w", id, err)
	}
	defer members.Close()
	for members.Next() {
		var m bot.BatchMember
		if err := members.Scan(&m.MigrationID, &m.PlanHash); err != nil {
			return nil, fmt.Errorf("reading the members of batch %s: %w", id, err)
		}
		b.Members = append(b.Members, m)
	}
	if err := members.Err(); err != nil {
		return nil, fmt.Errorf("reading the members of batch %s: %w", id, err)
	}
	return &b, nil
}

// SaveBatch writes b's state and rejection if b.Version is still the stored
// version, then increments b.Version and sets b.UpdatedAt; its members and
// what could not be planned are fixed when it is created. If someone saved
// it meanwhile it returns ErrConflict, writes nothing (not the audit entries
// either) and leaves b as it was.
func (db *DB) SaveBatch(ctx context.Context, b *bot.Batch, audit ...bot.AuditEntry) error {
	updated := db.now()
	err := db.inTx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE batches SET state = ?, rejected_by_id = ?, rejected_by_name = ?, reject_reason = ?,
			updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?`,
			b.State, b.RejectedBy.ID, b.RejectedBy.Name, b.RejectReason, formatTime(updated), b.ID, b.Version)
		if err != nil {
			return err
		}
		return db.versioned(ctx, tx, res, "batches", b.ID, b.Version, audit)
	})
	if err != nil {
		return fmt.Errorf("saving batch %s: %w", b.ID, err)
	}
	b.Version++
	b.UpdatedAt = updated
	return nil
}

// BatchOf returns the id of the batch a migration is a member of, or
// ErrNotFound.
func (db *DB) BatchOf(ctx context.Context, migrationID string) (string, error) {
	var id string
	err := db.sql.QueryRowContext(ctx, `SELECT batch_id FROM batch_members WHERE migration_id = ?`, migrationID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("migration %s is in no batch: %w", migrationID, bot.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("finding the batch of migration %s: %w", migrationID, err)
	}
	return id, nil
}

// BatchMigrations returns a batch's member migrations as they stand, in the
// batch's order (none for an unknown batch).
func (db *DB) BatchMigrations(ctx context.Context, batchID string) ([]*bot.Migration, error) {
	// A subquery, since batch_members has a plan_hash column too.
	rows, err := db.sql.QueryContext(ctx, `SELECT `+migrationColumns+` FROM (
			SELECT m.*, b.position AS batch_position FROM migrations m JOIN batch_members b ON b.migration_id = m.id
			WHERE b.batch_id = ?) AS members
		ORDER BY batch_position`, batchID)
	if err != nil {
		return nil, fmt.Errorf("reading the migrations of batch %s: %w", batchID, err)
	}
	defer rows.Close()
	var out []*bot.Migration
	for rows.Next() {
		m, err := scanMigration(rows)
		if err != nil {
			return nil, fmt.Errorf("reading the migrations of batch %s: %w", batchID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the migrations of batch %s: %w", batchID, err)
	}
	return out, nil
}

// BatchMessage is where a batch's message is in Slack.
type BatchMessage struct {
	Channel, TS string
	// ProgressTS is the progress reply in its thread, "" until posted.
	ProgressTS string
	// Announced is the last outcome announced in the thread, "" for none.
	Announced string
}

// SetBatchMessage records (or moves) where a batch's message lives in
// Slack, keeping its progress reply and announcement. An unknown batch is
// ErrNotFound.
func (db *DB) SetBatchMessage(ctx context.Context, batchID, channel, ts string) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO batch_messages (batch_id, channel, ts, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (batch_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, updated_at = excluded.updated_at`,
		batchID, channel, ts, formatTime(db.now()))
	if err != nil {
		if isConstraint(err, constraintForeignKey) {
			err = fmt.Errorf("no such batch: %w", bot.ErrNotFound)
		}
		return fmt.Errorf("recording the Slack message of batch %s: %w", batchID, err)
	}
	return nil
}

// SetBatchProgress records the batch's progress reply and the outcome last
// announced; a batch whose message was never recorded is ErrNotFound.
func (db *DB) SetBatchProgress(ctx context.Context, batchID, progressTS, announced string) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE batch_messages SET progress_ts = ?, announced = ?, updated_at = ? WHERE batch_id = ?`,
		progressTS, announced, formatTime(db.now()), batchID)
	if err == nil {
		err = mustHaveUpdated(res)
	}
	if err != nil {
		return fmt.Errorf("recording the progress reply of batch %s: %w", batchID, err)
	}
	return nil
}

// GetBatchMessage returns where a batch's message lives; ok is false when
// none was recorded.
func (db *DB) GetBatchMessage(ctx context.Context, batchID string) (m BatchMessage, ok bool, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT channel, ts, progress_ts, announced FROM batch_messages WHERE batch_id = ?`, batchID).
		Scan(&m.Channel, &m.TS, &m.ProgressTS, &m.Announced)
	if errors.Is(err, sql.ErrNoRows) {
		return BatchMessage{}, false, nil
	}
	if err != nil {
		return BatchMessage{}, false, fmt.Errorf("reading the Slack message of batch %s: %w", batchID, err)
	}
	return m, true, nil
}
