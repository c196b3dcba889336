package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// A cart line Partner Center will not sell stops the migration before any
// money is spent, with Microsoft's words; Retry makes a new cart.
func TestACartLineErrorStopsBeforeAnyMoneyIsSpent(t *testing.T) {
	catalog := bot.DefaultCatalog()
	for i := range catalog.Targets {
		if catalog.Targets[i].SkuPartNumber == "SPB" {
			catalog.Targets[i].MaxSeats = 0 // the catalog does not know the limit; Partner Center does
		}
	}
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) { e.Catalog = catalog }})
	f := h.expiring(false)
	m := h.plan(f, "SPB", 400) // Business plans stop at 300 seats
	h.approve(m, boss)
	failed := h.settle(m.ID)
	if failed.State != bot.StateFailed || failed.FailedStep != bot.StepBuy ||
		!strings.Contains(failed.Error, "at most 300 seats") || !strings.Contains(failed.Error, "code 10015") || !strings.Contains(failed.Error, "Nothing was bought") {
		t.Fatalf("state %s at %s: %s; want failed at buy with Microsoft's words and nothing bought", failed.State, failed.FailedStep, failed.Error)
	}
	if n := len(ledgerOf(t, h, pcsim.LedgerCheckout)); n != 0 {
		t.Errorf("%d checkouts after a cart line error, want 0", n)
	}
}

// goneCartPC loses the first checkout before it reaches Partner Center (a
// dropped connection) and then reports the cart gone, as after its 7 days.
type goneCartPC struct {
	bot.PartnerCenter
	lost  atomic.Bool
	gone  atomic.Int32 // GetCart answers ErrGone this many times
	carts atomic.Int32
}

func (g *goneCartPC) CreateCart(ctx context.Context, customerID string, t bot.Target, seats int, tag, requestID string) (bot.Cart, error) {
	g.carts.Add(1)
	return g.PartnerCenter.CreateCart(ctx, customerID, t, seats, tag, requestID)
}

func (g *goneCartPC) Checkout(ctx context.Context, customerID, cartID, requestID string) ([]bot.Order, bot.CallRef, error) {
	if g.lost.CompareAndSwap(false, true) {
		return nil, bot.CallRef{}, &pcclient.RetriesExhaustedError{Attempts: 3, Err: fmt.Errorf("connection reset")}
	}
	return g.PartnerCenter.Checkout(ctx, customerID, cartID, requestID)
}

func (g *goneCartPC) GetCart(ctx context.Context, customerID, cartID string) (bot.Cart, error) {
	if g.gone.Add(-1) >= 0 {
		return bot.Cart{}, fmt.Errorf("%w: cart %s", bot.ErrGone, cartID)
	}
	return g.PartnerCenter.GetCart(ctx, customerID, cartID)
}

// A saved cart that is gone after a checkout whose answer was lost: nobody
// can tell from the cart whether it bought, so unless the purchase is found
// the migration stops and asks a person; their Retry buys through a new
// cart, once.
func TestACartGoneAfterALostCheckoutAsksAPerson(t *testing.T) {
	pc := &goneCartPC{}
	pc.gone.Store(3) // gone for good: the look after the lost checkout, the next pass's, and the one after Retry
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) { pc.PartnerCenter = e.PC; e.PC = pc }})
	f := h.expiring(false)
	m := h.plan(f, "STANDARDPACK", 0)
	h.approve(m, boss)
	asked := h.settle(m.ID)
	if asked.State != bot.StateFailed || asked.FailedStep != bot.StepBuy || !strings.Contains(asked.Error, "cannot tell whether it bought") ||
		!strings.Contains(asked.Error, "Look in Partner Center") {
		t.Fatalf("state %s at %s: %s; want a failure asking a person to look", asked.State, asked.FailedStep, asked.Error)
	}
	if n := len(ledgerOf(t, h, pcsim.LedgerCheckout)); n != 0 {
		t.Fatalf("%d checkouts before the person answered, want 0", n)
	}
	if _, refusal, err := h.engine.Retry(context.Background(), m.ID, "", boss); refusal != "" || err != nil {
		t.Fatalf("retry: %q %v", refusal, err)
	}
	h.checkFinishedOnce(m, f)
	if n := pc.carts.Load(); n != 2 {
		t.Errorf("%d carts created, want 2 (the gone one and a new one)", n)
	}
}
