package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the test's own probe of the database's write lock

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/fakeslack"
	"github.com/kaizalabot/kaizalabot/internal/pctest"
	"github.com/kaizalabot/kaizalabot/internal/pgtest"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
	"github.com/kaizalabot/kaizalabot/slackview"
	"github.com/kaizalabot/kaizalabot/storage"
)

// Two `kaizalabot serve` processes, built from this tree, on one SQLite
// file, one sandbox and one fake Slack, over loopback: one of them is the
// worker at a time, the other takes over when it dies, and a worker paused
// past its lease changes nothing when it wakes.

const (
	haLeaseTTL = 3 * time.Second
	// haWriteDelay is added to every Partner Center write (buy, licence
	// update, suspend) the bots send, so a migration of haSeats users takes
	// a few seconds and can be interrupted in the middle of moving users.
	// Reads stay fast, so the scans and plans do not slow the tests down.
	haWriteDelay = 250 * time.Millisecond
	haSeats      = 48 // users of every Kaizala Pro subscription: 6 rounds of the engine's 8 concurrent moves
)

// haBackends runs test on SQLite (a file both processes open) and on
// PostgreSQL (a schema both connect to; skipped without a server, see
// internal/pgtest).
func haBackends(t *testing.T, test func(t *testing.T, dsn func(*testing.T) string)) {
	if testing.Short() {
		t.Skip("builds and starts kaizalabot serve twice; skipped with -short")
	}
	t.Parallel()
	for name, dsn := range map[string]func(*testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "kaizalabot.db") },
		"postgres": func(t *testing.T) string { return pgtest.DSN(t, func(err error) error { return err }) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, dsn)
		})
	}
}

func TestTwoServeProcessesOneWorker(t *testing.T) { haBackends(t, testTwoServeProcessesOneWorker) }

func testTwoServeProcessesOneWorker(t *testing.T, dsn func(*testing.T) string) {
	c := newHACluster(t, dsn(t))
	a := c.start("first")
	b := c.start("second")
	worker, other := c.roles(a, b)

	// Only the worker scans and alerts: one scan, one alert per expiring subscription.
	expiring := c.waitAlerts()
	alerts := c.alertsBySubscription()
	for _, sub := range expiring {
		if n := alerts[sub.Subscription.ID]; n != 1 {
			t.Errorf("subscription %s was alerted %d times, want once", sub.Subscription.ID, n)
		}
	}
	if n := len(c.slack.Messages(alertChannel)); n != 1 {
		t.Errorf("%d top-level messages in the alert channel for one scan of %d expiring subscriptions, want 1", n, len(expiring))
	}
	first, second := haTwoCustomers(t, haMovable(expiring))

	// Asked, approved and clicked in the process that is not the worker; the worker runs it.
	m1 := c.planAndApprove(other, first)
	done := c.waitFinished(m1.ID, 60*time.Second)
	if done.State != bot.StateDone {
		t.Fatalf("migration %s ended %s at %s: %s", m1.ID, done.State, done.FailedStep, done.Error)
	}
	if n := c.sim.Stats().OrdersCreated; n != 1 {
		t.Errorf("orders created = %d, want 1", n)
	}
	if n := c.sim.Stats().LicenseUpdates; n != int64(len(m1.Plan.Move)) {
		t.Errorf("%d licence updates for a plan moving %d users", n, len(m1.Plan.Move))
	}
	c.checkMoved(done)
	if n := worker.scans.Load(); n != 1 {
		t.Errorf("the worker scanned %d times, want once", n)
	}
	if n, w := other.scans.Load(), other.writes.Load(); n != 0 || w != 0 {
		t.Errorf("the process that is not the worker scanned %d times and sent %d writes to Partner Center", n, w)
	}
	if h := c.health(worker); !h.Worker {
		t.Errorf("%s stopped being the worker: %+v", worker.name, h)
	}
	if h := c.health(other); h.Worker {
		t.Errorf("%s became a second worker: %+v", other.name, h)
	}

	// The worker dies in the middle of the next migration; the other finishes it.
	m2 := c.plan(other, second)
	base := c.sim.Stats().LicenseUpdates
	c.approve(other, m2)
	moved := c.waitMidway(m2, base)
	if err := worker.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-worker.exited
	t.Logf("SIGKILL %s after %d of %d users moved", worker.name, moved, len(m2.Plan.Move))
	c.waitWorker(other, 30*time.Second)
	t.Logf("%s is the worker %v after the SIGKILL", other.name, time.Since(killed).Round(time.Millisecond))
	done2 := c.waitFinished(m2.ID, time.Until(killed.Add(60*time.Second)))
	if done2.State != bot.StateDone {
		t.Fatalf("migration %s ended %s at %s: %s", m2.ID, done2.State, done2.FailedStep, done2.Error)
	}
	t.Logf("migration %s done %v after the SIGKILL", m2.ID, time.Since(killed).Round(time.Millisecond))
	if n := c.sim.Stats().OrdersCreated; n != 2 {
		t.Errorf("orders created = %d, want 2: one per migration", n)
	}
	if n := c.sim.Stats().LicenseUpdates - base; n != int64(len(m2.Plan.Move)) {
		t.Errorf("%d licence updates for a plan moving %d users: a user was moved twice", n, len(m2.Plan.Move))
	}
	c.checkMoved(done2)
	// The new worker scanned at its start, and alerted nothing again.
	if n := other.scans.Load(); n != 1 {
		t.Errorf("the new worker scanned %d times, want once, at its start", n)
	}
	if got := c.alertsBySubscription(); !mapsEqual(got, alerts) {
		t.Errorf("alerts per subscription after the takeover: %v, before: %v", got, alerts)
	}
	c.verifyAudit()
}

