package pcsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Client-side views of the Order and CartCheckoutResult resources.

type orderView struct {
	ID          string `json:"id"`
	AlternateID string `json:"alternateId"`
	Status      string `json:"status"`
	LineItems   []struct {
		OfferID        string              `json:"offerId"`
		SubscriptionID string              `json:"subscriptionId"`
		Quantity       int                 `json:"quantity"`
		Links          map[string]linkView `json:"links"`
	} `json:"lineItems"`
	Links map[string]linkView `json:"links"`
}

type linkView struct {
	URI    string `json:"uri"`
	Method string `json:"method"`
}

type checkoutView struct {
	Orders      []orderView `json:"orders"`
	OrderErrors []any       `json:"orderErrors"`
}

// finishProvisioning completes every pending purchase now, for tests whose clock stands still and that are not
// about provisioning.
func (sb *sandbox) finishProvisioning() {
	s := sb.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, c := range s.world.customers {
		for _, o := range c.orders {
			o.completes = minTime(o.completes, now)
		}
		for _, sub := range c.subs {
			sub.visibleFrom, sub.seatsFrom = minTime(sub.visibleFrom, now), minTime(sub.seatsFrom, now)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// seatCustomer is a customer whose subscribed SKUs the partner can read (some lack a GDAP role).
func seatCustomer(t *testing.T, sb *sandbox, tok string) string {
	t.Helper()
	for _, c := range sb.customers(tok) {
		if a, err := sb.call("GET", "/v1/customers/"+c.ID+"/subscribedskus", tok, nil); err == nil && a.status == http.StatusOK {
			return c.ID
		}
	}
	t.Fatal("no customer with readable subscribed SKUs")
	return ""
}

var shortOrderID = regexp.MustCompile(`^[0-9a-f]{12}$`)

// TestCheckoutPending: a checkout answers 201 with a pending order (a short id like the doc's "a68736758d9c", no
// subscriptionId, no subscription link), the same answer byte for byte on every repeat; the subscription is not
// listed nor found and has no seats until ProvisioningDelay has passed, from then on GET order and GET orders show
// the order completed with each line's subscriptionId and subscription link, and links.provisioningStatus and
// patchOperation throughout. The ledger has the purchase once, at checkout time.
func TestCheckoutPending(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
	const delay = 2 * time.Second
	clk := &clock{t: t0}
	sb := newSandbox(t, func(o *Options) { o.Now, o.ProvisioningDelay = clk.Now, delay })
	tok := sb.userToken()
	cid := seatCustomer(t, sb, tok)
	base := "/v1/customers/" + cid
	before := len(sb.subscriptions(tok, cid))
	seatsBefore, _ := sb.pool(tok, cid, e1SkuID)

	var cart cartView
	sb.must(http.StatusCreated, "POST", base+"/carts", tok, cartOf(lineItem(e1CatalogID, 12, "monthly", "P1Y")), &cart)
	checkout := base + "/carts/" + cart.ID + "/checkout"
	var res checkoutView
	first := sb.must(http.StatusCreated, "POST", checkout, tok, nil, &res, "MS-RequestId", "checkout-1")
	if len(res.Orders) != 1 || res.OrderErrors == nil {
		t.Fatalf("checkout result %s", first.body)
	}
	o := res.Orders[0]
	if !shortOrderID.MatchString(o.ID) || o.AlternateID != o.ID || o.Status != "pending" || len(o.LineItems) != 1 {
		t.Errorf("checked-out order %s: want a pending order with a 12-hex-digit id", first.body)
	}
	if bytes.Contains(first.body, []byte("subscriptionId")) || bytes.Contains(first.body, []byte("/subscriptions/")) {
		t.Errorf("pending order names its subscription: %s", first.body)
	}
	ledger := sb.srv.Ledger()
	if len(ledger) != 1 || ledger[0].Kind != LedgerCheckout || !ledger[0].At.Equal(t0) || ledger[0].OrderID != o.ID || ledger[0].SubscriptionID == "" {
		t.Fatalf("ledger after checkout %+v", ledger)
	}
	sid := ledger[0].SubscriptionID
	orderPath := base + "/orders/" + o.ID

	tests := []struct {
		name      string
		at        time.Duration // since checkout
		completed bool
	}{
		{"at checkout", 0, false},
		{"just before the delay", delay - time.Millisecond, false},
		{"at the delay", delay, true},
		{"an hour later", time.Hour, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk.Advance(t0.Add(tc.at).Sub(clk.Now()))
			tok := sb.userToken() // the clock may have outrun the last one
			again := sb.must(http.StatusCreated, "POST", checkout, tok, nil, nil, "MS-RequestId", "checkout-"+tc.name)
			if !bytes.Equal(again.body, first.body) {
				t.Errorf("repeat checkout answered differently:\n%s\n%s", first.body, again.body)
			}

			var got orderView
			sb.must(http.StatusOK, "GET", orderPath, tok, nil, &got)
			var list page[orderView]
			sb.must(http.StatusOK, "GET", base+"/orders", tok, nil, &list)
			listed := 0
			for _, it := range list.Items {
				if it.ID != o.ID {
					continue // the customer's seeded orders
				}
				listed++
				if it.Status != got.Status || it.LineItems[0].SubscriptionID != got.LineItems[0].SubscriptionID {
					t.Errorf("GET orders shows %+v, GET order %+v", it, got)
				}
			}
			if listed != 1 {
				t.Errorf("GET orders lists the order %d times", listed)
			}
			for _, name := range []string{"self", "provisioningStatus", "patchOperation"} {
				if got.Links[name].URI == "" {
					t.Errorf("order links %+v lack %s", got.Links, name)
				}
			}
			if got.Links["provisioningStatus"].URI != "/customers/"+cid+"/orders/"+o.ID+"/provisioningstatus" || got.Links["patchOperation"].Method != "PATCH" {
				t.Errorf("order links %+v", got.Links)
			}
			line := got.LineItems[0]
			subs := sb.subscriptions(tok, cid)
			pool, _ := sb.pool(tok, cid, e1SkuID)
			if !tc.completed {
				if got.Status != "pending" || line.SubscriptionID != "" || line.Links["subscription"].URI != "" {
					t.Errorf("order before provisioning %+v, want pending without subscription", got)
				}
				if len(subs) != before || pool.TotalUnits != seatsBefore.TotalUnits {
					t.Errorf("before provisioning: %d new subscriptions, %d new seats", len(subs)-before, pool.TotalUnits-seatsBefore.TotalUnits)
				}
				sb.must(http.StatusNotFound, "GET", subPath(cid, sid), tok, nil, nil)
				return
			}
			if got.Status != "completed" || line.SubscriptionID != sid || line.Links["subscription"].URI != "/customers/"+cid+"/subscriptions/"+sid {
				t.Errorf("order after provisioning %+v, want completed naming subscription %s", got, sid)
			}
			if len(subs) != before+1 || pool.TotalUnits != seatsBefore.TotalUnits+12 {
				t.Errorf("after provisioning: %d new subscriptions, %d new seats", len(subs)-before, pool.TotalUnits-seatsBefore.TotalUnits)
			}
			var sub subscriptionView
			sb.must(http.StatusOK, "GET", subPath(cid, sid), tok, nil, &sub)
			if sub.OfferID != e1CatalogID || sub.Quantity != 12 || sub.Status != "active" {
				t.Errorf("bought subscription %+v", sub)
			}
		})
	}
	if l := sb.srv.Ledger(); len(l) != 1 {
		t.Errorf("%d ledger entries after repeated checkouts, want 1", len(l))
	}
	if st := sb.srv.Stats(); st.CartsCheckedOut != 1 || st.OrdersCreated != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestCheckoutSampleShape: the completed order has every key of the doc's new-commerce checkout order
// (pc-samples/cart-checkout-nce.response.json, whose verbatim text lacks a comma after "currencyCode").
func TestCheckoutSampleShape(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "shared", "reference", "pc-samples", "cart-checkout-nce.response.json"))
	if err != nil {
		t.Skipf("sample not available: %v", err)
	}
	raw = regexp.MustCompile(`("currencyCode": "USD")\s*\n`).ReplaceAll(raw, []byte("$1,\n"))
	var sample map[string]any
	if err := json.Unmarshal(raw, &sample); err != nil {
		t.Fatalf("sample: %v", err)
	}
	sb := newSandbox(t, nil)
	tok := sb.appToken()
	cid := sb.customers(tok)[0].ID
	var cart cartView
	o365E5 := planByProduct("CFQ7TTC0LF8S").catalogItemID() // the sample's product
	sb.must(http.StatusCreated, "POST", "/v1/customers/"+cid+"/carts", tok, cartOf(lineItem(o365E5, 1, "monthly", "P1M")), &cart)
	var res checkoutView
	sb.must(http.StatusCreated, "POST", "/v1/customers/"+cid+"/carts/"+cart.ID+"/checkout", tok, nil, &res)
	sb.finishProvisioning()
	var got map[string]any
	sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/orders/"+res.Orders[0].ID, tok, nil, &got)
	requireKeys(t, "order", sample, got)
	for _, k := range []string{"provisioningStatus", "patchOperation"} {
		requireKeys(t, "order.links."+k, sample["links"].(map[string]any)[k].(map[string]any), got["links"].(map[string]any)[k])
	}
}

// TestLoseNextAnswers: the chosen requests are applied and then cut off, other requests are answered; the retry
// of a lost checkout gets the first answer (idempotent per cart), the retry of a lost order with the same
// MS-RequestId gets the stored one, and nothing is bought twice.
func TestLoseNextAnswers(t *testing.T) {
	tests := []struct {
		name   string
		method string
		suffix string // argument of LoseNextAnswers
		n      int
		path   func(cid, cartID string) string
		body   any
		status int // of the retry that is answered
		legacy bool
	}{
		{"checkout once", "POST", "/checkout", 1,
			func(cid, k string) string { return "/v1/customers/" + cid + "/carts/" + k + "/checkout" }, nil, http.StatusCreated, false},
		{"checkout twice, suffix in other case", "post", "/CHECKOUT", 2,
			func(cid, k string) string { return "/v1/customers/" + cid + "/carts/" + k + "/checkout" }, nil, http.StatusCreated, false},
		{"legacy order", "POST", "/orders", 1,
			func(cid, _ string) string { return "/v1/customers/" + cid + "/orders" }, e1Order(3), http.StatusCreated, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, func(o *Options) { o.LegacyPurchases = tc.legacy })
			tok := sb.appToken()
			cid := sb.customers(tok)[0].ID
			var cart cartView
			sb.must(http.StatusCreated, "POST", "/v1/customers/"+cid+"/carts", tok, cartOf(lineItem(e1CatalogID, 4, "monthly", "P1Y")), &cart)
			path := tc.path(cid, cart.ID)

			sb.srv.LoseNextAnswers(tc.method, tc.suffix, tc.n)
			for i := range tc.n {
				// A GET that does not match is answered in between.
				sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/carts/"+cart.ID, tok, nil, nil)
				if a, err := sb.call("POST", path, tok, tc.body, "MS-RequestId", "lost-1"); err == nil {
					t.Fatalf("attempt %d was answered %d, want the connection cut", i+1, a.status)
				}
			}
			if l := sb.srv.Ledger(); len(l) != 1 {
				t.Fatalf("ledger after lost answers %+v, want the purchase once", l)
			}
			if got := sb.srv.Stats().Faults; got != int64(tc.n) {
				t.Errorf("Faults = %d, want %d", got, tc.n)
			}
			var first []byte
			for range 2 {
				a := sb.must(tc.status, "POST", path, tok, tc.body, nil, "MS-RequestId", "lost-1")
				if first != nil && !bytes.Equal(a.body, first) {
					t.Errorf("retries answered differently:\n%s\n%s", first, a.body)
				}
				first = a.body
			}
			if st := sb.srv.Stats(); st.OrdersCreated != 1 || len(sb.srv.Ledger()) != 1 {
				t.Errorf("bought %d times (ledger %d), want once", st.OrdersCreated, len(sb.srv.Ledger()))
			}
		})
	}

	t.Run("concurrent use", func(t *testing.T) {
		sb := newSandbox(t, nil)
		tok := sb.appToken()
		const workers, each = 8, 5
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sb.srv.LoseNextAnswers("GET", "/v1/customers", each)
			}()
		}
		wg.Wait()
		// Counted on the server: net/http retries a GET cut on a reused connection by itself.
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each + 1 {
					_, _ = sb.call("GET", "/v1/customers", tok, nil)
				}
			}()
		}
		wg.Wait()
		if got := sb.srv.Stats().Faults; got != workers*each {
			t.Errorf("%d answers lost, want exactly %d", got, workers*each)
		}
		sb.must(http.StatusOK, "GET", "/v1/customers", tok, nil, nil)
	})
}
