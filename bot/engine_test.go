package bot_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

func TestAnApprovedMigrationBuysMovesAndSuspends(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := h.expiring(false)
	m := h.plan(f, "STANDARDPACK", 0)

	if len(m.Plan.Move) == 0 || len(m.Plan.CannotMove) != 0 {
		t.Fatalf("plan moves %d users and cannot move %d; want some and none", len(m.Plan.Move), len(m.Plan.CannotMove))
	}
	if m.Plan.Seats < m.Plan.SeatsNeeded()-m.Plan.FreeTargetSeats || !m.Plan.Deprovision.Equal(bot.DeletionDate(m.Plan.CreatedAt, m.Plan.Subscription.EndDate)) || m.Plan.Deprovision.After(m.Plan.CreatedAt.Add(90*24*time.Hour)) {
		t.Errorf("plan seats %d for %d users (%d free), deprovision %v", m.Plan.Seats, m.Plan.SeatsNeeded(), m.Plan.FreeTargetSeats, m.Plan.Deprovision)
	}
	if res := h.approve(m, boss); !res.Started || res.Approvals != 1 {
		t.Errorf("approve = %+v; one approval is enough by default", res)
	}
	done := h.settle(m.ID)
	if done.State != bot.StateDone {
		t.Fatalf("state %s at %s: %s", done.State, done.FailedStep, done.Error)
	}

	if got := h.sim.Stats().OrdersCreated; got != 1 {
		t.Errorf("orders created = %d, want exactly 1", got)
	}
	newSub := h.subscription(f.Customer.ID, done.NewSubscriptionID)
	if !newSub.Active() || newSub.Quantity != m.Plan.Seats || newSub.Quantity+m.Plan.FreeTargetSeats < len(m.Plan.Move) {
		t.Errorf("new subscription %+v for %d users", newSub, len(m.Plan.Move))
	}
	for _, u := range m.Plan.Move {
		skus := h.skus(f.Customer.ID, u.ID)
		if !slices.Contains(skus, e1Sku) || slices.Contains(skus, kaizalaSku) {
			t.Errorf("%s holds %v", u.UPN, skus)
		}
	}
	if old := h.subscription(f.Customer.ID, f.Subscription.ID); old.Status != "suspended" {
		t.Errorf("old subscription is %s", old.Status)
	}

	// The checkout answers pending: the thread is told what the step waits
	// for before the new subscription is named.
	want := []bot.EventKind{bot.EventPlanned, bot.EventApproved, bot.EventStarted, bot.EventProvisioning, bot.EventBought, bot.EventSeatsReady, bot.EventUserMoved, bot.EventSuspended, bot.EventDone}
	if got := h.events.kinds(m.ID); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}

	// The history says who did what, with the Partner Center calls.
	entries, err := h.db.Audit(context.Background(), bot.AuditFilter{MigrationID: m.ID})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]bot.AuditEntry{}
	for _, e := range entries {
		by[e.Action] = e
	}
	if by[bot.ActionPlanned].Actor != sales || by[bot.ActionApproved].Actor != boss {
		t.Errorf("planned by %+v, approved by %+v", by[bot.ActionPlanned].Actor, by[bot.ActionApproved].Actor)
	}
	// The checkout's call is on the order entry; the subscription it made
	// is named once Microsoft provisioned it.
	ordered := by[bot.ActionOrdered]
	if ordered.MSRequestID == "" || ordered.MSCorrelationID == "" || ordered.Detail["cartId"] == "" {
		t.Errorf("order entry %+v", ordered)
	}
	bought := by[bot.ActionBought]
	if bought.Detail["newSubscriptionId"] != done.NewSubscriptionID || bought.MSRequestID != ordered.MSRequestID {
		t.Errorf("bought entry %+v", bought)
	}
	if s := by[bot.ActionSuspended]; !strings.EqualFold(s.SubscriptionID, f.Subscription.ID) || s.MSRequestID == "" {
		t.Errorf("suspended entry %+v", s)
	}
	moved := 0
	for _, e := range entries {
		if e.Action == bot.ActionUserMoved && e.MSRequestID != "" {
			moved++
		}
	}
	if moved != len(m.Plan.Move) {
		t.Errorf("%d user.moved entries with an MS-RequestId, want %d", moved, len(m.Plan.Move))
	}
	steps := map[string]bool{}
	for _, e := range entries {
		if e.Action == bot.ActionStepDone {
			steps[e.Detail["step"].(string)] = true
		}
	}
	for _, s := range bot.Replace.Steps() {
		if !steps[string(s)] {
			t.Errorf("no audit row for step %s", s)
		}
	}
	if v, err := h.db.VerifyAudit(context.Background()); err != nil || !v.OK {
		t.Errorf("audit chain: %+v %v", v, err)
	}
}

