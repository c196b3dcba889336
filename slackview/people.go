package slackview

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// Messages that tell people: a customer's account owner when the customer
// alerts, approvers when a plan waits for them.

var (
	slackGroupID   = regexp.MustCompile(`^S[A-Z0-9]{1,30}$`)
	slackChannelID = regexp.MustCompile(`^[CGD][A-Z0-9]{1,30}$`)
)

// waitsOnShown is how many approvers a "waits on" names; the rest are counted.
const waitsOnShown = 5

// waitsOn names, as mentions, who a plan waits on: the approvers but the
// requester (who may not approve their own plan), then the approver group:
// "<@U1>, <@U2> or <!subteam^S1>". It is "an approver" when nobody is known.
func waitsOn(approvers []string, group, requester string) string {
	var ws []string
	for _, id := range approvers {
		if slackUserID.MatchString(id) && !strings.EqualFold(id, requester) {
			ws = append(ws, "<@"+id+">")
		}
	}
	if len(ws) > waitsOnShown {
		ws = append(ws[:waitsOnShown], fmt.Sprintf("%d more", len(ws)-waitsOnShown))
	}
	if slackGroupID.MatchString(group) {
		ws = append(ws, "<!subteam^"+group+">")
	}
	switch len(ws) {
	case 0:
		return "an approver"
	case 1:
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " or " + ws[len(ws)-1]
}

// WaitingView is a plan waiting for approval and who may approve it.
type WaitingView struct {
	Migration *bot.Migration
	Approvers []string // Slack user IDs (the policy's)
	Group     string   // the approver user group's ID, "" if none
	Approvals int      // approvals of the current plan so far
	Required  int      // approvals needed
	Now       time.Time
}

// ApprovalAsked is the reply in a new plan's thread that tells its
// approvers it waits for them.
func ApprovalAsked(v WaitingView) Message {
	m := v.Migration
	return textMessage(fmt.Sprintf(":raised_hand: %s: plan %s for %s waits for your approval (%s; asked by %s). %s",
		waitsOn(v.Approvers, v.Group, m.Requester.ID), code(m.ID), planCustomer(m), approvalCount(v), who(m.Requester), howToApprove(m)))
}

// BatchApprovalAsked is the reply in a new batch's thread that tells its
// approvers, once for the whole batch, that it waits for them.
func BatchApprovalAsked(approvers []string, group string, st *bot.BatchStatus) Message {
	b := st.Batch
	return textMessage(fmt.Sprintf(":raised_hand: %s: batch %s of %s waits for your approval (asked by %s). Click *Approve all* on the batch message, or type `/kaizala approve %s`.",
		waitsOn(approvers, group, b.Requester.ID), code(b.ID), plural(len(st.Members), "migration", "migrations"), who(b.Requester), esc(b.ID, maxName)))
}

// ApprovalReminder is the reply in a plan's thread that reminds its
// approvers it still waits, and how long it has.
func ApprovalReminder(v WaitingView) Message {
	m := v.Migration
	return textMessage(fmt.Sprintf(":bell: %s: plan %s for %s has waited %s for approval (%s; asked by %s). %s",
		waitsOn(v.Approvers, v.Group, m.Requester.ID), code(m.ID), planCustomer(m), since(cmp.Or(m.Plan.CreatedAt, m.CreatedAt), v.Now),
		approvalCount(v), who(m.Requester), howToApprove(m)))
}

// textMessage is a one-section message of line (already escaped).
func textMessage(line string) Message {
	return Message{Text: fallback(line), Blocks: []slack.Block{section(line)}}
}

func planCustomer(m *bot.Migration) string {
	return customerName(cmp.Or(m.Plan.CustomerName, m.CustomerName), cmp.Or(m.Plan.CustomerDomain, m.CustomerDomain), m.CustomerID)
}

func approvalCount(v WaitingView) string {
	return fmt.Sprintf("%d of %d", v.Approvals, max(1, v.Required))
}

// howToApprove points at the buttons and says when the subscription ends,
// which is what makes the plan urgent.
func howToApprove(m *bot.Migration) string {
	s := fmt.Sprintf("Approve or Reject on the plan above, or type `/kaizala approve %s`.", esc(m.ID, maxName))
	if end := m.Plan.Subscription.EndDate; !end.IsZero() {
		s = fmt.Sprintf("The subscription ends %s. ", endDay(end)) + s
	}
	return s
}

// OwnerAlertItem is one alerting subscription of an owner's customer.
type OwnerAlertItem struct {
	Tracked bot.TrackedSubscription
	// AlertLink is the alert message's permalink; without one the note
	// names AlertChannel.
	AlertLink    string
	AlertChannel string
	Migration    *bot.Migration // the subscription's latest, nil if none
}

// OwnerAlertView is what a customer's account owner is told when the
// subscriptions of their customers alert: one note per scan, not one per
// subscription.
type OwnerAlertView struct {
	Owner string // the owner's Slack user ID
	// InChannel: the note goes to a channel (the owner's, from
	// KAIZALA_OWNERS) rather than the owner's DM, so it names the owner.
	InChannel bool
	Items     []OwnerAlertItem // most urgent first
	Now       time.Time
	Location  *time.Location
}

// ownerBlocks is how many sections one owner's note lists subscriptions
// in; the rest are counted and found with /kaizala list.
const ownerBlocks = 4

// OwnerAlert tells an account owner that their customers' subscriptions
// alert: for each, the customer, the subscription, the days left, and
// where its alert is (to plan the migration there).
func OwnerAlert(v OwnerAlertView) Message {
	to := ""
	if v.InChannel && slackUserID.MatchString(v.Owner) {
		to = "<@" + v.Owner + ">, "
	}
	whose := "customers'"
	if len(v.Items) == 1 {
		whose = "customer's"
	}
	why := "You get this as the " + whose + " account owner (KAIZALA_OWNERS)."
	if v.InChannel {
		why = "Posted here as this channel follows the " + whose + " account (KAIZALA_OWNERS)."
	}
	urgent := slices.ContainsFunc(v.Items, func(it OwnerAlertItem) bool { return daysLeft(it.Tracked.Finding, v.Now, v.Location) <= 7 })
	icon := ":warning: "
	if urgent {
		icon = ":rotating_light: "
	}
	if len(v.Items) == 1 {
		lead := "Your customer "
		if to != "" {
			lead = to + "your customer "
		}
		line := icon + lead + ownerItem(v.Items[0], v, true)
		return Message{Text: fallback(line), Blocks: []slack.Block{section(line), contextBlock(why)}}
	}
	intro := icon + fmt.Sprintf("%sAlerts for %d subscriptions of your customers:", to, len(v.Items))
	if to != "" {
		intro = icon + fmt.Sprintf("%salerts for %d subscriptions of your customers:", to, len(v.Items))
	}
	lines := make([]string, len(v.Items))
	names := make([]string, len(v.Items))
	for i, it := range v.Items {
		lines[i] = "• " + ownerItem(it, v, false)
		c := it.Tracked.Customer
		names[i] = customerName(c.Name, c.Domain, c.ID) + " " + endsIn(daysLeft(it.Tracked.Finding, v.Now, v.Location))
	}
	blocks := []slack.Block{section("*" + intro + "*")}
	blocks = append(blocks, packLines(lines, "\n", ownerBlocks, maxMessageChars/2, func(left int) string {
		return fmt.Sprintf("…and %d more: see `/kaizala list`.", left)
	})...)
	blocks = append(blocks, contextBlock(why))
	return Message{Text: fallback(intro + " " + strings.Join(names, "; ") + "."), Blocks: blocks}
}

// ownerItem is one subscription of an owner's note: a sentence when it is
// the only one, a list line otherwise.
func ownerItem(it OwnerAlertItem, v OwnerAlertView, alone bool) string {
	t := it.Tracked
	sub := t.Subscription
	retired := esc(cmp.Or(t.Retired, sub.OfferName, "subscription"), maxName)
	customer := "*" + customerLabel(t.Customer.Name, t.Customer.Domain, t.Customer.ID) + "*"
	what := fmt.Sprintf("%s subscription %s (%s) %s (%s)", retired, code(sub.ID), plural(sub.Quantity, "seat", "seats"),
		endsIn(daysLeft(t.Finding, v.Now, v.Location)), endDay(sub.EndDate))
	where := ""
	switch {
	case linkable(it.AlertLink):
		where = "<" + it.AlertLink + "|the alert>"
	case slackChannelID.MatchString(it.AlertChannel):
		where = "the alert in <#" + it.AlertChannel + ">"
	}
	m := it.Migration
	planned := m != nil && m.State != bot.StateRejected
	if !alone {
		line := customer + ": " + what
		if planned {
			line += " — migration " + code(m.ID) + ": " + shortState(m)
		}
		if where != "" {
			line += " — " + where
		}
		return line
	}
	line := customer + ": its " + what + "."
	plan := " Plan its migration with `/kaizala plan " + esc(sub.ID, maxName) + " &lt;target&gt;`."
	switch {
	case planned:
		line += " Migration " + code(m.ID) + ": " + sentence(stateWords(m, v.Location))
		if where != "" {
			line += " See " + where + "."
		}
	case where != "":
		line += " Plan its migration from " + where + ", or with `/kaizala plan " + esc(sub.ID, maxName) + " &lt;target&gt;`."
	default:
		line += plan
	}
	return line
}

// linkable reports whether a permalink can go inside <…|…> as it is.
func linkable(u string) bool {
	return (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && !strings.ContainsAny(u, "<>| \n")
}