func TestAPausedWorkerChangesNothingAfterATakeover(t *testing.T) {
	haBackends(t, testAPausedWorkerChangesNothingAfterATakeover)
}

func testAPausedWorkerChangesNothingAfterATakeover(t *testing.T, dsn func(*testing.T) string) {
	c := newHACluster(t, dsn(t))
	a := c.start("first")
	b := c.start("second")
	worker, other := c.roles(a, b)
	movable := haMovable(c.waitAlerts())
	if len(movable) == 0 {
		t.Fatal("the scan found no subscription ending within 90 days")
	}

	m := c.plan(other, movable[0])
	c.approve(other, m)
	paused := c.pauseMidway(worker, m, 0)
	if n := other.writes.Load(); n != 0 {
		t.Errorf("the process that is not the worker sent %d writes to Partner Center", n)
	}
	c.waitWorker(other, 30*time.Second)
	t.Logf("%s is the worker %v after the SIGSTOP", other.name, time.Since(paused).Round(time.Millisecond))
	done := c.waitFinished(m.ID, time.Until(paused.Add(60*time.Second)))
	if done.State != bot.StateDone {
		t.Fatalf("migration %s ended %s at %s: %s", m.ID, done.State, done.FailedStep, done.Error)
	}
	movesBefore := c.moves(m.ID)
	updatesBefore := c.sim.Stats().LicenseUpdates
	logged := len(worker.logs.String())

	woke := time.Now()
	if err := worker.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * haLeaseTTL)

	if n := c.sim.Stats().LicenseUpdates; n != updatesBefore {
		t.Errorf("licence updates went from %d to %d after the paused worker woke", updatesBefore, n)
	}
	// A write the paused worker had let through its fence check just before
	// it was stopped goes out when it wakes. It must repeat the MS-RequestId
	// of a write already sent (the new worker reuses the journaled id), so
	// Partner Center answers it as a repeat and changes nothing.
	late, sentByOld := worker.writesSince(woke)
	_, sentByNew := other.writesSince(woke)
	for _, w := range late {
		if !sentByNew[w.key] && !sentByOld[w.key] {
			t.Errorf("the paused worker sent a new write to Partner Center %v after it woke: %s", w.at.Sub(woke).Round(time.Millisecond), w.key)
		} else {
			t.Logf("the paused worker repeated a write %v after it woke: %s", w.at.Sub(woke).Round(time.Millisecond), w.key)
		}
	}
	if n := c.sim.Stats().LicenseUpdates; n != int64(len(m.Plan.Move)) {
		t.Errorf("%d licence updates for a plan moving %d users", n, len(m.Plan.Move))
	}
	if n := c.sim.Stats().OrdersCreated; n != 1 {
		t.Errorf("orders created = %d, want 1", n)
	}
	after, err := c.db.GetMigration(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.State != bot.StateDone || after.Version != done.Version {
		t.Errorf("after the paused worker woke the migration is %s (version %d), was done (version %d)", after.State, after.Version, done.Version)
	}
	if movesAfter := c.moves(m.ID); !slices.Equal(movesAfter, movesBefore) {
		t.Errorf("the journal of user moves changed after the paused worker woke:\nbefore %v\nafter  %v", movesBefore, movesAfter)
	}
	c.checkMoved(after)
	c.verifyAudit()
	if h := c.health(worker); h.Worker || h.WorkerHolder != c.health(other).Holder {
		t.Errorf("the woken process says %+v; %s is the worker", h, other.name)
	}
	if !haLogged(worker.logs.String()[logged:], "no longer the worker") {
		t.Errorf("the woken process's log does not say it is no longer the worker:\n%s", worker.logs.String()[logged:])
	}
}

