package bot

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"
)

// The transition strategy's steps: one Partner Center call converts the
// subscription and moves its licences; the bot follows it to the end and
// checks every user (transition-a-new-commerce-subscription.md).

// Step results of the transition.
const (
	resultTransitionStarted = "started" // when the POST was answered (RFC 3339), or "found"
	resultTransitionTo      = "to"
)

// transition runs the transition exactly once: its MS-RequestId is saved
// before the POST, and a step resumed without the POST's answer looks for
// the transition in Partner Center before it sends it again.
func (e *Engine) transition(ctx context.Context, m *Migration) error {
	st, err := e.loadStep(ctx, m.ID, StepTransition)
	if err != nil || st.State == StepDone {
		return err
	}
	if st.Result == nil {
		st.Result = map[string]string{}
	}
	cid, sid := m.CustomerID, m.SubscriptionID
	sent := st.Attempts > 0 || st.MSRequestID != ""
	if sent && st.Result[resultTransitionStarted] == "" {
		// Sent before without a known outcome: look before sending again.
		// A failed one converted nothing: Retry starts a new one.
		if t, found, err := e.findTransition(ctx, m); err != nil {
			return e.failStep(ctx, &st, "reading the transitions of subscription "+sid, err)
		} else if found && t.State != TransitionFailed {
			st.Result[resultTransitionStarted], st.Result[resultTransitionTo] = e.now().Format(time.RFC3339), m.Plan.TransitionTo
			if err := e.Store.SaveStep(ctx, &st); err != nil {
				return err
			}
		}
	}
	if st.Result[resultTransitionStarted] == "" {
		if !sent {
			if err := e.checkWorld(ctx, m, false); err != nil {
				return err
			}
			opts, err := e.PC.TransitionOptions(ctx, cid, sid, false)
			if err != nil {
				return e.failStep(ctx, &st, "reading the transition eligibilities of subscription "+sid, err)
			}
			if o, ok := findOption(opts, m.Plan.Target); !ok || !o.WithLicences {
				return &staleError{[]string{"Partner Center no longer offers a transition to " + m.Plan.Target.Name + ": " + optionWhyNot(o, ok)}}
			}
		}
		if err := e.beginWrite(ctx, m, &st, true); err != nil {
			return err
		}
		_, call, err := e.PC.StartTransition(ctx, cid, sid, m.Plan.TransitionTo, m.Plan.Subscription.Quantity, st.MSRequestID)
		if err != nil {
			return e.failStep(ctx, &st, "starting the transition of subscription "+sid, err)
		}
		st.Result[resultTransitionStarted], st.Result[resultTransitionTo] = e.now().Format(time.RFC3339), m.Plan.TransitionTo
		entry := e.audit(m, System, ActionTransitionStarted, map[string]any{"to": m.Plan.TransitionTo, "quantity": m.Plan.Subscription.Quantity, "target": m.Plan.Target.SkuPartNumber})
		entry.MSRequestID, entry.MSCorrelationID = cmp.Or(call.RequestID, st.MSRequestID), call.CorrelationID
		if err := e.Store.SaveStep(ctx, &st, entry); err != nil {
			return err
		}
		e.publish(Event{Kind: EventTransitioning, Migration: *m})
	}
	return e.followTransition(ctx, m, &st)
}

// findTransition finds the subscription's latest transition to the plan's
// catalog item.
func (e *Engine) findTransition(ctx context.Context, m *Migration) (TransitionProgress, bool, error) {
	ts, err := e.PC.TransitionsOf(ctx, m.CustomerID, m.SubscriptionID)
	if err != nil {
		return TransitionProgress{}, false, err
	}
	for i := len(ts) - 1; i >= 0; i-- {
		if SameID(ts[i].ToCatalogItemID, m.Plan.TransitionTo) {
			return ts[i], true, nil
		}
	}
	return TransitionProgress{}, false, nil
}

