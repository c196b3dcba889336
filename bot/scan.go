package bot

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SubscriptionSource reads the partner's customers and their subscriptions.
type SubscriptionSource interface {
	ListCustomers(ctx context.Context) ([]Customer, error)
	ListSubscriptions(ctx context.Context, customerID string) ([]Subscription, error)
}

// Scanner finds the subscriptions of retired SKUs across all customers.
type Scanner struct {
	Source  SubscriptionSource
	Retired []RetiredSKU // default: DefaultCatalog().Retired
	// Concurrency is how many customers are read at once; the source's own
	// rate limiter decides the pace. Default 8.
	Concurrency int
	Now         func() time.Time
	Location    *time.Location // for "today"; default UTC
	// Progress, when set, is called after each customer.
	Progress func(done, total int)
	// Probe, when set, reads the licence pools of each customer with an
	// active retired-SKU subscription, once: subscriptions stay readable when
	// Partner Center refuses a customer's users and licences (a GDAP role
	// missing, Conditional Access), which a migration needs. Refusals go to
	// ScanReport.Access. One call more per such customer, none for the
	// others: the scan's time is its calls at the client's rate limit.
	Probe AccessProbe
	// Log, when set, lets ScanIncremental read only the customers the
	// activity log names (incremental.go); without it every scan is full.
	Log ActivityLog
	// Overlap is how far before the previous scan's start ScanIncremental
	// reads the log, for records that show late; default DefaultOverlap.
	Overlap time.Duration
}

// AccessProbe reads a customer's licences and tells Partner Center refusing
// access from other failures; pcclient.Adapter is one.
type AccessProbe interface {
	LicensePools(ctx context.Context, customerID string) ([]LicensePool, error)
	Access(err error) (AccessProblem, bool)
}

// Finding is a subscription of a retired SKU.
type Finding struct {
	Customer     Customer
	Subscription Subscription
	Retired      string // the RetiredSKU's name
	// DaysLeft until the end date; meaningful only when Subscription.HasEnd.
	DaysLeft int
}

// Expiring reports whether the finding needs a migration within days: active,
// not renewing by itself, and ending (or already past its end) within days.
// This is the documented test: "end date … along with auto renew = False".
func (f Finding) Expiring(days int) bool {
	s := f.Subscription
	return s.Active() && !s.AutoRenew && s.HasEnd() && f.DaysLeft <= days
}

// CustomerFailure is a customer whose subscriptions could not be read.
type CustomerFailure struct {
	Customer Customer
	Err      error
}

// ScanReport is the outcome of one scan.
type ScanReport struct {
	Started   time.Time
	Finished  time.Time
	Customers int
	// Findings are every subscription of a retired SKU, sorted by days left.
	Findings []Finding
	// Failures are the customers that could not be read; the rest of the
	// scan is complete without them.
	Failures []CustomerFailure
	// Access are the customers whose subscriptions were read but whose
	// licences Partner Center refused (Scanner.Probe), in customer order:
	// no migration can be planned for them until a person fixes access.
	Access []CustomerAccess

	// Incremental is set when the scan read only the customers the activity
	// log named since Since and took everyone else from the previous report
	// (ScanIncremental); Rescanned is how many customers it read.
	Incremental bool
	Since       time.Time
	Rescanned   int
	// FullReason says why ScanIncremental scanned every customer instead
	// (no previous report, the log unreadable…); "" otherwise.
	FullReason string
	// Requests is how many Partner Center requests the scan made: HTTP
	// attempts when the Source is a RequestMeter, else calls.
	Requests int
}

// Expiring returns the findings that are Expiring within days.
func (r *ScanReport) Expiring(days int) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Expiring(days) {
			out = append(out, f)
		}
	}
	return out
}

// Scan reads every customer's subscriptions concurrently. A customer that
// cannot be read is recorded in Failures, one whose licences Partner Center
// refuses in Access; neither stops the scan. Only a failure to list the
// customers, or ctx ending, fails the whole scan.
func (s *Scanner) Scan(ctx context.Context) (*ScanReport, error) {
	ctx, requests := s.meter(ctx)
	report, err := s.scanAll(ctx)
	if report != nil {
		report.Requests = requests()
	}
	return report, err
}

