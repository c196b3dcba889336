package slackview

import (
	"cmp"
	"strings"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// runningWords says what a running migration is doing.
func runningWords(s bot.State) string {
	switch s {
	case bot.StateApproved:
		return "starting"
	case bot.StateBuying:
		return "buying"
	case bot.StateWaitingSeats:
		return "waiting for seats"
	case bot.StateMovingUsers:
		return "moving users"
	case bot.StateVerifying:
		return "verifying"
	case bot.StateSuspending:
		return "suspending"
	}
	return esc(strings.ReplaceAll(string(s), "_", " "), maxName)
}

// stepWords names a step the way people say it.
func stepWords(s bot.StepName) string {
	switch s {
	case bot.StepBuy:
		return "buying"
	case bot.StepWaitSeats:
		return "waiting for seats"
	case bot.StepMoveUsers:
		return "moving users"
	case bot.StepVerify:
		return "verifying"
	case bot.StepSuspend:
		return "suspending"
	case "":
		return "an unnamed step"
	}
	return esc(strings.ReplaceAll(string(s), "_", " "), maxName)
}

// overridable reports whether an approver may let a failed migration suspend
// the old subscription although some users still hold the retired licence.
func overridable(m *bot.Migration) bool {
	return m.State == bot.StateFailed && !m.Override && m.FailureKind == bot.FailureKindUsers &&
		(m.FailedStep == bot.StepMoveUsers || m.FailedStep == bot.StepVerify)
}

// stateWords says where a migration is, with what people need to know next:
// "pending approval", "approved, running: moving users", "failed at …: …".
func stateWords(m *bot.Migration, loc *time.Location) string {
	switch {
	case m.State == bot.StatePendingApproval:
		return "pending approval"
	case m.State.Running():
		return "approved, running: " + runningWords(m.State)
	case m.State == bot.StateDone:
		return "migrated on " + day(m.UpdatedAt, loc) + ": " + newSubscription(m)
	case m.State == bot.StateFailed:
		return "failed at " + stepWords(m.FailedStep) + ": " + esc(m.Error, maxError)
	case m.State == bot.StateNeedsApproval:
		return "needs a new approval: " + esc(m.Error, maxError)
	case m.State == bot.StateRejected:
		// The engine records "rejected by <name>: <reason>" as the error.
		return esc(cmp.Or(strings.TrimSpace(m.Error), "rejected"), maxError)
	}
	return esc(strings.ReplaceAll(string(m.State), "_", " "), maxName)
}

// shortState is a migration's state in a few words, for fallback texts.
func shortState(m *bot.Migration) string {
	switch {
	case m.State == bot.StatePendingApproval:
		return "pending approval"
	case m.State.Running():
		return "running: " + runningWords(m.State)
	case m.State == bot.StateDone:
		return "done"
	case m.State == bot.StateFailed:
		return "failed at " + stepWords(m.FailedStep)
	case m.State == bot.StateNeedsApproval:
		return "needs a new approval"
	case m.State == bot.StateRejected:
		return "rejected"
	}
	return esc(strings.ReplaceAll(string(m.State), "_", " "), maxName)
}

// newSubscription names what a migration moved its users to: the subscription
// it bought, or the seats the customer already had when nothing was bought.
func newSubscription(m *bot.Migration) string {
	if m.NewSubscriptionID == "" {
		return "users moved to free seats of " + esc(cmp.Or(m.Plan.Target.Name, "the new plan"), maxName) + " the customer already had"
	}
	return "new subscription " + code(m.NewSubscriptionID)
}
