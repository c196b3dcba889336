// Command migrate measures a migration of one customer with many users
// against the sandbox: the real engine, the real client under a rate limit,
// real SQLite, over loopback. The goal is to finish within -slack times the
// rate bound: the calls the migration made, at the rate limit.
//
//	go run ./bench/migrate                 # 1,000 users at 6,000 requests/min
//	go run ./bench/migrate -users 200 -rate 1200
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	slack := flag.Float64("slack", 1.2, "allowed multiple of the rate bound")
	flag.Parse()
	if err := run(*users, *rpm, *latency, *concurrency, *slack); err != nil {
		fmt.Fprintln(os.Stderr, "bench/migrate:", err)
		os.Exit(1)
	}
}

func run(users, rpm int, latency time.Duration, concurrency int, slack float64) error {
	ctx := context.Background()
	sim, finding, err := world(users, rpm, latency)
	if err != nil {
		return err
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client, err := pctest.Client(srv.URL, true, func(c *pcclient.Config) { c.RequestsPerMinute = rpm })
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kaizalabot-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := storage.Open(ctx, filepath.Join(dir, "bench.db"), storage.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	pc := pcclient.Adapter{Client: client}
	e := &bot.Engine{PC: pc, Store: db, Catalog: bot.DefaultCatalog(), Concurrency: concurrency,
		Policy: bot.Policy{Approvers: []string{"U_BOSS"}}, SeatPoll: 100 * time.Millisecond}
	if err := e.Start(ctx); err != nil {
		return err
	}
	report, err := (&bot.Scanner{Source: pc}).Scan(ctx)
	if err != nil {
		return err
	}
	if err := e.RecordScan(ctx, report); err != nil {
		return err
	}

	t0, before := time.Now(), sim.Stats().Requests
	m, refusal, err := e.Plan(ctx, bot.PlanRequest{SubscriptionID: finding, Target: "STANDARDPACK", Requester: bot.Actor{ID: "U_SALES", Name: "sales"}})
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

// world finds a seed whose Kaizala Pro subscription ends within 90 days (so
// every holder can be licensed) and returns the sandbox and that subscription.
func world(users, rpm int, latency time.Duration) (*pcsim.Server, string, error) {
	for seed := int64(1); seed < 100; seed++ {
		opts := pcsim.DefaultOptions()
		opts.Customers, opts.Seed, opts.KaizalaSeats = 3, seed, users
		opts.RateLimit, opts.Latency, opts.ProvisioningDelay = rpm, latency, 200*time.Millisecond
		sim := pcsim.New(opts)
		srv := httptest.NewServer(sim)
		client, err := pctest.Client(srv.URL, false, nil)
		if err != nil {
			srv.Close()
			return nil, "", err
		}
		report, err := (&bot.Scanner{Source: pcclient.Adapter{Client: client}}).Scan(context.Background())
		srv.Close()
		if err != nil {
			return nil, "", err
		}
		if exp := report.Expiring(90); len(exp) > 0 {
			// A fresh sandbox of the same seed: the same world, unused.
			opts.Now = nil
			return pcsim.New(opts), exp[0].Subscription.ID, nil
		}
	}
	return nil, "", errors.New("no seed gave a Kaizala Pro subscription ending within 90 days")
}
