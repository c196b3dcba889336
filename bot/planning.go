package bot

// Planning: working out what a migration will do, from a request or again
// after the world changed.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// PlanRequest asks for a plan: move SubscriptionID's users to Target
// (skuPartNumber or name), buying Seats (0: as many as the old subscription has).
type PlanRequest struct {
	SubscriptionID string
	Target         string
	Seats          int
	// OldFate is what to do with the old subscription; "" is the default
	// for its commerce type (see oldFate).
	OldFate OldFate
	// Strategy is the path asked for ("via transition"); "" lets the
	// planner choose the best one possible.
	Strategy  Strategy
	Requester Actor
	// inBatch: the plan is a member of a batch being made, whose events
	// announce it once the batch is stored (PlanBatch).
	inBatch bool
}

// CheckPlanRequest makes the quick checks of a plan request — the seats, the
// subscription, the target, a migration already open — from the database
// alone, so a mistake is answered at once, before anything slow starts.
// Plan makes them again.
func (e *Engine) CheckPlanRequest(ctx context.Context, req PlanRequest) (refusal string, err error) {
	_, _, _, refusal, err = e.checkPlanRequest(ctx, req)
	return refusal, err
}

func (e *Engine) checkPlanRequest(ctx context.Context, req PlanRequest) (*TrackedSubscription, RetiredSKU, Target, string, error) {
	fail := func(refusal string, err error) (*TrackedSubscription, RetiredSKU, Target, string, error) {
		return nil, RetiredSKU{}, Target{}, refusal, err
	}
	if req.Seats < 0 || req.Seats > 1_000_000 {
		return fail(fmt.Sprintf("%d is not a number of seats; give a whole number from 1 to 1000000, or leave it out.", req.Seats), nil)
	}
	tracked, err := e.Store.FindSubscription(ctx, req.SubscriptionID)
	if errors.Is(err, ErrNotFound) {
		return fail(fmt.Sprintf("I don't know subscription %q. Check the id in the alert or with /kaizala list; a new subscription appears after the next scan (/kaizala scan).", req.SubscriptionID), nil)
	}
	if err != nil {
		return fail("", err)
	}
	retired, ok := e.Catalog.RetiredFor(tracked.Subscription)
	if !ok {
		return fail(fmt.Sprintf("Subscription %s (%s) is not a retired SKU this bot migrates.", tracked.Subscription.ID, tracked.Subscription.OfferName), nil)
	}
	target, refusal := e.Catalog.FindTarget(retired, req.Target)
	if refusal != "" {
		return fail(refusal+" See /kaizala targets.", nil)
	}
	if refusal, err := e.alreadyMigrating(ctx, tracked.Subscription.ID); refusal != "" || err != nil {
		return fail(refusal, err)
	}
	return tracked, retired, target, "", nil
}

// RecordScan keeps a scan's findings so migrations can be planned for them.
func (e *Engine) RecordScan(ctx context.Context, r *ScanReport) error {
	if err := e.Store.SaveScan(ctx, r); err != nil {
		return err
	}
	// A scan may be the first to see a scheduled change deleted: the
	// migrations waiting for their renewal look now.
	return e.WakeParked(ctx)
}

