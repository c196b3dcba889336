package bot

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"
)

// Engine plans, approves and runs migrations. Each migration is a persisted
// state machine: approved → buying → waiting for seats → moving users →
// verifying → suspending → done, or failed at a named step, or waiting for a
// new approval because the world changed. Every Partner Center write gets
// its MS-RequestId saved before it is sent, so after a crash the engine
// resumes, reconciles, and never buys or suspends twice.
type Engine struct {
	PC      PartnerCenter
	Store   Store
	Catalog *Catalog
	Policy  Policy
	Events  EventSink          // optional
	Log     logrus.FieldLogger // optional
	Now     func() time.Time   // optional
	// Concurrency is how many Partner Center calls one migration keeps in
	// flight (reading licences, moving users); the client's rate limiter
	// sets the pace. Default 8.
	Concurrency int
	// SeatTimeout bounds the wait for bought seats to become usable
	// (Partner Center updates provisioning "every 15 minutes"). Default 45m.
	SeatTimeout time.Duration
	// SeatPoll is the first wait between looks at the seats; it doubles up
	// to 30s. Default 2s.
	SeatPoll time.Duration
	// ProvisionTimeout bounds the wait for Microsoft to provision a
	// checked-out order (its subscription named); then the step fails for a
	// person, nothing bought again. Default 30m.
	ProvisionTimeout time.Duration
	// ProvisionPoll is the first wait between looks at a pending order; it
	// doubles up to 30s. Default 2s.
	ProvisionPoll time.Duration
	// WaitNotice is how long transient trouble (the database refusing
	// writes, Partner Center down) lasts before the migration's thread is
	// told. Default 10s.
	WaitNotice time.Duration
	// GiveUpAfter is how long transient trouble may last before the
	// migration fails for a person to look at. Default 24h.
	GiveUpAfter time.Duration
	// RetryBackoff and MaxRetryBackoff bound the waits between tries while
	// trouble lasts. Defaults 500ms and 5s.
	RetryBackoff, MaxRetryBackoff time.Duration
	// WakePoll is how often the worker looks for migrations approved in
	// other processes. Default 200ms.
	WakePoll time.Duration
	// PlansPerPerson is how many plans one person may have in the works at
	// once (each reads every user's licences). Default 2.
	PlansPerPerson int
	// BatchConcurrency is how many migrations of one batch run at once
	// (batch.go); the rest wait their turn, approved. Default 4.
	BatchConcurrency int

	mu      sync.Mutex
	locks   map[string]*sync.Mutex
	running map[string]bool
	slots   map[string]*batchSlots // by batch id (batch.go)
	wg      sync.WaitGroup
	base    context.Context
}

// PlanRequest asks for a plan: move SubscriptionID's users to Target
// (skuPartNumber or name), buying Seats (0: as many as the old subscription has).
type PlanRequest struct {
	SubscriptionID string
	Target         string
	Seats          int
	// OldFate is what to do with the old subscription; "" is the default
	// for its commerce type (see oldFate).
	OldFate   OldFate
	Requester Actor
	// inBatch: the plan is a member of a batch being made, whose events
	// announce it once the batch is stored (PlanBatch).
	inBatch bool
}

// ApproveResult says what an approval did.
type ApproveResult struct {
	Migration *Migration
	// Already: this person had approved before (a second click); nothing changed.
	Already   bool
	Approvals int
	Required  int
	// Started: this approval was the last one needed and the migration runs.
	Started bool
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) concurrency() int { return max(1, cmp.Or(e.Concurrency, 8)) }

func (e *Engine) log() logrus.FieldLogger {
	if e.Log != nil {
		return e.Log
	}
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	return l
}

func (e *Engine) publish(ev Event) {
	if e.Events == nil {
		return
	}
	ev.At = e.now()
	e.Events.Publish(ev)
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
	return e.Store.SaveScan(ctx, r)
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
	plan, refusal, err := e.buildPlan(ctx, tracked, retired, target, req.Seats, req.OldFate)
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
		"customerDomain": plan.CustomerDomain,
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
		case m.State != StateRejected:
			return fmt.Sprintf("Migration %s for this subscription is already %s; see /kaizala status %s.", m.ID, humanState(m.State), m.ID), nil
		}
	}
	return "", nil
}

