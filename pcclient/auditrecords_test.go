package pcclient_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// kaizalaOf returns the first customer's Kaizala Pro subscription the sandbox lists.
func kaizalaOf(t *testing.T, c *pcclient.Client) (customerID string, sub pcclient.Subscription) {
	t.Helper()
	ctx := context.Background()
	customers, err := c.ListCustomers(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, cu := range customers {
		subs, err := c.ListSubscriptions(ctx, cu.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			if strings.Contains(s.OfferName, "Kaizala Pro") {
				return cu.ID, s
			}
		}
	}
	t.Fatal("no Kaizala Pro subscription in the sandbox")
	return "", pcclient.Subscription{}
}

// TestAuditRecordsFromTheSandbox: every page of the window, oldest first, with
// the subscription each record names, and every request counted by the meter.
func TestAuditRecordsFromTheSandbox(t *testing.T) {
	sim, base := startSandbox(t, nil)
	c := newClient(t, base, false, nil)
	cid, k := kaizalaOf(t, c)
	start := c.ServerNow().Add(-time.Second)
	for i := range 503 { // two pages of the client's 500
		if err := sim.ChangeSubscription(cid, k.ID, pcsim.SubscriptionChange{Quantity: ptrTo(k.Quantity + 1 + i%2)}); err != nil {
			t.Fatal(err)
		}
	}
	a := pcclient.Adapter{Client: c}
	ctx, requests := a.MeterRequests(context.Background())
	records, err := c.ListAuditRecords(ctx, start, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 503 || requests() != 2 {
		t.Fatalf("%d records in %d requests, want 503 in 2 pages", len(records), requests())
	}
	for i, r := range records {
		if i > 0 && r.OperationDate.Before(records[i-1].OperationDate.Time) {
			t.Fatalf("record %d (%s) is older than the one before: want oldest first", i, r.OperationDate.Raw)
		}
		if ids := r.SubscriptionIDs(); len(ids) != 1 || !bot.SameID(ids[0], k.ID) || !strings.EqualFold(r.CustomerID, cid) ||
			r.OperationType != "update_subscription" || r.ResourceType != "subscription" {
			t.Fatalf("record %d: %+v names %v, want update_subscription of %s", i, r, r.SubscriptionIDs(), k.ID)
		}
	}
	if v, ok := records[0].Data("Quantity"); !ok || v == "" {
		t.Errorf("customizedData lacks the new quantity: %+v", records[0].CustomizedData)
	}

	// The adapter's view for the bot.
	acts, err := a.Activity(context.Background(), start)
	if err != nil || len(acts) != 503 || acts[0].CustomerID != strings.ToLower(cid) || acts[0].Operation != "update_subscription" {
		t.Fatalf("Activity: %d, %v, first %+v", len(acts), err, acts)
	}
	// An end before the records, and a start after them: none.
	if got, err := c.ListAuditRecords(context.Background(), start.Add(-time.Hour), start, nil); err != nil || len(got) != 0 {
		t.Errorf("window before the changes: %d records, %v", len(got), err)
	}
	filter := &pcclient.AuditFilter{Field: "ResourceType", Value: "order", Operator: "equals"}
	if got, err := c.ListAuditRecords(context.Background(), start, time.Time{}, filter); err != nil || len(got) != 0 {
		t.Errorf("filtered to orders: %d records, %v", len(got), err)
	}
}

// TestAuditRecordsLongSpan: a span longer than the service's 30-day window is
// read one window at a time, and the activity log refused is a 403 error.
func TestAuditRecordsLongSpan(t *testing.T) {
	sim, base := startSandbox(t, nil)
	c := newClient(t, base, false, nil)
	cid, k := kaizalaOf(t, c)
	start := c.ServerNow().Add(-time.Second)
	change := func(q int) {
		if err := sim.ChangeSubscription(cid, k.ID, pcsim.SubscriptionChange{Quantity: &q}); err != nil {
			t.Fatal(err)
		}
	}
	change(k.Quantity + 1)
	if err := sim.AdvanceClock(45 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	change(k.Quantity + 2)
	if _, err := c.ListCustomers(context.Background(), 0); err != nil { // the client learns the sandbox's clock
		t.Fatal(err)
	}
	ctx, requests := pcclient.Adapter{Client: c}.MeterRequests(context.Background())
	records, err := c.ListAuditRecords(ctx, start, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 || requests() != 2 {
		t.Errorf("45 days: %d records in %d requests, want 2 in two windows", len(records), requests())
	}

	sim.RefuseActivityLog(true)
	_, err = c.ListAuditRecords(context.Background(), start, time.Time{}, nil)
	if pcclient.StatusCode(err) != 403 {
		t.Errorf("refused log: %v, want a 403", err)
	}
	if _, err := c.ListAuditRecords(context.Background(), start, start.Add(-time.Hour), nil); err == nil {
		t.Error("an end before the start was sent")
	}
}

func TestAuditRecordSubscriptionIDs(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  pcclient.AuditRecord
		want string
	}{
		{"the doc's create_order", pcclient.AuditRecord{ResourceType: "order",
			ResourceNewValue: `{"Id":"d51a","LineItems":[{"LineItemNumber":0,"SubscriptionId":"488745B5"}]}`,
			CustomizedData:   []pcclient.KeyValue{{Key: "OrderId", Value: "d51a"}, {Key: "SubscriptionId-0", Value: "488745B5"}}}, "488745B5"},
		{"an order without customizedData", pcclient.AuditRecord{ResourceType: "order",
			ResourceNewValue: `{"id":"o","lineItems":[{"subscriptionId":"A"},{"subscriptionId":"B"}]}`}, "A,B"},
		{"a subscription's resource", pcclient.AuditRecord{ResourceType: "subscription", ResourceNewValue: `{"Id":"S1","Quantity":3}`}, "S1"},
		{"a licence update", pcclient.AuditRecord{ResourceType: "license", ResourceNewValue: `{"LicensesToAssign":[]}`,
			CustomizedData: []pcclient.KeyValue{{Key: "CustomerUserId", Value: "u"}}}, ""},
		{"not JSON", pcclient.AuditRecord{ResourceType: "subscription", ResourceNewValue: `{`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(tc.rec.SubscriptionIDs(), ","); got != tc.want {
				t.Errorf("SubscriptionIDs() = %q, want %q", got, tc.want)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
