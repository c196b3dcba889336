package slackview

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// List shows the subscriptions expiring within days, most urgent first, one
// line each, cut to what fits a message with a count of the rest. Days left
// are counted from now, not from the scan that found them.
//
// extra, optional, says what the list knows besides: the open migration of
// a subscription (pending or running, and who asked) and a customer's
// account owner.
func List(found []bot.TrackedSubscription, within int, now time.Time, loc *time.Location, extra ...ListExtra) Message {
	var x ListExtra
	if len(extra) > 0 {
		x = extra[0]
	}
	var expiring []bot.TrackedSubscription
	for _, t := range found {
		t.DaysLeft = daysLeft(t.Finding, now, loc)
		if t.Expiring(within) {
			expiring = append(expiring, t)
		}
	}
	if len(expiring) == 0 {
		line := fmt.Sprintf("Nothing expires within %s.", plural(within, "day", "days"))
		return Message{Text: line, Blocks: []slack.Block{section(line)}}
	}
	slices.SortStableFunc(expiring, func(a, b bot.TrackedSubscription) int {
		return cmp.Or(
			cmp.Compare(a.DaysLeft, b.DaysLeft),
			cmp.Compare(strings.ToLower(a.Customer.Label()), strings.ToLower(b.Customer.Label())),
			cmp.Compare(a.Subscription.ID, b.Subscription.ID),
		)
	})

	title := fmt.Sprintf("*%s expiring within %s*, most urgent first:",
		plural(len(expiring), "subscription", "subscriptions"), plural(within, "day", "days"))
	lines := make([]string, len(expiring))
	for i, t := range expiring {
		lines[i] = fmt.Sprintf("• *%s* · %s · %s · %s · %s", daysColumn(t.DaysLeft), endISO(t.Subscription.EndDate),
			customerLabel(t.Customer.Name, t.Customer.Domain, t.Customer.ID), code(t.Subscription.ID),
			plural(t.Subscription.Quantity, "seat", "seats"))
		if x.Owner != nil {
			if owner := x.Owner(t.Customer); owner != "" {
				lines[i] += " · owner " + who(bot.Actor{ID: owner})
			}
		}
		if m := x.Open[strings.ToLower(t.Subscription.ID)]; m != nil {
			lines[i] += fmt.Sprintf(" · :memo: %s %s, asked by %s", code(m.ID), shortState(m), who(m.Requester))
		}
	}
	more := func(left int) string {
		return fmt.Sprintf("…and %d more. Narrow the list with `/kaizala list 7`, or see every one with `kaizalabot scan`.", left)
	}
	blocks := append([]slack.Block{section(title)}, packLines(lines, "\n", maxBlocks-1, maxMessageChars-len(title), more)...)

	first := expiring[0]
	text := fmt.Sprintf("%s expiring within %s; the most urgent: %s, %s.",
		plural(len(expiring), "subscription", "subscriptions"), plural(within, "day", "days"),
		customerName(first.Customer.Name, first.Customer.Domain, first.Customer.ID), endsIn(first.DaysLeft))
	return Message{Text: fallback(text), Blocks: blocks}
}

// ListExtra is what a list shows besides the subscriptions.
type ListExtra struct {
	// Open maps a lower-case subscription id to its open migration.
	Open map[string]*bot.Migration
	// Owner names a customer's account owner (a Slack user id), or "".
	Owner func(bot.Customer) string
}

// daysColumn is the days-left column of a list: "12 days", "today", "ended 3 days ago".
func daysColumn(days int) string {
	switch {
	case days == 0:
		return "today"
	case days < 0:
		return endsIn(days)
	}
	return plural(days, "day", "days")
}
