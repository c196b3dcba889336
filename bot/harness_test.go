package bot_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/internal/pctest"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
	"github.com/kaizalabot/kaizalabot/storage"
)

// The engine tests run the real engine on real SQLite against the real
// sandbox, through the real Partner Center client, over loopback.

var (
	sales = bot.Actor{ID: "U_SALES", Name: "sam.sales"}
	boss  = bot.Actor{ID: "U_BOSS", Name: "bea.boss"}
	lead  = bot.Actor{ID: "U_LEAD", Name: "lee.lead"}
	other = bot.Actor{ID: "U_OTHER", Name: "otto.other"}
)

const (
	e1Sku      = "18181a46-0d4e-45cd-891e-60aabd171b4e"
	kaizalaSku = "a1c9d3f2-6b4e-4e8a-9f2d-7c5b1e0a4d36"
)

type harness struct {
	t      *testing.T
	sim    *pcsim.Server
	url    string
	client *pcclient.Client
	pc     pcclient.Adapter
	db     *storage.DB
	dbPath string
	engine *bot.Engine
	events *eventLog
	cancel context.CancelFunc
	report *bot.ScanReport
}

type harnessOptions struct {
	sim    func(*pcsim.Options)
	engine func(*bot.Engine)
	client func(*pcclient.Config)
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	opts := pcsim.DefaultOptions()
	opts.Customers = 30
	opts.RateLimit = 0
	opts.ProvisioningDelay = 200 * time.Millisecond
	if o.sim != nil {
		o.sim(&opts)
	}
	h := &harness{t: t, sim: pcsim.New(opts)}
	srv := httptest.NewServer(h.sim)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	h.client = newSandboxClient(t, h.url, o.client)
	h.pc = pcclient.Adapter{Client: h.client}
	h.dbPath = filepath.Join(t.TempDir(), "kaizalabot.db")
	var err error
	if h.db, err = storage.Open(context.Background(), h.dbPath, storage.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.db.Close() })
	h.events = &eventLog{}
	h.engine = h.newEngine(o.engine)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	if err := h.engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); h.engine.Wait() })
	h.report, err = (&bot.Scanner{Source: h.pc}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.engine.RecordScan(context.Background(), h.report); err != nil {
		t.Fatal(err)
	}
	return h
}

func newSandboxClient(t *testing.T, url string, mutate func(*pcclient.Config)) *pcclient.Client {
	c, err := pctest.Client(url, true, mutate)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (h *harness) newEngine(mutate func(*bot.Engine)) *bot.Engine {
	e := &bot.Engine{
		PC: h.pc, Store: h.db, Catalog: bot.DefaultCatalog(), Events: h.events,
		Policy:   bot.Policy{Approvers: []string{boss.ID, lead.ID}, Required: 1},
		SeatPoll: 50 * time.Millisecond, SeatTimeout: 20 * time.Second,
	}
	if mutate != nil {
		mutate(e)
	}
	return e
}

// expiring returns a Kaizala Pro finding: within 90 days (every holder can be
// licensed) or later (one holder has no usage location), of a customer with
// no free E1 seat (so the purchase and the wait for seats always happen),
// skipping customers already used by this test.
func (h *harness) expiring(later bool, skip ...string) bot.Finding {
	h.t.Helper()
	for _, f := range h.report.Findings {
		if !f.Expiring(400) || slices.Contains(skip, f.Customer.ID) || (f.DaysLeft > 90) != later {
			continue
		}
		pools, err := h.pc.LicensePools(context.Background(), f.Customer.ID)
		if err != nil && h.pc.Classify(err) == bot.FailureAuth {
			continue // a customer the sandbox denies the partner (--gdap-missing)
		}
		if err != nil {
			h.t.Fatal(err)
		}
		if slices.ContainsFunc(pools, func(p bot.LicensePool) bool { return bot.SameID(p.SkuID, e1Sku) && p.Available > 0 }) {
			continue
		}
		return f
	}
	h.t.Fatalf("no expiring Kaizala Pro subscription (later=%v)", later)
	return bot.Finding{}
}

func (h *harness) plan(f bot.Finding, target string, seats int) *bot.Migration {
	h.t.Helper()
	m, refusal, err := h.engine.Plan(context.Background(), bot.PlanRequest{SubscriptionID: f.Subscription.ID, Target: target, Seats: seats, Requester: sales, Strategy: bot.StrategyReplace})
	if err != nil || refusal != "" {
		h.t.Fatalf("plan: %q %v", refusal, err)
	}
	return m
}

func (h *harness) approve(m *bot.Migration, who bot.Actor) bot.ApproveResult {
	h.t.Helper()
	res, refusal, err := h.engine.Approve(context.Background(), m.ID, "", who)
	if err != nil || refusal != "" {
		h.t.Fatalf("approve by %s: %q %v", who.Name, refusal, err)
	}
	return res
}

// settle waits until the migration leaves the running states.
func (h *harness) settle(id string) *bot.Migration {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		m, err := h.db.GetMigration(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if !m.State.Running() {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("migration %s did not settle", id)
	return nil
}

func (h *harness) skus(customerID, userID string) []string {
	h.t.Helper()
	skus, err := h.pc.UserSkuIDs(context.Background(), customerID, userID)
	if err != nil {
		h.t.Fatal(err)
	}
	return skus
}

func (h *harness) subscription(customerID, id string) bot.Subscription {
	h.t.Helper()
	s, err := h.pc.GetSubscription(context.Background(), customerID, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// eventLog records the engine's events.
type eventLog struct {
	mu     sync.Mutex
	events []bot.Event
	hook   func(bot.Event)
}

func (l *eventLog) Publish(e bot.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	hook := l.hook
	l.mu.Unlock()
	if hook != nil {
		hook(e)
	}
}

func (l *eventLog) kinds(migrationID string) []bot.EventKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []bot.EventKind
	for _, e := range l.events {
		if e.Migration.ID == migrationID && (len(out) == 0 || out[len(out)-1] != e.Kind) {
			out = append(out, e.Kind)
		}
	}
	return out
}
