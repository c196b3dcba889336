package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Step A as Partner Center sells today (new-commerce.md §2): a cart is
// created (no money), its lines checked for errors, checked out (money,
// idempotent per cart) into orders that complete later, and the
// subscription learnt from the order once Microsoft has provisioned it.
//
// The buy step's Result is the purchase journal; each id is saved before
// the next call that depends on it, so a crash anywhere resumes on the
// same cart or the same orders and never buys twice:
const (
	resultCart        = "cartId"        // saved before checkout
	resultCheckout    = "checkout"      // "sent" once a checkout may have reached Partner Center
	resultOrders      = "orderIds"      // comma-separated, saved after checkout
	resultOrderedAt   = "orderedAt"     // when the wait for provisioning began (RFC 3339)
	resultToldWaiting = "toldWaiting"   // the thread was told what the step waits for
	resultCartGone    = "cartGoneAsked" // a person was asked about a lost cart
	resultSubID       = "subscriptionId"
	resultOrderID     = "orderId"
)

// buy is step A: buy the target's seats, exactly once.
func (e *Engine) buy(ctx context.Context, m *Migration) error {
	st, err := e.loadStep(ctx, m.ID, StepBuy)
	if err != nil || st.State == StepDone || st.State == StepSkipped {
		return err
	}
	p := m.Plan
	if p.Seats == 0 {
		return e.finishStep(ctx, m, &st, StepSkipped, map[string]string{"reason": fmt.Sprintf("the customer already has %d free %s seats", p.FreeTargetSeats, p.Target.Name)})
	}
	if st.Result == nil {
		st.Result = map[string]string{}
	}
	if ids := st.Result[resultOrders]; ids != "" {
		return e.awaitOrders(ctx, m, &st, strings.Split(ids, ","))
	}
	switch how, _ := p.Target.HowToBuy(); how {
	case BuyByCart:
		return e.buyThroughCart(ctx, m, &st)
	case BuyByLegacyOrder:
		return e.buyLegacy(ctx, m, &st)
	}
	return e.recordFailure(ctx, &st, fmt.Errorf("%s %s: the catalog says no way to buy it; nothing was bought", p.Target.Name, NeedsIDs), FailureKindPartnerCenter)
}

// buyThroughCart creates (or reuses) the cart, checks its lines and checks
// it out.
func (e *Engine) buyThroughCart(ctx context.Context, m *Migration, st *Step) error {
	p := m.Plan
	tag := purchaseTag(m.ID)
	cartID := st.Result[resultCart]
	if cartID != "" {
		cart, err := e.PC.GetCart(ctx, m.CustomerID, cartID)
		switch {
		case errors.Is(err, ErrGone):
			return e.cartGone(ctx, m, st, cartID)
		case err != nil:
			return e.failStep(ctx, st, "reading cart "+cartID, err)
		case len(cart.LineErrors) > 0 && !cart.CheckedOut:
			return e.cartRefused(ctx, m, st, cart)
		}
	} else {
		// No cart saved: nothing was checked out (the cart id is saved
		// before any checkout), so the world must still be as planned.
		if err := e.checkWorld(ctx, m, true); err != nil {
			return err
		}
		if err := checkFence(ctx); err != nil {
			return err
		}
		cart, err := e.PC.CreateCart(ctx, m.CustomerID, p.Target, p.Seats, tag, newRequestID())
		if err != nil {
			return e.failStep(ctx, st, fmt.Sprintf("creating a cart of %d %s seats", p.Seats, p.Target.Name), err)
		}
		st.Result[resultCart] = cart.ID
		// Saved before anything else: a crash from here on resumes on this
		// cart. Should the save fail, the cart is left unused and expires.
		if err := e.Store.SaveStep(ctx, st, e.audit(m, System, ActionCartCreated, map[string]any{
			"cartId": cart.ID, "seats": p.Seats, "target": p.Target.SkuPartNumber, "expires": cart.Expires.Format(time.RFC3339),
		})); err != nil {
			return err
		}
		if len(cart.LineErrors) > 0 {
			return e.cartRefused(ctx, m, st, cart)
		}
		cartID = cart.ID
	}

	st.Result[resultCheckout] = "sent"
	if err := e.beginWrite(ctx, m, st, true); err != nil {
		return err
	}
	orders, call, err := e.PC.Checkout(ctx, m.CustomerID, cartID, st.MSRequestID)
	if errors.Is(err, ErrGone) {
		return e.cartGone(ctx, m, st, cartID)
	}
	if err != nil {
		if cart, gerr := e.PC.GetCart(ctx, m.CustomerID, cartID); gerr == nil && cart.CheckedOut {
			// Checked out after all: the next pass checks out again (the
			// same answer, per cart) and learns the orders.
			return &transientError{what: "checking out cart " + cartID, err: err}
		}
		return e.failStep(ctx, st, fmt.Sprintf("checking out cart %s (%d %s seats)", cartID, p.Seats, p.Target.Name), err)
	}
	return e.ordered(ctx, m, st, orders, call)
}

