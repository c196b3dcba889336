package bot_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// refusingPC applies a purchase and then answers it with a definite 400, as
// when the first attempt's answer is cut and the client's retry is refused;
// and it hides the purchase from the first look, as a Partner Center that
// has not caught up yet would.
type refusingPC struct {
	bot.PartnerCenter
	refused atomic.Bool
	hidden  atomic.Int32
}

var refusal = &pcclient.APIError{StatusCode: 400, Code: "2000", Description: "The request is invalid.", Method: "POST", Path: "/v1/customers/x/orders"}

func (r *refusingPC) BuyLegacy(ctx context.Context, customerID string, t bot.Target, seats int, tag, requestID string) (bot.Order, bot.CallRef, error) {
	o, ref, err := r.PartnerCenter.BuyLegacy(ctx, customerID, t, seats, tag, requestID)
	if err == nil && r.refused.CompareAndSwap(false, true) {
		return bot.Order{}, ref, refusal
	}
	return o, ref, err
}

func (r *refusingPC) Checkout(ctx context.Context, customerID, cartID, requestID string) ([]bot.Order, bot.CallRef, error) {
	o, ref, err := r.PartnerCenter.Checkout(ctx, customerID, cartID, requestID)
	if err == nil && r.refused.CompareAndSwap(false, true) {
		return nil, ref, refusal
	}
	return o, ref, err
}

func (r *refusingPC) FindPurchase(ctx context.Context, customerID, tag string) (*bot.Subscription, error) {
	if r.hidden.Add(-1) >= 0 {
		return nil, nil
	}
	return r.PartnerCenter.FindPurchase(ctx, customerID, tag)
}

// Acceptance 3 of "no second purchase": the purchase was applied, its answer
// lost, the retry answered 400. Through a cart, the engine sees the cart
// checked out and checks out again (the same answer, per cart): it goes on
// by itself. Through a legacy order, the migration fails and Retry is
// clicked; a retry must look for the purchase first. Exactly one purchase
// either way.
func TestARefusedRetryAfterALostAnswerStillBuysOnce(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(map[bool]string{false: "cart", true: "legacy order"}[legacy], func(t *testing.T) {
			pc := &refusingPC{}
			pc.hidden.Store(1) // the look right after the refusal finds nothing yet
			h := newHarness(t, harnessOptions{
				sim: func(o *pcsim.Options) { o.LegacyPurchases = legacy },
				engine: func(e *bot.Engine) {
					pc.PartnerCenter = e.PC
					e.PC = pc
					if legacy {
						e.Catalog = legacyCatalog(t, "STANDARDPACK")
					}
				},
			})
			f := h.expiring(false)
			m := h.plan(f, "STANDARDPACK", 0)
			h.approve(m, boss)
			settled := h.settle(m.ID)
			if got := h.sim.Stats().OrdersCreated; got != 1 {
				t.Fatalf("orders created = %d, want 1 (the refused one was applied)", got)
			}
			if !legacy {
				if settled.State != bot.StateDone {
					t.Fatalf("after a refused checkout of a checked-out cart the migration is %s (%s); want done", settled.State, settled.Error)
				}
				h.checkFinishedOnce(m, f)
				return
			}
			if settled.State != bot.StateFailed || settled.FailedStep != bot.StepBuy {
				t.Fatalf("after the refusal the migration is %s at %s (%s); want failed at buy", settled.State, settled.FailedStep, settled.Error)
			}
			if _, refusal, err := h.engine.Retry(context.Background(), m.ID, "", sales); refusal != "" || err != nil {
				t.Fatalf("retry: %q %v", refusal, err)
			}
			h.checkFinishedOnce(m, f)
		})
	}
}

// legacyCatalog is the default catalog with the named target bought the 2020
// way, by its legacy offer (for a sandbox with LegacyPurchases).
func legacyCatalog(t *testing.T, part string) *bot.Catalog {
	t.Helper()
	c := bot.DefaultCatalog()
	for i := range c.Targets {
		if c.Targets[i].SkuPartNumber == part {
			c.Targets[i].Legacy = true
			return c
		}
	}
	t.Fatalf("no target %s", part)
	return nil
}

