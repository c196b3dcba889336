package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

const (
	o365E3Sku = "6fd2c87f-b296-42f0-b197-1e91e994b900" // Office 365 E3 (ENTERPRISEPACK)
	m365E3Sku = "05e9a617-0261-4cee-bb44-138d3ef5d965" // Microsoft 365 E3 (SPE_E3)
)

// planChosen plans f to target with the planner's choice of strategy and
// returns it if the planner chose want; otherwise it rejects the plan.
func (h *harness) planChosen(f bot.Finding, target string, want bot.Strategy) *bot.Migration {
	h.t.Helper()
	ctx := context.Background()
	m, refusal, err := h.engine.Plan(ctx, bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: target, Requester: sales})
	if err != nil || refusal != "" {
		h.t.Fatalf("plan: %q %v", refusal, err)
	}
	if m.Plan.Path() == want {
		return m
	}
	if _, refusal, err := h.engine.Reject(ctx, m.ID, "", sales, "test: another path wanted"); err != nil || refusal != "" {
		h.t.Fatalf("withdraw: %q %v", refusal, err)
	}
	return nil
}

// findPlan plans Kaizala Pro findings (within 90 days, no free E1 seat) to
// target until the planner chooses want.
func (h *harness) findPlan(target string, want bot.Strategy) *bot.Migration {
	h.t.Helper()
	var used []string
	for range 12 {
		f := h.expiring(false, used...)
		used = append(used, f.Customer.ID)
		if m := h.planChosen(f, target, want); m != nil {
			return m
		}
	}
	h.t.Fatalf("the planner never chose %s", want)
	return nil
}

func TestATransitionBuysNothingAndMovesEveryone(t *testing.T) {
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) { e.ProvisionPoll = 20 * time.Millisecond }})
	m := h.findPlan("STANDARDPACK", bot.StrategyTransition)
	p := m.Plan
	if p.Seats != 0 || p.TransitionTo == "" || !strings.Contains(p.Why, "eligible for transition with licence transfer") {
		t.Fatalf("plan: seats %d, to %q, why %q", p.Seats, p.TransitionTo, p.Why)
	}
	if len(p.Alternatives) != 3 || !p.Alternatives[0].Possible || p.Alternatives[1].Possible || !p.Alternatives[2].Possible {
		t.Errorf("alternatives: %+v", p.Alternatives)
	}
	if a, _ := p.Alternative(bot.StrategyRenewal); !strings.Contains(a.Line, "legacy subscription has no scheduled changes") {
		t.Errorf("renewal line: %q", a.Line)
	}
	if !strings.Contains(p.Summary(), "transition") {
		t.Errorf("summary %q", p.Summary())
	}
	h.approve(m, boss)
	done := h.settle(m.ID)
	if done.State != bot.StateDone || done.NewSubscriptionID == "" {
		t.Fatalf("state %s (%s), new subscription %q", done.State, done.Error, done.NewSubscriptionID)
	}
	if got := ledgerOf(t, h, pcsim.LedgerCheckout); len(got) != 0 {
		t.Errorf("%d checkouts, want none", len(got))
	}
	if got := ledgerOf(t, h, pcsim.LedgerTransition); len(got) != 1 || !bot.SameID(got[0].SubscriptionID, done.NewSubscriptionID) {
		t.Errorf("transitions in the ledger: %+v, want one into %s", got, done.NewSubscriptionID)
	}
	for _, u := range p.Move {
		skus := h.skus(m.CustomerID, u.ID)
		if !containsSku(skus, e1Sku) || containsSku(skus, kaizalaSku) {
			t.Errorf("%s holds %v", u.UPN, skus)
		}
	}
	kinds := h.events.kinds(m.ID)
	for _, k := range []bot.EventKind{bot.EventTransitioning, bot.EventTransitioned, bot.EventDone} {
		if !containsKind(kinds, k) {
			t.Errorf("events %v lack %s", kinds, k)
		}
	}
	if done.Can(bot.ActionUndo) {
		t.Error("a transition offers undo")
	}
	if _, refusal, _ := h.engine.Undo(context.Background(), m.ID, boss, ""); !strings.Contains(refusal, "no way back") {
		t.Errorf("undo refusal %q", refusal)
	}
}