func TestANewCommerceTargetIsBoughtThroughACart(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := h.expiring(false)
	m := h.plan(f, "Microsoft 365 E3", 0)
	h.approve(m, boss)
	done := h.settle(m.ID)
	if done.State != bot.StateDone {
		t.Fatalf("state %s at %s: %s", done.State, done.FailedStep, done.Error)
	}
	if s := h.sim.Stats(); s.CartsCheckedOut != 1 || s.OrdersCreated != 1 {
		t.Errorf("carts checked out %d, orders %d; want 1 and 1", s.CartsCheckedOut, s.OrdersCreated)
	}
	if sub := h.subscription(f.Customer.ID, done.NewSubscriptionID); !strings.Contains(sub.FriendlyName, m.ID) || !strings.Contains(sub.OfferID, "CFQ7TTC0LFLX:0001") {
		t.Errorf("new subscription %+v", sub)
	}
}

func TestApprovalRules(t *testing.T) {
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) { e.Policy.Required = 2 }})
	f := h.expiring(false)
	m := h.plan(f, "STANDARDPACK", 0)
	ctx := context.Background()

	for _, tc := range []struct {
		who     bot.Actor
		refusal string
	}{
		{sales, "someone else must approve"},
		{other, "Only approvers"},
	} {
		res, refusal, err := h.engine.Approve(ctx, m.ID, "", tc.who)
		if err != nil || !strings.Contains(refusal, tc.refusal) || res.Started {
			t.Errorf("%s: refusal %q, err %v, %+v", tc.who.Name, refusal, err, res)
		}
	}
	if res := h.approve(m, boss); res.Started || res.Approvals != 1 || res.Required != 2 {
		t.Errorf("first approval: %+v", res)
	}
	if res := h.approve(m, boss); !res.Already || res.Started || res.Approvals != 1 {
		t.Errorf("the same approver again must be a no-op: %+v", res)
	}
	if got, _ := h.db.GetMigration(ctx, m.ID); got.State != bot.StatePendingApproval {
		t.Errorf("after one of two approvals the state is %s", got.State)
	}
	if res := h.approve(m, lead); !res.Started || res.Approvals != 2 {
		t.Errorf("second approver: %+v", res)
	}
	if res := h.approve(m, lead); !res.Already {
		t.Errorf("a click after the start must be harmless: %+v", res)
	}
	if done := h.settle(m.ID); done.State != bot.StateDone || h.sim.Stats().OrdersCreated != 1 {
		t.Errorf("state %s (%s), orders %d", done.State, done.Error, h.sim.Stats().OrdersCreated)
	}
	if ds, _ := h.db.Decisions(ctx, m.ID); len(ds) != 2 {
		t.Errorf("decisions = %+v; duplicates and refusals must not be recorded", ds)
	}
}

func TestRejection(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	m := h.plan(h.expiring(false), "STANDARDPACK", 0)
	if _, refusal, _ := h.engine.Reject(ctx, m.ID, "", other, "no"); !strings.Contains(refusal, "Only approvers or the requester") {
		t.Errorf("a bystander's reject: %q", refusal)
	}
	// MayReject answers as Reject would, and changes nothing.
	for _, tc := range []struct {
		who  bot.Actor
		want string
	}{{other, "Only approvers or the requester"}, {boss, ""}, {sales, ""}} {
		if _, refusal, err := h.engine.MayReject(ctx, m.ID, "", tc.who); err != nil || (tc.want == "") != (refusal == "") || !strings.Contains(refusal, tc.want) {
			t.Errorf("MayReject by %s: %q %v, want %q", tc.who.Name, refusal, err, tc.want)
		}
	}
	if _, refusal, _ := h.engine.MayReject(ctx, "MNOSUCH", "", boss); !strings.Contains(refusal, "There is no migration") {
		t.Errorf("MayReject of an unknown id: %q", refusal)
	}
	got, refusal, err := h.engine.Reject(ctx, m.ID, "", boss, "customer asked for E3 instead")
	if err != nil || refusal != "" || got.State != bot.StateRejected || !strings.Contains(got.Error, "E3 instead") {
		t.Fatalf("reject: %+v %q %v", got, refusal, err)
	}
	if _, refusal, _ := h.engine.Approve(ctx, m.ID, "", lead); !strings.Contains(refusal, "rejected") {
		t.Errorf("approving a rejected migration: %q", refusal)
	}
	if _, refusal, _ := h.engine.MayReject(ctx, m.ID, "", lead); !strings.Contains(refusal, "already rejected by bea.boss: customer asked for E3 instead") {
		t.Errorf("MayReject of a rejected migration: %q", refusal)
	}
	if h.sim.Stats().OrdersCreated != 0 {
		t.Error("a rejected migration bought something")
	}
}

