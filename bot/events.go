package bot

import "time"

// EventKind says what happened to a migration.
type EventKind string

// Events the engine publishes.
const (
	EventPlanned  EventKind = "planned"
	EventApproved EventKind = "approved" // an approval was added (maybe not enough yet)
	EventRejected EventKind = "rejected" // Decision carries who and why
	EventStarted  EventKind = "started"  // enough approvals; running (or resumed)
	// EventProvisioning: the purchase is made and the step waits for
	// Microsoft to provision its order(s) (Message: their ids).
	EventProvisioning  EventKind = "provisioning"
	EventBought        EventKind = "bought"         // Migration.NewSubscriptionID for Plan.Seats seats
	EventSeatsReady    EventKind = "seats_ready"    // the bought seats are usable
	EventUserMoved     EventKind = "user_moved"     // Move, Done of Total
	EventUserFailed    EventKind = "user_failed"    // Move with its Error
	EventSuspended     EventKind = "suspended"      // the old subscription; see Deprovision
	EventDone          EventKind = "done"           // everything finished
	EventFailed        EventKind = "failed"         // Migration.FailedStep and Error; a person may retry
	EventNeedsApproval EventKind = "needs_approval" // the world changed; Migration.Error says how
	EventReplanned     EventKind = "replanned"      // a new plan awaits approval
	// EventWaiting: transient trouble (Message says what) has lasted; the
	// migration goes on by itself once it is over.
	EventWaiting EventKind = "waiting"
	EventGoingOn EventKind = "going_on" // the trouble of an EventWaiting is over
	// Transition and renewal.
	EventTransitioning EventKind = "transitioning" // the transition is started; Microsoft converts it
	EventTransitioned  EventKind = "transitioned"  // converted: Migration.NewSubscriptionID
	EventScheduled     EventKind = "scheduled"     // the change at renewal is set; Message says when
	EventRenewed       EventKind = "renewed"       // the subscription renewed into the target
	// Undo.
	EventUndoing EventKind = "undoing" // an approver asked to undo (Actor, Message: why)
	EventUndone  EventKind = "undone"  // taken back; Message says what was done
)

// Event is a step of a migration, for whoever reports progress (Slack).
type Event struct {
	Kind      EventKind
	Migration Migration // a copy as of the event
	Actor     Actor
	Decision  *Decision
	Move      *UserMove
	Done      int
	Total     int
	// Deprovision is when a suspended subscription will be de-provisioned.
	Deprovision time.Time
	Message     string
	At          time.Time
	// Batch is set on the batch events (EventBatch…) only: the batch and
	// its members as of the event; Migration is then empty.
	Batch *BatchStatus
}

// EventSink receives events. Publish must not block the engine for long:
// an implementation that talks to Slack queues.
type EventSink interface {
	Publish(Event)
}

// EventFunc adapts a function to an EventSink.
type EventFunc func(Event)

// Publish calls f.
func (f EventFunc) Publish(e Event) { f(e) }
