package slackview

import (
	"fmt"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// Fixed fixtures: the same input every run, so golden files stay put.
var (
	cet = time.FixedZone("CET", 3600)
	now = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

	contoso = bot.Customer{ID: "6b1f7c2e-0a4d-4e8b-9c31-5d2e8f7a9b10", Domain: "contoso.onmicrosoft.com", Name: "Contoso Ltd"}

	requester = bot.Actor{ID: "U0REQ0001", Name: "Dana Reyes"}
	approver1 = bot.Actor{ID: "U0APR0001", Name: "Sam Lee"}
	approver2 = bot.Actor{ID: "U0APR0002", Name: "Kim Park"}
)

const (
	kaizalaSubID = "8F2A1C3D-4B5E-4F60-9A7B-1C2D3E4F5A6B"
	newSubID     = "1D9E8F7A-6B5C-4D3E-2F1A-0B9C8D7E6F5A"
	noLocation   = "no usage location: Partner Center cannot license a user without one (set it in the Microsoft 365 admin center, then retry)"
)

func day0(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func kaizalaTargets() []bot.Target {
	c := bot.DefaultCatalog()
	return c.TargetsFor(c.Retired[0])
}

func target(part string) bot.Target {
	for _, t := range kaizalaTargets() {
		if t.SkuPartNumber == part {
			return t
		}
	}
	panic("no target " + part)
}

// tracked is Contoso's Kaizala Pro subscription ending on 6 Dec 2026, 12
// days after now.
func tracked() bot.TrackedSubscription {
	return bot.TrackedSubscription{
		Finding: bot.Finding{
			Customer: contoso,
			Subscription: bot.Subscription{
				ID: kaizalaSubID, CustomerID: contoso.ID, OfferName: "Microsoft Kaizala Pro", Quantity: 25,
				Status: "active", BillingCycle: "monthly", EndDate: day0(2026, 12, 6),
			},
			Retired:  "Kaizala Pro",
			DaysLeft: 13, // as of the scan a day ago; views count from now
		},
		FirstSeen: time.Date(2026, 8, 1, 6, 0, 0, 0, time.UTC),
		LastSeen:  time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC),
	}
}

func users(n int, format string) []bot.PlanUser {
	out := make([]bot.PlanUser, n)
	for i := range out {
		upn := fmt.Sprintf(format, i+1)
		out[i] = bot.PlanUser{ID: fmt.Sprintf("u-%04d", i+1), UPN: upn, DisplayName: upn}
	}
	return out
}

// migration is a plan to move Contoso's 23 movable users to Office 365 E1,
// buying 25 seats; two users have no usage location.
func migration(state bot.State) *bot.Migration {
	created := time.Date(2026, 11, 23, 14, 5, 0, 0, time.UTC)
	cannot := users(2, "field.worker%d@contoso.onmicrosoft.com")
	for i := range cannot {
		cannot[i].Reason = noLocation
	}
	move := users(23, "user%02d@contoso.onmicrosoft.com")
	move[0].HasTarget = true
	plan := bot.Plan{
		CustomerID: contoso.ID, CustomerDomain: contoso.Domain, CustomerName: contoso.Name,
		Subscription: bot.PlanSubscription{ID: kaizalaSubID, OfferName: "Microsoft Kaizala Pro", Quantity: 25, Status: "active", EndDate: day0(2026, 12, 6)},
		Retired:      "Kaizala Pro", RetiredSkuID: "0c7cd4a1-8d1e-4a6b-9c3f-2b9a1e7d5c40",
		Target: target("STANDARDPACK"), Seats: 25,
		Move: move, CannotMove: cannot,
		Deprovision: created.Add(bot.DeprovisionAfter), CreatedAt: created,
		Strategy: bot.StrategyReplace,
		Why:      "no better path is open",
		WhyNot:   "a transition is not possible: Partner Center says Office 365 E1 is not eligible for transition from this subscription; a change at renewal is not possible: a legacy subscription has no scheduled changes",
		Alternatives: []bot.Alternative{
			{Strategy: bot.StrategyTransition, Line: "not possible: Partner Center says Office 365 E1 is not eligible for transition from this subscription"},
			{Strategy: bot.StrategyRenewal, Line: "not possible: a legacy subscription has no scheduled changes"},
			{Strategy: bot.StrategyReplace, Possible: true, Line: "buy 25 seats of Office 365 E1 (USD 250.00 a month, a P1Y term), move 23 users one by one, then suspend the old subscription (billing stops with a prorated credit); 2 users cannot be moved"},
		},
	}
	return &bot.Migration{
		ID: "M7K2QX", CustomerID: contoso.ID, CustomerDomain: contoso.Domain, CustomerName: contoso.Name,
		SubscriptionID: kaizalaSubID, Plan: plan, PlanHash: "hash-1", Requester: requester, State: state,
		CreatedAt: created, UpdatedAt: created, Version: 1,
	}
}

func approval(a bot.Actor, at time.Time) bot.Decision {
	return bot.Decision{MigrationID: "M7K2QX", Actor: a, Kind: bot.DecisionApprove, PlanHash: "hash-1", At: at}
}

func failedAtVerify() *bot.Migration {
	m := migration(bot.StateFailed)
	m.FailedStep, m.FailureKind = bot.StepVerify, bot.FailureKindUsers
	m.NewSubscriptionID = newSubID
	m.Error = "2 user(s) still hold Kaizala Pro, so the old subscription was not suspended: field.worker1@contoso.onmicrosoft.com (" +
		noLocation + "); field.worker2@contoso.onmicrosoft.com (" + noLocation + "). Fix them and retry, or an approver can override to suspend anyway"
	m.UpdatedAt = time.Date(2026, 11, 24, 8, 12, 0, 0, time.UTC)
	return m
}

func needsApproval() *bot.Migration {
	m := migration(bot.StateNeedsApproval)
	m.FailedStep = bot.StepBuy
	m.Error = "the world changed since the plan was approved: the subscription's quantity changed from 25 to 30"
	m.UpdatedAt = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	return m
}

func done() *bot.Migration {
	m := migration(bot.StateDone)
	m.NewSubscriptionID = newSubID
	m.UpdatedAt = time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC)
	return m
}

