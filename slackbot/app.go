// Package slackbot is the bot's Slack side: it turns /kaizala commands and
// button clicks into calls on the engine, and the engine's events, scans and
// digests into Slack messages (posted, updated in place, threaded), within
// Slack's limits and manners.
package slackbot

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

	"github.com/robfig/cron/v3"
	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/handlers"
	"github.com/kaizalabot/kaizalabot/metrics"
	"github.com/kaizalabot/kaizalabot/slackview"
	"github.com/kaizalabot/kaizalabot/storage"
)

// Store is what the Slack side keeps: the domain's store plus where alerts,
// plans and digests were posted.
type Store interface {
	bot.Store
	ClaimAlert(ctx context.Context, subscriptionID, customerID string, threshold int) (bool, error)
	SetAlertMessage(ctx context.Context, subscriptionID string, threshold int, channel, ts string) error
	SetAlertState(ctx context.Context, subscriptionID, state string) error
	Alerts(ctx context.Context, subscriptionID string) ([]storage.Alert, error)
	SetMigrationMessage(ctx context.Context, migrationID, channel, ts string) error
	MigrationMessage(ctx context.Context, migrationID string) (channel, ts string, ok bool, err error)
	RecordDigest(ctx context.Context, channel, ts string, at time.Time) error
	LastDigest(ctx context.Context) (time.Time, bool, error)
	// ClaimSlot takes a named slot unless it was taken less than every ago.
	ClaimSlot(ctx context.Context, name string, every time.Duration) (bool, time.Time, error)
	AlertBook
	batchMessages
}

// Config is how the bot behaves in Slack.
type Config struct {
	AlertChannel   string
	DigestChannel  string // default AlertChannel
	AlertDays      []int  // default bot.DefaultAlertDays
	DigestSchedule string // cron, default "0 9 * * 1-5"
	ScanInterval   time.Duration
	// FullScanInterval is how often a scan reads every customer; the scans
	// between read only the customers the activity log names. Default 24h.
	FullScanInterval time.Duration
	Location         *time.Location
	// ApprovalReminder is how long a plan waits for approval before its
	// approvers are reminded in its thread, and then between reminders;
	// 0: no reminders.
	ApprovalReminder time.Duration
}

// App is the bot in Slack.
type App struct {
	Engine  *bot.Engine
	Scanner *bot.Scanner
	Store   Store
	PC      bot.PartnerCenter
	Catalog *bot.Catalog
	Slack   SlackAPI
	TeamID  string           // the bot's own Slack team (auth.test); others are refused (access.go)
	Metrics *metrics.Metrics // optional
	Log     logrus.FieldLogger
	Now     func() time.Time
	// Worker, optional, says whether this process is the worker and why the
	// database may be refusing writes; without it the process is alone and
	// always the worker.
	Worker WorkerStatus
	// Owners are the customers' account owners (KAIZALA_OWNERS), told of
	// their customers' alerts and named on their plans; nil: none.
	Owners *bot.Owners
	Config

	notifier    *notifier
	pace        pacer
	work        sync.WaitGroup
	scanning    sync.Mutex // held while a scan runs; guards lastScan
	lastScan    ScanResult
	lastScanErr error
	// prevScan is the last scan's report (the next incremental scan starts
	// from it; the digest reads its cost) and lastFull when the last full
	// scan started; both are set with the scanning lock held.
	prevScan atomic.Pointer[bot.ScanReport]
	lastFull time.Time
	base     context.Context
	// throttled counts Partner Center 429s; digests report the difference.
	throttled         atomic.Int64
	throttledAtDigest atomic.Int64
}

// New wires an App and makes the engine report to it.
func New(a *App) *App {
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Location == nil {
		a.Location = time.UTC
	}
	if a.DigestChannel == "" {
		a.DigestChannel = a.AlertChannel
	}
	a.DigestSchedule = cmp.Or(a.DigestSchedule, "0 9 * * 1-5")
	if len(a.AlertDays) == 0 {
		a.AlertDays = bot.DefaultAlertDays
	}
	if a.Log == nil {
		a.Log = logrus.StandardLogger()
	}
	a.base = context.Background()
	a.notifier = &notifier{app: a, wake: make(chan struct{}, 1)}
	a.Engine.Events = a.notifier
	return a
}