// Plan works out a migration and records it for approval. A refusal is a
// mistake to show the requester (unknown subscription, unknown target, …).
func (e *Engine) Plan(ctx context.Context, req PlanRequest) (*Migration, string, error) {
	tracked, retired, target, refusal, err := e.checkPlanRequest(ctx, req)
	if refusal != "" || err != nil {
		return nil, refusal, err
	}
	// Working out a plan reads every user's licences: the same plan is not
	// worked out twice at once, and nobody keeps more than a few in the
	// works, so nobody can spend the Partner Center budget of running
	// migrations by asking again and again.
	release, refusal, err := e.claimPlanning(ctx, tracked.Subscription.ID, req.Requester)
	if refusal != "" || err != nil {
		return nil, refusal, err
	}
	defer release()
	plan, refusal, err := e.buildPlan(ctx, tracked, retired, target, req.Seats, req.OldFate, req.Strategy)
	if words, ok := e.accessRefusal(ctx, tracked.Customer, err); err != nil && ok {
		// Refused access to this customer: a person must fix it, and the
		// refusal says how.
		return nil, words, nil
	}
	if err != nil || refusal != "" {
		return nil, refusal, err
	}
	id, err := e.newID(ctx)
	if err != nil {
		return nil, "", err
	}
	now := e.now()
	m := &Migration{
		ID: id, CustomerID: plan.CustomerID, CustomerDomain: plan.CustomerDomain, CustomerName: plan.CustomerName,
		SubscriptionID: plan.Subscription.ID, Plan: plan, PlanHash: plan.Hash(), Requester: req.Requester,
		State: StatePendingApproval, CreatedAt: now, UpdatedAt: now,
	}
	err = e.Store.CreateMigration(ctx, m, e.audit(m, req.Requester, ActionPlanned, map[string]any{
		"target": target.SkuPartNumber, "seats": plan.Seats, "usersToMove": len(plan.Move),
		"cannotMove": len(plan.CannotMove), "freeTargetSeats": plan.FreeTargetSeats, "planHash": m.PlanHash,
		"customerDomain": plan.CustomerDomain, "strategy": string(plan.Path()),
	}))
	if errors.Is(err, ErrConflict) {
		// Someone else's plan for this subscription was stored while this
		// one was being worked out: the store allows one at a time.
		if refusal, lerr := e.alreadyMigrating(ctx, tracked.Subscription.ID); refusal != "" || lerr != nil {
			return nil, refusal, lerr
		}
	}
	if err != nil {
		return nil, "", err
	}
	if !req.inBatch {
		e.publish(Event{Kind: EventPlanned, Migration: *m, Actor: req.Requester})
	}
	return m, "", nil
}

// planningTime bounds a claim on a subscription's planning: a process that
// died while planning frees the subscription after it.
const planningTime = 10 * time.Minute

// claimPlanning claims the planning of a subscription for requester; the
// returned func releases it.
func (e *Engine) claimPlanning(ctx context.Context, subscriptionID string, requester Actor) (func(), string, error) {
	perPerson := cmp.Or(e.PlansPerPerson, 2)
	claim, err := e.Store.ClaimPlanning(ctx, subscriptionID, requester.ID, perPerson, e.now().Add(planningTime))
	switch {
	case err != nil:
		return nil, "", err
	case claim.Busy:
		return nil, fmt.Sprintf("A plan for subscription %s is already being worked out; it will appear in the alert channel in a moment.", subscriptionID), nil
	case !claim.Claimed:
		return nil, fmt.Sprintf("You have %d plans being worked out already; ask again when they are posted (each one reads every user's licences from Partner Center).", claim.TooMany), nil
	}
	return func() {
		// Released even when the request's context has ended, else the
		// subscription stays claimed until the claim times out.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := e.Store.ReleasePlanning(ctx, subscriptionID); err != nil {
			e.log().WithError(err).WithField("subscription", subscriptionID).Warn("could not release the planning claim; it lapses in 10 minutes")
		}
	}, "", nil
}

// alreadyMigrating refuses a new plan for a subscription that has a
// migration other than a rejected one.
func (e *Engine) alreadyMigrating(ctx context.Context, subscriptionID string) (string, error) {
	ms, err := e.Store.ListMigrations(ctx, MigrationFilter{SubscriptionID: subscriptionID})
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		switch {
		case m.State == StateDone:
			return fmt.Sprintf("Subscription %s was already migrated by %s.", subscriptionID, m.ID), nil
		case m.State != StateRejected && m.State != StateUndone:
			return fmt.Sprintf("Migration %s for this subscription is already %s; see /kaizala status %s.", m.ID, m.State.Words(), m.ID), nil
		}
	}
	return "", nil
}

