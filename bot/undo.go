package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Undo takes a migration back while Partner Center allows it: a replace
// moves the users back to the old licence (reactivating a suspended old
// subscription first), then cancels the new subscription while its
// cancellation window is open; a change at renewal not yet renewed removes
// the schedule. A transition has no documented way back, so it is never
// offered. An approver other than the requester must ask for it; it runs
// exactly once, resumable, like every other step.

// undoRefusal says why m cannot be undone, as far as the bot knows without
// asking Partner Center ("" when it can be tried); now is the bot's clock
// (the engine asks Partner Center's before it starts).
func (m *Migration) undoRefusal(now time.Time) string {
	switch {
	case m.Plan.Path() == StrategyTransition:
		return fmt.Sprintf("Migration %s was a transition: Partner Center offers no way back from one. To go back, make a new plan from %s.", m.ID, m.Plan.Target.Name)
	case m.State == StateUndone:
		return fmt.Sprintf("Migration %s is undone already.", m.ID)
	case m.Plan.Path() == StrategyRenewal && m.State == StateAwaitingRenewal:
		return ""
	case m.Plan.Path() == StrategyRenewal && m.State == StateDone:
		return fmt.Sprintf("Migration %s renewed into %s already; a renewal cannot be undone. What can still be done: lower the quantity or turn auto-renew off before the next renewal.", m.ID, m.Plan.Target.Name)
	case m.State != StateDone:
		// humanState, not the table's words: the table's guards call this.
		return fmt.Sprintf("Migration %s is %s; only a finished migration can be undone (reject or retry it instead).", m.ID, humanState(m.State))
	case fate(m) == FateCancel:
		return fmt.Sprintf("Migration %s cancelled the old subscription %s, which cannot be restored, so it cannot be undone.", m.ID, m.SubscriptionID)
	case m.Plan.Seats > 0 && !m.Plan.Target.NewCommerce():
		return fmt.Sprintf("Migration %s bought %s the legacy way, which cannot be cancelled, so it cannot be undone. What can still be done: lower the quantity or turn auto-renew off in Partner Center.", m.ID, m.Plan.Target.Name)
	case m.Plan.Seats > 0 && !m.Outcome.NewCancellableUntil.IsZero() && !now.Before(m.Outcome.NewCancellableUntil):
		return windowClosed(m, m.Outcome.NewCancellableUntil)
	}
	return ""
}

// windowClosed refuses an undo after the new subscription's cancellation
// window closed, saying when and what can still be done.
func windowClosed(m *Migration, closed time.Time) string {
	return fmt.Sprintf("Migration %s can no longer be undone: the cancellation window of subscription %s (%s) closed on %s, and it is billed for its full term. "+
		"What can still be done: lower its quantity at renewal, or turn its auto-renew off so it ends at the end of its term (in Partner Center).",
		m.ID, m.NewSubscriptionID, m.Plan.Target.Name, closed.UTC().Format("2 Jan 2006 15:04 MST"))
}

// Undo asks for migration id to be taken back. Only an approver other than
// its requester may; the engine asks Partner Center, by Partner Center's
// clock, whether the new subscription can still be cancelled.
func (e *Engine) Undo(ctx context.Context, id string, actor Actor, reason string) (*Migration, string, error) {
	m, refusal, err := e.find(ctx, id)
	if m == nil {
		return nil, refusal, err
	}
	if refusal := m.undoRefusal(e.now()); refusal != "" || !m.Can(ActionUndo) {
		return m, cmp.Or(refusal, fmt.Sprintf("Migration %s is %s and cannot be undone now.", m.ID, m.State.Words())), nil
	}
	if strings.EqualFold(actor.ID, m.Requester.ID) {
		return m, fmt.Sprintf("You asked for migration %s, so an approver other than you must confirm its undo. Ask one to run /kaizala undo %s.", m.ID, m.ID), nil
	}
	if refusal, err := e.Policy.MayApprove(ctx, actor, m); refusal != "" || err != nil {
		if refusal != "" {
			refusal = "Only an approver can undo a migration: " + refusal
		}
		return m, refusal, err
	}
	if m.Plan.Path() == StrategyReplace && m.Plan.Seats > 0 && m.NewSubscriptionID != "" {
		sub, err := e.PC.GetSubscription(ctx, m.CustomerID, m.NewSubscriptionID)
		if words, ok := e.accessRefusal(ctx, Customer{ID: m.CustomerID, Name: m.CustomerName, Domain: m.CustomerDomain}, err); err != nil && ok {
			return m, words, nil
		}
		if err != nil {
			return m, "", fmt.Errorf("reading the new subscription %s: %w", m.NewSubscriptionID, err)
		}
		if now := e.PC.Clock(); !sub.Cancellable(now) {
			return m, windowClosed(m, cmp.Or(sub.CancellableUntil, m.Outcome.NewCancellableUntil, now)), nil
		}
	}
	reason = strings.TrimSpace(reason)
	if _, err := e.Store.AddDecision(ctx, Decision{MigrationID: m.ID, Actor: actor, Kind: DecisionUndo, Reason: reason, PlanHash: m.PlanHash, At: e.now()}); err != nil {
		return m, "", err
	}
	from := m.State
	m, err = e.update(ctx, m.ID, func(m *Migration) (bool, error) {
		if m.State != from {
			return false, nil
		}
		m.State = m.lifecycle().Undo
		m.Outcome.UndoneBy, m.Outcome.UndoReason = &actor, reason
		return true, nil
	}, e.audit(m, actor, ActionUndoRequested, map[string]any{"reason": reason, "from": string(from)}))
	if err != nil {
		return nil, "", err
	}
	if m.State != m.lifecycle().Undo {
		return m, fmt.Sprintf("Migration %s changed meanwhile (it is %s); nothing was undone.", m.ID, m.State.Words()), nil
	}
	e.publish(Event{Kind: EventUndoing, Migration: *m, Actor: actor, Message: reason})
	e.launch(m.ID)
	return m, "", nil
}

