package pcsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// legacyWorld is the 2020 world, where legacy orders for Microsoft 365 / Office 365 offers are still accepted; tests
// of legacy subscriptions buy them there.
func legacyWorld(o *Options) { o.LegacyPurchases = true }

func e1Order(qty int) map[string]any {
	return map[string]any{
		"billingCycle": "annual",
		"lineItems": []map[string]any{{
			"lineItemNumber": 0, "offerId": "91FD106F-4B2C-4938-95AC-F54F74E9A239", "quantity": qty,
			"friendlyName": "Kaizala replacement",
		}},
	}
}

// TestOrderIdempotency: "If there's a timeout, the retry call should include the same value" — a repeated
// MS-RequestId buys nothing twice and gets the first answer back; a new request id is a new order.
func TestOrderIdempotency(t *testing.T) {
	sb := newSandbox(t, legacyWorld)
	tok := sb.appToken()
	cid := sb.customers(tok)[0].ID
	path := "/v1/customers/" + cid + "/orders"
	before := len(sb.subscriptions(tok, cid))

	first := sb.must(http.StatusCreated, "POST", path, tok, e1Order(5), nil, "MS-RequestId", "3b1c6f0e-0000-4000-8000-000000000001")
	again := sb.must(http.StatusCreated, "POST", path, tok, e1Order(5), nil, "MS-RequestId", "3b1c6f0e-0000-4000-8000-000000000001")
	if !bytes.Equal(first.body, again.body) {
		t.Errorf("replayed order differs:\n%s\n%s", first.body, again.body)
	}
	if got := len(sb.subscriptions(tok, cid)); got != before+1 {
		t.Fatalf("%d subscriptions after one order sent twice, want %d", got, before+1)
	}
	sb.must(http.StatusCreated, "POST", path, tok, e1Order(5), nil, "MS-RequestId", "3b1c6f0e-0000-4000-8000-000000000002")
	if got := len(sb.subscriptions(tok, cid)); got != before+2 {
		t.Errorf("%d subscriptions after a second request id, want %d", got, before+2)
	}
	if got := sb.srv.Stats().OrdersCreated; got != 2 {
		t.Errorf("OrdersCreated = %d, want 2", got)
	}
	if first.header.Get("MS-RequestId") != "3b1c6f0e-0000-4000-8000-000000000001" || first.header.Get("MS-CorrelationId") == "" {
		t.Errorf("trace headers not echoed: %v", first.header)
	}
}

func TestOrderCreatesSubscription(t *testing.T) {
	sb := newSandbox(t, legacyWorld)
	tok := sb.appToken()
	cid := sb.customers(tok)[0].ID
	var o struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		LineItems []struct {
			SubscriptionID string `json:"subscriptionId"`
		} `json:"lineItems"`
		Attributes struct {
			ObjectType string `json:"objectType"`
		} `json:"attributes"`
	}
	sb.must(http.StatusCreated, "POST", "/v1/customers/"+cid+"/orders", tok, e1Order(7), &o)
	if o.Status != "completed" || o.Attributes.ObjectType != "Order" || len(o.LineItems) != 1 {
		t.Fatalf("order %+v", o)
	}
	var sub subscriptionView
	sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/subscriptions/"+o.LineItems[0].SubscriptionID, tok, nil, &sub)
	if sub.Quantity != 7 || sub.Status != "active" || !sub.AutoRenewEnabled || sub.OfferName != "Office 365 E1" {
		t.Errorf("bought subscription %+v", sub)
	}
	sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/orders/"+o.ID, tok, nil, nil)
}

