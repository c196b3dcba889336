package bot

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memoryLog is an ActivityLog of fixed records; err fails every read.
type memoryLog struct {
	records []Activity
	err     error
	since   []time.Time
}

func (l *memoryLog) Activity(_ context.Context, since time.Time) ([]Activity, error) {
	l.since = append(l.since, since)
	if l.err != nil {
		return nil, l.err
	}
	var out []Activity
	for _, a := range l.records {
		if !a.At.Before(since) {
			out = append(out, a)
		}
	}
	return out, nil
}

// TestScanIncrementalReadsWhatChanged: the log's customers, the previous
// failures and the terms that ended are read again; a removed customer is
// dropped; everyone else is carried with days left recomputed; without a
// RequestMeter every call counts as one request.
func TestScanIncrementalReadsWhatChanged(t *testing.T) {
	kaizala := func(id string, days int, renews bool) Subscription {
		return Subscription{ID: id, OfferName: "Kaizala Pro", Status: "active", EndDate: endIn(days), AutoRenew: renews}
	}
	src := &memorySource{
		customers: []Customer{{ID: "A", Domain: "a.example"}, {ID: "b", Domain: "b.example"}, {ID: "c", Domain: "c.example"},
			{ID: "d", Domain: "d.example"}, {ID: "e", Domain: "e.example"}, {ID: "f", Domain: "f.example"}},
		subs: map[string][]Subscription{
			"A": {kaizala("A1", 200, true)},
			"b": {kaizala("B1", 40, false)},
			"d": {kaizala("D1", 1, true)}, // ends tomorrow and renews: the log may not show the renewal
			"e": {kaizala("E1", 20, false)},
		},
		fail: map[string]error{"c": errors.New("subscriptions: 500")},
	}
	clock := now
	log := &memoryLog{}
	s := &Scanner{Source: src, Log: log, Now: func() time.Time { return clock }}
	first, err := s.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first.Requests != 1+6 || first.Incremental {
		t.Fatalf("full scan: %d requests (want 7, one per call), incremental %v", first.Requests, first.Incremental)
	}

	// Three days later: A's subscription was changed (the record names it in
	// lower case), b left the partner, c can be read again, D1 renewed.
	clock = now.Add(72 * time.Hour)
	src.subs["A"] = []Subscription{kaizala("A1", 5, false)}
	src.subs["c"] = []Subscription{kaizala("C1", 9, false)}
	src.subs["d"] = []Subscription{kaizala("D1", 366, true)}
	delete(src.fail, "c")
	log.records = []Activity{
		{At: now.Add(-time.Hour), CustomerID: "zz", Operation: "update_subscription"}, // before the overlap: not read
		{At: now.Add(time.Hour), CustomerID: "a", CustomerName: "Alpha", Operation: "update_subscription", SubscriptionIDs: []string{"a1"}},
		{At: now.Add(2 * time.Hour), CustomerID: "a", Operation: "update_customer_user_licenses"},
		{At: now.Add(3 * time.Hour), CustomerID: "B", Operation: "remove_partner_customer_relationship"},
		{At: now.Add(4 * time.Hour), Operation: "create_partner_user"}, // no customer
	}
	calls := src.calls.Load()
	r, err := s.ScanIncremental(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Incremental || r.FullReason != "" || !r.Since.Equal(now.Add(-DefaultOverlap)) || !log.since[0].Equal(r.Since) {
		t.Fatalf("incremental %v (%q), since %s; want incremental since the previous start less the overlap", r.Incremental, r.FullReason, r.Since)
	}
	if read := src.calls.Load() - calls; read != 3 || r.Rescanned != 3 || r.Requests != 1+3 {
		t.Errorf("%d customers read (report: %d), %d requests; want A, c and d read, 4 requests", read, r.Rescanned, r.Requests)
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Customer.Label()+":"+f.Subscription.ID+":"+strconv.Itoa(f.DaysLeft))
	}
	// b is gone; e is carried, three days closer; the others were read.
	if want := "a.example:A1:2,c.example:C1:6,e.example:E1:17,d.example:D1:363"; strings.Join(got, ",") != want {
		t.Errorf("findings %s, want %s", strings.Join(got, ","), want)
	}
	if len(r.Failures) != 0 || r.Customers != 5 {
		t.Errorf("failures %v, customers %d; want none and 5", r.Failures, r.Customers)
	}
	if i := slices.IndexFunc(first.Findings, func(f Finding) bool { return f.Subscription.ID == "E1" }); first.Findings[i].DaysLeft != 20 {
		t.Errorf("the previous report was changed: E1 has %d days left in it", first.Findings[i].DaysLeft)
	}

	// The log unreadable: a full scan that says why, the failed read counted.
	log.err = errors.New("403 insufficient privileges")
	calls = src.calls.Load()
	full, err := s.ScanIncremental(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if full.Incremental || !strings.Contains(full.FullReason, "403 insufficient privileges") || full.Requests != 1+1+6 || src.calls.Load()-calls != 6 {
		t.Errorf("fallback: incremental %v, reason %q, %d requests; want a full scan of 6 after the failed log read", full.Incremental, full.FullReason, full.Requests)
	}
}

// meteredSource counts requests its own way, as pcclient.Adapter does.
type meteredSource struct {
	*memorySource
	perCall int
}

type meterKey struct{}

func (m meteredSource) MeterRequests(ctx context.Context) (context.Context, func() int) {
	start := m.calls.Load()
	return context.WithValue(ctx, meterKey{}, true), func() int { return int(m.calls.Load()-start) * m.perCall }
}

func TestScanCountsWithTheSourcesMeter(t *testing.T) {
	src := meteredSource{&memorySource{customers: []Customer{{ID: "a"}, {ID: "b"}}}, 3}
	r, err := (&Scanner{Source: src}).Scan(context.Background())
	if err != nil || r.Requests != 6 {
		t.Errorf("Requests = %d, %v; want the meter's 6", r.Requests, err)
	}
}