// haCluster is a sandbox, a fake Slack and a database shared by serve processes.
type haCluster struct {
	t      *testing.T
	bin    string
	sim    *pcsim.Server
	pc     pcclient.Adapter // reads the sandbox without the write delay
	slack  *fakeslack.Server
	dbPath string      // the SQLite file, or the PostgreSQL DSN
	db     *storage.DB // read-only
	env    []string
	lock   *sql.DB // probes the write lock
}

// haProc is one `kaizalabot serve` child process. It has a Partner Center
// of its own, a front of the shared sandbox, which counts what it sends.
type haProc struct {
	name   string
	cmd    *exec.Cmd
	url    string
	logs   *syncBuffer // its stdout and stderr: JSON log lines
	exited chan struct{}
	scans  atomic.Int64 // first pages of the customer list: one per scan
	writes atomic.Int64 // Partner Center writes received (buy, licence updates, suspend), answered or not

	mu   sync.Mutex
	sent []haWrite
}

// haWrite is a Partner Center write as the sandbox received it. Its key is
// what the sandbox's MS-RequestId idempotency goes by: a write with the key
// of an earlier one is answered as the first was, and changes nothing.
type haWrite struct {
	at  time.Time
	key string // method, path, MS-RequestId
}

// writesSince lists the writes p sent at or after t, and the keys of those
// it sent before.
func (p *haProc) writesSince(t time.Time) (since []haWrite, before map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	before = map[string]bool{}
	for _, w := range p.sent {
		if w.at.Before(t) {
			before[w.key] = true
		} else {
			since = append(since, w)
		}
	}
	return since, before
}

func newHACluster(t *testing.T, dsn string) *haCluster {
	t.Helper()
	c := &haCluster{t: t, bin: haBinary.get(t), dbPath: dsn}
	opts := pcsim.DefaultOptions()
	opts.Customers, opts.RateLimit, opts.ProvisioningDelay, opts.KaizalaSeats = 12, 0, 200*time.Millisecond, haSeats
	c.sim = pcsim.New(opts)
	fast := httptest.NewServer(c.sim)
	t.Cleanup(fast.Close)
	client, err := pctest.Client(fast.URL, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.pc = pcclient.Adapter{Client: client}

	c.slack = fakeslack.New(fakeslack.Options{
		BotToken: testBotToken, SigningSecret: testSigning,
		Users: []fakeslack.User{{ID: salesID, Name: "sam.sales"}, {ID: bossID, Name: "bea.boss"}},
	})
	if _, err := c.slack.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.slack.Close() })

	def := pcsim.DefaultOptions()
	c.env = []string{
		"SLACK_BOT_TOKEN=" + testBotToken, "SLACK_SIGNING_SECRET=" + testSigning, "SLACK_API_URL=" + c.slack.APIURL(),
		"KAIZALA_ALERT_CHANNEL=" + alertChannel, "KAIZALA_DIGEST_CHANNEL=" + digestChannel, "KAIZALA_APPROVERS=" + bossID,
		"KAIZALA_SALES=" + salesID,
		"KAIZALA_SCAN_INTERVAL=1h", "KAIZALA_LEASE_TTL=" + haLeaseTTL.String(), "KAIZALA_DB=" + c.dbPath, "KAIZALA_TIMEZONE=UTC",
		"PC_TENANT_ID=partner", "PC_CLIENT_ID=" + def.ClientID, "PC_CLIENT_SECRET=" + def.ClientSecret, "PC_REFRESH_TOKEN=" + def.RefreshToken, "PC_RATE_LIMIT=60000",
	}
	// Nothing of the test's own environment configures the bots.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLACK_") && !strings.HasPrefix(kv, "KAIZALA_") && !strings.HasPrefix(kv, "PC_") {
			c.env = append(c.env, kv)
		}
	}
	t.Cleanup(func() {
		if c.db != nil {
			c.db.Close()
		}
		if c.lock != nil {
			c.lock.Close()
		}
	})
	return c
}

