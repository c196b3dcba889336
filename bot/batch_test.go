package bot_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// planBatch asks for a batch of every subscription ending within days, as
// the salesperson, and fails the test on a refusal.
func (h *harness) planBatch(days int) *bot.BatchStatus {
	h.t.Helper()
	st, refusal, err := h.engine.PlanBatch(context.Background(), bot.BatchRequest{Target: "STANDARDPACK", WithinDays: days, Requester: sales})
	if err != nil || refusal != "" {
		h.t.Fatalf("plan batch: %q %v", refusal, err)
	}
	return st
}

// dueWithin lists the scanned subscriptions a batch of days must account for.
func (h *harness) dueWithin(days int) []bot.Finding {
	var out []bot.Finding
	for _, f := range h.report.Findings {
		f.DaysLeft = bot.DaysLeft(f.Subscription.EndDate, time.Now(), time.UTC)
		if f.Expiring(days) {
			out = append(out, f)
		}
	}
	return out
}

func TestABatchApprovedOnceMigratesEveryMemberExactlyOnce(t *testing.T) {
	const bound = 2
	h := newHarness(t, harnessOptions{
		// More customers than the bound, and the ones denied to the partner
		// among them (the sandbox denies its last three).
		sim:    func(o *pcsim.Options) { o.Customers, o.GDAPMissing = 40, 2 },
		engine: func(e *bot.Engine) { e.BatchConcurrency = bound },
	})
	due := h.dueWithin(30)
	st := h.planBatch(30)
	b := st.Batch
	if len(st.Members) <= bound {
		t.Fatalf("%d members; the test needs more than %d to see the bound", len(st.Members), bound)
	}

	// Every subscription due is a member or is listed with why it cannot be.
	accounted := map[string]string{}
	for _, m := range st.Members {
		accounted[m.SubscriptionID] = m.ID
		if m.State != bot.StatePendingApproval || m.Requester != sales || m.Plan.Target.SkuPartNumber != "STANDARDPACK" {
			t.Errorf("member %s: %s by %v to %s", m.ID, m.State, m.Requester, m.Plan.Target.SkuPartNumber)
		}
	}
	for _, u := range b.Unplanned {
		if u.Reason == "" {
			t.Errorf("unplanned %s without a reason", u.SubscriptionID)
		}
		accounted[u.SubscriptionID] = u.Reason
	}
	for _, f := range due {
		if accounted[f.Subscription.ID] == "" {
			t.Errorf("subscription %s (%s, %d days left) is neither planned nor listed", f.Subscription.ID, f.Customer.Label(), f.DaysLeft)
		}
	}
	if len(accounted) != len(due) {
		t.Errorf("%d subscriptions accounted for, %d due within 30 days", len(accounted), len(due))
	}
	denied := 0
	for _, u := range b.Unplanned {
		if strings.Contains(u.Reason, "GDAP") || strings.Contains(u.Reason, "Conditional Access") {
			denied++
		}
	}
	t.Logf("%d due: %d members, %d cannot be planned (%d denied access)", len(due), len(st.Members), len(b.Unplanned), denied)
	hashes := make([]string, len(st.Members))
	for i, m := range st.Members {
		hashes[i] = m.PlanHash
	}
	if b.Hash != bot.BatchHash(hashes) || b.State != bot.BatchPendingApproval {
		t.Errorf("batch hash %s state %s", b.Hash, b.State)
	}

	// The requester and a bystander approve nothing.
	for _, who := range []bot.Actor{sales, other} {
		if _, refusal, err := h.engine.ApproveBatch(context.Background(), b.ID, b.Hash, who); err != nil || refusal == "" {
			t.Errorf("%s approved the batch: %q %v", who.Name, refusal, err)
		}
	}

	// How many members run at once, seen from inside their runs.
	var mu sync.Mutex
	inside, most := map[string]bool{}, 0
	h.events.mu.Lock()
	h.events.hook = func(e bot.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case bot.EventProvisioning, bot.EventBought, bot.EventSeatsReady, bot.EventUserMoved:
			inside[e.Migration.ID] = true
		case bot.EventDone, bot.EventFailed, bot.EventNeedsApproval:
			delete(inside, e.Migration.ID)
		}
		most = max(most, len(inside))
	}
	h.events.mu.Unlock()

	res, refusal, err := h.engine.ApproveBatch(context.Background(), b.ID, b.Hash, boss)
	if err != nil || refusal != "" {
		t.Fatalf("approve: %q %v", refusal, err)
	}
	if res.Approved != len(st.Members) || res.Started != len(st.Members) || res.Status.Batch.State != bot.BatchApproved {
		t.Errorf("approve = %d approved, %d started, batch %s; want %d, %d, approved", res.Approved, res.Started, res.Status.Batch.State, len(st.Members), len(st.Members))
	}
	finished := map[string]*bot.Migration{}
	for _, m := range st.Members {
		done := h.settle(m.ID)
		if done.State != bot.StateDone {
			t.Errorf("member %s: %s at %s: %s", m.ID, done.State, done.FailedStep, done.Error)
		}
		finished[m.ID] = done
	}
	mu.Lock()
	if most > bound || most == 0 {
		t.Errorf("%d members ran at once; the bound is %d", most, bound)
	}
	mu.Unlock()

	// Exactly once each: one purchase per member that buys, one suspension
	// per old subscription, whatever the order they ran in.
	buys, suspended := map[string]int{}, map[string]int{}
	for _, e := range h.sim.Ledger() {
		switch e.Kind {
		case pcsim.LedgerCheckout, pcsim.LedgerOrder:
			buys[strings.ToLower(e.SubscriptionID)]++
		case pcsim.LedgerSuspension:
			suspended[e.SubscriptionID]++
		}
	}
	wantBuys := 0
	for _, m := range st.Members {
		if m.Plan.Seats > 0 {
			wantBuys++
			if bought := finished[m.ID].NewSubscriptionID; buys[strings.ToLower(bought)] != 1 {
				t.Errorf("member %s (%s): new subscription %q bought %d times, want 1", m.ID, m.CustomerDomain, bought, buys[strings.ToLower(bought)])
			}
		}
		if m.Plan.OldFate == bot.FateSuspend && suspended[m.SubscriptionID] != 1 {
			t.Errorf("subscription %s suspended %d times, want 1", m.SubscriptionID, suspended[m.SubscriptionID])
		}
	}
	if got := h.sim.Stats().CartsCheckedOut; int(got) != wantBuys {
		t.Errorf("carts checked out = %d, want %d (one per member that buys)", got, wantBuys)
	}

	// A second click changes nothing.
	again, refusal, err := h.engine.ApproveBatch(context.Background(), b.ID, b.Hash, boss)
	if err != nil || refusal != "" || !again.Already {
		t.Errorf("second click: %+v %q %v", again, refusal, err)
	}
	final, _, err := h.engine.Batch(context.Background(), strings.ToLower(b.ID))
	if err != nil {
		t.Fatal(err)
	}
	if c := final.Counts(); c.Done != len(st.Members) || !c.Finished() {
		t.Errorf("counts %+v", c)
	}

	// Each member has its own history, and the batch its own rows.
	for _, m := range st.Members {
		entries, err := h.db.Audit(context.Background(), bot.AuditFilter{MigrationID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		for _, want := range []string{bot.ActionPlanned, bot.ActionApproved, bot.ActionStarted, bot.ActionDone} {
			if !slices.Contains(actions, want) {
				t.Errorf("member %s has no %s row: %v", m.ID, want, actions)
			}
		}
	}
	all, err := h.db.Audit(context.Background(), bot.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var batchRows []string
	for _, e := range all {
		if e.Detail["batchId"] == b.ID {
			batchRows = append(batchRows, e.Action+" by "+e.Actor.Name)
		}
	}
	if want := []string{bot.ActionBatchPlanned + " by " + sales.Name, bot.ActionBatchApproved + " by " + boss.Name}; !slices.Equal(batchRows, want) {
		t.Errorf("batch rows %v, want %v", batchRows, want)
	}

	// The progress reported as members finished ends with all of them done.
	var last *bot.BatchStatus
	h.events.mu.Lock()
	for _, e := range h.events.events {
		if e.Kind == bot.EventBatchProgress && e.Batch.Batch.ID == b.ID {
			last = e.Batch
		}
	}
	h.events.mu.Unlock()
	if last == nil || last.Counts().Done != len(st.Members) {
		t.Errorf("last progress event: %+v", last)
	}
}

func TestABatchWhoseMemberChangedIsRefusedWhole(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	st := h.planBatch(30)
	if len(st.Members) < 2 {
		t.Fatalf("%d members; the test needs two", len(st.Members))
	}
	// One member's plan changes after the batch was made (as a new plan
	// after a stop for a new approval would).
	ctx := context.Background()
	changed, err := h.db.GetMigration(ctx, st.Members[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	changed.Plan.Seats++
	changed.PlanHash = changed.Plan.Hash()
	if err := h.db.SaveMigration(ctx, changed); err != nil {
		t.Fatal(err)
	}

	_, refusal, err := h.engine.ApproveBatch(ctx, st.Batch.ID, st.Batch.Hash, boss)
	if err != nil || !strings.Contains(refusal, "This batch changed") || !strings.Contains(refusal, changed.ID) {
		t.Fatalf("approving a changed batch: %q %v", refusal, err)
	}
	for _, m := range st.Members {
		got, err := h.db.GetMigration(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := h.db.Decisions(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != bot.StatePendingApproval || len(ds) != 0 {
			t.Errorf("member %s after the refused click: %s, %d decisions", m.ID, got.State, len(ds))
		}
	}
	if n := h.sim.Stats().OrdersCreated; n != 0 {
		t.Errorf("%d orders after a refused click", n)
	}
	// A button from another batch is refused the same way.
	if _, refusal, _ := h.engine.ApproveBatch(ctx, st.Batch.ID, strings.Repeat("0", 64), boss); !strings.Contains(refusal, "This batch changed") {
		t.Errorf("a stale batch hash: %q", refusal)
	}
}

func TestRejectingABatchRejectsWhatStillWaits(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	st := h.planBatch(30)
	if len(st.Members) < 2 {
		t.Fatalf("%d members; the test needs two", len(st.Members))
	}
	// One member is approved on its own first; it runs, the batch does not stop it.
	first := st.Members[0]
	h.approve(&first, lead)

	if _, refusal, _ := h.engine.RejectBatch(ctx, st.Batch.ID, st.Batch.Hash, other, "no"); refusal == "" {
		t.Error("a bystander rejected the batch")
	}
	if _, refusal, err := h.engine.MayRejectBatch(ctx, st.Batch.ID, st.Batch.Hash, boss); refusal != "" || err != nil {
		t.Fatalf("may reject: %q %v", refusal, err)
	}
	got, refusal, err := h.engine.RejectBatch(ctx, st.Batch.ID, st.Batch.Hash, boss, "the customers renew by phone")
	if err != nil || refusal != "" {
		t.Fatalf("reject: %q %v", refusal, err)
	}
	if got.Batch.State != bot.BatchRejected || got.Batch.RejectedBy != boss || got.Batch.RejectReason != "the customers renew by phone" {
		t.Errorf("batch after reject: %+v", got.Batch)
	}
	for _, m := range got.Members[1:] {
		if m.State != bot.StateRejected {
			t.Errorf("member %s is %s after the batch was rejected", m.ID, m.State)
		}
	}
	if done := h.settle(first.ID); done.State != bot.StateDone {
		t.Errorf("the member approved on its own: %s (%s)", done.State, done.Error)
	}
	// Approving a rejected batch does nothing; rejecting it again is harmless.
	if _, refusal, _ := h.engine.ApproveBatch(ctx, st.Batch.ID, st.Batch.Hash, lead); !strings.Contains(refusal, "rejected") {
		t.Errorf("approving a rejected batch: %q", refusal)
	}
	if _, refusal, err := h.engine.RejectBatch(ctx, st.Batch.ID, st.Batch.Hash, boss, "again"); refusal != "" || err != nil {
		t.Errorf("second reject: %q %v", refusal, err)
	}
	if _, refusal, _ := h.engine.MayRejectBatch(ctx, st.Batch.ID, st.Batch.Hash, boss); !strings.Contains(refusal, "already rejected") {
		t.Errorf("may reject a rejected batch: %q", refusal)
	}
	// The subscriptions are free to be planned again.
	if _, refusal, err := h.engine.Plan(ctx, bot.PlanRequest{SubscriptionID: got.Members[1].SubscriptionID, Target: "STANDARDPACK", Requester: sales}); refusal != "" || err != nil {
		t.Errorf("planning a rejected member's subscription again: %q %v", refusal, err)
	}
}

func TestTwoApprovalsForABatch(t *testing.T) {
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) { e.Policy.Required = 2 }})
	ctx := context.Background()
	st := h.planBatch(30)
	res, refusal, err := h.engine.ApproveBatch(ctx, st.Batch.ID, st.Batch.Hash, boss)
	if err != nil || refusal != "" || res.Started != 0 || res.Status.Batch.State != bot.BatchPendingApproval || len(res.Status.Approvers) != 1 {
		t.Fatalf("first approval: %+v %q %v", res, refusal, err)
	}
	if again, _, _ := h.engine.ApproveBatch(ctx, st.Batch.ID, st.Batch.Hash, boss); !again.Already {
		t.Errorf("the same approver twice counted: %+v", again)
	}
	res, refusal, err = h.engine.ApproveBatch(ctx, st.Batch.ID, st.Batch.Hash, lead)
	if err != nil || refusal != "" || res.Started != len(st.Members) || res.Status.Batch.State != bot.BatchApproved {
		t.Fatalf("second approval: %+v %q %v", res, refusal, err)
	}
	for _, m := range st.Members {
		if done := h.settle(m.ID); done.State != bot.StateDone {
			t.Errorf("member %s: %s (%s)", m.ID, done.State, done.Error)
		}
	}
}

func TestPlanBatchRefusals(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	var some bot.Customer
	for _, f := range h.dueWithin(30) {
		if _, err := h.pc.LicensePools(context.Background(), f.Customer.ID); err == nil {
			some = f.Customer // one the partner may reach
			break
		}
	}
	owners := &bot.Owners{}
	if err := owners.Add(some.ID, bot.Owner{UserID: "U0OWNER"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  bot.BatchRequest
		want string
	}{
		{"unknown target", bot.BatchRequest{Target: "E99"}, "/kaizala targets"},
		{"negative days", bot.BatchRequest{Target: "STANDARDPACK", WithinDays: -1}, "not a number of days"},
		{"owner without owners", bot.BatchRequest{Target: "STANDARDPACK", Owner: "U0OWNER"}, "KAIZALA_OWNERS"},
		{"an owner with no customers", bot.BatchRequest{Target: "STANDARDPACK", Owner: "U0NOBODY", Owners: owners}, "nothing to plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Requester = sales
			st, refusal, err := h.engine.PlanBatch(context.Background(), tt.req)
			if err != nil || st != nil || !strings.Contains(refusal, tt.want) {
				t.Errorf("got %v, %q, %v; want a refusal saying %q", st, refusal, err, tt.want)
			}
		})
	}
	// An owner's batch holds their customers only.
	st, refusal, err := h.engine.PlanBatch(context.Background(), bot.BatchRequest{Target: "STANDARDPACK", Owner: "U0OWNER", Owners: owners, Requester: sales})
	if err != nil || refusal != "" {
		t.Fatalf("owner's batch: %q %v", refusal, err)
	}
	for _, m := range st.Members {
		if m.CustomerID != some.ID {
			t.Errorf("member %s is of customer %s, not the owner's %s", m.ID, m.CustomerID, some.ID)
		}
	}
	if len(st.Members)+len(st.Batch.Unplanned) == 0 {
		t.Error("the owner's batch is empty")
	}
	// Their subscriptions are now planned: a second batch lists them as such.
	again, refusal, err := h.engine.PlanBatch(context.Background(), bot.BatchRequest{Target: "STANDARDPACK", Owner: "U0OWNER", Owners: owners, Requester: sales})
	if again != nil || !strings.Contains(refusal, "already") {
		t.Errorf("a second batch of the same subscriptions: %v %q %v", again, refusal, err)
	}
}
