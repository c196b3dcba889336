package slackview

import (
	"cmp"
	"strings"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// runningWords says a state in the lifecycle's words: for a running
// migration, what it is doing ("moving users").
func runningWords(s bot.State) string {
	return cmp.Or(s.Words(), esc(strings.ReplaceAll(string(s), "_", " "), maxName))
}

// stepWords names a step the way people say it: the lifecycle's words for
// the state that runs it.
func stepWords(s bot.StepName) string {
	if s == "" {
		return "an unnamed step"
	}
	return cmp.Or(s.Words(), esc(strings.ReplaceAll(string(s), "_", " "), maxName))
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
	case m.State == bot.StateUndone:
		return "undone on " + day(m.UpdatedAt, loc) + ": " + undoneWords(m)
	case m.State == bot.StateRejected:
		// The engine records "rejected by <name>: <reason>" as the error.
		return esc(cmp.Or(strings.TrimSpace(m.Error), "rejected"), maxError)
	}
	return esc(strings.ReplaceAll(string(m.State), "_", " "), maxName)
}

// shortState is a migration's state in a few words, for fallback texts.
func shortState(m *bot.Migration) string {
	switch {
	case m.State.Running():
		return "running: " + runningWords(m.State)
	case m.State == bot.StateFailed:
		return "failed at " + stepWords(m.FailedStep)
	}
	return runningWords(m.State)
}

// newSubscription names what a migration moved its users to: the subscription
// it bought, or the seats the customer already had when nothing was bought.
func newSubscription(m *bot.Migration) string {
	target := esc(cmp.Or(m.Plan.Target.Name, "the new plan"), maxName)
	switch m.Plan.Path() {
	case bot.StrategyTransition:
		line := "subscription " + code(m.SubscriptionID) + " converted to " + target
		if m.NewSubscriptionID != "" && !bot.SameID(m.NewSubscriptionID, m.SubscriptionID) {
			line += " (now subscription " + code(m.NewSubscriptionID) + ")"
		}
		return line
	case bot.StrategyRenewal:
		return "subscription " + code(m.SubscriptionID) + " renewed into " + target + " on " + endDay(m.Plan.RenewsOn)
	}
	if m.NewSubscriptionID == "" {
		return "users moved to free seats of " + esc(cmp.Or(m.Plan.Target.Name, "the new plan"), maxName) + " the customer already had"
	}
	return "new subscription " + code(m.NewSubscriptionID)
}