// buyLegacy buys by a legacy order, for targets the catalog marks so.
func (e *Engine) buyLegacy(ctx context.Context, m *Migration, st *Step) error {
	p := m.Plan
	tag := purchaseTag(m.ID)
	// Once any attempt may have reached Partner Center, whatever it was told
	// afterwards (an answer cut, then a 400 to the client's retry), the
	// purchase may exist: look for it before anything is sent again.
	sent := st.Attempts > 0 || st.MSRequestID != ""
	if sent {
		if found, err := e.lookForPurchase(ctx, m, st, tag); err != nil || found {
			return err
		}
	}
	if err := e.checkWorld(ctx, m, !sent); err != nil {
		return err
	}
	if err := e.beginWrite(ctx, m, st, true); err != nil {
		return err
	}
	order, call, err := e.PC.BuyLegacy(ctx, m.CustomerID, p.Target, p.Seats, tag, st.MSRequestID)
	if err != nil {
		// A refusal may follow an attempt that was applied (inside the
		// client's retries), and "your order is in progress" may mean it is
		// there: look before calling it failed.
		if found, ferr := e.lookForPurchase(ctx, m, st, tag); ferr == nil && found {
			return nil
		}
		return e.failStep(ctx, st, fmt.Sprintf("buying %d %s seats", p.Seats, p.Target.Name), err)
	}
	return e.ordered(ctx, m, st, []Order{order}, call)
}

// ordered journals the orders a checkout (or legacy order) answered and
// waits for them.
func (e *Engine) ordered(ctx context.Context, m *Migration, st *Step, orders []Order, call CallRef) error {
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	st.Result[resultOrders] = strings.Join(ids, ",")
	st.Result[resultOrderedAt] = e.now().Format(time.RFC3339)
	detail := map[string]any{"orderIds": ids, "cartId": st.Result[resultCart], "status": orders[0].Status}
	if st.Attempts > 1 {
		detail["reconciled"] = "checked out again after a lost or refused answer: Partner Center answered with the first checkout's orders"
	}
	entry := e.audit(m, System, ActionOrdered, detail)
	entry.MSRequestID, entry.MSCorrelationID = cmp.Or(call.RequestID, st.MSRequestID), call.CorrelationID
	if err := e.Store.SaveStep(ctx, st, entry); err != nil {
		return err
	}
	if sub, ok := orders[0].Provisioned(); ok && len(orders) == 1 {
		return e.bought(ctx, m, st, Purchase{SubscriptionID: sub, OrderID: orders[0].ID, Quantity: m.Plan.Seats, Call: call}, false)
	}
	return e.awaitOrders(ctx, m, st, ids)
}

