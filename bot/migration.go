package bot

import (
	"errors"
	"time"
)

// Actor is who did something: a Slack user (ID and name), or System.
type Actor struct {
	ID   string
	Name string
}

// System is the bot itself, acting on its own (resuming after a restart).
var System = Actor{ID: "system", Name: "system"}

// State is where a migration is in its life.
type State string

// The states of a migration. Approved → … → Done is the happy path; every
// running state can end in Failed (at a named step) or NeedsApproval (the
// world changed since the plan was approved).
const (
	StatePendingApproval State = "pending_approval"
	StateApproved        State = "approved"
	StateBuying          State = "buying"
	StateWaitingSeats    State = "waiting_for_seats"
	StateMovingUsers     State = "moving_users"
	StateVerifying       State = "verifying"
	StateSuspending      State = "suspending"
	StateDone            State = "done"
	StateFailed          State = "failed"
	StateRejected        State = "rejected"
	StateNeedsApproval   State = "needs_new_approval"
	// Transition and renewal (strategy.go).
	StateTransitioning   State = "transitioning"
	StateScheduling      State = "scheduling"
	StateAwaitingRenewal State = "awaiting_renewal"
	// Undo (undo.go).
	StateUndoReactivating State = "undo_reactivating"
	StateUndoMovingBack   State = "undo_moving_back"
	StateUndoCancelling   State = "undo_cancelling"
	StateUndoUnscheduling State = "undo_unscheduling"
	StateUndone           State = "undone"
)

// RunningStates are the states in which the engine owns a migration (it is
// resumed after a restart), in the order they run; read from the lifecycle.
var RunningStates = runningStates()

// Running reports whether s is one of RunningStates.
func (s State) Running() bool { r, _ := anyRow(s); return r.Running }

// Final reports whether nothing more will happen without a person.
func (s State) Final() bool { r, _ := anyRow(s); return r.Final }

// StepName names a step of the migration.
type StepName string

// The steps, in order: A (buy), wait for the bought seats, B (move users),
// verify nobody still holds the retired licence, C (suspend).
const (
	StepBuy       StepName = "buy"
	StepWaitSeats StepName = "wait_for_seats"
	StepMoveUsers StepName = "move_users"
	StepVerify    StepName = "verify"
	StepSuspend   StepName = "suspend"
	// Transition and renewal.
	StepTransition   StepName = "transition"
	StepSchedule     StepName = "schedule"
	StepAwaitRenewal StepName = "await_renewal"
	// Undo.
	StepUndoReactivate StepName = "undo_reactivate"
	StepUndoMoveBack   StepName = "undo_move_back"
	StepUndoCancel     StepName = "undo_cancel"
	StepUndoUnschedule StepName = "undo_unschedule"
)

// Steps lists the steps in the order they run; read from the lifecycle.
var Steps = steps()

// Migration is one request to move a subscription of a retired SKU to a
// target plan, from the plan through approval to done.
type Migration struct {
	ID             string // short and typeable, e.g. "M7K2QX"
	CustomerID     string
	CustomerDomain string
	CustomerName   string
	SubscriptionID string // the old subscription, to be suspended
	Plan           Plan
	PlanHash       string
	Requester      Actor
	State          State
	// FailedStep and Error say where and why a migration failed or needs a
	// new approval.
	FailedStep StepName
	Error      string
	// FailureKind says what kind of trouble stopped a failed migration, so
	// people are offered only what can help (Override only for users who
	// could not be moved, never for a credential failure).
	FailureKind FailureKind
	// Override lets an approver suspend the old subscription although some
	// users still hold the retired licence.
	Override          bool
	NewSubscriptionID string
	// Outcome is what the finished migration left behind that undo needs.
	Outcome   Outcome
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version increases with every save; a save with a stale Version fails
	// with ErrConflict, so two writers never overwrite each other.
	Version int
}

// Outcome is what a migration's steps left behind that undoing it needs.
type Outcome struct {
	// NewCancellableUntil is the end of the bought subscription's
	// cancellation window as Partner Center said at purchase (zero: nothing
	// bought, or a legacy purchase that cannot be cancelled).
	NewCancellableUntil time.Time `json:"newCancellableUntil,omitzero"`
	// OldSuspended: step C suspended the old subscription (undo
	// reactivates it first).
	OldSuspended bool `json:"oldSuspended,omitempty"`
	// OldAutoRenewOff: step C turned the old subscription's auto-renew off.
	OldAutoRenewOff bool `json:"oldAutoRenewOff,omitempty"`
	// UndoneBy is who asked for the undo, and UndoReason why.
	UndoneBy   *Actor `json:"undoneBy,omitempty"`
	UndoReason string `json:"undoReason,omitempty"`
}

// DecisionKind is what a person decided about a migration.
type DecisionKind string

// Decisions people make about a migration.
const (
	DecisionApprove  DecisionKind = "approve"
	DecisionReject   DecisionKind = "reject"
	DecisionOverride DecisionKind = "override"
	DecisionUndo     DecisionKind = "undo"
)