// followTransition polls the transition, with back-off, until it completes
// or fails, bounded by ProvisionTimeout.
func (e *Engine) followTransition(ctx context.Context, m *Migration, st *Step) error {
	began, err := time.Parse(time.RFC3339, st.Result[resultTransitionStarted])
	if err != nil {
		began = e.now()
	}
	timeout := cmp.Or(e.ProvisionTimeout, 30*time.Minute)
	wait := cmp.Or(e.ProvisionPoll, 2*time.Second)
	for {
		t, found, err := e.findTransition(ctx, m)
		if err != nil {
			return e.failStep(ctx, st, "reading the transitions of subscription "+m.SubscriptionID, err)
		}
		switch {
		case found && t.State == TransitionCompleted:
			return e.transitioned(ctx, m, st, t)
		case found && t.State == TransitionFailed:
			// Nothing was converted: Retry may start a new one.
			delete(st.Result, resultTransitionStarted)
			st.MSRequestID = ""
			return e.recordFailure(ctx, st, fmt.Errorf("Partner Center says the transition of subscription %s to %s failed: %s. Retry starts it again, or make a new plan via replace",
				m.SubscriptionID, m.Plan.Target.Name, cmp.Or(strings.Join(t.Errors, "; "), "no reason given")), FailureKindPartnerCenter)
		}
		// Not listed yet (Partner Center may take a moment to show a
		// transition it just answered, UNCONFIRMED) or in progress.
		if !e.now().Before(began.Add(timeout)) {
			st.Result[resultTransitionStarted] = "found" // Retry waits for it again
			return e.recordFailure(ctx, st, fmt.Errorf("the transition of subscription %s to %s started on %s has not completed within %s. Nothing more is sent: Retry waits for it again; if it stays in progress, ask Microsoft support",
				m.SubscriptionID, m.Plan.Target.Name, began.Format("2006-01-02 15:04 MST"), timeout), FailureKindTimeout)
		}
		sleep(ctx, wait)
		if err := ctx.Err(); err != nil {
			return err
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// transitioned records the subscription the transition resulted in.
func (e *Engine) transitioned(ctx context.Context, m *Migration, st *Step, t TransitionProgress) error {
	newSub := cmp.Or(t.ToSubscriptionID, m.SubscriptionID) // "only populated if the subscription changes"
	m2, err := e.update(ctx, m.ID, func(m *Migration) (bool, error) { m.NewSubscriptionID = newSub; return true, nil })
	if err != nil {
		return err
	}
	*m = *m2
	entry := e.audit(m, System, ActionTransitioned, map[string]any{"newSubscriptionId": newSub, "fromSubscriptionId": m.SubscriptionID, "target": m.Plan.Target.SkuPartNumber})
	entry.MSRequestID = st.MSRequestID
	if err := e.finishStep(ctx, m, st, StepDone, map[string]string{"subscriptionId": newSub, resultTransitionTo: m.Plan.TransitionTo}, entry); err != nil {
		return err
	}
	e.publish(Event{Kind: EventTransitioned, Migration: *m})
	return nil
}

// findOption finds the option for target.
func findOption(opts []TransitionOption, t Target) (TransitionOption, bool) {
	for _, o := range opts {
		if o.Offers(t) {
			return o, true
		}
	}
	return TransitionOption{}, false
}

// optionWhyNot says why an option (found or not) cannot be taken.
func optionWhyNot(o TransitionOption, found bool) string {
	if !found {
		return "it is not among the subscription's transition eligibilities"
	}
	return cmp.Or(strings.Join(o.Reasons, "; "), "not eligible with licence transfer")
}

// verifyHolders checks, after a transition or a renewal that moved the
// licences on Partner Center's side, that every user of the plan holds the
// target and not the retired licence, naming any who do not.
func (e *Engine) verifyHolders(ctx context.Context, m *Migration) error {
	st, err := e.loadStep(ctx, m.ID, StepVerify)
	if err != nil || st.State == StepDone {
		return err
	}
	users := append(append([]PlanUser{}, m.Plan.Move...), m.Plan.CannotMove...)
	var wrong []string
	var firstErr error
	err = readLicences(ctx, e, m.CustomerID, users, func(u PlanUser) string { return u.ID }, func(u PlanUser, skus []string, err error) {
		switch {
		case err != nil:
			firstErr = cmp.Or(firstErr, fmt.Errorf("reading the licences of %s: %w", u.UPN, err))
		case containsID(skus, m.Plan.RetiredSkuID):
			wrong = append(wrong, u.UPN+" (still holds "+m.Plan.Retired+")")
		case !containsID(skus, m.Plan.Target.SkuID):
			wrong = append(wrong, u.UPN+" (holds no "+m.Plan.Target.Name+")")
		}
	})
	if err != nil {
		return err // ctx ended: the step runs again at the next start
	}
	if firstErr != nil {
		return e.failStep(ctx, &st, "checking the users", firstErr)
	}
	if len(wrong) == 0 {
		return e.finishStep(ctx, m, &st, StepDone, map[string]string{"checked": fmt.Sprint(len(users))})
	}
	if m.Override {
		return e.finishStep(ctx, m, &st, StepDone, map[string]string{"checked": fmt.Sprint(len(users)), "notMoved": fmt.Sprint(len(wrong)), "override": "an approver accepted it"})
	}
	return e.recordFailure(ctx, &st, fmt.Errorf("%d of %d users do not hold %s as they should: %s. Microsoft may still be reassigning licences: Retry checks again; or assign them in the Microsoft 365 admin center",
		len(wrong), len(users), m.Plan.Target.Name, strings.Join(firstN(wrong, 10), "; ")), FailureKindUsers)
}
