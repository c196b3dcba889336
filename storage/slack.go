package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// Alert is an expiry alert sent (or being sent) to Slack: one per
// (subscription, threshold) ever, so a restart never alerts twice.
type Alert struct {
	SubscriptionID string
	CustomerID     string
	Threshold      int // days left that triggered it
	// Channel and TS locate the Slack message that shows it (a single
	// alert, or the batch message with the subscription's line, see
	// AlertMessage); empty until posted.
	Channel string
	TS      string
	// State is the Slack layer's own word for the alert; empty until set.
	State     string
	SentAt    time.Time
	UpdatedAt time.Time
}

// ClaimAlert records the alert for (subscription, threshold) unless it
// exists; claimed is false when it was already claimed, by this process or
// an earlier one, and the alert must not be sent again.
func (db *DB) ClaimAlert(ctx context.Context, subscriptionID, customerID string, threshold int) (claimed bool, err error) {
	now := formatTime(db.now())
	// In a transaction, so a worker that lost its lease cannot claim (fenced).
	err = db.inTx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO alerts (subscription_id, threshold, customer_id, sent_at, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (subscription_id, threshold) DO NOTHING`,
			subscriptionID, threshold, customerID, now, now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claiming the %d-day alert of subscription %s: %w", threshold, subscriptionID, err)
	}
	return claimed, nil
}

// SetAlertMessage records where a claimed alert was posted; an alert never
// claimed is ErrNotFound.
func (db *DB) SetAlertMessage(ctx context.Context, subscriptionID string, threshold int, channel, ts string) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE alerts SET channel = ?, ts = ?, updated_at = ? WHERE subscription_id = ? AND threshold = ?`,
		channel, ts, formatTime(db.now()), subscriptionID, threshold)
	if err == nil {
		err = mustHaveUpdated(res)
	}
	if err != nil {
		return fmt.Errorf("recording the message of the %d-day alert of subscription %s: %w", threshold, subscriptionID, err)
	}
	return nil
}

// SetAlertState sets the state of all of a subscription's alerts; a
// subscription never alerted about has none, which is not an error.
func (db *DB) SetAlertState(ctx context.Context, subscriptionID, state string) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE alerts SET state = ?, updated_at = ? WHERE subscription_id = ?`,
		state, formatTime(db.now()), subscriptionID)
	if err != nil {
		return fmt.Errorf("setting the alert state of subscription %s: %w", subscriptionID, err)
	}
	return nil
}

// Alerts returns a subscription's alerts in the order they were sent.
func (db *DB) Alerts(ctx context.Context, subscriptionID string) ([]Alert, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT subscription_id, customer_id, threshold, channel, ts, state, sent_at, updated_at
		FROM alerts WHERE subscription_id = ? ORDER BY sent_at, threshold DESC`, subscriptionID)
	if err != nil {
		return nil, fmt.Errorf("reading the alerts of subscription %s: %w", subscriptionID, err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		if err := rows.Scan(&a.SubscriptionID, &a.CustomerID, &a.Threshold, &a.Channel, &a.TS, &a.State,
			timeColumn{&a.SentAt}, timeColumn{&a.UpdatedAt}); err != nil {
			return nil, fmt.Errorf("reading the alerts of subscription %s: %w", subscriptionID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the alerts of subscription %s: %w", subscriptionID, err)
	}
	return out, nil
}

// SetMigrationMessage records (or moves) where a migration's plan message
// lives in Slack. An unknown migration is ErrNotFound.
func (db *DB) SetMigrationMessage(ctx context.Context, migrationID, channel, ts string) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO migration_messages (migration_id, channel, ts, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (migration_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, updated_at = excluded.updated_at`,
		migrationID, channel, ts, formatTime(db.now()))
	if err != nil {
		return fmt.Errorf("recording the Slack message of migration %s: %w", migrationID, notFoundIfNoParent(err))
	}
	return nil
}

// MigrationMessage returns where a migration's plan message lives; ok is
// false when none was recorded.
func (db *DB) MigrationMessage(ctx context.Context, migrationID string) (channel, ts string, ok bool, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT channel, ts FROM migration_messages WHERE migration_id = ?`, migrationID).Scan(&channel, &ts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("reading the Slack message of migration %s: %w", migrationID, err)
	}
	return channel, ts, true, nil
}

// RecordDigest records a digest sent at at to (channel, ts).
func (db *DB) RecordDigest(ctx context.Context, channel, ts string, at time.Time) error {
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO digests (channel, ts, at) VALUES (?, ?, ?)`, channel, ts, formatTime(at)); err != nil {
		return fmt.Errorf("recording the digest: %w", err)
	}
	return nil
}

// LastDigest returns when the latest digest was sent; ok is false before the first.
func (db *DB) LastDigest(ctx context.Context) (at time.Time, ok bool, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT at FROM digests ORDER BY at DESC, id DESC LIMIT 1`).Scan(timeColumn{&at})
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading the last digest: %w", err)
	}
	return at, true, nil
}

// mustHaveUpdated turns "no row matched" into ErrNotFound.
func mustHaveUpdated(res sql.Result) error {
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = bot.ErrNotFound
	}
	return err
}

// ForgetSlackMessages drops every record of where alerts and plans were
// posted, so the next scan alerts afresh. The demo calls it at start: its
// Slack is new each run, so old message references point nowhere. The
// audit history and the migrations themselves are kept.
func (db *DB) ForgetSlackMessages(ctx context.Context) error {
	return db.inTx(ctx, func(tx *txn) error {
		for _, table := range []string{"alert_lines", "alert_messages", "alerts", "migration_messages"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
				return fmt.Errorf("forgetting %s: %w", table, err)
			}
		}
		return nil
	})
}
