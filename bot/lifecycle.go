package bot

import (
	"context"
	"slices"
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
	// ActionUndo is reserved for undoing a finished migration inside its
	// cancellation window; no state of the replace lifecycle allows it yet.
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
}

// Guards used by the table.
var (
	always = func(*Migration) bool { return true }
	// usersBlocked: users are what stopped the migration; suspending anyway
	// helps only then (after a credential or Partner Center failure it
	// would skip steps that never ran).
	usersBlocked = func(m *Migration) bool { return m.FailureKind == FailureKindUsers }
	// overridable: the failure was at moving or verifying users and no
	// override was given yet, so the override button can help.
	overridable = func(m *Migration) bool {
		return !m.Override && (m.FailedStep == StepMoveUsers || m.FailedStep == StepVerify)
	}
)

// overrideQuietly lets an approver set the override before or while the
// migration runs (typed, never offered as a button): verify then lets the
// suspension go ahead.
var overrideQuietly = Allowed{Action: ActionOverride}

// Replace is today's strategy: buy the target, wait for its seats, move the
// users, verify nobody holds the retired licence, then the old
// subscription's fate (step C).
var Replace = Lifecycle{Strategy: "replace", States: []StateRow{
	{State: StatePendingApproval, Shown: "pending approval", Actions: []Allowed{
		{Action: ActionApprove, Offer: always}, {Action: ActionReject, Offer: always}, overrideQuietly,
	}},
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
	{State: StateDone, Shown: "done", Final: true, Actions: []Allowed{}},
	{State: StateFailed, Shown: "failed", Actions: []Allowed{
		{Action: ActionRetry, Offer: always}, {Action: ActionReject},
		{Action: ActionOverride, When: usersBlocked, Offer: overridable},
	}},
	{State: StateNeedsApproval, Shown: "needs a new approval", Actions: []Allowed{
		{Action: ActionRetry, Offer: always}, {Action: ActionReject},
	}},
	{State: StateRejected, Shown: "rejected", Final: true, Actions: []Allowed{}},
}}

// row is state s in the lifecycle (false for a state it does not know).
func (l *Lifecycle) row(s State) (StateRow, bool) {
	i := slices.IndexFunc(l.States, func(r StateRow) bool { return r.State == s })
	if i < 0 {
		return StateRow{}, false
	}
	return l.States[i], true
}

// lifecycle is the table of the strategy migrations follow. There is one
// today; a migration will name its strategy when there are more.
func lifecycle() *Lifecycle { return &Replace }

// States lists every state of the lifecycle.
func States() []State {
	var out []State
	for _, r := range lifecycle().States {
		out = append(out, r.State)
	}
	return out
}

// runningStates lists the running states in the order they run.
func (l *Lifecycle) runningStates() []State {
	var out []State
	for _, r := range l.States {
		if r.Running {
			out = append(out, r.State)
		}
	}
	return out
}

// steps lists the steps in the order they run.
func (l *Lifecycle) steps() []StepName {
	var out []StepName
	for _, r := range l.States {
		if r.Step != "" {
			out = append(out, r.Step)
		}
	}
	return out
}

// Words is the state in people's words ("moving users"); "" for a state
// the lifecycle does not know.
func (s State) Words() string { r, _ := lifecycle().row(s); return r.Shown }

// Words is the step in people's words, those of the state that runs it
// ("moving users"); "" for a step the lifecycle does not know.
func (s StepName) Words() string { return s.state().Words() }

// state is the state in which step s runs ("" for none).
func (s StepName) state() State {
	for _, r := range lifecycle().States {
		if s != "" && r.Step == s {
			return r.State
		}
	}
	return ""
}

// step is the step a running state runs ("" for none).
func (s State) step() StepName { r, _ := lifecycle().row(s); return r.Step }

// next is the state after s's step ("" for none).
func (s State) next() State { r, _ := lifecycle().row(s); return r.Next }

// allowed finds action a among those of m's state that apply to m.
func (m *Migration) allowed(a PersonAction) (Allowed, bool) {
	r, _ := lifecycle().row(m.State)
	for _, al := range r.Actions {
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
	r, _ := lifecycle().row(m.State)
	var out []PersonAction
	for _, al := range r.Actions {
		if m.Offers(al.Action) && !slices.Contains(out, al.Action) {
			out = append(out, al.Action)
		}
	}
	return out
}
