package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

const f3Sku = "66b55226-6b4f-492c-910c-a3b7a3c9d993" // Microsoft 365 F3 (SPE_F1)

// nceRetiredCatalog treats Microsoft 365 F3 as a retired SKU, so a
// new-commerce subscription of it can stand for a retired subscription
// bought through new commerce (the sandbox's Kaizala Pro ones are legacy).
func nceRetiredCatalog() *bot.Catalog {
	c := bot.DefaultCatalog()
	c.Retired = append(c.Retired, bot.RetiredSKU{Name: "Test F3", OfferNameContains: []string{"Microsoft 365 F3"}, SkuIDs: []string{f3Sku},
		Targets: []string{"O365_BUSINESS_ESSENTIALS"}})
	return c
}

// buyNCE buys a new-commerce F3 subscription for a customer without F3 users
// and makes it known to the engine; it returns the customer and subscription.
func (h *harness) buyNCE(t *testing.T, seats int) (customerID, subscriptionID string) {
	t.Helper()
	ctx := context.Background()
	for _, f := range h.report.Findings {
		pools, err := h.pc.LicensePools(ctx, f.Customer.ID)
		if err != nil {
			continue
		}
		used := false
		for _, p := range pools {
			used = used || (bot.SameID(p.SkuID, f3Sku) && p.Total > 0)
		}
		if !used {
			customerID = f.Customer.ID
			break
		}
	}
	if customerID == "" {
		t.Fatal("no customer without Microsoft 365 F3")
	}
	cart, err := h.client.CreateCart(ctx, customerID, pcclient.Cart{LineItems: []pcclient.CartLineItem{{
		CatalogItemID: "CFQ7TTC0LH05:0001:CFQ7TTC0JX5N", Quantity: seats, BillingCycle: "annual", TermDuration: "P1Y",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.client.CheckoutCart(ctx, customerID, cart.ID)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for subscriptionID == "" && time.Now().Before(deadline) {
		o, err := h.client.GetOrder(ctx, customerID, res.Orders[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		subscriptionID = o.LineItems[0].SubscriptionID
		time.Sleep(50 * time.Millisecond)
	}
	if subscriptionID == "" {
		t.Fatal("the order was never provisioned")
	}
	report, err := (&bot.Scanner{Source: h.pc, Retired: h.engine.Catalog.Retired}).Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.engine.RecordScan(ctx, report); err != nil {
		t.Fatal(err)
	}
	return customerID, subscriptionID
}

// Step C by commerce type: a new-commerce subscription is left to end by
// default (suspending it would not stop its billing), cancelled when asked
// inside its window, suspended only when asked (and the plan says billing
// goes on); cancelling after the window is refused with the date.
func TestTheOldSubscriptionsFateFollowsItsCommerceType(t *testing.T) {
	cases := []struct {
		name       string
		ask        bot.OldFate
		window     time.Duration
		wantFate   bot.OldFate
		wantStatus string
		ledger     pcsim.LedgerKind
		refusal    string
	}{
		{name: "default: left to end", wantFate: bot.FateLeave, wantStatus: "active"},
		{name: "cancelled inside the window", ask: bot.FateCancel, wantFate: bot.FateCancel, wantStatus: "deleted", ledger: pcsim.LedgerCancellation},
		{name: "suspended when asked", ask: bot.FateSuspend, wantFate: bot.FateSuspend, wantStatus: "suspended", ledger: pcsim.LedgerSuspension},
		{name: "cancel after the window is refused", ask: bot.FateCancel, window: time.Millisecond, refusal: "can no longer be cancelled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{
				sim:    func(o *pcsim.Options) { o.CancellationWindow = c.window },
				engine: func(e *bot.Engine) { e.Catalog = nceRetiredCatalog() },
			})
			customerID, subID := h.buyNCE(t, 3)
			time.Sleep(10 * time.Millisecond) // past a 1ms window
			m, refusal, err := h.engine.Plan(context.Background(), bot.PlanRequest{SubscriptionID: subID, Target: "O365_BUSINESS_ESSENTIALS", OldFate: c.ask, Requester: sales, Strategy: bot.StrategyReplace})
			if err != nil {
				t.Fatal(err)
			}
			if c.refusal != "" {
				if !strings.Contains(refusal, c.refusal) {
					t.Fatalf("refusal %q, want one saying %q", refusal, c.refusal)
				}
				return
			}
			if refusal != "" {
				t.Fatalf("refused: %s", refusal)
			}
			if m.Plan.OldFate != c.wantFate || !m.Plan.Subscription.NewCommerce || !m.Plan.Deprovision.IsZero() {
				t.Fatalf("plan fate %q (new commerce %v, deletion %v), want %q", m.Plan.OldFate, m.Plan.Subscription.NewCommerce, m.Plan.Deprovision, c.wantFate)
			}
			_, billing := bot.OldOutcome(m.Plan, time.Now())
			if c.wantFate == bot.FateSuspend && !strings.Contains(billing, "billing continues") {
				t.Errorf("suspending new commerce must say billing continues: %q", billing)
			}
			suspensionsBefore := len(ledgerOf(t, h, pcsim.LedgerSuspension))
			h.approve(m, boss)
			done := h.settle(m.ID)
			if done.State != bot.StateDone {
				t.Fatalf("state %s at %s: %s", done.State, done.FailedStep, done.Error)
			}
			old := h.subscription(customerID, subID)
			if !strings.EqualFold(old.Status, c.wantStatus) || old.AutoRenew {
				t.Errorf("old subscription %s, auto-renew %v; want %s with auto-renew off", old.Status, old.AutoRenew, c.wantStatus)
			}
			if c.ledger == "" && len(ledgerOf(t, h, pcsim.LedgerSuspension)) != suspensionsBefore {
				t.Error("left to end, yet the ledger shows a suspension")
			}
			if c.ledger != "" && len(ledgerOf(t, h, c.ledger)) != 1 {
				t.Errorf("ledger %s entries = %d, want 1", c.ledger, len(ledgerOf(t, h, c.ledger)))
			}
		})
	}
}

// Money on the plan: seats above the target's per-customer maximum are
// refused with the limit named; unusual counts are flagged; the legacy
// deletion date is the earlier of the term end and 90 days.
func TestPlansSayWhatTheyCostAndRefuseImpossibleSeatCounts(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	f := h.expiring(false)
	_, refusal, err := h.engine.Plan(context.Background(), bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "SPB", Seats: 100000, Requester: sales})
	if err != nil || !strings.Contains(refusal, "at most 300 seats per customer") {
		t.Fatalf("100000 seats of Business Premium: %q %v; want a refusal naming the 300-seat limit", refusal, err)
	}
	m, refusal, err := h.engine.Plan(context.Background(), bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "STANDARDPACK", Seats: f.Subscription.Quantity + 50, Requester: sales})
	if err != nil || refusal != "" {
		t.Fatalf("plan: %q %v", refusal, err)
	}
	if odd := m.Plan.Unusual(); len(odd) == 0 {
		t.Errorf("%d seats for %d users of a %d-seat subscription is not flagged", m.Plan.Seats, len(m.Plan.Move), f.Subscription.Quantity)
	}
	if m.Plan.MonthlyPrice() != float64(m.Plan.Seats)*m.Plan.Target.ListPrice || m.Plan.TermPrice() != 12*m.Plan.MonthlyPrice() {
		t.Errorf("prices %v a month, %v a term for %d seats at %v", m.Plan.MonthlyPrice(), m.Plan.TermPrice(), m.Plan.Seats, m.Plan.Target.ListPrice)
	}
	want := bot.DeletionDate(m.Plan.CreatedAt, f.Subscription.EndDate)
	if m.Plan.OldFate != bot.FateSuspend || !m.Plan.Deprovision.Equal(want) || m.Plan.Deprovision.After(m.Plan.CreatedAt.Add(90*24*time.Hour)) {
		t.Errorf("legacy plan: fate %q, deletion %v, want suspend and %v", m.Plan.OldFate, m.Plan.Deprovision, want)
	}
}

func TestDeletionDateIsTheEarlierOfTermEndAnd90Days(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		end, want time.Time
	}{
		{time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), at.Add(90 * 24 * time.Hour)},
		{time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)},
		{time.Time{}, at.Add(90 * 24 * time.Hour)},
		{time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), at}, // the term is over already
	} {
		if got := bot.DeletionDate(at, c.end); !got.Equal(c.want) {
			t.Errorf("DeletionDate(%v, %v) = %v, want %v", at, c.end, got, c.want)
		}
	}
}

// Acceptance 5: a plan for a customer Partner Center refuses access to is
// refused with the fix: the GDAP role to grant, or the Conditional Access
// policy to change.
func TestAPlanForACustomerRefusedAccessSaysWhatToFix(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	denied := h.sim.AccessDenied()
	want := map[string]string{"900308": "GDAP role for", "900309": "Conditional Access"}
	tried := map[string]bool{}
	for _, f := range h.report.Findings {
		code, ok := denied[f.Customer.ID]
		if !ok || tried[code] || !f.Subscription.Active() {
			continue
		}
		tried[code] = true
		m, refusal, err := h.engine.Plan(context.Background(), bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "STANDARDPACK", Requester: sales})
		if err != nil || m != nil || !strings.Contains(refusal, "Cannot plan for "+f.Customer.Name) || !strings.Contains(refusal, want[code]) || !strings.Contains(refusal, code) {
			t.Errorf("plan for %s (%s): %v %q %v; want a refusal naming the fix %q", f.Customer.Name, code, m, refusal, err, want[code])
		}
	}
	if len(tried) != 2 {
		t.Fatalf("tried %v; the sandbox should deny customers with both codes, each holding an active Kaizala Pro subscription", tried)
	}
}
