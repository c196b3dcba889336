package pcsim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// auditView is the client's reading of an AuditRecord (auditing-resources.md), decoded independently.
type auditView struct {
	PartnerID        string `json:"partnerId"`
	CustomerID       string `json:"customerId"`
	CustomerName     string `json:"customerName"`
	ResourceType     string `json:"resourceType"`
	ResourceNewValue string `json:"resourceNewValue"`
	ResourceOldValue string `json:"resourceOldValue"`
	OperationType    string `json:"operationType"`
	OperationDate    string `json:"operationDate"`
	OperationStatus  string `json:"operationStatus"`
	CustomizedData   []struct {
		Key   string  `json:"key"`
		Value *string `json:"value"`
	} `json:"customizedData"`
	Attributes struct {
		ObjectType string `json:"objectType"`
	} `json:"attributes"`
}

func (a auditView) data(key string) string {
	for _, d := range a.CustomizedData {
		if d.Key == key && d.Value != nil {
			return *d.Value
		}
	}
	return ""
}

// activity reads every page of the activity log for query, following next links as the SDK does.
func (sb *sandbox) activity(tok, query string) []auditView {
	sb.t.Helper()
	var all []auditView
	for _, p := range walk[auditView](sb.t, sb, tok, ActivityPath+"?"+query) {
		all = append(all, p.Items...)
	}
	return all
}

