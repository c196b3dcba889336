// Command migrate measures a migration of one customer with many users
// against the sandbox: the real engine, the real client under a rate limit,
// real SQLite, over loopback. The goal is to finish within -slack times the
// rate bound: the calls the migration made, at the rate limit.
//
//	go run ./bench/migrate                 # 1,000 users at 6,000 requests/min
//	go run ./bench/migrate -users 200 -rate 1200
//	go run ./bench/migrate -contend        # a migration while people ask for plans and scans run
//
// With -contend it migrates one customer alone, then another while 50 plan
// requests from one person for a third customer's subscription (again and
// again) and back-to-back scans compete for the same rate limit; the goal
// is that the contended migration takes at most 2× the lone one.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/internal/pctest"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
	"github.com/kaizalabot/kaizalabot/storage"
)

func main() {
	users := flag.Int("users", 1000, "users holding Kaizala Pro in the customer")
	rpm := flag.Int("rate", 6000, "requests per minute, for the sandbox and the client")
	latency := flag.Duration("latency", 30*time.Millisecond, "sandbox latency per request")
	concurrency := flag.Int("concurrency", 16, "engine concurrency")
	slack := flag.Float64("slack", 1.1, "allowed multiple of the rate bound")
	dsn := flag.String("db", "", "the database: a PostgreSQL DSN (postgres://…), or empty for a SQLite file in a temp dir")
	contend := flag.Bool("contend", false, "measure a migration alone and while plans and scans compete (defaults: -users 47 -rate 600)")
	flag.Parse()
	benchDSN = *dsn
	if *contend {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["users"] {
			*users = 47
		}
		if !set["rate"] {
			*rpm = 600
		}
		if err := runContended(*users, *rpm, *latency, *concurrency); err != nil {
			fmt.Fprintln(os.Stderr, "bench/migrate:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*users, *rpm, *latency, *concurrency, *slack); err != nil {
		fmt.Fprintln(os.Stderr, "bench/migrate:", err)
		os.Exit(1)
	}
}

func run(users, rpm int, latency time.Duration, concurrency int, slack float64) error {
	ctx := context.Background()
	sim, findings, err := world(users, rpm, latency, 1)
	if err != nil {
		return err
	}
	finding := findings[0]
	b, err := start(ctx, sim, rpm, concurrency)
	if err != nil {
		return err
	}
	defer b.close()
	e, db := b.engine, b.db

	t0, before := time.Now(), sim.Stats().Requests
	m, refusal, err := e.Plan(ctx, bot.PlanRequest{SubscriptionID: finding, Target: "STANDARDPACK", Strategy: bot.StrategyReplace, Requester: bot.Actor{ID: "U_SALES", Name: "sales"}})
	if err != nil || refusal != "" {
		return fmt.Errorf("plan: %q %v", refusal, err)
	}
	planTime, planCalls := time.Since(t0), sim.Stats().Requests-before

	t1, before := time.Now(), sim.Stats().Requests
	if _, refusal, err := e.Approve(ctx, m.ID, "", bot.Actor{ID: "U_BOSS", Name: "boss"}); err != nil || refusal != "" {
		return fmt.Errorf("approve: %q %v", refusal, err)
	}
	e.Wait()
	runTime, runCalls := time.Since(t1), sim.Stats().Requests-before
	done, err := db.GetMigration(ctx, m.ID)
	if err != nil {
		return err
	}
	if done.State != bot.StateDone {
		return fmt.Errorf("migration ended %s at %s: %s", done.State, done.FailedStep, done.Error)
	}
	moves, err := db.UserMoves(ctx, m.ID)
	if err != nil {
		return err
	}
	perSecond := float64(rpm) / 60
	planBound := time.Duration(float64(planCalls) / perSecond * float64(time.Second))
	runBound := time.Duration(float64(runCalls) / perSecond * float64(time.Second))
	fmt.Printf("plan of %d users: %v for %d calls (rate bound %v, %.2f×)\n", len(m.Plan.Move), planTime.Round(time.Millisecond), planCalls, planBound.Round(time.Millisecond), float64(planTime)/float64(planBound))
	fmt.Printf("migration (buy, wait for seats, move %d users, verify, suspend) at %d/min, latency %v: %v for %d calls; rate bound %v: %.2f× (goal ≤ %.2f×)\n",
		len(moves), rpm, latency, runTime.Round(time.Millisecond), runCalls, runBound.Round(time.Millisecond), float64(runTime)/float64(runBound), slack)
	if float64(runTime) > slack*float64(runBound) {
		return errors.New("too slow")
	}
	return nil
}

// world finds a seed with n Kaizala Pro subscriptions of different customers
// ending within 90 days (so every holder can be licensed) whose licences the
// partner may read (the sandbox refuses some customers', as Partner Center
// does without a GDAP role), and returns the sandbox and those subscriptions.
func world(users, rpm int, latency time.Duration, n int) (*pcsim.Server, []string, error) {
	for seed := int64(1); seed < 100; seed++ {
		opts := pcsim.DefaultOptions()
		opts.Customers, opts.Seed, opts.KaizalaSeats = 3*n, seed, users
		opts.RateLimit, opts.Latency, opts.ProvisioningDelay = rpm, latency, 200*time.Millisecond
		// A world of 3n customers would be mostly refused with the default
		// --gdap-missing; access is not what this bench measures.
		opts.GDAPMissing = 0
		sim := pcsim.New(opts)
		srv := httptest.NewServer(sim)
		client, err := pctest.Client(srv.URL, true, nil)
		if err != nil {
			srv.Close()
			return nil, nil, err
		}
		pc := pcclient.Adapter{Client: client}
		report, err := (&bot.Scanner{Source: pc, Probe: pc}).Scan(context.Background())
		srv.Close()
		if err != nil {
			return nil, nil, err
		}
		var subs []string
		seen := map[string]bool{}
		for _, a := range report.Access {
			seen[a.Customer.ID] = true // refused: no migration can be planned there
		}
		for _, f := range report.Expiring(90) {
			if !seen[f.Customer.ID] && len(subs) < n {
				seen[f.Customer.ID] = true
				subs = append(subs, f.Subscription.ID)
			}
		}
		if len(subs) == n {
			// A fresh sandbox of the same seed: the same world, unused.
			opts.Now = nil
			return pcsim.New(opts), subs, nil
		}
	}
	return nil, nil, fmt.Errorf("no seed gave %d Kaizala Pro subscriptions of different customers ending within 90 days", n)
}

// runContended measures a migration alone, then another while plans and
// scans compete for the rate limit.
func runContended(users, rpm int, latency time.Duration, concurrency int) error {
	ctx := context.Background()
	sim, subs, err := world(users, rpm, latency, 3)
	if err != nil {
		return err
	}
	b, err := start(ctx, sim, rpm, concurrency)
	if err != nil {
		return err
	}
	defer b.close()
	e, db, scanner := b.engine, b.db, b.scanner
	sales, boss := bot.Actor{ID: "U_SALES", Name: "sales"}, bot.Actor{ID: "U_BOSS", Name: "boss"}
	migrate := func(sub string) (time.Duration, error) {
		m, refusal, err := e.Plan(ctx, bot.PlanRequest{SubscriptionID: sub, Target: "STANDARDPACK", Strategy: bot.StrategyReplace, Requester: sales})
		if err != nil || refusal != "" {
			return 0, fmt.Errorf("plan: %q %v", refusal, err)
		}
		t0 := time.Now()
		if _, refusal, err := e.Approve(ctx, m.ID, m.PlanHash, boss); err != nil || refusal != "" {
			return 0, fmt.Errorf("approve: %q %v", refusal, err)
		}
		for {
			got, err := db.GetMigration(ctx, m.ID)
			if err != nil {
				return 0, err
			}
			if !got.State.Running() {
				if got.State != bot.StateDone {
					return 0, fmt.Errorf("migration ended %s at %s: %s", got.State, got.FailedStep, got.Error)
				}
				return time.Since(t0), nil
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	alone, err := migrate(subs[0])
	if err != nil {
		return err
	}
	// The competition: one person asks for a plan of the third customer's
	// subscription 50 times at once, and again every 200ms (rejecting each
	// plan made, so asking again works); scans run back to back.
	cctx, stop := context.WithCancel(ctx)
	var plans, refused, scans atomic.Int64
	var wg sync.WaitGroup
	before := sim.Stats().Requests
	wg.Go(func() {
		for cctx.Err() == nil {
			var burst sync.WaitGroup
			for range 50 {
				burst.Go(func() {
					m, refusal, err := e.Plan(cctx, bot.PlanRequest{SubscriptionID: subs[2], Target: "STANDARDPACK", Strategy: bot.StrategyReplace, Requester: sales})
					switch {
					case err == nil && m != nil:
						plans.Add(1)
						_, _, _ = e.Reject(ctx, m.ID, m.PlanHash, sales, "asking again")
					case refusal != "":
						refused.Add(1)
					}
				})
			}
			burst.Wait()
			time.Sleep(200 * time.Millisecond)
		}
	})
	wg.Go(func() {
		for cctx.Err() == nil {
			if _, err := scanner.Scan(cctx); err == nil {
				scans.Add(1)
			}
		}
	})
	contended, err := migrate(subs[1])
	stop()
	wg.Wait()
	if err != nil {
		return err
	}
	ratio := float64(contended) / float64(alone)
	fmt.Printf("a migration of %d users at %d requests/min, latency %v: alone %v; while %d plans were made (%d requests refused as already being planned or too many) and %d scans ran (%d calls competing): %v, %.2f× (goal ≤ 2×)\n",
		users, rpm, latency, alone.Round(time.Millisecond), plans.Load(), refused.Load(), scans.Load(), sim.Stats().Requests-before, contended.Round(time.Millisecond), ratio)
	if ratio > 2 {
		return errors.New("the migration was slowed more than 2× by plans and scans")
	}
	return nil
}

// bench is the bot as the benches run it: the real client under the rate
// limit (a migration's calls first), the engine on real SQLite, after a scan.
type bench struct {
	engine  *bot.Engine
	db      *storage.DB
	scanner *bot.Scanner
	close   func()
}

// benchDSN is -db: where the bench keeps its state (empty: a SQLite file
// in a temp dir).
var benchDSN string

// benchDatabase is a fresh database for one run: a SQLite file in dir, or a
// schema of its own on the PostgreSQL server benchDSN names, dropped after.
func benchDatabase(ctx context.Context, dir string) (dsn string, drop func(), err error) {
	if benchDSN == "" {
		return filepath.Join(dir, "bench.db"), func() {}, nil
	}
	admin, err := sql.Open("pgx", benchDSN)
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("kaizala_bench_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS citext SCHEMA public`); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("-db: %w", err)
	}
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("-db: %w", err)
	}
	u, err := url.Parse(benchDSN)
	if err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("-db is not a URL")
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String(), func() { _, _ = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); admin.Close() }, nil
}

func start(ctx context.Context, sim *pcsim.Server, rpm, concurrency int) (*bench, error) {
	srv := httptest.NewServer(sim)
	var cleanup []func()
	b := &bench{close: func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}}
	cleanup = append(cleanup, srv.Close)
	fail := func(err error) (*bench, error) { b.close(); return nil, err }
	client, err := pctest.Client(srv.URL, true, func(c *pcclient.Config) { c.RequestsPerMinute = rpm; c.Urgent = bot.IsUrgent })
	if err != nil {
		return fail(err)
	}
	dir, err := os.MkdirTemp("", "kaizalabot-bench")
	if err != nil {
		return fail(err)
	}
	cleanup = append(cleanup, func() { os.RemoveAll(dir) })
	dsn, drop, err := benchDatabase(ctx, dir)
	if err != nil {
		return fail(err)
	}
	cleanup = append(cleanup, drop)
	if b.db, err = storage.Open(ctx, dsn, storage.Options{}); err != nil {
		return fail(err)
	}
	cleanup = append(cleanup, func() { b.db.Close() })
	pc := pcclient.Adapter{Client: client}
	b.engine = &bot.Engine{PC: pc, Store: b.db, Catalog: bot.DefaultCatalog(), Concurrency: concurrency,
		Policy: bot.Policy{Approvers: []string{"U_BOSS"}}, SeatPoll: 100 * time.Millisecond, ProvisionPoll: 100 * time.Millisecond}
	if err := b.engine.Start(ctx); err != nil {
		return fail(err)
	}
	b.scanner = &bot.Scanner{Source: pc, Probe: pc}
	report, err := b.scanner.Scan(ctx)
	if err != nil {
		return fail(err)
	}
	if err := b.engine.RecordScan(ctx, report); err != nil {
		return fail(err)
	}
	return b, nil
}