// WorkerStatus reports on the worker lease (bot.Worker.Status).
type WorkerStatus interface{ Status() bot.WorkerStatus }

// isWorker reports whether this process scans, alerts and runs migrations.
func (a *App) isWorker() bool { return a.Worker == nil || a.Worker.Status().IsWorker }

// GroupMembers returns a cached reader of Slack user groups, for the
// approval policy.
func GroupMembers(api SlackAPI) bot.GroupMembers {
	return &groupCache{api: api, ttl: 5 * time.Minute, now: time.Now}
}

// ThrottledByPartnerCenter counts a 429 from Partner Center, for the digest.
func (a *App) ThrottledByPartnerCenter() { a.throttled.Add(1) }

// Start runs the notifier until ctx ends; every process runs it, since
// the engine publishes each change in the process that made it. Wait waits
// for it.
func (a *App) Start(ctx context.Context) error {
	a.base = ctx
	a.goBackground(func() { a.notifier.run(ctx) })
	if _, err := cron.ParseStandard(a.DigestSchedule); err != nil {
		return fmt.Errorf("digest schedule %q: %w", a.DigestSchedule, err)
	}
	return nil
}

// Work is what the worker does while it holds the lease, until ctx ends:
// it catches Slack up, scans now and every ScanInterval (and when another
// process asks), and posts the scheduled digest.
func (a *App) Work(ctx context.Context) {
	_ = bot.RetryUntil(ctx, time.Second, 30*time.Second, a.catchUp, func(err error) {
		a.Log.WithError(err).Warn("catching Slack up failed; trying again")
	})
	var work sync.WaitGroup
	if a.ScanInterval > 0 {
		work.Go(func() { a.scanLoop(ctx) })
	}
	for signal, full := range map[string]bool{bot.SignalScan: false, bot.SignalScanFull: true} {
		work.Go(func() {
			bot.WatchSignal(ctx, a.Store, signal, 200*time.Millisecond, func(ctx context.Context) {
				if _, err := a.ScanNow(ctx, full); err != nil && ctx.Err() == nil {
					a.Log.WithError(err).Error("the scan a person asked for failed")
				}
			})
		})
	}
	if a.ApprovalReminder > 0 {
		work.Go(func() { a.remindApprovers(ctx) })
	}
	c := cron.New(cron.WithLocation(a.Location))
	if _, err := c.AddFunc(a.DigestSchedule, func() {
		if _, err := a.PostDigest(ctx); err != nil {
			a.Log.WithError(err).Error("the scheduled digest failed")
		}
	}); err != nil {
		a.Log.WithError(err).Error("the digest schedule is invalid; no digest is posted") // checked in Start
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	work.Wait()
}

// eventRedraw asks the notifier to redraw a plan message and its alerts
// as the migration stands, posting nothing in the thread.
const eventRedraw bot.EventKind = "slackbot.redraw"

// recentlyFinished is how long after finishing a migration's plan message is
// redrawn at start, in case the last update was lost.
const recentlyFinished = 24 * time.Hour

// catchUp makes Slack match the database after a restart: the plan of every
// open migration that has no message yet is posted (its post failed, or the
// process stopped before it), and the messages of open or recently finished
// migrations are redrawn, since the events that would have updated them may
// have been queued when the last process stopped.
func (a *App) catchUp(ctx context.Context) error {
	all, err := a.Store.ListMigrations(ctx, bot.MigrationFilter{})
	if err != nil {
		return fmt.Errorf("listing migrations: %w", err)
	}
	for _, m := range all {
		if m.State.Final() && a.Now().Sub(m.UpdatedAt) > recentlyFinished {
			continue
		}
		_, _, posted, err := a.Store.MigrationMessage(ctx, m.ID)
		switch {
		case err != nil:
			return err
		case posted:
			a.notifier.Publish(bot.Event{Kind: eventRedraw, Migration: *m})
		case !m.State.Final():
			a.notifier.Publish(bot.Event{Kind: bot.EventPlanned, Migration: *m})
		}
	}
	return nil
}

// Wait blocks until the background work has stopped.
func (a *App) Wait() { a.work.Wait() }

func (a *App) goBackground(fn func()) {
	a.work.Add(1)
	go func() { defer a.work.Done(); fn() }()
}

func (a *App) scanLoop(ctx context.Context) {
	t := time.NewTicker(a.ScanInterval)
	defer t.Stop()
	for {
		if _, err := a.Scan(ctx); err != nil && ctx.Err() == nil {
			a.Log.WithError(err).Error("scan failed")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ScanResult says what a scan found and alerted.
type ScanResult struct {
	Report *bot.ScanReport
	Alerts int
	// Joined: a scan was already running; this is its result (scanning
	// twice at once would only spend Partner Center's rate limit).
	Joined bool
}

// Scan scans as the schedule says (ScanNow with full false), records what
// it found, and alerts.
func (a *App) Scan(ctx context.Context) (ScanResult, error) { return a.ScanNow(ctx, false) }

// ScanNow scans, records what it found, and alerts. The scan reads every
// customer when full is set, at the first scan of this worker, and once
// FullScanInterval has passed since the last full one; otherwise it reads
// only the customers the activity log names since the last scan (days left
// are worked out from end dates, and the full scans catch what the log does
// not show).
func (a *App) ScanNow(ctx context.Context, full bool) (ScanResult, error) {
	if !a.scanning.TryLock() {
		a.scanning.Lock()
		res, err := a.lastScan, a.lastScanErr
		a.scanning.Unlock()
		res.Joined = true
		return res, err
	}
	defer a.scanning.Unlock()
	res, err := a.scan(ctx, full)
	a.lastScan, a.lastScanErr = res, err
	return res, err
}

// scan runs one scan; the scanning lock is held.
func (a *App) scan(ctx context.Context, full bool) (ScanResult, error) {
	every := cmp.Or(a.FullScanInterval, 24*time.Hour)
	var report *bot.ScanReport
	var err error
	if full || a.prevScan.Load() == nil || !a.Now().Before(a.lastFull.Add(every)) {
		report, err = a.Scanner.Scan(ctx)
	} else {
		report, err = a.Scanner.ScanIncremental(ctx, a.prevScan.Load())
	}
	if err != nil {
		a.countScan("failed")
		return ScanResult{}, err
	}
	a.prevScan.Store(report)
	if !report.Incremental {
		a.lastFull = report.Started
	}
	if a.Metrics != nil {
		a.Metrics.ScanRequests.WithLabelValues(scanKind(report)).Observe(float64(report.Requests))
	}
	if len(report.Failures) > 0 || len(report.Access) > 0 {
		a.countScan("partial")
	} else {
		a.countScan("ok")
	}
	if err := a.Engine.RecordScan(ctx, report); err != nil {
		return ScanResult{Report: report}, fmt.Errorf("recording the scan: %w", err)
	}
	posted, err := a.alert(ctx, report)
	a.tellOwners(ctx, report.Findings) // once per alert, by a claim of its own
	return ScanResult{Report: report, Alerts: posted}, err
}

// scanKind names a scan for the metrics and people: full or incremental.
func scanKind(r *bot.ScanReport) string {
	if r.Incremental {
		return "incremental"
	}
	return "full"
}

func (a *App) countScan(result string) {
	if a.Metrics != nil {
		a.Metrics.Scans.WithLabelValues(result).Inc()
	}
}

// PostDigest posts the digest to the digest channel now.
func (a *App) PostDigest(ctx context.Context) (string, error) {
	now := a.Now()
	since, ok, err := a.Store.LastDigest(ctx)
	if err != nil {
		return "", err
	}
	if !ok {
		since = now.Add(-24 * time.Hour)
	}
	d, err := bot.BuildDigest(ctx, a.Store, now, since)
	if err != nil {
		return "", err
	}
	// What the last scan cost is known to the worker that ran it, which is
	// the one posting the digest.
	if r := a.prevScan.Load(); r != nil && d.Scan != nil && r.Started.Equal(d.Scan.Started) {
		d.Scan.Requests, d.Scan.Incremental = r.Requests, r.Incremental
	}
	total := a.throttled.Load()
	d.Throttled = int(total - a.throttledAtDigest.Load())
	d.Approvers, d.ApproverGroup = a.Engine.Policy.Approvers, a.Engine.Policy.Group
	d.Cadence = bot.DigestCadence(a.DigestSchedule)
	channel, ts, err := a.post(ctx, a.DigestChannel, slackview.Digest(d, a.Location))
	if err != nil {
		return "", err
	}
	a.throttledAtDigest.Store(total)
	return channel, a.Store.RecordDigest(ctx, channel, ts, now)
}

// Health says whether the database answers and accepts writes, and
// whether this process is the worker.
func (a *App) Health(ctx context.Context) handlers.Health {
	h := handlers.Health{Status: "ok", Worker: true}
	if a.Worker != nil {
		st := a.Worker.Status()
		h.Worker, h.Holder, h.WorkerHolder = st.IsWorker, st.Holder, st.Lease.Holder
		if st.Degraded != "" {
			h.Status, h.Reason = "degraded", st.Degraded
			if !st.DegradedSince.IsZero() {
				since := st.DegradedSince.UTC()
				h.Since = &since
			}
		}
	}
	if _, err := a.Store.LastScan(ctx); err != nil && !errors.Is(err, bot.ErrNotFound) {
		h.Status, h.Reason = "unhealthy", "the database does not answer: "+err.Error()
	}
	return h
}

// post posts a message to a channel, paced, and says where it went.
func (a *App) post(ctx context.Context, channel string, m slackview.Message, opts ...slack.MsgOption) (string, string, error) {
	if err := a.pace.wait(ctx, channel); err != nil {
		return "", "", err
	}
	ch, ts, err := a.Slack.PostMessageContext(ctx, channel, append(options(m), opts...)...)
	a.slackFailed("chat.postMessage", err)
	return ch, ts, err
}

// update replaces a posted message, paced.
func (a *App) update(ctx context.Context, channel, ts string, m slackview.Message) error {
	if err := a.pace.wait(ctx, channel); err != nil {
		return err
	}
	_, _, _, err := a.Slack.UpdateMessageContext(ctx, channel, ts, options(m)...)
	a.slackFailed("chat.update", err)
	return err
}

// respond answers a person privately through a response_url (slash
// commands and clicks carry one; it works for 30 minutes).
func (a *App) respond(ctx context.Context, responseURL string, m slackview.Message) {
	if responseURL == "" || (m.Text == "" && len(m.Blocks) == 0) {
		return // nothing to say (a dialog opened instead)
	}
	_, _, err := a.Slack.PostMessageContext(ctx, "", append(options(m), slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral))...)
	a.slackFailed("response_url", err)
}

// tell says m privately to user in channel (chat.postEphemeral), for answers
// that have no response_url, such as a submitted dialog's outcome.
func (a *App) tell(ctx context.Context, channel, user string, m slackview.Message) {
	if channel == "" {
		a.Log.WithField("user", user).Warn("no channel to answer in; the answer was: " + m.Text)
		return
	}
	_, err := a.Slack.PostEphemeralContext(ctx, channel, user, options(m)...)
	a.slackFailed("chat.postEphemeral", err)
}

// slackFailed logs and counts a failed Slack call, including Slack's
// "HTTP 200 with ok:false" answers, which slack-go returns as errors.
func (a *App) slackFailed(method string, err error) {
	if err == nil {
		return
	}
	code := slackErrorCode(err)
	a.Log.WithError(err).WithFields(logrus.Fields{"method": method, "slack_error": code}).Warn("Slack API call failed")
	if a.Metrics != nil {
		a.Metrics.SlackErrors.WithLabelValues(method, code).Inc()
	}
}

// latestMigration is the newest migration of a subscription, or nil.
func (a *App) latestMigration(ctx context.Context, subscriptionID string) (*bot.Migration, error) {
	ms, err := a.Store.ListMigrations(ctx, bot.MigrationFilter{SubscriptionID: subscriptionID})
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return ms[len(ms)-1], nil
}

// trackedNow returns the tracked subscriptions with DaysLeft as of now.
func (a *App) trackedNow(ctx context.Context) ([]bot.TrackedSubscription, error) {
	tracked, err := a.Store.TrackedSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	for i := range tracked {
		if tracked[i].Subscription.HasEnd() {
			tracked[i].DaysLeft = bot.DaysLeft(tracked[i].Subscription.EndDate, now, a.Location)
		}
	}
	slices.SortStableFunc(tracked, func(x, y bot.TrackedSubscription) int {
		return cmp.Or(cmp.Compare(x.DaysLeft, y.DaysLeft), strings.Compare(x.Customer.Label(), y.Customer.Label()))
	})
	return tracked, nil
}
