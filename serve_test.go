package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/config"
	"github.com/kaizalabot/kaizalabot/fakeslack"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// The bot as `kaizalabot serve` wires it, against the Partner Center
// sandbox and the recording fake Slack, over loopback.

const (
	alertChannel  = "C0ALERTS"
	digestChannel = "C0DIGEST"
	salesID       = "U0SALES"
	bossID        = "U0BOSS"
	bystanderID   = "U0OTHER"   // in none of the lists: the bot refuses them
	partnerID     = "U0PARTNER" // a listed salesperson of another Slack team (Slack Connect)
	partnerTeam   = "T0PARTNER"
	testBotToken  = "xoxb-test-bot-token-5ecret"
	testSigning   = "test-signing-5ecret-0123456789abcdef"
	testPCSecret  = "pc-client-5ecret"
)

type stack struct {
	t      *testing.T
	sim    *pcsim.Server
	slack  *fakeslack.Server
	srv    *server
	cfg    config.Serve
	logs   *syncBuffer
	report *bot.ScanReport

	mu      sync.Mutex
	bearers map[string]bool // access tokens seen by the sandbox
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newStack(t *testing.T, sim ...func(*pcsim.Options)) *stack {
	t.Helper()
	return newStackWith(t, nil, sim...)
}

// newStackWith is newStack with mode applied to the fake Slack's options
// and the bot's configuration before either starts (Socket Mode, say).
func newStackWith(t *testing.T, mode func(*fakeslack.Options, *config.Serve), sim ...func(*pcsim.Options)) *stack {
	t.Helper()
	opts := pcsim.DefaultOptions()
	opts.Customers, opts.RateLimit, opts.ProvisioningDelay = 30, 0, 200*time.Millisecond
	opts.ClientSecret = testPCSecret
	for _, mutate := range sim {
		mutate(&opts)
	}
	st := &stack{t: t, sim: pcsim.New(opts), logs: &syncBuffer{}, bearers: map[string]bool{}}
	// Remember every access token the bot uses, to prove none is logged.
	pcSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			st.mu.Lock()
			st.bearers[token] = true
			st.mu.Unlock()
		}
		st.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(pcSrv.Close)

	slackOpts := fakeslack.Options{
		BotToken: testBotToken, SigningSecret: testSigning,
		Users: []fakeslack.User{{ID: salesID, Name: "sam.sales"}, {ID: bossID, Name: "bea.boss"}, {ID: bystanderID, Name: "otto.other"},
			{ID: partnerID, Name: "pat.partner", TeamID: partnerTeam}},
	}
	st.cfg = config.Serve{
		BotToken: testBotToken, SigningSecret: testSigning,
		AlertChannel: alertChannel, DigestChannel: digestChannel, DigestSchedule: config.DefaultDigestSchedule,
		Location: time.UTC, Approvers: []string{bossID}, RequiredApprovals: 1, ScanInterval: time.Hour,
		Sales: []string{salesID, partnerID}, AlertDays: bot.DefaultAlertDays, DB: filepath.Join(t.TempDir(), "kaizalabot.db"),
		PartnerCenter: config.PartnerCenter{
			APIURL: pcSrv.URL, TokenURL: pcSrv.URL + "/partner/oauth2/token", TenantID: "partner",
			ClientID: "sandbox-client", ClientSecret: testPCSecret, RefreshToken: "sandbox-refresh-token", RateLimit: 60000,
		},
	}
	if mode != nil {
		mode(&slackOpts, &st.cfg)
	}
	st.slack = fakeslack.New(slackOpts)
	if _, err := st.slack.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.slack.Close() })
	st.cfg.SlackAPIURL = st.slack.APIURL()
	st.start()
	return st
}

// start starts kaizalabot serve on st.cfg, as a new process would, and
// points the fake Slack at it.
func (st *stack) start() {
	st.t.Helper()
	log := logrus.New()
	log.SetOutput(st.logs)
	log.SetFormatter(&logrus.JSONFormatter{})
	log.SetLevel(logrus.DebugLevel)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.t.Fatal(err)
	}
	if st.srv, err = startServer(context.Background(), st.cfg, log, ln); err != nil {
		st.t.Fatal(err)
	}
	st.t.Cleanup(st.srv.Shutdown)
	st.slack.SetAppURL("http://" + st.srv.Addr())
}

func (st *stack) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	st.t.Cleanup(cancel)
	return ctx
}

