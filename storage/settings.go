package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Setting returns a stored setting (e.g. a rotated Partner Center refresh
// token); ok is false when it was never set.
func (db *DB) Setting(ctx context.Context, key string) (value string, ok bool, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading setting %s: %w", key, err)
	}
	return value, true, nil
}

// SetSetting stores a setting, replacing its value.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, value, formatTime(db.now()))
	if err != nil {
		// Only the key: the value may be a secret.
		return fmt.Errorf("storing setting %s: %w", key, err)
	}
	return nil
}

// ClaimSlot takes the named slot unless it was taken less than every ago,
// in one transaction, so two processes (or two clicks) asking at the same
// moment cannot both take it. last is when it was taken before (zero when
// never).
func (db *DB) ClaimSlot(ctx context.Context, name string, every time.Duration) (claimed bool, last time.Time, err error) {
	key := "slot." + name
	err = db.inTx(ctx, func(tx *txn) error {
		now := db.now()
		var value string
		switch err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&value); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			if err := (timeColumn{&last}).Scan(value); err != nil {
				return err
			}
			if now.Sub(last) < every {
				return nil
			}
		}
		claimed = true
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			key, formatTime(now), formatTime(now))
		return err
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("claiming the %s slot: %w", name, err)
	}
	return claimed, last, nil
}
