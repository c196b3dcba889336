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

// The runner: the worker resumes every unfinished migration at start and
// runs each one approved, retried or overridden, in any process, until it
// is done, fails (a person must look), needs a new approval (the world
// changed), or the worker stops. Trouble that goes away by itself (the
// database refusing writes, Partner Center throttled or down, the lease not
// renewed in time) is waited out in place, with back-off; when it lasts the
// migration's thread is told what is wrong and that it will go on by itself.

// Start makes this engine the one that runs migrations, until ctx ends: it
// resumes every unfinished migration and watches for migrations approved in
// other processes. The worker calls it each time it takes the lease.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	e.base = ctx
	e.mu.Unlock()
	// The count is read before the list, so a migration approved elsewhere
	// in between is either listed or signalled after the count.
	seq, seqErr := e.Store.SignalSeq(ctx, SignalMigrations)
	if err := e.resumeAll(ctx, true); err != nil {
		return err
	}
	// Not counted by Wait, which waits for migrations: the watcher ends with ctx.
	go watchSignalFrom(ctx, e.Store, SignalMigrations, cmp.Or(e.WakePoll, 200*time.Millisecond), seq, seqErr, func(ctx context.Context) {
		if err := e.resumeAll(ctx, false); err != nil && ctx.Err() == nil {
			e.log().WithError(err).Warn("could not list the migrations to run; trying again at the next signal")
		}
	})
	return nil
}

// resumeAll launches every migration in a running state that is not
// running here yet; audit records the resumption (at start).
func (e *Engine) resumeAll(ctx context.Context, audit bool) error {
	ms, err := e.Store.ListMigrations(ctx, MigrationFilter{States: RunningStates})
	if err != nil {
		return fmt.Errorf("listing unfinished migrations: %w", err)
	}
	for _, m := range ms {
		if e.isRunning(m.ID) {
			continue
		}
		if audit {
			if err := e.Store.AppendAudit(ctx, e.audit(m, System, ActionResumed, map[string]any{"state": string(m.State)})); err != nil {
				return err
			}
		}
		e.launch(m.ID)
	}
	return nil
}

// Wait blocks until every migration the engine runs has stopped.
func (e *Engine) Wait() { e.wg.Wait() }

func (e *Engine) isRunning(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running[strings.ToLower(id)]
}

// launch runs migration id in the background if this engine runs
// migrations (it was started and its context has not ended); otherwise it
// wakes whichever process does, through the database.
func (e *Engine) launch(id string) {
	key := strings.ToLower(id)
	e.mu.Lock()
	ctx := e.base
	if ctx == nil || ctx.Err() != nil {
		e.mu.Unlock()
		e.wakeWorker()
		return
	}
	if e.running == nil {
		e.running = map[string]bool{}
	}
	if e.running[key] {
		// Running here already, maybe about to let it go (parked): it
		// runs once more after, so a change made meanwhile (an undo) is seen.
		if e.again == nil {
			e.again = map[string]bool{}
		}
		e.again[key] = true
		e.mu.Unlock()
		return
	}
	e.running[key] = true
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		for {
			if err := e.Run(ctx, id); err != nil && ctx.Err() == nil {
				log := e.log().WithError(err).WithField("migration", id)
				if errors.Is(err, ErrFenced) {
					log.Warn("another process is the worker now; it goes on with this migration")
				} else {
					log.Error("migration stopped")
				}
			}
			e.mu.Lock()
			if e.again[key] && ctx.Err() == nil {
				delete(e.again, key)
				e.mu.Unlock()
				continue
			}
			delete(e.again, key)
			delete(e.running, key)
			e.mu.Unlock()
			return
		}
	}()
}

