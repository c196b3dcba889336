package bot_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/internal/pctest"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
	"github.com/kaizalabot/kaizalabot/storage"
)

// TestMain lets the test binary play the bot's process: with
// KAIZALABOT_ENGINE_CHILD set it opens the database, resumes every
// unfinished migration, and exits when none is left running.
func TestMain(m *testing.M) {
	if os.Getenv("KAIZALABOT_ENGINE_CHILD") != "" {
		os.Exit(runEngineChild(os.Getenv("KAIZALABOT_PC_URL"), os.Getenv("KAIZALABOT_DB")))
	}
	os.Exit(m.Run())
}

func runEngineChild(pcURL, dbPath string) int {
	ctx := context.Background()
	db, err := storage.Open(ctx, dbPath, storage.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	defer db.Close()
	client, err := pctest.Client(pcURL, true, func(c *pcclient.Config) { c.MaxAttempts, c.MaxBackoff = 20, 500*time.Millisecond })
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	var pc bot.PartnerCenter = pcclient.Adapter{Client: client}
	if at := os.Getenv("KAIZALABOT_KILL_AT"); at != "" {
		pc = &selfKillingPC{PartnerCenter: pc, at: at}
	}
	e := &bot.Engine{PC: pc, Store: db, Catalog: bot.DefaultCatalog(), SeatPoll: 100 * time.Millisecond, SeatTimeout: time.Minute,
		ProvisionPoll: 100 * time.Millisecond}
	if err := e.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	e.Wait()
	return 0
}

func TestSIGKILLTwiceInTheMiddleOfAMigration(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	for _, fault := range []float64{0, 0.1} {
		t.Run(fmt.Sprintf("fault rate %.1f", fault), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOptions{sim: func(o *pcsim.Options) {
				o.Latency = 250 * time.Millisecond
				o.FaultRate = fault
			}, client: func(c *pcclient.Config) { c.MaxAttempts = 20 }})
			f, m := h.approvedForChildren()

			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
			for kill := 1; kill <= 2; kill++ {
				child := h.startChild(t)
				time.Sleep(time.Duration(300+rng.IntN(1700)) * time.Millisecond)
				_ = child.Process.Kill() // SIGKILL
				_ = child.Wait()
				got, err := h.db.GetMigration(context.Background(), m.ID)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("SIGKILL %d: migration was %s", kill, got.State)
			}
			child := h.startChild(t)
			exited := make(chan error, 1)
			go func() { exited <- child.Wait() }()
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("the last run failed: %v", err)
				}
			case <-time.After(3 * time.Minute):
				_ = child.Process.Kill()
				t.Fatal("the last run did not finish")
			}
			h.checkFinishedOnce(m, f)
			if fault > 0 && h.sim.Stats().Faults == 0 {
				t.Error("no fault was injected; the test proves less than it claims")
			}
		})
	}
}

// selfKillingPC makes the child process SIGKILL itself at one point of a
// purchase, so the kill lands exactly in the window a test is about:
//   - "checkout": the cart is created and saved, the checkout not sent;
//   - "checked-out": the checkout was applied, its answer not yet saved;
//   - "pending": the order ids are saved, the order not yet complete.
type selfKillingPC struct {
	bot.PartnerCenter
	at string
}

func (k *selfKillingPC) kill(at string) {
	if k.at == at {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never returns: the signal is on its way
	}
}

func (k *selfKillingPC) Checkout(ctx context.Context, customerID, cartID, requestID string) ([]bot.Order, bot.CallRef, error) {
	k.kill("checkout")
	o, ref, err := k.PartnerCenter.Checkout(ctx, customerID, cartID, requestID)
	if err == nil {
		k.kill("checked-out")
	}
	return o, ref, err
}

func (k *selfKillingPC) GetOrder(ctx context.Context, customerID, orderID string) (bot.Order, error) {
	o, err := k.PartnerCenter.GetOrder(ctx, customerID, orderID)
	if _, done := o.Provisioned(); err == nil && !done {
		k.kill("pending")
	}
	return o, err
}

