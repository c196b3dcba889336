package bot

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

// The change-at-renewal strategy's steps: auto-renew on with
// scheduledNextTermInstructions naming the target, verified by reading it
// back; then the migration waits, parked, for the renewal, when Microsoft
// renews the subscription into the target and (the quantity unchanged)
// reassigns the licences itself (create-scheduled-changes.md).

// parked says a step has nothing to do until a later time: the runner lets
// the migration go and looks again then (or after RenewalPoll, whichever is
// sooner), and at every start.
type parked struct {
	until time.Time // Partner Center's time
}

func (p *parked) Error() string { return "waiting until " + p.until.Format(time.RFC3339) }

// scheduledAsPlanned reports whether sub renews into the plan's target.
func scheduledAsPlanned(sub Subscription, m *Migration) bool {
	return sub.AutoRenew && sub.Scheduled.Names(m.Plan.Target) && sub.Scheduled.Quantity == m.Plan.Subscription.Quantity
}

// schedule sets the change at renewal, exactly once, and checks that
// Partner Center shows it.
func (e *Engine) schedule(ctx context.Context, m *Migration) error {
	st, err := e.loadStep(ctx, m.ID, StepSchedule)
	if err != nil || st.State == StepDone {
		return err
	}
	w := subscriptionWrite{"scheduling the change at renewal of",
		func(sub Subscription) bool { return scheduledAsPlanned(sub, m) },
		func(pc PartnerCenter, ctx context.Context, customerID, subscriptionID, requestID string) (Subscription, CallRef, error) {
			return pc.ScheduleRenewal(ctx, customerID, subscriptionID, m.Plan.Target, m.Plan.Subscription.Quantity, requestID)
		}}
	sub, call, reconciled, err := e.writeOnce(ctx, m, &st, m.SubscriptionID, w, false, func() error { return e.checkWorld(ctx, m, false) })
	if err != nil {
		return err
	}
	if !scheduledAsPlanned(sub, m) { // a reconciled write shows it already
		// The answer may be the resource before the change applied: the
		// issue asks for the GET to show it.
		if sub, err = e.PC.GetSubscription(ctx, m.CustomerID, m.SubscriptionID); err != nil {
			return e.failStep(ctx, &st, "re-reading subscription "+m.SubscriptionID, err)
		}
		if !scheduledAsPlanned(sub, m) {
			st.MSRequestID = ""
			return e.recordFailure(ctx, &st, fmt.Errorf("Partner Center accepted the change at renewal of subscription %s but does not show it (auto-renew %v, scheduled change %s). Retry sets it again; or make a new plan via replace",
				m.SubscriptionID, sub.AutoRenew, scheduledWords(sub.Scheduled)), FailureKindPartnerCenter)
		}
	}
	return e.scheduled(ctx, m, &st, sub, call, reconciled)
}

func scheduledWords(c *ScheduledChange) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%d seats of %s:%s", c.Quantity, c.ProductID, c.SkuID)
}

func (e *Engine) scheduled(ctx context.Context, m *Migration, st *Step, sub Subscription, call CallRef, reconciled string) error {
	detail := map[string]any{"target": m.Plan.Target.SkuPartNumber, "quantity": m.Plan.Subscription.Quantity, "renewsOn": dateOrEmpty(m.Plan.RenewsOn), "autoRenew": sub.AutoRenew}
	if reconciled != "" {
		detail["reconciled"] = reconciled
	}
	entry := e.audit(m, System, ActionScheduled, detail)
	entry.MSRequestID, entry.MSCorrelationID = cmp.Or(call.RequestID, st.MSRequestID), call.CorrelationID
	if err := e.finishStep(ctx, m, st, StepDone, map[string]string{"renewsOn": dateOrEmpty(m.Plan.RenewsOn)}, entry); err != nil {
		return err
	}
	e.publish(Event{Kind: EventScheduled, Migration: *m, Message: RenewalWords(m.Plan)})
	return nil
}

// RenewalWords says when and into what the subscription renews ("renews
// into Office 365 E1 on 3 Jan 2027").
func RenewalWords(p Plan) string {
	return fmt.Sprintf("renews into %s on %s", p.Target.Name, dayWords(p.RenewsOn))
}

// renewalGrace is how long after the renewal date the bot waits for
// Partner Center to show the renewal before it asks a person.
const renewalGrace = 3 * 24 * time.Hour

// awaitRenewal looks at the subscription: renewed into the target, it goes
// on to verify the users; still scheduled, it parks until the renewal date;
// the scheduled change gone (auto-renew turned off, the quantity changed, the
// subscription suspended: each deletes it), it fails for a person, saying
// what happened and what the subscription will do now.
func (e *Engine) awaitRenewal(ctx context.Context, m *Migration) error {
	st, err := e.loadStep(ctx, m.ID, StepAwaitRenewal)
	if err != nil || st.State == StepDone {
		return err
	}
	sub, err := e.PC.GetSubscription(ctx, m.CustomerID, m.SubscriptionID)
	if err != nil {
		return e.failStep(ctx, &st, "re-reading subscription "+m.SubscriptionID, err)
	}
	now := e.PC.Clock()
	if catalogItemIs(sub.OfferID, m.Plan.Target) {
		entry := e.audit(m, System, ActionRenewed, map[string]any{"target": m.Plan.Target.SkuPartNumber, "quantity": sub.Quantity, "endsOn": dateOrEmpty(sub.EndDate)})
		if err := e.finishStep(ctx, m, &st, StepDone, map[string]string{"renewedOn": dateOrEmpty(now), "quantity": fmt.Sprint(sub.Quantity)}, entry); err != nil {
			return err
		}
		m2, err := e.update(ctx, m.ID, func(m *Migration) (bool, error) { m.NewSubscriptionID = sub.ID; return true, nil })
		if err != nil {
			return err
		}
		e.publish(Event{Kind: EventRenewed, Migration: *m2})
		return nil
	}
	if scheduledAsPlanned(sub, m) && sub.Active() {
		if now.After(m.Plan.RenewsOn.Add(renewalGrace)) {
			return e.recordFailure(ctx, &st, fmt.Errorf("subscription %s was due to renew into %s on %s and Partner Center still shows it as it was. Nothing was changed: Retry looks again; ask Microsoft support if it stays so",
				m.SubscriptionID, m.Plan.Target.Name, dayWords(m.Plan.RenewsOn)), FailureKindTimeout)
		}
		return &parked{until: m.Plan.RenewsOn}
	}
	var why string
	switch {
	case !sub.Active():
		why = "the subscription is now " + sub.Status
	case !sub.AutoRenew:
		why = "someone turned auto-renew off"
	case sub.Quantity != m.Plan.Subscription.Quantity:
		why = fmt.Sprintf("its quantity changed from %d to %d", m.Plan.Subscription.Quantity, sub.Quantity)
	default:
		why = "the scheduled change now says " + scheduledWords(sub.Scheduled)
	}
	then := "renews as it is"
	if !sub.AutoRenew || !sub.Active() {
		then = "ends on " + dayWords(sub.EndDate)
	}
	return e.recordFailure(ctx, &st, fmt.Errorf("the change at renewal into %s is gone: %s (which deletes it). Subscription %s now %s. Retry schedules the change again; or make a new plan",
		m.Plan.Target.Name, why, m.SubscriptionID, then), FailureKindPartnerCenter)
}

// catalogItemIs reports whether a new-commerce offer id
// (productId:skuId:availabilityId) is target's.
func catalogItemIs(offerID string, t Target) bool {
	return TransitionOption{CatalogItemID: offerID}.Offers(t)
}
