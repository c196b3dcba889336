package slackbot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/fakeslack"
	"github.com/kaizalabot/kaizalabot/slackview"
	"github.com/kaizalabot/kaizalabot/storage"
)

const testAlertChannel = "C0ALERTS"

// licences answers the two licence reads an alert makes; nothing else of
// Partner Center is called.
type licences struct {
	bot.PartnerCenter
	consumed int
}

func (licences) SubscriptionSkuID(context.Context, string, string) (string, error) {
	return "sku-kaizala", nil
}

func (l licences) LicensePools(context.Context, string) ([]bot.LicensePool, error) {
	return []bot.LicensePool{{SkuID: "sku-kaizala", Consumed: l.consumed}}, nil
}

// alertStack is the alerting part of the bot against a real database and
// the fake Slack, on a clock the test moves.
type alertStack struct {
	t     *testing.T
	app   *App
	db    *storage.DB
	slack *fakeslack.Server

	mu  sync.Mutex
	now time.Time
}

func newAlertStack(t *testing.T) *alertStack {
	t.Helper()
	s := &alertStack{t: t, now: time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)}
	s.slack = fakeslack.New(fakeslack.Options{BotToken: "xoxb-alerts", Now: s.Now})
	if _, err := s.slack.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.slack.Close() })
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "kaizalabot.db"), storage.Options{Now: s.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s.db = db
	log := logrus.New()
	log.SetOutput(io.Discard)
	s.app = &App{Store: db, PC: licences{consumed: 9}, Catalog: bot.DefaultCatalog(), Log: log, Now: s.Now,
		Slack:  slack.New("xoxb-alerts", slack.OptionAPIURL(s.slack.APIURL())),
		Config: Config{AlertChannel: testAlertChannel, AlertDays: bot.DefaultAlertDays, Location: time.UTC}}
	// Slack's one message a second per channel would make this test slow.
	s.app.pace.channels = map[string]*rate.Limiter{testAlertChannel: rate.NewLimiter(rate.Inf, 1)}
	return s
}

func (s *alertStack) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *alertStack) advance(days int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.AddDate(0, 0, days)
}

// findings are Kaizala Pro subscriptions of different customers ending
// the given days after today.
func (s *alertStack) findings(days ...int) []bot.Finding {
	today := s.Now().Truncate(24 * time.Hour)
	var out []bot.Finding
	for i, d := range days {
		c := bot.Customer{ID: fmt.Sprintf("cust-%02d", i), Domain: fmt.Sprintf("customer%02d.onmicrosoft.com", i), Name: fmt.Sprintf("Customer %02d", i)}
		out = append(out, bot.Finding{Customer: c, Retired: "Kaizala Pro", Subscription: bot.Subscription{
			ID: fmt.Sprintf("SUB-%02d", i), CustomerID: c.ID, OfferName: "Microsoft Kaizala Pro", Quantity: 10 + i,
			Status: "active", EndDate: today.AddDate(0, 0, d)}})
	}
	return out
}

// scan records a scan that found fs (days left counted today) and alerts.
func (s *alertStack) scan(fs []bot.Finding) int {
	s.t.Helper()
	ctx := context.Background()
	r := &bot.ScanReport{Started: s.Now(), Finished: s.Now()}
	for _, f := range fs {
		f.DaysLeft = bot.DaysLeft(f.Subscription.EndDate, s.Now(), time.UTC)
		r.Findings = append(r.Findings, f)
	}
	if err := s.db.SaveScan(ctx, r); err != nil {
		s.t.Fatal(err)
	}
	posted, err := s.app.alert(ctx, r)
	if err != nil {
		s.t.Fatal(err)
	}
	return posted
}

// posts are every message of the alert channel, top-level and in threads.
func (s *alertStack) posts() []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range s.slack.Messages(testAlertChannel) {
		out = append(out, m)
		out = append(out, s.slack.Thread(testAlertChannel, m.TS)...)
	}
	return out
}

// showing is the message that shows subscription sub's line with its menu
// of plans (or, with menu false, any line of it).
func (s *alertStack) showing(sub string, menu bool) (fakeslack.Message, bool) {
	for _, m := range s.posts() {
		if menu && hasLineMenu(m, sub) || !menu && strings.Contains(string(m.Blocks), "kaizala_line:"+sub+":") {
			return m, true
		}
	}
	return fakeslack.Message{}, false
}

// hasLineMenu reports whether m carries sub's menu of plans, with an
// option that plans sub.
func hasLineMenu(m fakeslack.Message, sub string) bool {
	var blocks []struct {
		Accessory struct {
			ActionID string `json:"action_id"`
			Options  []struct {
				Value string `json:"value"`
			} `json:"options"`
		} `json:"accessory"`
	}
	_ = json.Unmarshal(m.Blocks, &blocks)
	for _, b := range blocks {
		if b.Accessory.ActionID != slackview.ActionPlanLine+":"+sub {
			continue
		}
		for _, o := range b.Accessory.Options {
			if got, _, ok := slackview.ParsePlanLineValue(o.Value); ok && got == sub {
				return true
			}
		}
	}
	return false
}