// start starts `kaizalabot serve` on a free loopback port and waits until
// it answers /healthz. Cleanup wakes it if it is stopped, then stops it.
func (c *haCluster) start(name string) *haProc {
	c.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &haProc{name: name, url: "http://" + addr, logs: &syncBuffer{}, exited: make(chan struct{})}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/customers" && r.Header.Get("MS-ContinuationToken") == "" {
			p.scans.Add(1)
		}
		if strings.HasPrefix(r.URL.Path, "/v1/") && r.Method != http.MethodGet {
			p.writes.Add(1)
			p.mu.Lock()
			p.sent = append(p.sent, haWrite{at: time.Now(), key: r.Method + " " + strings.ToLower(r.URL.Path) + " " + r.Header.Get("MS-RequestId")})
			p.mu.Unlock()
			select {
			case <-time.After(haWriteDelay):
			case <-r.Context().Done():
				return // the bot hung up (killed): nothing was applied
			}
		}
		c.sim.ServeHTTP(w, r)
	}))
	c.t.Cleanup(front.Close)
	p.cmd = exec.Command(c.bin, "serve")
	p.cmd.Env = append(slices.Clone(c.env), "KAIZALA_LISTEN="+addr,
		"PC_API_URL="+front.URL, "PC_TOKEN_URL="+front.URL+"/partner/oauth2/token")
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	c.t.Cleanup(func() {
		p.stop()
		if c.t.Failed() {
			c.t.Logf("log of %s (%s):\n%s", p.name, p.url, p.logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if h, err := c.healthOf(p); err == nil && h.Status == "ok" {
			break
		}
		select {
		case <-p.exited:
			c.t.Fatalf("%s exited at start: %v\n%s", name, p.cmd.ProcessState, p.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s did not answer /healthz within 30s:\n%s", name, p.logs.String())
		}
	}
	if c.db == nil {
		// The first process has created and migrated the database.
		if c.db, err = storage.OpenReadOnly(context.Background(), c.dbPath, storage.Options{}); err != nil {
			c.t.Fatal(err)
		}
	}
	return p
}

// stop wakes p if it is stopped, asks it to stop (SIGTERM) and kills it
// after 10 seconds.
func (p *haProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

type haHealth struct {
	Status       string `json:"status"`
	Worker       bool   `json:"worker"`
	Holder       string `json:"holder"`
	WorkerHolder string `json:"workerHolder"`
}

func (c *haCluster) healthOf(p *haProc) (haHealth, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/healthz", nil)
	if err != nil {
		return haHealth{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return haHealth{}, err
	}
	defer resp.Body.Close()
	var h haHealth
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return haHealth{}, fmt.Errorf("/healthz of %s: HTTP %d: %w", p.name, resp.StatusCode, err)
	}
	return h, nil
}

func (c *haCluster) health(p *haProc) haHealth {
	c.t.Helper()
	h, err := c.healthOf(p)
	if err != nil {
		c.t.Fatal(err)
	}
	return h
}

// roles checks that exactly one of a and b says it is the worker, that
// both name it as the lease's holder, and returns it first.
func (c *haCluster) roles(a, b *haProc) (worker, other *haProc) {
	c.t.Helper()
	ha, hb := c.health(a), c.health(b)
	switch {
	case ha.Worker && !hb.Worker:
		worker, other = a, b
	case hb.Worker && !ha.Worker:
		worker, other, ha, hb = b, a, hb, ha
	default:
		c.t.Fatalf("want exactly one worker: %s says %+v, %s says %+v", a.name, ha, b.name, hb)
	}
	if ha.Holder == "" || ha.Holder == hb.Holder || ha.WorkerHolder != ha.Holder || hb.WorkerHolder != ha.Holder {
		c.t.Errorf("the processes disagree on who holds the lease: %s says %+v, %s says %+v", worker.name, ha, other.name, hb)
	}
	return worker, other
}

// waitWorker waits until p says it is the worker.
func (c *haCluster) waitWorker(p *haProc, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var h haHealth
	var err error
	for time.Now().Before(deadline) {
		if h, err = c.healthOf(p); err == nil && h.Worker && h.WorkerHolder == h.Holder {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%s did not become the worker within %v: %+v %v", p.name, within, h, err)
}

// waitAlerts waits until the worker's first scan is recorded and its
// alerts are posted, and returns the subscriptions it alerted: those
// expiring within the widest alert threshold, or already ended.
func (c *haCluster) waitAlerts() []bot.TrackedSubscription {
	c.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := c.db.LastScan(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no scan was recorded within 60s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tracked, err := c.db.TrackedSubscriptions(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	var expiring []bot.TrackedSubscription
	for _, tr := range tracked {
		if tr.Expiring(slices.Max(bot.DefaultAlertDays)) {
			expiring = append(expiring, tr)
		}
	}
	for _, tr := range expiring {
		for {
			alerts, err := c.db.Alerts(ctx, tr.Subscription.ID)
			if err != nil {
				c.t.Fatal(err)
			}
			if len(alerts) > 0 && !slices.ContainsFunc(alerts, func(a storage.Alert) bool { return a.TS == "" }) {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("subscription %s was never alerted: %+v", tr.Subscription.ID, alerts)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return expiring
}

// alertsBySubscription counts the alerts posted in the alert channel and in
// their threads, by the subscription they are about: each is posted with a
// way to plan it (a line's menu, or a single alert's Plan button).
func (c *haCluster) alertsBySubscription() map[string]int {
	counts := map[string]int{}
	var all []fakeslack.Message
	for _, m := range c.slack.Messages(alertChannel) {
		all = append(all, m)
		all = append(all, c.slack.Thread(alertChannel, m.TS)...)
	}
	for _, m := range all {
		posted := m
		if len(m.History) > 0 {
			posted = m.History[0]
		}
		for _, b := range blocksOf(posted) {
			if a := b.Accessory; a != nil && slackview.ActionKind(a.ActionID) == slackview.ActionPlanLine {
				counts[strings.TrimPrefix(a.ActionID, slackview.ActionPlanLine+":")]++
			}
			for _, e := range b.Elements {
				if e.ActionID == slackview.ActionPlan {
					counts[e.Value]++
				}
			}
		}
	}
	return counts
}

// haMovable keeps the subscriptions whose users can all be moved: ending
// within 90 days, and not ended yet.
func haMovable(expiring []bot.TrackedSubscription) []bot.TrackedSubscription {
	var out []bot.TrackedSubscription
	for _, tr := range expiring {
		if tr.DaysLeft >= 0 && tr.DaysLeft <= 90 {
			out = append(out, tr)
		}
	}
	return out
}

// haTwoCustomers picks two expiring subscriptions of different customers,
// so the two migrations do not share users or licence pools.
func haTwoCustomers(t *testing.T, expiring []bot.TrackedSubscription) (first, second bot.TrackedSubscription) {
	t.Helper()
	for i, a := range expiring {
		for _, b := range expiring[i+1:] {
			if a.Customer.ID != b.Customer.ID {
				return a, b
			}
		}
	}
	t.Fatal("no two expiring subscriptions of different customers")
	return
}

func (c *haCluster) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	c.t.Cleanup(cancel)
	return ctx
}

// plan asks p for a plan of sub to Office 365 E1, as the salesperson in
// Slack, and returns the migration once its plan message is posted.
func (c *haCluster) plan(p *haProc, sub bot.TrackedSubscription) *bot.Migration {
	c.t.Helper()
	c.slack.SetAppURL(p.url)
	reply, err := c.slack.Command(c.ctx(), salesID, alertChannel, "plan "+sub.Subscription.ID+" STANDARDPACK via replace")
	if err != nil || reply.Status != http.StatusOK {
		c.t.Fatalf("/kaizala plan to %s: %v %d %s", p.name, err, reply.Status, reply.Body)
	}
	if _, err := c.planMessage(sub.Subscription.ID); err != nil {
		c.t.Fatalf("no plan message for %s: %v", sub.Subscription.ID, err)
	}
	ms, err := c.db.ListMigrations(context.Background(), bot.MigrationFilter{SubscriptionID: sub.Subscription.ID})
	if err != nil || len(ms) != 1 {
		c.t.Fatalf("migrations of %s: %v %v", sub.Subscription.ID, ms, err)
	}
	if len(ms[0].Plan.Move) < 2 {
		c.t.Fatalf("the plan of %s moves %d users; the test needs several", sub.Subscription.ID, len(ms[0].Plan.Move))
	}
	return ms[0]
}

func (c *haCluster) planMessage(subscriptionID string) (fakeslack.Message, error) {
	return c.slack.WaitMessage(c.ctx(), alertChannel, func(m fakeslack.Message) bool {
		return containsAll(render(m), slackview.ActionApprove, subscriptionID)
	})
}

// approve clicks Approve on m's plan message as the approver, sent to p.
func (c *haCluster) approve(p *haProc, m *bot.Migration) {
	c.t.Helper()
	msg, err := c.planMessage(m.SubscriptionID)
	if err != nil {
		c.t.Fatal(err)
	}
	c.slack.SetAppURL(p.url)
	reply, err := c.slack.Click(c.ctx(), bossID, msg, slackview.ActionApprove)
	if err != nil || reply.Status != http.StatusOK {
		c.t.Fatalf("Approve sent to %s: %v %d %s", p.name, err, reply.Status, reply.Body)
	}
}

func (c *haCluster) planAndApprove(p *haProc, sub bot.TrackedSubscription) *bot.Migration {
	c.t.Helper()
	m := c.plan(p, sub)
	c.approve(p, m)
	return m
}

// waitFinished waits until the migration is neither pending nor running.
func (c *haCluster) waitFinished(id string, within time.Duration) *bot.Migration {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		m, err := c.db.GetMigration(context.Background(), id)
		if err != nil {
			c.t.Fatal(err)
		}
		if !m.State.Running() && m.State != bot.StatePendingApproval {
			return m
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("migration %s is still %s after %v", id, m.State, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitMidway waits until some but not all users of m have been moved
// since the sandbox had counted base licence updates, and says how many.
func (c *haCluster) waitMidway(m *bot.Migration, base int64) int64 {
	c.t.Helper()
	total := int64(len(m.Plan.Move))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		switch moved := c.sim.Stats().LicenseUpdates - base; {
		case moved >= total:
			c.t.Fatalf("migration %s moved all %d users before the test could interrupt it", m.ID, total)
		case moved > 0:
			return moved
		}
		time.Sleep(2 * time.Millisecond)
	}
	c.t.Fatalf("migration %s moved no user within 30s", m.ID)
	return 0
}

// pauseMidway stops p (SIGSTOP) while it moves m's users, and returns when.
// A process stopped inside a write transaction holds SQLite's write lock,
// which stops every process of the database (no takeover can happen until
// it wakes; safe, but not the case under test): then it is woken and
// stopped again a little later.
func (c *haCluster) pauseMidway(p *haProc, m *bot.Migration, base int64) time.Time {
	c.t.Helper()
	for attempt := 1; attempt <= 20; attempt++ {
		moved := c.waitMidway(m, base)
		if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			c.t.Fatal(err)
		}
		at := time.Now()
		haWaitStopped(c.t, p.cmd.Process.Pid)
		err := c.writable()
		if err == nil {
			c.t.Logf("SIGSTOP %s after %d of %d users moved", p.name, moved, len(m.Plan.Move))
			return at
		}
		c.t.Logf("%s was stopped in a write transaction (%v); waking it to stop it again", p.name, err)
		if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			c.t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("%s held the database's write lock every time it was stopped", p.name)
	return time.Time{}
}

// haWaitStopped waits until every thread of the process pid is stopped: a
// thread running on another CPU stops a little after kill(2) returns.
// Without /proc (not Linux) it waits 100 ms.
func haWaitStopped(t *testing.T, pid int) {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		time.Sleep(100 * time.Millisecond)
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, task := range tasks {
		for {
			stat, err := os.ReadFile(task)
			if err != nil {
				break // the thread has exited
			}
			// pid (comm) state …: the state follows the last ')'.
			if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) && (stat[i+2] == 'T' || stat[i+2] == 't') {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %d did not stop within 5s: %s", pid, stat)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// writable reports whether the database's write lock can be taken within
// 100 ms (nil), which a transaction left open by a stopped process prevents.
func (c *haCluster) writable() error {
	c.t.Helper()
	postgres := strings.HasPrefix(c.dbPath, "postgres")
	if c.lock == nil {
		var err error
		if postgres {
			c.lock, err = sql.Open("pgx", c.dbPath)
		} else {
			c.lock, err = sql.Open("sqlite3", "file:"+c.dbPath+"?_busy_timeout=100&_txlock=immediate")
		}
		if err != nil {
			c.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tx, err := c.lock.BeginTx(ctx, nil) // SQLite: BEGIN IMMEDIATE takes the write lock
	if err != nil {
		return err
	}
	if postgres {
		// Every write transaction takes this advisory lock first.
		if _, err = tx.ExecContext(ctx, `SET LOCAL lock_timeout = '100ms'`); err == nil {
			_, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, storage.PGWriteLock)
		}
		if err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Rollback()
}

// moves describes the journal of m's user moves, to compare two moments.
func (c *haCluster) moves(id string) []string {
	c.t.Helper()
	moves, err := c.db.UserMoves(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, mv := range moves {
		out = append(out, fmt.Sprintf("%s %s %s %s", mv.UserID, mv.State, mv.MSRequestID, mv.UpdatedAt.Format(time.RFC3339Nano)))
	}
	return out
}

// checkMoved checks, in the sandbox, that every user of m's plan holds the
// target licence and not the retired one, and that the old subscription is
// suspended.
func (c *haCluster) checkMoved(m *bot.Migration) {
	c.t.Helper()
	ctx := c.ctx()
	var wrong []string
	for _, u := range m.Plan.Move {
		skus, err := c.pc.UserSkuIDs(ctx, m.CustomerID, u.ID)
		if err != nil {
			c.t.Fatal(err)
		}
		has := func(id string) bool {
			return slices.ContainsFunc(skus, func(s string) bool { return strings.EqualFold(s, id) })
		}
		if has(m.Plan.RetiredSkuID) || !has(m.Plan.Target.SkuID) {
			wrong = append(wrong, fmt.Sprintf("%s holds %v", u.UPN, skus))
		}
	}
	if len(wrong) > 0 {
		c.t.Errorf("after migration %s, %d of %d users are not on %s alone: %s", m.ID, len(wrong), len(m.Plan.Move), m.Plan.Target.Name, strings.Join(wrong, "; "))
	}
	sub, err := c.pc.GetSubscription(ctx, m.CustomerID, m.SubscriptionID)
	if err != nil {
		c.t.Fatal(err)
	}
	if !strings.EqualFold(sub.Status, "suspended") {
		c.t.Errorf("the old subscription %s is %s after migration %s, want suspended", m.SubscriptionID, sub.Status, m.ID)
	}
}

// verifyAudit runs `kaizalabot audit --verify` on the database.
func (c *haCluster) verifyAudit() {
	c.t.Helper()
	cmd := exec.Command(c.bin, "audit", "--verify", "--db", c.dbPath)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "intact") {
		c.t.Errorf("kaizalabot audit --verify: %v\n%s", err, out)
	}
}

// haLogged reports whether a JSON log line of logs has a message containing msg.
func haLogged(logs, msg string) bool {
	for _, line := range strings.Split(logs, "\n") {
		var entry struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && strings.Contains(entry.Msg, msg) {
			return true
		}
	}
	return false
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// haBinary is kaizalabot built once from this tree for the tests that run
// it as child processes, removed when the last of them ends.
var haBinary haBuild

type haBuild struct {
	mu       sync.Mutex
	bin, dir string
	users    int
}

func (b *haBuild) get(t *testing.T) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bin == "" {
		dir, err := os.MkdirTemp("", "kaizalabot-ha")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		bin := filepath.Join(dir, "kaizalabot")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			t.Fatalf("go build: %v\n%s", err, out)
		}
		b.bin, b.dir = bin, dir
	}
	b.users++
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.users--; b.users == 0 {
			os.RemoveAll(b.dir)
			b.bin, b.dir = "", ""
		}
	})
	return b.bin
}
