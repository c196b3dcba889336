package pcclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// The activity log, GET /v1/auditrecords
// (get-a-record-of-partner-center-activity-by-user.md, auditing-resources.md;
// [SDK] GetAuditRecordsRequest). The throttling guide recommends reading it
// instead of rescanning every customer's collections.

// AuditRecord is one record of the activity log (auditing-resources.md).
type AuditRecord struct {
	PartnerID         string `json:"partnerId,omitempty"`
	CustomerID        string `json:"customerId,omitempty"`
	CustomerName      string `json:"customerName,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	ApplicationID     string `json:"applicationId,omitempty"`
	// ResourceType is e.g. "subscription", "order", "license", "customer".
	ResourceType string `json:"resourceType,omitempty"`
	// ResourceOldValue and ResourceNewValue are the resource's JSON, as a
	// string (the doc's example has PascalCase keys).
	ResourceOldValue string `json:"resourceOldValue,omitempty"`
	ResourceNewValue string `json:"resourceNewValue,omitempty"`
	// OperationType is e.g. "update_subscription", "create_order",
	// "update_customer_user_licenses"; the list grows (auditing-resources.md).
	OperationType   string     `json:"operationType,omitempty"`
	OperationDate   Time       `json:"operationDate"`
	OperationStatus string     `json:"operationStatus,omitempty"` // succeeded, failed or progress
	CustomizedData  []KeyValue `json:"customizedData,omitempty"`
	Attributes      Attributes `json:"attributes"`
}

// Data returns the first customizedData value under key.
func (r AuditRecord) Data(key string) (string, bool) {
	for _, kv := range r.CustomizedData {
		if strings.EqualFold(kv.Key, key) {
			return kv.Value, true
		}
	}
	return "", false
}

// SubscriptionIDs lists the subscriptions a record names: customizedData's
// SubscriptionId and SubscriptionId-N (an order's lines, as in the doc's
// create_order example), and the Id of a subscription resource or the
// lines' SubscriptionId of an order resource in resourceNewValue, for
// records whose customizedData says nothing (what each operation puts
// there is not documented).
func (r AuditRecord) SubscriptionIDs() []string {
	var ids []string
	add := func(id string) {
		if id != "" && !slices.ContainsFunc(ids, func(s string) bool { return strings.EqualFold(s, id) }) {
			ids = append(ids, id)
		}
	}
	for _, kv := range r.CustomizedData {
		k := strings.ToLower(kv.Key)
		if k == "subscriptionid" || strings.HasPrefix(k, "subscriptionid-") || k == "targetsubscriptionid" {
			add(kv.Value)
		}
	}
	// encoding/json matches keys case-insensitively: Id and id, LineItems
	// and lineItems alike.
	var v struct {
		ID        string `json:"id"`
		LineItems []struct {
			SubscriptionID string `json:"subscriptionId"`
		} `json:"lineItems"`
	}
	if r.ResourceNewValue != "" && json.Unmarshal([]byte(r.ResourceNewValue), &v) == nil {
		switch strings.ToLower(r.ResourceType) {
		case "subscription":
			add(v.ID)
		case "order":
			for _, l := range v.LineItems {
				add(l.SubscriptionID)
			}
		}
	}
	return ids
}

// AuditFilter is the doc's filter: Field CompanyName (Operator substring),
// CustomerId or ResourceType (Operator equals).
type AuditFilter struct {
	Field    string `json:"Field"`
	Value    string `json:"Value"`
	Operator string `json:"Operator"`
}

// AuditWindow is the longest window ListAuditRecords asks for in one
// listing: a day less than the doc's 30-day default window, so that clock
// differences never shorten it. Whether the service answers longer windows
// whole is UNCONFIRMED ("returns the max window"), so longer spans are read
// one window at a time.
const AuditWindow = 29 * 24 * time.Hour

// AuditRetention is how far back the activity log goes: "Requests with a
// start date greater than 90 days prior to the current date will receive a
// bad request exception (error code: 400)".
const AuditRetention = 90 * 24 * time.Hour

// auditDateLayout is how the SDK sends dates
// (DateTime.ToString(CultureInfo.InvariantCulture) in
// AuditRecordCollectionOperations.cs); the doc's request example sends a
// time of day too ("6/1/2017 12:00:00 AM"). Sent in UTC.
const auditDateLayout = "01/02/2006 15:04:05"

// ListAuditRecords returns every activity-log record with an operationDate
// from start to end, oldest first, following the seek paging (links.next
// with its MS-ContinuationToken header). A zero end means "until now": the
// last request then sends no endDate and the service uses its own now ("uses
// today as the end date"), so a record written a moment ago is not lost to
// the difference between the two clocks. filter may be nil. Records are also
// filtered here by operationDate: whether the service honours the time of
// day of startDate and endDate is UNCONFIRMED (the doc speaks of dates).
func (c *Client) ListAuditRecords(ctx context.Context, start, end time.Time, filter *AuditFilter) ([]AuditRecord, error) {
	if !end.IsZero() && end.Before(start) {
		return nil, fmt.Errorf("pcclient: activity log from %s to %s: the end is before the start", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	last := end
	if last.IsZero() {
		last = c.ServerNow()
	}
	var all []AuditRecord
	for from := start; ; from = from.Add(AuditWindow) {
		q := url.Values{"startDate": {from.UTC().Format(auditDateLayout)}, "size": {strconv.Itoa(DefaultPageSize)}}
		final := !from.Add(AuditWindow).Before(last)
		switch {
		case !final:
			q.Set("endDate", from.Add(AuditWindow).UTC().Format(auditDateLayout))
		case !end.IsZero():
			q.Set("endDate", end.UTC().Format(auditDateLayout))
		}
		if filter != nil {
			raw, err := json.Marshal(filter)
			if err != nil {
				return nil, fmt.Errorf("pcclient: encode the activity log filter: %w", err)
			}
			q.Set("filter", string(raw))
		}
		records, err := list[AuditRecord](ctx, c, "/v1/auditrecords", q)
		if err != nil {
			return nil, fmt.Errorf("reading the activity log from %s: %w", from.UTC().Format(time.RFC3339), err)
		}
		for _, r := range records {
			// A record whose date cannot be read is kept: better read a
			// customer once too often than miss a change.
			at := r.OperationDate.Time
			if at.IsZero() || (!at.Before(start) && (end.IsZero() || !at.After(end))) {
				all = append(all, r)
			}
		}
		if final {
			break
		}
	}
	slices.SortStableFunc(all, func(a, b AuditRecord) int { return a.OperationDate.Compare(b.OperationDate.Time) })
	return all, nil
}

// Activity reads the activity log from since until now, for the bot's
// incremental scans.
func (a Adapter) Activity(ctx context.Context, since time.Time) ([]bot.Activity, error) {
	records, err := a.Client.ListAuditRecords(ctx, since, time.Time{}, nil)
	if err != nil {
		return nil, err
	}
	out := make([]bot.Activity, 0, len(records))
	for _, r := range records {
		out = append(out, bot.Activity{
			At: r.OperationDate.Time, CustomerID: strings.ToLower(r.CustomerID), CustomerName: r.CustomerName,
			Operation: r.OperationType, ResourceType: r.ResourceType, Status: r.OperationStatus,
			SubscriptionIDs: r.SubscriptionIDs(),
		})
	}
	return out, nil
}

// MeterRequests counts every HTTP attempt made with the returned context,
// retries and pages included: the Partner Center requests a scan cost. An
// observer already on ctx (WithCallObserver) is still told.
func (a Adapter) MeterRequests(ctx context.Context) (context.Context, func() int) {
	var n atomic.Int64
	outer, _ := ctx.Value(observerKey).(func(CallInfo))
	ctx = WithCallObserver(ctx, func(ci CallInfo) {
		n.Add(1)
		if outer != nil {
			outer(ci)
		}
	})
	return ctx, func() int { return int(n.Load()) }
}

var (
	_ bot.ActivityLog  = Adapter{}
	_ bot.RequestMeter = Adapter{}
)
