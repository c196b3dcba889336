package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/internal/pctest"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// The acceptance, against the real sandbox through the real client:
// with 1,000 customers, after a full scan an incremental scan with no changes
// costs at most 5 Partner Center requests; after three Kaizala Pro
// subscriptions' end dates move into the alert window (POST /_sandbox/change,
// as the customer or Microsoft would), the next one costs at most 20 and
// shows all three expiring on their new end dates, exactly as a full scan
// would.

const alertWindow = 30 // days, the bot's default KAIZALA_WITHIN

type incrementalRig struct {
	t    *testing.T
	sim  *pcsim.Server
	url  string
	pc   pcclient.Adapter
	scan *bot.Scanner
}

func newIncrementalRig(t *testing.T, customers int) *incrementalRig {
	t.Helper()
	opts := pcsim.DefaultOptions()
	opts.Customers = customers
	opts.RateLimit = 0 // for speed; the requests are counted, not timed
	sim := pcsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := pctest.Client(srv.URL, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc := pcclient.Adapter{Client: client}
	return &incrementalRig{t: t, sim: sim, url: srv.URL, pc: pc,
		scan: &bot.Scanner{Source: pc, Probe: pc, Log: pc, Concurrency: 16}}
}

// scan runs one scan (incremental when prev is non-nil) and checks that the
// report's Requests are the requests the sandbox received.
func (r *incrementalRig) scanned(prev *bot.ScanReport) *bot.ScanReport {
	r.t.Helper()
	before := r.sim.Stats().Requests
	var report *bot.ScanReport
	var err error
	if prev == nil {
		report, err = r.scan.Scan(context.Background())
	} else {
		report, err = r.scan.ScanIncremental(context.Background(), prev)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	// The sandbox also counts token requests, which the client makes once.
	if got := int(r.sim.Stats().Requests - before); got < report.Requests || got > report.Requests+1 {
		r.t.Errorf("report says %d requests, the sandbox received %d", report.Requests, got)
	}
	return report
}

// change is POST /_sandbox/change; it returns the subscription as answered.
func (r *incrementalRig) change(body map[string]any) map[string]any {
	r.t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(r.url+pcsim.ChangePath, "application/json", bytes.NewReader(raw))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		r.t.Fatalf("POST %s %s: %d %v %v", pcsim.ChangePath, raw, resp.StatusCode, out, err)
	}
	return out
}

func TestIncrementalScanAcceptance(t *testing.T) {
	began := time.Now()
	rig := newIncrementalRig(t, 1000)

	first := rig.scanned(nil)
	if first.Incremental || first.Customers != 1000 || first.Requests < 1000 {
		t.Fatalf("first scan: incremental %v, %d customers, %d requests; want a full scan of 1000", first.Incremental, first.Customers, first.Requests)
	}

	quiet := rig.scanned(first)
	if !quiet.Incremental || quiet.FullReason != "" {
		t.Fatalf("no-change scan is not incremental: %q", quiet.FullReason)
	}
	if quiet.Requests > 5 {
		t.Errorf("an incremental scan with no changes cost %d requests, want at most 5", quiet.Requests)
	}
	if d := diffFindings(first, quiet); d != "" {
		t.Errorf("with no changes the findings changed: %s", d)
	}

	// Three Kaizala Pro subscriptions outside the alert window, moved to end
	// in five days without renewing.
	var moved []bot.Finding
	for _, f := range first.Findings {
		if len(moved) < 3 && f.Subscription.Active() && !f.Expiring(alertWindow) &&
			!slices.ContainsFunc(moved, func(m bot.Finding) bool { return m.Customer.ID == f.Customer.ID }) {
			moved = append(moved, f)
		}
	}
	if len(moved) < 3 {
		t.Fatalf("only %d active Kaizala Pro subscriptions outside the alert window among 1000 customers", len(moved))
	}
	newEnd := time.Now().UTC().AddDate(0, 0, 5).Format(time.DateOnly)
	for _, f := range moved {
		got := rig.change(map[string]any{
			"customerId": f.Customer.ID, "subscriptionId": f.Subscription.ID,
			"commitmentEndDate": newEnd, "autoRenewEnabled": false,
		})
		if got["commitmentEndDate"] != newEnd+"T00:00:00Z" {
			t.Fatalf("the change answered commitmentEndDate %v, want %s", got["commitmentEndDate"], newEnd)
		}
	}

	after := rig.scanned(quiet)
	if !after.Incremental || after.Rescanned != 3 {
		t.Errorf("after the changes: incremental %v (%q), %d customers read; want incremental, 3", after.Incremental, after.FullReason, after.Rescanned)
	}
	if after.Requests > 20 {
		t.Errorf("the incremental scan after 3 changes cost %d requests, want at most 20", after.Requests)
	}
	expiring := after.Expiring(alertWindow)
	for _, m := range moved {
		i := slices.IndexFunc(expiring, func(f bot.Finding) bool { return bot.SameID(f.Subscription.ID, m.Subscription.ID) })
		if i < 0 {
			t.Errorf("%s of %s is not expiring after its end date moved", m.Subscription.ID, m.Customer.Label())
			continue
		}
		if f := expiring[i]; f.Subscription.EndDate.Format(time.DateOnly) != newEnd || f.DaysLeft != 5 || f.Subscription.AutoRenew {
			t.Errorf("%s: ends %s (%d days left, auto-renew %v), want %s, 5 days, not renewing",
				m.Subscription.ID, f.Subscription.EndDate.Format(time.DateOnly), f.DaysLeft, f.Subscription.AutoRenew, newEnd)
		}
	}
	if len(expiring) != len(first.Expiring(alertWindow))+3 {
		t.Errorf("%d expiring after the changes, want the %d of before and 3 more", len(expiring), len(first.Expiring(alertWindow)))
	}

	// What the incremental scan says is what a full scan says.
	full := rig.scanned(nil)
	if d := diffFindings(full, after); d != "" {
		t.Errorf("incremental and full scans disagree: %s", d)
	}
	if len(full.Access) != len(after.Access) {
		t.Errorf("%d customers refused access in the full scan, %d in the incremental one", len(full.Access), len(after.Access))
	}
	t.Logf("full scan %d requests; incremental: %d with no changes, %d after 3 changes; %v in all",
		first.Requests, quiet.Requests, after.Requests, time.Since(began).Round(time.Millisecond))
}

// TestIncrementalScanFallsBackToFull: a log Partner Center refuses (403), no
// previous report, or none older than the log keeps, each give a full scan
// that says why.
func TestIncrementalScanFallsBackToFull(t *testing.T) {
	rig := newIncrementalRig(t, 40)
	first := rig.scanned(nil)

	rig.sim.RefuseActivityLog(true)
	refused := rig.scanned(first)
	if refused.Incremental || !strings.Contains(refused.FullReason, "activity log could not be read") || !strings.Contains(refused.FullReason, "403") {
		t.Errorf("refused log: incremental %v, reason %q; want a full scan saying the log answered 403", refused.Incremental, refused.FullReason)
	}
	if refused.Requests < first.Requests+1 {
		t.Errorf("the fallback cost %d requests, want the refused log read plus a full scan (%d)", refused.Requests, first.Requests)
	}
	if d := diffFindings(first, refused); d != "" {
		t.Errorf("fallback findings differ: %s", d)
	}
	rig.sim.RefuseActivityLog(false)

	for _, tc := range []struct {
		name string
		prev *bot.ScanReport
		says string
	}{
		{"no previous report", nil, "no previous scan"},
		{"too old for the log", &bot.ScanReport{Started: time.Now().AddDate(0, 0, -95)}, "90 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := rig.scan.ScanIncremental(context.Background(), tc.prev)
			if err != nil {
				t.Fatal(err)
			}
			if r.Incremental || !strings.Contains(r.FullReason, tc.says) || r.Customers != 40 {
				t.Errorf("incremental %v, reason %q, %d customers; want a full scan saying %q", r.Incremental, r.FullReason, r.Customers, tc.says)
			}
		})
	}
	if r, err := (&bot.Scanner{Source: rig.pc}).ScanIncremental(context.Background(), first); err != nil || r.Incremental || !strings.Contains(r.FullReason, "not configured") {
		t.Errorf("without a Log: %v, %+v", err, r)
	}
}

