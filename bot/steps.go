package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// purchaseTag goes into the new subscription's friendly name, so a resumed
// purchase can find out whether it already happened even if Partner Center
// no longer remembers the MS-RequestId.
func purchaseTag(migrationID string) string { return "kaizalabot " + migrationID }

// loadStep returns the journal of a step, or a fresh pending one.
func (e *Engine) loadStep(ctx context.Context, migrationID string, name StepName) (Step, error) {
	steps, err := e.Store.Steps(ctx, migrationID)
	if err != nil {
		return Step{}, err
	}
	for _, s := range steps {
		if s.Name == name {
			return s, nil
		}
	}
	return Step{MigrationID: migrationID, Name: name, State: StepPending}, nil
}

// finishStep marks a step done (or skipped) with its result.
func (e *Engine) finishStep(ctx context.Context, m *Migration, st *Step, state StepState, result map[string]string, audit ...AuditEntry) error {
	st.State, st.Error, st.FinishedAt = state, "", e.now()
	if result != nil {
		st.Result = result
	}
	detail := map[string]any{"step": string(st.Name), "state": string(state)}
	for k, v := range st.Result {
		detail[k] = v
	}
	done := e.audit(m, System, ActionStepDone, detail)
	done.MSRequestID = st.MSRequestID
	return e.Store.SaveStep(ctx, st, append(audit, done)...)
}

// beginWrite claims the step's next Partner Center write: it saves the
// MS-RequestId the write will carry before anything is sent, as a
// compare-and-set (a second claimant gets ErrConflict) under the worker's
// fence, then checks that the lease is still held. reuse keeps the stored
// id: the last attempt's outcome is unknown, and the same id lets Partner
// Center recognise the same call.
func (e *Engine) beginWrite(ctx context.Context, m *Migration, st *Step, reuse bool) error {
	if !reuse || st.MSRequestID == "" {
		st.MSRequestID = newRequestID()
	}
	st.State, st.Error = StepRunning, ""
	st.Attempts++
	if st.StartedAt.IsZero() {
		st.StartedAt = e.now()
	}
	started := e.audit(m, System, ActionStepStarted, map[string]any{"step": string(st.Name), "attempt": st.Attempts})
	started.MSRequestID = st.MSRequestID
	if err := e.Store.SaveStep(ctx, st, started); err != nil {
		return err
	}
	return checkFence(ctx)
}

// failStep handles a Partner Center call of a step that failed. Trouble
// that goes away by itself (throttling, outages, no answer) is returned for
// the runner to wait out, the step left as it is (its MS-RequestId kept:
// the write may have happened). A refusal is recorded on the step and
// returned as a failure of its kind; after such a definite answer the
// MS-RequestId is dropped ("upon receiving a response … the value should be
// reset", headers.md), while the step's Attempts keep saying that a write
// was sent, so a purchase is always looked for before it is made again.
func (e *Engine) failStep(ctx context.Context, st *Step, what string, cause error) error {
	var failed *stepFailure
	if !errors.As(e.classify(fmt.Errorf("%s: %w", what, cause)), &failed) {
		return &transientError{what: what, err: cause}
	}
	st.MSRequestID = ""
	return e.recordFailure(ctx, st, failed.err, failed.kind)
}

// recordFailure marks a step failed; the migration fails with it.
func (e *Engine) recordFailure(ctx context.Context, st *Step, cause error, kind FailureKind) error {
	st.State, st.Error, st.FinishedAt = StepFailed, cause.Error(), e.now()
	if err := e.Store.SaveStep(ctx, st); err != nil {
		return err // transient: the pass runs again and meets the failure again
	}
	return &stepFailure{err: cause, kind: kind}
}