func updates(ms []fakeslack.Message) int {
	n := 0
	for _, m := range ms {
		n += m.Updates
	}
	return n
}

// TestABatchPerScan: a scan that alerts 15 subscriptions posts one
// top-level message (the rest in its thread), each subscription once with
// its menu of plans; the next scan posts nothing; a day later the lines
// count a day less, and those that crossed a threshold move up in place,
// with a reply in the thread, not a new message.
func TestABatchPerScan(t *testing.T) {
	s := newAlertStack(t)
	days := []int{-3, 0, 2, 5, 8, 12, 20, 25, 31, 45, 50, 61, 70, 80, 88}
	fs := s.findings(days...)
	if posted := s.scan(fs); posted != len(fs) {
		t.Errorf("posted %d, want %d", posted, len(fs))
	}
	if top := s.slack.Messages(testAlertChannel); len(top) != 1 {
		t.Fatalf("%d top-level messages for one scan, want 1", len(top))
	}
	for _, f := range fs {
		n := 0
		for _, m := range s.posts() {
			if hasLineMenu(m, f.Subscription.ID) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s is shown with its menu on %d messages, want 1", f.Subscription.ID, n)
		}
	}
	root := s.slack.Messages(testAlertChannel)[0]
	thread := s.slack.Thread(testAlertChannel, root.TS)
	if len(thread) > 0 && !strings.Contains(string(root.Blocks), fmt.Sprintf("%d more in the thread", len(fs)-strings.Count(string(root.Blocks), `"kaizala_line:`))) {
		t.Errorf("the top-level message does not count what is in its thread:\n%s", root.Blocks)
	}
	if !strings.Contains(string(root.Blocks), "9 users") {
		t.Error("the lines do not say how many users hold the licence")
	}

	before := len(s.posts())
	if posted := s.scan(fs); posted != 0 || len(s.posts()) != before || updates(s.posts()) != 0 {
		t.Errorf("the same scan again: posted %d, %d messages (was %d), %d updates", posted, len(s.posts()), before, updates(s.posts()))
	}

	s.advance(1)
	// Crossed: 0→-1 (ended), 2→1, 8→7, 31→30, 61→60.
	if posted := s.scan(fs); posted != 5 {
		t.Errorf("a day later: %d alerts, want the 5 that crossed a threshold", posted)
	}
	if top := s.slack.Messages(testAlertChannel); len(top) != 1 {
		t.Errorf("%d top-level messages after a threshold was crossed, want still 1", len(top))
	}
	replies := s.slack.Thread(testAlertChannel, root.TS)
	for _, i := range []int{1, 2, 4, 8, 11} {
		sub := fs[i].Subscription.ID
		found := false
		for _, r := range replies {
			found = found || strings.Contains(r.Text, sub)
		}
		if !found {
			t.Errorf("no reply in the thread says %s crossed a threshold", sub)
		}
	}
	for _, m := range s.posts() {
		if strings.Contains(string(m.Blocks), "in 8 days") {
			t.Errorf("a message still counts yesterday's days:\n%s", m.Blocks)
		}
	}
	m, ok := s.showing(fs[4].Subscription.ID, true)
	if !ok || m.Updates == 0 {
		t.Fatalf("the line of %s is not shown, updated: %+v", fs[4].Subscription.ID, m)
	}
	blocks := string(m.Blocks)
	if i, j := strings.Index(blocks, "Ends within 7 days"), strings.Index(blocks, fs[4].Subscription.ID); i < 0 || j < i || !strings.Contains(blocks, "in 7 days") {
		t.Errorf("%s (7 days left) should be under Ends within 7 days:\n%s", fs[4].Subscription.ID, blocks)
	}
}