// Acceptance 4: an approval binds to the plan it was given on. Approve
// captured on plan v1, the world changed, the plan redone as v2, the v1 click
// replayed: refused, nothing bought; a click on v2's button then runs it.
func TestAnApprovalOfAnOldPlanIsRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	f := h.expiring(false)
	v1 := h.plan(f, "STANDARDPACK", 0)
	// The world changes before the purchase: the customer adds seats to
	// the old subscription, so the approved plan is stale.
	if _, err := h.client.UpdateSubscription(ctx, f.Customer.ID, f.Subscription.ID, func(fields map[string]any) (bool, error) {
		pcclient.SetField(fields, "quantity", f.Subscription.Quantity+150)
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, refusal, err := h.engine.Approve(ctx, v1.ID, v1.PlanHash, boss); refusal != "" || err != nil {
		t.Fatalf("approving v1: %q %v", refusal, err)
	}
	if got := h.settle(v1.ID); got.State != bot.StateNeedsApproval {
		t.Fatalf("after the change the migration is %s (%s), want needs_new_approval", got.State, got.Error)
	}
	v2, refusal, err := h.engine.Retry(ctx, v1.ID, v1.PlanHash, sales)
	if err != nil || refusal != "" || v2.PlanHash == v1.PlanHash {
		t.Fatalf("replanning: %q %v (hash %s → %s)", refusal, err, v1.PlanHash, v2.PlanHash)
	}
	// The captured click on v1 is replayed.
	res, refusal, err := h.engine.Approve(ctx, v1.ID, v1.PlanHash, boss)
	if err != nil || !strings.Contains(refusal, "This plan changed") || res.Started {
		t.Fatalf("replayed v1 approval: %+v %q %v; want a refusal that the plan changed", res, refusal, err)
	}
	for _, decide := range []func() (string, error){
		func() (string, error) {
			_, r, err := h.engine.Reject(ctx, v1.ID, v1.PlanHash, boss, "old plan")
			return r, err
		},
		func() (string, error) { _, r, err := h.engine.Retry(ctx, v1.ID, v1.PlanHash, boss); return r, err },
		func() (string, error) { _, r, err := h.engine.Override(ctx, v1.ID, v1.PlanHash, boss); return r, err },
	} {
		if refusal, err := decide(); err != nil || !strings.Contains(refusal, "This plan changed") {
			t.Errorf("a decision on the old plan: %q %v; want refused", refusal, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if got, _ := h.db.GetMigration(ctx, v1.ID); got.State != bot.StatePendingApproval {
		t.Fatalf("after the replayed click the migration is %s, want still pending approval", got.State)
	}
	if got := h.sim.Stats().OrdersCreated; got != 0 {
		t.Fatalf("orders created = %d after the replayed click, want 0", got)
	}
	if _, refusal, err := h.engine.Approve(ctx, v2.ID, v2.PlanHash, boss); refusal != "" || err != nil {
		t.Fatalf("approving v2: %q %v", refusal, err)
	}
	done := h.settle(v2.ID)
	if done.State != bot.StateDone {
		t.Fatalf("v2 ended %s: %s", done.State, done.Error)
	}
	if got := h.sim.Stats().OrdersCreated; got != 1 {
		t.Errorf("orders created = %d, want 1 (v2's)", got)
	}
}

// Acceptance 5: the database locked for a while in the middle of a
// migration: it goes on by itself after the lock is released, and the
// thread is told it was waiting.
func TestALockedDatabaseIsWaitedOut(t *testing.T) {
	if testing.Short() {
		t.Skip("holds the database locked for seconds; skipped with -short")
	}
	var lockOnce sync.Once
	locked := make(chan *sql.Tx, 1)
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) {
		e.WaitNotice, e.RetryBackoff, e.MaxRetryBackoff = time.Second, 100*time.Millisecond, time.Second
	}})
	lockDB, err := sql.Open("sqlite3", "file:"+h.dbPath+"?_busy_timeout=100")
	if err != nil {
		t.Fatal(err)
	}
	defer lockDB.Close()
	h.events.hook = func(e bot.Event) {
		if e.Kind == bot.EventSeatsReady {
			lockOnce.Do(func() {
				// Another connection takes the write lock and keeps it.
				tx, err := lockDB.BeginTx(context.Background(), nil)
				if err == nil {
					_, err = tx.Exec(`INSERT INTO settings (key, value, updated_at) VALUES ('lock', 'x', 'x') ON CONFLICT (key) DO UPDATE SET value = 'y'`)
				}
				if err != nil {
					t.Errorf("locking the database: %v", err)
				}
				locked <- tx
			})
		}
	}
	f := h.expiring(false)
	m := h.plan(f, "STANDARDPACK", 0)
	h.approve(m, boss)
	tx := <-locked
	deadline := time.Now().Add(30 * time.Second)
	for !h.events.has(m.ID, bot.EventWaiting) {
		if time.Now().After(deadline) {
			t.Fatal("no waiting event while the database was locked")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, _ := h.db.GetMigration(context.Background(), m.ID); !got.State.Running() {
		t.Fatalf("while the database is locked the migration is %s (%s); want still running", got.State, got.Error)
	}
	time.Sleep(2 * time.Second) // locked a while longer
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	released := time.Now()
	h.checkFinishedOnce(m, f)
	if took := time.Since(released); took > 60*time.Second {
		t.Errorf("finished %s after the lock was released, want within 60s", took)
	}
	if !h.events.has(m.ID, bot.EventGoingOn) {
		t.Error("no going-on event after the lock was released")
	}
}

// Planning is not done twice at once, and one person has only a few plans
// in the works: asking again and again cannot spend the Partner Center budget.
func TestPlansAreNotWorkedOutTwiceAtOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: func(o *pcsim.Options) { o.Latency = 20 * time.Millisecond }})
	f := h.expiring(false)
	before := h.sim.Stats().Requests
	var wg sync.WaitGroup
	var planned, busy atomic.Int32
	for range 50 {
		wg.Go(func() {
			m, refusal, err := h.engine.Plan(context.Background(), bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: "STANDARDPACK", Requester: sales})
			switch {
			case err != nil:
				t.Errorf("plan: %v", err)
			case m != nil:
				planned.Add(1)
			case strings.Contains(refusal, "already being worked out"), strings.Contains(refusal, "already pending approval"):
				busy.Add(1)
			default:
				t.Errorf("refusal %q", refusal)
			}
		})
	}
	wg.Wait()
	if planned.Load() != 1 || busy.Load() != 49 {
		t.Errorf("%d planned, %d refused as busy; want 1 and 49", planned.Load(), busy.Load())
	}
	one := h.sim.Stats().Requests - before
	// A second plan's worth for comparison: another subscription.
	g := h.expiring(false, f.Customer.ID)
	before = h.sim.Stats().Requests
	h.plan(g, "STANDARDPACK", 0)
	other := h.sim.Stats().Requests - before
	if one > 2*max(other, 1)+2 {
		t.Errorf("50 requests for one plan made %d Partner Center calls; one plan takes about %d", one, other)
	}
}

