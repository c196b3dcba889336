package pcsim

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// ledgerView is the client's reading of a ledger entry, decoded independently of LedgerEntry's tags.
type ledgerView struct {
	At             string `json:"at"`
	Kind           string `json:"kind"`
	CustomerID     string `json:"customerId"`
	SubscriptionID string `json:"subscriptionId"`
	OrderID        string `json:"orderId"`
	CartID         string `json:"cartId"`
	Quantity       int    `json:"quantity"`
	OfferID        string `json:"offerId"`
	ProductID      string `json:"productId"`
	SkuID          string `json:"skuId"`
	MSRequestID    string `json:"msRequestId"`
}

func viewOf(e LedgerEntry) ledgerView {
	return ledgerView{
		At: e.At.Format(time.RFC3339Nano), Kind: string(e.Kind), CustomerID: e.CustomerID,
		SubscriptionID: e.SubscriptionID, OrderID: e.OrderID, CartID: e.CartID, Quantity: e.Quantity,
		OfferID: e.OfferID, ProductID: e.ProductID, SkuID: e.SkuID, MSRequestID: e.MSRequestID,
	}
}

// ledger reads GET /_sandbox/ledger without a token.
func (sb *sandbox) ledger() []ledgerView {
	sb.t.Helper()
	var p page[ledgerView]
	a := sb.must(http.StatusOK, "GET", LedgerPath, "", nil, &p)
	if p.TotalCount != len(p.Items) || p.Attributes.ObjectType != "Collection" {
		sb.t.Fatalf("ledger is not a Partner Center collection: %s", a.body)
	}
	return p.Items
}

// TestLedger buys, replays, suspends and reactivates over HTTP; the ledger lists each money movement once,
// with the sandbox time and the MS-RequestId of the request that moved it.
func TestLedger(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
	clk := &clock{t: t0}
	sb := newSandbox(t, func(o *Options) { o.Now, o.LegacyPurchases = clk.Now, true })
	tok := sb.appToken()
	cid := sb.customers(tok)[0].ID

	type bought struct {
		ID        string `json:"id"`
		LineItems []struct {
			OfferID        string `json:"offerId"`
			SubscriptionID string `json:"subscriptionId"`
		} `json:"lineItems"`
	}

	// A legacy order, sent twice with one request id (a retry after a timeout).
	var o bought
	orders := "/v1/customers/" + cid + "/orders"
	sb.must(http.StatusCreated, "POST", orders, tok, e1Order(5), &o, "MS-RequestId", "ledger-order-1")
	sb.must(http.StatusCreated, "POST", orders, tok, e1Order(5), nil, "MS-RequestId", "ledger-order-1")

	// A cart checkout: replayed with its request id, then checked out again under a new one.
	clk.Advance(time.Minute)
	var cart struct {
		ID string `json:"id"`
	}
	carts := "/v1/customers/" + cid + "/carts"
	sb.must(http.StatusCreated, "POST", carts, tok, map[string]any{"lineItems": []map[string]any{{
		"id": 0, "catalogItemId": e1CatalogID, "quantity": 12, "billingCycle": "monthly", "termDuration": "P1Y",
	}}}, &cart, "MS-RequestId", "ledger-cart-1")
	var result struct {
		Orders []bought `json:"orders"`
	}
	checkout := carts + "/" + cart.ID + "/checkout"
	sb.must(http.StatusCreated, "POST", checkout, tok, nil, &result, "MS-RequestId", "ledger-checkout-1")
	sb.must(http.StatusCreated, "POST", checkout, tok, nil, nil, "MS-RequestId", "ledger-checkout-1")
	sb.must(http.StatusCreated, "POST", checkout, tok, nil, nil, "MS-RequestId", "ledger-checkout-2")
	nce := result.Orders[0] // pending: its subscription id shows once provisioned, read below

	// Suspend a Kaizala Pro subscription (replayed, then suspended again: both no-ops), then reactivate it.
	var kcid string
	var k subscriptionView
	for _, c := range sb.customers(tok) {
		if sub, ok := kaizalaSub(sb.subscriptions(tok, c.ID)); ok {
			kcid, k = c.ID, sub
			break
		}
	}
	if kcid == "" {
		t.Fatal("no customer holds Kaizala Pro")
	}
	path := "/v1/customers/" + kcid + "/subscriptions/" + k.ID
	clk.Advance(time.Minute)
	var suspended, active subscriptionView
	suspend := map[string]any{"status": "suspended"}
	sb.must(http.StatusOK, "PATCH", path, tok, suspend, &suspended, "If-Match", k.Attributes.Etag, "MS-RequestId", "ledger-suspend-1")
	sb.must(http.StatusOK, "PATCH", path, tok, suspend, nil, "If-Match", k.Attributes.Etag, "MS-RequestId", "ledger-suspend-1")
	sb.must(http.StatusOK, "PATCH", path, tok, suspend, nil, "If-Match", suspended.Attributes.Etag, "MS-RequestId", "ledger-suspend-2")
	clk.Advance(time.Minute)
	sb.must(http.StatusOK, "PATCH", path, tok, map[string]any{"status": "active"}, &active, "If-Match", suspended.Attributes.Etag, "MS-RequestId", "ledger-reactivate-1")
	// A rename moves no money.
	sb.must(http.StatusOK, "PATCH", path, tok, map[string]any{"friendlyName": "renamed"}, nil, "If-Match", active.Attributes.Etag)

	sb.must(http.StatusOK, "GET", orders+"/"+nce.ID, tok, nil, &nce) // provisioned by now: the clock moved on

	at := func(minutes int) string { return t0.Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339) }
	want := []ledgerView{
		{
			At: at(0), Kind: "order", CustomerID: cid, SubscriptionID: o.LineItems[0].SubscriptionID, OrderID: o.ID,
			Quantity: 5, OfferID: o.LineItems[0].OfferID, MSRequestID: "ledger-order-1",
		},
		{
			At: at(1), Kind: "checkout", CustomerID: cid, SubscriptionID: nce.LineItems[0].SubscriptionID, OrderID: nce.ID,
			CartID: cart.ID, Quantity: 12, OfferID: e1CatalogID, ProductID: "CFQ7TTC0LF8Q", SkuID: "0001",
			MSRequestID: "ledger-checkout-1",
		},
		{
			At: at(2), Kind: "suspension", CustomerID: kcid, SubscriptionID: k.ID, Quantity: k.Quantity,
			OfferID: k.OfferID, MSRequestID: "ledger-suspend-1",
		},
		{
			At: at(3), Kind: "reactivation", CustomerID: kcid, SubscriptionID: k.ID, Quantity: k.Quantity,
			OfferID: k.OfferID, MSRequestID: "ledger-reactivate-1",
		},
	}
	got := sb.ledger()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ledger over HTTP:\n got %+v\nwant %+v", got, want)
	}
	var fromGo []ledgerView
	for _, e := range sb.srv.Ledger() {
		fromGo = append(fromGo, viewOf(e))
	}
	if !reflect.DeepEqual(fromGo, want) {
		t.Errorf("Server.Ledger():\n got %+v\nwant %+v", fromGo, want)
	}
}