// command sends /kaizala text as user and returns the immediate reply text.
func (st *stack) command(user, text string) string {
	st.t.Helper()
	reply, err := st.slack.Command(st.ctx(), user, alertChannel, text)
	if err != nil {
		st.t.Fatal(err)
	}
	if reply.Status != 200 {
		st.t.Fatalf("/kaizala %s: HTTP %d %s", text, reply.Status, reply.Body)
	}
	if reply.Latency > 3*time.Second {
		st.t.Errorf("/kaizala %s took %v; Slack gives 3 s", text, reply.Latency)
	}
	return string(reply.Body)
}

func (st *stack) waitMessage(channel string, contains ...string) fakeslack.Message {
	st.t.Helper()
	m, err := st.slack.WaitMessage(st.ctx(), channel, func(m fakeslack.Message) bool { return containsAll(render(m), contains...) })
	if err != nil {
		st.t.Fatalf("no message in %s containing %q: %v", channel, contains, err)
	}
	return m
}

func (st *stack) waitEphemeral(user string, contains ...string) fakeslack.Message {
	st.t.Helper()
	m, err := st.slack.WaitEphemeral(st.ctx(), user, func(m fakeslack.Message) bool { return containsAll(render(m), contains...) })
	if err != nil {
		st.t.Fatalf("no ephemeral for %s containing %q: %v (got %v)", user, contains, err, texts(st.slack.Ephemerals(user)))
	}
	return m
}

func render(m fakeslack.Message) string { return m.Text + "\n" + string(m.Blocks) }