// diffFindings describes how two reports' findings differ, "" when they agree.
func diffFindings(want, got *bot.ScanReport) string {
	line := func(f bot.Finding) string {
		s := f.Subscription
		return fmt.Sprintf("%s/%s %s %s end %s left %d renew %v qty %d", strings.ToLower(f.Customer.ID), strings.ToLower(s.ID),
			f.Retired, s.Status, s.EndDate.Format(time.DateOnly), f.DaysLeft, s.AutoRenew, s.Quantity)
	}
	var a, b []string
	for _, f := range want.Findings {
		a = append(a, line(f))
	}
	for _, f := range got.Findings {
		b = append(b, line(f))
	}
	slices.Sort(a)
	slices.Sort(b)
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, "missing "+x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, "extra "+x)
		}
	}
	return strings.Join(out, "; ")
}

// TestIncrementalScanOverlapCatchesLateRecords: a record that shows in the
// log only after the next scan has run is still read by the one after, thanks
// to the overlap; without it, the change would wait for the next full scan.
func TestIncrementalScanOverlapCatchesLateRecords(t *testing.T) {
	opts := pcsim.DefaultOptions()
	opts.Customers, opts.RateLimit, opts.ActivityLogDelay = 40, 0, 5*time.Minute
	sim := pcsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := pctest.Client(srv.URL, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc := pcclient.Adapter{Client: client}
	sandboxNow := func() time.Time { return time.Now().Add(sim.ClockOffset()) }
	withOverlap := &bot.Scanner{Source: pc, Log: pc, Now: sandboxNow}
	noOverlap := &bot.Scanner{Source: pc, Log: pc, Now: sandboxNow, Overlap: time.Nanosecond}
	ctx := context.Background()

	first, err := withOverlap.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := first.Findings[0]
	if err := sim.ChangeSubscription(f.Customer.ID, f.Subscription.ID, pcsim.SubscriptionChange{Quantity: ptr(f.Subscription.Quantity + 1)}); err != nil {
		t.Fatal(err)
	}
	early, err := withOverlap.ScanIncremental(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if early.Rescanned != 0 {
		t.Fatalf("the record showed before its delay: %d customers read", early.Rescanned)
	}
	if err := sim.AdvanceClock(6 * time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scanner *bot.Scanner
		read    int
		seats   int
	}{
		{noOverlap, 0, f.Subscription.Quantity},
		{withOverlap, 1, f.Subscription.Quantity + 1},
	} {
		r, err := tc.scanner.ScanIncremental(ctx, early)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(r.Findings, func(g bot.Finding) bool { return g.Subscription.ID == f.Subscription.ID })
		if r.Rescanned != tc.read || i < 0 || r.Findings[i].Subscription.Quantity != tc.seats {
			t.Errorf("overlap %v: %d customers read, finding %d; want %d read and %d seats", tc.scanner.Overlap, r.Rescanned, i, tc.read, tc.seats)
		}
	}
}

func ptr[T any](v T) *T { return &v }
