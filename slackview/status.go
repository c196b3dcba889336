package slackview

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// statusMigrations is how many migrations Status names per subscription,
// newest first; older ones are counted.
const statusMigrations = 5

// Status shows one subscription, or all of a customer's: their facts and
// their migrations' states (id, target, state, when).
func Status(tracked []bot.TrackedSubscription, migrations []*bot.Migration, now time.Time, loc *time.Location) Message {
	if len(tracked) == 0 && len(migrations) == 0 {
		line := "Nothing is known about that: no scanned subscription and no migration match."
		return Message{Text: line, Blocks: []slack.Block{section(line)}}
	}
	// Newest first: the latest migration is the one that matters.
	newest := slices.Clone(migrations)
	slices.Reverse(newest)
	taken := make([]bool, len(newest))
	mine := func(subscriptionID string) []*bot.Migration {
		var out []*bot.Migration
		for i, m := range newest {
			if !taken[i] && bot.SameID(m.SubscriptionID, subscriptionID) {
				taken[i] = true
				out = append(out, m)
			}
		}
		return out
	}

	entries := make([]string, 0, len(tracked)+1)
	for _, t := range tracked {
		entries = append(entries, subscriptionStatus(t, mine(t.Subscription.ID), now, loc))
	}
	var others []*bot.Migration
	for i, m := range newest {
		if !taken[i] {
			others = append(others, m)
		}
	}
	if len(others) > 0 {
		entries = append(entries, "*Migrations of subscriptions the last scan did not see*\n"+migrationStates(others, loc))
	}
	more := func(left int) string {
		return fmt.Sprintf("…and %d more. `/kaizala status %s` shows one subscription.", left, Escape("<subscription-id>"))
	}
	blocks := packLines(entries, "\n\n", maxBlocks, maxMessageChars, more)
	return Message{Text: fallback(statusText(tracked, migrations, now, loc)), Blocks: blocks}
}

// subscriptionStatus is one subscription's facts and its migrations.
func subscriptionStatus(t bot.TrackedSubscription, ms []*bot.Migration, now time.Time, loc *time.Location) string {
	sub := t.Subscription
	renews := "does not renew"
	if sub.AutoRenew {
		renews = "renews automatically"
	}
	ends := "no end date"
	if sub.HasEnd() {
		ends = fmt.Sprintf("%s (%s)", endsIn(daysLeft(t.Finding, now, loc)), endDay(sub.EndDate))
	}
	s := fmt.Sprintf("*Subscription %s* of %s\n%s, %s, %s, %s; %s.",
		code(sub.ID), customerLabel(t.Customer.Name, t.Customer.Domain, t.Customer.ID),
		esc(cmp.Or(sub.OfferName, t.Retired), maxName), plural(sub.Quantity, "seat", "seats"),
		esc(cmp.Or(sub.Status, "status unknown"), maxName), renews, ends)
	if !t.LastSeen.IsZero() {
		s += " Last scanned " + stamp(t.LastSeen, loc) + "."
	}
	if len(ms) == 0 {
		return s + "\nNo migration yet: `/kaizala plan " + esc(sub.ID, maxName) + " " + Escape("<target>") + "` makes one."
	}
	return s + "\n" + migrationStates(ms, loc)
}

// migrationStates lists migrations: "`M7K2QX` to Office 365 E1, updated …: <state>"
// (the state last: a long error is what gets cut).
func migrationStates(ms []*bot.Migration, loc *time.Location) string {
	lines := make([]string, len(ms))
	for i, m := range ms {
		lines[i] = fmt.Sprintf("%s to %s, updated %s: %s", code(m.ID), esc(m.Plan.Target.Name, maxName),
			stamp(m.UpdatedAt, loc), stateWords(m, loc))
	}
	return bullets(lines, statusMigrations, 0)
}

// statusText is the fallback: the one subscription in a sentence, or counts.
func statusText(tracked []bot.TrackedSubscription, migrations []*bot.Migration, now time.Time, loc *time.Location) string {
	counts := plural(len(tracked), "subscription", "subscriptions") + " and " + plural(len(migrations), "migration", "migrations")
	switch len(tracked) {
	case 0:
		return counts + "."
	case 1:
	default:
		c := tracked[0].Customer
		return customerName(c.Name, c.Domain, c.ID) + ": " + counts + "."
	}
	t := tracked[0]
	ends := "has no end date"
	if t.Subscription.HasEnd() {
		ends = fmt.Sprintf("%s (%s)", endsIn(daysLeft(t.Finding, now, loc)), endISO(t.Subscription.EndDate))
	}
	s := fmt.Sprintf("%s: subscription %s %s, %s", customerName(t.Customer.Name, t.Customer.Domain, t.Customer.ID),
		esc(t.Subscription.ID, maxName), ends, plural(t.Subscription.Quantity, "seat", "seats"))
	var latest *bot.Migration
	for _, m := range migrations {
		if bot.SameID(m.SubscriptionID, t.Subscription.ID) {
			latest = m
		}
	}
	if latest != nil {
		s += "; migration " + esc(latest.ID, maxName) + " " + shortState(latest)
	}
	return s + "."
}