func texts(ms []fakeslack.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// expiring picks an expiring Kaizala Pro subscription whose users can all
// be moved (ending within 90 days), from the bot's own scan.
func (st *stack) expiring(skip ...string) bot.TrackedSubscription {
	st.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		tracked, err := st.srv.db.TrackedSubscriptions(context.Background())
		if err != nil {
			st.t.Fatal(err)
		}
		for _, t := range tracked {
			t.DaysLeft = bot.DaysLeft(t.Subscription.EndDate, time.Now(), time.UTC)
			if t.Expiring(90) && !slices.Contains(skip, t.Subscription.ID) {
				return t
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	st.t.Fatal("the scan at start found nothing")
	return bot.TrackedSubscription{}
}

func TestStoryHelpTargetsAndAlerts(t *testing.T) {
	st := newStack(t)
	if help := st.command(salesID, "help"); !containsAll(strings.ToLower(help), "plan", "approve") {
		t.Errorf("help does not speak of plan and approve:\n%s", help)
	}
	if targets := st.command(salesID, "targets"); !strings.Contains(targets, "Office 365 E1") {
		t.Errorf("targets does not list Office 365 E1:\n%s", targets)
	}
	st.command(salesID, "scan")
	sub := st.expiring()
	alert := st.alertOf(sub.Subscription.ID)
	if !strings.Contains(render(alert), sub.Customer.Name) && !strings.Contains(render(alert), sub.Customer.Domain) {
		t.Errorf("the alert does not name the customer:\n%s", render(alert))
	}
	st.waitEphemeral(salesID, "Scan done")
	// A restart must not alert again: count the alerts, scan again, compare.
	before := len(st.slack.Messages(alertChannel))
	st.command(salesID, "scan")
	st.waitEphemeral(salesID, "0 new alerts")
	if after := len(st.slack.Messages(alertChannel)); after != before {
		t.Errorf("a second scan posted %d more alerts", after-before)
	}
}

// plan asks for a plan of sub to Office 365 E1 as the salesperson and
// returns the plan message and the migration it made.
func (st *stack) plan(sub bot.TrackedSubscription) (fakeslack.Message, *bot.Migration) {
	st.t.Helper()
	st.command(salesID, "plan "+sub.Subscription.ID+" STANDARDPACK")
	plan := st.waitMessage(alertChannel, "Approve", "Reject", sub.Subscription.ID)
	ms, err := st.srv.db.ListMigrations(context.Background(), bot.MigrationFilter{SubscriptionID: sub.Subscription.ID})
	if err != nil || len(ms) != 1 {
		st.t.Fatalf("migrations: %v %v", ms, err)
	}
	return plan, ms[0]
}

func TestStoryPlanApproveMigrate(t *testing.T) {
	st := newStack(t)
	sub := st.expiring()
	plan, migration := st.plan(sub)
	if !strings.Contains(render(plan), itoa(len(migration.Plan.Move))) {
		t.Errorf("the plan does not say how many users move (%d):\n%s", len(migration.Plan.Move), render(plan))
	}

	// The requester and a bystander click Approve: nothing changes.
	for who, refusal := range map[string]string{salesID: "Only approvers may click *Approve*", bystanderID: "not set up to use kaizalabot"} {
		if _, err := st.slack.Click(st.ctx(), who, plan, "kaizala_approve"); err != nil {
			t.Fatal(err)
		}
		st.waitEphemeral(who, refusal)
	}
	if got, _ := st.srv.db.GetMigration(context.Background(), migration.ID); got.State != bot.StatePendingApproval {
		t.Fatalf("after refused clicks the migration is %s", got.State)
	}

	// The approver's click completes it; the thread names the new subscription.
	if _, err := st.slack.Click(st.ctx(), bossID, plan, "kaizala_approve"); err != nil {
		t.Fatal(err)
	}
	done := waitMigration(t, st, migration.ID)
	if done.State != bot.StateDone {
		t.Fatalf("migration %s: %s", done.State, done.Error)
	}
	if _, err := st.slack.WaitThreadReply(st.ctx(), plan.Channel, plan.TS, func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, done.NewSubscriptionID)
	}); err != nil {
		t.Errorf("no thread reply names the new subscription %s: %v", done.NewSubscriptionID, err)
	}
	// Bought through a cart whose order completed later, as Partner Center
	// sells today; the legacy subscription is suspended.
	if _, err := st.slack.WaitThreadReply(st.ctx(), plan.Channel, plan.TS, func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, "waiting for Microsoft to provision order")
	}); err != nil {
		t.Errorf("the thread never said it waited for the order: %v", err)
	}
	if checkouts := st.sim.Stats().CartsCheckedOut; checkouts != 1 {
		t.Errorf("carts checked out = %d, want 1", checkouts)
	}
	if _, err := st.slack.WaitUpdate(st.ctx(), plan.Channel, plan.TS, 1); err != nil {
		t.Errorf("the plan message was never updated: %v", err)
	}

	// A second click buys nothing.
	if _, err := st.slack.Click(st.ctx(), bossID, plan, "kaizala_approve"); err != nil {
		t.Fatal(err)
	}
	st.waitEphemeral(bossID, "already")
	if n := st.sim.Stats().OrdersCreated; n != 1 {
		t.Errorf("orders created = %d, want 1", n)
	}

	if history := st.command(salesID, "history "+sub.Subscription.ID); !strings.Contains(history, "bea.boss") {
		t.Errorf("history does not name the approver:\n%s", history)
	}

	// The exported history names requester, approver, old and new subscription.
	st.srv.Shutdown()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"audit", "--format", "json", "--db", st.cfg.DB}, &out, &errOut); code != exitOK {
		t.Fatalf("audit: exit %d: %s", code, errOut.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sam.sales", "bea.boss", sub.Subscription.ID, done.NewSubscriptionID} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the audit export does not name %s", want)
		}
	}
	var verify bytes.Buffer
	if code := run(context.Background(), []string{"audit", "--verify", "--db", st.cfg.DB}, &verify, &errOut); code != exitOK {
		t.Errorf("audit --verify: exit %d: %s %s", code, verify.String(), errOut.String())
	}
	st.assertNoSecretLogged()
}

func waitMigration(t *testing.T, st *stack, id string) *bot.Migration {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m, err := st.srv.db.GetMigration(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !m.State.Running() && m.State != bot.StatePendingApproval {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("migration %s did not finish", id)
	return nil
}

func (st *stack) assertNoSecretLogged() {
	st.t.Helper()
	logs := st.logs.String()
	for _, secret := range []string{testBotToken, testSigning, testPCSecret, "sandbox-refresh-token"} {
		if strings.Contains(logs, secret) {
			st.t.Errorf("the log contains a secret (%q)", secret[:6])
		}
	}
	if strings.Contains(logs, "Bearer ") {
		st.t.Error("the log contains a bearer token")
	}
	st.mu.Lock()
	secrets := []string{}
	for token := range st.bearers {
		secrets = append(secrets, token)
	}
	st.mu.Unlock()
	if len(secrets) == 0 {
		st.t.Error("the sandbox saw no access token; the check proves nothing")
	}
	if rotated, ok, _ := st.srv.db.Setting(context.Background(), settingRefreshToken); ok {
		secrets = append(secrets, rotated)
	}
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			st.t.Error("the log contains an access or rotated refresh token")
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
