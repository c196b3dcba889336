package bot

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Incremental scans. Partner Center's throttling guide warns against
// rescanning every customer's collections and points to the activity log
// (GET /v1/auditrecords) instead: it names every customer whose resources
// changed, whoever changed them. An incremental scan reads the log since the
// previous scan, reads those customers again, and takes everyone else's
// findings from the previous report, their days left recomputed from the end
// dates. A full scan now and then (the caller's schedule) is still the
// safety net for what the log may not show.

// ActivityLog reads the partner's activity log; pcclient.Adapter is one.
type ActivityLog interface {
	// Activity lists the records of operations performed from since until
	// now, in any order.
	Activity(ctx context.Context, since time.Time) ([]Activity, error)
}

// Activity is one record of the activity log: an operation on a customer's
// resources.
type Activity struct {
	At           time.Time
	CustomerID   string
	CustomerName string
	// Operation is Partner Center's operationType: update_subscription,
	// create_order, update_customer_user_licenses, add_customer, …
	Operation    string
	ResourceType string // subscription, order, license, customer, …
	Status       string // succeeded, failed, progress
	// SubscriptionIDs are the subscriptions the record names, if any.
	SubscriptionIDs []string
}

// RequestMeter counts the Partner Center requests made with a context, pages
// and retries included; pcclient.Adapter is one. A Scanner whose Source is
// not one counts its calls instead.
type RequestMeter interface {
	MeterRequests(ctx context.Context) (context.Context, func() int)
}

// DefaultOverlap is Scanner.Overlap's default: the log is read from this
// long before the previous scan started, since a record may show in the log
// some time after the operation it records (a change answered 202 shows when
// it is applied, dated when it was accepted). How late live records can be
// is UNCONFIRMED; ten minutes is a guess that costs nothing but re-reading a
// few customers twice.
const DefaultOverlap = 10 * time.Minute

// ActivityRetention is how far back Partner Center keeps the activity log
// ("Requests with a start date greater than 90 days prior to the current
// date will receive a bad request exception"). A previous report older than
// that (less a day, for clocks) is followed by a full scan.
const ActivityRetention = 90 * 24 * time.Hour

// Operations that end the partner's relationship with a customer
// (auditing-resources.md): the customer is dropped, not read.
var customerGoneOperations = map[string]bool{
	"remove_partner_customer_relationship": true,
	"delete_customer":                      true,
	"delete_tip_customer":                  true,
}

// ScanIncremental scans only what changed since prev: the customers the
// activity log names from prev.Started less Overlap until now, the customers
// prev could not read, and the customers of prev's findings whose end date
// has passed since (a term that ended renewed or expired, which the log may
// not show: UNCONFIRMED). Everyone else's findings and access problems are
// prev's, with days left recomputed; no call is made for them.
//
// It falls back to a full scan (Scan), saying why in FullReason, when there is
// no prev, no Log, prev is older than the log's retention, or the log cannot
// be read (403, 400, retries exhausted). Requests counts the log's requests
// too, also those of a failed read before a fallback. Customers is prev's,
// less the customers the log shows removed, plus those it shows added. prev
// is not changed; the report returned is the prev of the next call.
func (s *Scanner) ScanIncremental(ctx context.Context, prev *ScanReport) (*ScanReport, error) {
	ctx, requests := s.meter(ctx)
	report, err := s.scanIncremental(ctx, prev)
	if report != nil {
		report.Requests = requests()
	}
	return report, err
}