func fullDigest() *bot.Digest {
	fabrikam := bot.Customer{ID: "f1", Domain: "fabrikam.onmicrosoft.com", Name: "Fabrikam Inc"}
	urgent := tracked()
	urgent.DaysLeft = 12
	ended := tracked()
	ended.Customer = fabrikam
	ended.Subscription.ID = "5C4B3A29-1807-4F6E-8D5C-4B3A29180706"
	ended.Subscription.Quantity = 8
	ended.DaysLeft = -3

	waiting := migration(bot.StatePendingApproval)
	waiting.ID = "M4PZ8R"
	running := migration(bot.StateMovingUsers)
	running.ID = "M9HX3T"
	running.CustomerName = "Fabrikam Inc"
	failed := failedAtVerify()
	failed.ID = "M2WQ7N"
	completed := done()
	completed.ID = "M6JD5V"
	rejected := migration(bot.StateRejected)
	rejected.ID = "M3CF9K"
	rejected.Error = "rejected by Sam Lee: the customer renews by phone"
	undone := done()
	undone.ID, undone.State = "M9UNDO", bot.StateUndone
	undone.Outcome.OldSuspended = true
	undone.Outcome.UndoneBy, undone.Outcome.UndoReason = &approver2, "wrong customer"
	return &bot.Digest{Cadence: "weekday",
		At: now, Since: now.Add(-24 * time.Hour),
		Undone:  []*bot.Migration{undone},
		Within7: 2, Within30: 5, Within90: 11, Ended: 1,
		MostUrgent: []bot.TrackedSubscription{ended, urgent}, MostUrgentMore: 9,
		Waiting:   []*bot.Migration{waiting, needsApproval()},
		Running:   []*bot.Migration{running},
		Completed: []*bot.Migration{completed},
		Failed:    []*bot.Migration{failed},
		Rejected:  []*bot.Migration{rejected},
		// The requester is an approver too: a plan never waits on its requester.
		Approvers: []string{approver1.ID, requester.ID}, ApproverGroup: "S0APPROVE",
		Scan: &bot.ScanSummary{
			Started: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), Finished: time.Date(2026, 11, 24, 6, 1, 12, 0, time.UTC),
			Customers: 40, Findings: 16, Requests: 3, Incremental: true,
			Failures: []string{"northwind.onmicrosoft.com: 403 Forbidden (the partner relationship was removed)", "adatum.onmicrosoft.com: retries used up after 5 attempts"},
			Access: []bot.ScanAccess{
				{CustomerID: "c1", Customer: "Contoso Ltd", Code: "900308", Fix: "grant the License Administrator GDAP role for Contoso Ltd"},
				{CustomerID: "w1", Customer: "Woodgrove Bank", Code: "900309", Fix: "the customer's Conditional Access blocks the partner: ask Woodgrove Bank to exclude Service provider users " +
					"(under Guest or external users) from the policy"},
			},
		},
		Throttled: 3,
		AuditHead: &bot.AuditHead{Seq: 1234, Hash: "3f9a0c1d2e4b5a69"},
	}
}

