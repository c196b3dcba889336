package slackview

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// defaultTarget is preselected in an alert's target picker: Office 365 E1 is
// the plan Microsoft's Kaizala Pro guidance points most customers to.
const defaultTarget = "STANDARDPACK"

// AlertView is what an alert about an expiring subscription shows.
type AlertView struct {
	Tracked       bot.TrackedSubscription // customer, subscription (seats = Quantity, EndDate), DaysLeft
	Threshold     int                     // the threshold crossed (0 = already ended)
	UsersAssigned int                     // users holding the licence; -1 when unknown
	Targets       []bot.Target            // for the target picker (static select, ≤100 options)
	Migration     *bot.Migration          // the latest migration of this subscription, nil if none
	Now           time.Time
	Location      *time.Location
}

// Alert says that a subscription of a retired SKU is about to end. Without a
// migration (or when the last one was rejected) it offers a target picker
// and a Plan migration button; with one it says where that migration is.
func Alert(v AlertView) Message {
	t := v.Tracked
	sub := t.Subscription
	days := daysLeft(t.Finding, v.Now, v.Location)
	retired := esc(cmp.Or(t.Retired, sub.OfferName, "Subscription"), maxName)
	customer := customerLabel(t.Customer.Name, t.Customer.Domain, t.Customer.ID)

	// The threshold, not the exact days, sets the tone: an alert at the
	// 7-day mark or later is the last call.
	icon := ":warning:"
	if v.Threshold <= 7 {
		icon = ":rotating_light:"
	}
	users := "unknown"
	if v.UsersAssigned >= 0 {
		users = strconv.Itoa(v.UsersAssigned)
	}
	left := strconv.Itoa(days)
	switch {
	case days == 0:
		left = "0: the last day is today"
	case days < 0:
		left = "none: " + endsIn(days)
	}
	fields := []string{
		"Customer", customer,
		"Subscription", code(sub.ID),
		"Seats", strconv.Itoa(sub.Quantity),
		"Users assigned", users,
		"Ends", endDay(sub.EndDate),
		"Days left", left,
	}
	headline, when := retired+" "+endsIn(days), endsIn(days)
	if settled(sub, v.Migration) {
		// Nothing re-renders a settled alert as days go by: it shows no
		// count of them.
		icon, fields = ":white_check_mark:", fields[:len(fields)-2]
		fields = append(fields, "End date", endDay(sub.EndDate))
		headline, when = retired+" no longer needs a plan", "no longer needs a plan"
		if v.Migration != nil && v.Migration.State == bot.StateDone {
			headline, when = retired+" migrated", "migrated"
		}
	}
	blocks := []slack.Block{header(icon + " " + headline), fieldsSection(fields...)}

	text := fmt.Sprintf("%s for %s %s (%s), %s", retired, customer, when, endISO(sub.EndDate), plural(sub.Quantity, "seat", "seats"))
	m := v.Migration
	if m != nil {
		blocks = append(blocks, contextBlock("Migration "+esc(m.ID, maxName)+" "+stateWords(m, v.Location)))
		text += "; migration " + esc(m.ID, maxName) + " " + shortState(m)
	}
	if m == nil || m.State == bot.StateRejected {
		blocks = append(blocks, planPicker(sub.ID, v.Targets, retired)...)
	}
	return Message{Text: fallback(text), Blocks: blocks}
}

// planPicker is the target picker and the Plan migration button, with a line
// saying how to do the same by command.
func planPicker(subscriptionID string, targets []bot.Target, retired string) []slack.Block {
	if len(targets) == 0 {
		return []slack.Block{contextBlock("The catalog lists no replacement plans for " + retired +
			"; add them in KAIZALA_CATALOG, then plan with `/kaizala plan " + esc(subscriptionID, maxName) + " " + Escape("<target>") + "`.")}
	}
	buyable, needIDs := offered(targets)
	if len(buyable) == 0 {
		return []slack.Block{contextBlock("No plan for " + retired + " can be bought yet: each " + bot.NeedsIDs +
			" (`/kaizala targets` lists them).")}
	}
	var options []*slack.OptionBlockObject
	var initial *slack.OptionBlockObject
	for _, t := range buyable[:min(len(buyable), maxOptions)] {
		desc := t.SkuPartNumber
		if p := price(t); p != "" {
			desc += " · " + p + " a seat a month"
		}
		o := slack.NewOptionBlockObject(truncate(t.SkuPartNumber, maxOptionValue),
			plain(esc(t.Name, maxName), maxOptionText), plain(esc(desc, maxName), maxOptionText))
		options = append(options, o)
		if initial == nil && strings.EqualFold(t.SkuPartNumber, defaultTarget) {
			initial = o
		}
	}
	picker := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose a replacement plan", maxPlaceholder), ActionTarget, options...)
	if initial != nil {
		picker = picker.WithInitialOption(initial)
	}
	plan := button(ActionPlan, subscriptionID, "Plan migration").WithStyle(slack.StylePrimary)
	hint := "Choose a plan and click *Plan migration*, or type `/kaizala plan " + esc(subscriptionID, maxName) + " " + Escape("<target> [seats]") + "`."
	if len(buyable) > maxOptions {
		hint += fmt.Sprintf(" The list shows the first %d of %d plans; `/kaizala targets` lists them all.", maxOptions, len(buyable))
	}
	if needIDs > 0 {
		hint += fmt.Sprintf(" %s not offered here: no ids in KAIZALA_CATALOG yet (`/kaizala targets` lists them).", plural(needIDs, "plan", "plans"))
	}
	return []slack.Block{actions("kaizala_alert:"+subscriptionID, picker, plan), contextBlock(hint)}
}
