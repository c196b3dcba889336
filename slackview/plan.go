package slackview

import (
	"cmp"
	"fmt"
	"strings"
	"time"

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
		section("*Buy:* " + buyWords(p)),
		section("*Move:* " + moveWords(p, retired, target)),
	}
	if len(p.CannotMove) > 0 {
		blocks = append(blocks, section("*Cannot move:* "+cannotMoveWords(p, retired)))
	}
	blocks = append(blocks,
		section(fmt.Sprintf("*Suspend:* subscription %s (%s, ends %s), de-provisioned automatically on %s.",
			code(subID), plural(p.Subscription.Quantity, "seat", "seats"), endDay(p.Subscription.EndDate), day(p.Deprovision, loc))),
		contextBlock(whoDecided(v, required)...),
	)
	blocks = append(blocks, stateBlocks(v, name, retired, target)...)

	text := fmt.Sprintf("Migration plan %s for %s: buy %s, move %s, suspend %s",
		esc(m.ID, maxName), name, buyShort(p, target), plural(len(p.Move), "user", "users"), esc(subID, maxName))
	if m.State == bot.StatePendingApproval {
		text += fmt.Sprintf(". Waiting for approval (%d of %d).", len(approvers(v)), required)
	} else {
		text += ". " + capitalize(shortState(m)) + "."
	}
	return Message{Text: fallback(text), Blocks: blocks}
}

// buyWords says what is bought and about what it costs at list price.
func buyWords(p bot.Plan) string {
	t := p.Target
	if p.Seats == 0 {
		if p.FreeTargetSeats > 0 {
			return fmt.Sprintf("nothing to buy: the customer already has %s of %s.",
				plural(p.FreeTargetSeats, "free seat", "free seats"), esc(t.Name, maxName))
		}
		return "nothing to buy: every user to move already holds " + esc(t.Name, maxName) + "."
	}
	s := fmt.Sprintf("%s of %s (%s)", plural(p.Seats, "seat", "seats"), esc(t.Name, maxName), code(t.SkuPartNumber))
	if t.ListPrice > 0 {
		cur := esc(t.Currency, 10)
		s += fmt.Sprintf(", about %s a month at list price, %d × %s",
			strings.TrimSpace(cur+" "+money(float64(p.Seats)*t.ListPrice)), p.Seats, money(t.ListPrice))
	}
	if p.FreeTargetSeats > 0 {
		s += fmt.Sprintf(" (the customer already has %s)", plural(p.FreeTargetSeats, "free seat", "free seats"))
	}
	return s + "."
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
	return fmt.Sprintf("%s from %s to %s:\n", plural(len(p.Move), "user", "users"), retired, target) + bullets(items, planListed, 0)
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
		what := fmt.Sprintf("This buys %s of %s for %s and suspends subscription %s.",
			plural(m.Plan.Seats, "seat", "seats"), short(target), short(customer), esc(m.SubscriptionID, maxConfirmName))
		if m.Plan.Seats == 0 {
			what = fmt.Sprintf("This moves %s of %s to %s and suspends subscription %s.",
				plural(len(m.Plan.Move), "user", "users"), short(customer), short(target), esc(m.SubscriptionID, maxConfirmName))
		}
		approve := button(ActionApprove, DecisionValue(m), "Approve").WithStyle(slack.StylePrimary).
			WithConfirm(confirm("Approve migration?", what, "Approve", "Cancel"))
		reject := button(ActionReject, DecisionValue(m), "Reject").WithStyle(slack.StyleDanger)
		return []slack.Block{actions(blockID, approve, reject)}

	case m.State.Running():
		line := "Approved; running: " + runningWords(m.State) + "."
		if ok := approvers(v); len(ok) > 0 {
			line = fmt.Sprintf("Approved by %s on %s; running: %s.", names(ok), stamp(ok[len(ok)-1].At, loc), runningWords(m.State))
		}
		return []slack.Block{section(":hourglass_flowing_sand: " + line + " Progress is posted in this thread.")}

	case m.State == bot.StateDone:
		// De-provisioning counts from the suspension, the migration's last
		// step, not from the plan.
		deprovision := m.Plan.Deprovision
		if !m.UpdatedAt.IsZero() {
			deprovision = m.UpdatedAt.Add(bot.DeprovisionAfter)
		}
		return []slack.Block{section(fmt.Sprintf(":white_check_mark: *Done:* %s; old subscription suspended, de-provisioned on %s. Finished %s.",
			newSubscription(m), day(deprovision, loc), stamp(m.UpdatedAt, loc)))}

	case m.State == bot.StateFailed:
		line := fmt.Sprintf(":x: *Failed at %s:* %s\nRetry picks up where it stopped (or type `/kaizala retry %s`).",
			stepWords(m.FailedStep), sentence(esc(m.Error, maxError)), id)
		elems := []slack.BlockElement{retry}
		if overridable(m) {
			line += fmt.Sprintf("\nOverride: suspend although some users still hold %s; an approver other than the requester may choose it.", retired)
			override := button(ActionOverride, DecisionValue(m), "Override: suspend anyway").WithStyle(slack.StyleDanger).
				WithConfirm(confirm("Suspend anyway?",
					fmt.Sprintf("This suspends subscription %s of %s although some users still hold %s; they lose it when the subscription is de-provisioned.",
						esc(m.SubscriptionID, maxConfirmName), short(customer), short(retired)),
					"Suspend anyway", "Cancel").WithStyle(slack.StyleDanger))
			elems = append(elems, override)
		}
		return []slack.Block{section(line), actions(blockID, elems...)}

	case m.State == bot.StateNeedsApproval:
		line := fmt.Sprintf(":warning: *Stopped before %s:* %s Retry makes a new plan to approve.",
			stepWords(m.FailedStep), sentence(esc(m.Error, maxError)))
		return []slack.Block{section(line), actions(blockID, retry)}

	case m.State == bot.StateRejected:
		if d := lastDecision(v.Decisions, bot.DecisionReject); d != nil {
			return []slack.Block{section(fmt.Sprintf(":no_entry_sign: *Rejected by %s* on %s: %s",
				who(d.Actor), stamp(d.At, loc), sentence(esc(cmp.Or(d.Reason, "no reason given"), maxReason))))}
		}
		// Without the decision, the engine's record says who and why:
		// "rejected by <name>: <reason>".
		why := cmp.Or(strings.TrimPrefix(m.Error, "rejected "), "without a recorded reason")
		return []slack.Block{section(":no_entry_sign: *Rejected* " + sentence(esc(why, maxError)))}
	}
	return []slack.Block{section("State: " + esc(string(m.State), maxName) + ".")}
}