func (s *Scanner) scanIncremental(ctx context.Context, prev *ScanReport) (*ScanReport, error) {
	now := s.clock()
	started := now()
	full := func(reason string) (*ScanReport, error) {
		r, err := s.scanAll(ctx)
		if r != nil {
			r.FullReason = reason
		}
		return r, err
	}
	switch {
	case prev == nil || prev.Started.IsZero():
		return full("no previous scan to start from")
	case s.Log == nil:
		return full("the activity log is not configured")
	}
	overlap := s.Overlap
	if overlap <= 0 {
		overlap = DefaultOverlap
	}
	since := prev.Started.Add(-overlap)
	if started.Sub(since) > ActivityRetention-24*time.Hour {
		return full(fmt.Sprintf("the previous scan (%s) is older than the activity log's 90 days", prev.Started.UTC().Format(time.DateOnly)))
	}
	countCall(ctx)
	log, err := s.Log.Activity(ctx, since)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("scan interrupted: %w", ctx.Err())
		}
		return full(fmt.Sprintf("the activity log could not be read: %v", err))
	}

	plan := planRescan(prev, log, started)
	report := &ScanReport{
		Started: started, Customers: max(0, prev.Customers+plan.added-len(plan.gone)),
		Incremental: true, Since: since, Rescanned: len(plan.read),
	}
	results, err := s.readCustomers(ctx, plan.read)
	if err != nil {
		return nil, err
	}
	read := map[string]bool{}
	for i, c := range plan.read {
		read[customerKey(c.ID)] = true
		r := results[i]
		if r.err != nil {
			report.Failures = append(report.Failures, CustomerFailure{Customer: c, Err: r.err})
		}
		if r.access != nil {
			report.Access = append(report.Access, CustomerAccess{Customer: c, Problem: *r.access})
		}
		report.Findings = append(report.Findings, r.findings...)
	}
	carried := func(id string) bool { k := customerKey(id); return !read[k] && !plan.gone[k] }
	for _, f := range prev.Findings {
		if !carried(f.Customer.ID) {
			continue
		}
		if f.Subscription.HasEnd() {
			f.DaysLeft = DaysLeft(f.Subscription.EndDate, started, s.Location)
		}
		report.Findings = append(report.Findings, f)
	}
	for _, a := range prev.Access {
		if carried(a.Customer.ID) {
			report.Access = append(report.Access, a)
		}
	}
	sortFindings(report.Findings)
	report.Finished = now()
	return report, nil
}

// rescan is what an incremental scan reads and drops.
type rescan struct {
	read  []Customer      // to read, in the order first named
	gone  map[string]bool // customerKey of customers the partner no longer serves
	added int             // customers the log shows added
}

// planRescan picks the customers to read again: those the log names (not
// gone), those prev failed to read, and those with a finding whose end date
// passed between prev.Started and now.
func planRescan(prev *ScanReport, log []Activity, now time.Time) rescan {
	known := map[string]Customer{}
	for _, f := range prev.Findings {
		known[customerKey(f.Customer.ID)] = f.Customer
	}
	for _, a := range prev.Access {
		known[customerKey(a.Customer.ID)] = a.Customer
	}
	for _, f := range prev.Failures {
		known[customerKey(f.Customer.ID)] = f.Customer
	}
	plan := rescan{gone: map[string]bool{}}
	queued := map[string]bool{}
	queue := func(c Customer) {
		k := customerKey(c.ID)
		if k == "" || queued[k] || plan.gone[k] {
			return
		}
		queued[k] = true
		plan.read = append(plan.read, c)
	}
	for _, a := range log {
		k := customerKey(a.CustomerID)
		switch {
		case k == "":
			continue // a partner-level record (users, applications, …)
		case customerGoneOperations[strings.ToLower(a.Operation)]:
			plan.gone[k] = true
		case strings.EqualFold(a.Operation, "add_customer"):
			plan.added++
		}
	}
	for _, a := range log {
		k := customerKey(a.CustomerID)
		if k == "" {
			continue
		}
		c, ok := known[k]
		if !ok {
			// Customers without findings are not in the report; the record's
			// name stands in for the domain a full scan would show.
			c = Customer{ID: a.CustomerID, Name: a.CustomerName}
		}
		queue(c)
	}
	for _, f := range prev.Failures {
		queue(f.Customer)
	}
	for _, f := range prev.Findings {
		if end := f.Subscription.EndDate; f.Subscription.HasEnd() && !end.Before(prev.Started) && end.Before(now) {
			queue(f.Customer)
		}
	}
	return plan
}

// customerKey compares customer ids, which Partner Center sends in either case.
func customerKey(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// meter returns a context whose Partner Center requests are counted, and the
// count so far: the Source's own meter (HTTP attempts) when it has one, else
// one per call the scanner makes (countCall).
func (s *Scanner) meter(ctx context.Context) (context.Context, func() int) {
	if m, ok := s.Source.(RequestMeter); ok {
		return m.MeterRequests(ctx)
	}
	n := &atomic.Int64{}
	return context.WithValue(ctx, callCountKey{}, n), func() int { return int(n.Load()) }
}

type callCountKey struct{}

// countCall counts one call on ctx's counter, when the scan counts calls.
func countCall(ctx context.Context) {
	if n, ok := ctx.Value(callCountKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}