// Approve records actor's approval of the migration's current plan and
// starts the migration once enough approvers agree.
//
// planHash is the hash of the plan the person saw (the button carries it):
// when the plan changed since, nothing is approved. An empty planHash (a
// typed /kaizala approve) approves the current plan, which the result names.
func (e *Engine) Approve(ctx context.Context, id, planHash string, actor Actor) (ApproveResult, string, error) {
	m, refusal, err := e.find(ctx, id)
	if m == nil {
		return ApproveResult{}, refusal, err
	}
	res := ApproveResult{Migration: m, Required: e.Policy.required()}
	if refusal := planChanged(m, planHash); refusal != "" {
		return res, refusal, nil
	}
	switch {
	case m.Can(ActionApprove):
	case m.State == StateRejected:
		return res, fmt.Sprintf("Migration %s was rejected; ask for a new plan with /kaizala plan.", m.ID), nil
	case m.State == StateNeedsApproval:
		return res, fmt.Sprintf("Migration %s stopped because %s. Run /kaizala retry %s for a new plan to approve.", m.ID, m.Error, m.ID), nil
	default:
		res.Already = true
		res.Approvals, _ = e.approvals(ctx, m)
		return res, "", nil
	}
	if refusal, err := e.Policy.MayApprove(ctx, actor, m); refusal != "" || err != nil {
		return res, refusal, err
	}
	added, err := e.Store.AddDecision(ctx, Decision{MigrationID: m.ID, Actor: actor, Kind: DecisionApprove, PlanHash: m.PlanHash, At: e.now()},
		e.audit(m, actor, ActionApproved, map[string]any{"planHash": m.PlanHash}))
	if err != nil {
		return res, "", err
	}
	res.Already = !added
	if res.Approvals, err = e.approvals(ctx, m); err != nil {
		return res, "", err
	}
	if added {
		e.publish(Event{Kind: EventApproved, Migration: *m, Actor: actor, Done: res.Approvals, Total: res.Required})
	}
	if res.Approvals < res.Required {
		return res, "", nil
	}
	m, err = e.update(ctx, m.ID, func(m *Migration) (bool, error) {
		if m.State != StatePendingApproval {
			return false, nil // another approver's click got here first
		}
		m.State = StateApproved
		return true, nil
	}, e.audit(m, actor, ActionStarted, map[string]any{"approvals": res.Approvals}))
	if err != nil {
		return res, "", err
	}
	res.Migration = m
	if m.State == StateApproved {
		res.Started = true
		e.publish(Event{Kind: EventStarted, Migration: *m, Actor: actor})
		e.launch(m.ID)
	}
	return res, "", nil
}

// planChanged refuses a decision taken on a plan that is no longer the
// migration's ("" when planHash is empty or current).
func planChanged(m *Migration, planHash string) string {
	if planHash == "" || strings.EqualFold(planHash, m.PlanHash) {
		return ""
	}
	return fmt.Sprintf("This plan changed since that button was shown: migration %s now has plan %s (%s). Nothing was done; see the new plan in the alert channel and decide on it.",
		m.ID, ShortHash(m.PlanHash), m.Plan.Summary())
}

// ShortHash is the part of a plan hash people see, enough to tell plans apart.
func ShortHash(h string) string { return h[:min(len(h), 8)] }

// approvals counts the distinct approvers of m's current plan.
func (e *Engine) approvals(ctx context.Context, m *Migration) (int, error) {
	ds, err := e.Store.Decisions(ctx, m.ID)
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	for _, d := range ds {
		if d.Kind == DecisionApprove && d.PlanHash == m.PlanHash && !strings.EqualFold(d.Actor.ID, m.Requester.ID) {
			seen[strings.ToLower(d.Actor.ID)] = true
		}
	}
	return len(seen), nil
}

// Reject stops a migration that has not started. Approvers may reject; the
// requester may withdraw their own request.
func (e *Engine) Reject(ctx context.Context, id, planHash string, actor Actor, reason string) (*Migration, string, error) {
	m, refusal, err := e.findRejectable(ctx, id, planHash, actor)
	if m == nil || refusal != "" || err != nil {
		return m, refusal, err
	}
	if m.State == StateRejected {
		return m, "", nil // a second click, or two people at once: harmless
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		reason = "no reason given"
	}
	d := Decision{MigrationID: m.ID, Actor: actor, Kind: DecisionReject, Reason: reason, PlanHash: m.PlanHash, At: e.now()}
	m, err = e.update(ctx, m.ID, func(m *Migration) (bool, error) {
		if !m.Can(ActionReject) {
			return false, nil
		}
		m.State, m.Error = StateRejected, "rejected by "+actor.Name+": "+reason
		return true, nil
	}, e.audit(m, actor, ActionRejected, map[string]any{"reason": reason}))
	if err != nil {
		return nil, "", err
	}
	if m.State != StateRejected {
		return m, fmt.Sprintf("Migration %s started meanwhile and can no longer be rejected.", m.ID), nil
	}
	if _, err := e.Store.AddDecision(ctx, d); err != nil {
		return m, "", err
	}
	e.publish(Event{Kind: EventRejected, Migration: *m, Actor: actor, Decision: &d})
	return m, "", nil
}

