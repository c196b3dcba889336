package slackview

import (
	"cmp"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// planListed is how many users a plan names in its Move and Cannot move
// lists; the rest are counted.
const planListed = 10

// maxConfirmName bounds a name inside a confirmation dialog's text.
const maxConfirmName = 60

// PlanView is a migration and the decisions made about it so far.
type PlanView struct {
	Migration *bot.Migration
	Decisions []bot.Decision // its approvals/rejections/overrides
	Required  int            // approvals needed
	// Now is when the message is rendered. The plan shows absolute times
	// only: it is re-rendered when the migration changes, not as time
	// passes, so "2 hours ago" would go stale.
	Now      time.Time
	Location *time.Location
	// Owner is the Slack user ID of the customer's account owner
	// (KAIZALA_OWNERS), mentioned on the plan; "" when it has none.
	Owner string
}

// Plan is the message posted for approval and updated in place as the
// migration moves on. It shows exactly what will happen (from
// Migration.Plan), who asked and who approved, and the buttons that fit the
// state: Approve and Reject while pending, Retry (and Override) after a
// failure.
func Plan(v PlanView) Message {
	m := v.Migration
	p := m.Plan
	loc := v.Location
	required := max(1, v.Required)
	retired := esc(cmp.Or(p.Retired, "Kaizala Pro"), maxName)
	target := esc(p.Target.Name, maxName)
	name := customerName(cmp.Or(p.CustomerName, m.CustomerName), cmp.Or(p.CustomerDomain, m.CustomerDomain), m.CustomerID)
	subID := cmp.Or(p.Subscription.ID, m.SubscriptionID)

	blocks := []slack.Block{
		header("Migration plan " + esc(m.ID, maxName) + ": " + retired + " → " + target),
		section("*Customer:* " + customerLabel(cmp.Or(p.CustomerName, m.CustomerName), cmp.Or(p.CustomerDomain, m.CustomerDomain), m.CustomerID)),
	}
	if line := pathLine(p); line != "" {
		blocks = append(blocks, section(line))
	}
	blocks = append(blocks, section("*Buy:* "+buyWords(p, loc)))
	if odd := p.Unusual(); len(odd) > 0 && m.State == bot.StatePendingApproval {
		blocks = append(blocks, section(":warning: *Unusual seat count:* "+esc(strings.Join(odd, "; "), maxError)+". Check it before approving."))
	}
	blocks = append(blocks, section("*Move:* "+moveWords(p, retired, target)))
	if len(p.CannotMove) > 0 {
		blocks = append(blocks, section("*Cannot move:* "+cannotMoveWords(p, retired)))
	}
	blocks = append(blocks, section(oldWords(p, subID, loc)))
	// The alternatives are for deciding: once the plan is approved they are
	// history, and the path line keeps why this one was taken.
	if alt := alternativesWords(p); alt != "" && m.State == bot.StatePendingApproval {
		blocks = append(blocks, section(alt))
	}
	blocks = append(blocks, contextBlock(whoDecided(v, required)...))
	blocks = append(blocks, stateBlocks(v, name, retired, target)...)

	text := fmt.Sprintf("Migration plan %s for %s: buy %s, move %s, %s %s",
		esc(m.ID, maxName), name, buyShort(p, target), plural(len(p.Move), "user", "users"), fateVerb(p), esc(subID, maxName))
	if p.Path() != bot.StrategyReplace {
		text = fmt.Sprintf("Migration plan %s for %s, %s: %s (subscription %s)",
			esc(m.ID, maxName), name, p.Path().Words(), esc(p.Summary(), maxError), esc(subID, maxName))
	}
	if m.State == bot.StatePendingApproval {
		text += fmt.Sprintf(". Waiting for approval (%d of %d).", len(approvers(v)), required)
	} else {
		text += ". " + capitalize(shortState(m)) + "."
	}
	return Message{Text: fallback(text), Blocks: blocks}
}

// buyWords says what is bought, on what terms, and what it costs at list
// price a month and for the whole term.
func buyWords(p bot.Plan, loc *time.Location) string {
	t := p.Target
	terms := fmt.Sprintf("%s (%s), %s, billed %s", esc(t.Name, maxName), code(t.SkuPartNumber), termWords(t.Term()), cycleWords(t.Cycle()))
	switch p.Path() {
	case bot.StrategyTransition:
		return fmt.Sprintf("nothing: the subscription's %s converted to %s%s.",
			plural(p.BilledSeats(), "seat is", "seats are"), terms, costLine(p, ": they cost"))
	case bot.StrategyRenewal:
		return fmt.Sprintf("nothing: on %s the subscription's %s into %s%s. Until then nothing changes and it is billed as now.",
			endDay(p.RenewsOn), plural(p.BilledSeats(), "seat renews", "seats renew"), terms, costLine(p, "; from then they cost"))
	}
	if p.Seats == 0 {
		if p.FreeTargetSeats > 0 {
			return fmt.Sprintf("nothing to buy: the customer already has %s of %s.",
				plural(p.FreeTargetSeats, "free seat", "free seats"), esc(t.Name, maxName))
		}
		return "nothing to buy: every user to move already holds " + esc(t.Name, maxName) + "."
	}
	s := fmt.Sprintf("%s of %s (%s), %s, billed %s", plural(p.Seats, "seat", "seats"), esc(t.Name, maxName), code(t.SkuPartNumber),
		termWords(t.Term()), cycleWords(t.Cycle()))
	if how, _ := t.HowToBuy(); how == bot.BuyByLegacyOrder {
		s += " (legacy offer)"
	} else {
		s += " (new commerce)"
	}
	s += costLine(p, ":")
	if p.FreeTargetSeats > 0 {
		s += fmt.Sprintf(" (the customer already has %s)", plural(p.FreeTargetSeats, "free seat", "free seats"))
	}
	if until := p.NewCancellableUntil(); !until.IsZero() {
		s += fmt.Sprintf(". It can be cancelled with a refund until about %s (7 days after purchase; the exact date is the new subscription's own), after that the whole term is billed", day(until, loc))
	}
	return s + "."
}

// costLine is what the billed seats cost at list price a month and for the
// whole term, after lead ("" when the catalog has no price).
func costLine(p bot.Plan, lead string) string {
	t := p.Target
	if t.ListPrice <= 0 {
		return ""
	}
	cur := esc(t.Currency, 10)
	return fmt.Sprintf("%s about %s a month and %s for the whole term at list price (%d × %s a month)", lead,
		strings.TrimSpace(cur+" "+money(p.MonthlyPrice())), strings.TrimSpace(cur+" "+money(p.TermPrice())), p.BilledSeats(), money(t.ListPrice))
}

// pathLine says which path the plan takes and why; "" for a plan saved
// before there was a choice (it replaces, and says nothing of why).
func pathLine(p bot.Plan) string {
	if p.Strategy == "" {
		return ""
	}
	line := "*Path:* " + p.Path().Words()
	if p.Why != "" {
		line += " — " + sentence(esc(p.Why, maxError))
	}
	if p.WhyNot != "" {
		line += " " + capitalize(sentence(esc(p.WhyNot, maxError)))
	}
	return line
}

// maxAlternative bounds one alternative's line: it says cost, when and who.
const maxAlternative = 600

// alternativesWords lists the strategies the planner weighed besides the
// one it took, one line each: possible (✓) or not (✗), and what it would
// do or why not. "" when there are none (plans saved before kept none).
func alternativesWords(p bot.Plan) string {
	var lines []string
	for _, a := range p.Alternatives {
		if a.Strategy == p.Path() {
			continue // the plan itself says what it does
		}
		mark := "✗"
		if a.Possible {
			mark = "✓"
		}
		lines = append(lines, fmt.Sprintf("%s *%s:* %s", mark, a.Strategy.Words(), sentence(esc(a.Line, maxAlternative))))
	}
	if len(lines) == 0 {
		return ""
	}
	return "*Alternatives*\n" + strings.Join(lines, "\n")
}

// cycleWords says a billing cycle as an adverb: "annually", "monthly".
func cycleWords(c string) string {
	switch strings.ToLower(c) {
	case "annual":
		return "annually"
	case "monthly":
		return "monthly"
	case "triennial":
		return "every three years"
	}
	return esc(strings.ToLower(c), 20)
}

// termWords says a term duration in words: "a 1-year term (P1Y)".
func termWords(d string) string {
	n := bot.TermMonths(d)
	switch {
	case n == 0:
		return "term " + code(d)
	case n%12 == 0:
		return fmt.Sprintf("a %d-year term (%s)", n/12, esc(d, 10))
	}
	return fmt.Sprintf("a %d-month term (%s)", n, esc(d, 10))
}

// oldDoneWords says what step C did to the old subscription and what that
// means for its billing; ends is from bot.OldOutcome.
func oldDoneWords(p bot.Plan, subID string, ends time.Time, loc *time.Location) string {
	id := code(subID)
	switch f := cmp.Or(p.OldFate, bot.FateSuspend); {
	case f == bot.FateSuspend && !p.Subscription.NewCommerce:
		return fmt.Sprintf("Suspended subscription %s: its billing stopped with a prorated credit; Microsoft deletes it on %s.", id, day(ends, loc))
	case f == bot.FateSuspend:
		return fmt.Sprintf("Suspended subscription %s; as a new-commerce subscription it is billed until %s.", id, endDay(ends))
	case f == bot.FateCancel:
		return fmt.Sprintf("Cancelled subscription %s inside its cancellation window: refunded.", id)
	}
	return fmt.Sprintf("Subscription %s has auto-renew off: it ends on %s and is billed until then.", id, endDay(ends))
}

// rejectedWord is "Withdrawn" when the requester rejected their own plan,
// else "Rejected".
func rejectedWord(m *bot.Migration, by bot.Actor) string {
	if strings.EqualFold(by.ID, m.Requester.ID) {
		return "Withdrawn"
	}
	return "Rejected"
}

// fateWords name what step C does to the old subscription: the verb on a
// plan, and the participle once done.
var fateWords = map[bot.OldFate]struct{ verb, done string }{
	bot.FateSuspend: {"suspend", "suspended"},
	bot.FateCancel:  {"cancel", "cancelled"},
	bot.FateLeave:   {"leave to end", "left to end"},
}

// fateDone is what step C did, for a finished migration.
func fateDone(p bot.Plan) string { return fateWords[cmp.Or(p.OldFate, bot.FateSuspend)].done }

// fateVerb is what step C does.
func fateVerb(p bot.Plan) string { return fateWords[cmp.Or(p.OldFate, bot.FateSuspend)].verb }

// oldWords says what happens to the old subscription and to its billing.
func oldWords(p bot.Plan, subID string, loc *time.Location) string {
	s := p.Subscription
	what := fmt.Sprintf("subscription %s (%s, ends %s)", code(subID), plural(s.Quantity, "seat", "seats"), endDay(s.EndDate))
	// A transition or a renewal has no step C: the subscription itself
	// becomes the target.
	switch p.Path() {
	case bot.StrategyTransition:
		return fmt.Sprintf("*Convert:* %s is converted to %s (licences move with it). Partner Center offers no way back from a transition.",
			what, esc(p.Target.Name, maxName))
	case bot.StrategyRenewal:
		return fmt.Sprintf("*Renew:* %s: auto-renew is turned on with the change scheduled; %s. Until then it can be undone.",
			what, esc(bot.RenewalWords(p), maxError))
	}
	switch f := cmp.Or(p.OldFate, bot.FateSuspend); {
	case f == bot.FateSuspend && !s.NewCommerce:
		deleted := p.Deprovision
		if deleted.IsZero() {
			deleted = bot.DeletionDate(p.CreatedAt, s.EndDate)
		}
		return fmt.Sprintf("*Suspend:* %s. Billing stops with a prorated credit; Microsoft deletes it on %s (the end of its term or 90 days after suspension, whichever comes first).",
			what, day(deleted, loc))
	case f == bot.FateSuspend:
		return fmt.Sprintf("*Suspend:* %s, a new-commerce subscription: suspending it does *not* stop its billing, which continues until %s.", what, endDay(s.EndDate))
	case f == bot.FateCancel:
		return fmt.Sprintf("*Cancel:* %s, inside its cancellation window (until %s): refunded for the seats Partner Center shows as refundable.",
			what, stamp(s.CancellableUntil, loc))
	}
	line := fmt.Sprintf("*Leave to end:* %s, a new-commerce subscription: auto-renew off, it ends on its end date and is billed until then.", what)
	if s.NewCommerce && s.CancellableUntil.After(p.CreatedAt) {
		line += fmt.Sprintf(" It can still be cancelled with a refund until %s: plan again with `old=cancel` for that.", stamp(s.CancellableUntil, loc))
	}
	return line
}

// buyShort is buyWords for a fallback text: "25 Office 365 E1" or "nothing".
func buyShort(p bot.Plan, target string) string {
	if p.Seats == 0 {
		return "nothing"
	}
	return fmt.Sprintf("%d %s", p.Seats, target)
}

func moveWords(p bot.Plan, retired, target string) string {
	if len(p.Move) == 0 {
		return "nobody: no user can be moved from " + retired + "."
	}
	items := make([]string, len(p.Move))
	for i, u := range p.Move {
		items[i] = esc(u.UPN, maxName)
		if u.HasTarget {
			items[i] += " (already holds " + target + "; only " + retired + " is removed)"
		}
	}
	how := ""
	switch p.Path() {
	case bot.StrategyTransition:
		how = " (their licences move with the subscription)"
	case bot.StrategyRenewal:
		how = " (Microsoft moves their licences at the renewal)"
	}
	return fmt.Sprintf("%s from %s to %s%s:\n", plural(len(p.Move), "user", "users"), retired, target, how) + bullets(items, planListed, 0)
}

func cannotMoveWords(p bot.Plan, retired string) string {
	items := make([]string, len(p.CannotMove))
	for i, u := range p.CannotMove {
		items[i] = esc(u.UPN, maxName) + " — " + esc(cmp.Or(u.Reason, "no reason given"), maxReason)
	}
	// The engine suspends only once nobody holds the retired licence, so
	// the approver should know the migration will stop before suspending.
	return fmt.Sprintf("%s. They keep %s, so the migration stops before suspending until they are fixed and it is retried, or an approver overrides.\n",
		plural(len(p.CannotMove), "user", "users"), retired) + bullets(items, planListed, 0)
}

// approvers are the distinct people who approved the current plan, in order
// (the requester's own approval and approvals of an earlier plan do not count,
// as in the engine).
func approvers(v PlanView) []bot.Decision {
	var out []bot.Decision
	seen := map[string]bool{}
	for _, d := range v.Decisions {
		id := strings.ToLower(d.Actor.ID)
		if d.Kind != bot.DecisionApprove || d.PlanHash != v.Migration.PlanHash || seen[id] ||
			strings.EqualFold(d.Actor.ID, v.Migration.Requester.ID) {
			continue
		}
		seen[id] = true
		out = append(out, d)
	}
	return out
}

// lastDecision is the latest decision of a kind, nil if none.
func lastDecision(ds []bot.Decision, kind bot.DecisionKind) *bot.Decision {
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Kind == kind {
			return &ds[i]
		}
	}
	return nil
}

