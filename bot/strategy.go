package bot

import (
	"fmt"
	"strings"
	"time"
)

// Strategy is the path a migration takes from the retired subscription to
// the target. Partner Center offers three (new-commerce.md §3):
//   - transition: one call converts the subscription and moves the
//     licences with it; nothing is bought twice, nobody is moved by hand;
//   - renewal: a new-commerce subscription renews into the target at the
//     end of its term (auto-renew on with scheduledNextTermInstructions);
//     no overlap, no double billing;
//   - replace: buy the target, move each user, then the old subscription's
//     fate (the seed's A → B → C).
type Strategy string

// The strategies.
const (
	StrategyReplace    Strategy = "replace"
	StrategyTransition Strategy = "transition"
	StrategyRenewal    Strategy = "renewal"
)

// Strategies lists the strategies in the order the planner prefers them
// when each is possible: the one that costs the customer least and risks
// least first.
var Strategies = []Strategy{StrategyTransition, StrategyRenewal, StrategyReplace}

// DefaultRenewalLead is how far ahead a new-commerce term must end for the
// planner to propose changing at renewal (KAIZALA_RENEWAL_LEAD): closer than
// that, a missed renewal would leave no time to replace instead.
const DefaultRenewalLead = 14 * 24 * time.Hour

// ParseStrategy reads a strategy as people type it after "via"
// ("transition", "replace", "renewal", "at-renewal"); "" is the planner's choice.
func ParseStrategy(s string) (Strategy, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", true
	case "transition", "transit":
		return StrategyTransition, true
	case "replace", "buy":
		return StrategyReplace, true
	case "renewal", "renew", "at-renewal", "at_renewal":
		return StrategyRenewal, true
	}
	return "", false
}

// Words names the strategy as plans say it ("via transition").
func (s Strategy) Words() string {
	switch s {
	case StrategyTransition:
		return "via transition"
	case StrategyRenewal:
		return "at renewal"
	}
	return "via replace"
}

// Noun names the strategy in a sentence ("a change at renewal").
func (s Strategy) Noun() string {
	switch s {
	case StrategyTransition:
		return "a transition"
	case StrategyRenewal:
		return "a change at renewal"
	}
	return "a replace"
}

// Alternative is one strategy the planner weighed: whether it is possible,
// and in one line what it would cost, when it would take effect and who it
// touches, or why it is not possible.
type Alternative struct {
	Strategy Strategy `json:"strategy"`
	Possible bool     `json:"possible"`
	Line     string   `json:"line"`
}

// Path is the plan's strategy; plans saved before there was a choice replace.
func (p Plan) Path() Strategy {
	if p.Strategy == "" {
		return StrategyReplace
	}
	return p.Strategy
}

// BilledSeats is how many seats of the target the customer pays for once
// the migration is done: those bought (replace), or the subscription's
// seats converted (transition) or renewed into the target (renewal).
func (p Plan) BilledSeats() int {
	if p.Path() == StrategyReplace {
		return p.Seats
	}
	return p.Subscription.Quantity
}

// Alternative returns the plan's line for strategy s.
func (p Plan) Alternative(s Strategy) (Alternative, bool) {
	for _, a := range p.Alternatives {
		if a.Strategy == s {
			return a, true
		}
	}
	return Alternative{}, false
}

// dayWords is a date as plans say it ("3 Jan 2027").
func dayWords(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

// plural is n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