func changeBody(cid, sid string, extra map[string]any) map[string]any {
	b := map[string]any{"customerId": cid, "subscriptionId": sid}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// TestActivityLogRecordsTheSandboxChanges: a legacy order, a PATCH, a licence update and a sandbox change each
// leave one record of the documented shape, newest first, with the sandbox's time.
func TestActivityLogRecordsTheSandboxChanges(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
	clk := &clock{t: t0}
	sb := newSandbox(t, func(o *Options) { o.Now, o.LegacyPurchases, o.AsyncPatchRate = clk.Now, true, 0 })
	tok := sb.userToken()
	if got := sb.activity(tok, ""); len(got) != 0 {
		t.Fatalf("a fresh world has %d records, want none", len(got))
	}
	cid := kaizalaCustomersFirst(sb)
	k, _ := kaizalaSub(sb.subscriptions(tok, cid))

	clk.Advance(time.Minute)
	e1 := sb.buyLegacy(tok, cid, 2)
	clk.Advance(time.Minute)
	var patched subscriptionView
	sb.must(http.StatusOK, "PATCH", subPath(cid, k.ID), tok, map[string]any{"autoRenewEnabled": true}, &patched, "If-Match", k.Attributes.Etag)
	clk.Advance(time.Minute)
	sb.finishProvisioning()
	uid := sb.users(tok, cid)[0].ID
	sb.must(http.StatusCreated, "POST", "/v1/customers/"+cid+"/users/"+uid+"/licenseupdates", tok, assign(e1SkuID), nil)
	clk.Advance(time.Minute)
	var changed subscriptionView
	sb.must(http.StatusOK, "POST", ChangePath, "", changeBody(cid, k.ID, map[string]any{"commitmentEndDate": "2026-03-15", "quantity": 7}), &changed)
	if changed.ID != k.ID || changed.Quantity != 7 || changed.CommitmentEndDate != "2026-03-15T00:00:00Z" {
		t.Errorf("the change answered %+v, want the subscription with 7 seats ending 2026-03-15", changed)
	}
	if got := sb.subscriptions(tok, cid); !strings.Contains(fmtSubs(got), k.ID+" 7 2026-03-15") {
		t.Errorf("GET after the change: %s", fmtSubs(got))
	}

	recs := sb.activity(tok, "")
	var ops []string
	for _, r := range recs {
		ops = append(ops, r.OperationType+"@"+r.OperationDate)
	}
	want := []string{
		"update_subscription@2026-03-10T09:34:00.000Z",
		"update_customer_user_licenses@2026-03-10T09:33:00.000Z",
		"update_subscription@2026-03-10T09:32:00.000Z",
		"create_order@2026-03-10T09:31:00.000Z",
	}
	if strings.Join(ops, " ") != strings.Join(want, " ") {
		t.Fatalf("records %v, want newest first %v", ops, want)
	}
	for _, r := range recs {
		if r.CustomerID != cid || r.PartnerID == "" || r.CustomerName == "" || r.OperationStatus != "succeeded" ||
			r.Attributes.ObjectType != "AuditRecord" || r.ResourceNewValue == "" {
			t.Errorf("record lacks the documented fields: %+v", r)
		}
	}
	order, patch, change := recs[3], recs[1+1], recs[0]
	if order.ResourceType != "order" || !strings.EqualFold(order.data("SubscriptionId-0"), e1) || order.data("OrderId") == "" || order.data("Quantity-0") != "2" {
		t.Errorf("create_order record %+v: want resourceType order, OrderId, SubscriptionId-0 %s, Quantity-0 2", order, e1)
	}
	if patch.ResourceType != "subscription" || patch.data("SubscriptionId") != k.ID || patch.data("AutoRenewEnabled") != "true" || patch.data("OldAutoRenewEnabled") != "false" {
		t.Errorf("PATCH record %+v: want the subscription and auto-renew false→true", patch)
	}
	if change.data("CommitmentEndDate") != "2026-03-15" || change.data("Quantity") != "7" || !strings.Contains(change.ResourceNewValue, `"quantity":7`) {
		t.Errorf("sandbox change record %+v: want the new end date and seats", change)
	}
	if lic := recs[1]; lic.ResourceType != "license" || lic.data("CustomerUserId") != uid || lic.data("AddedLicenseSkuId") != e1SkuID {
		t.Errorf("licence record %+v", lic)
	}

	// Filters of the doc: by customer (equals), company name (substring), resource type.
	other := sb.customers(tok)[0].ID
	if other == cid {
		other = sb.customers(tok)[1].ID
	}
	for _, tc := range []struct {
		filter string
		want   int
	}{
		{`{"Field":"CustomerId","Value":"` + strings.ToUpper(cid) + `","Operator":"equals"}`, 4},
		{`{"Field":"CustomerId","Value":"` + other + `","Operator":"equals"}`, 0},
		{`{"Field":"ResourceType","Value":"Subscription","Operator":"equals"}`, 2},
		{`{"Field":"CompanyName","Value":"` + strings.ToLower(recs[0].CustomerName[1:4]) + `","Operator":"substring"}`, 4},
	} {
		if got := sb.activity(tok, "filter="+url.QueryEscape(tc.filter)); len(got) != tc.want {
			t.Errorf("filter %s: %d records, want %d", tc.filter, len(got), tc.want)
		}
	}

	// The window: records after startDate only, and a date-only endDate names its whole day.
	since := url.QueryEscape("03/10/2026 09:32:30") // the SDK's invariant-culture DateTime
	if got := sb.activity(tok, "startDate="+since); len(got) != 2 {
		t.Errorf("startDate %s: %d records, want the 2 after it", since, len(got))
	}
	if got := sb.activity(tok, "startDate=2026-03-10&endDate=2026-03-10"); len(got) != 4 {
		t.Errorf("one day's window: %d records, want 4", len(got))
	}
	if got := sb.activity(tok, "startDate=2026-03-10T09:30:30Z&endDate=2026-03-10T09:31:30Z"); len(got) != 1 || got[0].OperationType != "create_order" {
		t.Errorf("RFC 3339 window: %+v, want the order alone", got)
	}
}

func fmtSubs(subs []subscriptionView) string {
	var b strings.Builder
	for _, s := range subs {
		b.WriteString(s.ID + " " + itoa(s.Quantity) + " " + strings.TrimSuffix(s.CommitmentEndDate, "T00:00:00Z") + "; ")
	}
	return b.String()
}

// TestActivityLogPaging: pages of size records, the next link's MS-ContinuationToken header (or the
// continuationToken parameter) for the next page, and records written meanwhile do not shift later pages.
func TestActivityLogPaging(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)}
	sb := newSandbox(t, func(o *Options) { o.Now = clk.Now })
	tok := sb.appToken()
	cid := kaizalaCustomersFirst(sb)
	k, _ := kaizalaSub(sb.subscriptions(tok, cid))
	for i := range 7 {
		clk.Advance(time.Second)
		sb.must(http.StatusOK, "POST", ChangePath, "", changeBody(cid, k.ID, map[string]any{"quantity": 10 + i}), nil)
	}
	pages := walk[auditView](t, sb, tok, ActivityPath+"?size=3")
	if len(pages) != 3 || len(pages[0].Items) != 3 || len(pages[2].Items) != 1 {
		t.Fatalf("%d pages, want 3 of 3, 3, 1", len(pages))
	}
	if pages[0].Links["next"].Headers[0].Key != "MS-ContinuationToken" || pages[0].TotalCount != 3 || pages[0].Attributes.ObjectType != "Collection" {
		t.Errorf("first page %+v: want totalCount 3, a Collection, MS-ContinuationToken on next", pages[0])
	}
	var qty []string
	for _, p := range pages {
		for _, r := range p.Items {
			qty = append(qty, r.data("Quantity"))
		}
	}
	if strings.Join(qty, ",") != "16,15,14,13,12,11,10" {
		t.Errorf("quantities %v, want newest first 16…10", qty)
	}

	// A record written between pages does not shift them; the token also works as a query parameter.
	var first page[auditView]
	sb.must(http.StatusOK, "GET", ActivityPath+"?size=3", tok, nil, &first)
	clk.Advance(time.Second)
	sb.must(http.StatusOK, "POST", ChangePath, "", changeBody(cid, k.ID, map[string]any{"quantity": 30}), nil)
	var second page[auditView]
	next := first.Links["next"]
	sb.must(http.StatusOK, "GET", next.URI+"&continuationToken="+url.QueryEscape(next.Headers[0].Value), tok, nil, &second)
	if len(second.Items) != 3 || second.Items[0].data("Quantity") != "13" {
		t.Errorf("second page after a new record: %d items starting %q, want 3 starting 13", len(second.Items), second.Items[0].data("Quantity"))
	}

	bad := sb.must(http.StatusBadRequest, "GET", ActivityPath+"?seekOperation=Next", tok, nil, nil, "MS-ContinuationToken", "bm9wZQ==")
	if codeOf(t, bad.body) != codeInvalidInput {
		t.Errorf("a foreign token: %s", bad.body)
	}
}

