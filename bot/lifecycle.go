package bot

import (
	"context"
	"slices"
	"time"
)

// The lifecycle of a migration as data: one table per strategy names each
// state, the step it runs, the state after it, and what people may do in it.
// Everything else — Running, Final, the resume list, the step order, the
// runner's dispatch, the guards of the engine and the buttons of the views,
// the words shown to people, the metrics' states — is read from the table.

// PersonAction is something a person may do to a migration.
type PersonAction string

// The actions people take on a migration.
const (
	ActionApprove  PersonAction = "approve"
	ActionReject   PersonAction = "reject"
	ActionRetry    PersonAction = "retry"
	ActionOverride PersonAction = "override"
	// ActionUndo takes a migration back while Partner Center allows it
	// (undo.go).
	ActionUndo PersonAction = "undo"
)

// Allowed is one action people may take in a state. When (nil: always)
// narrows it to some migrations of the state; Offer (nil: never) says when
// the views offer it as a button, among the migrations When allows.
type Allowed struct {
	Action PersonAction
	When   func(*Migration) bool
	Offer  func(*Migration) bool
}

// StateRow is one state of a lifecycle.
type StateRow struct {
	State State
	// Shown is the state in people's words ("moving users"); a step is
	// shown with the words of the state that runs it.
	Shown string
	// Step is the step the state runs, Run the engine method that runs it
	// (none for a state that only passes on, like approved).
	Step StepName
	Run  func(*Engine, context.Context, *Migration) error
	// Next is the state after the step (running states only).
	Next State
	// Running: the engine owns the migration (and resumes it after a
	// restart). Final: nothing more happens without a person.
	Running, Final bool
	// Actions are what people may do in the state, in the order the views
	// offer them.
	Actions []Allowed
}

// Lifecycle is the table of one strategy's states, running states in the
// order they run.
type Lifecycle struct {
	Strategy string
	States   []StateRow
	// Undo is the first state of undoing a migration of this strategy
	// ("" when it cannot be undone).
	Undo State
}

// Guards used by the tables.
var (
	always = func(*Migration) bool { return true }
	// usersBlocked: users are what stopped the migration; suspending anyway
	// helps only then (after a credential or Partner Center failure it
	// would skip steps that never ran).
	usersBlocked = func(m *Migration) bool { return m.FailureKind == FailureKindUsers }
	// overridable: the failure was at moving or verifying users and no
	// override was given yet, so the override button can help.
	overridable = func(m *Migration) bool {
		return !m.Override && (m.FailedStep == StepMoveUsers || m.FailedStep == StepVerify) && m.Plan.Path() == StrategyReplace
	}
	// undoable: the migration can still be taken back as far as the bot
	// knows without asking Partner Center (undo.go; the engine asks before
	// it starts, since only Partner Center's clock says whether the
	// cancellation window is still open).
	// The bot's clock here: the views have no other.
	undoable = func(m *Migration) bool { return m.undoRefusal(time.Now()) == "" }
)

// overrideQuietly lets an approver set the override before or while the
// migration runs (typed, never offered as a button): verify then lets the
// suspension go ahead.
var overrideQuietly = Allowed{Action: ActionOverride}

// The states every strategy shares: waiting for approval, and the ends.
var (
	pendingRow = StateRow{State: StatePendingApproval, Shown: "pending approval", Actions: []Allowed{
		{Action: ActionApprove, Offer: always}, {Action: ActionReject, Offer: always}, overrideQuietly,
	}}
	failedRow = StateRow{State: StateFailed, Shown: "failed", Actions: []Allowed{
		{Action: ActionRetry, Offer: always}, {Action: ActionReject},
		{Action: ActionOverride, When: usersBlocked, Offer: overridable},
	}}
	needsApprovalRow = StateRow{State: StateNeedsApproval, Shown: "needs a new approval", Actions: []Allowed{
		{Action: ActionRetry, Offer: always}, {Action: ActionReject},
	}}
	rejectedRow = StateRow{State: StateRejected, Shown: "rejected", Final: true, Actions: []Allowed{}}
	undoneRow   = StateRow{State: StateUndone, Shown: "undone", Final: true, Actions: []Allowed{}}
	// doneUndoable is done, with Undo offered while it is possible.
	doneUndoable = StateRow{State: StateDone, Shown: "done", Final: true, Actions: []Allowed{
		{Action: ActionUndo, When: undoable, Offer: undoable},
	}}
)