func TestPlanRefusals(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	f := h.expiring(false)
	for _, tc := range []struct {
		name string
		req  bot.PlanRequest
		want string
	}{
		{"unknown subscription", bot.PlanRequest{SubscriptionID: "NOPE", Target: "STANDARDPACK"}, "I don't know subscription"},
		{"unknown target", bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "STANDARDPAK"}, "Did you mean STANDARDPACK"},
		{"too few seats", bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "STANDARDPACK", Seats: 1}, "fewer than the"},
		{"negative seats", bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "STANDARDPACK", Seats: -3}, "not a number of seats"},
		{"no way to buy it", bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "M365EDU_A1"}, bot.NeedsIDs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Requester = sales
			m, refusal, err := h.engine.Plan(ctx, tc.req)
			if err != nil || m != nil || !strings.Contains(refusal, tc.want) {
				t.Errorf("got %v %q %v; want a refusal containing %q", m, refusal, err, tc.want)
			}
		})
	}
	h.plan(f, "STANDARDPACK", 0)
	if _, refusal, _ := h.engine.Plan(ctx, bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "SPB", Requester: sales}); !strings.Contains(refusal, "already pending approval") {
		t.Errorf("a second plan for the same subscription: %q", refusal)
	}
}

func TestUsersWhoCannotMoveKeepTheOldSubscriptionUntilAnOverride(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	f := h.expiring(true)
	m := h.plan(f, "STANDARDPACK", 0)
	if len(m.Plan.CannotMove) != 1 || !strings.Contains(m.Plan.CannotMove[0].Reason, "usage location") {
		t.Fatalf("cannot move = %+v", m.Plan.CannotMove)
	}
	h.approve(m, boss)
	stopped := h.settle(m.ID)
	if stopped.State != bot.StateFailed || stopped.FailedStep != bot.StepVerify || !strings.Contains(stopped.Error, m.Plan.CannotMove[0].UPN) {
		t.Fatalf("state %s at %s: %s", stopped.State, stopped.FailedStep, stopped.Error)
	}
	if old := h.subscription(f.Customer.ID, f.Subscription.ID); old.Status != "active" {
		t.Errorf("the old subscription was suspended while a user still holds it: %s", old.Status)
	}
	// Retrying without fixing the user fails again, at the move this time.
	if _, refusal, err := h.engine.Retry(ctx, m.ID, "", sales); refusal != "" || err != nil {
		t.Fatalf("retry: %q %v", refusal, err)
	}
	if again := h.settle(m.ID); again.State != bot.StateFailed || again.FailedStep != bot.StepMoveUsers || !strings.Contains(again.Error, "usage location") {
		t.Errorf("after retry: %s at %s: %s", again.State, again.FailedStep, again.Error)
	}
	if _, refusal, _ := h.engine.Override(ctx, m.ID, "", sales); !strings.Contains(refusal, "someone else") {
		t.Errorf("the requester's override: %q", refusal)
	}
	if _, refusal, err := h.engine.Override(ctx, m.ID, "", lead); refusal != "" || err != nil {
		t.Fatalf("override: %q %v", refusal, err)
	}
	if done := h.settle(m.ID); done.State != bot.StateDone || h.subscription(f.Customer.ID, f.Subscription.ID).Status != "suspended" {
		t.Errorf("after the override: %s %s", done.State, done.Error)
	}
	if h.sim.Stats().OrdersCreated != 1 {
		t.Errorf("orders = %d; retries and overrides must not buy again", h.sim.Stats().OrdersCreated)
	}
}

