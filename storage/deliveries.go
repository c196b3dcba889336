package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// deliveryTTL is how long a Slack delivery is remembered; Slack retries
// within minutes.
const deliveryTTL = time.Hour

// pruneEvery: one new delivery in this many prunes the old ones, so pruning
// needs no timer and no state, and costs nothing on most requests.
const pruneEvery = 64

// FirstDelivery records a Slack delivery (e.g. "command:" and a trigger_id)
// and reports whether no process sharing this database had recorded it, so
// two replicas never both handle a request Slack sent again. When pruning
// old deliveries fails, it reports true with the error.
func (db *DB) FirstDelivery(ctx context.Context, key string) (bool, error) {
	now := db.now()
	// RETURNING the new row's rowid (PostgreSQL's schema has the column
	// SQLite gives every table): no row when the key was recorded already.
	var id int64
	err := db.sql.QueryRowContext(ctx, `INSERT INTO slack_deliveries (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING rowid`,
		key, formatTime(now)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recording Slack delivery %s: %w", key, err)
	}
	if id%pruneEvery == 0 {
		if _, err := db.sql.ExecContext(ctx, `DELETE FROM slack_deliveries WHERE at < ?`, formatTime(now.Add(-deliveryTTL))); err != nil {
			return true, fmt.Errorf("pruning Slack deliveries: %w", err)
		}
	}
	return true, nil
}