func TestOrderRefusals(t *testing.T) {
	sb := newSandbox(t, legacyWorld)
	tok := sb.appToken()
	cid := sb.customers(tok)[0].ID
	line := func(offer string, qty int) map[string]any {
		return map[string]any{"lineItems": []map[string]any{{"lineItemNumber": 0, "offerId": offer, "quantity": qty}}}
	}
	tests := []struct {
		name     string
		body     any
		wantCode float64
	}{
		{"unknown offer", line("00000000-0000-0000-0000-000000000000", 1), codeInvalidOffer},
		{"Kaizala Pro is retired", line(kaizalaOffer, 10), codeLegacyNotEligible},
		{"zero seats", line("91FD106F-4B2C-4938-95AC-F54F74E9A239", 0), codeQuantityRange},
		{"Business Basic over 300", line("BD938F12-058F-4927-BBA3-AE36B1D2501C", 301), codeQuantityRange},
		{"no line items", map[string]any{"lineItems": []any{}}, codeInvalidInput},
		{"malformed JSON", `{"lineItems": [`, codeInvalidInput},
	}
	before := len(sb.subscriptions(tok, cid))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := sb.must(http.StatusBadRequest, "POST", "/v1/customers/"+cid+"/orders", tok, tc.body, nil)
			if got := codeOf(t, a.body); got != tc.wantCode {
				t.Errorf("code %v, want %v: %s", got, tc.wantCode, a.body)
			}
		})
	}
	if got := len(sb.subscriptions(tok, cid)); got != before {
		t.Errorf("refused orders created %d subscriptions", got-before)
	}
}

// TestLegacyOrderRefused: since July 2023 a legacy offer can no longer be bought as a new subscription, so by
// default every purchasable legacy offer of the catalog (all Microsoft 365 / Office 365) is refused with the
// documented 403 / 2091 "The offer is no longer available for purchase" and nothing is bought; with
// LegacyPurchases (the 2020 world) the same order is completed at once, subscription id and all.
func TestLegacyOrderRefused(t *testing.T) {
	var offers []*plan
	for _, p := range catalog {
		if p.OfferID != "" && p.Purchasable {
			offers = append(offers, p)
		}
	}
	if len(offers) < 10 {
		t.Fatalf("only %d purchasable legacy offers in the catalog", len(offers))
	}
	tests := []struct {
		name   string
		legacy bool // Options.LegacyPurchases
		status int
	}{
		{"2026 world (default)", false, http.StatusForbidden},
		{"2020 world (LegacyPurchases)", true, http.StatusCreated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, func(o *Options) { o.LegacyPurchases = tc.legacy })
			tok := sb.appToken()
			cid := sb.customers(tok)[0].ID
			before := len(sb.subscriptions(tok, cid))
			for _, p := range offers {
				body := map[string]any{"billingCycle": "annual", "lineItems": []map[string]any{{
					"lineItemNumber": 0, "offerId": strings.ToLower(p.OfferID), "quantity": 2,
				}}}
				a := sb.must(tc.status, "POST", "/v1/customers/"+cid+"/orders", tok, body, nil)
				if !tc.legacy {
					var e apiErr
					if codeOf(t, a.body) != codeOfferUnavailable || json.Unmarshal(a.body, &e) != nil ||
						e.Description != "The offer is no longer available for purchase" {
						t.Errorf("%s: refusal %s", p.Name, a.body)
					}
					continue
				}
				var o orderView
				if err := json.Unmarshal(a.body, &o); err != nil || o.Status != "completed" || len(o.LineItems) != 1 ||
					o.LineItems[0].SubscriptionID == "" {
					t.Errorf("%s: legacy order %s, want completed with its subscription", p.Name, a.body)
				}
			}
			bought := 0
			if tc.legacy {
				bought = len(offers)
			}
			if got := len(sb.subscriptions(tok, cid)); got != before+bought {
				t.Errorf("%d new subscriptions, want %d", got-before, bought)
			}
			if got, n := int(sb.srv.Stats().OrdersCreated), len(sb.srv.Ledger()); got != bought || n != bought {
				t.Errorf("%d orders and %d ledger entries, want %d", got, n, bought)
			}
		})
	}
}
