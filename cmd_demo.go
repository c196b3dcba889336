package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/config"
	"github.com/kaizalabot/kaizalabot/console"
	"github.com/kaizalabot/kaizalabot/fakeslack"
	"github.com/kaizalabot/kaizalabot/pcsim"
	"github.com/kaizalabot/kaizalabot/storage"
)

const demoHelp = `Usage: kaizalabot demo [--addr 127.0.0.1:8080] [--db PATH] [--reset] [--socket-mode]

The whole product on this machine, with no Slack workspace and no Microsoft
account: the Partner Center sandbox, the bot (exactly as "serve" runs it,
over signed HTTP and real SQLite), and a local Slack console in the browser.
It runs a first scan, then prints the console's URL.

The database survives restarts (the migrations and the audit history stay);
the sandbox's world is rebuilt from its seed at every start. --reset starts
from an empty database. --socket-mode connects the bot to the console's
Slack over Socket Mode (apps.connections.open and a WebSocket, as serve does
with SLACK_APP_TOKEN) instead of signed HTTP.

Flags:
`

// The demo's channels and people.
const (
	demoAlertChannel  = "C0ALERTS"
	demoDigestChannel = "C0DIGEST"
	demoSales         = "U0SALES"
	demoApprover      = "U0APPROVER"
	demoManager       = "U0MANAGER"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoHelp); fs.PrintDefaults() }
	opts := demoOptions{Stdout: stdout}
	fs.StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "address of the console")
	fs.StringVar(&opts.DB, "db", "./kaizalabot-demo.db", "the demo's database")
	fs.BoolVar(&opts.Reset, "reset", false, "start from an empty database")
	fs.BoolVar(&opts.SocketMode, "socket-mode", false, "connect the bot over Socket Mode instead of signed HTTP")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kaizalabot demo: unexpected argument %q\n", fs.Arg(0))
		return exitConfig
	}
	opts.Log = logrus.New()
	opts.Log.SetOutput(stderr)
	opts.Log.SetLevel(logrus.WarnLevel)
	d, err := startDemo(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "kaizalabot demo: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "\nkaizalabot demo is running. Open %s\n\n", d.URL)
	fmt.Fprintln(stdout, "You are Sam Sales. Try /kaizala help, /kaizala list, or choose a plan in an alert line's menu;")
	fmt.Fprintln(stdout, "then switch to Ada Approver to approve. Ctrl-C stops the demo.")
	<-ctx.Done()
	d.Close()
	return exitOK
}

// demoCatalog extends the default catalog for the demo.
//
//go:embed demo_catalog.yaml
var demoCatalog []byte

type demoOptions struct {
	Addr       string
	DB         string
	Reset      bool
	SocketMode bool // the bot connects by Socket Mode; the console's actions arrive as envelopes
	Stdout     io.Writer
	Log        *logrus.Logger
}

// demo is the running demo.
type demo struct {
	URL     string
	Slack   *fakeslack.Server
	Sandbox *pcsim.Server
	bot     *server
	pc      *http.Server
	console *http.Server
	catalog string // the demo catalog's temp file
}

// Close stops the demo.
func (d *demo) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.console.Shutdown(ctx)
	d.bot.Shutdown()
	_ = d.Slack.Close()
	_ = d.pc.Shutdown(ctx)
	_ = os.Remove(d.catalog)
}