func TestOnePersonHasAFewPlansInTheWorks(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, harnessOptions{})
	db := h.db
	until := time.Now().Add(time.Minute)
	for i, sub := range []string{"SUB-A", "SUB-B"} {
		if c, err := db.ClaimPlanning(ctx, sub, sales.ID, 2, until); err != nil || !c.Claimed {
			t.Fatalf("claim %d: %+v %v", i, c, err)
		}
	}
	if c, err := db.ClaimPlanning(ctx, "SUB-C", sales.ID, 2, until); err != nil || c.Claimed || c.TooMany != 2 {
		t.Errorf("a third plan in the works: %+v %v; want refused with TooMany 2", c, err)
	}
	if c, err := db.ClaimPlanning(ctx, "SUB-A", boss.ID, 2, until); err != nil || c.Claimed || !c.Busy || c.BusyBy != sales.ID {
		t.Errorf("someone else planning SUB-A: %+v %v; want Busy by %s", c, err, sales.ID)
	}
	if err := db.ReleasePlanning(ctx, "SUB-A"); err != nil {
		t.Fatal(err)
	}
	if c, err := db.ClaimPlanning(ctx, "SUB-C", sales.ID, 2, until); err != nil || !c.Claimed {
		t.Errorf("after one is done: %+v %v; want claimed", c, err)
	}
	if c, err := db.ClaimPlanning(ctx, "SUB-D", other.ID, 2, time.Now().Add(-time.Second)); err != nil || !c.Claimed {
		t.Fatalf("claim: %+v %v", c, err)
	}
	if c, err := db.ClaimPlanning(ctx, "SUB-D", boss.ID, 2, until); err != nil || !c.Claimed {
		t.Errorf("a claim past its time is abandoned: %+v %v; want taken over", c, err)
	}
}

