package bot

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memorySource is an in-memory SubscriptionSource.
type memorySource struct {
	customers []Customer
	subs      map[string][]Subscription
	fail      map[string]error
	calls     atomic.Int32
	block     chan struct{}
}

func (m *memorySource) ListCustomers(context.Context) ([]Customer, error) { return m.customers, nil }

func (m *memorySource) ListSubscriptions(ctx context.Context, id string) ([]Subscription, error) {
	m.calls.Add(1)
	if m.block != nil {
		select {
		case <-m.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := m.fail[id]; err != nil {
		return nil, err
	}
	return m.subs[id], nil
}

var now = time.Date(2026, 11, 24, 15, 30, 0, 0, time.UTC)

func endIn(days int) time.Time {
	return time.Date(2026, 11, 24, 23, 59, 59, 0, time.UTC).AddDate(0, 0, days)
}

func TestFindingExpiring(t *testing.T) {
	kaizala := func(mod func(*Subscription)) Subscription {
		s := Subscription{ID: "S", OfferName: "Kaizala Pro", Status: "active", EndDate: endIn(10), Quantity: 5}
		if mod != nil {
			mod(&s)
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		sub    Subscription
		within int
		want   bool
	}{
		{"active, not renewing, inside the window", kaizala(nil), 90, true},
		{"on the window's last day", kaizala(nil), 10, true},
		{"a day outside the window", kaizala(nil), 9, false},
		{"already past its end but still active", kaizala(func(s *Subscription) { s.EndDate = endIn(-3) }), 0, true},
		{"renews by itself", kaizala(func(s *Subscription) { s.AutoRenew = true }), 90, false},
		{"suspended", kaizala(func(s *Subscription) { s.Status = "suspended" }), 90, false},
		{"a status added later", kaizala(func(s *Subscription) { s.Status = "disabled" }), 90, false},
		{"status in capitals", kaizala(func(s *Subscription) { s.Status = "Active" }), 90, true},
		{"no end date", kaizala(func(s *Subscription) { s.EndDate = time.Time{} }), 90, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Finding{Subscription: tc.sub}
			if tc.sub.HasEnd() {
				f.DaysLeft = DaysLeft(tc.sub.EndDate, now, time.UTC)
			}
			if got := f.Expiring(tc.within); got != tc.want {
				t.Errorf("Expiring(%d) = %v, want %v (days left %d)", tc.within, got, tc.want, f.DaysLeft)
			}
		})
	}
}

func TestDaysLeft(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, tc := range []struct {
		name string
		end  time.Time
		now  time.Time
		loc  *time.Location
		want int
	}{
		{"ends today", time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), now, nil, 0},
		{"ends tomorrow (date-time form)", time.Date(2026, 11, 25, 23, 59, 59, 0, time.UTC), now, time.UTC, 1},
		{"ended yesterday", time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), now, time.UTC, -1},
		{"across a leap day", time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 2, 28, 12, 0, 0, 0, time.UTC), time.UTC, 2},
		{"today is already tomorrow in Tokyo", time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), now, tokyo, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DaysLeft(tc.end, tc.now, tc.loc); got != tc.want {
				t.Errorf("DaysLeft = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRetiredSKUMatchesOnOfferNameOrID(t *testing.T) {
	kaizala := DefaultCatalog().Retired[0]
	custom := RetiredSKU{Name: "Office 365 E4", OfferIDs: []string{"abc-123"}, OfferNameContains: []string{"Enterprise E4"}}
	for _, tc := range []struct {
		sku  RetiredSKU
		sub  Subscription
		want bool
	}{
		{kaizala, Subscription{OfferName: "Kaizala Pro"}, true},
		{kaizala, Subscription{OfferName: "MICROSOFT KAIZALA PRO"}, true},
		{kaizala, Subscription{OfferName: "Office 365 E3", FriendlyName: "Kaizala replacement"}, false},
		{custom, Subscription{OfferID: "ABC-123"}, true},
		{custom, Subscription{OfferName: "Office 365 Enterprise E4"}, true},
		{custom, Subscription{OfferName: "Office 365 Enterprise E3"}, false},
	} {
		if got := tc.sku.Matches(tc.sub); got != tc.want {
			t.Errorf("%s.Matches(%+v) = %v, want %v", tc.sku.Name, tc.sub, got, tc.want)
		}
	}
}

func TestScanReadsEveryCustomerAndKeepsGoingPastFailures(t *testing.T) {
	src := &memorySource{
		customers: []Customer{{ID: "a", Domain: "a.example"}, {ID: "b", Domain: "b.example"}, {ID: "c", Domain: "c.example"}, {ID: "d", Name: "Delta"}},
		subs: map[string][]Subscription{
			"a": {{ID: "A1", OfferName: "Kaizala Pro", Status: "active", EndDate: endIn(30)}, {ID: "A2", OfferName: "Office 365 E3", Status: "active", EndDate: endIn(1)}},
			"b": {{ID: "B1", OfferName: "Kaizala Pro", Status: "active", EndDate: endIn(2)}, {ID: "B2", OfferName: "Kaizala Pro", Status: "active"}},
			"d": {{ID: "D1", OfferName: "Kaizala Pro", Status: "active", EndDate: endIn(2)}},
		},
		fail: map[string]error{"c": errors.New("403 forbidden")},
	}
	var progress atomic.Int32
	s := &Scanner{Source: src, Concurrency: 3, Now: func() time.Time { return now }, Progress: func(done, total int) {
		progress.Add(1)
		if total != 4 {
			t.Errorf("progress total %d", total)
		}
	}}
	r, err := s.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range r.Findings {
		ids = append(ids, f.Subscription.ID)
	}
	// Sorted by days left, then customer; the one without an end date last.
	if got := strings.Join(ids, ","); got != "B1,D1,A1,B2" {
		t.Errorf("findings = %s", got)
	}
	if len(r.Failures) != 1 || r.Failures[0].Customer.ID != "c" || r.Customers != 4 {
		t.Errorf("failures = %+v, customers = %d", r.Failures, r.Customers)
	}
	if progress.Load() != 4 || src.calls.Load() != 4 {
		t.Errorf("progress calls %d, source calls %d", progress.Load(), src.calls.Load())
	}
	if got := len(r.Expiring(30)); got != 3 {
		t.Errorf("Expiring(30) = %d findings, want 3", got)
	}
	if got := len(r.Expiring(1)); got != 0 {
		t.Errorf("Expiring(1) = %d findings, want 0", got)
	}
}

func TestScanStopsWhenTheContextEnds(t *testing.T) {
	src := &memorySource{block: make(chan struct{}), customers: make([]Customer, 50)}
	for i := range src.customers {
		src.customers[i].ID = string(rune('a' + i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := (&Scanner{Source: src, Concurrency: 4}).Scan(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, got %v", err)
	}
	if n := src.calls.Load(); n > 8 {
		t.Errorf("%d customers were started after cancellation; the feeder must stop", n)
	}
}

func TestAlertThreshold(t *testing.T) {
	days, err := ParseAlertDays(" 90,60, 30,14,7,3,1,30")
	if err != nil || len(days) != 7 || days[0] != 90 || days[6] != 1 {
		t.Fatalf("ParseAlertDays = %v, %v", days, err)
	}
	for _, tc := range []struct {
		left, want int
		ok         bool
	}{
		{120, 0, false}, {90, 90, true}, {61, 90, true}, {60, 60, true}, {25, 30, true},
		{7, 7, true}, {2, 3, true}, {1, 1, true}, {0, 1, true}, {-4, 0, true},
	} {
		if got, ok := AlertThreshold(tc.left, days); got != tc.want || ok != tc.ok {
			t.Errorf("AlertThreshold(%d) = %d %v, want %d %v", tc.left, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range []string{"", "x", "-1", "90,abc", "9999"} {
		if _, err := ParseAlertDays(bad); err == nil {
			t.Errorf("ParseAlertDays(%q) should fail", bad)
		}
	}
}

// memoryProbe answers LicensePools with the error set for a customer, and
// tells access problems by a "denied:" prefix.
type memoryProbe struct {
	fail  map[string]error
	calls map[string]int
	mu    sync.Mutex
}

func (p *memoryProbe) LicensePools(_ context.Context, id string) ([]LicensePool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls == nil {
		p.calls = map[string]int{}
	}
	p.calls[id]++
	return nil, p.fail[id]
}

func (p *memoryProbe) Access(err error) (AccessProblem, bool) {
	code, ok := strings.CutPrefix(err.Error(), "denied:")
	return AccessProblem{Code: code, Kind: AccessGDAPRole, Role: RoleLicenseAdministrator}, ok
}

func TestScanProbesTheLicencesOfCustomersWithFindings(t *testing.T) {
	kaizala := func(id, status string) Subscription {
		return Subscription{ID: id, OfferName: "Kaizala Pro", Status: status, EndDate: endIn(30)}
	}
	src := &memorySource{
		customers: []Customer{{ID: "a", Name: "Alpha"}, {ID: "b", Name: "Beta"}, {ID: "c", Name: "Gamma"}, {ID: "d", Name: "Delta"}, {ID: "e", Name: "Epsilon"}, {ID: "f", Name: "Phi"}},
		subs: map[string][]Subscription{
			"a": {kaizala("A1", "active")},
			"b": {kaizala("B1", "active"), kaizala("B2", "active")},
			"c": {{ID: "C1", OfferName: "Office 365 E3", Status: "active", EndDate: endIn(3)}},
			"d": {kaizala("D1", "active")},
			"e": {kaizala("E1", "suspended")},
		},
		fail: map[string]error{"f": errors.New("subscriptions: 500")},
	}
	probe := &memoryProbe{fail: map[string]error{
		"a": errors.New("denied:900308"),
		"d": errors.New("licences: 503 after 6 attempts"),
		"e": errors.New("denied:900309"),
	}}
	r, err := (&Scanner{Source: src, Probe: probe, Now: func() time.Time { return now }}).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		customer string
		calls    int
		why      string
	}{
		{"a", 1, "one active Kaizala Pro subscription"},
		{"b", 1, "two of them: still one call"},
		{"c", 0, "no retired-SKU subscription"},
		{"d", 1, "one active Kaizala Pro subscription"},
		{"e", 0, "only a suspended one, which needs no migration"},
		{"f", 0, "its subscriptions could not be read"},
	} {
		if got := probe.calls[tc.customer]; got != tc.calls {
			t.Errorf("customer %s: %d licence reads, want %d (%s)", tc.customer, got, tc.calls, tc.why)
		}
	}
	if len(r.Access) != 1 || r.Access[0].Customer.ID != "a" || r.Access[0].Problem.Code != "900308" {
		t.Errorf("access = %+v, want Alpha's 900308 only", r.Access)
	}
	if got := r.Access[0].Summary(); got != (ScanAccess{CustomerID: "a", Customer: "Alpha", Code: "900308", Fix: "grant the License Administrator GDAP role for Alpha"}) {
		t.Errorf("summary = %+v", got)
	}
	var failed []string
	for _, f := range r.Failures {
		failed = append(failed, f.Customer.ID+": "+f.Err.Error())
	}
	// Delta's other failure is an ordinary one, its findings still count.
	if want := "d: reading the licences: licences: 503 after 6 attempts,f: subscriptions: 500"; strings.Join(failed, ",") != want {
		t.Errorf("failures = %q, want %q", strings.Join(failed, ","), want)
	}
	if len(r.Findings) != 5 {
		t.Errorf("%d findings, want 5: a refused probe keeps the customer's findings", len(r.Findings))
	}

	// Without a probe nothing is read beyond subscriptions.
	probe.calls = nil
	r, err = (&Scanner{Source: src, Now: func() time.Time { return now }}).Scan(context.Background())
	if err != nil || len(r.Access) != 0 || len(r.Failures) != 1 {
		t.Errorf("without a probe: access %+v, failures %+v, err %v", r.Access, r.Failures, err)
	}
}
