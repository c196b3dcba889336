package pcclient

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// The adapter's part for transitions, changes at renewal and undo.

// TransitionOptions lists the catalog items the subscription can be
// converted to, now or at its renewal.
func (a Adapter) TransitionOptions(ctx context.Context, customerID, subscriptionID string, scheduled bool) ([]bot.TransitionOption, error) {
	kind := EligibilityImmediate
	if scheduled {
		kind = EligibilityScheduled
	}
	items, err := a.Client.GetTransitionEligibilities(ctx, customerID, subscriptionID, kind)
	if err != nil {
		return nil, err
	}
	out := make([]bot.TransitionOption, 0, len(items))
	for _, it := range items {
		ok, reasons := it.Eligible(TransitionWithLicenseTransfer)
		o := bot.TransitionOption{CatalogItemID: it.CatalogItemID, Title: it.Title, WithLicences: ok}
		for _, r := range reasons {
			o.Reasons = append(o.Reasons, fmt.Sprintf("%s (code %s)", strings.TrimSpace(r.Description), r.Code))
		}
		if !ok && len(o.Reasons) == 0 {
			o.Reasons = []string{"Partner Center does not offer a transition with licence transfer to it"}
		}
		out = append(out, o)
	}
	return out, nil
}

// StartTransition converts the whole subscription into catalog item to,
// with licence transfer.
func (a Adapter) StartTransition(ctx context.Context, customerID, subscriptionID, to string, quantity int, requestID string) (bot.TransitionProgress, bot.CallRef, error) {
	rec := &writeRecorder{}
	t, err := a.Client.CreateTransition(WithCallObserver(WithRequestID(ctx, requestID), rec.observe), customerID, subscriptionID, Transition{
		FromSubscriptionID: subscriptionID, ToCatalogItemID: to, Quantity: quantity, TransitionType: TransitionWithLicenseTransfer,
	})
	if err != nil {
		return bot.TransitionProgress{}, rec.last(), err
	}
	return toBotTransition(*t), rec.last(), nil
}

// TransitionsOf lists the subscription's transitions.
func (a Adapter) TransitionsOf(ctx context.Context, customerID, subscriptionID string) ([]bot.TransitionProgress, error) {
	ts, err := a.Client.ListTransitions(ctx, customerID, subscriptionID)
	if err != nil {
		return nil, err
	}
	out := make([]bot.TransitionProgress, 0, len(ts))
	for _, t := range ts {
		out = append(out, toBotTransition(t))
	}
	return out, nil
}

func toBotTransition(t Transition) bot.TransitionProgress {
	p := bot.TransitionProgress{ToCatalogItemID: t.ToCatalogItemID, ToSubscriptionID: t.ToSubscriptionID}
	switch t.State() {
	case TransitionCompleted:
		p.State = bot.TransitionCompleted
	case TransitionFailed:
		p.State = bot.TransitionFailed
	default:
		p.State = bot.TransitionInProgress
	}
	for _, e := range t.Events {
		for _, er := range e.Errors {
			p.Errors = append(p.Errors, fmt.Sprintf("%s: %s (code %s)", e.Name, strings.TrimSpace(er.Description), er.Code))
		}
	}
	return p
}

// ScheduleRenewal turns auto-renew on with scheduledNextTermInstructions
// for quantity seats of target, in one PATCH (the instructions need
// auto-renew on), resolving the availability just before as carts do.
func (a Adapter) ScheduleRenewal(ctx context.Context, customerID, subscriptionID string, target bot.Target, quantity int, requestID string) (bot.Subscription, bot.CallRef, error) {
	if !target.NewCommerce() {
		return bot.Subscription{}, bot.CallRef{}, fmt.Errorf("target %s has no new-commerce productId/productSkuId: add them in KAIZALA_CATALOG", target.SkuPartNumber)
	}
	av, err := a.availability(ctx, customerID, target)
	if err != nil {
		return bot.Subscription{}, bot.CallRef{}, err
	}
	term, availability := target.Term(), av.ID
	want := map[string]any{
		"product": map[string]any{
			"productId": target.ProductID, "skuId": target.ProductSkuID, "availabilityId": availability,
			"billingCycle": target.Cycle(), "termDuration": term,
		},
		"quantity": quantity,
	}
	rec := &writeRecorder{}
	s, err := a.Client.UpdateSubscription(WithCallObserver(WithRequestID(ctx, requestID), rec.observe), customerID, subscriptionID, func(fields map[string]any) (bool, error) {
		if on, _ := Field(fields, "autoRenewEnabled").(bool); on && scheduledIs(Field(fields, "scheduledNextTermInstructions"), want) {
			return false, nil
		}
		SetField(fields, "autoRenewEnabled", true)
		SetField(fields, "scheduledNextTermInstructions", want)
		return true, nil
	})
	if err != nil {
		return bot.Subscription{}, rec.last(), err
	}
	return toBotSubscription(customerID, *s), rec.last(), nil
}