// Override is offered for users who could not be moved, never after a
// failure of access.
func TestOverrideOnlyWhenUsersCouldNotBeMoved(t *testing.T) {
	pc := &deniedPC{}
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) { pc.PartnerCenter = e.PC; e.PC = pc }})
	f := h.expiring(false)
	m := h.plan(f, "STANDARDPACK", 0)
	h.approve(m, boss)
	failed := h.settle(m.ID)
	if failed.State != bot.StateFailed || failed.FailedStep != bot.StepMoveUsers || failed.FailureKind != bot.FailureKindAccess {
		t.Fatalf("got %s at %s (%s), kind %q; want failed at move_users for access", failed.State, failed.FailedStep, failed.Error, failed.FailureKind)
	}
	if _, refusal, err := h.engine.Override(context.Background(), m.ID, m.PlanHash, lead); err != nil || !strings.Contains(refusal, "only helps when users could not be moved") {
		t.Errorf("override after an access failure: %q %v; want refused", refusal, err)
	}
}

// deniedPC refuses every licence change as Partner Center does without a
// GDAP role: 403.
type deniedPC struct{ bot.PartnerCenter }

func (d *deniedPC) SwapLicence(ctx context.Context, customerID, userID, assign, remove, requestID string) (bot.CallRef, error) {
	return bot.CallRef{}, &pcclient.APIError{StatusCode: 403, Code: "900308", Description: "Missing GDAP role", Method: "POST", Path: "/v1/customers/x/users/y/licenseupdates"}
}

// A store write under a fence that is no longer the lease's is refused, and
// so is a step claimed twice.
func TestFencedWritesAfterATakeoverAreRefused(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, harnessOptions{})
	a, err := h.db.AcquireLease(ctx, bot.WorkerLease, "process-a", 50*time.Millisecond)
	if err != nil || !a.Held || a.Epoch != 1 {
		t.Fatalf("a takes the lease: %+v %v", a, err)
	}
	if b, err := h.db.AcquireLease(ctx, bot.WorkerLease, "process-b", time.Minute); err != nil || b.Held || b.Holder != "process-a" {
		t.Fatalf("b while a holds it: %+v %v; want not held", b, err)
	}
	time.Sleep(60 * time.Millisecond)
	b, err := h.db.AcquireLease(ctx, bot.WorkerLease, "process-b", time.Minute)
	if err != nil || !b.Held || b.Epoch != 2 {
		t.Fatalf("b after a's lease expired: %+v %v; want held at epoch 2", b, err)
	}
	stale := bot.WithFence(ctx, bot.Fence{Name: bot.WorkerLease, Holder: "process-a", Epoch: 1})
	if err := h.db.AppendAudit(stale, bot.AuditEntry{Action: "test.stale"}); !errors.Is(err, bot.ErrFenced) {
		t.Errorf("a write under a's old fence: %v, want ErrFenced", err)
	}
	if _, err := h.db.ClaimAlert(stale, "SUB", "CUST", 30); !errors.Is(err, bot.ErrFenced) {
		t.Errorf("an alert claimed under a's old fence: %v, want ErrFenced", err)
	}
	current := bot.WithFence(ctx, bot.Fence{Name: bot.WorkerLease, Holder: "process-b", Epoch: 2})
	if err := h.db.AppendAudit(current, bot.AuditEntry{Action: "test.current"}); err != nil {
		t.Errorf("a write under b's fence: %v", err)
	}
	if a2, err := h.db.AcquireLease(ctx, bot.WorkerLease, "process-a", time.Minute); err != nil || a2.Held {
		t.Errorf("a renewing after the takeover: %+v %v; want not held", a2, err)
	}
	if err := h.db.ReleaseLease(ctx, bot.WorkerLease, "process-b", 2); err != nil {
		t.Fatal(err)
	}
	if a3, err := h.db.AcquireLease(ctx, bot.WorkerLease, "process-a", time.Minute); err != nil || !a3.Held || a3.Epoch != 3 {
		t.Errorf("a after b released: %+v %v; want held at epoch 3", a3, err)
	}
}