// TestActivityLogWindowLimits: the 30-day default window, the 90-day retention (400), bad input (400).
func TestActivityLogWindowLimits(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)}
	sb := newSandbox(t, func(o *Options) { o.Now = clk.Now })
	tok := sb.appToken()
	cid := kaizalaCustomersFirst(sb)
	k, _ := kaizalaSub(sb.subscriptions(tok, cid))
	sb.must(http.StatusOK, "POST", ChangePath, "", changeBody(cid, k.ID, map[string]any{"quantity": 11}), nil)
	if err := sb.srv.AdvanceClock(40 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	sb.must(http.StatusOK, "POST", ChangePath, "", changeBody(cid, k.ID, map[string]any{"quantity": 12}), nil)

	if got := sb.activity(tok, ""); len(got) != 1 || got[0].data("Quantity") != "12" {
		t.Errorf("no dates: %d records, want the last 30 days' one", len(got))
	}
	if got := sb.activity(tok, "startDate=2026-03-01&endDate=2026-04-30"); len(got) != 2 {
		t.Errorf("explicit window: %d records, want 2", len(got))
	}
	if got := sb.activity(tok, "startDate=2026-03-01"); len(got) != 1 || got[0].data("Quantity") != "11" {
		t.Errorf("startDate without endDate: %d records, want the 30-day max window's one", len(got))
	}
	for _, q := range []string{
		"startDate=2025-12-01",                    // more than 90 days ago (sandbox now is 2026-04-19)
		"startDate=yesterday",                     // not a date
		"startDate=2026-04-10&endDate=2026-04-01", // end before start
		"size=0", //
		"filter=" + url.QueryEscape(`{"Field":"Nope","Value":"x","Operator":"equals"}`),
		"filter=" + url.QueryEscape(`{"Field":"CustomerId","Value":"x","Operator":"substring"}`),
		"filter=notjson",
	} {
		a := sb.must(http.StatusBadRequest, "GET", ActivityPath+"?"+q, tok, nil, nil)
		if codeOf(t, a.body) != codeInvalidInput {
			t.Errorf("%s: %s", q, a.body)
		}
	}
	a := sb.must(http.StatusBadRequest, "GET", ActivityPath+"?startDate=2025-12-01", tok, nil, nil)
	if !strings.Contains(string(a.body), "90 days") {
		t.Errorf("the 90-day refusal does not say why: %s", a.body)
	}

	sb.srv.RefuseActivityLog(true)
	if a := sb.must(http.StatusForbidden, "GET", ActivityPath, tok, nil, nil); codeOf(t, a.body) != codeInsufficientPrivileges {
		t.Errorf("refused log: %s", a.body)
	}
	sb.srv.RefuseActivityLog(false)
	sb.must(http.StatusOK, "GET", ActivityPath, tok, nil, nil)
}

