package pcsim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// cartView is the client's view of a Cart; error is present only on a line that has one.
type cartView struct {
	ID                  string `json:"id"`
	Status              string `json:"status"`
	ExpirationTimestamp string `json:"expirationTimestamp"`
	LineItems           []struct {
		ID            int    `json:"id"`
		CatalogItemID string `json:"catalogItemId"`
		Quantity      int    `json:"quantity"`
		Error         *struct {
			ErrorCode        any    `json:"errorCode"`
			ErrorDescription string `json:"errorDescription"`
		} `json:"error"`
	} `json:"lineItems"`
}

func lineItem(item string, qty int, cycle, term string) map[string]any {
	return map[string]any{"id": 0, "catalogItemId": item, "quantity": qty, "billingCycle": cycle, "termDuration": term}
}

func cartOf(lines ...map[string]any) map[string]any {
	for i, l := range lines {
		l["id"] = i
	}
	return map[string]any{"lineItems": lines}
}

func TestCartCreated(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.appToken()
	cid := sb.customers(tok)[0].ID
	base := "/v1/customers/" + cid + "/carts"

	var cart cartView
	sb.must(http.StatusCreated, "POST", base, tok, cartOf(lineItem("cfq7ttc0lf8q:0001:cfq7ttc0k39x", 12, "Annual", "P1Y")), &cart)
	if cart.Status != "Active" || len(cart.LineItems) != 1 || cart.LineItems[0].CatalogItemID != e1CatalogID || cart.LineItems[0].Error != nil {
		t.Fatalf("cart %+v", cart)
	}
	var again cartView
	sb.must(http.StatusOK, "GET", base+"/"+cart.ID, tok, nil, &again)
	if again.ID != cart.ID || again.Status != "Active" {
		t.Errorf("GET cart %+v", again)
	}
}

// TestCartLineErrors: a bad line does not fail the request ("error … Applied after cart is created if an error
// occurred", cart-resources.md): the cart is created and the line carries {errorCode, errorDescription} with its
// CartErrorCode number. Checking such a cart out buys nothing and answers 400 / 800009; only a body that is not
// JSON or has no line is refused outright.
func TestCartLineErrors(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.appToken()
	cid := sb.customers(tok)[0].ID
	base := "/v1/customers/" + cid + "/carts"
	basic := "CFQ7TTC0LH18:0001:CFQ7TTC0K971"
	good := func() map[string]any { return lineItem(e1CatalogID, 3, "monthly", "P1Y") }
	tests := []struct {
		name string
		bad  map[string]any
		code float64
	}{
		{"unknown catalog item", lineItem("CFQ7TTC0XXXX:0001:CFQ7TTC0XXXX", 1, "annual", "P1Y"), codeCatalogItemInvalid},
		{"legacy E1 offer id", lineItem("91FD106F-4B2C-4938-95AC-F54F74E9A239", 1, "annual", "P1Y"), codeLegacyNotEligible},
		{"legacy Kaizala offer id", lineItem(kaizalaOffer, 1, "annual", "P1Y"), codeLegacyNotEligible},
		{"zero seats", lineItem(e1CatalogID, 0, "annual", "P1Y"), codeCartInvalidInput},
		{"too many Business seats", lineItem(basic, 301, "monthly", "P1Y"), codeCartMaxSeats},
		{"no billing cycle", lineItem(e1CatalogID, 1, "", "P1Y"), codeCartInvalidInput},
		{"unknown billing cycle", lineItem(e1CatalogID, 1, "weekly", "P1Y"), codeCartInvalidInput},
		{"unknown term", lineItem(e1CatalogID, 1, "monthly", "P2Y"), codeCartInvalidInput},
		{"term the availability does not offer", lineItem(e1CatalogID, 1, "annual", "P1M"), codeCartInvalidInput},
	}
	before := len(sb.subscriptions(tok, cid))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cart cartView
			sb.must(http.StatusCreated, "POST", base, tok, cartOf(good(), tc.bad), &cart)
			if len(cart.LineItems) != 2 || cart.LineItems[0].Error != nil {
				t.Fatalf("cart lines %+v: want the good line without error", cart.LineItems)
			}
			e := cart.LineItems[1].Error
			if e == nil {
				t.Fatalf("bad line has no error: %+v", cart.LineItems[1])
			}
			if code, ok := e.ErrorCode.(float64); !ok || code != tc.code || e.ErrorDescription == "" {
				t.Errorf("line error %+v, want errorCode %v (a number) with a description", e, tc.code)
			}
			var got cartView
			sb.must(http.StatusOK, "GET", base+"/"+cart.ID, tok, nil, &got)
			if got.LineItems[1].Error == nil {
				t.Errorf("GET cart lost the line error")
			}
			for range 2 { // refused every time: the refusal is not kept as the cart's answer
				a := sb.must(http.StatusBadRequest, "POST", base+"/"+cart.ID+"/checkout", tok, nil, nil)
				if got := codeOf(t, a.body); got != codeCartItemErrors {
					t.Errorf("checkout: code %v, want %v", got, codeCartItemErrors)
				}
			}
			sb.must(http.StatusOK, "GET", base+"/"+cart.ID, tok, nil, &got)
			if got.Status != "Active" {
				t.Errorf("cart status %q after a refused checkout, want Active", got.Status)
			}
		})
	}
	if got := len(sb.subscriptions(tok, cid)); got != before {
		t.Errorf("refused checkouts created %d subscriptions", got-before)
	}
	if st, l := sb.srv.Stats(), sb.srv.Ledger(); st.OrdersCreated != 0 || st.CartsCheckedOut != 0 || len(l) != 0 {
		t.Errorf("refused checkouts moved money: stats %+v, ledger %+v", st, l)
	}

	t.Run("refused outright", func(t *testing.T) {
		for _, body := range []any{map[string]any{"lineItems": []any{}}, `{"lineItems": [`} {
			sb.must(http.StatusBadRequest, "POST", base, tok, body, nil)
		}
		a := sb.must(http.StatusNotFound, "POST", base+"/nope/checkout", tok, nil, nil)
		if got := codeOf(t, a.body); got != codeCartNotFound {
			t.Errorf("unknown cart: code %v", got)
		}
	})
}

