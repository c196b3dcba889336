package bot

import (
	"context"
	"time"
)

// Store keeps migrations, their journal and the audit history. Every method
// that takes audit entries writes them in the same transaction as the change
// they describe, so the history never misses or invents a change.
type Store interface {
	// CreateMigration inserts m (Version becomes 1).
	CreateMigration(ctx context.Context, m *Migration, audit ...AuditEntry) error
	// GetMigration returns ErrNotFound for an unknown id (ids match
	// case-insensitively).
	GetMigration(ctx context.Context, id string) (*Migration, error)
	// SaveMigration writes m if m.Version is the stored version, then
	// increments m.Version; otherwise it returns ErrConflict.
	SaveMigration(ctx context.Context, m *Migration, audit ...AuditEntry) error
	// ListMigrations returns migrations matching f, oldest first.
	ListMigrations(ctx context.Context, f MigrationFilter) ([]*Migration, error)

	// AddDecision records d unless the same actor already made the same kind
	// of decision for the same migration and plan hash; added reports which.
	AddDecision(ctx context.Context, d Decision, audit ...AuditEntry) (added bool, err error)
	// Decisions returns a migration's decisions, oldest first.
	Decisions(ctx context.Context, migrationID string) ([]Decision, error)

	// SaveStep writes the step (migration id, name) if s.Version is the
	// stored version (0: the step is new), then increments s.Version;
	// otherwise it returns ErrConflict and writes nothing. Claiming a step's
	// write (saving its MS-RequestId) is therefore a compare-and-set.
	SaveStep(ctx context.Context, s *Step, audit ...AuditEntry) error
	// Steps returns a migration's steps in the order of Steps.
	Steps(ctx context.Context, migrationID string) ([]Step, error)

	// SaveUserMove inserts or replaces the move (migration id, user id).
	SaveUserMove(ctx context.Context, mv UserMove, audit ...AuditEntry) error
	// UserMoves returns a migration's moves ordered by UPN.
	UserMoves(ctx context.Context, migrationID string) ([]UserMove, error)

	// AppendAudit appends entries to the hash-chained audit log.
	AppendAudit(ctx context.Context, entries ...AuditEntry) error
	// Audit returns the entries matching f, in order.
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	// SaveScan records a scan: each finding's latest state (keeping when it
	// was first seen) and the scan's summary.
	SaveScan(ctx context.Context, r *ScanReport) error
	// FindSubscription returns the latest scanned state of a retired-SKU
	// subscription, or ErrNotFound.
	FindSubscription(ctx context.Context, subscriptionID string) (*TrackedSubscription, error)
	// TrackedSubscriptions returns every scanned retired-SKU subscription,
	// most urgent first.
	TrackedSubscriptions(ctx context.Context) ([]TrackedSubscription, error)
	// LastScan returns the summary of the latest scan, or ErrNotFound.
	LastScan(ctx context.Context) (*ScanSummary, error)

	// ClaimPlanning records that requester is working out a plan for a
	// subscription until `until`, unless someone already is (Busy) or the
	// requester already has perRequester plans in the works (TooMany).
	ClaimPlanning(ctx context.Context, subscriptionID, requesterID string, perRequester int, until time.Time) (PlanningClaim, error)
	// ReleasePlanning ends the claim on a subscription's planning.
	ReleasePlanning(ctx context.Context, subscriptionID string) error

	Leases
	SignalStore
	BatchStore
}

// PlanningClaim says whether a plan may be worked out now.
type PlanningClaim struct {
	Claimed bool
	// Busy: another request for this subscription is being worked out, by BusyBy.
	Busy   bool
	BusyBy string
	// TooMany: the requester already has this many plans in the works.
	TooMany int
}

// MigrationFilter selects migrations; zero fields match everything.
type MigrationFilter struct {
	States         []State
	CustomerID     string
	SubscriptionID string
}

// AuditFilter selects audit entries; zero fields match everything.
// Customer matches the customer id or domain.
type AuditFilter struct {
	Customer       string
	SubscriptionID string
	MigrationID    string
	Since          time.Time
}

// TrackedSubscription is a scanned retired-SKU subscription.
type TrackedSubscription struct {
	Finding
	FirstSeen time.Time
	LastSeen  time.Time
}

// ScanSummary is what the digest says about scan health.
type ScanSummary struct {
	Started   time.Time
	Finished  time.Time
	Customers int
	Findings  int
	// Failures name the customers that could not be read, with why.
	Failures []string
	// Access are the customers whose licences Partner Center refused, each
	// with what a person must do about it.
	Access []ScanAccess
	// Requests is how many Partner Center requests the scan cost and
	// Incremental whether it read only the customers the activity log
	// named; the worker that scanned knows them (0 and false when unknown).
	Requests    int
	Incremental bool
}