// Replace is the seed's strategy: buy the target, wait for its seats, move
// the users, verify nobody holds the retired licence, then the old
// subscription's fate (step C). Undo moves the users back, reactivates the
// old subscription first if it was suspended, and cancels what was bought
// while its cancellation window is open.
var Replace = Lifecycle{Strategy: string(StrategyReplace), States: []StateRow{
	pendingRow,
	{State: StateApproved, Shown: "starting", Next: StateBuying, Running: true, Actions: []Allowed{overrideQuietly}},
	{State: StateBuying, Shown: "buying", Step: StepBuy, Run: (*Engine).buy, Next: StateWaitingSeats, Running: true,
		Actions: []Allowed{overrideQuietly}},
	{State: StateWaitingSeats, Shown: "waiting for seats", Step: StepWaitSeats, Run: (*Engine).waitSeats, Next: StateMovingUsers, Running: true,
		Actions: []Allowed{overrideQuietly}},
	{State: StateMovingUsers, Shown: "moving users", Step: StepMoveUsers, Run: (*Engine).moveUsers, Next: StateVerifying, Running: true,
		Actions: []Allowed{overrideQuietly}},
	{State: StateVerifying, Shown: "verifying", Step: StepVerify, Run: (*Engine).verify, Next: StateSuspending, Running: true,
		Actions: []Allowed{overrideQuietly}},
	{State: StateSuspending, Shown: "suspending", Step: StepSuspend, Run: (*Engine).suspend, Next: StateDone, Running: true,
		Actions: []Allowed{overrideQuietly}},
	doneUndoable,
	{State: StateUndoReactivating, Shown: "undoing: reactivating the old subscription", Step: StepUndoReactivate, Run: (*Engine).undoReactivate,
		Next: StateUndoMovingBack, Running: true, Actions: []Allowed{}},
	{State: StateUndoMovingBack, Shown: "undoing: moving users back", Step: StepUndoMoveBack, Run: (*Engine).undoMoveBack,
		Next: StateUndoCancelling, Running: true, Actions: []Allowed{}},
	{State: StateUndoCancelling, Shown: "undoing: cancelling the new subscription", Step: StepUndoCancel, Run: (*Engine).undoCancel,
		Next: StateUndone, Running: true, Actions: []Allowed{}},
	undoneRow, failedRow, needsApprovalRow, rejectedRow,
}, Undo: StateUndoReactivating}

// Transition converts the subscription in one Partner Center call, which
// moves the licences too; the bot then checks every user. Partner Center
// documents no way back from a transition, so it offers no undo.
var Transition = Lifecycle{Strategy: string(StrategyTransition), States: []StateRow{
	pendingRow,
	{State: StateApproved, Shown: "starting", Next: StateTransitioning, Running: true, Actions: []Allowed{}},
	{State: StateTransitioning, Shown: "transitioning", Step: StepTransition, Run: (*Engine).transition, Next: StateVerifying, Running: true,
		Actions: []Allowed{}},
	{State: StateVerifying, Shown: "verifying", Step: StepVerify, Run: (*Engine).verifyHolders, Next: StateDone, Running: true,
		Actions: []Allowed{}},
	{State: StateDone, Shown: "done", Final: true, Actions: []Allowed{}},
	failedRow, needsApprovalRow, rejectedRow,
}}

// Renewal schedules the change on the new-commerce subscription and waits
// for its renewal, when Microsoft renews it into the target and moves the
// licences itself; the bot then checks every user. Until the renewal it can
// be undone: the schedule is removed and auto-renew turned off again.
var Renewal = Lifecycle{Strategy: string(StrategyRenewal), States: []StateRow{
	pendingRow,
	{State: StateApproved, Shown: "starting", Next: StateScheduling, Running: true, Actions: []Allowed{}},
	{State: StateScheduling, Shown: "scheduling the change", Step: StepSchedule, Run: (*Engine).schedule, Next: StateAwaitingRenewal, Running: true,
		Actions: []Allowed{}},
	{State: StateAwaitingRenewal, Shown: "waiting for the renewal", Step: StepAwaitRenewal, Run: (*Engine).awaitRenewal, Next: StateVerifying, Running: true,
		Actions: []Allowed{{Action: ActionUndo, Offer: always}}},
	{State: StateVerifying, Shown: "verifying", Step: StepVerify, Run: (*Engine).verifyHolders, Next: StateDone, Running: true,
		Actions: []Allowed{}},
	{State: StateDone, Shown: "done", Final: true, Actions: []Allowed{}},
	{State: StateUndoUnscheduling, Shown: "undoing: removing the scheduled change", Step: StepUndoUnschedule, Run: (*Engine).undoUnschedule,
		Next: StateUndone, Running: true, Actions: []Allowed{}},
	undoneRow, failedRow, needsApprovalRow, rejectedRow,
}, Undo: StateUndoUnscheduling}