// MayReject says, without changing anything, why actor could not reject
// migration id now ("" when they could), so Slack can ask for a reason only
// when the rejection would count.
func (e *Engine) MayReject(ctx context.Context, id, planHash string, actor Actor) (*Migration, string, error) {
	m, refusal, err := e.findRejectable(ctx, id, planHash, actor)
	if m == nil || refusal != "" || err != nil {
		return m, refusal, err
	}
	if m.State == StateRejected {
		return m, fmt.Sprintf("Migration %s was already %s.", m.ID, m.Error), nil
	}
	return m, "", nil
}

// findRejectable finds migration id and refuses when actor may not reject
// it or it is past rejecting; an already rejected one is the caller's call.
func (e *Engine) findRejectable(ctx context.Context, id, planHash string, actor Actor) (*Migration, string, error) {
	m, refusal, err := e.findToDecide(ctx, id, planHash, actor)
	if m == nil || refusal != "" || err != nil {
		return m, refusal, err
	}
	if m.Can(ActionReject) || m.State == StateRejected {
		return m, "", nil
	}
	return m, fmt.Sprintf("Migration %s is %s and can no longer be rejected.", m.ID, humanState(m.State)), nil
}

// Retry resumes a failed migration at the step that failed, or makes a new
// plan (to approve again) for one that stopped because the world changed.
func (e *Engine) Retry(ctx context.Context, id, planHash string, actor Actor) (*Migration, string, error) {
	m, refusal, err := e.findToDecide(ctx, id, planHash, actor)
	if m == nil || refusal != "" || err != nil {
		return m, refusal, err
	}
	switch {
	case !m.Can(ActionRetry):
	case m.State == StateFailed:
		step := cmp.Or(m.FailedStep, StepBuy)
		if step == StepMoveUsers || step == StepVerify {
			// Give the users who failed, or (after verify) could not be moved
			// at plan time, another go: their problem may be fixed by now.
			if err := e.requeueMoves(ctx, m, step == StepVerify); err != nil {
				return nil, "", err
			}
			step = StepMoveUsers
		}
		return e.resumeFailed(ctx, m, actor, ActionRetried, step)
	case m.State == StateNeedsApproval:
		return e.replan(ctx, m, actor)
	}
	return m, fmt.Sprintf("Migration %s is %s; there is nothing to retry.", m.ID, humanState(m.State)), nil
}

// Override lets the old subscription be suspended although some users still
// hold the retired licence. Only an approver other than the requester may.
func (e *Engine) Override(ctx context.Context, id, planHash string, actor Actor) (*Migration, string, error) {
	m, refusal, err := e.find(ctx, id)
	if m == nil {
		return nil, refusal, err
	}
	if refusal := planChanged(m, planHash); refusal != "" {
		return m, refusal, nil
	}
	if refusal, err := e.Policy.MayApprove(ctx, actor, m); refusal != "" || err != nil {
		return m, refusal, err
	}
	switch {
	case m.Can(ActionOverride):
	case m.State == StateFailed:
		// Suspending anyway helps only when users are what blocks the
		// suspension (the lifecycle's guard).
		return m, fmt.Sprintf("Migration %s failed because %s. An override only helps when users could not be moved; fix the cause and retry.", m.ID, m.Error), nil
	default:
		return m, fmt.Sprintf("Migration %s is %s; an override changes nothing now.", m.ID, humanState(m.State)), nil
	}
	if _, err := e.Store.AddDecision(ctx, Decision{MigrationID: m.ID, Actor: actor, Kind: DecisionOverride, PlanHash: m.PlanHash, At: e.now()}); err != nil {
		return m, "", err
	}
	if m.State == StateFailed && (m.FailedStep == StepMoveUsers || m.FailedStep == StepVerify) {
		m, err = e.update(ctx, m.ID, func(m *Migration) (bool, error) { m.Override = true; return true, nil })
		if err != nil {
			return nil, "", err
		}
		// Skip the remaining moves: that is what the override is for.
		return e.resumeFailed(ctx, m, actor, ActionOverridden, StepVerify)
	}
	m, err = e.update(ctx, m.ID, func(m *Migration) (bool, error) { m.Override = true; return true, nil },
		e.audit(m, actor, ActionOverridden, nil))
	return m, "", err
}