// TestActivityLogLateRecords: Options.ActivityLogDelay lists a record late, with its operationDate unchanged;
// so does a PATCH answered 202, written when it shows and dated when it was accepted.
func TestActivityLogLateRecords(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)}
	sb := newSandbox(t, func(o *Options) { o.Now, o.ActivityLogDelay = clk.Now, 5*time.Minute })
	tok := sb.appToken()
	cid := kaizalaCustomersFirst(sb)
	k, _ := kaizalaSub(sb.subscriptions(tok, cid))
	sb.must(http.StatusOK, "POST", ChangePath, "", changeBody(cid, k.ID, map[string]any{"autoRenewEnabled": true}), nil)
	if got := sb.activity(tok, ""); len(got) != 0 {
		t.Fatalf("%d records before the delay, want none", len(got))
	}
	clk.Advance(5 * time.Minute)
	if got := sb.activity(tok, ""); len(got) != 1 || got[0].OperationDate != "2026-03-10T09:30:00.000Z" {
		t.Fatalf("after the delay: %+v, want the change dated when it was made", got)
	}

	sb2 := newSandbox(t, func(o *Options) { o.AsyncPatchRate, o.AsyncPatchDelay = 1, time.Hour })
	tok2 := sb2.appToken()
	cid2 := kaizalaCustomersFirst(sb2)
	k2, _ := kaizalaSub(sb2.subscriptions(tok2, cid2))
	sb2.must(http.StatusAccepted, "PATCH", subPath(cid2, k2.ID), tok2, map[string]any{"autoRenewEnabled": true}, nil, "If-Match", k2.Attributes.Etag)
	accepted := sb2.srv.now()
	if got := sb2.activity(tok2, ""); len(got) != 0 {
		t.Fatalf("a change accepted but not shown is already in the log: %+v", got)
	}
	if err := sb2.srv.AdvanceClock(time.Hour); err != nil {
		t.Fatal(err)
	}
	got := sb2.activity(tok2, "")
	if len(got) != 1 {
		t.Fatalf("%d records once the change shows, want 1", len(got))
	}
	if at, _ := time.Parse(time.RFC3339, got[0].OperationDate); at.Sub(accepted).Abs() > time.Second {
		t.Errorf("operationDate %s, want when it was accepted (%s)", got[0].OperationDate, accepted)
	}
}