func auditEntries() []bot.AuditEntry {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
	e := func(t time.Time, a bot.Actor, action string, detail map[string]any) bot.AuditEntry {
		return bot.AuditEntry{At: t, Actor: a, Action: action, CustomerID: contoso.ID, SubscriptionID: kaizalaSubID, MigrationID: "M7K2QX", Detail: detail}
	}
	// Numbers as float64: entries come back from the store through JSON.
	return []bot.AuditEntry{
		e(at(14, 5), requester, bot.ActionPlanned, map[string]any{"target": "STANDARDPACK", "seats": 25.0, "usersToMove": 23.0, "cannotMove": 2.0}),
		e(at(15, 0), approver1, bot.ActionApproved, map[string]any{"planHash": "hash-1"}),
		e(at(15, 0), approver1, bot.ActionStarted, map[string]any{"approvals": 1.0}),
		e(at(15, 1), bot.System, bot.ActionBought, map[string]any{"newSubscriptionId": newSubID, "seats": 25.0, "target": "STANDARDPACK"}),
		e(at(15, 3), bot.System, bot.ActionUserMoved, map[string]any{"upn": "user01@contoso.onmicrosoft.com"}),
		e(at(15, 3), bot.System, bot.ActionUserFailed, map[string]any{"upn": "user02@contoso.onmicrosoft.com", "error": "Partner Center answered 409: licence update conflict"}),
		e(at(15, 4), bot.System, bot.ActionFailed, map[string]any{"step": "verify", "error": "1 user(s) still hold Kaizala Pro"}),
		e(at(16, 0), approver2, bot.ActionRetried, map[string]any{"step": "move_users"}),
		e(at(16, 2), bot.System, bot.ActionSuspended, map[string]any{"deprovisionOn": "2027-03-23"}),
		e(at(16, 2), bot.System, bot.ActionDone, map[string]any{"newSubscriptionId": newSubID}),
	}
}

// legacyPlan is migration(state) as saved before plans had a strategy:
// no path, no reasons, no alternatives.
func legacyPlan(state bot.State) *bot.Migration {
	m := migration(state)
	m.Plan.Strategy, m.Plan.Why, m.Plan.Alternatives = "", "", nil
	return m
}

// transitionPlan converts Contoso's new-commerce Kaizala Pro subscription
// to Office 365 E1 in one call: nothing bought, nobody to move by hand.
func transitionPlan(state bot.State) *bot.Migration {
	m := migration(state)
	p := &m.Plan
	p.Subscription.NewCommerce, p.Subscription.AutoRenew = true, false
	p.Seats, p.CannotMove, p.OldFate, p.Deprovision = 0, nil, "", time.Time{}
	p.Move = users(23, "user%02d@contoso.onmicrosoft.com")
	p.Strategy, p.TransitionTo = bot.StrategyTransition, "CFQ7TTC0LF8Q:0001:CFQ7TTC0LF8R"
	p.Why = "Partner Center says Office 365 E1 is eligible for transition with licence transfer: nothing is bought twice and nobody is moved by hand"
	p.WhyNot = ""
	p.Alternatives = []bot.Alternative{
		{Strategy: bot.StrategyTransition, Possible: true, Line: "one call converts the 25 seats to Office 365 E1 and moves the licences with them; nothing is bought; USD 250.00 a month from the conversion (a new P1Y term); takes effect when Microsoft completes it; touches 23 users, who stay licensed throughout"},
		{Strategy: bot.StrategyRenewal, Line: "not possible: its term ends on 6 Dec 2026, within 14 days (KAIZALA_RENEWAL_LEAD), too close to rely on the renewal"},
		{Strategy: bot.StrategyReplace, Possible: true, Line: "buy 25 seats of Office 365 E1 (USD 250.00 a month, a P1Y term), move 23 users one by one, then leave to end the old subscription (billed until Sun 6 Dec 2026)"},
	}
	return m
}

// renewalPlan renews Contoso's new-commerce Kaizala Pro subscription into
// Office 365 E1 at the end of its term, on 3 Jan 2027.
func renewalPlan(state bot.State) *bot.Migration {
	m := transitionPlan(state)
	p := &m.Plan
	p.Subscription.EndDate = day0(2027, 1, 2)
	p.Strategy, p.TransitionTo, p.RenewsOn = bot.StrategyRenewal, "", day0(2027, 1, 3)
	p.Why = "the term ends on 2 Jan 2027, more than 14 days ahead: renewing into Office 365 E1 then costs nothing extra and moves the licences with it"
	p.WhyNot = "a transition is not possible: Partner Center says Office 365 E1 is not eligible for transition from this subscription"
	p.Alternatives = []bot.Alternative{
		{Strategy: bot.StrategyTransition, Line: "not possible: Partner Center says Office 365 E1 is not eligible for transition from this subscription"},
		{Strategy: bot.StrategyRenewal, Possible: true, Line: "on 3 Jan 2027 the 25 seats renew into Office 365 E1 (USD 250.00 a month from then); auto-renew is turned on with the change scheduled and nothing else changes until then; no overlap, no double billing; Microsoft moves the licences of 23 users itself"},
		{Strategy: bot.StrategyReplace, Possible: true, Line: "buy 25 seats of Office 365 E1 (USD 250.00 a month, a P1Y term), move 23 users one by one, then leave to end the old subscription (billed until Sat 2 Jan 2027)"},
	}
	return m
}