func TestAChangedWorldNeedsANewApproval(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	f := h.expiring(false)
	m := h.plan(f, "STANDARDPACK", 0)
	// Someone adds seats to the old subscription after the plan was made.
	_, err := h.client.UpdateSubscription(ctx, f.Customer.ID, f.Subscription.ID, func(fields map[string]any) (bool, error) {
		pcclient.SetField(fields, "quantity", f.Subscription.Quantity+5)
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h.approve(m, boss)
	stale := h.settle(m.ID)
	if stale.State != bot.StateNeedsApproval || !strings.Contains(stale.Error, "quantity changed") {
		t.Fatalf("state %s: %s", stale.State, stale.Error)
	}
	if h.sim.Stats().OrdersCreated != 0 {
		t.Fatal("bought although the world changed")
	}
	replanned, refusal, err := h.engine.Retry(ctx, m.ID, "", sales)
	if err != nil || refusal != "" || replanned.State != bot.StatePendingApproval || replanned.PlanHash == m.PlanHash {
		t.Fatalf("replan: %+v %q %v", replanned, refusal, err)
	}
	if res := h.approve(replanned, boss); !res.Started {
		t.Errorf("the old approval must not count for the new plan, and a new one must start it: %+v", res)
	}
	if done := h.settle(m.ID); done.State != bot.StateDone || done.Plan.Seats != m.Plan.Seats+5 {
		t.Errorf("state %s, seats %d (was %d)", done.State, done.Plan.Seats, m.Plan.Seats)
	}
}

// An order Microsoft does not provision in time fails the step clearly,
// saying it is bought; Retry waits for the same order and buys nothing more.
func TestAnOrderThatStaysPendingFailsClearlyAndRetryFinishes(t *testing.T) {
	h := newHarness(t, harnessOptions{
		sim:    func(o *pcsim.Options) { o.ProvisioningDelay = 1500 * time.Millisecond },
		engine: func(e *bot.Engine) { e.ProvisionTimeout, e.ProvisionPoll = 300*time.Millisecond, 50*time.Millisecond },
	})
	m := h.plan(h.expiring(false), "STANDARDPACK", 0)
	h.approve(m, boss)
	failed := h.settle(m.ID)
	if failed.State != bot.StateFailed || failed.FailedStep != bot.StepBuy || !strings.Contains(failed.Error, "has not provisioned it within") ||
		!strings.Contains(failed.Error, "nothing will be bought again") {
		t.Fatalf("state %s at %s: %s", failed.State, failed.FailedStep, failed.Error)
	}
	if failed.FailureKind != bot.FailureKindTimeout {
		t.Errorf("failure kind %q, want timeout", failed.FailureKind)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, refusal, err := h.engine.Retry(context.Background(), m.ID, "", boss); refusal != "" || err != nil {
		t.Fatalf("retry: %q %v", refusal, err)
	}
	if done := h.settle(m.ID); done.State != bot.StateDone || h.sim.Stats().OrdersCreated != 1 {
		t.Errorf("state %s (%s), orders %d", done.State, done.Error, h.sim.Stats().OrdersCreated)
	}
}

func TestTwoPlansAtOnceForOneSubscriptionMakeOne(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := h.expiring(false)
	type result struct {
		m       *bot.Migration
		refusal string
		err     error
	}
	results := make(chan result, 4)
	for _, who := range []bot.Actor{sales, other, boss, lead} {
		go func() {
			m, refusal, err := h.engine.Plan(context.Background(), bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "STANDARDPACK", Requester: who})
			results <- result{m, refusal, err}
		}()
	}
	planned := 0
	for range 4 {
		r := <-results
		switch {
		case r.err != nil:
			t.Errorf("plan: %v", r.err)
		case r.m != nil:
			planned++
		case !strings.Contains(r.refusal, "already pending approval") && !strings.Contains(r.refusal, "already being worked out"):
			t.Errorf("refusal %q", r.refusal)
		}
	}
	if planned != 1 {
		t.Errorf("%d plans for one subscription; want exactly 1", planned)
	}
}

// Someone is given Kaizala Pro after the users were moved: kaizalabot must not
// suspend under them. With seats to spare a new approval adds them and moves
// them without buying again; without, kaizalabot says how to buy only the
// missing seat, since a migration buys once.
func TestAUserGivenTheRetiredLicenceMidMigrationIsMovedAfterANewApproval(t *testing.T) {
	for _, spare := range []int{2, 0} {
		t.Run(fmt.Sprintf("%d spare seats", spare), func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			ctx := context.Background()
			f := h.expiring(false)
			first := h.plan(f, "STANDARDPACK", 0)
			if _, refusal, err := h.engine.Reject(ctx, first.ID, "", boss, "sizing the purchase by hand"); err != nil || refusal != "" {
				t.Fatalf("reject: %q %v", refusal, err)
			}
			m := h.plan(f, "STANDARDPACK", first.Plan.SeatsNeeded()+spare)
			newcomer := h.userOutsidePlan(f, m)
			var once sync.Once
			h.events.hook = func(e bot.Event) {
				if e.Kind == bot.EventUserMoved && e.Migration.ID == m.ID && e.Done == e.Total {
					once.Do(func() {
						_, err := h.client.UpdateLicenses(ctx, f.Customer.ID, newcomer.ID, pcclient.LicenseUpdate{LicensesToAssign: []pcclient.LicenseAssignment{{SkuID: kaizalaSku}}})
						if err != nil {
							t.Errorf("giving %s Kaizala Pro: %v", newcomer.UPN, err)
						}
					})
				}
			}
			h.approve(m, boss)
			stale := h.settle(m.ID)
			if stale.State != bot.StateNeedsApproval || !strings.Contains(stale.Error, "not in the approved plan") {
				t.Fatalf("state %s at %s: %s", stale.State, stale.FailedStep, stale.Error)
			}
			if old := h.subscription(f.Customer.ID, f.Subscription.ID); old.Status == "suspended" {
				t.Fatal("suspended while a user still holds Kaizala Pro")
			}
			replanned, refusal, err := h.engine.Retry(ctx, m.ID, "", sales)
			if err != nil {
				t.Fatal(err)
			}
			wantOrders := int64(1)
			if spare == 0 {
				// No seat for the newcomer: buy exactly the missing one under a new plan.
				suggested := fmt.Sprintf("/kaizala plan %s STANDARDPACK 1", f.Subscription.ID)
				if !strings.Contains(refusal, "buys once per migration") || !strings.Contains(refusal, suggested) {
					t.Fatalf("refusal %q should explain and suggest %q", refusal, suggested)
				}
				if _, refusal, err := h.engine.Reject(ctx, m.ID, "", sales, "buying the missing seat"); err != nil || refusal != "" {
					t.Fatalf("reject: %q %v", refusal, err)
				}
				replanned = h.plan(f, "STANDARDPACK", 1)
				if replanned.Plan.Seats != 1 {
					t.Fatalf("the suggested plan buys %d seats, want 1", replanned.Plan.Seats)
				}
				wantOrders = 2
			} else if refusal != "" || replanned.Plan.Seats != 0 {
				t.Fatalf("replan: %q, seats %d (want none: the seats bought earlier are free)", refusal, replanned.Plan.Seats)
			}
			if len(replanned.Plan.Move) != 1 || !bot.SameID(replanned.Plan.Move[0].ID, newcomer.ID) {
				t.Fatalf("the new plan should move only %s: %+v", newcomer.UPN, replanned.Plan.Move)
			}
			h.approve(replanned, boss)
			if done := h.settle(replanned.ID); done.State != bot.StateDone {
				t.Fatalf("state %s at %s: %s", done.State, done.FailedStep, done.Error)
			}
			for _, u := range append(slices.Clone(m.Plan.Move), bot.PlanUser{ID: newcomer.ID, UPN: newcomer.UPN}) {
				if skus := h.skus(f.Customer.ID, u.ID); !slices.Contains(skus, e1Sku) || slices.Contains(skus, kaizalaSku) {
					t.Errorf("%s holds %v", u.UPN, skus)
				}
			}
			if got := h.sim.Stats().OrdersCreated; got != wantOrders {
				t.Errorf("orders created = %d, want %d", got, wantOrders)
			}
			if old := h.subscription(f.Customer.ID, f.Subscription.ID); old.Status != "suspended" {
				t.Errorf("old subscription is %s", old.Status)
			}
		})
	}
}

// userOutsidePlan returns a licensable user of f's customer whom m does not move.
func (h *harness) userOutsidePlan(f bot.Finding, m *bot.Migration) bot.User {
	h.t.Helper()
	users, err := h.pc.ListUsers(context.Background(), f.Customer.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	inPlan := map[string]bool{}
	for _, u := range append(slices.Clone(m.Plan.Move), m.Plan.CannotMove...) {
		inPlan[strings.ToLower(u.ID)] = true
	}
	for _, u := range users {
		if !inPlan[strings.ToLower(u.ID)] && u.UsageLocation != "" {
			return u
		}
	}
	h.t.Fatal("the customer has no user outside the plan to give Kaizala Pro to")
	return bot.User{}
}