func TestATargetNotEligibleForTransitionIsReplaced(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	m := h.findPlan("STANDARDPACK", bot.StrategyReplace)
	a, _ := m.Plan.Alternative(bot.StrategyTransition)
	if a.Possible || !strings.Contains(a.Line, "conflicting services") || !strings.Contains(m.Plan.WhyNot, "a transition is not possible: Partner Center says Subscription cannot be transitioned because there are conflicting services") {
		t.Fatalf("transition line %q, why not %q", a.Line, m.Plan.WhyNot)
	}
	if m.Plan.Seats == 0 {
		t.Fatal("a replace that buys nothing")
	}
	h.approve(m, boss)
	if done := h.settle(m.ID); done.State != bot.StateDone {
		t.Fatalf("state %s: %s", done.State, done.Error)
	}
	if got := ledgerOf(t, h, pcsim.LedgerCheckout); len(got) != 1 {
		t.Errorf("%d checkouts, want 1", len(got))
	}
	// Asking for the transition anyway is refused, with the reason.
	f := h.expiring(false, m.CustomerID)
	_ = f
}

func TestAskingForAnImpossiblePathSaysWhy(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := h.expiring(false)
	_, refusal, err := h.engine.Plan(context.Background(), bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "STANDARDPACK", Strategy: bot.StrategyRenewal, Requester: sales})
	if err != nil || !strings.Contains(refusal, "legacy subscription has no scheduled changes") || !strings.Contains(refusal, "Possible:") {
		t.Errorf("refusal %q %v", refusal, err)
	}
}

// nceO365Catalog marks new-commerce Office 365 E3 retired (the sandbox's
// --commerce mixed seeds non-renewing ones), with Microsoft 365 E3 its target.
func nceO365Catalog() *bot.Catalog {
	c := bot.DefaultCatalog()
	c.Retired = append(c.Retired, bot.RetiredSKU{Name: "Office 365 E3 (test)", ProductIDs: []string{"CFQ7TTC0LF8R"}, SkuIDs: []string{o365E3Sku},
		Targets: []string{"SPE_E3", "SPE_E5"}})
	return c
}

func TestANewCommerceSourceChangesAtRenewal(t *testing.T) {
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) {
		e.Catalog, e.RenewalPoll = nceO365Catalog(), 50*time.Millisecond
	}})
	ctx := context.Background()
	f := h.retiredNCE(t)
	m, refusal, err := h.engine.Plan(ctx, bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "SPE_E3", Requester: sales})
	if err != nil || refusal != "" {
		t.Fatalf("plan: %q %v", refusal, err)
	}
	p := m.Plan
	if p.Path() != bot.StrategyRenewal || p.RenewsOn.IsZero() || !strings.Contains(p.Why, "more than 14 days ahead") {
		t.Fatalf("path %s, renews on %v, why %q, alternatives %+v", p.Path(), p.RenewsOn, p.Why, p.Alternatives)
	}
	h.approve(m, boss)
	waitFor(t, "bot.StateAwaitingRenewal", func() bool { got, _ := h.db.GetMigration(ctx, m.ID); return got.State == bot.StateAwaitingRenewal })
	sub := h.subscription(m.CustomerID, m.SubscriptionID)
	if !sub.AutoRenew || !sub.Scheduled.Names(p.Target) || sub.Scheduled.Quantity != sub.Quantity {
		t.Fatalf("after scheduling: auto-renew %v, scheduled %+v", sub.AutoRenew, sub.Scheduled)
	}
	if got := ledgerOf(t, h, pcsim.LedgerCheckout); len(got) != 0 {
		t.Errorf("%d checkouts, want none", len(got))
	}
	// Past the renewal, the users hold the target and the migration is done.
	if err := h.sim.AdvanceClock(time.Until(p.RenewsOn) + 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	done := h.settle(m.ID)
	if done.State != bot.StateDone {
		t.Fatalf("state %s: %s", done.State, done.Error)
	}
	for _, u := range p.Move {
		skus := h.skus(m.CustomerID, u.ID)
		if !containsSku(skus, m365E3Sku) || containsSku(skus, o365E3Sku) {
			t.Errorf("%s holds %v", u.UPN, skus)
		}
	}
	if !containsKind(h.events.kinds(m.ID), bot.EventRenewed) {
		t.Errorf("events %v", h.events.kinds(m.ID))
	}
}