// TestCartExpiry: "carts expire 7 days from initial creation". From then on GET and checkout answer 404 / 800008
// (the docs do not say what; UNCONFIRMED), for a checked-out cart too, whose order stays readable.
func TestCartExpiry(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name       string
		checkedOut bool
		after      time.Duration
		status     int // of GET cart and of (another) checkout
	}{
		{"open, a moment before", false, cartLifetime - time.Millisecond, http.StatusCreated},
		{"open, at 7 days", false, cartLifetime, http.StatusNotFound},
		{"checked out, a moment before", true, cartLifetime - time.Millisecond, http.StatusCreated},
		{"checked out, at 7 days", true, cartLifetime, http.StatusNotFound},
		{"checked out, a month later", true, 30 * 24 * time.Hour, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			sb := newSandbox(t, func(o *Options) { o.Now = clk.Now })
			tok := sb.appToken()
			cid := sb.customers(tok)[0].ID
			base := "/v1/customers/" + cid + "/carts"
			var cart cartView
			sb.must(http.StatusCreated, "POST", base, tok, cartOf(lineItem(e1CatalogID, 2, "monthly", "P1M")), &cart)
			if cart.ExpirationTimestamp != instant(t0.Add(7*24*time.Hour)) {
				t.Errorf("expirationTimestamp %s", cart.ExpirationTimestamp)
			}
			var orderID string
			if tc.checkedOut {
				var res checkoutView
				sb.must(http.StatusCreated, "POST", base+"/"+cart.ID+"/checkout", tok, nil, &res)
				orderID = res.Orders[0].ID
			}
			clk.Advance(tc.after)
			tok = sb.appToken() // the last one has expired by now

			getStatus := http.StatusOK
			if tc.status == http.StatusNotFound {
				getStatus = http.StatusNotFound
			}
			a := sb.must(getStatus, "GET", base+"/"+cart.ID, tok, nil, nil)
			if getStatus == http.StatusNotFound && codeOf(t, a.body) != codeCartNotFound {
				t.Errorf("GET expired cart: %s", a.body)
			}
			a = sb.must(tc.status, "POST", base+"/"+cart.ID+"/checkout", tok, nil, nil)
			if tc.status == http.StatusNotFound && codeOf(t, a.body) != codeCartNotFound {
				t.Errorf("checkout of an expired cart: %s", a.body)
			}
			wantCheckouts := int64(0)
			if tc.checkedOut || tc.status == http.StatusCreated {
				wantCheckouts = 1
			}
			if got := sb.srv.Stats().CartsCheckedOut; got != wantCheckouts {
				t.Errorf("%d checkouts, want %d", got, wantCheckouts)
			}
			if orderID != "" {
				var o orderView
				sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/orders/"+orderID, tok, nil, &o)
				if o.Status != "completed" || !strings.EqualFold(o.ID, orderID) {
					t.Errorf("order of the expired cart %+v", o)
				}
			}
		})
	}
}
