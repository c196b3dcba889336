package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/config"
	"github.com/kaizalabot/kaizalabot/handlers"
	"github.com/kaizalabot/kaizalabot/metrics"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/slackbot"
	"github.com/kaizalabot/kaizalabot/storage"
)

const serveHelp = `Usage: kaizalabot serve

Runs the Slack bot: /kaizala commands, alerts, plans with Approve/Reject
buttons, migrations (resumed after a restart), the daily digest.

Settings (environment; *_FILE variants hold secrets in files):
  SLACK_BOT_TOKEN            bot token (xoxb-…)
  SLACK_SIGNING_SECRET       verifies Slack's requests (HTTP mode)
  SLACK_APP_TOKEN            app-level token (xapp-…): use Socket Mode instead of a public URL
  SLACK_API_URL              Slack Web API (default https://slack.com/api/)
  KAIZALA_ALERT_CHANNEL      channel ID for alerts and plans
  KAIZALA_DIGEST_CHANNEL     channel ID for the digest (default: the alert channel)
  KAIZALA_DIGEST_SCHEDULE    cron (default "0 9 * * 1-5") in KAIZALA_TIMEZONE (default UTC)
  KAIZALA_APPROVERS          Slack user IDs who may approve, comma-separated
  KAIZALA_APPROVER_GROUP     a Slack user group ID whose members may approve
  KAIZALA_REQUIRED_APPROVALS approvals needed (default 1)
  KAIZALA_SALES              Slack user IDs who may see customers and request plans, comma-separated
  KAIZALA_SALES_GROUP        a Slack user group ID whose members may too
  KAIZALA_VIEWERS            Slack user IDs who may see, not request, comma-separated
  KAIZALA_VIEWER_GROUP       a Slack user group ID whose members may see
                             (nobody else may use the bot; with none of these, only approvers)
  KAIZALA_SCAN_INTERVAL      between scans (default 6h; one scan at start)
  KAIZALA_FULL_SCAN_INTERVAL between scans of every customer; the others read the activity log (default 24h)
  KAIZALA_ALERT_DAYS         alert thresholds in days left (default 90,60,30,14,7,3,1)
  KAIZALA_OWNERS             CSV or YAML file: customer (domain or id) → account owner's user ID[, channel]
  KAIZALA_APPROVAL_REMINDER  remind approvers of a waiting plan after (default 4h; 0: never)
  KAIZALA_RENEWAL_LEAD       change at renewal only if the term ends further ahead (default 14d)
  KAIZALA_DB                 SQLite database file, or postgres://… URL (default ./kaizalabot.db)
  KAIZALA_LISTEN             HTTP address (default :3000): /slack/*, /healthz, /metrics
  KAIZALA_CATALOG            YAML file extending the catalog of retired SKUs and targets
  KAIZALA_AUDIT_KEY          HMAC key for the audit chain (optional)
  PC_*                       Partner Center, as for "kaizalabot scan"
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveHelp) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitConfig
	}
	var problems config.Problems
	if fs.NArg() > 0 {
		problems.Addf("unexpected argument %q", fs.Arg(0))
	}
	cfg := config.LoadServe(config.OS(), &problems)
	if err := problems.Err(); err != nil {
		fmt.Fprintln(stderr, prefixLines("kaizalabot serve: ", err.Error()))
		return exitConfig
	}
	log := serveLogger(stderr)
	srv, err := startServer(ctx, cfg, log, nil)
	if err != nil {
		fmt.Fprintf(stderr, "kaizalabot serve: %v\n", err)
		var problem *startProblem
		if errors.As(err, &problem) {
			return exitConfig // a setting Slack showed to be wrong (cmd_serve_checks.go)
		}
		return exitFailed
	}
	log.WithField("listen", srv.Addr()).Info("kaizalabot is serving")
	<-ctx.Done()
	log.Info("shutting down; unfinished migrations resume on the next start")
	srv.Shutdown()
	return exitOK
}

func serveLogger(w io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(w)
	if !isTerminal(w) {
		log.SetFormatter(&logrus.JSONFormatter{})
	}
	return log
}

// server is a running bot.
type server struct {
	http   *http.Server
	ln     net.Listener
	db     *storage.DB
	engine *bot.Engine
	app    *slackbot.App
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops taking requests, lets running work stop at a safe point
// (migrations resume on the next start), and closes the database.
func (s *server) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
	s.cancel()
	s.engine.Wait()
	s.app.Wait()
	<-s.done
	_ = s.db.Close()
}

// startServer wires and starts everything `serve` (and the demo) runs. ln,
// when set, is used instead of listening on cfg.Listen.
func startServer(parent context.Context, cfg config.Serve, log *logrus.Logger, ln net.Listener) (*server, error) {
	ctx, cancel := context.WithCancel(parent)
	fail := func(err error) (*server, error) { cancel(); return nil, err }
	db, err := storage.Open(ctx, cfg.DB, storage.Options{AuditKey: []byte(cfg.AuditKey)})
	if err != nil {
		return fail(err)
	}
	closeDB := func(err error) (*server, error) { db.Close(); return fail(err) }
	catalog, err := bot.LoadCatalog(cfg.Catalog)
	if err != nil {
		return closeDB(fmt.Errorf("KAIZALA_CATALOG: %w", err))
	}
	m := metrics.New(db)
	var app *slackbot.App
	pcCfg := cfg.PartnerCenter
	pcCfg.RefreshToken = currentRefreshToken(ctx, db, cfg.PartnerCenter.RefreshToken, log)
	client, err := newPartnerCenterClient(pcCfg, log,
		func(c pcclient.CallInfo) {
			m.PartnerCenterCall(c.Status, c.Throttled)
			if c.Throttled && app != nil {
				app.ThrottledByPartnerCenter()
			}
		},
		func(rt string) { storeRefreshToken(ctx, db, cfg.PartnerCenter.RefreshToken, rt, log) },
		cfg.PartnerCenter.RefreshToken)
	if err != nil {
		return closeDB(err)
	}
	pc := pcclient.Adapter{Client: client}

	// Retries for 429 (honouring Retry-After), 5xx and dropped connections.
	// The HTTP client goes first: the retry option wraps it.
	retry := slack.DefaultRetryConfig()
	retry.Handlers = slack.AllBuiltinRetryHandlers(retry)
	slackOpts := []slack.Option{
		slack.OptionHTTPClient(&http.Client{Timeout: 30 * time.Second}),
		slack.OptionAPIURL(cfg.SlackAPIURL), slack.OptionRetryConfig(retry),
	}
	if cfg.AppToken != "" {
		slackOpts = append(slackOpts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	api := slack.New(cfg.BotToken, slackOpts...)
	policy := bot.Policy{
		Approvers: cfg.Approvers, Group: cfg.ApproverGroup, Required: cfg.RequiredApprovals,
		Sales: cfg.Sales, SalesGroup: cfg.SalesGroup, Viewers: cfg.Viewers, ViewerGroup: cfg.ViewerGroup,
		Members: slackbot.GroupMembers(api),
	}
	// Fail at start, not at the first alert, when Slack shows a setting wrong.
	checkCtx, checked := context.WithTimeout(ctx, time.Minute)
	me, err := checkSlack(checkCtx, api, cfg, policy.Members, log)
	checked()
	if err != nil {
		return closeDB(err)
	}
	logAccess(log, cfg, me, policy)
	// Every process serves Slack; the one holding the lease is the worker.
	worker := &bot.Worker{Leases: db, TTL: cfg.LeaseTTL, Log: log, OnChange: m.SetWorker, OnDegraded: m.SetDegraded}
	engine := &bot.Engine{PC: pc, Store: db, Catalog: catalog, Log: log, Policy: policy, RenewalLead: cfg.RenewalLead}
	app = slackbot.New(&slackbot.App{
		Engine: engine, Scanner: &bot.Scanner{Source: pc, Probe: pc, Log: pc, Retired: catalog.Retired, Location: cfg.Location},
		Store: db, PC: pc, Catalog: catalog, Slack: api, TeamID: me.TeamID, Metrics: m, Log: log, Worker: worker,
		Owners: cfg.Owners,
		Config: slackbot.Config{
			AlertChannel: cfg.AlertChannel, DigestChannel: cfg.DigestChannel, AlertDays: cfg.AlertDays,
			DigestSchedule: cfg.DigestSchedule, ScanInterval: cfg.ScanInterval, FullScanInterval: cfg.FullScanInterval, Location: cfg.Location,
			ApprovalReminder: cfg.ApprovalReminder,
		},
	})
	worker.Work = func(ctx context.Context) {
		if err := bot.RetryUntil(ctx, time.Second, 30*time.Second, engine.Start, func(err error) {
			log.WithError(err).Error("resuming migrations failed; trying again")
		}); err != nil {
			engine.Wait()
			return
		}
		app.Work(ctx)
		engine.Wait()
	}
	h := &handlers.Handler{Bot: app, SigningSecret: cfg.SigningSecret, Health: app.Health, Metrics: m, Log: log, Deliveries: db}
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return closeDB(fmt.Errorf("KAIZALA_LISTEN=%q: %w", cfg.Listen, err))
		}
	}
	s := &server{
		http: &http.Server{Handler: h.Routes(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second},
		ln:   ln, db: db, engine: engine, app: app, cancel: cancel, done: make(chan struct{}),
	}
	if err := app.Start(ctx); err != nil {
		ln.Close()
		return closeDB(err)
	}
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); worker.Run(ctx) }()
	// Serve once the first election is over, so a lone process is the
	// worker from its first request (and /healthz says so).
	select {
	case <-worker.Ready():
	case <-time.After(5 * time.Second):
		log.Warn("the worker lease could not be taken or read within 5s; serving Slack anyway")
	}
	go func() {
		defer close(s.done)
		defer func() { <-workerDone }()
		if cfg.AppToken != "" {
			go func() {
				if err := handlers.SocketMode(ctx, socketmode.New(api), app, log, db); err != nil && ctx.Err() == nil {
					log.WithError(err).Error("Socket Mode stopped")
				}
			}()
		}
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Error("HTTP server stopped")
		}
	}()
	return s, nil
}

// The refresh token Entra ID rotates is kept in the database with a
// fingerprint of the PC_REFRESH_TOKEN it descends from: a restart keeps
// using the newest one, and a new PC_REFRESH_TOKEN (a fresh consent) wins.
const (
	settingRefreshToken = "partner_center.refresh_token"
	settingRefreshSeed  = "partner_center.refresh_token_seed"
)

func tokenSeed(configured string) string {
	sum := sha256.Sum256([]byte(configured))
	return hex.EncodeToString(sum[:])
}

func currentRefreshToken(ctx context.Context, db *storage.DB, configured string, log *logrus.Logger) string {
	if configured == "" {
		return ""
	}
	stored, ok, err := db.Setting(ctx, settingRefreshToken)
	seed, _, _ := db.Setting(ctx, settingRefreshSeed)
	if err != nil || !ok || seed != tokenSeed(configured) {
		return configured
	}
	log.Debug("using the refresh token Partner Center rotated last")
	return stored
}

func storeRefreshToken(ctx context.Context, db *storage.DB, configured, rotated string, log *logrus.Logger) {
	if err := db.SetSetting(ctx, settingRefreshToken, rotated); err != nil {
		log.WithError(err).Error("could not store the rotated refresh token; the configured one is used after a restart")
		return
	}
	if err := db.SetSetting(ctx, settingRefreshSeed, tokenSeed(configured)); err != nil {
		log.WithError(err).Error("could not store the refresh token's fingerprint")
	}
}
