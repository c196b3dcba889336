package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kaizalabot/kaizalabot/bot"
)

// SaveScan records a scan in one transaction: each finding's latest state
// (keeping when it was first seen; last seen is when the scan finished) and
// the scan's summary. Subscriptions a scan did not see are kept as they were:
// their customer may just have failed to read this time.
func (db *DB) SaveScan(ctx context.Context, r *bot.ScanReport) error {
	seen := r.Finished
	if seen.IsZero() {
		seen = db.now()
	}
	failures := make([]string, len(r.Failures))
	for i, f := range r.Failures {
		failures[i] = fmt.Sprintf("%s (%s): %v", f.Customer.Label(), f.Customer.ID, f.Err)
	}
	failuresJSON, err := jsonText(failures)
	if err != nil {
		return fmt.Errorf("saving the scan: %w", err)
	}
	access := make([]scanAccess, len(r.Access))
	for i, a := range r.Access {
		access[i] = scanAccess(a.Summary())
	}
	accessJSON, err := jsonText(access)
	if err != nil {
		return fmt.Errorf("saving the scan: %w", err)
	}
	err = db.inTx(ctx, func(tx *txn) error {
		for _, f := range r.Findings {
			c, s := f.Customer, f.Subscription
			_, err := tx.ExecContext(ctx, `INSERT INTO tracked_subscriptions (subscription_id, customer_id, customer_domain,
					customer_name, offer_id, offer_name, friendly_name, quantity, status, auto_renew, billing_cycle, end_date,
					retired, days_left, first_seen, last_seen)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (subscription_id) DO UPDATE SET customer_id = excluded.customer_id,
					customer_domain = excluded.customer_domain, customer_name = excluded.customer_name,
					offer_id = excluded.offer_id, offer_name = excluded.offer_name, friendly_name = excluded.friendly_name,
					quantity = excluded.quantity, status = excluded.status, auto_renew = excluded.auto_renew,
					billing_cycle = excluded.billing_cycle, end_date = excluded.end_date, retired = excluded.retired,
					days_left = excluded.days_left, last_seen = excluded.last_seen`,
				s.ID, c.ID, c.Domain, c.Name, s.OfferID, s.OfferName, s.FriendlyName, s.Quantity, s.Status, s.AutoRenew,
				s.BillingCycle, nullTime(s.EndDate), f.Retired, f.DaysLeft, formatTime(seen), formatTime(seen))
			if err != nil {
				return fmt.Errorf("subscription %s: %w", s.ID, err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO scans (started_at, finished_at, customers, findings, failures, access) VALUES (?, ?, ?, ?, ?, ?)`,
			formatTime(r.Started), formatTime(seen), r.Customers, len(r.Findings), failuresJSON, accessJSON)
		return err
	})
	if err != nil {
		return fmt.Errorf("saving the scan: %w", err)
	}
	return nil
}

// scanAccess is a bot.ScanAccess in the scans.access JSON column; the
// tags keep the stored names when the Go names change.
type scanAccess struct {
	CustomerID string `json:"customerId"`
	Customer   string `json:"customer"`
	Code       string `json:"code"`
	Fix        string `json:"fix"`
}

const trackedColumns = `subscription_id, customer_id, customer_domain, customer_name, offer_id, offer_name, friendly_name,
	quantity, status, auto_renew, billing_cycle, end_date, retired, days_left, first_seen, last_seen`

// FindSubscription returns the latest scanned state of a retired-SKU
// subscription (any case), or ErrNotFound. DaysLeft is as of LastSeen.
func (db *DB) FindSubscription(ctx context.Context, subscriptionID string) (*bot.TrackedSubscription, error) {
	t, err := scanTracked(db.sql.QueryRowContext(ctx, `SELECT `+trackedColumns+` FROM tracked_subscriptions WHERE subscription_id = ?`, subscriptionID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("subscription %s: %w", subscriptionID, bot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading subscription %s: %w", subscriptionID, err)
	}
	return &t, nil
}

// TrackedSubscriptions returns every scanned retired-SKU subscription, most
// urgent first: by end date (none last), then customer, then id, as the
// scanner sorts. End dates rather than the stored DaysLeft, which scans at
// different times counted from different days.
func (db *DB) TrackedSubscriptions(ctx context.Context) ([]bot.TrackedSubscription, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+trackedColumns+` FROM tracked_subscriptions
		ORDER BY end_date IS NULL, end_date,
			lower(coalesce(nullif(customer_domain, ''), nullif(customer_name, ''), customer_id)), subscription_id`)
	if err != nil {
		return nil, fmt.Errorf("reading tracked subscriptions: %w", err)
	}
	defer rows.Close()
	var out []bot.TrackedSubscription
	for rows.Next() {
		t, err := scanTracked(rows)
		if err != nil {
			return nil, fmt.Errorf("reading tracked subscriptions: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading tracked subscriptions: %w", err)
	}
	return out, nil
}

func scanTracked(r rowScanner) (bot.TrackedSubscription, error) {
	var t bot.TrackedSubscription
	c, s := &t.Customer, &t.Subscription
	err := r.Scan(&s.ID, &c.ID, &c.Domain, &c.Name, &s.OfferID, &s.OfferName, &s.FriendlyName, &s.Quantity, &s.Status,
		&s.AutoRenew, &s.BillingCycle, timeColumn{&s.EndDate}, &t.Retired, &t.DaysLeft, timeColumn{&t.FirstSeen}, timeColumn{&t.LastSeen})
	s.CustomerID = c.ID
	return t, err
}

// LastScan returns the summary of the latest scan, or ErrNotFound.
func (db *DB) LastScan(ctx context.Context) (*bot.ScanSummary, error) {
	var s bot.ScanSummary
	var access []scanAccess
	err := db.sql.QueryRowContext(ctx, `SELECT started_at, finished_at, customers, findings, failures, access FROM scans ORDER BY id DESC LIMIT 1`).
		Scan(timeColumn{&s.Started}, timeColumn{&s.Finished}, &s.Customers, &s.Findings, jsonColumn{&s.Failures}, jsonColumn{&access})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("no scan yet: %w", bot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the last scan: %w", err)
	}
	for _, a := range access {
		s.Access = append(s.Access, bot.ScanAccess(a))
	}
	return &s, nil
}
