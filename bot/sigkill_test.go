package bot_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
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
	e := &bot.Engine{PC: pcclient.Adapter{Client: client}, Store: db, Catalog: bot.DefaultCatalog(), SeatPoll: 100 * time.Millisecond, SeatTimeout: time.Minute}
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
			f := h.expiring(false)
			m := h.plan(f, "STANDARDPACK", 0)
			// This process only plans and approves: it stops its engine
			// first, so the child processes do all of the running.
			h.cancel()
			h.engine.Wait()
			h.approve(m, boss)
			h.engine.Wait()

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

func (h *harness) startChild(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KAIZALABOT_ENGINE_CHILD=1", "KAIZALABOT_PC_URL="+h.url, "KAIZALABOT_DB="+h.dbPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}
