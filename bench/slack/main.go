// Command slack load-tests `kaizalabot serve` from outside: the real binary
// against the Partner Center sandbox (another process) and the recording
// fake Slack, over loopback. 16 senders send 800 signed /kaizala commands
// (help, list, targets, status) and every answer's latency is measured.
//
//	go run ./bench/slack                 # 800 commands, 16 senders, goal p99 ≤ 100 ms
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kaizalabot/kaizalabot/bench/internal/proc"
	"github.com/kaizalabot/kaizalabot/fakeslack"
)

func main() {
	total := flag.Int("commands", 800, "commands to send")
	senders := flag.Int("senders", 16, "concurrent senders")
	goal := flag.Duration("p99", 100*time.Millisecond, "goal for the 99th percentile")
	flag.Parse()
	if err := run(*total, *senders, *goal); err != nil {
		fmt.Fprintln(os.Stderr, "bench/slack:", err)
		os.Exit(1)
	}
}

func run(total, senders int, goal time.Duration) error {
	bin, dir, cleanup, err := proc.Binary()
	if err != nil {
		return err
	}
	defer cleanup()
	pcAddr, err := proc.FreeAddr()
	if err != nil {
		return err
	}
	botAddr, err := proc.FreeAddr()
	if err != nil {
		return err
	}
	sim, pcEnv, err := proc.Sandbox(bin, "--addr", pcAddr, "--customers", "40", "--rate-limit", "0")
	if err != nil {
		return err
	}
	defer proc.Stop(sim)

	slack := fakeslack.New(fakeslack.Options{SigningSecret: "bench-signing-secret-0123456789abcdef", Users: []fakeslack.User{{ID: "U0SALES", Name: "sales"}}})
	if _, err := slack.Start(); err != nil {
		return err
	}
	defer slack.Close()
	slack.SetAppURL("http://" + botAddr)

	serve := exec.Command(bin, "serve")
	serve.Env = append(os.Environ(), append(pcEnv,
		"PC_RATE_LIMIT=60000", "SLACK_BOT_TOKEN=xoxb-fake", "SLACK_SIGNING_SECRET=bench-signing-secret-0123456789abcdef",
		"SLACK_API_URL="+slack.APIURL(), "KAIZALA_ALERT_CHANNEL=C0ALERTS", "KAIZALA_APPROVERS=U0BOSS", "KAIZALA_SALES=U0SALES",
		"KAIZALA_DB="+filepath.Join(dir, "bench.db"), "KAIZALA_LISTEN="+botAddr)...)
	logs, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return err
	}
	serve.Stdout, serve.Stderr = logs, logs
	if err := serve.Start(); err != nil {
		return err
	}
	defer proc.Stop(serve)
	if err := waitHealthy("http://"+botAddr+"/healthz", 30*time.Second); err != nil {
		return err
	}
	// Wait for the first scan, so list and status have something to say.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first, err := slack.WaitMessage(ctx, "C0ALERTS", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "Kaizala") })
	if err != nil {
		return fmt.Errorf("no alert after the first scan: %w", err)
	}
	domain := strings.Fields(strings.SplitN(first.Text, "(", 2)[1])[0]
	domain = strings.TrimRight(domain, ")")

	commands := []string{"help", "list", "targets", "status " + domain, "list 30"}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  []string
		wg        sync.WaitGroup
	)
	start := time.Now()
	for s := range senders {
		wg.Go(func() {
			for i := s; i < total; i += senders {
				text := commands[i%len(commands)]
				reply, err := slack.Command(context.Background(), "U0SALES", "C0ALERTS", text)
				mu.Lock()
				switch {
				case err != nil:
					failures = append(failures, err.Error())
				case reply.Status != http.StatusOK:
					failures = append(failures, fmt.Sprintf("%s: HTTP %d", text, reply.Status))
				default:
					latencies = append(latencies, reply.Latency)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(failures) > 0 {
		return fmt.Errorf("%d of %d commands failed, first: %s", len(failures), total, failures[0])
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))] }
	fmt.Printf("%d signed /kaizala commands (help, list, targets, status) from %d senders in %v (%.0f/s): all 200; p50 %v, p90 %v, p99 %v, max %v (goal p99 ≤ %v)\n",
		total, senders, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(),
		pct(0.50).Round(time.Microsecond*100), pct(0.90).Round(time.Microsecond*100), pct(0.99).Round(time.Microsecond*100),
		latencies[len(latencies)-1].Round(time.Microsecond*100), goal)
	if pct(0.99) > goal {
		return errors.New("p99 above the goal")
	}
	return nil
}

func waitHealthy(url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s never became healthy", url)
}