// wakeWorker raises the signal the worker watches. It runs detached from any
// request (which may end right after), and is retried: a lost wake-up would
// leave an approved migration waiting for the next start.
func (e *Engine) wakeWorker() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		raise := func(ctx context.Context) error { return e.Store.RaiseSignal(ctx, SignalMigrations) }
		if err := RetryUntil(ctx, 200*time.Millisecond, 5*time.Second, raise, nil); err != nil {
			e.log().WithError(err).Error("could not wake the worker; the migration runs at its next start")
		}
	}()
}

// park looks at migration id again at until (Partner Center's time), or
// after RenewalPoll, whichever is sooner: a parked migration waits for a
// date, and also for changes only a look shows (its scheduled change
// deleted). A restart looks at once.
func (e *Engine) park(ctx context.Context, id string, until time.Time) {
	wait := min(max(until.Sub(e.PC.Clock()), time.Second), cmp.Or(e.RenewalPoll, time.Hour))
	key := strings.ToLower(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	// One timer per migration: a look made meanwhile (a signal, a scan)
	// parks it again, and the new timer replaces the old.
	if t := e.parked[key]; t != nil {
		t.Stop()
	}
	if e.parked == nil {
		e.parked = map[string]*time.Timer{}
	}
	var t *time.Timer
	t = time.AfterFunc(wait, func() {
		e.mu.Lock()
		if e.parked[key] == t {
			delete(e.parked, key)
		}
		e.mu.Unlock()
		if ctx.Err() == nil { // a stopped engine looks again at its next start
			e.launch(id)
		}
	})
	e.parked[key] = t
}

// WakeParked looks at every parked migration now (after a scan, which may
// have seen a scheduled change deleted).
func (e *Engine) WakeParked(ctx context.Context) error {
	ms, err := e.Store.ListMigrations(ctx, MigrationFilter{States: []State{StateAwaitingRenewal}})
	if err != nil {
		return err
	}
	for _, m := range ms {
		e.launch(m.ID)
	}
	return nil
}

// customerLock serialises the migrations of one customer.
func (e *Engine) customerLock(customerID string) *sync.Mutex {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.locks == nil {
		e.locks = map[string]*sync.Mutex{}
	}
	key := strings.ToLower(customerID)
	if e.locks[key] == nil {
		e.locks[key] = &sync.Mutex{}
	}
	return e.locks[key]
}

// Run drives a migration until it is done, fails, needs a new approval, or
// ctx ends. It is safe to call again after a crash: every step reconciles
// with Partner Center before writing.
func (e *Engine) Run(ctx context.Context, id string) error {
	ctx = WithUrgency(ctx)
	m := &Migration{ID: id} // until it is read: what a waiting notice names
	var trouble waitState
	for {
		got, err := e.Store.GetMigration(ctx, id)
		if err == nil {
			m = got
			break
		}
		if err = e.waitOut(ctx, m, &trouble, err); err != nil {
			return err
		}
	}
	// A batch's members take turns (batch.go) before the customer's lock,
	// so a member waiting for its turn holds up no one else's migration.
	release, err := e.batchSlot(ctx, m, &trouble)
	if err != nil {
		return err
	}
	defer release()
	lock := e.customerLock(m.CustomerID)
	lock.Lock()
	defer lock.Unlock()
	for {
		err := ctx.Err()
		if err == nil {
			var got *Migration
			if got, err = e.Store.GetMigration(ctx, id); err == nil {
				m = got
			}
		}
		if err == nil {
			if !m.State.Running() {
				return nil
			}
			err = e.advance(ctx, m)
		}
		var p *parked
		if errors.As(err, &p) {
			// Nothing to do until then: let the migration go (and its
			// customer's lock), and look again later.
			e.park(ctx, m.ID, p.until)
			return nil
		}
		if err = e.waitOut(ctx, m, &trouble, err); err != nil {
			return err
		}
	}
}

// waitState is a run of transient trouble.
type waitState struct {
	since  time.Time
	tries  int
	told   bool
	reason string
}

// waitOut decides what to do after a pass of the runner: nil to go on
// (after waiting, when the pass hit transient trouble), or the error that
// ends the run.
func (e *Engine) waitOut(ctx context.Context, m *Migration, w *waitState, err error) error {
	if err == nil {
		if w.told {
			e.publish(Event{Kind: EventGoingOn, Migration: *m, Message: "the trouble is over (" + w.reason + "); going on"})
		}
		*w = waitState{}
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, ErrFenced) || errors.Is(err, ErrNotFound) {
		return err
	}
	now := time.Now()
	if w.tries == 0 {
		w.since = now
	}
	w.tries++
	w.reason = e.troubleWords(err)
	e.log().WithError(err).WithFields(map[string]any{"migration": m.ID, "attempt": w.tries}).Warn("waiting out trouble; the migration goes on by itself")
	if !w.told && now.Sub(w.since) >= cmp.Or(e.WaitNotice, 10*time.Second) {
		w.told = true
		e.publish(Event{Kind: EventWaiting, Migration: *m, Message: w.reason})
	}
	if giveUp := cmp.Or(e.GiveUpAfter, 24*time.Hour); now.Sub(w.since) >= giveUp {
		cause := fmt.Errorf("gave up after %s of trouble: %s", giveUp.Round(time.Minute), w.reason)
		return e.stop(ctx, m, m.row().Step, &stepFailure{err: cause, kind: FailureKindTimeout})
	}
	backoff := min(cmp.Or(e.RetryBackoff, 500*time.Millisecond)<<min(w.tries-1, 4), cmp.Or(e.MaxRetryBackoff, 5*time.Second))
	sleep(ctx, backoff)
	return ctx.Err()
}

// troubleWords says in a few words what a transient failure is about.
func (e *Engine) troubleWords(err error) string {
	var te *transientError
	switch {
	case errors.As(err, &te) && te.what != "":
		return te.what + ": " + te.err.Error()
	case errors.Is(err, ErrLeaseLapsed):
		return "the worker lease could not be renewed, so nothing is sent to Partner Center until the database answers again"
	case e.PC.Classify(err) == FailureRetryable:
		return "Partner Center is not answering (throttled or down): " + err.Error()
	}
	return "the database or Partner Center is not answering: " + err.Error()
}

// advance runs the step of m's state and moves m to the next state. An
// error it returns is transient trouble (or a lost lease): Run waits and
// calls it again.
func (e *Engine) advance(ctx context.Context, m *Migration) error {
	row := m.row()
	if row.Run != nil {
		if err := row.Run(e, ctx, m); err != nil {
			return e.settle(ctx, m, row.Step, err)
		}
	}
	to := row.Next
	var entries []AuditEntry
	switch to {
	case StateDone:
		entries = append(entries, e.audit(m, System, ActionDone, map[string]any{
			"newSubscriptionId": m.NewSubscriptionID, "suspendedSubscriptionId": m.SubscriptionID, "strategy": string(m.Plan.Path()),
		}))
	case StateUndone:
		entries = append(entries, e.audit(m, System, ActionUndone, map[string]any{
			"cancelledSubscriptionId": m.NewSubscriptionID, "subscriptionId": m.SubscriptionID, "strategy": string(m.Plan.Path()),
		}))
	}
	from := m.State
	m2, err := e.update(ctx, m.ID, func(m *Migration) (bool, error) {
		if m.State != from {
			return false, nil
		}
		m.State = to
		return true, nil
	}, entries...)
	if err != nil {
		return err
	}
	switch {
	case to == StateDone && m2.State == StateDone:
		e.publish(Event{Kind: EventDone, Migration: *m2})
	case to == StateUndone && m2.State == StateUndone:
		e.publish(Event{Kind: EventUndone, Migration: *m2, Message: undoneWords(m2)})
	}
	return nil
}

// settle turns a step's error into what happens next: a new approval (the
// world changed), a failure for a person to look at, or transient trouble
// returned to Run to wait out.
func (e *Engine) settle(ctx context.Context, m *Migration, step StepName, err error) error {
	var stale *staleError
	var failed *stepFailure
	switch err = e.classify(err); {
	case errors.As(err, &stale), errors.As(err, &failed):
		return e.stop(ctx, m, step, err)
	}
	return err
}

// staleError says the world changed since the plan was approved.
type staleError struct{ changes []string }

func (s *staleError) Error() string { return strings.Join(s.changes, "; ") }

// stepFailure is a failure a person must look at: the migration fails at
// its step, with what kind of trouble it was.
type stepFailure struct {
	err  error
	kind FailureKind
}

func (f *stepFailure) Error() string { return f.err.Error() }
func (f *stepFailure) Unwrap() error { return f.err }

// transientError is trouble that goes away by itself; what says what was
// being done.
type transientError struct {
	what string
	err  error
}

func (t *transientError) Error() string {
	if t.what == "" {
		return t.err.Error()
	}
	return t.what + ": " + t.err.Error()
}
func (t *transientError) Unwrap() error { return t.err }

// classify sorts an error once: a changed world and failures pass as they
// are; Partner Center's refusals become failures of their kind; everything
// else (throttling, outages, the database refusing writes, the lease not
// renewed in time) is transient.
func (e *Engine) classify(err error) error {
	var stale *staleError
	var failed *stepFailure
	var transient *transientError
	var p *parked
	switch {
	case errors.As(err, &stale), errors.As(err, &failed), errors.As(err, &transient), errors.As(err, &p),
		errors.Is(err, ErrFenced), errors.Is(err, ErrLeaseLapsed), errors.Is(err, context.Canceled):
		return err
	}
	switch e.PC.Classify(err) {
	case FailureAuth:
		return &stepFailure{err: err, kind: FailureKindAccess}
	case FailureBusiness, FailureConflict:
		return &stepFailure{err: err, kind: FailureKindPartnerCenter}
	}
	return err
}

// stop records why a step did not finish: the world changed (a new approval
// is needed), or it failed (a person may retry). When ctx ended (shutdown)
// nothing is recorded: the step resumes on the next start.
func (e *Engine) stop(ctx context.Context, m *Migration, step StepName, cause error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var stale *staleError
	state, action, kind := StateFailed, ActionFailed, EventFailed
	msg := cause.Error()
	failure := FailureKindPartnerCenter
	var failed *stepFailure
	if errors.As(cause, &failed) {
		failure = failed.kind
	}
	if failure == FailureKindAccess {
		if words := accessWords(e.PC, Customer{ID: m.CustomerID, Name: m.CustomerName, Domain: m.CustomerDomain}, cause); words != "" {
			msg = words + " (" + msg + ")"
		}
	}
	if errors.As(cause, &stale) {
		state, action, kind, failure = StateNeedsApproval, ActionStale, EventNeedsApproval, FailureKindNone
		msg = "the world changed since the plan was approved: " + msg
	}
	m, err := e.update(ctx, m.ID, func(m *Migration) (bool, error) {
		if !m.State.Running() {
			return false, nil
		}
		m.State, m.FailedStep, m.Error, m.FailureKind = state, step, msg, failure
		return true, nil
	}, e.audit(m, System, action, map[string]any{"step": string(step), "error": msg, "failureKind": string(failure)}))
	if err != nil {
		return err
	}
	e.publish(Event{Kind: kind, Migration: *m, Message: msg})
	return nil
}

type urgentKey struct{}

// WithUrgency marks ctx as the work of an approved migration: its Partner
// Center calls go ahead of those for plans and scans, so that nobody can
// slow a migration down by asking for plans.
func WithUrgency(ctx context.Context) context.Context {
	return context.WithValue(ctx, urgentKey{}, true)
}

// IsUrgent reports whether ctx is marked by WithUrgency.
func IsUrgent(ctx context.Context) bool { v, _ := ctx.Value(urgentKey{}).(bool); return v }