// Lifecycles are the tables of every strategy, replace's first: the order
// the journal's steps are shown in (steps). Which strategy the planner
// prefers is Strategies' order, not this one.
var Lifecycles = []*Lifecycle{&Replace, &Transition, &Renewal}

// row is state s in the lifecycle (false for a state it does not know).
func (l *Lifecycle) row(s State) (StateRow, bool) {
	i := slices.IndexFunc(l.States, func(r StateRow) bool { return r.State == s })
	if i < 0 {
		return StateRow{}, false
	}
	return l.States[i], true
}

// lifecycleOf is the table of strategy s (replace for "" or one unknown).
func lifecycleOf(s Strategy) *Lifecycle {
	for _, l := range Lifecycles {
		if l.Strategy == string(s) {
			return l
		}
	}
	return &Replace
}

// lifecycle is the table m follows.
func (m *Migration) lifecycle() *Lifecycle { return lifecycleOf(m.Plan.Path()) }

// anyRow is state s in the first table that has it. A state means the
// same in every table (its name, whether it runs or is final; a test
// holds them to it), so its words and kind can be read from any.
func anyRow(s State) (StateRow, bool) {
	for _, l := range Lifecycles {
		if r, ok := l.row(s); ok {
			return r, true
		}
	}
	return StateRow{}, false
}

// States lists every state of every lifecycle, each once.
func States() []State {
	var out []State
	for _, l := range Lifecycles {
		for _, r := range l.States {
			if !slices.Contains(out, r.State) {
				out = append(out, r.State)
			}
		}
	}
	return out
}

// runningStates lists the running states of every lifecycle, each once.
func runningStates() []State {
	var out []State
	for _, s := range States() {
		if r, _ := anyRow(s); r.Running {
			out = append(out, s)
		}
	}
	return out
}

// steps lists the steps of every lifecycle, each once, in the order they
// run (replace's first: the order the journal is shown in).
func steps() []StepName {
	var out []StepName
	for _, l := range Lifecycles {
		for _, r := range l.States {
			if r.Step != "" && !slices.Contains(out, r.Step) {
				out = append(out, r.Step)
			}
		}
	}
	return out
}

// Words is the state in people's words ("moving users"); "" for a state
// no lifecycle knows.
func (s State) Words() string { r, _ := anyRow(s); return r.Shown }

// Words is the step in people's words, those of the state that runs it
// ("moving users"); "" for a step no lifecycle knows.
func (s StepName) Words() string { return s.state().Words() }

// state is the state in which step s runs ("" for none); a step runs in
// the same state in every lifecycle.
func (s StepName) state() State {
	for _, l := range Lifecycles {
		for _, r := range l.States {
			if s != "" && r.Step == s {
				return r.State
			}
		}
	}
	return ""
}

// Steps lists the steps a migration of the lifecycle runs on its way to
// done, in order (not those of its undo).
func (l *Lifecycle) Steps() []StepName {
	var out []StepName
	for _, r := range l.States {
		if r.State == StateDone {
			break
		}
		if r.Step != "" {
			out = append(out, r.Step)
		}
	}
	return out
}

// firstStep is the first step the lifecycle runs.
func (l *Lifecycle) firstStep() StepName {
	for _, r := range l.States {
		if r.Step != "" {
			return r.Step
		}
	}
	return ""
}

// row is m's state in its lifecycle.
func (m *Migration) row() StateRow { r, _ := m.lifecycle().row(m.State); return r }

// allowed finds action a among those of m's state that apply to m.
func (m *Migration) allowed(a PersonAction) (Allowed, bool) {
	for _, al := range m.row().Actions {
		if al.Action == a && (al.When == nil || al.When(m)) {
			return al, true
		}
	}
	return Allowed{}, false
}

// Can reports whether a person may take action a on m now (who may is the
// policy's call).
func (m *Migration) Can(a PersonAction) bool { _, ok := m.allowed(a); return ok }

// Offers reports whether the views offer action a on m as a button now.
func (m *Migration) Offers(a PersonAction) bool {
	al, ok := m.allowed(a)
	return ok && al.Offer != nil && al.Offer(m)
}

// Offered lists the actions the views offer on m now, in the table's order.
func (m *Migration) Offered() []PersonAction {
	var out []PersonAction
	for _, al := range m.row().Actions {
		if m.Offers(al.Action) && !slices.Contains(out, al.Action) {
			out = append(out, al.Action)
		}
	}
	return out
}