// names lists people: "<@U1>", "<@U1> and <@U2>", "<@U1>, <@U2> and 3 more".
func names(ds []bot.Decision) string {
	const shown = 5
	var ws []string
	for _, d := range ds[:min(len(ds), shown)] {
		ws = append(ws, who(d.Actor))
	}
	if len(ds) > shown {
		ws = append(ws, fmt.Sprintf("%d more", len(ds)-shown))
	}
	if len(ws) < 2 {
		return strings.Join(ws, "")
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " and " + ws[len(ws)-1]
}

// whoDecided is the context line: who asked and when, who approved so far,
// and whether an approver chose to override.
func whoDecided(v PlanView, required int) []string {
	m := v.Migration
	out := []string{"Requested by " + who(m.Requester) + " on " + stamp(m.CreatedAt, v.Location)}
	if v.Owner != "" {
		out = append(out, "Account owner "+who(bot.Actor{ID: v.Owner}))
	}
	if m.PlanHash != "" {
		// Approvals bind to this plan; a redone plan gets a new one, so
		// people can tell which plan a decision was about.
		out = append(out, "Plan "+code(bot.ShortHash(m.PlanHash)))
	}
	if ok := approvers(v); len(ok) > 0 {
		out = append(out, fmt.Sprintf("Approved by %s (%d of %d)", names(ok), len(ok), required))
	} else if m.State == bot.StatePendingApproval {
		out = append(out, fmt.Sprintf("Approvals: none yet (0 of %d)", required))
	}
	if d := lastDecision(v.Decisions, bot.DecisionOverride); d != nil {
		out = append(out, "Override by "+who(d.Actor)+": suspend although some users still hold "+esc(cmp.Or(m.Plan.Retired, "Kaizala Pro"), maxName))
	}
	return out
}

// approveWords is the Approve dialog's text (at most 300 characters): what
// is bought on what terms and for how much, and what happens to the old
// subscription and its billing.
func approveWords(p bot.Plan, target, customer, subID string, loc *time.Location) string {
	var what string
	switch p.Path() {
	case bot.StrategyTransition:
		what = fmt.Sprintf("Converts %s (%s) of %s to %s; buys nothing%s. Licences move with it; no way back.",
			subID, plural(p.BilledSeats(), "seat", "seats"), customer, target, shortCost(p, "; the seats cost "))
	case bot.StrategyRenewal:
		what = fmt.Sprintf("Schedules %s (%s) of %s to renew into %s on %s, auto-renew on; buys nothing now%s.",
			subID, plural(p.BilledSeats(), "seat", "seats"), customer, target, endDay(p.RenewsOn), shortCost(p, "; from then "))
	default:
		what = replaceApproveWords(p, target, customer, subID, loc)
	}
	if p.Strategy == "" {
		return what // a plan saved before there was a choice
	}
	what = capitalize(p.Path().Words()) + ". " + what
	// The dialog holds 300 characters: the facts first, then why as far as
	// it fits (the plan message says it whole).
	// The other paths' reasons (WhyNot) are on the plan message.
	why := p.Why
	if room := maxConfirmText - utf8.RuneCountInString(what) - len(" Why: "); why != "" && room >= 40 {
		what += " Why: " + truncate(sentence(why), room)
	}
	return what
}

// shortCost is what the billed seats cost, for the Approve dialog, after
// lead ("USD 250.00/month, USD 3,000.00/term"; "" without a price).
func shortCost(p bot.Plan, lead string) string {
	if p.Target.ListPrice <= 0 {
		return ""
	}
	cur := esc(p.Target.Currency, 10)
	return fmt.Sprintf(lead+"%s/month, %s/term", strings.TrimSpace(cur+" "+money(p.MonthlyPrice())), strings.TrimSpace(cur+" "+money(p.TermPrice())))
}

// replaceApproveWords is the Approve dialog of a replace: what is bought
// and for how much, and the old subscription's fate.
func replaceApproveWords(p bot.Plan, target, customer, subID string, loc *time.Location) string {
	var buy string
	if p.Seats == 0 {
		buy = fmt.Sprintf("Moves %s of %s to %s; buys nothing.", plural(len(p.Move), "user", "users"), customer, target)
	} else {
		buy = fmt.Sprintf("Buys %d %s for %s: %s, billed %s", p.Seats, target, customer, esc(p.Target.Term(), 10), cycleWords(p.Target.Cycle())) + shortCost(p, ", ")
		if until := p.NewCancellableUntil(); !until.IsZero() {
			buy += ", cancellable until ~" + day(until, loc)
		}
		buy += "."
	}
	s := p.Subscription
	var old string
	switch f := cmp.Or(p.OldFate, bot.FateSuspend); {
	case f == bot.FateSuspend && !s.NewCommerce:
		deleted := p.Deprovision
		if deleted.IsZero() {
			deleted = bot.DeletionDate(p.CreatedAt, s.EndDate)
		}
		old = fmt.Sprintf(" Suspends %s: billing stops; deleted %s.", subID, day(deleted, loc))
	case f == bot.FateSuspend:
		old = fmt.Sprintf(" Suspends %s; its billing continues to %s.", subID, endDay(s.EndDate))
	case f == bot.FateCancel:
		old = fmt.Sprintf(" Cancels %s with a refund.", subID)
	default:
		old = fmt.Sprintf(" Leaves %s to end %s, billed until then.", subID, endDay(s.EndDate))
	}
	return buy + old
}

// stateBlocks are the buttons and words that fit the migration's state.
func stateBlocks(v PlanView, customer, retired, target string) []slack.Block {
	m := v.Migration
	loc := v.Location
	id := esc(m.ID, maxName)
	blockID := "kaizala_plan:" + m.ID + ":" + string(m.State)
	retry := button(ActionRetry, DecisionValue(m), "Retry").WithStyle(slack.StylePrimary)
	// A confirmation dialog holds 300 characters: names are cut shorter
	// there, so the sentence always ends with the subscription it suspends.
	short := func(s string) string { return truncate(s, maxConfirmName) }

	switch {
	case m.State == bot.StatePendingApproval:
		// Names are cut shorter here than elsewhere: the dialog must also
		// hold the terms, the prices and the old subscription's fate.
		what := approveWords(m.Plan, truncate(target, 40), truncate(customer, 40), esc(m.SubscriptionID, maxConfirmName), loc)
		approve := button(ActionApprove, DecisionValue(m), "Approve").WithStyle(slack.StylePrimary).
			WithConfirm(confirm("Approve migration?", what, "Approve", "Cancel"))
		reject := button(ActionReject, DecisionValue(m), "Reject").WithStyle(slack.StyleDanger)
		return []slack.Block{actions(blockID, pressable(m, map[bot.PersonAction]slack.BlockElement{bot.ActionApprove: approve, bot.ActionReject: reject})...)}

	case m.State.Running() && m.Outcome.UndoneBy != nil:
		line := fmt.Sprintf(":leftwards_arrow_with_hook: Undo asked by %s%s; running: %s. Progress is posted in this thread.",
			who(*m.Outcome.UndoneBy), because(m.Outcome.UndoReason), runningWords(m.State))
		return []slack.Block{section(line)}

	case m.State.Running():
		line := "Approved; running: " + runningWords(m.State) + "."
		if ok := approvers(v); len(ok) > 0 {
			line = fmt.Sprintf("Approved by %s on %s; running: %s.", names(ok), stamp(ok[len(ok)-1].At, loc), runningWords(m.State))
		}
		if m.State == bot.StateAwaitingRenewal {
			// Weeks may pass here: say what is set and that it can still be taken back.
			line += fmt.Sprintf(" Subscription %s %s; nothing else changes until then, and *Undo* removes the scheduled change.",
				code(m.SubscriptionID), esc(bot.RenewalWords(m.Plan), maxError))
		}
		blocks := []slack.Block{section(":hourglass_flowing_sand: " + line + " Progress is posted in this thread.")}
		return append(blocks, undoBlocks(m, blockID, short)...)

	case m.State == bot.StateDone:
		// The deletion date counts from step C, the migration's last step,
		// not from the plan.
		at := cmp.Or(m.UpdatedAt, m.Plan.CreatedAt)
		ends, _ := bot.OldOutcome(m.Plan, at)
		line := fmt.Sprintf(":white_check_mark: *Done:* %s. %s Finished %s.",
			newSubscription(m), oldDoneWords(m.Plan, m.SubscriptionID, ends, loc), stamp(m.UpdatedAt, loc))
		if m.Plan.Path() == bot.StrategyTransition {
			line = fmt.Sprintf(":white_check_mark: *Done:* %s; every user holds %s. Finished %s.", newSubscription(m), target, stamp(m.UpdatedAt, loc))
		} else if m.Plan.Path() == bot.StrategyRenewal {
			line = fmt.Sprintf(":white_check_mark: *Done:* %s; every user holds it. Finished %s.", newSubscription(m), stamp(m.UpdatedAt, loc))
		}
		if until := m.Outcome.NewCancellableUntil; m.Offers(bot.ActionUndo) && !until.IsZero() {
			line += fmt.Sprintf("\nIt can be undone until %s, while subscription %s can still be cancelled with a refund.", stamp(until, loc), code(m.NewSubscriptionID))
		}
		return append([]slack.Block{section(line)}, undoBlocks(m, blockID, short)...)

	case m.State == bot.StateUndone:
		line := ":leftwards_arrow_with_hook: *Undone*"
		if by := m.Outcome.UndoneBy; by != nil {
			line += " at the request of " + who(*by) + because(m.Outcome.UndoReason)
		}
		return []slack.Block{section(fmt.Sprintf("%s: %s Finished %s.", line, undoneWords(m), stamp(m.UpdatedAt, loc)))}

	case m.State == bot.StateFailed:
		line := fmt.Sprintf(":x: *Failed at %s:* %s\nRetry picks up where it stopped (or type `/kaizala retry %s`).",
			stepWords(m.FailedStep), sentence(esc(m.Error, maxError)), id)
		offer := map[bot.PersonAction]slack.BlockElement{bot.ActionRetry: retry}
		if m.Offers(bot.ActionOverride) {
			line += fmt.Sprintf("\nOverride: suspend although some users still hold %s; an approver other than the requester may choose it.", retired)
			override := button(ActionOverride, DecisionValue(m), "Override: suspend anyway").WithStyle(slack.StyleDanger).
				WithConfirm(confirm("Suspend anyway?",
					fmt.Sprintf("This suspends subscription %s of %s although some users still hold %s; they lose it when the subscription is deleted.",
						esc(m.SubscriptionID, maxConfirmName), short(customer), short(retired)),
					"Suspend anyway", "Cancel").WithStyle(slack.StyleDanger))
			offer[bot.ActionOverride] = override
		}
		return []slack.Block{section(line), actions(blockID, pressable(m, offer)...)}

	case m.State == bot.StateNeedsApproval:
		line := fmt.Sprintf(":warning: *Stopped before %s:* %s Retry makes a new plan to approve.",
			stepWords(m.FailedStep), sentence(esc(m.Error, maxError)))
		return []slack.Block{section(line), actions(blockID, pressable(m, map[bot.PersonAction]slack.BlockElement{bot.ActionRetry: retry})...)}

	case m.State == bot.StateRejected:
		if d := lastDecision(v.Decisions, bot.DecisionReject); d != nil {
			return []slack.Block{section(fmt.Sprintf(":no_entry_sign: *%s by %s* on %s: %s",
				rejectedWord(m, d.Actor), who(d.Actor), stamp(d.At, loc), sentence(esc(cmp.Or(d.Reason, "no reason given"), maxReason))))}
		}
		// Without the decision, the engine's record says who and why:
		// "rejected by <name>: <reason>".
		why := cmp.Or(strings.TrimPrefix(m.Error, "rejected "), "without a recorded reason")
		return []slack.Block{section(":no_entry_sign: *Rejected* " + sentence(esc(why, maxError)))}
	}
	return []slack.Block{section("State: " + esc(string(m.State), maxName) + ".")}
}

// because is " (reason)" for a reason given, "" for none.
func because(reason string) string {
	if reason = strings.TrimSpace(reason); reason == "" {
		return ""
	}
	return " (" + esc(reason, maxReason) + ")"
}

// undoWhat says what undoing m does, for its confirmation dialog and the
// undone message: the same steps the engine takes (bot/undo.go).
func undoWhat(m *bot.Migration, short func(string) string) string {
	p := m.Plan
	if p.Path() == bot.StrategyRenewal {
		return fmt.Sprintf("This removes the change scheduled on subscription %s: it no longer renews into %s on %s, and auto-renew goes back to how it was.",
			esc(m.SubscriptionID, maxConfirmName), short(esc(p.Target.Name, maxName)), endDay(p.RenewsOn))
	}
	// In the order the engine takes the steps.
	var parts []string
	if m.Outcome.OldSuspended || cmp.Or(p.OldFate, bot.FateSuspend) == bot.FateSuspend {
		parts = append(parts, fmt.Sprintf("reactivates the old subscription %s if it was suspended", esc(m.SubscriptionID, maxConfirmName)))
	}
	parts = append(parts, fmt.Sprintf("moves the %s back to %s", plural(len(p.Move), "user", "users"), short(esc(cmp.Or(p.Retired, "Kaizala Pro"), maxName))))
	if m.NewSubscriptionID != "" && p.Seats > 0 {
		parts = append(parts, fmt.Sprintf("cancels the new subscription %s (%s) for a refund", esc(m.NewSubscriptionID, maxConfirmName), short(esc(p.Target.Name, maxName))))
	}
	if len(parts) == 1 {
		return "This " + parts[0] + "."
	}
	return "This " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1] + "."
}

