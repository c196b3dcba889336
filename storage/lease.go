package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// AcquireLease takes, renews or reports the lease (see bot.Leases). The
// expiry is this process's clock plus ttl; processes sharing a database are
// assumed to agree on the time within a fraction of a TTL. Safety does not
// rest on that: every fenced write compares the epoch, which only a takeover
// changes.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bot.LeaseState, error) {
	var out bot.LeaseState
	// Not fenced: taking the lease is how a process gets a fence.
	err := db.inTx(withoutFence(ctx), func(tx *txn) error {
		now := db.now().UTC()
		var cur struct {
			holder, expires string
			epoch           int64
		}
		err := tx.QueryRowContext(ctx, `SELECT holder, epoch, expires_at FROM leases WHERE name = ?`, name).
			Scan(&cur.holder, &cur.epoch, &cur.expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			out = bot.LeaseState{Name: name, Holder: holder, Epoch: 1, Expires: now.Add(ttl), Held: true}
			_, err = tx.ExecContext(ctx, `INSERT INTO leases (name, holder, epoch, expires_at, renewed_at) VALUES (?, ?, 1, ?, ?)`,
				name, holder, formatTime(out.Expires), formatTime(now))
			return err
		case err != nil:
			return err
		}
		expires, err := time.Parse(time.RFC3339Nano, cur.expires)
		if err != nil {
			return fmt.Errorf("stored lease expiry %q: %w", cur.expires, err)
		}
		out = bot.LeaseState{Name: name, Holder: cur.holder, Epoch: cur.epoch, Expires: expires.UTC()}
		switch {
		case cur.holder == holder:
			// A renewal (or a late one after the lease lapsed while nobody
			// took it): nobody else wrote under another epoch, so it stays.
		case now.Before(expires):
			return nil // held by someone else
		default:
			out.Epoch++ // a takeover: every write under the old epoch is refused from now on
		}
		out.Holder, out.Expires, out.Held = holder, now.Add(ttl), true
		_, err = tx.ExecContext(ctx, `UPDATE leases SET holder = ?, epoch = ?, expires_at = ?, renewed_at = ? WHERE name = ?`,
			holder, out.Epoch, formatTime(out.Expires), formatTime(now), name)
		return err
	})
	if err != nil {
		return bot.LeaseState{}, fmt.Errorf("taking the %s lease: %w", name, err)
	}
	return out, nil
}

// ReleaseLease lets the lease expire now if holder still holds it at epoch.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string, epoch int64) error {
	err := db.inTx(withoutFence(ctx), func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND epoch = ?`,
			formatTime(db.now().Add(-time.Millisecond)), name, holder, epoch)
		return err
	})
	if err != nil {
		return fmt.Errorf("releasing the %s lease: %w", name, err)
	}
	return nil
}

// checkFence refuses a write made under a fence that is no longer the
// lease's: it runs inside the write's transaction, which holds the write
// lock from its start (SQLite's from BEGIN, PostgreSQL's advisory lock: see
// inTx), and AcquireLease's takeover is a write transaction too, so no
// takeover can slip in between the check and the commit. A process paused
// after the check, inside the transaction, holds up the takeover until
// PostgreSQL ends its idle transaction (postgresParams) and rolls it back;
// one paused before it finds the new epoch here when it resumes.
func checkFence(ctx context.Context, tx *txn) error {
	f, ok := bot.FenceFrom(ctx)
	if !ok {
		return nil
	}
	var holder string
	var epoch int64
	err := tx.QueryRowContext(ctx, `SELECT holder, epoch FROM leases WHERE name = ?`, f.Name).Scan(&holder, &epoch)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("the %s lease is gone: %w", f.Name, bot.ErrFenced)
	case err != nil:
		return fmt.Errorf("checking the %s lease: %w", f.Name, err)
	case holder != f.Holder || epoch != f.Epoch:
		return fmt.Errorf("this write was made under epoch %d and the lease is at epoch %d: %w", f.Epoch, epoch, bot.ErrFenced)
	}
	return nil
}

type noFenceKey struct{}

// withoutFence marks ctx so inTx skips the fence check (the lease's own writes).
func withoutFence(ctx context.Context) context.Context {
	return context.WithValue(ctx, noFenceKey{}, true)
}

// RaiseSignal increments the named signal (see bot.WatchSignal). The SET
// names signals.seq: PostgreSQL finds a bare seq ambiguous there (the row
// stored or the one proposed, excluded.seq); SQLite reads both the same.
func (db *DB) RaiseSignal(ctx context.Context, name string) error {
	err := db.inTx(withoutFence(ctx), func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO signals (name, seq, at) VALUES (?, 1, ?)
			ON CONFLICT (name) DO UPDATE SET seq = signals.seq + 1, at = excluded.at`, name, formatTime(db.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("raising the %s signal: %w", name, err)
	}
	return nil
}

// SignalSeq returns the named signal's count, 0 when it was never raised.
func (db *DB) SignalSeq(ctx context.Context, name string) (int64, error) {
	var seq int64
	err := db.sql.QueryRowContext(ctx, `SELECT seq FROM signals WHERE name = ?`, name).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the %s signal: %w", name, err)
	}
	return seq, nil
}

// ClaimPlanning records that requesterID works out a plan for the
// subscription until `until` (see bot.Store). Claims past their time are
// someone's abandoned work and are taken over.
func (db *DB) ClaimPlanning(ctx context.Context, subscriptionID, requesterID string, perRequester int, until time.Time) (bot.PlanningClaim, error) {
	var out bot.PlanningClaim
	err := db.inTx(ctx, func(tx *txn) error {
		now := formatTime(db.now())
		if _, err := tx.ExecContext(ctx, `DELETE FROM planning WHERE until <= ?`, now); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT requester_id FROM planning WHERE subscription_id = ?`, subscriptionID).Scan(&out.BusyBy)
		if err == nil {
			out.Busy = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var mine int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM planning WHERE requester_id = ?`, requesterID).Scan(&mine); err != nil {
			return err
		}
		if perRequester > 0 && mine >= perRequester {
			out.TooMany = mine
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO planning (subscription_id, requester_id, until) VALUES (?, ?, ?)`,
			subscriptionID, requesterID, formatTime(until))
		out.Claimed = err == nil
		return err
	})
	if err != nil {
		return bot.PlanningClaim{}, fmt.Errorf("claiming the planning of %s: %w", subscriptionID, err)
	}
	return out, nil
}

// ReleasePlanning ends the claim on a subscription's planning.
func (db *DB) ReleasePlanning(ctx context.Context, subscriptionID string) error {
	err := db.inTx(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM planning WHERE subscription_id = ?`, subscriptionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("releasing the planning of %s: %w", subscriptionID, err)
	}
	return nil
}