// startDemo starts the sandbox, the fake Slack, the bot and the console,
// each on its own loopback listener and wired through its real interface.
func startDemo(ctx context.Context, opts demoOptions) (*demo, error) {
	if opts.Log == nil {
		opts.Log = logrus.New()
		opts.Log.SetOutput(io.Discard)
	}
	if opts.Reset {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(opts.DB + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("--reset: %w", err)
			}
		}
	}
	// The console's Slack is new each run: the bot must forget where it
	// posted before, so the first scan alerts again (the migrations and
	// the audit history stay).
	db, err := storage.Open(ctx, opts.DB, storage.Options{})
	if err != nil {
		return nil, fmt.Errorf("--db %s: %w", storage.RedactDSN(opts.DB), err)
	}
	err = db.ForgetSlackMessages(ctx)
	db.Close()
	if err != nil {
		return nil, err
	}
	consoleLn, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("--addr %s: %w", opts.Addr, err)
	}

	// Partner Center: the sandbox, with fresh credentials for this run.
	simOpts := pcsim.DefaultOptions()
	simOpts.ClientSecret = randomSecret()
	// A livelier partner than Partner Center's 500 requests a minute, so a
	// plan of 50 users appears in about a second rather than ten.
	simOpts.RateLimit = 3000
	sim := pcsim.New(simOpts)
	pcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		consoleLn.Close()
		return nil, err
	}
	pc := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = pc.Serve(pcLn) }()
	pcURL := "http://" + pcLn.Addr().String()

	// Slack: the recording fake, which the console shows and drives.
	personas := []console.Persona{
		{ID: demoSales, Name: "Sam Sales", Role: "Salesperson"},
		{ID: demoApprover, Name: "Ada Approver", Role: "Approver"},
		{ID: demoManager, Name: "Max Manager", Role: "Manager"},
	}
	var users []fakeslack.User
	for _, p := range personas {
		users = append(users, fakeslack.User{ID: p.ID, Name: p.Name, RealName: p.Name})
	}
	channels := []console.ChannelInfo{{ID: demoAlertChannel, Name: "kaizala-alerts"}, {ID: demoDigestChannel, Name: "kaizala-digest"}}
	names := map[string]string{}
	for _, c := range channels {
		names[c.ID] = c.Name
	}
	botToken, signingSecret, appToken := "xoxb-"+randomSecret(), randomSecret(), "xapp-1-"+fakeslack.AppID+"-"+randomSecret()
	slackFake := fakeslack.New(fakeslack.Options{
		BotToken: botToken, SigningSecret: signingSecret, Users: users, ChannelNames: names,
		SocketMode: opts.SocketMode, AppToken: appToken,
	})
	if _, err := slackFake.Start(); err != nil {
		consoleLn.Close()
		_ = pc.Close()
		return nil, err
	}

	// The bot, exactly as serve wires it.
	botLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		consoleLn.Close()
		_ = pc.Close()
		_ = slackFake.Close()
		return nil, err
	}
	// The demo's catalog marks new-commerce Office 365 E3 retired, so all
	// three strategies can be seen (demo_catalog.yaml).
	catalogFile, err := writeTemp("kaizalabot-demo-catalog-*.yaml", demoCatalog)
	if err != nil {
		consoleLn.Close()
		_ = pc.Close()
		_ = slackFake.Close()
		return nil, fmt.Errorf("writing the demo catalog: %w", err)
	}
	started := false
	defer func() {
		if !started {
			_ = os.Remove(catalogFile)
		}
	}()
	cfg := config.Serve{
		Catalog:  catalogFile,
		BotToken: botToken, SigningSecret: signingSecret, SlackAPIURL: slackFake.APIURL(),
		AlertChannel: demoAlertChannel, DigestChannel: demoDigestChannel, DigestSchedule: config.DefaultDigestSchedule,
		Location: time.UTC, Approvers: []string{demoApprover}, RequiredApprovals: 1, ScanInterval: config.DefaultScanInterval,
		Sales: []string{demoSales}, Viewers: []string{demoManager},
		AlertDays: bot.DefaultAlertDays, DB: opts.DB, Listen: botLn.Addr().String(),
		PartnerCenter: config.PartnerCenter{
			APIURL: pcURL, TokenURL: pcURL + "/sandbox-partner/oauth2/token", TenantID: "sandbox-partner",
			ClientID: simOpts.ClientID, ClientSecret: simOpts.ClientSecret, RefreshToken: simOpts.RefreshToken, RateLimit: 2400,
		},
	}
	if opts.SocketMode {
		// As serve with SLACK_APP_TOKEN and no signing secret: nothing
		// reaches the bot over HTTP.
		cfg.AppToken, cfg.SigningSecret = appToken, ""
	}
	botSrv, err := startServer(ctx, cfg, opts.Log, botLn)
	if err != nil {
		consoleLn.Close()
		_ = pc.Close()
		_ = slackFake.Close()
		return nil, err
	}
	slackFake.SetAppURL("http://" + botSrv.Addr())
	if opts.SocketMode {
		connected, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := slackFake.WaitSocket(connected, 1)
		cancel()
		if err != nil {
			botSrv.Shutdown()
			consoleLn.Close()
			_ = pc.Close()
			_ = slackFake.Close()
			return nil, fmt.Errorf("--socket-mode: the bot did not connect: %w", err)
		}
	}

	// Open event streams end with the server: Shutdown does not wait for
	// a browser tab left open.
	streams, endStreams := context.WithCancel(context.Background())
	ui := &http.Server{
		Handler:           console.New(console.Options{Slack: slackFake, Personas: personas, Channels: channels, Title: "kaizalabot demo"}),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return streams },
	}
	ui.RegisterOnShutdown(endStreams)
	go func() { _ = ui.Serve(consoleLn) }()
	started = true
	return &demo{URL: "http://" + consoleLn.Addr().String(), Slack: slackFake, Sandbox: sim, bot: botSrv, pc: pc, console: ui, catalog: catalogFile}, nil
}

// randomSecret makes a per-run credential, so nothing in the demo has a
// well-known secret.
func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeTemp writes data to a new temp file named after pattern and returns
// its path.
func writeTemp(pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), f.Close()
}