// checkWorld compares what matters for the next write with the approved
// plan. It reads little (the subscription and the licence pools), so it can
// run before every write step.
//
// freeSeats also compares the free seats of the target, which only holds
// before anything was bought.
func (e *Engine) checkWorld(ctx context.Context, m *Migration, freeSeats bool) error {
	p := m.Plan
	// The two reads go out together: checkWorld runs before every write
	// step, and a migration's sequential calls are what its time is made of.
	var (
		sub      Subscription
		pools    []LicensePool
		poolsErr error
		wg       sync.WaitGroup
	)
	wg.Go(func() { pools, poolsErr = e.PC.LicensePools(ctx, m.CustomerID) })
	sub, err := e.PC.GetSubscription(ctx, m.CustomerID, m.SubscriptionID)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("re-reading subscription %s: %w", m.SubscriptionID, err)
	}
	var changes []string
	if !sub.Active() {
		changes = append(changes, fmt.Sprintf("the subscription is now %s", sub.Status))
	}
	if sub.Quantity != p.Subscription.Quantity {
		changes = append(changes, fmt.Sprintf("the subscription's quantity changed from %d to %d", p.Subscription.Quantity, sub.Quantity))
	}
	if poolsErr != nil {
		return fmt.Errorf("re-reading licences: %w", poolsErr)
	}
	moves, err := e.Store.UserMoves(ctx, m.ID)
	if err != nil {
		return err
	}
	// Only moves of the plan's users count: after a new plan, moves made
	// under the earlier one are of users who no longer hold the licence.
	inPlan := map[string]bool{}
	for _, u := range append(slices.Clone(p.Move), p.CannotMove...) {
		inPlan[strings.ToLower(u.ID)] = true
	}
	handled := 0
	for _, mv := range moves {
		if (mv.State == MoveDone || mv.State == MoveSkipped) && inPlan[strings.ToLower(mv.UserID)] {
			handled++
		}
	}
	expected := len(p.Move) + len(p.CannotMove) - handled
	if pool, _ := findPool(pools, p.RetiredSkuID); pool.Consumed > expected {
		changes = append(changes, fmt.Sprintf("%d users hold %s but the plan knows of %d", pool.Consumed, p.Retired, expected))
	}
	if freeSeats {
		if pool, _ := findPool(pools, p.Target.SkuID); pool.Available != p.FreeTargetSeats {
			changes = append(changes, fmt.Sprintf("free %s seats changed from %d to %d", p.Target.Name, p.FreeTargetSeats, pool.Available))
		}
	}
	if len(changes) > 0 {
		return &staleError{changes}
	}
	return nil
}