// scheduledIs reports whether the instructions a GET shows are want.
func scheduledIs(got any, want map[string]any) bool {
	g, ok := got.(map[string]any)
	if !ok {
		return false
	}
	gp, _ := g["product"].(map[string]any)
	wp := want["product"].(map[string]any)
	for _, k := range []string{"productId", "skuId", "availabilityId"} {
		if gs, _ := gp[k].(string); !strings.EqualFold(gs, wp[k].(string)) {
			return false
		}
	}
	q, _ := g["quantity"].(float64)
	return int(q) == want["quantity"].(int)
}

// Unschedule removes the scheduled change and turns auto-renew off.
func (a Adapter) Unschedule(ctx context.Context, customerID, subscriptionID, requestID string) (bot.Subscription, bot.CallRef, error) {
	rec := &writeRecorder{}
	s, err := a.Client.UpdateSubscription(WithCallObserver(WithRequestID(ctx, requestID), rec.observe), customerID, subscriptionID, func(fields map[string]any) (bool, error) {
		on, _ := Field(fields, "autoRenewEnabled").(bool)
		if !on && Field(fields, "scheduledNextTermInstructions") == nil {
			return false, nil
		}
		// Turning auto-renew off deletes the instructions too
		// (create-scheduled-changes.md); both are sent so the answer is
		// the same either way.
		SetField(fields, "autoRenewEnabled", false)
		SetField(fields, "scheduledNextTermInstructions", nil)
		return true, nil
	})
	if err != nil {
		return bot.Subscription{}, rec.last(), err
	}
	return toBotSubscription(customerID, *s), rec.last(), nil
}

// Reactivate makes a suspended subscription active again
// (reactivate-a-suspended-a-subscription.md).
func (a Adapter) Reactivate(ctx context.Context, customerID, subscriptionID, requestID string) (bot.Subscription, bot.CallRef, error) {
	return a.setStatus(ctx, customerID, subscriptionID, requestID, StatusActive)
}

// Clock is Partner Center's now (serverClock).
func (a Adapter) Clock() time.Time { return a.Client.ServerNow() }

// serverClock follows the Date header of Partner Center's answers: dates in
// its resources (term ends, cancellation windows, renewals) are its own, and
// a sandbox may run its clock ahead. The offset is kept to the second, as
// the header gives it.
type serverClock struct {
	offset atomic.Int64 // server minus local, in nanoseconds
	seen   atomic.Bool
}

func (c *serverClock) observe(date string, local time.Time) {
	if date == "" {
		return
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return
	}
	c.offset.Store(int64(t.Sub(local.Truncate(time.Second))))
	c.seen.Store(true)
}

// ServerNow is Partner Center's now: the local clock plus the offset of its
// last answer's Date header (the local clock until one arrived).
func (c *Client) ServerNow() time.Time {
	now := c.now()
	if !c.clock.seen.Load() {
		return now.UTC()
	}
	return now.Add(time.Duration(c.clock.offset.Load())).UTC()
}

// scheduledOf reads the scheduled change a subscription carries.
func scheduledOf(s Subscription) *bot.ScheduledChange {
	in := s.ScheduledNextTermInstructions
	if in == nil || in.Product.ProductID == "" {
		return nil
	}
	return &bot.ScheduledChange{
		ProductID: in.Product.ProductID, SkuID: in.Product.SkuID, Quantity: in.Quantity,
		TermDuration: in.Product.TermDuration, BillingCycle: cmp.Or(in.Product.BillingCycle, ""),
	}
}

// refundableOf reads refundableQuantity.totalQuantity.
func refundableOf(s Subscription) int {
	m, ok := s.RefundableQuantity.(map[string]any)
	if !ok {
		return 0
	}
	n, _ := m["totalQuantity"].(float64)
	return int(n)
}
