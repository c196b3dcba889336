package bot

// Decisions people take about a migration: approve, reject, retry, override.

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"
)

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
	return m, fmt.Sprintf("Migration %s is %s and can no longer be rejected.", m.ID, m.State.Words()), nil
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
		step := cmp.Or(m.FailedStep, m.lifecycle().firstStep())
		switch step {
		case StepAwaitRenewal:
			// The scheduled change is gone or late: set it again (a no-op
			// write when Partner Center still shows it).
			step = StepSchedule
		case StepUndoMoveBack:
			if err := e.requeueMovesBack(ctx, m); err != nil {
				return nil, "", err
			}
		}
		if m.Plan.Path() == StrategyReplace && (step == StepMoveUsers || step == StepVerify) {
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
	return m, fmt.Sprintf("Migration %s is %s; there is nothing to retry.", m.ID, m.State.Words()), nil
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
		return m, fmt.Sprintf("Migration %s is %s; an override changes nothing now.", m.ID, m.State.Words()), nil
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
		// Its write was answered: a new one gets a new MS-RequestId, or
		// Partner Center would replay the first answer.
		st.State, st.FinishedAt, st.MSRequestID = StepPending, time.Time{}, ""
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
