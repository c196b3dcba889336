package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/fakeslack"
)

// The demo keeps its database between runs, but its Slack is new each time:
// a restarted demo must show alerts again, not an empty console.
func TestDemoRestartShowsAlertsAgain(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	for run := 1; run <= 2; run++ {
		d, err := startDemo(context.Background(), demoOptions{Addr: "127.0.0.1:0", DB: db})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = d.Slack.WaitMessage(ctx, demoAlertChannel, func(m fakeslack.Message) bool { return strings.Contains(m.Text, "end soon") })
		cancel()
		d.Close()
		if err != nil {
			t.Fatalf("run %d: no alert in the console: %v", run, err)
		}
	}
}
