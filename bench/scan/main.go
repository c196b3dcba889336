// Command scan measures `kaizalabot scan` against the sandbox: wall time
// against the rate bound and the scanner's peak RSS, both from real
// processes over loopback.
//
//	go run ./bench/scan                  # the setting: 1,000 customers at 6,000/min, 30 ms latency
//	go run ./bench/scan -customers 200 -rate 3000
//
// It exits non-zero when the scan fails, takes more than -slack times the
// rate bound, or peaks above -max-rss-mb.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/kaizalabot/kaizalabot/bench/internal/proc"
)

func main() {
	customers := flag.Int("customers", 1000, "customers in the sandbox")
	rpm := flag.Int("rate", 6000, "requests per minute, for the sandbox and PC_RATE_LIMIT")
	latency := flag.Duration("latency", 30*time.Millisecond, "sandbox latency per request")
	runs := flag.Int("runs", 3, "scans to time")
	slack := flag.Float64("slack", 1.05, "allowed multiple of the rate bound")
	maxRSS := flag.Int("max-rss-mb", 150, "allowed peak RSS of the scan in MB")
	flag.Parse()
	if err := run(*customers, *rpm, *latency, *runs, *slack, *maxRSS); err != nil {
		fmt.Fprintln(os.Stderr, "bench/scan:", err)
		os.Exit(1)
	}
}

func run(customers, rpm int, latency time.Duration, runs int, slack float64, maxRSS int) error {
	bin, _, cleanup, err := proc.Binary()
	if err != nil {
		return err
	}
	defer cleanup()
	addr, err := proc.FreeAddr()
	if err != nil {
		return err
	}
	sim, env, err := proc.Sandbox(bin, "--addr", addr, "--customers", fmt.Sprint(customers),
		"--rate-limit", fmt.Sprint(rpm), "--latency", latency.String())
	if err != nil {
		return err
	}
	defer proc.Stop(sim)
	env = append(env, fmt.Sprintf("PC_RATE_LIMIT=%d", rpm))

	// Every customer costs one subscriptions call; listing customers costs
	// one call per 500; every customer with an active Kaizala Pro
	// subscription costs one more, the licence read that tells whether
	// Partner Center lets the partner migrate it (the sandbox's are all
	// non-renewing, so --within 400 lists each such customer). That many
	// calls at rpm/60 per second is the bound.
	perCall := time.Duration(float64(time.Second) / (float64(rpm) / 60))
	base := customers + (customers+499)/500
	fmt.Printf("scan of %d customers, PC_RATE_LIMIT=%d/min, sandbox latency %v: rate bound %v for %d calls plus %v per customer probed (a sequential client: ~%v)\n",
		customers, rpm, latency, (time.Duration(base) * perCall).Round(time.Millisecond), base, perCall.Round(time.Microsecond), (time.Duration(base) * latency).Round(time.Second))

	var worst, worstBound time.Duration
	var worstRSS int64
	for i := 1; i <= runs; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Duration(base)*perCall+time.Minute)
		cmd := exec.CommandContext(ctx, bin, "scan", "--format", "json", "--within", "400")
		cmd.Env = append(os.Environ(), env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		elapsed := time.Since(start)
		cancel()
		// Exit 3: done, but some customers refused access to their licences
		// (the sandbox refuses a few, as Partner Center does without a GDAP
		// role); the scan's output is complete.
		var exit *exec.ExitError
		if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 3) {
			return fmt.Errorf("run %d: %v\n%s", i, err, stderr.String())
		}
		var rows []struct {
			CustomerID string `json:"customerId"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
			return fmt.Errorf("run %d: output is not JSON: %v", i, err)
		}
		probed := map[string]bool{}
		for _, r := range rows {
			probed[r.CustomerID] = true
		}
		calls := base + len(probed)
		bound := time.Duration(calls) * perCall
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss / 1024 // KiB on Linux
		fmt.Printf("run %d: %v for %d calls (%.2f× the bound %v), peak RSS %d MB, %d expiring subscriptions listed, %d customers refused access\n",
			i, elapsed.Round(time.Millisecond), calls, float64(elapsed)/float64(bound), bound.Round(time.Millisecond), rss, len(rows),
			bytes.Count(stderr.Bytes(), []byte("Partner Center refused access")))
		if float64(elapsed)/float64(bound) > float64(worst)/float64(max(worstBound, 1)) {
			worst, worstBound = elapsed, bound
		}
		worstRSS = max(worstRSS, rss)
	}
	fmt.Printf("worst: %v = %.2f× the rate bound (goal ≤ %.2f×), peak RSS %d MB (goal < %d MB)\n",
		worst.Round(time.Millisecond), float64(worst)/float64(worstBound), slack, worstRSS, maxRSS)
	if float64(worst) > slack*float64(worstBound) {
		return fmt.Errorf("too slow")
	}
	if worstRSS >= int64(maxRSS) {
		return fmt.Errorf("too much memory")
	}
	return nil
}