// waitSeats waits, with back-off, until the customer has enough free seats
// of the target for the users still to move.
func (e *Engine) waitSeats(ctx context.Context, m *Migration) error {
	st, err := e.loadStep(ctx, m.ID, StepWaitSeats)
	if err != nil || st.State == StepDone {
		return err
	}
	need, err := e.seatsStillNeeded(ctx, m)
	if err != nil {
		return err
	}
	timeout := cmp.Or(e.SeatTimeout, 45*time.Minute)
	wait := cmp.Or(e.SeatPoll, 2*time.Second)
	deadline := e.now().Add(timeout)
	for {
		pools, err := e.PC.LicensePools(ctx, m.CustomerID)
		if err != nil {
			return e.failStep(ctx, &st, "reading licences", err)
		}
		pool, _ := findPool(pools, m.Plan.Target.SkuID)
		if pool.Available >= need {
			if err := e.finishStep(ctx, m, &st, StepDone, map[string]string{"available": fmt.Sprint(pool.Available), "needed": fmt.Sprint(need)}); err != nil {
				return err
			}
			e.publish(Event{Kind: EventSeatsReady, Migration: *m, Done: pool.Available, Total: need})
			return nil
		}
		if !e.now().Before(deadline) {
			return e.recordFailure(ctx, &st, fmt.Errorf("only %d of the %d %s seats needed became usable within %s; Partner Center may still be provisioning them: retry later",
				pool.Available, need, m.Plan.Target.Name, timeout), FailureKindTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// seatsStillNeeded counts the users still to move who need a target seat.
func (e *Engine) seatsStillNeeded(ctx context.Context, m *Migration) (int, error) {
	moves, err := e.ensureMoves(ctx, m)
	if err != nil {
		return 0, err
	}
	hasTarget := map[string]bool{}
	for _, u := range m.Plan.Move {
		hasTarget[strings.ToLower(u.ID)] = u.HasTarget
	}
	n := 0
	for _, mv := range moves {
		if mv.State != MoveDone && mv.State != MoveSkipped && !hasTarget[strings.ToLower(mv.UserID)] {
			n++
		}
	}
	return n, nil
}

// ensureMoves journals a pending move for each of the plan's users that has
// none yet. The moves are saved one by one, so a crash can leave only some of
// them: topping up on every call (not only the first) means a resumed
// migration still moves everyone.
func (e *Engine) ensureMoves(ctx context.Context, m *Migration) ([]UserMove, error) {
	moves, err := e.Store.UserMoves(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(moves))
	for _, mv := range moves {
		known[strings.ToLower(mv.UserID)] = true
	}
	added := false
	for _, u := range m.Plan.Move {
		if known[strings.ToLower(u.ID)] {
			continue
		}
		mv := UserMove{MigrationID: m.ID, UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, State: MovePending, UpdatedAt: e.now()}
		if err := e.Store.SaveUserMove(ctx, mv); err != nil {
			return nil, err
		}
		added = true
	}
	if !added {
		return moves, nil
	}
	return e.Store.UserMoves(ctx, m.ID)
}

// requeueMoves gives failed moves, and (withCannotMove) the users the plan
// could not move, another go.
func (e *Engine) requeueMoves(ctx context.Context, m *Migration, withCannotMove bool) error {
	moves, err := e.ensureMoves(ctx, m)
	if err != nil {
		return err
	}
	if err := e.resetFailedMoves(ctx, moves); err != nil {
		return err
	}
	known := map[string]bool{}
	for _, mv := range moves {
		known[strings.ToLower(mv.UserID)] = true
	}
	if withCannotMove {
		for _, u := range m.Plan.CannotMove {
			if !known[strings.ToLower(u.ID)] {
				if err := e.Store.SaveUserMove(ctx, UserMove{MigrationID: m.ID, UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, State: MovePending, UpdatedAt: e.now()}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// resetFailedMoves makes the failed moves among moves pending again.
func (e *Engine) resetFailedMoves(ctx context.Context, moves []UserMove) error {
	for _, mv := range moves {
		if mv.State == MoveFailed {
			mv.State, mv.Error, mv.UpdatedAt = MovePending, "", e.now()
			if err := e.Store.SaveUserMove(ctx, mv); err != nil {
				return err
			}
		}
	}
	return nil
}

// moveUsers is step B: each user gets the target and loses the retired
// licence in one call, concurrently under the client's rate limit.
func (e *Engine) moveUsers(ctx context.Context, m *Migration) error {
	st, err := e.loadStep(ctx, m.ID, StepMoveUsers)
	if err != nil || st.State == StepDone {
		return err
	}
	moves, err := e.ensureMoves(ctx, m)
	if err != nil {
		return err
	}
	if err := e.checkWorld(ctx, m, false); err != nil {
		return err
	}
	if st.State != StepRunning {
		// Once per start, not per pass: trouble waited out in place runs
		// this step again and again.
		st.State, st.Attempts = StepRunning, st.Attempts+1
		if st.StartedAt.IsZero() {
			st.StartedAt = e.now()
		}
		if err := e.Store.SaveStep(ctx, &st, e.audit(m, System, ActionStepStarted, map[string]any{"step": string(StepMoveUsers), "users": len(moves)})); err != nil {
			return err
		}
	}
	hasTarget := map[string]bool{}
	for _, u := range append(m.Plan.Move, m.Plan.CannotMove...) {
		hasTarget[strings.ToLower(u.ID)] = u.HasTarget
	}
	var done atomic.Int64
	var todo []UserMove
	for _, mv := range moves {
		if mv.State == MoveDone || mv.State == MoveSkipped {
			done.Add(1)
		} else if mv.State == MovePending {
			todo = append(todo, mv)
		}
	}
	var (
		mu       sync.Mutex
		storeErr error
		// Moves that met transient trouble stay pending for the next pass;
		// refusals of access (not of a user) mean no override can help.
		waiting       int
		waitErr       error
		userRefusals  int
		accessRefusal int
	)
	inParallel(ctx, e.concurrency(), todo, func(mv UserMove) {
		mv, class, err := e.moveUser(ctx, m, mv, hasTarget[strings.ToLower(mv.UserID)])
		mu.Lock()
		switch {
		case err != nil:
			storeErr = cmp.Or(storeErr, err)
		case class == FailureRetryable:
			waiting, waitErr = waiting+1, cmp.Or(waitErr, errors.New(mv.Error))
		case class == FailureAuth:
			accessRefusal++
		case class != FailureUnknown:
			userRefusals++
		}
		mu.Unlock()
		if err != nil {
			return
		}
		switch mv.State {
		case MoveDone, MoveSkipped:
			e.publish(Event{Kind: EventUserMoved, Migration: *m, Move: &mv, Done: int(done.Add(1)), Total: len(moves)})
		case MoveFailed:
			e.publish(Event{Kind: EventUserFailed, Migration: *m, Move: &mv, Done: int(done.Load()), Total: len(moves)})
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if storeErr != nil {
		return storeErr
	}
	if waiting > 0 {
		return &transientError{what: fmt.Sprintf("moving users (%d not moved yet)", waiting), err: waitErr}
	}
	moves, err = e.Store.UserMoves(ctx, m.ID)
	if err != nil {
		return err
	}
	var failed []string
	for _, mv := range moves {
		if mv.State == MoveFailed || mv.State == MovePending {
			failed = append(failed, fmt.Sprintf("%s (%s)", mv.UPN, cmp.Or(mv.Error, "not attempted")))
		}
	}
	if len(failed) > 0 {
		if accessRefusal > 0 && userRefusals == 0 {
			return e.recordFailure(ctx, &st, fmt.Errorf("%d of %d users could not be moved because Partner Center refused the bot's access: %s. Fix the access (GDAP roles, consent, Conditional Access), then retry",
				len(failed), len(moves), strings.Join(firstN(failed, 10), "; ")), FailureKindAccess)
		}
		return e.recordFailure(ctx, &st, fmt.Errorf("%d of %d users could not be moved: %s. Fix them and retry, or an approver can override to suspend anyway",
			len(failed), len(moves), strings.Join(firstN(failed, 10), "; ")), FailureKindUsers)
	}
	return e.finishStep(ctx, m, &st, StepDone, map[string]string{"moved": fmt.Sprint(len(moves))})
}

// moveUser moves one user. The returned error is only for the journal
// failing; Partner Center failures are recorded in the move itself, and
// their class returned: a retryable one leaves the move pending (its
// MS-RequestId kept, since the write may have happened) for the next pass.
func (e *Engine) moveUser(ctx context.Context, m *Migration, mv UserMove, hasTarget bool) (UserMove, FailureClass, error) {
	retired, target := m.Plan.RetiredSkuID, m.Plan.Target.SkuID
	assign := target
	if hasTarget {
		assign = ""
	}
	if mv.MSRequestID != "" {
		// Sent before without a known outcome: look before sending again.
		skus, err := e.PC.UserSkuIDs(ctx, m.CustomerID, mv.UserID)
		if err == nil && !containsID(skus, retired) {
			if containsID(skus, target) {
				mv, err := e.recordMove(ctx, m, mv, MoveDone, "", CallRef{RequestID: mv.MSRequestID}, "found moved after a restart")
				return mv, FailureUnknown, err
			}
			mv, err := e.recordMove(ctx, m, mv, MoveSkipped, "no longer holds "+m.Plan.Retired+" (changed outside kaizalabot)", CallRef{}, "")
			return mv, FailureUnknown, err
		}
	} else {
		mv.MSRequestID = newRequestID()
		mv.UpdatedAt = e.now()
		if err := e.Store.SaveUserMove(ctx, mv); err != nil {
			return mv, FailureUnknown, err
		}
	}
	if err := checkFence(ctx); err != nil {
		return mv, FailureUnknown, err // not the worker for sure: send nothing
	}
	call, err := e.PC.SwapLicence(ctx, m.CustomerID, mv.UserID, assign, retired, mv.MSRequestID)
	if err == nil {
		mv, err := e.recordMove(ctx, m, mv, MoveDone, "", call, "")
		return mv, FailureUnknown, err
	}
	if ctx.Err() != nil {
		return mv, FailureUnknown, nil // shutting down: the move resumes next start
	}
	class := e.PC.Classify(err)
	switch class {
	case FailureRetryable, FailureUnknown:
		mv.Error = err.Error()
		return mv, FailureRetryable, nil
	case FailureBusiness, FailureAuth:
		// A definite refusal: maybe because someone moved the user meanwhile.
		if skus, lerr := e.PC.UserSkuIDs(ctx, m.CustomerID, mv.UserID); lerr == nil && !containsID(skus, retired) {
			mv, err := e.recordMove(ctx, m, mv, MoveSkipped, "no longer holds "+m.Plan.Retired+" (changed outside kaizalabot)", CallRef{}, "")
			return mv, FailureUnknown, err
		}
		mv.MSRequestID = ""
	}
	msg := err.Error()
	if errors.Is(err, ErrOutOfSeats) {
		msg = "no free " + m.Plan.Target.Name + " seat left: " + msg
	}
	mv, serr := e.recordMove(ctx, m, mv, MoveFailed, msg, call, "")
	return mv, class, serr
}

func (e *Engine) recordMove(ctx context.Context, m *Migration, mv UserMove, state MoveState, msg string, call CallRef, note string) (UserMove, error) {
	mv.State, mv.Error, mv.UpdatedAt = state, msg, e.now()
	if call.CorrelationID != "" {
		mv.MSCorrelationID = call.CorrelationID
	}
	action := ActionUserMoved
	detail := map[string]any{"userId": mv.UserID, "upn": mv.UPN, "state": string(state)}
	if state == MoveFailed {
		action, detail["error"] = ActionUserFailed, msg
	}
	if msg != "" && state == MoveSkipped {
		detail["reason"] = msg
	}
	if note != "" {
		detail["reconciled"] = note
	}
	entry := e.audit(m, System, action, detail)
	entry.MSRequestID, entry.MSCorrelationID = cmp.Or(call.RequestID, mv.MSRequestID), call.CorrelationID
	return mv, e.Store.SaveUserMove(ctx, mv, entry)
}

// verify checks that nobody holds the retired licence any more before the
// old subscription is suspended (unless an approver overrode).
func (e *Engine) verify(ctx context.Context, m *Migration) error {
	st, err := e.loadStep(ctx, m.ID, StepVerify)
	if err != nil || st.State == StepDone {
		return err
	}
	pools, err := e.PC.LicensePools(ctx, m.CustomerID)
	if err != nil {
		return e.failStep(ctx, &st, "reading licences", err)
	}
	pool, _ := findPool(pools, m.Plan.RetiredSkuID)
	if pool.Consumed == 0 {
		return e.finishStep(ctx, m, &st, StepDone, map[string]string{"stillHolding": "0"})
	}
	if m.Override {
		return e.finishStep(ctx, m, &st, StepDone, map[string]string{"stillHolding": fmt.Sprint(pool.Consumed), "override": "an approver chose to suspend anyway"})
	}
	var who []string
	moves, err := e.Store.UserMoves(ctx, m.ID)
	if err != nil {
		return err
	}
	moved := map[string]bool{}
	for _, mv := range moves {
		if mv.State == MoveDone || mv.State == MoveSkipped {
			moved[strings.ToLower(mv.UserID)] = true
		} else if mv.Error != "" {
			who = append(who, fmt.Sprintf("%s (%s)", mv.UPN, mv.Error))
		}
	}
	for _, u := range m.Plan.CannotMove {
		if !moved[strings.ToLower(u.ID)] {
			who = append(who, fmt.Sprintf("%s (%s)", u.UPN, u.Reason))
		}
	}
	if len(who) == 0 {
		// Everyone the plan knows of has moved, so these users were given
		// the licence after the plan was made: a retry would not move them,
		// a new plan (approved again) does.
		return &staleError{[]string{fmt.Sprintf("%d user(s) not in the approved plan now hold %s", pool.Consumed, m.Plan.Retired)}}
	}
	msg := fmt.Sprintf("%d user(s) still hold %s, so the old subscription was not suspended: %s", pool.Consumed, m.Plan.Retired, strings.Join(firstN(who, 10), "; "))
	return e.recordFailure(ctx, &st, errors.New(msg+". Fix them and retry, or an approver can override to suspend anyway"), FailureKindUsers)
}

// subscriptionWrite is one write to a subscription: what it is doing (for
// errors), how to tell from the subscription that it is done, and the call.
type subscriptionWrite struct {
	what string                  // "suspending", for "suspending subscription …"
	done func(Subscription) bool // Partner Center shows it done
	call func(PartnerCenter, context.Context, string, string, string) (Subscription, CallRef, error)
}

// fateActions is step C for each fate, written once.
var fateActions = map[OldFate]subscriptionWrite{
	FateSuspend: {"suspending", func(s Subscription) bool { return strings.EqualFold(s.Status, "suspended") }, PartnerCenter.Suspend},
	FateCancel:  {"cancelling", func(s Subscription) bool { return strings.EqualFold(s.Status, "deleted") }, PartnerCenter.Cancel},
	FateLeave:   {"turning auto-renew off for", func(s Subscription) bool { return !s.AutoRenew }, PartnerCenter.StopAutoRenew},
}

// fate is what step C does to m's old subscription; plans saved before
// there was a choice suspend.
func fate(m *Migration) OldFate { return cmp.Or(m.Plan.OldFate, FateSuspend) }

// writeOnce sends w to subscription subID as step st's write, exactly once.
// When an earlier attempt may have sent it (or always, with look), Partner
// Center is asked first, and a write it shows done is not sent again
// (reconciled says why). Before a first write, first (when set) checks the
// world: not sent yet, a subscription changed now is someone else's doing.
func (e *Engine) writeOnce(ctx context.Context, m *Migration, st *Step, subID string, w subscriptionWrite, look bool, first func() error) (sub Subscription, call CallRef, reconciled string, err error) {
	if look || st.Attempts > 0 || st.MSRequestID != "" {
		sub, err := e.PC.GetSubscription(ctx, m.CustomerID, subID)
		if err != nil {
			return Subscription{}, CallRef{}, "", e.failStep(ctx, st, "re-reading subscription "+subID, err)
		}
		if w.done(sub) {
			reconciled = "found done by an earlier attempt"
			if st.Attempts == 0 {
				reconciled = "already so"
			}
			return sub, CallRef{RequestID: st.MSRequestID}, reconciled, nil
		}
	} else if first != nil {
		if err := first(); err != nil {
			return Subscription{}, CallRef{}, "", err
		}
	}
	if err := e.beginWrite(ctx, m, st, true); err != nil {
		return Subscription{}, CallRef{}, "", err
	}
	sub, call, err = w.call(e.PC, ctx, m.CustomerID, subID, st.MSRequestID)
	if err != nil {
		return Subscription{}, call, "", e.failStep(ctx, st, w.what+" subscription "+subID, err)
	}
	return sub, call, "", nil
}

// suspend is step C: do to the old subscription what the plan says
// (suspend, cancel, or leave it to end), exactly once.
func (e *Engine) suspend(ctx context.Context, m *Migration) error {
	st, err := e.loadStep(ctx, m.ID, StepSuspend)
	if err != nil || st.State == StepDone {
		return err
	}
	act, ok := fateActions[fate(m)]
	if !ok {
		return e.recordFailure(ctx, &st, fmt.Errorf("the plan asks to %q the old subscription, which kaizalabot does not know how to do; make a new plan", m.Plan.OldFate), FailureKindPartnerCenter)
	}
	sub, call, reconciled, err := e.writeOnce(ctx, m, &st, m.SubscriptionID, act, false, func() error { return e.checkWorld(ctx, m, false) })
	if err != nil {
		return err
	}
	return e.suspended(ctx, m, &st, sub, call, reconciled)
}

// OldOutcome says what step C did to the old subscription and what that
// means for its billing, for the audit and the thread.
func OldOutcome(p Plan, at time.Time) (ends time.Time, billing string) {
	s := p.Subscription
	switch f := cmp.Or(p.OldFate, FateSuspend); {
	case f == FateSuspend && !s.NewCommerce:
		return DeletionDate(at, s.EndDate), "billing stopped (prorated credit); deleted at the end of its term or 90 days after suspension, whichever comes first"
	case f == FateSuspend:
		return s.EndDate, "suspended, but new-commerce billing continues to the end of the term"
	case f == FateCancel:
		return at, "cancelled inside its cancellation window: refunded for the seats Partner Center shows as refundable"
	}
	return s.EndDate, "auto-renew off: it ends on its end date and is billed until then"
}

func (e *Engine) suspended(ctx context.Context, m *Migration, st *Step, sub Subscription, call CallRef, reconciled string) error {
	ends, billing := OldOutcome(m.Plan, e.now())
	detail := map[string]any{"status": sub.Status, "fate": string(fate(m)), "endsOn": ends.Format("2006-01-02"), "billing": billing}
	if fate(m) == FateSuspend && !m.Plan.Subscription.NewCommerce {
		detail["deprovisionOn"] = ends.Format("2006-01-02")
	}
	if reconciled != "" {
		detail["reconciled"] = reconciled
	}
	entry := e.audit(m, System, ActionSuspended, detail)
	entry.MSRequestID, entry.MSCorrelationID = cmp.Or(call.RequestID, st.MSRequestID), call.CorrelationID
	if err := e.finishStep(ctx, m, st, StepDone, map[string]string{"fate": string(fate(m)), "endsOn": ends.Format("2006-01-02")}, entry); err != nil {
		return err
	}
	// What undo needs to know of it.
	m2, err := e.update(ctx, m.ID, func(m *Migration) (bool, error) {
		m.Outcome.OldSuspended, m.Outcome.OldAutoRenewOff = fate(m) == FateSuspend, fate(m) == FateLeave
		return true, nil
	})
	if err != nil {
		return err
	}
	*m = *m2
	e.publish(Event{Kind: EventSuspended, Migration: *m, Deprovision: ends, Message: billing})
	return nil
}