func (e *Engine) replan(ctx context.Context, m *Migration, actor Actor) (*Migration, string, error) {
	tracked, err := e.Store.FindSubscription(ctx, m.SubscriptionID)
	if err != nil {
		return nil, "", err
	}
	retired, ok := e.Catalog.RetiredFor(tracked.Subscription)
	if !ok {
		return m, "The subscription no longer matches a retired SKU in the catalog.", nil
	}
	target, refusal := e.Catalog.FindTarget(retired, m.Plan.Target.SkuPartNumber)
	if refusal != "" {
		return m, refusal, nil
	}
	// The strategy stays: the journal so far is that strategy's.
	plan, refusal, err := e.buildPlan(ctx, tracked, retired, target, m.Plan.SeatsRequested, m.Plan.OldFate, m.Plan.Path())
	if words, ok := e.accessRefusal(ctx, tracked.Customer, err); err != nil && ok {
		return m, words, nil
	}
	if err != nil || refusal != "" {
		return m, refusal, err
	}
	if refusal, err := e.reopenForNewPlan(ctx, m, &plan); err != nil || refusal != "" {
		return m, refusal, err
	}
	changes := m.Plan.Changes(plan)
	m, err = e.update(ctx, m.ID, func(m *Migration) (bool, error) {
		if m.State != StateNeedsApproval {
			return false, nil
		}
		m.Plan, m.PlanHash, m.State, m.FailedStep, m.Error, m.FailureKind = plan, plan.Hash(), StatePendingApproval, "", "", FailureKindNone
		return true, nil
	}, e.audit(m, actor, ActionReplanned, map[string]any{"planHash": plan.Hash(), "changes": changes}))
	if err != nil {
		return nil, "", err
	}
	e.publish(Event{Kind: EventReplanned, Migration: *m, Actor: actor, Message: strings.Join(changes, "; ")})
	return m, "", nil
}

// reopenForNewPlan prepares the journal of a migration that stopped midway
// for a new plan: the steps after the purchase run again, so users the new
// plan adds are moved too, and failed moves get another go. A migration buys
// at most once: when its purchase is made, the new plan must make do with
// the free seats (which include the ones bought), or the migration must be
// rejected and planned afresh.
func (e *Engine) reopenForNewPlan(ctx context.Context, m *Migration, plan *Plan) (string, error) {
	steps, err := e.Store.Steps(ctx, m.ID)
	if err != nil {
		return "", err
	}
	var reopen []Step
	for _, st := range steps {
		switch {
		case st.Name == StepBuy && st.State == StepDone:
			if need := plan.SeatsNeeded(); need > plan.FreeTargetSeats {
				// Sized by hand: a fresh plan would buy as many seats as the
				// old subscription has, which were bought once already.
				return fmt.Sprintf("Migration %s already bought its seats, and the %d users the new plan moves need %d %s seats where %d are free. "+
					"kaizalabot buys once per migration: reject %s (/kaizala reject %s) and ask for the missing seats only with /kaizala plan %s %s %d",
					m.ID, len(plan.Move), need, plan.Target.Name, plan.FreeTargetSeats, m.ID, m.ID, m.SubscriptionID, plan.Target.SkuPartNumber, need), nil
			}
			plan.Seats = 0
		case st.Name == StepBuy && st.State == StepSkipped && plan.Seats > 0:
			reopen = append(reopen, st) // nothing was bought, so buying now is the first purchase
		case st.Name == StepWaitSeats || st.Name == StepMoveUsers || st.Name == StepVerify:
			if st.State == StepDone || st.State == StepSkipped {
				reopen = append(reopen, st)
			}
		}
	}
	for _, st := range reopen {
		st.State, st.FinishedAt = StepPending, time.Time{}
		if err := e.Store.SaveStep(ctx, &st); err != nil {
			return "", err
		}
	}
	moves, err := e.Store.UserMoves(ctx, m.ID)
	if err != nil {
		return "", err
	}
	return "", e.resetFailedMoves(ctx, moves)
}
