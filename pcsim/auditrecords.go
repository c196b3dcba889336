package pcsim

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The activity log: GET /v1/auditrecords ([PC] developer/get-a-record-of-partner-center-activity-by-user.md;
// AuditRecord in developer/auditing-resources.md; [SDK] GetAuditRecordsRequest in PartnerSdkConfiguration.json
// and Auditing/AuditRecordCollectionOperations.cs). The sandbox records its own changes as they are applied
// (orders and checkouts, subscription updates, licence updates, transitions, renewals, and the test's
// POST /_sandbox/change), and answers them:
//
//   - startDate and endDate are optional. Without startDate the window starts 30 days before now; without
//     endDate it ends at now or after the 30-day "max window", whichever is less (the doc: "returns the max
//     window or uses today as the end date, whichever is less"; the max window's length is UNCONFIRMED, the
//     30 days of the default is taken). A startDate more than 90 days ago is a 400 ("Requests with a start date
//     greater than 90 days prior to the current date will receive a bad request exception"); the code is the
//     sandbox's choice (800002), the live one is UNCONFIRMED.
//   - Dates are accepted as the doc's yyyy-mm-dd, as the SDK sends them (DateTime.ToString(InvariantCulture),
//     "06/01/2017 00:00:00"; the doc's request example has "6/1/2017 12:00:00 AM") and as RFC 3339; times are UTC.
//     That the live service honours the time of day is UNCONFIRMED (the doc speaks of dates), which is why a
//     client should also filter on operationDate.
//   - filter is the doc's {"Field": CompanyName|CustomerId|ResourceType, "Value": …, "Operator": substring|equals}.
//   - Records come newest first, as in the doc's example; size defaults to 500 (the size of the doc's self link)
//     and is capped at 500. Paging is seek paging like the customers list: links.next carries seekOperation=Next
//     and an MS-ContinuationToken header ([SDK] AdditionalHeaders ContinuationToken: MS-ContinuationToken); the
//     token is also accepted as a continuationToken query parameter (the SDK's Token parameter). The token holds
//     the first page's window and the log as it was then, so records added meanwhile do not shift later pages.
//   - Options.ActivityLogDelay lists a record only that long after it was written, and a 202-accepted change is
//     written when it shows, dated when it was accepted: records can appear late, and with a date already past
//     (how late live records appear is UNCONFIRMED).

// ActivityPath is the activity log's path under the API.
const ActivityPath = "/v1/auditrecords"

const (
	activityDefaultWindow = 30 * 24 * time.Hour
	activityRetention     = 90 * 24 * time.Hour
	activityScope         = "auditrecords"
)

// sandboxPartnerID is the partner tenant every record names; the seeded world has one partner.
const sandboxPartnerID = "3b33e682-00c3-41ee-9dd2-a548adf56438" // the doc example's partnerId

// auditRecordJSON is an AuditRecord (auditing-resources.md).
type auditRecordJSON struct {
	PartnerID         string         `json:"partnerId"`
	CustomerID        string         `json:"customerId"`
	CustomerName      string         `json:"customerName"`
	UserPrincipalName string         `json:"userPrincipalName,omitempty"`
	ApplicationID     string         `json:"applicationId,omitempty"`
	ResourceType      string         `json:"resourceType"`
	ResourceOldValue  string         `json:"resourceOldValue,omitempty"`
	ResourceNewValue  string         `json:"resourceNewValue"`
	OperationType     string         `json:"operationType"`
	OperationDate     string         `json:"operationDate"`
	OperationStatus   string         `json:"operationStatus"`
	CustomizedData    []keyValueJSON `json:"customizedData"`
	Attributes        attributes     `json:"attributes"`
}

// keyValueJSON is one customizedData entry; the doc's example has a null value, hence the pointer.
type keyValueJSON struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

func kv(key, value string) keyValueJSON { return keyValueJSON{Key: key, Value: &value} }

// activityEntry is one record with what the sandbox needs to answer it.
type activityEntry struct {
	seq      int       // append order, from 1
	at       time.Time // operationDate
	listedAt time.Time // listed from this sandbox instant on (Options.ActivityLogDelay)
	record   auditRecordJSON
}

// activityLog is append-only; records are added while the world lock is held, like the ledger's entries.
type activityLog struct {
	mu      sync.Mutex
	entries []activityEntry
	refusal int // when non-zero, GET /v1/auditrecords answers 403 with this code (RefuseActivityLog)
}

// RefuseActivityLog makes GET /v1/auditrecords answer 403 / 900308 ("Insufficient privileges"), as for a
// partner user without a role that may read the log; false reads it again. UNCONFIRMED: which code the live
// service sends for a missing role on this call (error-codes.md lists 900308 without naming calls).
func (s *Server) RefuseActivityLog(refuse bool) {
	s.activity.mu.Lock()
	defer s.activity.mu.Unlock()
	s.activity.refusal = 0
	if refuse {
		s.activity.refusal = codeInsufficientPrivileges
	}
}

// ActivityRecord is one record of the activity log as a test sees it.
type ActivityRecord struct {
	At             time.Time
	OperationType  string
	ResourceType   string
	CustomerID     string
	SubscriptionID string // the changed subscription, or an order's first line's
}

// ActivityLog returns every record written so far, listed or not yet, oldest first.
func (s *Server) ActivityLog() []ActivityRecord {
	s.activity.mu.Lock()
	defer s.activity.mu.Unlock()
	out := make([]ActivityRecord, len(s.activity.entries))
	for i, e := range s.activity.entries {
		r := ActivityRecord{At: e.at, OperationType: e.record.OperationType, ResourceType: e.record.ResourceType, CustomerID: e.record.CustomerID}
		for _, d := range e.record.CustomizedData {
			if (d.Key == "SubscriptionId" || d.Key == "SubscriptionId-0") && d.Value != nil {
				r.SubscriptionID = *d.Value
				break
			}
		}
		out[i] = r
	}
	return out
}

// writeActivity appends a record of an operation on customer c performed at `at`.
// app is the record's applicationId: the sandbox's client id for the partner's own calls, empty for what the
// sandbox does by itself (renewals) or on a test's behalf (POST /_sandbox/change).
func (s *Server) writeActivity(app string, c *customer, at time.Time, resourceType, operation string, oldValue, newValue any, data ...keyValueJSON) {
	rec := auditRecordJSON{
		PartnerID: sandboxPartnerID, CustomerID: c.id, CustomerName: c.companyName,
		ResourceType: resourceType, OperationType: operation, OperationDate: instant(at),
		OperationStatus: "succeeded", CustomizedData: data, Attributes: objectType("AuditRecord"), ApplicationID: app,
	}
	if rec.CustomizedData == nil {
		rec.CustomizedData = []keyValueJSON{}
	}
	// Like the doc's example, the old and new values are the resources' JSON as strings.
	if oldValue != nil {
		rec.ResourceOldValue = string(jsonReply(http.StatusOK, oldValue).body)
	}
	rec.ResourceNewValue = string(jsonReply(http.StatusOK, newValue).body)
	now := s.now()
	s.activity.mu.Lock()
	defer s.activity.mu.Unlock()
	s.activity.entries = append(s.activity.entries, activityEntry{
		seq: len(s.activity.entries) + 1, at: at.UTC(), listedAt: now.Add(s.opts.ActivityLogDelay), record: rec,
	})
}

// activityOrder records a just-created order (legacy order or cart checkout) as create_order, naming every
// line's subscription as the doc's example does. A checkout's order is pending and does not show its
// subscription ids yet; the record names them anyway (UNCONFIRMED: what the live record of a pending order holds).
func (s *Server) activityOrder(c *customer, o *order) {
	data := []keyValueJSON{kv("OrderId", o.id), kv("BillingCycle", o.billingCycle)}
	for _, l := range o.lines {
		n := strconv.Itoa(l.number)
		data = append(data, kv("OfferId-"+n, l.offerID), kv("SubscriptionId-"+n, l.subscriptionID),
			kv("SubscriptionName-"+n, l.friendlyName), kv("Quantity-"+n, strconv.Itoa(l.quantity)),
			keyValueJSON{Key: "PartnerOnRecord-" + n})
	}
	s.writeActivity(s.opts.ClientID, c, o.created, "order", "create_order", nil, o.resource(c.id, o.created), data...)
}

// activitySubscription records a change of subscription prev into sub as update_subscription, with what
// changed in customizedData. Renewals and the test's changes are recorded the same way: the documented
// operation types have no renewal of their own (UNCONFIRMED: whether, and how, the live log shows a renewal).
func (s *Server) activitySubscription(app string, c *customer, prev, sub *subscription, at time.Time, why string) {
	data := []keyValueJSON{kv("SubscriptionId", sub.id), kv("OfferId", sub.offerID)}
	changed := func(key string, from, to any) {
		if from != to {
			data = append(data, kv(key, fmt.Sprint(to)), kv("Old"+key, fmt.Sprint(from)))
		}
	}
	changed("Status", prev.status, sub.status)
	changed("Quantity", prev.quantity, sub.quantity)
	changed("AutoRenewEnabled", prev.autoRenew, sub.autoRenew)
	changed("FriendlyName", prev.friendlyName, sub.friendlyName)
	changed("CommitmentEndDate", prev.end.Format(time.DateOnly), sub.end.Format(time.DateOnly))
	if why != "" {
		data = append(data, kv("Reason", why))
	}
	s.writeActivity(app, c, at, "subscription", "update_subscription", prev.resource(c.id), sub.resource(c.id), data...)
}

// activityLicences records a successful licence update as update_customer_user_licenses (the doc's example).
func (s *Server) activityLicences(c *customer, u *user, req licenseUpdate, at time.Time) {
	data := []keyValueJSON{kv("CustomerUserId", u.id)}
	for _, a := range req.LicensesToAssign {
		data = append(data, kv("AddedLicenseSkuId", strings.ToLower(a.SkuID)))
	}
	for _, sku := range req.LicensesToRemove {
		data = append(data, kv("RemovedLicenseSkuId", strings.ToLower(sku)))
	}
	value := struct {
		LicensesToAssign []licenseAssignment `json:"LicensesToAssign"`
		LicensesToRemove []string            `json:"LicensesToRemove"`
		Attributes       attributes          `json:"Attributes"`
	}{req.LicensesToAssign, req.LicensesToRemove, attributes{ObjectType: "LicenseUpdate"}}
	s.writeActivity(s.opts.ClientID, c, at, "license", "update_customer_user_licenses", nil, value, data...)
}

// activityTransition records a completed transition as upgrade_subscription on the source subscription
// (UNCONFIRMED: whether the live log records new-commerce transitions with this operation type, and when).
func (s *Server) activityTransition(c *customer, t *transition, at time.Time) {
	s.writeActivity(s.opts.ClientID, c, at, "subscription", "upgrade_subscription", nil, t.resource(),
		kv("SubscriptionId", t.from.id), kv("TargetSubscriptionId", t.toSubID), kv("TargetOfferId", t.to.catalogItemID()),
		kv("Quantity", strconv.Itoa(t.quantity)))
}

// activityQuery is a request's window and filter; it is also what a continuation token carries.
type activityQuery struct {
	Scope  string    `json:"s"`
	Start  time.Time `json:"a"`
	End    time.Time `json:"b"`
	Filter string    `json:"f,omitempty"` // raw JSON of the filter, re-parsed per page
	MaxSeq int       `json:"m"`           // the log as it was at the first page
	Offset int       `json:"o"`
}

type activityFilter struct {
	Field    string `json:"Field"`
	Value    string `json:"Value"`
	Operator string `json:"Operator"`
}

// listActivity answers GET /v1/auditrecords.
func (s *Server) listActivity(r *http.Request, _ params) reply {
	s.activity.mu.Lock()
	refusal := s.activity.refusal
	s.activity.mu.Unlock()
	if refusal != 0 {
		return errorReply(http.StatusForbidden, refusal, insufficientPrivileges)
	}
	q, size, rep, ok := s.activityRequest(r)
	if !ok {
		return rep
	}
	var filter *activityFilter
	if q.Filter != "" {
		filter = &activityFilter{}
		_ = json.Unmarshal([]byte(q.Filter), filter) // validated by activityRequest
	}
	now := s.now()
	s.activity.mu.Lock()
	var listed []activityEntry
	for _, e := range s.activity.entries[:min(q.MaxSeq, len(s.activity.entries))] {
		if !now.Before(e.listedAt) && !e.at.Before(q.Start) && !e.at.After(q.End) && filter.matches(e.record) {
			listed = append(listed, e)
		}
	}
	s.activity.mu.Unlock()
	// Newest first; of two records of the same instant, the later written first.
	slices.SortFunc(listed, func(a, b activityEntry) int { return cmp.Or(b.at.Compare(a.at), cmp.Compare(b.seq, a.seq)) })
	sorted := make([]auditRecordJSON, len(listed))
	for i, e := range listed {
		sorted[i] = e.record
	}

	offset := min(q.Offset, len(sorted))
	end := min(len(sorted), offset+size)
	self := ActivityPath + "?" + activitySelfQuery(q, size)
	c := newCollection(sorted[offset:end], self)
	if end < len(sorted) {
		nq := q
		nq.Offset = end
		next := getLink(self + "&seekOperation=Next")
		next.Headers = []linkHeader{{Key: "MS-ContinuationToken", Value: nq.token()}}
		c.Links["next"] = next
	}
	return jsonReply(http.StatusOK, c)
}

func activitySelfQuery(q activityQuery, size int) string {
	v := url.Values{}
	v.Set("startDate", q.Start.UTC().Format(time.RFC3339))
	v.Set("endDate", q.End.UTC().Format(time.RFC3339))
	v.Set("size", strconv.Itoa(size))
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	return v.Encode()
}

func (q activityQuery) token() string {
	b, _ := json.Marshal(q) // plain fields cannot fail to marshal
	return base64.StdEncoding.EncodeToString(b)
}

// activityRequest reads the window, filter and size of a first page, or the continuation token of a later one.
func (s *Server) activityRequest(r *http.Request) (activityQuery, int, reply, bool) {
	v := r.URL.Query()
	size := maxPageSize
	if raw := v.Get("size"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return activityQuery{}, 0, badInput("size must be a positive integer."), false
		}
		size = min(n, maxPageSize)
	}
	if seek := v.Get("seekOperation"); seek != "" && !strings.EqualFold(seek, "Next") {
		return activityQuery{}, 0, badInput("seekOperation must be Next."), false
	}
	tok := r.Header.Get("MS-ContinuationToken")
	if tok == "" {
		tok = v.Get("continuationToken")
	}
	if tok != "" {
		var q activityQuery
		raw, err := base64.StdEncoding.DecodeString(tok)
		if err == nil {
			err = json.Unmarshal(raw, &q)
		}
		if err != nil || q.Scope != activityScope || q.Offset < 0 {
			return activityQuery{}, 0, badInput("The continuation token is not valid for the activity log."), false
		}
		return q, size, reply{}, true
	}
	if v.Get("seekOperation") != "" {
		return activityQuery{}, 0, badInput("seekOperation=Next requires the MS-ContinuationToken header of the previous page's next link."), false
	}

	now := s.now().UTC()
	q := activityQuery{Scope: activityScope, Start: now.Add(-activityDefaultWindow)}
	if raw := v.Get("startDate"); raw != "" {
		t, ok := parseActivityDate(raw)
		if !ok {
			return q, 0, badInput(fmt.Sprintf("startDate %q is not a date: use yyyy-mm-dd.", raw)), false
		}
		q.Start = t
	}
	if q.Start.Before(now.Add(-activityRetention)) {
		return q, 0, badInput(fmt.Sprintf("startDate %s is more than 90 days ago: activity log data is available for the previous 90 days only.",
			q.Start.Format(time.DateOnly))), false
	}
	q.End = now
	if raw := v.Get("endDate"); raw != "" {
		t, ok := parseActivityDate(raw)
		if !ok {
			return q, 0, badInput(fmt.Sprintf("endDate %q is not a date: use yyyy-mm-dd.", raw)), false
		}
		if isDateOnly(raw) {
			t = t.Add(24*time.Hour - time.Nanosecond) // a date names the whole day
		}
		q.End = t
	} else if end := q.Start.Add(activityDefaultWindow); end.Before(q.End) {
		q.End = end
	}
	if q.End.Before(q.Start) {
		return q, 0, badInput("endDate is before startDate."), false
	}
	if raw := v.Get("filter"); raw != "" {
		var f activityFilter
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return q, 0, badInput(`filter must be {"Field":"CompanyName|CustomerId|ResourceType","Value":"…","Operator":"substring|equals"}: ` + err.Error()), false
		}
		if rep, ok := f.validate(); !ok {
			return q, 0, rep, false
		}
		q.Filter = raw
	}
	s.activity.mu.Lock()
	q.MaxSeq = len(s.activity.entries)
	s.activity.mu.Unlock()
	return q, size, reply{}, true
}