func TestADeletedScheduledChangeIsReported(t *testing.T) {
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) {
		e.Catalog, e.RenewalPoll = nceO365Catalog(), time.Hour // only the scan wakes it
	}})
	ctx := context.Background()
	f := h.retiredNCE(t)
	m, refusal, err := h.engine.Plan(ctx, bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "SPE_E3", Requester: sales})
	if err != nil || refusal != "" {
		t.Fatalf("plan: %q %v", refusal, err)
	}
	h.approve(m, boss)
	waitFor(t, "bot.StateAwaitingRenewal", func() bool { got, _ := h.db.GetMigration(ctx, m.ID); return got.State == bot.StateAwaitingRenewal })
	// Someone turns auto-renew off in Partner Center: the instruction goes.
	if _, err := h.client.SetAutoRenew(ctx, m.CustomerID, m.SubscriptionID, false); err != nil {
		t.Fatal(err)
	}
	if err := h.engine.RecordScan(ctx, h.report); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bot.StateFailed", func() bool { got, _ := h.db.GetMigration(ctx, m.ID); return got.State == bot.StateFailed })
	got, _ := h.db.GetMigration(ctx, m.ID)
	if !strings.Contains(got.Error, "auto-renew off") || !strings.Contains(got.Error, "ends on") {
		t.Errorf("error %q", got.Error)
	}
	// Retry schedules it again.
	if _, refusal, err := h.engine.Retry(ctx, m.ID, "", boss); err != nil || refusal != "" {
		t.Fatalf("retry: %q %v", refusal, err)
	}
	waitFor(t, "bot.StateAwaitingRenewal", func() bool { got, _ := h.db.GetMigration(ctx, m.ID); return got.State == bot.StateAwaitingRenewal })
	if sub := h.subscription(m.CustomerID, m.SubscriptionID); !sub.AutoRenew || !sub.Scheduled.Names(m.Plan.Target) {
		t.Errorf("after retry: %+v", sub)
	}
	// And undo removes it.
	if _, refusal, err := h.engine.Undo(ctx, m.ID, boss, "customer changed their mind"); err != nil || refusal != "" {
		t.Fatalf("undo: %q %v", refusal, err)
	}
	if done := h.settle(m.ID); done.State != bot.StateUndone {
		t.Fatalf("state %s: %s", done.State, done.Error)
	}
	if sub := h.subscription(m.CustomerID, m.SubscriptionID); sub.AutoRenew || sub.Scheduled != nil {
		t.Errorf("after undo: auto-renew %v, scheduled %+v", sub.AutoRenew, sub.Scheduled)
	}
}

// retiredNCE scans with nceO365Catalog and returns a finding of a
// new-commerce Office 365 E3 subscription ending in more than 20 days.
func (h *harness) retiredNCE(t *testing.T) bot.Finding {
	t.Helper()
	ctx := context.Background()
	report, err := (&bot.Scanner{Source: h.pc, Retired: nceO365Catalog().Retired}).Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.engine.RecordScan(ctx, report); err != nil {
		t.Fatal(err)
	}
	h.report = report
	for _, r := range h.sim.RetiredNCE() {
		for _, g := range report.Findings {
			if bot.SameID(g.Subscription.ID, r.SubscriptionID) && r.EndDate.After(time.Now().Add(20*24*time.Hour)) {
				return g
			}
		}
	}
	t.Fatalf("no new-commerce Office 365 E3 ending in over 20 days among the findings (%d seeded)", len(h.sim.RetiredNCE()))
	return bot.Finding{}
}