// undoSubscriptionStep is an undo step that makes one write to one
// subscription, exactly once (writeOnce, looking first: an undo may find it
// done already); skip says there is nothing to do.
func (e *Engine) undoSubscriptionStep(ctx context.Context, m *Migration, name StepName, subID, action string, skip bool, w subscriptionWrite) error {
	st, err := e.loadStep(ctx, m.ID, name)
	if err != nil || st.State == StepDone || st.State == StepSkipped {
		return err
	}
	if skip {
		return e.finishStep(ctx, m, &st, StepSkipped, map[string]string{"reason": "nothing to undo"})
	}
	sub, ref, reconciled, err := e.writeOnce(ctx, m, &st, subID, w, true, nil)
	if err != nil {
		return err
	}
	detail := map[string]any{"subscriptionId": subID, "status": sub.Status}
	if reconciled != "" {
		detail["reconciled"] = reconciled
	}
	entry := e.audit(m, System, action, detail)
	entry.MSRequestID, entry.MSCorrelationID = cmp.Or(ref.RequestID, st.MSRequestID), ref.CorrelationID
	return e.finishStep(ctx, m, &st, StepDone, map[string]string{"subscriptionId": subID, "status": sub.Status}, entry)
}

// undoReactivate makes the old subscription active again if step C
// suspended it, so its licences can be assigned again.
func (e *Engine) undoReactivate(ctx context.Context, m *Migration) error {
	return e.undoSubscriptionStep(ctx, m, StepUndoReactivate, m.SubscriptionID, ActionReactivated,
		!m.Outcome.OldSuspended && fate(m) != FateSuspend,
		subscriptionWrite{"reactivating", func(s Subscription) bool { return s.Active() }, PartnerCenter.Reactivate})
}

// undoCancel cancels the bought subscription inside its window.
func (e *Engine) undoCancel(ctx context.Context, m *Migration) error {
	return e.undoSubscriptionStep(ctx, m, StepUndoCancel, m.NewSubscriptionID, ActionCancelled,
		m.NewSubscriptionID == "" || m.Plan.Seats == 0, fateActions[FateCancel])
}

// undoUnschedule removes a change at renewal not yet made.
func (e *Engine) undoUnschedule(ctx context.Context, m *Migration) error {
	return e.undoSubscriptionStep(ctx, m, StepUndoUnschedule, m.SubscriptionID, ActionUnscheduled, false,
		subscriptionWrite{"removing the change at renewal of",
			func(s Subscription) bool { return s.Scheduled == nil && s.AutoRenew == m.Plan.Subscription.AutoRenew },
			PartnerCenter.Unschedule})
}

// undoMoveBack gives every user the migration moved the retired licence
// back and takes the target away (unless they held it before), in one call
// each, so nobody is ever without a licence.
func (e *Engine) undoMoveBack(ctx context.Context, m *Migration) error {
	st, err := e.loadStep(ctx, m.ID, StepUndoMoveBack)
	if err != nil || st.State == StepDone {
		return err
	}
	moves, err := e.Store.UserMoves(ctx, m.ID)
	if err != nil {
		return err
	}
	hadTarget := map[string]bool{}
	for _, u := range m.Plan.Move {
		hadTarget[strings.ToLower(u.ID)] = u.HasTarget
	}
	var todo []UserMove
	for _, mv := range moves {
		if mv.State == MoveDone || mv.State == MoveBackPending {
			todo = append(todo, mv)
		}
	}
	if st.State != StepRunning {
		st.State, st.Attempts = StepRunning, st.Attempts+1
		if st.StartedAt.IsZero() {
			st.StartedAt = e.now()
		}
		if err := e.Store.SaveStep(ctx, &st, e.audit(m, System, ActionStepStarted, map[string]any{"step": string(StepUndoMoveBack), "users": len(todo)})); err != nil {
			return err
		}
	}
	var (
		mu       sync.Mutex
		storeErr error
		waitErr  error
		failed   []string
	)
	inParallel(ctx, e.concurrency(), todo, func(mv UserMove) {
		mv, class, err := e.moveBack(ctx, m, mv, hadTarget[strings.ToLower(mv.UserID)])
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			storeErr = cmp.Or(storeErr, err)
		case class == FailureRetryable:
			waitErr = cmp.Or(waitErr, errors.New(mv.Error))
		case mv.State == MoveBackFailed:
			failed = append(failed, fmt.Sprintf("%s (%s)", mv.UPN, mv.Error))
		}
	})
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case storeErr != nil:
		return storeErr
	case waitErr != nil:
		return &transientError{what: "moving users back", err: waitErr}
	case len(failed) > 0:
		return e.recordFailure(ctx, &st, fmt.Errorf("%d users could not be moved back to %s: %s. They keep %s, so nobody is without a licence. Fix them and retry the undo",
			len(failed), m.Plan.Retired, strings.Join(firstN(failed, 10), "; "), m.Plan.Target.Name), FailureKindUsers)
	}
	return e.finishStep(ctx, m, &st, StepDone, map[string]string{"movedBack": fmt.Sprint(len(todo))})
}