// scanAll is Scan without the request count.
func (s *Scanner) scanAll(ctx context.Context) (*ScanReport, error) {
	now := s.clock()
	report := &ScanReport{Started: now()}
	countCall(ctx)
	customers, err := s.Source.ListCustomers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing customers: %w", err)
	}
	report.Customers = len(customers)
	results, err := s.readCustomers(ctx, customers)
	if err != nil {
		return nil, err
	}
	for i, r := range results {
		if r.err != nil {
			report.Failures = append(report.Failures, CustomerFailure{Customer: customers[i], Err: r.err})
		}
		if r.access != nil {
			report.Access = append(report.Access, CustomerAccess{Customer: customers[i], Problem: *r.access})
		}
		report.Findings = append(report.Findings, r.findings...)
	}
	sortFindings(report.Findings)
	report.Finished = now()
	return report, nil
}

// customerResult is what reading one customer found.
type customerResult struct {
	findings []Finding
	err      error
	access   *AccessProblem
}

func (s *Scanner) clock() func() time.Time {
	if s.Now != nil {
		return s.Now
	}
	return time.Now
}

// readCustomers reads the customers' subscriptions (and probes their access)
// concurrently; results are in customers' order. Only ctx ending fails it.
func (s *Scanner) readCustomers(ctx context.Context, customers []Customer) ([]customerResult, error) {
	now := s.clock()
	retired := s.Retired
	if len(retired) == 0 {
		retired = DefaultCatalog().Retired
	}
	results := make([]customerResult, len(customers))
	next := make(chan int)
	var done atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(cmp.Or(s.Concurrency, 8), len(customers))) {
		wg.Go(func() {
			for i := range next {
				countCall(ctx)
				subs, err := s.Source.ListSubscriptions(ctx, customers[i].ID)
				if err != nil {
					results[i].err = err
				} else {
					results[i].findings = s.classify(customers[i], subs, retired, now())
					results[i].access, results[i].err = s.probe(ctx, customers[i], results[i].findings)
				}
				if s.Progress != nil {
					s.Progress(int(done.Add(1)), len(customers))
				}
			}
		})
	}
feed:
	for i := range customers {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scan interrupted: %w", err)
	}
	return results, nil
}

// sortFindings orders findings by days left, then customer, then subscription.
func sortFindings(findings []Finding) {
	slices.SortStableFunc(findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(sortDays(a), sortDays(b)),
			cmp.Compare(strings.ToLower(a.Customer.Label()), strings.ToLower(b.Customer.Label())),
			cmp.Compare(a.Subscription.ID, b.Subscription.ID),
		)
	})
}

// probe reads c's licence pools when c has an active retired-SKU
// subscription (one that may need a migration) and returns the access
// problem Partner Center answered, or another failure to read them; nothing
// without a Probe.
func (s *Scanner) probe(ctx context.Context, c Customer, findings []Finding) (*AccessProblem, error) {
	if s.Probe == nil || !slices.ContainsFunc(findings, func(f Finding) bool { return f.Subscription.Active() }) {
		return nil, nil
	}
	countCall(ctx)
	_, err := s.Probe.LicensePools(ctx, c.ID)
	if err == nil {
		return nil, nil
	}
	if p, ok := s.Probe.Access(err); ok {
		return &p, nil
	}
	return nil, fmt.Errorf("reading the licences: %w", err)
}

// sortDays puts subscriptions without an end date last.
func sortDays(f Finding) int {
	if !f.Subscription.HasEnd() {
		return int(^uint(0) >> 1)
	}
	return f.DaysLeft
}

func (s *Scanner) classify(c Customer, subs []Subscription, retired []RetiredSKU, now time.Time) []Finding {
	var out []Finding
	for _, sub := range subs {
		for _, r := range retired {
			if !r.Matches(sub) {
				continue
			}
			f := Finding{Customer: c, Subscription: sub, Retired: r.Name}
			if sub.HasEnd() {
				f.DaysLeft = DaysLeft(sub.EndDate, now, s.Location)
			}
			out = append(out, f)
			break
		}
	}
	return out
}