// TestSandboxChange: the change endpoint's answers to good and bad input.
func TestSandboxChange(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.appToken()
	cid := kaizalaCustomersFirst(sb)
	k, _ := kaizalaSub(sb.subscriptions(tok, cid))
	var got subscriptionView
	sb.must(http.StatusOK, "POST", ChangePath, "", changeBody(cid, strings.ToLower(k.ID), map[string]any{"autoRenewEnabled": !k.AutoRenewEnabled}), &got)
	if got.AutoRenewEnabled == k.AutoRenewEnabled || got.Attributes.Etag == k.Attributes.Etag {
		t.Errorf("auto-renew change: %+v (was %+v); want it flipped and a new etag", got, k)
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		says   string
	}{
		{"empty body", "", 400, "empty"},
		{"not JSON", "{", 400, "must be"},
		{"unknown field", changeBody(cid, k.ID, map[string]any{"status": "deleted"}), 400, "unknown field"},
		{"no ids", map[string]any{"quantity": 3}, 400, "required"},
		{"nothing to change", changeBody(cid, k.ID, nil), 400, "Nothing to change"},
		{"bad date", changeBody(cid, k.ID, map[string]any{"commitmentEndDate": "15/03/2026"}), 400, "YYYY-MM-DD"},
		{"date before the term", changeBody(cid, k.ID, map[string]any{"commitmentEndDate": "2001-01-01"}), 400, "before the term"},
		{"zero seats", changeBody(cid, k.ID, map[string]any{"quantity": 0}), 400, "at least 1"},
		{"wrong type", changeBody(cid, k.ID, map[string]any{"quantity": "7"}), 400, "quantity"},
		{"unknown customer", changeBody("00000000-0000-0000-0000-000000000000", k.ID, map[string]any{"quantity": 3}), 404, "not found"},
		{"unknown subscription", changeBody(cid, "NOPE", map[string]any{"quantity": 3}), 404, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := sb.call("POST", ChangePath, "", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if a.status != tc.status || !strings.Contains(string(a.body), tc.says) {
				t.Errorf("status %d %s; want %d saying %q", a.status, a.body, tc.status, tc.says)
			}
		})
	}
	if a, _ := sb.call("GET", ChangePath, "", nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d, want 405", ChangePath, a.status)
	}
	if n := len(sb.srv.ActivityLog()); n != 1 {
		t.Errorf("%d records, want the one change that changed something", n)
	}
}

// TestActivityLogRecordsCheckoutTransitionAndRenewal: a cart checkout is a create_order naming its (not yet
// listed) subscription, a completed transition an upgrade_subscription naming source and target, and a
// new-commerce renewal an update_subscription with the new end date.
func TestActivityLogRecordsCheckoutTransitionAndRenewal(t *testing.T) {
	sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate = 0 })
	tok := sb.userToken()
	var cid, sid string
	var qty int
	for c, s := range kaizalaCustomers(sb) {
		sb.srv.mu.Lock()
		blocked := sb.srv.transferBlocked(sb.srv.world.customer(c))
		qty = sb.srv.world.customer(c).subscription(s).quantity
		sb.srv.mu.Unlock()
		if !blocked {
			cid, sid = c, s
			break
		}
	}
	nce := sb.buyNCE(tok, cid, e1CatalogID, 2, "monthly", "P1Y")
	body := map[string]any{"toCatalogItemId": e1CatalogID, "quantity": qty, "transitionType": transitionWithLicences, "events": []any{}}
	sb.must(http.StatusOK, "POST", subPath(cid, sid)+"/transitions", tok, body, nil)
	if err := sb.srv.AdvanceClock(time.Minute); err != nil { // past the provisioning delay: the transition completes
		t.Fatal(err)
	}
	sb.subscriptions(tok, cid)

	recs := sb.activity(tok, "")
	if len(recs) != 2 {
		t.Fatalf("%d records, want the checkout and the transition: %+v", len(recs), recs)
	}
	upgrade, order := recs[0], recs[1]
	if order.OperationType != "create_order" || order.ResourceType != "order" || !strings.EqualFold(order.data("SubscriptionId-0"), nce) {
		t.Errorf("checkout record %+v: want create_order naming %s", order, nce)
	}
	if target := upgrade.data("TargetSubscriptionId"); upgrade.OperationType != "upgrade_subscription" || upgrade.data("SubscriptionId") != sid || target == "" || target == sid {
		t.Errorf("transition record %s %v: want upgrade_subscription from %s into a target", upgrade.OperationType, upgrade.CustomizedData, sid)
	}

	if err := sb.srv.AdvanceClock(366 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	tok = sb.userToken()
	renewed := sb.rawSubscription(tok, subPath(cid, nce))
	var renewals []auditView
	for _, r := range sb.activity(tok, "") {
		if strings.EqualFold(r.data("SubscriptionId"), nce) {
			renewals = append(renewals, r)
		}
	}
	if len(renewals) != 1 || renewals[0].OperationType != "update_subscription" || renewals[0].data("Reason") != "renewal" ||
		renewals[0].data("CommitmentEndDate")+"T00:00:00Z" != renewed["commitmentEndDate"] {
		t.Errorf("after a year: %d records of %s, want one renewal ending %v", len(renewals), nce, renewed["commitmentEndDate"])
	}
}