// TestALineFollowsItsMigration: a migration's change re-renders the line
// in place: no menu while it runs, its state shown; other lines keep theirs.
func TestALineFollowsItsMigration(t *testing.T) {
	ctx := context.Background()
	s := newAlertStack(t)
	fs := s.findings(3, 10, 40)
	s.scan(fs)
	sub := fs[1].Subscription.ID
	msg, ok := s.showing(sub, true)
	if !ok {
		t.Fatal("no line with a menu")
	}
	m := &bot.Migration{ID: "M7K2QX", CustomerID: fs[1].Customer.ID, SubscriptionID: sub, State: bot.StatePendingApproval, PlanHash: "h",
		Requester: bot.Actor{ID: "U0SALES", Name: "sam"}, Plan: bot.Plan{Subscription: bot.PlanSubscription{ID: sub}, Seats: 11}}
	if err := s.db.CreateMigration(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.app.refreshAlerts(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, _ := s.slack.Message(testAlertChannel, msg.TS)
	if got.Updates != 1 || hasLineMenu(got, sub) || !strings.Contains(string(got.Blocks), "Migration M7K2QX pending approval") ||
		!hasLineMenu(got, fs[0].Subscription.ID) || len(s.slack.Messages(testAlertChannel)) != 1 {
		t.Errorf("after the plan, the alert (updated %d times):\n%s", got.Updates, got.Blocks)
	}
}

// TestOneSubscriptionAlone keeps the single alert: a later threshold
// updates it and replies in its thread; once migrated and a week old it
// settles, and scans stop re-rendering it.
func TestOneSubscriptionAlone(t *testing.T) {
	ctx := context.Background()
	s := newAlertStack(t)
	fs := s.findings(8)
	s.scan(fs)
	top := s.slack.Messages(testAlertChannel)
	if len(top) != 1 || !strings.Contains(string(top[0].Blocks), slackview.ActionPlan) || !strings.Contains(top[0].Text, "ends in 8 days") {
		t.Fatalf("the single alert: %+v", top)
	}
	s.advance(1)
	if posted := s.scan(fs); posted != 1 {
		t.Errorf("crossing the 7-day mark: %d alerts, want 1", posted)
	}
	alert, _ := s.slack.Message(testAlertChannel, top[0].TS)
	if n := len(s.slack.Messages(testAlertChannel)); n != 1 || !strings.Contains(alert.Text, "ends in 7 days") || !strings.Contains(string(alert.Blocks), ":rotating_light:") {
		t.Errorf("%d top-level messages; the alert: %s", n, alert.Text)
	}
	if replies := s.slack.Thread(testAlertChannel, top[0].TS); len(replies) != 1 || !strings.Contains(replies[0].Text, "within 7 days") {
		t.Errorf("replies: %+v", replies)
	}

	m := &bot.Migration{ID: "M7K2QX", CustomerID: fs[0].Customer.ID, SubscriptionID: fs[0].Subscription.ID, State: bot.StateDone, PlanHash: "h",
		NewSubscriptionID: "NEW-SUB", Requester: bot.Actor{ID: "U0SALES"}, Plan: bot.Plan{Subscription: bot.PlanSubscription{ID: fs[0].Subscription.ID}}}
	if err := s.db.CreateMigration(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.app.refreshAlerts(ctx, m); err != nil {
		t.Fatal(err)
	}
	alert, _ = s.slack.Message(testAlertChannel, top[0].TS)
	if strings.Contains(string(alert.Blocks), "Days left") || !strings.Contains(alert.Text, "migrated") {
		t.Errorf("a migrated alert counts days, which nothing will update:\n%s", alert.Blocks)
	}
	s.advance(8)
	s.scan(fs) // settles it
	settled, _ := s.slack.Message(testAlertChannel, top[0].TS)
	s.advance(1)
	s.scan(fs)
	if again, _ := s.slack.Message(testAlertChannel, top[0].TS); again.Updates != settled.Updates {
		t.Errorf("a settled alert was updated again (%d, then %d updates)", settled.Updates, again.Updates)
	}
	if msgs, err := s.db.UnsettledAlertMessages(ctx); err != nil || len(msgs) != 0 {
		t.Errorf("unsettled after a week migrated: %+v %v", msgs, err)
	}
}

// TestAFollowUpSlackRefusedIsPostedNextScan: what the thread did not get
// is posted by the next scan, never dropped; the top-level message then
// counts what its thread holds.
func TestAFollowUpSlackRefusedIsPostedNextScan(t *testing.T) {
	s := newAlertStack(t)
	var days []int
	for i := range 30 {
		days = append(days, 3+i*2)
	}
	fs := s.findings(days...)
	s.slack.FailNextWhere("chat.postMessage", "internal_error", func(args map[string]string) bool { return args["thread_ts"] != "" })
	first := s.scan(fs)
	if first == 0 || first == len(fs) {
		t.Fatalf("posted %d of %d: the test needs a thread follow-up to fail", first, len(fs))
	}
	root := s.slack.Messages(testAlertChannel)[0]
	root, _ = s.slack.Message(testAlertChannel, root.TS)
	inThread := 0
	for _, r := range s.slack.Thread(testAlertChannel, root.TS) {
		inThread += strings.Count(string(r.Blocks), `"kaizala_line:`)
	}
	if want := fmt.Sprintf("%d more in the thread", inThread); inThread > 0 && !strings.Contains(string(root.Blocks), want) {
		t.Errorf("the top-level message should say %q:\n%s", want, root.Blocks)
	}
	if second := s.scan(fs); first+second != len(fs) {
		t.Errorf("posted %d, then %d: want all %d", first, second, len(fs))
	}
	for _, f := range fs {
		if _, ok := s.showing(f.Subscription.ID, true); !ok {
			t.Errorf("%s is not shown", f.Subscription.ID)
		}
	}
}
