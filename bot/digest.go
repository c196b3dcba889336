package bot

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Digest is the daily summary.
type Digest struct {
	// Cadence names how often digests are posted, for the title: "daily",
	// "weekday", "weekly", or "" when the schedule is none of these.
	Cadence string
	At      time.Time
	Since   time.Time // the previous digest, or a day before At
	// Expiring counts active, non-renewing retired-SKU subscriptions by days
	// left: within 7, within 30 and within 90 days (each count includes the
	// nearer ones), and those already past their end.
	Within7, Within30, Within90, Ended int
	// MostUrgent are the nearest subscriptions without a finished migration.
	MostUrgent []TrackedSubscription
	// MostUrgentMore is how many more there are.
	MostUrgentMore int
	Waiting        []*Migration // pending approval or needing a new one, oldest first
	Running        []*Migration
	Completed      []*Migration // done since Since
	Failed         []*Migration // failed and not retried
	Rejected       []*Migration // rejected since Since
	Undone         []*Migration // undone since Since
	Scan           *ScanSummary // the last scan, nil if none yet
	// Throttled is how often Partner Center answered 429 since Since.
	Throttled int
	// Approvers and ApproverGroup are who may approve (the policy's), so
	// the digest can say whom a waiting plan waits on; the caller sets them.
	Approvers     []string
	ApproverGroup string
	// AuditHead is where the audit history ended at At, nil if the store
	// cannot say: posted daily, a copy of it is kept outside the database.
	AuditHead *AuditHead
}

// AuditHead names the audit history's last row: its seq and the first 16
// hex digits of its hash.
type AuditHead struct {
	Seq  int64
	Hash string
}

// auditHeadDigits is how much of the head's hash the digest shows.
const auditHeadDigits = 16

// AuditHeadReader is a Store that can also say where its audit history ends
// (the seq and hash of the last row); BuildDigest then reports it.
type AuditHeadReader interface {
	AuditHead(ctx context.Context) (int64, string, error)
}

// digestUrgent is how many subscriptions the digest lists by name.
const digestUrgent = 5

// BuildDigest summarises the store's state at now, reporting what finished
// since since.
func BuildDigest(ctx context.Context, store Store, now, since time.Time) (*Digest, error) {
	d := &Digest{At: now, Since: since}
	tracked, err := store.TrackedSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	migrations, err := store.ListMigrations(ctx, MigrationFilter{})
	if err != nil {
		return nil, err
	}
	migrated := map[string]bool{}
	for _, m := range migrations {
		switch {
		case m.State == StateDone:
			migrated[strings.ToLower(m.SubscriptionID)] = true
			if !m.UpdatedAt.Before(since) {
				d.Completed = append(d.Completed, m)
			}
		case m.State == StatePendingApproval || m.State == StateNeedsApproval:
			d.Waiting = append(d.Waiting, m)
		case m.State.Running():
			d.Running = append(d.Running, m)
		case m.State == StateFailed:
			d.Failed = append(d.Failed, m)
		case m.State == StateRejected && !m.UpdatedAt.Before(since):
			d.Rejected = append(d.Rejected, m)
		case m.State == StateUndone && !m.UpdatedAt.Before(since):
			d.Undone = append(d.Undone, m)
		}
	}
	var urgent []TrackedSubscription
	for _, t := range tracked {
		if migrated[strings.ToLower(t.Subscription.ID)] {
			continue
		}
		t.DaysLeft = DaysLeft(t.Subscription.EndDate, now, time.UTC)
		if !t.Expiring(90) {
			continue
		}
		switch {
		case t.DaysLeft < 0:
			d.Ended++
		case t.DaysLeft <= 7:
			d.Within7++
		}
		if t.DaysLeft <= 30 {
			d.Within30++
		}
		d.Within90++
		urgent = append(urgent, t)
	}
	d.Within7 += d.Ended // already ended is at least as urgent as a week left
	slices.SortStableFunc(urgent, func(a, b TrackedSubscription) int { return cmp.Compare(a.DaysLeft, b.DaysLeft) })
	if len(urgent) > digestUrgent {
		d.MostUrgentMore = len(urgent) - digestUrgent
		urgent = urgent[:digestUrgent]
	}
	d.MostUrgent = urgent
	scan, err := store.LastScan(ctx)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, err
	default:
		d.Scan = scan
	}
	if r, ok := store.(AuditHeadReader); ok {
		seq, hash, err := r.AuditHead(ctx)
		if err != nil {
			return nil, err
		}
		d.AuditHead = &AuditHead{Seq: seq, Hash: hash[:min(len(hash), auditHeadDigits)]}
	}
	return d, nil
}

// DigestCadence names how often a standard cron schedule (minute hour
// day-of-month month day-of-week) posts: once a day every day "daily", on
// Monday to Friday "weekday", on one weekday "weekly"; "" otherwise.
func DigestCadence(spec string) string {
	f := strings.Fields(spec)
	if len(f) != 5 || strings.ContainsAny(f[0]+f[1], "*/,-") || f[2] != "*" || f[3] != "*" {
		return ""
	}
	switch dow := f[4]; {
	case dow == "*":
		return "daily"
	case dow == "1-5" || strings.EqualFold(dow, "MON-FRI"):
		return "weekday"
	case !strings.ContainsAny(dow, "*/,-"):
		return "weekly"
	}
	return ""
}