// Acceptance 4 of the new-commerce issue: a real process killed with
// SIGKILL between creating the cart and checking it out, right after the
// checkout was applied, and while the order is pending, finishes after a
// restart with exactly one purchase, as the sandbox's ledger counts it.
func TestSIGKILLDuringAPurchaseBuysOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	for _, at := range []string{"checkout", "checked-out", "pending"} {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOptions{sim: func(o *pcsim.Options) { o.ProvisioningDelay = 2 * time.Second }})
			f, m := h.approvedForChildren()

			killed := h.startChild(t, "KAIZALABOT_KILL_AT="+at)
			err := killed.Wait()
			if ws, ok := killed.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("the child was meant to die of SIGKILL at %q: %v", at, err)
			}
			checkouts := len(ledgerOf(t, h, pcsim.LedgerCheckout))
			if want := map[string]int{"checkout": 0, "checked-out": 1, "pending": 1}[at]; checkouts != want {
				t.Fatalf("checkouts in the ledger after the kill = %d, want %d", checkouts, want)
			}
			last := h.startChild(t)
			if err := waitChild(last, 2*time.Minute); err != nil {
				t.Fatal(err)
			}
			h.checkFinishedOnce(m, f)
			if got := ledgerOf(t, h, pcsim.LedgerCheckout); len(got) != 1 {
				t.Errorf("checkouts in the ledger = %d, want exactly 1: %+v", len(got), got)
			}
		})
	}
}

// approvedForChildren plans and approves a migration in this process only:
// it stops its engine first, so child processes do all of the running.
func (h *harness) approvedForChildren() (bot.Finding, *bot.Migration) {
	h.t.Helper()
	f := h.expiring(false)
	m := h.plan(f, "STANDARDPACK", 0)
	h.cancel()
	h.engine.Wait()
	h.approve(m, boss)
	h.engine.Wait()
	return f, m
}

func waitChild(cmd *exec.Cmd, limit time.Duration) error {
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("the last run failed: %w", err)
		}
		return nil
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		return errors.New("the last run did not finish")
	}
}