// awaitOrders polls the saved orders, with back-off, until Microsoft has
// provisioned their subscription, bounded by ProvisionTimeout. The money is
// spent by now: whatever happens, nothing is bought again.
func (e *Engine) awaitOrders(ctx context.Context, m *Migration, st *Step, ids []string) error {
	began, err := time.Parse(time.RFC3339, st.Result[resultOrderedAt])
	if err != nil {
		began = e.now()
		st.Result[resultOrderedAt] = began.Format(time.RFC3339)
		if err := e.Store.SaveStep(ctx, st); err != nil {
			return err
		}
	}
	timeout := cmp.Or(e.ProvisionTimeout, 30*time.Minute)
	wait := cmp.Or(e.ProvisionPoll, 2*time.Second)
	for {
		var pending []string
		var sub, orderID string
		for _, id := range ids {
			o, err := e.PC.GetOrder(ctx, m.CustomerID, id)
			if errors.Is(err, ErrGone) {
				// Partner Center may take a moment to show an order it just
				// answered (UNCONFIRMED): wait, bounded like a pending one.
				pending = append(pending, id)
				continue
			}
			if err != nil {
				return e.failStep(ctx, st, "reading order "+id, err)
			}
			if o.Abandoned() {
				return e.orderAbandoned(ctx, m, st, o)
			}
			s, ok := o.Provisioned()
			if !ok {
				pending = append(pending, id)
			} else if sub == "" {
				sub, orderID = s, o.ID
			}
		}
		if len(pending) == 0 && sub != "" {
			return e.bought(ctx, m, st, Purchase{SubscriptionID: sub, OrderID: orderID, Quantity: m.Plan.Seats}, false)
		}
		if st.Result[resultToldWaiting] == "" {
			st.Result[resultToldWaiting] = "1"
			if err := e.Store.SaveStep(ctx, st); err != nil {
				return err
			}
			e.publish(Event{Kind: EventProvisioning, Migration: *m, Message: strings.Join(pending, ", ")})
			// Journal the user moves while Microsoft provisions: step B
			// needs them, and a thousand saves are time the wait hides.
			if _, err := e.ensureMoves(ctx, m); err != nil {
				return err
			}
		}
		if !e.now().Before(began.Add(timeout)) {
			// Retry waits again from then.
			delete(st.Result, resultOrderedAt)
			return e.recordFailure(ctx, st, fmt.Errorf("order %s was placed on %s and Microsoft has not provisioned it within %s. It is bought: nothing will be bought again. Retry waits for it again; if it stays pending, ask Microsoft support about the order",
				strings.Join(pending, ", "), began.Format("2006-01-02 15:04 MST"), timeout), FailureKindTimeout)
		}
		sleep(ctx, wait)
		if err := ctx.Err(); err != nil {
			return err
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// cartRefused stops the step before any money is spent, with Microsoft's
// words; Retry makes a new cart (after the catalog is fixed, say).
func (e *Engine) cartRefused(ctx context.Context, m *Migration, st *Step, cart Cart) error {
	delete(st.Result, resultCart)
	delete(st.Result, resultCheckout)
	st.MSRequestID = ""
	return e.recordFailure(ctx, st, fmt.Errorf("Partner Center will not sell this cart (%s): %s. Nothing was bought",
		cart.ID, strings.Join(cart.LineErrors, "; ")), FailureKindPartnerCenter)
}

// cartGone handles a saved cart Partner Center no longer knows (carts
// expire 7 days after creation). Unchecked, it held no money: start again.
// After a checkout whose answer was lost nobody can tell from the cart
// whether it bought, so unless the purchase is found a person is asked.
func (e *Engine) cartGone(ctx context.Context, m *Migration, st *Step, cartID string) error {
	if st.Result[resultCheckout] == "" || st.Result[resultCartGone] != "" {
		// Never checked out, or a person who was asked retried: a new cart.
		for _, k := range []string{resultCart, resultCheckout, resultCartGone} {
			delete(st.Result, k)
		}
		st.MSRequestID = ""
		if err := e.Store.SaveStep(ctx, st); err != nil {
			return err
		}
		return &transientError{what: "cart " + cartID + " expired before checkout; making a new one", err: ErrGone}
	}
	if found, err := e.lookForPurchase(ctx, m, st, purchaseTag(m.ID)); err != nil || found {
		return err
	}
	st.Result[resultCartGone] = "1"
	return e.recordFailure(ctx, st, fmt.Errorf("cart %s is gone (carts expire 7 days after creation) and the answer to its checkout was lost, so kaizalabot cannot tell whether it bought. "+
		"Look in Partner Center for an order of %d %s seats for this customer: if there is none, Retry buys through a new cart; if there is one, do not retry — reject this migration and move the users by hand",
		cartID, m.Plan.Seats, m.Plan.Target.Name), FailureKindPartnerCenter)
}

// orderAbandoned stops the step when Microsoft gave up on an order.
func (e *Engine) orderAbandoned(ctx context.Context, m *Migration, st *Step, o Order) error {
	for _, k := range []string{resultCart, resultCheckout, resultOrders, resultOrderedAt, resultToldWaiting} {
		delete(st.Result, k)
	}
	st.MSRequestID = ""
	return e.recordFailure(ctx, st, fmt.Errorf("Partner Center says order %s is %s: no subscription was provisioned. Check the order in Partner Center; Retry buys again through a new cart",
		o.ID, o.Status), FailureKindPartnerCenter)
}

// lookForPurchase finds the purchase an earlier attempt made (by the tag in
// its friendly name) and finishes the step with it; false when there is none.
func (e *Engine) lookForPurchase(ctx context.Context, m *Migration, st *Step, tag string) (bool, error) {
	found, err := e.PC.FindPurchase(ctx, m.CustomerID, tag)
	if err != nil {
		return false, e.failStep(ctx, st, "looking for an earlier purchase", err)
	}
	if found == nil {
		return false, nil
	}
	return true, e.bought(ctx, m, st, Purchase{SubscriptionID: found.ID, Quantity: found.Quantity, Call: CallRef{RequestID: st.MSRequestID}}, true)
}

func (e *Engine) bought(ctx context.Context, m *Migration, st *Step, p Purchase, reconciled bool) error {
	// Until when undo can cancel it: Partner Center's own date. Unread, undo
	// asks Partner Center then (undo.go).
	var cancellable time.Time
	if m.Plan.Target.NewCommerce() {
		if sub, err := e.PC.GetSubscription(ctx, m.CustomerID, p.SubscriptionID); err == nil {
			cancellable = sub.CancellableUntil
		}
	}
	m2, err := e.update(ctx, m.ID, func(m *Migration) (bool, error) {
		m.NewSubscriptionID = p.SubscriptionID
		m.Outcome.NewCancellableUntil = cancellable
		return true, nil
	})
	if err != nil {
		return err
	}
	*m = *m2
	detail := map[string]any{"newSubscriptionId": p.SubscriptionID, "orderId": p.OrderID, "seats": m.Plan.Seats, "target": m.Plan.Target.SkuPartNumber}
	if c := st.Result[resultCart]; c != "" {
		detail["cartId"] = c
	}
	if reconciled {
		detail["reconciled"] = "found the earlier purchase after a restart, a lost answer or a conflict"
	}
	entry := e.audit(m, System, ActionBought, detail)
	entry.MSRequestID, entry.MSCorrelationID = cmp.Or(p.Call.RequestID, st.MSRequestID), p.Call.CorrelationID
	st.Result[resultSubID], st.Result[resultOrderID] = p.SubscriptionID, p.OrderID
	if err := e.finishStep(ctx, m, st, StepDone, nil, entry); err != nil {
		return err
	}
	e.publish(Event{Kind: EventBought, Migration: *m, Total: m.Plan.Seats})
	return nil
}