// moveBack moves one user back. As in moveUser, the MS-RequestId is saved
// before the call and a resumed move looks at the user's licences first.
func (e *Engine) moveBack(ctx context.Context, m *Migration, mv UserMove, hadTarget bool) (UserMove, FailureClass, error) {
	retired, target := m.Plan.RetiredSkuID, m.Plan.Target.SkuID
	remove := target
	if hadTarget {
		remove = ""
	}
	if mv.State == MoveBackPending && mv.MSRequestID != "" {
		if skus, err := e.PC.UserSkuIDs(ctx, m.CustomerID, mv.UserID); err == nil && containsID(skus, retired) && (remove == "" || !containsID(skus, target)) {
			mv, err := e.recordMoveBack(ctx, m, mv, MoveBack, "", CallRef{RequestID: mv.MSRequestID}, "found moved back after a restart")
			return mv, FailureUnknown, err
		}
	} else {
		mv.State, mv.MSRequestID, mv.Error, mv.UpdatedAt = MoveBackPending, newRequestID(), "", e.now()
		if err := e.Store.SaveUserMove(ctx, mv); err != nil {
			return mv, FailureUnknown, err
		}
	}
	if err := checkFence(ctx); err != nil {
		return mv, FailureUnknown, err
	}
	call, err := e.PC.SwapLicence(ctx, m.CustomerID, mv.UserID, retired, remove, mv.MSRequestID)
	if err == nil {
		mv, err := e.recordMoveBack(ctx, m, mv, MoveBack, "", call, "")
		return mv, FailureUnknown, err
	}
	if ctx.Err() != nil {
		return mv, FailureUnknown, nil
	}
	class := e.PC.Classify(err)
	if class == FailureRetryable || class == FailureUnknown {
		mv.Error = err.Error()
		return mv, FailureRetryable, nil
	}
	mv.MSRequestID = ""
	mv, serr := e.recordMoveBack(ctx, m, mv, MoveBackFailed, err.Error(), call, "")
	return mv, class, serr
}

func (e *Engine) recordMoveBack(ctx context.Context, m *Migration, mv UserMove, state MoveState, msg string, call CallRef, note string) (UserMove, error) {
	mv.State, mv.Error, mv.UpdatedAt = state, msg, e.now()
	detail := map[string]any{"userId": mv.UserID, "upn": mv.UPN, "state": string(state)}
	if msg != "" {
		detail["error"] = msg
	}
	if note != "" {
		detail["reconciled"] = note
	}
	entry := e.audit(m, System, ActionUserMovedBack, detail)
	entry.MSRequestID, entry.MSCorrelationID = cmp.Or(call.RequestID, mv.MSRequestID), call.CorrelationID
	return mv, e.Store.SaveUserMove(ctx, mv, entry)
}

// undoneWords says what an undo did, for the thread.
func undoneWords(m *Migration) string {
	if m.Plan.Path() == StrategyRenewal {
		return fmt.Sprintf("the change at renewal is removed: subscription %s has auto-renew off again and keeps %s", m.SubscriptionID, m.Plan.Retired)
	}
	parts := []string{fmt.Sprintf("the users are back on %s", m.Plan.Retired)}
	if m.Outcome.OldSuspended || fate(m) == FateSuspend {
		parts = append(parts, fmt.Sprintf("subscription %s is active again", m.SubscriptionID))
	}
	if m.NewSubscriptionID != "" && m.Plan.Seats > 0 {
		parts = append(parts, fmt.Sprintf("subscription %s (%s) is cancelled with a refund for its refundable seats", m.NewSubscriptionID, m.Plan.Target.Name))
	}
	return strings.Join(parts, "; ")
}

// requeueMovesBack gives the users who could not be moved back another go.
func (e *Engine) requeueMovesBack(ctx context.Context, m *Migration) error {
	moves, err := e.Store.UserMoves(ctx, m.ID)
	if err != nil {
		return err
	}
	for _, mv := range moves {
		if mv.State == MoveBackFailed {
			// Back to moved: the undo sends a fresh request for it.
			mv.State, mv.Error, mv.MSRequestID, mv.UpdatedAt = MoveDone, "", "", e.now()
			if err := e.Store.SaveUserMove(ctx, mv); err != nil {
				return err
			}
		}
	}
	return nil
}