func ledgerOf(t *testing.T, h *harness, kind pcsim.LedgerKind) []pcsim.LedgerEntry {
	t.Helper()
	var out []pcsim.LedgerEntry
	for _, e := range h.sim.Ledger() {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (h *harness) startChild(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "KAIZALABOT_ENGINE_CHILD=1", "KAIZALABOT_PC_URL="+h.url, "KAIZALABOT_DB="+h.dbPath), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// The kill points of transitions and undo:
//   - "transition": the request id is saved, the transition not sent;
//   - "transition-sent": Partner Center accepted it, the answer not saved;
//   - "transitioning": the transition is in progress;
//   - "reactivated": the old subscription is active again, not yet saved;
//   - "moving-back": a user was moved back, not yet saved;
//   - "cancelled": the new subscription is cancelled, not yet saved.
func (k *selfKillingPC) StartTransition(ctx context.Context, customerID, subscriptionID, to string, quantity int, requestID string) (bot.TransitionProgress, bot.CallRef, error) {
	k.kill("transition")
	t, ref, err := k.PartnerCenter.StartTransition(ctx, customerID, subscriptionID, to, quantity, requestID)
	if err == nil {
		k.kill("transition-sent")
	}
	return t, ref, err
}

func (k *selfKillingPC) TransitionsOf(ctx context.Context, customerID, subscriptionID string) ([]bot.TransitionProgress, error) {
	ts, err := k.PartnerCenter.TransitionsOf(ctx, customerID, subscriptionID)
	if err == nil && len(ts) > 0 && ts[len(ts)-1].State == bot.TransitionInProgress {
		k.kill("transitioning")
	}
	return ts, err
}

func (k *selfKillingPC) Reactivate(ctx context.Context, customerID, subscriptionID, requestID string) (bot.Subscription, bot.CallRef, error) {
	s, ref, err := k.PartnerCenter.Reactivate(ctx, customerID, subscriptionID, requestID)
	if err == nil {
		k.kill("reactivated")
	}
	return s, ref, err
}

func (k *selfKillingPC) SwapLicence(ctx context.Context, customerID, userID, assignSkuID, removeSkuID, requestID string) (bot.CallRef, error) {
	ref, err := k.PartnerCenter.SwapLicence(ctx, customerID, userID, assignSkuID, removeSkuID, requestID)
	if err == nil && bot.SameID(assignSkuID, kaizalaSku) {
		k.kill("moving-back")
	}
	return ref, err
}

func (k *selfKillingPC) Cancel(ctx context.Context, customerID, subscriptionID, requestID string) (bot.Subscription, bot.CallRef, error) {
	s, ref, err := k.PartnerCenter.Cancel(ctx, customerID, subscriptionID, requestID)
	if err == nil {
		k.kill("cancelled")
	}
	return s, ref, err
}

// killThenFinish runs a child that must die of SIGKILL at `at`, then one
// that finishes the work.
func (h *harness) killThenFinish(t *testing.T, at string) {
	t.Helper()
	killed := h.startChild(t, "KAIZALABOT_KILL_AT="+at)
	err := killed.Wait()
	if ws, ok := killed.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child was meant to die of SIGKILL at %q: %v", at, err)
	}
	if err := waitChild(h.startChild(t), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
}

// Acceptance 5 of the strategies issue: a real process killed during a
// transition finishes it after a restart, with exactly one transition.
func TestSIGKILLDuringATransitionTransitionsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	for _, at := range []string{"transition", "transition-sent", "transitioning"} {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOptions{sim: func(o *pcsim.Options) { o.ProvisioningDelay = 2 * time.Second }})
			m := h.findPlan("STANDARDPACK", bot.StrategyTransition)
			h.cancel()
			h.engine.Wait()
			h.approve(m, boss)
			h.engine.Wait()
			h.killThenFinish(t, at)
			got, err := h.db.GetMigration(context.Background(), m.ID)
			if err != nil || got.State != bot.StateDone {
				t.Fatalf("state %v (%v): %v", got.State, got.Error, err)
			}
			if n := len(ledgerOf(t, h, pcsim.LedgerTransition)); n != 1 {
				t.Errorf("%d transitions in the ledger, want exactly 1", n)
			}
			if n := len(ledgerOf(t, h, pcsim.LedgerCheckout)); n != 0 {
				t.Errorf("%d checkouts, want none", n)
			}
			for _, u := range m.Plan.Move {
				if skus := h.skus(m.CustomerID, u.ID); !containsSku(skus, e1Sku) || containsSku(skus, kaizalaSku) {
					t.Errorf("%s holds %v", u.UPN, skus)
				}
			}
		})
	}
}

// Acceptance 5: a real process killed during an undo finishes it after a
// restart, cancelling and reactivating exactly once.
func TestSIGKILLDuringAnUndoUndoesOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	for _, at := range []string{"reactivated", "moving-back", "cancelled"} {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOptions{})
			ctx := context.Background()
			m := h.plan(h.expiring(false), "STANDARDPACK", 0)
			h.approve(m, boss)
			done := h.settle(m.ID)
			if done.State != bot.StateDone {
				t.Fatalf("state %s: %s", done.State, done.Error)
			}
			h.cancel()
			h.engine.Wait()
			if _, refusal, err := h.engine.Undo(ctx, m.ID, boss, "test"); err != nil || refusal != "" {
				t.Fatalf("undo: %q %v", refusal, err)
			}
			h.killThenFinish(t, at)
			got, err := h.db.GetMigration(ctx, m.ID)
			if err != nil || got.State != bot.StateUndone {
				t.Fatalf("state %v (%v): %v", got.State, got.Error, err)
			}
			for kind, want := range map[pcsim.LedgerKind]int{pcsim.LedgerCancellation: 1, pcsim.LedgerReactivation: 1, pcsim.LedgerCheckout: 1} {
				if n := len(ledgerOf(t, h, kind)); n != want {
					t.Errorf("%d %s entries in the ledger, want %d", n, kind, want)
				}
			}
			for _, u := range m.Plan.Move {
				if skus := h.skus(m.CustomerID, u.ID); !containsSku(skus, kaizalaSku) || containsSku(skus, e1Sku) != u.HasTarget {
					t.Errorf("%s holds %v", u.UPN, skus)
				}
			}
		})
	}
}