// TestLedgerIsAnInstrument: the ledger is the test's, not Microsoft's, so it needs no token and is never
// delayed, throttled, fault-injected or counted, however hostile the sandbox is set up to be.
func TestLedgerIsAnInstrument(t *testing.T) {
	sb := newSandbox(t, func(o *Options) {
		o.RateLimit, o.CustomerRateLimit, o.FaultRate, o.Latency = 1, 1, 1, time.Hour
	})
	client := &http.Client{Timeout: 10 * time.Second} // an hour of latency would fail this, not hang the run
	tests := []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"ledger", "GET", LedgerPath, http.StatusOK, ""},
		{"ledger again", "GET", LedgerPath, http.StatusOK, ""},
		{"any case, trailing slash", "GET", "/_Sandbox/LEDGER/", http.StatusOK, ""},
		{"read only", "POST", LedgerPath, http.StatusMethodNotAllowed, "GET"},
		{"unknown instrument", "GET", "/_sandbox/nope", http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, sb.url+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow {
				t.Fatalf("status %d, Allow %q; want %d, %q; body %v", resp.StatusCode, resp.Header.Get("Allow"), tc.status, tc.allow, body)
			}
			if tc.status == http.StatusOK {
				if items, ok := body["items"].([]any); !ok || len(items) != 0 || body["totalCount"] != 0.0 {
					t.Errorf("empty ledger %v, want totalCount 0 and items []", body)
				}
			}
		})
	}
	if st := sb.srv.Stats(); st != (Stats{}) {
		t.Errorf("ledger requests show in Stats: %+v", st)
	}
}

func TestStatusChangeKind(t *testing.T) {
	tests := []struct {
		from, to string
		want     LedgerKind // "" = no money moved
	}{
		{"active", "suspended", LedgerSuspension},
		{"suspended", "active", LedgerReactivation},
		{"active", "deleted", LedgerCancellation},
		{"suspended", "deleted", LedgerCancellation},
		{"active", "active", ""},
		{"suspended", "suspended", ""},
		{"deleted", "deleted", ""},
		{"expired", "active", ""},
	}
	for _, tc := range tests {
		t.Run(tc.from+"→"+tc.to, func(t *testing.T) {
			got, ok := statusChangeKind(tc.from, tc.to)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("statusChangeKind(%q, %q) = %q, %v; want %q", tc.from, tc.to, got, ok, tc.want)
			}
		})
	}
}
