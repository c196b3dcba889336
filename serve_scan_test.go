package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// scanCost runs /kaizala scan (with args) as the salesperson and returns
// the reply's count of Partner Center requests and its text.
func (st *stack) scanCost(args string) (int, string) {
	st.t.Helper()
	done := func() []string {
		var out []string
		for _, m := range st.slack.Ephemerals(salesID) {
			if strings.Contains(m.Text, "Scan done") {
				out = append(out, m.Text)
			}
		}
		return out
	}
	before := len(done())
	st.command(salesID, strings.TrimSpace("scan "+args))
	deadline := time.Now().Add(60 * time.Second)
	for len(done()) == before {
		if time.Now().After(deadline) {
			st.t.Fatalf("no scan reply: %v", texts(st.slack.Ephemerals(salesID)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	text := done()[before]
	m := regexp.MustCompile(`with (\d+) Partner Center requests?`).FindStringSubmatch(text)
	if m == nil {
		st.t.Fatalf("the scan reply does not say what it cost: %s", text)
	}
	n, _ := strconv.Atoi(m[1])
	return n, text
}

// Acceptance 3 of the service issue: with 1,000 customers, after the full
// scan at start, /kaizala scan reads the activity log: nothing changed costs
// at most 5 requests; three Kaizala Pro subscriptions moved into the alert
// window (as Microsoft or the customer would, through /_sandbox/change) cost
// at most 20 and are alerted.
func TestIncrementalScansCostWhatChanged(t *testing.T) {
	if testing.Short() {
		t.Skip("a 1,000-customer sandbox; skipped with -short")
	}
	st := newStack(t, func(o *pcsim.Options) { o.Customers = 1000 })
	full, text := st.scanCost("full")
	if full < 1000 {
		t.Errorf("a full scan of 1,000 customers cost %d requests: %s", full, text)
	}
	quiet, text := st.scanCost("")
	if quiet > 5 {
		t.Errorf("a scan with nothing changed cost %d requests, want at most 5: %s", quiet, text)
	}
	// Three Kaizala Pro subscriptions far from their end move to 5 days.
	tracked, err := st.srv.db.TrackedSubscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var moved []bot.TrackedSubscription
	for _, ts := range tracked {
		if len(moved) < 3 && bot.DaysLeft(ts.Subscription.EndDate, time.Now(), time.UTC) > 120 && ts.Subscription.Active() {
			moved = append(moved, ts)
		}
	}
	if len(moved) < 3 {
		t.Fatalf("only %d Kaizala Pro subscriptions end in more than 120 days", len(moved))
	}
	end := time.Now().UTC().AddDate(0, 0, 5).Format("2006-01-02")
	for _, ts := range moved {
		body, _ := json.Marshal(map[string]any{"customerId": ts.Customer.ID, "subscriptionId": ts.Subscription.ID, "commitmentEndDate": end, "autoRenewEnabled": false})
		resp, err := http.Post(st.cfg.PartnerCenter.APIURL+pcsim.ChangePath, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/_sandbox/change: %s", resp.Status)
		}
	}
	changed, text := st.scanCost("")
	if changed > 20 {
		t.Errorf("a scan after 3 changes cost %d requests, want at most 20: %s", changed, text)
	}
	for _, ts := range moved {
		st.waitMessage(alertChannel, ts.Subscription.ID)
	}
	t.Logf("requests per scan: full %d, nothing changed %d, three changed %d", full, quiet, changed)
}
