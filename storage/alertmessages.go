package storage

import (
	"context"
	"fmt"
	"time"
)

// Kinds of alert message.
const (
	AlertKindBatch  = "batch"  // one line per subscription: a scan's top-level message or a follow-up in its thread
	AlertKindSingle = "single" // the alert of one subscription alone
)

// AlertMessage is a Slack message that shows alerted subscriptions, one
// line each, kept so that a change re-renders it in place.
type AlertMessage struct {
	Channel, TS string
	// ThreadTS is the batch's top-level message when this one is a
	// follow-up in its thread; empty for a top-level message.
	ThreadTS string
	Kind     string // AlertKindBatch or AlertKindSingle
	PostedAt time.Time
	// Rendered is the digest of the content last sent.
	Rendered string
	// Settled: nothing on the message changes by itself any more (no line
	// counts days), so scans no longer re-render it.
	Settled bool
	Lines   []AlertLine // in the order they were added
}

// Root is the message whose thread holds the batch's follow-ups: the
// top-level message of the batch.
func (m AlertMessage) Root() string {
	if m.ThreadTS != "" {
		return m.ThreadTS
	}
	return m.TS
}

// AlertLine is an alerted subscription shown on an alert message.
type AlertLine struct {
	SubscriptionID string
	CustomerID     string
	Threshold      int // the last threshold it crossed (0: ended)
	Users          int // users holding the licence when last read; -1 unknown
	AddedAt        time.Time
}

// RecordAlertMessage records a posted alert message and its lines, and
// marks each line's claimed alert (subscription, threshold) as posted
// there, in one transaction: a line is never shown without its alert
// counting as sent.
func (db *DB) RecordAlertMessage(ctx context.Context, m AlertMessage) error {
	now := formatTime(db.now())
	posted := m.PostedAt
	if posted.IsZero() {
		posted = db.now()
	}
	err := db.inTx(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_messages (channel, ts, thread_ts, kind, posted_at, rendered, settled, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Channel, m.TS, m.ThreadTS, m.Kind, formatTime(posted), m.Rendered, m.Settled, now); err != nil {
			return err
		}
		for _, l := range m.Lines {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_lines (channel, ts, subscription_id, customer_id, threshold, users, added_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`,
				m.Channel, m.TS, l.SubscriptionID, l.CustomerID, l.Threshold, l.Users, now); err != nil {
				return fmt.Errorf("line %s: %w", l.SubscriptionID, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET channel = ?, ts = ?, updated_at = ? WHERE subscription_id = ? AND threshold = ?`,
				m.Channel, m.TS, now, l.SubscriptionID, l.Threshold); err != nil {
				return fmt.Errorf("alert of %s: %w", l.SubscriptionID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording the alert message %s/%s: %w", m.Channel, m.TS, err)
	}
	return nil
}

// AlertMessagesShowing returns the messages that show a subscription,
// oldest first, each with all of its lines. Since batches there is one;
// alerts posted before them may have left several.
func (db *DB) AlertMessagesShowing(ctx context.Context, subscriptionID string) ([]AlertMessage, error) {
	out, err := db.alertMessages(ctx, `EXISTS (SELECT 1 FROM alert_lines s WHERE s.channel = m.channel AND s.ts = m.ts AND s.subscription_id = ?)`, subscriptionID)
	if err != nil {
		return nil, fmt.Errorf("reading the alert messages of subscription %s: %w", subscriptionID, err)
	}
	return out, nil
}

// AlertBatch returns a batch's messages: its top-level message (channel,
// root) first, then the follow-ups in its thread in the order posted.
func (db *DB) AlertBatch(ctx context.Context, channel, root string) ([]AlertMessage, error) {
	out, err := db.alertMessages(ctx, `m.channel = ? AND (m.ts = ? OR m.thread_ts = ?)`, channel, root, root)
	if err != nil {
		return nil, fmt.Errorf("reading the alert batch %s/%s: %w", channel, root, err)
	}
	return out, nil
}

// UnsettledAlertMessages returns the alert messages a scan re-renders
// (those not settled), oldest first.
func (db *DB) UnsettledAlertMessages(ctx context.Context) ([]AlertMessage, error) {
	out, err := db.alertMessages(ctx, `m.settled = 0`)
	if err != nil {
		return nil, fmt.Errorf("reading the alert messages to re-render: %w", err)
	}
	return out, nil
}

// alertMessages reads the messages matching where (on alert_messages m),
// in the order posted (a thread's follow-ups after its top-level message),
// with their lines.
func (db *DB) alertMessages(ctx context.Context, where string, args ...any) ([]AlertMessage, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT m.channel, m.ts, m.thread_ts, m.kind, m.posted_at, m.rendered, m.settled,
			l.subscription_id, l.customer_id, l.threshold, l.users, l.added_at
		FROM alert_messages m JOIN alert_lines l ON l.channel = m.channel AND l.ts = m.ts
		WHERE `+where+`
		ORDER BY m.posted_at, m.thread_ts != '', m.ts, m.channel, l.added_at, l.rowid`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AlertMessage
	for rows.Next() {
		var m AlertMessage
		var l AlertLine
		if err := rows.Scan(&m.Channel, &m.TS, &m.ThreadTS, &m.Kind, timeColumn{&m.PostedAt}, &m.Rendered, &m.Settled,
			&l.SubscriptionID, &l.CustomerID, &l.Threshold, &l.Users, timeColumn{&l.AddedAt}); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].Channel == m.Channel && out[n-1].TS == m.TS {
			out[n-1].Lines = append(out[n-1].Lines, l)
			continue
		}
		m.Lines = []AlertLine{l}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetAlertRendered records what an alert message was last rendered as, and
// whether it is settled; an unknown message is ErrNotFound.
func (db *DB) SetAlertRendered(ctx context.Context, channel, ts, rendered string, settled bool) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE alert_messages SET rendered = ?, settled = ?, updated_at = ? WHERE channel = ? AND ts = ?`,
		rendered, settled, formatTime(db.now()), channel, ts)
	if err == nil {
		err = mustHaveUpdated(res)
	}
	if err != nil {
		return fmt.Errorf("recording the rendering of the alert message %s/%s: %w", channel, ts, err)
	}
	return nil
}

// RaiseAlertLine records that a subscription shown on the message (channel,
// ts) crossed threshold, and unsettles the message so that scans render it
// again; a subscription not on that message is ErrNotFound.
func (db *DB) RaiseAlertLine(ctx context.Context, channel, ts, subscriptionID string, threshold int) error {
	err := db.inTx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE alert_lines SET threshold = ? WHERE channel = ? AND ts = ? AND subscription_id = ?`,
			threshold, channel, ts, subscriptionID)
		if err == nil {
			err = mustHaveUpdated(res)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE alert_messages SET settled = 0, updated_at = ? WHERE channel = ? AND ts = ?`,
			formatTime(db.now()), channel, ts)
		return err
	})
	if err != nil {
		return fmt.Errorf("raising subscription %s to its %d-day alert on %s/%s: %w", subscriptionID, threshold, channel, ts, err)
	}
	return nil
}

// SetAlertLineUsers records how many users hold a subscription's licence,
// on every line that shows it.
func (db *DB) SetAlertLineUsers(ctx context.Context, subscriptionID string, users int) error {
	if _, err := db.sql.ExecContext(ctx, `UPDATE alert_lines SET users = ? WHERE subscription_id = ?`, users, subscriptionID); err != nil {
		return fmt.Errorf("recording the users of subscription %s: %w", subscriptionID, err)
	}
	return nil
}
