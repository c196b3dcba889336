package pcsim

import (
	"bytes"
	"net/http"
	"testing"
)

func TestCartCheckout(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.appToken()
	cid := sb.customers(tok)[0].ID
	base := "/v1/customers/" + cid + "/carts"
	before := len(sb.subscriptions(tok, cid))

	var cart struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		LineItems []struct {
			CatalogItemID string `json:"catalogItemId"`
		} `json:"lineItems"`
	}
	sb.must(http.StatusCreated, "POST", base, tok, map[string]any{"lineItems": []map[string]any{{
		"id": 0, "catalogItemId": "cfq7ttc0lf8q:0001:cfq7ttc0k39x", "quantity": 12, "billingCycle": "Annual", "termDuration": "P1Y",
	}}}, &cart)
	if cart.Status != "Active" || cart.LineItems[0].CatalogItemID != e1CatalogID {
		t.Fatalf("cart %+v", cart)
	}
	sb.must(http.StatusOK, "GET", base+"/"+cart.ID, tok, nil, nil)

	var result struct {
		Orders []struct {
			LineItems []struct {
				SubscriptionID string `json:"subscriptionId"`
			} `json:"lineItems"`
		} `json:"orders"`
		OrderErrors []any `json:"orderErrors"`
	}
	first := sb.must(http.StatusCreated, "POST", base+"/"+cart.ID+"/checkout", tok, nil, &result)
	again := sb.must(http.StatusCreated, "POST", base+"/"+cart.ID+"/checkout", tok, nil, nil)
	if !bytes.Equal(first.body, again.body) {
		t.Errorf("second checkout answered differently:\n%s\n%s", first.body, again.body)
	}
	if len(result.Orders) != 1 || result.OrderErrors == nil {
		t.Fatalf("checkout result %s", first.body)
	}
	var sub subscriptionView
	sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/subscriptions/"+result.Orders[0].LineItems[0].SubscriptionID, tok, nil, &sub)
	if sub.OfferID != e1CatalogID || sub.Quantity != 12 {
		t.Errorf("new-commerce subscription %+v", sub)
	}
	if got := len(sb.subscriptions(tok, cid)); got != before+1 {
		t.Errorf("%d new subscriptions after checking out twice, want 1", got-before)
	}
	if st := sb.srv.Stats(); st.CartsCheckedOut != 1 || st.OrdersCreated != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestCartRefusals(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.appToken()
	cid := sb.customers(tok)[0].ID
	line := func(item string, qty int, cycle string) map[string]any {
		return map[string]any{"lineItems": []map[string]any{{"id": 0, "catalogItemId": item, "quantity": qty, "billingCycle": cycle}}}
	}
	tests := []struct {
		name string
		body any
		code float64
	}{
		{"unknown catalog item", line("CFQ7TTC0XXXX:0001:CFQ7TTC0XXXX", 1, "annual"), codeCatalogItemInvalid},
		{"legacy Kaizala offer", line(kaizalaOffer, 1, "annual"), codeLegacyNotEligible},
		{"no billing cycle", line(e1CatalogID, 1, ""), codeCartInvalidInput},
		{"too many Business seats", line("CFQ7TTC0LH18:0001:CFQ7TTC0K971", 301, "monthly"), codeCartMaxSeats},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := sb.must(http.StatusBadRequest, "POST", "/v1/customers/"+cid+"/carts", tok, tc.body, nil)
			if got := codeOf(t, a.body); got != tc.code {
				t.Errorf("code %v, want %v", got, tc.code)
			}
		})
	}
	a := sb.must(http.StatusNotFound, "POST", "/v1/customers/"+cid+"/carts/nope/checkout", tok, nil, nil)
	if got := codeOf(t, a.body); got != codeCartNotFound {
		t.Errorf("unknown cart: code %v", got)
	}
}