// Decision is one person's decision. An approval counts only for the plan
// (PlanHash) it was given for.
type Decision struct {
	MigrationID string
	Actor       Actor
	Kind        DecisionKind
	Reason      string
	PlanHash    string
	At          time.Time
}

// StepState is where a step is.
type StepState string

// States of a step.
const (
	StepPending StepState = "pending"
	StepRunning StepState = "running"
	StepDone    StepState = "done"
	StepFailed  StepState = "failed"
	StepSkipped StepState = "skipped"
)

// Step is the journal of one step of a migration. MSRequestID is generated
// and saved before the step's Partner Center write is sent, and reused when
// the step is resumed, so a crash between sending and saving cannot write twice.
type Step struct {
	MigrationID string
	Name        StepName
	State       StepState
	MSRequestID string
	// Result holds what the step produced (e.g. "subscriptionId", "orderId").
	Result     map[string]string
	Error      string
	Attempts   int
	StartedAt  time.Time
	FinishedAt time.Time
	// Version increases with every save; 0 for a step never saved.
	Version int
}

// FailureKind is what kind of trouble made a migration fail.
type FailureKind string

// Failure kinds.
const (
	FailureKindNone FailureKind = ""
	// FailureKindUsers: some users could not be moved, or still hold the
	// retired licence; an approver may override and suspend anyway.
	FailureKindUsers FailureKind = "users"
	// FailureKindAccess: Partner Center refused the bot's credentials,
	// consent or permissions; a person must fix access, then retry.
	FailureKindAccess FailureKind = "access"
	// FailureKindPartnerCenter: Partner Center refused the request or
	// answered in a way the bot cannot act on; see the error.
	FailureKindPartnerCenter FailureKind = "partner_center"
	// FailureKindTimeout: something took longer than the bot waits (seats
	// that never became usable, an outage that outlasted the bound).
	FailureKindTimeout FailureKind = "timeout"
)

// MoveState is where one user's licence move is.
type MoveState string

// States of a user's move.
const (
	MovePending MoveState = "pending"
	MoveDone    MoveState = "moved"
	MoveFailed  MoveState = "failed"
	// MoveSkipped: the user no longer held the retired licence when their
	// turn came (someone moved them by hand).
	MoveSkipped MoveState = "skipped"
	// Undo takes a moved user back: pending, then back (or failed).
	MoveBackPending MoveState = "back_pending"
	MoveBack        MoveState = "moved_back"
	MoveBackFailed  MoveState = "back_failed"
)

// UserMove is one user's move from the retired licence to the target.
type UserMove struct {
	MigrationID     string
	UserID          string
	UPN             string
	DisplayName     string
	State           MoveState
	MSRequestID     string
	MSCorrelationID string
	Error           string
	UpdatedAt       time.Time
}

// AuditEntry is one row of the audit history: who did what, when, to which
// customer, subscription and migration, and which Partner Center calls it made.
type AuditEntry struct {
	Seq             int64 // set by the store
	At              time.Time
	Actor           Actor
	Action          string
	CustomerID      string
	SubscriptionID  string
	MigrationID     string
	Detail          map[string]any
	MSRequestID     string
	MSCorrelationID string
	PrevHash        string // set by the store
	Hash            string // set by the store
}

// Audit actions.
const (
	ActionPlanned      = "migration.planned"
	ActionApproved     = "migration.approved"
	ActionRejected     = "migration.rejected"
	ActionOverridden   = "migration.override"
	ActionStarted      = "migration.started"
	ActionResumed      = "migration.resumed"
	ActionStepStarted  = "step.started"
	ActionStepDone     = "step.done"
	ActionStepFailed   = "step.failed"
	ActionCartCreated  = "cart.created"
	ActionOrdered      = "order.placed"
	ActionBought       = "subscription.bought"
	ActionUserMoved    = "user.moved"
	ActionUserFailed   = "user.move_failed"
	ActionSuspended    = "subscription.suspended"
	ActionDone         = "migration.done"
	ActionFailed       = "migration.failed"
	ActionStale        = "migration.needs_new_approval"
	ActionRetried      = "migration.retried"
	ActionReplanned    = "migration.replanned"
	ActionScanFinished = "scan.finished"
	// Transition, renewal and undo.
	ActionTransitionStarted = "transition.started"
	ActionTransitioned      = "subscription.transitioned"
	ActionScheduled         = "renewal.scheduled"
	ActionRenewed           = "subscription.renewed"
	ActionUndoRequested     = "migration.undo"
	ActionReactivated       = "subscription.reactivated"
	ActionUserMovedBack     = "user.moved_back"
	ActionCancelled         = "subscription.cancelled"
	ActionUnscheduled       = "renewal.unscheduled"
	ActionUndone            = "migration.undone"
)

// Errors a Store returns.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("changed by someone else meanwhile")
)