// Two workers on one database: one works; when it stops, the other takes
// over; a worker whose lease was taken stops working.
func TestOneWorkerAtATime(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	var working [2]atomic.Int32
	var active atomic.Int32
	var overlap atomic.Bool
	newWorker := func(i int) *bot.Worker {
		return &bot.Worker{Leases: h.db, TTL: 300 * time.Millisecond, Work: func(ctx context.Context) {
			if active.Add(1) > 1 {
				overlap.Store(true)
			}
			working[i].Add(1)
			<-ctx.Done()
			active.Add(-1)
		}}
	}
	w0, w1 := newWorker(0), newWorker(1)
	ctx0, stop0 := context.WithCancel(context.Background())
	ctx1, stop1 := context.WithCancel(context.Background())
	defer stop1()
	done0 := make(chan struct{})
	go func() { defer close(done0); w0.Run(ctx0) }()
	waitFor(t, "w0 to be the worker", func() bool { return w0.Status().IsWorker })
	go w1.Run(ctx1)
	time.Sleep(time.Second)
	if w1.Status().IsWorker || working[1].Load() != 0 {
		t.Fatal("w1 works while w0 holds the lease")
	}
	stop0()
	<-done0
	// w0 released the lease: w1 takes over well before the TTL would lapse.
	start := time.Now()
	waitFor(t, "w1 to take over", func() bool { return w1.Status().IsWorker })
	if took := time.Since(start); took > 400*time.Millisecond {
		t.Errorf("took over %s after a release", took)
	}
	if overlap.Load() {
		t.Error("both worked at once")
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *eventLog) has(migrationID string, kind bot.EventKind) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e.Migration.ID == migrationID && e.Kind == kind {
			return true
		}
	}
	return false
}

// flakyReads fails the runner's reads of the migration a few times, as a
// database with trouble would.
type flakyReads struct {
	bot.Store
	reads atomic.Int32
	fails atomic.Int32
}

func (f *flakyReads) GetMigration(ctx context.Context, id string) (*bot.Migration, error) {
	// The first read of a run succeeds; the next ones, between steps, fail.
	if bot.IsUrgent(ctx) && f.reads.Add(1) > 1 && f.fails.Add(-1) >= 0 {
		return nil, errors.New("disk I/O error")
	}
	return f.Store.GetMigration(ctx, id)
}

// A migration whose own record cannot be read for a while waits and goes on.
func TestAnUnreadableMigrationIsWaitedOut(t *testing.T) {
	flaky := &flakyReads{}
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) {
		flaky.Store = e.Store
		e.Store, e.RetryBackoff, e.MaxRetryBackoff = flaky, 10*time.Millisecond, 50*time.Millisecond
	}})
	f := h.expiring(false)
	m := h.plan(f, "STANDARDPACK", 0)
	flaky.fails.Store(5)
	h.approve(m, boss)
	h.checkFinishedOnce(m, f)
	if n := flaky.fails.Load(); n >= 0 {
		t.Errorf("%d failures left unused; the test did not exercise the runner's reads", n+1)
	}
}

// Every subscription change answered 202 with an empty body (the sandbox's
// documented asynchronous answer): the suspension is done only once Partner
// Center shows it.
func TestEveryChangeAnsweredLaterStillFinishesOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{sim: func(o *pcsim.Options) { o.AsyncPatchRate = 1 }})
	f := h.expiring(false)
	m := h.plan(f, "STANDARDPACK", 0)
	h.approve(m, boss)
	h.checkFinishedOnce(m, f)
}