// undoneWords says what an undo did, for the undone message.
func undoneWords(m *bot.Migration) string {
	p := m.Plan
	if p.Path() == bot.StrategyRenewal {
		return fmt.Sprintf("the scheduled change is removed; subscription %s does not renew into %s.", code(m.SubscriptionID), esc(p.Target.Name, maxName))
	}
	parts := []string{fmt.Sprintf("the users are back on %s", esc(cmp.Or(p.Retired, "Kaizala Pro"), maxName))}
	if m.Outcome.OldSuspended {
		parts = append(parts, fmt.Sprintf("subscription %s is active again", code(m.SubscriptionID)))
	}
	if m.NewSubscriptionID != "" && p.Seats > 0 {
		parts = append(parts, fmt.Sprintf("subscription %s (%s) is cancelled with a refund", code(m.NewSubscriptionID), esc(p.Target.Name, maxName)))
	}
	return strings.Join(parts, "; ") + "."
}

// undoBlocks is the Undo button, when m's lifecycle offers it: with a
// confirmation dialog saying what undoing does, since it moves people and
// money back.
func undoBlocks(m *bot.Migration, blockID string, short func(string) string) []slack.Block {
	if !m.Offers(bot.ActionUndo) {
		return nil
	}
	undo := button(ActionUndo, DecisionValue(m), "Undo").WithStyle(slack.StyleDanger).
		WithConfirm(confirm("Undo migration "+esc(m.ID, maxName)+"?", undoWhat(m, short), "Undo", "Cancel").WithStyle(slack.StyleDanger))
	return []slack.Block{actions(blockID, pressable(m, map[bot.PersonAction]slack.BlockElement{bot.ActionUndo: undo})...)}
}

// pressable are the buttons that can be pressed on m now, in the order of
// its lifecycle: those of buttons (by action) that the lifecycle offers.
func pressable(m *bot.Migration, buttons map[bot.PersonAction]slack.BlockElement) []slack.BlockElement {
	var out []slack.BlockElement
	for _, a := range m.Offered() {
		if b, ok := buttons[a]; ok {
			out = append(out, b)
		}
	}
	return out
}