// findToDecide finds migration id for a decision that approvers and its
// requester may take, refusing anyone else.
func (e *Engine) findToDecide(ctx context.Context, id, planHash string, actor Actor) (*Migration, string, error) {
	m, refusal, err := e.find(ctx, id)
	if m == nil {
		return nil, refusal, err
	}
	if refusal := planChanged(m, planHash); refusal != "" {
		return m, refusal, nil
	}
	if strings.EqualFold(actor.ID, m.Requester.ID) {
		return m, "", nil
	}
	if ok, err := e.Policy.IsApprover(ctx, actor); err != nil || ok {
		return m, "", err
	}
	return m, fmt.Sprintf("Only approvers or the requester (%s) can do that to migration %s.", m.Requester.Name, m.ID), nil
}

// resumeFailed puts a failed migration back to step and runs it.
func (e *Engine) resumeFailed(ctx context.Context, m *Migration, actor Actor, action string, step StepName) (*Migration, string, error) {
	// The step may have finished in an earlier run (moves done before a
	// failed verify): reopen it so it runs again. Buying is never reopened:
	// a migration only returns to it when the purchase itself failed.
	if st, err := e.loadStep(ctx, m.ID, step); err != nil {
		return nil, "", err
	} else if step != StepBuy && (st.State == StepDone || st.State == StepSkipped) {
		st.State, st.FinishedAt = StepPending, time.Time{}
		if err := e.Store.SaveStep(ctx, &st); err != nil {
			return nil, "", err
		}
	}
	m, err := e.update(ctx, m.ID, func(m *Migration) (bool, error) {
		if m.State != StateFailed {
			return false, nil
		}
		m.State, m.FailedStep, m.Error, m.FailureKind = step.state(), "", "", FailureKindNone
		return true, nil
	}, e.audit(m, actor, action, map[string]any{"step": string(step)}))
	if err != nil {
		return nil, "", err
	}
	e.publish(Event{Kind: EventStarted, Migration: *m, Actor: actor, Message: "resumed at " + string(step)})
	e.launch(m.ID)
	return m, "", nil
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
	plan, refusal, err := e.buildPlan(ctx, tracked, retired, target, m.Plan.SeatsRequested, m.Plan.OldFate)
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

// update re-reads migration id, applies change and saves it, retrying when
// someone else saved it meanwhile. change reports whether to save; the
// audit entries are written only with a save.
func (e *Engine) update(ctx context.Context, id string, change func(*Migration) (bool, error), audit ...AuditEntry) (*Migration, error) {
	for range 10 {
		m, err := e.Store.GetMigration(ctx, id)
		if err != nil {
			return nil, err
		}
		save, err := change(m)
		if err != nil || !save {
			return m, err
		}
		m.UpdatedAt = e.now()
		err = e.Store.SaveMigration(ctx, m, audit...)
		if errors.Is(err, ErrConflict) {
			continue
		}
		return m, err
	}
	return nil, fmt.Errorf("migration %s: %w ten times in a row", id, ErrConflict)
}

// audit makes an audit entry about m.
func (e *Engine) audit(m *Migration, actor Actor, action string, detail map[string]any) AuditEntry {
	if detail == nil {
		detail = map[string]any{}
	}
	if _, ok := detail["customerDomain"]; !ok && m.CustomerDomain != "" {
		detail["customerDomain"] = m.CustomerDomain
	}
	return AuditEntry{At: e.now(), Actor: actor, Action: action, CustomerID: m.CustomerID, SubscriptionID: m.SubscriptionID, MigrationID: m.ID, Detail: detail}
}

const idAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ" // no 0/O, 1/I/L: ids are read and typed

// newID makes a short migration id people can type, e.g. "M7K2QX".
func (e *Engine) newID(ctx context.Context) (string, error) {
	for range 20 {
		b := make([]byte, 5)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		id := []byte("M")
		for _, c := range b {
			id = append(id, idAlphabet[int(c)%len(idAlphabet)])
		}
		if _, err := e.Store.GetMigration(ctx, string(id)); errors.Is(err, ErrNotFound) {
			return string(id), nil
		} else if err != nil {
			return "", err
		}
	}
	return "", errors.New("could not find a free migration id")
}

// find loads a migration by id; an unknown id is a refusal, not an error.
func (e *Engine) find(ctx context.Context, id string) (*Migration, string, error) {
	m, err := e.Store.GetMigration(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Sprintf("There is no migration %q. Migration ids look like M7K2QX; see /kaizala history.", id), nil
	}
	return m, "", err
}

// humanState says a state in words.
func humanState(s State) string { return strings.ReplaceAll(string(s), "_", " ") }

// newRequestID makes an MS-RequestId.
func newRequestID() string { return uuid.NewString() }
