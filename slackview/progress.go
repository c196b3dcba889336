package slackview

import (
	"cmp"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kaizalabot/kaizalabot/bot"
)

// movedEvery is how often a user's move is reported in the thread: a
// customer with 1,000 users should not get 1,000 replies.
const movedEvery = 10

// Progress is a one-line reply in the plan's thread for an event. ok is false
// for events not posted there: planned (the plan itself is the message),
// approved (approvals update the plan message) and most user moves.
func Progress(e bot.Event, loc *time.Location) (text string, ok bool) {
	m := &e.Migration
	id := esc(m.ID, maxName)
	target := esc(m.Plan.Target.Name, maxName)
	switch e.Kind {
	case bot.EventStarted:
		if step, resumed := strings.CutPrefix(e.Message, "resumed at "); resumed {
			line := "Resumed at " + stepWords(bot.StepName(step))
			switch {
			case e.Actor.ID == "" || e.Actor.ID == bot.System.ID:
			case m.Override:
				// The engine resumes an override the same way as a retry.
				line += ": " + who(e.Actor) + " chose to suspend although some users still hold " + esc(cmp.Or(m.Plan.Retired, "Kaizala Pro"), maxName)
			default:
				line += " (retried by " + who(e.Actor) + ")"
			}
			return fallback(line + "."), true
		}
		if e.Actor.ID == "" || e.Actor.ID == bot.System.ID {
			return fallback(toRequester(m, "Approved; starting.")), true
		}
		return fallback(toRequester(m, "Approved by "+who(e.Actor)+"; starting.")), true

	case bot.EventBought:
		return fallback(fmt.Sprintf("Bought subscription %s for %s of %s.",
			code(m.NewSubscriptionID), plural(cmp.Or(e.Total, m.Plan.Seats), "seat", "seats"), esc(m.Plan.Target.Name, maxName))), true

	case bot.EventSeatsReady:
		if e.Total == 0 {
			return "The seats are ready.", true
		}
		return fmt.Sprintf("The %s ready.", plural(e.Total, "seat is", "seats are")), true

	case bot.EventUserMoved:
		if e.Done%movedEvery != 0 && e.Done != e.Total {
			return "", false
		}
		return fmt.Sprintf("Moved %d of %s.", e.Done, plural(e.Total, "user", "users")), true

	case bot.EventUserFailed:
		upn, why := "a user", "no reason given"
		if e.Move != nil {
			upn = esc(cmp.Or(e.Move.UPN, e.Move.UserID, "a user"), maxName)
			why = esc(cmp.Or(e.Move.Error, why), maxError)
		}
		return fallback("Could not move " + upn + ": " + sentence(why)), true

	case bot.EventSuspended:
		return fallback(oldDoneWords(m.Plan, m.SubscriptionID, e.Deprovision, loc)), true

	case bot.EventProvisioning:
		return fallback(fmt.Sprintf(":hourglass: The purchase is made; waiting for Microsoft to provision order %s. The new subscription is named here once it exists; nothing is bought twice.",
			code(e.Message))), true

	case bot.EventDone:
		customer := customerName(m.CustomerName, m.CustomerDomain, m.CustomerID)
		if m.Plan.Path() != bot.StrategyReplace {
			// No step C: the old subscription itself became the target.
			return fallback(":white_check_mark: " + toRequester(m, fmt.Sprintf("Done. The users of %s now have %s (%s).",
				customer, target, newSubscription(m)))), true
		}
		return fallback(":white_check_mark: " + toRequester(m, fmt.Sprintf("Done. The users of %s now have %s (%s); old subscription %s %s.",
			customer, target, newSubscription(m), code(m.SubscriptionID), fateDone(m.Plan)))), true

	case bot.EventTransitioning:
		return fallback(fmt.Sprintf(":arrows_counterclockwise: Transition started: Partner Center converts subscription %s (%s) to %s, licences and all. Microsoft completes it by itself; the result is posted here.",
			code(m.SubscriptionID), plural(m.Plan.BilledSeats(), "seat", "seats"), target)), true

	case bot.EventTransitioned:
		line := fmt.Sprintf("Converted: subscription %s is now %s", code(m.SubscriptionID), target)
		if m.NewSubscriptionID != "" && !bot.SameID(m.NewSubscriptionID, m.SubscriptionID) {
			line = fmt.Sprintf("Converted: subscription %s became subscription %s of %s", code(m.SubscriptionID), code(m.NewSubscriptionID), target)
		}
		return fallback(line + ", with the licences. Checking that every user holds it."), true

	case bot.EventScheduled:
		when := cmp.Or(e.Message, bot.RenewalWords(m.Plan))
		return fallback(fmt.Sprintf(":calendar: Scheduled: subscription %s %s; auto-renew is on. Nothing else changes until then; it can be undone until the renewal (`/kaizala undo %s`).",
			code(m.SubscriptionID), sentenceless(esc(when, maxError)), id)), true

	case bot.EventRenewed:
		return fallback(fmt.Sprintf("Renewed: subscription %s renewed into %s; Microsoft moves the licences. Checking that every user holds it.",
			code(m.SubscriptionID), target)), true

	case bot.EventUndoing:
		line := "Undo asked by " + who(e.Actor) + because(e.Message) + ": "
		if m.Plan.Path() == bot.StrategyRenewal {
			line += fmt.Sprintf("removing the change scheduled on subscription %s.", code(m.SubscriptionID))
		} else {
			line += fmt.Sprintf("moving the users back to %s", esc(cmp.Or(m.Plan.Retired, "Kaizala Pro"), maxName))
			if m.NewSubscriptionID != "" && m.Plan.Seats > 0 {
				line += fmt.Sprintf(", then cancelling subscription %s (%s)", code(m.NewSubscriptionID), target)
			}
			line += "."
		}
		return fallback(":leftwards_arrow_with_hook: " + toRequester(m, line)), true

	case bot.EventUndone:
		what := undoneWords(m) // escaped already
		if msg := strings.TrimSpace(e.Message); msg != "" {
			what = sentence(esc(msg, maxError))
		}
		return fallback(":leftwards_arrow_with_hook: " + toRequester(m, "Undone: "+what)), true

	case bot.EventFailed:
		return fallback(":x: " + toRequester(m, fmt.Sprintf("Failed at %s: %s Retry with the button above or `/kaizala retry %s`.",
			stepWords(m.FailedStep), sentence(esc(cmp.Or(e.Message, m.Error), maxError)), id))), true

	case bot.EventNeedsApproval:
		return fallback(":warning: " + toRequester(m, fmt.Sprintf("Stopped before %s: %s Retry with the button above or `/kaizala retry %s` to make a new plan to approve.",
			stepWords(m.FailedStep), sentence(esc(cmp.Or(e.Message, m.Error), maxError)), id))), true

	case bot.EventWaiting:
		return fallback(":hourglass: Waiting: " + sentence(esc(cmp.Or(e.Message, "something is not answering"), maxError)) +
			" Nothing is lost and nothing is done twice; the migration goes on by itself when it is over."), true

	case bot.EventGoingOn:
		return fallback(":arrow_forward: Going on: " + sentence(esc(cmp.Or(e.Message, "the trouble is over"), maxError))), true

	case bot.EventReplanned:
		changes := "nothing that matters changed"
		if e.Message != "" {
			changes = esc(e.Message, maxError)
		}
		return fallback(fmt.Sprintf(":memo: New plan to approve (%s). The plan above is updated; it needs approval again.", changes)), true

	case bot.EventRejected:
		actor, reason := e.Actor, "no reason given"
		if e.Decision != nil {
			actor, reason = e.Decision.Actor, cmp.Or(e.Decision.Reason, reason)
		}
		line := rejectedWord(m, actor) + " by " + who(actor) + ": " + sentence(esc(reason, maxReason))
		if !strings.EqualFold(actor.ID, m.Requester.ID) { // a requester withdrawing knows
			line = toRequester(m, line)
		}
		return fallback(":no_entry_sign: " + line), true
	}
	return "", false
}

// sentenceless is s without the full stop that ends it, to go on with it.
func sentenceless(s string) string { return strings.TrimSuffix(strings.TrimSpace(s), ".") }

// toRequester addresses line to the migration's requester with a mention
// ("<@U1>, done. …"), so they hear of their plan's outcome; line is
// unchanged when the requester is not a Slack user (the system).
func toRequester(m *bot.Migration, line string) string {
	if !slackUserID.MatchString(m.Requester.ID) {
		return line
	}
	r, size := utf8.DecodeRuneInString(line)
	return "<@" + m.Requester.ID + ">, " + string(unicode.ToLower(r)) + line[size:]
}