func TestUndoAReplaceInsideItsWindowAndNotAfter(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	f := h.expiring(false)
	m := h.plan(f, "STANDARDPACK", 0)
	h.approve(m, boss)
	done := h.settle(m.ID)
	if done.State != bot.StateDone || !done.Offers(bot.ActionUndo) {
		t.Fatalf("state %s (%s), undo offered %v", done.State, done.Error, done.Offers(bot.ActionUndo))
	}
	if _, refusal, _ := h.engine.Undo(ctx, m.ID, sales, ""); !strings.Contains(refusal, "approver other than you") {
		t.Errorf("requester's undo: %q", refusal)
	}
	if _, refusal, _ := h.engine.Undo(ctx, m.ID, other, ""); !strings.Contains(refusal, "approver") {
		t.Errorf("non-approver's undo: %q", refusal)
	}
	if _, refusal, err := h.engine.Undo(ctx, m.ID, boss, "wrong customer"); err != nil || refusal != "" {
		t.Fatalf("undo: %q %v", refusal, err)
	}
	undone := h.settle(m.ID)
	if undone.State != bot.StateUndone {
		t.Fatalf("state %s: %s", undone.State, undone.Error)
	}
	if s := h.subscription(m.CustomerID, done.NewSubscriptionID); s.Status != "deleted" {
		t.Errorf("new subscription %s", s.Status)
	}
	if s := h.subscription(m.CustomerID, m.SubscriptionID); s.Status != "active" {
		t.Errorf("old subscription %s", s.Status)
	}
	cancels := ledgerOf(t, h, pcsim.LedgerCancellation)
	if len(cancels) != 1 || cancels[0].RefundAmount <= 0 || cancels[0].RefundQuantity != m.Plan.Seats {
		t.Errorf("cancellations %+v, want one refunding %d seats", cancels, m.Plan.Seats)
	}
	for _, u := range m.Plan.Move {
		skus := h.skus(m.CustomerID, u.ID)
		if !containsSku(skus, kaizalaSku) || containsSku(skus, e1Sku) != u.HasTarget {
			t.Errorf("%s holds %v", u.UPN, skus)
		}
	}
	if !containsKind(h.events.kinds(m.ID), bot.EventUndone) {
		t.Errorf("events %v", h.events.kinds(m.ID))
	}
	// A second migration, undone 8 days later: refused with the date.
	g := h.expiring(false, m.CustomerID)
	m2 := h.plan(g, "STANDARDPACK", 0)
	h.approve(m2, boss)
	if d := h.settle(m2.ID); d.State != bot.StateDone {
		t.Fatalf("state %s: %s", d.State, d.Error)
	}
	if err := h.sim.AdvanceClock(8 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	h.subscription(m2.CustomerID, m2.SubscriptionID) // any answer carries the sandbox's Date
	_, refusal, err := h.engine.Undo(ctx, m2.ID, boss, "")
	if err != nil || !strings.Contains(refusal, "closed on") || !strings.Contains(refusal, "What can still be done") {
		t.Errorf("late undo: %q %v", refusal, err)
	}
	if got := ledgerOf(t, h, pcsim.LedgerCancellation); len(got) != 1 {
		t.Errorf("%d cancellations after the refused undo, want 1", len(got))
	}
}

func containsSku(skus []string, sku string) bool {
	for _, s := range skus {
		if bot.SameID(s, sku) {
			return true
		}
	}
	return false
}

func containsKind(kinds []bot.EventKind, k bot.EventKind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// A new-commerce source transitions too: the sandbox offers new-commerce
// Office 365 E3 an upgrade to Microsoft 365 E5 outside its cancellation
// window (the seeded ones were bought a year ago).
func TestANewCommerceSourceTransitions(t *testing.T) {
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) {
		e.Catalog, e.ProvisionPoll = nceO365Catalog(), 20*time.Millisecond
	}})
	f := h.retiredNCE(t)
	m, refusal, err := h.engine.Plan(context.Background(), bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "SPE_E5", Requester: sales})
	if err != nil || refusal != "" {
		t.Fatalf("plan: %q %v", refusal, err)
	}
	if m.Plan.Path() != bot.StrategyTransition {
		t.Fatalf("path %s (%s), alternatives %+v", m.Plan.Path(), m.Plan.Why, m.Plan.Alternatives)
	}
	if a, _ := m.Plan.Alternative(bot.StrategyRenewal); !a.Possible {
		t.Errorf("a change at renewal should be possible too: %q", a.Line)
	}
	h.approve(m, boss)
	done := h.settle(m.ID)
	if done.State != bot.StateDone {
		t.Fatalf("state %s: %s", done.State, done.Error)
	}
	e5 := m.Plan.Target.SkuID
	for _, u := range m.Plan.Move {
		if skus := h.skus(m.CustomerID, u.ID); !containsSku(skus, e5) || containsSku(skus, o365E3Sku) {
			t.Errorf("%s holds %v", u.UPN, skus)
		}
	}
	if n := len(ledgerOf(t, h, pcsim.LedgerCheckout)); n != 0 {
		t.Errorf("%d checkouts, want none", n)
	}
}
