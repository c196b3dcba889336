package bot_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kaizalabot/kaizalabot/bot"
)

// checkFinishedOnce asserts the end state every crash test wants: done, one
// purchase, every user moved, the old subscription suspended, an intact chain.
func (h *harness) checkFinishedOnce(m *bot.Migration, f bot.Finding) {
	h.t.Helper()
	done := h.settle(m.ID)
	if done.State != bot.StateDone {
		h.t.Fatalf("state %s at %s: %s", done.State, done.FailedStep, done.Error)
	}
	if got := h.sim.Stats().OrdersCreated; got != 1 {
		h.t.Errorf("orders created = %d, want exactly 1", got)
	}
	for _, u := range m.Plan.Move {
		if skus := h.skus(f.Customer.ID, u.ID); !slices.Contains(skus, e1Sku) || slices.Contains(skus, kaizalaSku) {
			h.t.Errorf("%s holds %v", u.UPN, skus)
		}
	}
	if old := h.subscription(f.Customer.ID, f.Subscription.ID); old.Status != "suspended" {
		h.t.Errorf("old subscription is %s", old.Status)
	}
	if v, err := h.db.VerifyAudit(context.Background()); err != nil || !v.OK {
		h.t.Errorf("audit chain: %+v %v", v, err)
	}
}

// restart starts a fresh engine on the same database, as a new process would.
func (h *harness) restart() {
	h.t.Helper()
	h.cancel()
	h.engine.Wait()
	h.engine = h.newEngine(nil)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	if err := h.engine.Start(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// A crash at each step boundary: the engine stops right after an event and a
// new one resumes from the database.
func TestCrashAtEveryStepBoundaryResumes(t *testing.T) {
	for _, at := range []bot.EventKind{bot.EventStarted, bot.EventBought, bot.EventSeatsReady, bot.EventUserMoved, bot.EventSuspended} {
		t.Run(string(at), func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			var once sync.Once
			h.events.hook = func(e bot.Event) {
				if e.Kind == at {
					once.Do(h.cancel)
				}
			}
			f := h.expiring(false)
			m := h.plan(f, "STANDARDPACK", 0)
			h.approve(m, boss)
			h.engine.Wait()
			if got, _ := h.db.GetMigration(context.Background(), m.ID); !got.State.Running() && got.State != bot.StateDone {
				t.Fatalf("after the crash the migration is %s: %s", got.State, got.Error)
			}
			h.events.hook = nil
			h.restart()
			h.checkFinishedOnce(m, f)
		})
	}
}

// lossyPC applies a write and then loses its answer, as a crash between
// sending and saving would: the engine learns nothing and stops.
type lossyPC struct {
	bot.PartnerCenter
	lose   string
	cancel func()
	once   sync.Once
}

func (l *lossyPC) lost(what string) bool {
	hit := false
	if l.lose == what {
		l.once.Do(func() { hit = true; l.cancel() })
	}
	return hit
}

func (l *lossyPC) CreateCart(ctx context.Context, customerID string, t bot.Target, seats int, tag, requestID string) (bot.Cart, error) {
	c, err := l.PartnerCenter.CreateCart(ctx, customerID, t, seats, tag, requestID)
	if err == nil && l.lost("cart") {
		return bot.Cart{}, context.Canceled
	}
	return c, err
}

func (l *lossyPC) Checkout(ctx context.Context, customerID, cartID, requestID string) ([]bot.Order, bot.CallRef, error) {
	o, ref, err := l.PartnerCenter.Checkout(ctx, customerID, cartID, requestID)
	if err == nil && l.lost("buy") {
		return nil, bot.CallRef{}, context.Canceled
	}
	return o, ref, err
}

func (l *lossyPC) SwapLicence(ctx context.Context, customerID, userID, assign, remove, requestID string) (bot.CallRef, error) {
	ref, err := l.PartnerCenter.SwapLicence(ctx, customerID, userID, assign, remove, requestID)
	if err == nil && l.lost("swap") {
		return bot.CallRef{}, context.Canceled
	}
	return ref, err
}

func (l *lossyPC) Suspend(ctx context.Context, customerID, subscriptionID, requestID string) (bot.Subscription, bot.CallRef, error) {
	s, ref, err := l.PartnerCenter.Suspend(ctx, customerID, subscriptionID, requestID)
	if err == nil && l.lost("suspend") {
		return bot.Subscription{}, bot.CallRef{}, context.Canceled
	}
	return s, ref, err
}

func TestACrashBetweenSendingAndSavingNeverWritesTwice(t *testing.T) {
	for _, lose := range []string{"cart", "buy", "swap", "suspend"} {
		t.Run(lose, func(t *testing.T) {
			lossy := &lossyPC{lose: lose}
			h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) { lossy.PartnerCenter = e.PC; e.PC = lossy }})
			lossy.cancel = h.cancel
			f := h.expiring(false)
			m := h.plan(f, "STANDARDPACK", 0)
			h.approve(m, boss)
			h.engine.Wait()
			h.restart()
			h.checkFinishedOnce(m, f)
			entries, err := h.db.Audit(context.Background(), bot.AuditFilter{MigrationID: m.ID})
			if err != nil {
				t.Fatal(err)
			}
			reconciled := false
			for _, e := range entries {
				if r, ok := e.Detail["reconciled"].(string); ok && r != "" {
					reconciled = true
				}
			}
			if lose != "suspend" && lose != "cart" && !reconciled {
				t.Error("the history should say the lost write was found after the restart")
			}
			if lose == "swap" && strings.Count(strings.Join(actions(entries), ","), bot.ActionUserMoved) != len(m.Plan.Move) {
				t.Errorf("want one user.moved row per user, got %v", actions(entries))
			}
		})
	}
}

func actions(entries []bot.AuditEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

// crashyStore stops the process (cancels the engine) just after the first
// user move is saved, the window in which a SIGKILL leaves only some of a
// migration's moves in the journal.
type crashyStore struct {
	bot.Store
	cancel func()
	saved  int
	mu     sync.Mutex
}

func (c *crashyStore) SaveUserMove(ctx context.Context, mv bot.UserMove, audit ...bot.AuditEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.saved == 1 {
		c.cancel()
		return context.Canceled
	}
	c.saved++
	return c.Store.SaveUserMove(ctx, mv, audit...)
}

func TestACrashWhileCreatingTheUserMovesStillMovesEveryone(t *testing.T) {
	crashy := &crashyStore{}
	h := newHarness(t, harnessOptions{engine: func(e *bot.Engine) { crashy.Store = e.Store; e.Store = crashy }})
	crashy.cancel = h.cancel
	f := h.expiring(false)
	m := h.plan(f, "STANDARDPACK", 0)
	if len(m.Plan.Move) < 2 {
		t.Fatalf("the test needs a plan with at least two users, got %d", len(m.Plan.Move))
	}
	h.approve(m, boss)
	h.engine.Wait()
	if moves, _ := h.db.UserMoves(context.Background(), m.ID); len(moves) != 1 {
		t.Fatalf("after the crash %d moves are journalled, want 1 (the crash should interrupt their creation)", len(moves))
	}
	h.restart()
	h.checkFinishedOnce(m, f)
}