func (f activityFilter) validate() (reply, bool) {
	op := strings.ToLower(f.Operator)
	switch strings.ToLower(f.Field) {
	case "companyname":
		if op == "substring" || op == "equals" {
			return reply{}, true
		}
	case "customerid", "resourcetype":
		if op == "equals" {
			return reply{}, true
		}
	default:
		return badInput(fmt.Sprintf("filter Field %q is not one of CompanyName, CustomerId, ResourceType.", f.Field)), false
	}
	return badInput(fmt.Sprintf("filter Operator %q is not supported for Field %s.", f.Operator, f.Field)), false
}

// matches applies the filter; the doc: "The case of the value is ignored". A nil filter matches everything.
func (f *activityFilter) matches(rec auditRecordJSON) bool {
	if f == nil {
		return true
	}
	switch strings.ToLower(f.Field) {
	case "companyname":
		if strings.EqualFold(f.Operator, "substring") {
			return strings.Contains(strings.ToLower(rec.CustomerName), strings.ToLower(f.Value))
		}
		return strings.EqualFold(rec.CustomerName, f.Value)
	case "customerid":
		return strings.EqualFold(rec.CustomerID, f.Value)
	case "resourcetype":
		return strings.EqualFold(rec.ResourceType, f.Value)
	}
	return false
}

// activityDateLayouts are the forms a startDate or endDate may take: the doc's date, the SDK's
// DateTime.ToString(CultureInfo.InvariantCulture), the doc's request example ("6/1/2017 12:00:00 AM"), RFC 3339
// with or without a zone (none: UTC).
var activityDateLayouts = []string{
	time.DateOnly,
	time.RFC3339Nano,
	"01/02/2006 15:04:05",
	"1/2/2006 3:04:05 PM",
	"1/2/2006",
	"2006-01-02T15:04:05.999999999",
}

func parseActivityDate(raw string) (time.Time, bool) {
	raw = strings.TrimSpace(raw)
	for _, layout := range activityDateLayouts {
		if t, err := time.Parse(layout, raw); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func isDateOnly(raw string) bool {
	_, err := time.Parse(time.DateOnly, strings.TrimSpace(raw))
	if err == nil {
		return true
	}
	_, err = time.Parse("1/2/2006", strings.TrimSpace(raw))
	return err == nil
}
