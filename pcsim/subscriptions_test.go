package pcsim

import (
	"net/http"
	"testing"
)

// TestSuspendKaizala is step C: PATCH of a legacy subscription needs the current ETag (else 400 / 2055), and a
// suspended subscription's seats leave the licence pool.
func TestSuspendKaizala(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.userToken()
	var cid string
	var sub subscriptionView
	for _, c := range sb.customers(tok) {
		if k, ok := kaizalaSub(sb.subscriptions(tok, c.ID)); ok {
			cid, sub = c.ID, k
			break
		}
	}
	path := "/v1/customers/" + cid + "/subscriptions/" + sub.ID
	before, _ := sb.pool(tok, cid, kaizalaSkuID)
	if before.AvailableUnits != before.TotalUnits-before.ConsumedUnits || before.TotalUnits != sub.Quantity {
		t.Fatalf("Kaizala pool before: %+v for %d seats", before, sub.Quantity)
	}
	// The doc's request body: the full resource in PascalCase with Status changed.
	suspend := map[string]any{"Id": sub.ID, "Quantity": sub.Quantity, "Status": "suspended", "AutoRenewEnabled": false}

	for _, tc := range []struct{ name, ifMatch string }{{"no If-Match", ""}, {"stale If-Match", `"eyJpZCI6InN0YWxlIn0="`}} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.ifMatch != "" {
				headers = []string{"If-Match", tc.ifMatch}
			}
			// The documented answer is 400 / 2055 "Etag is no longer valid" (error-codes.md), not 412.
			a := sb.must(http.StatusBadRequest, "PATCH", path, tok, suspend, nil, headers...)
			if got := codeOf(t, a.body); got != codeEtagInvalid {
				t.Errorf("code %v, want %v", got, codeEtagInvalid)
			}
		})
	}

	var fresh, suspended subscriptionView
	sb.must(http.StatusOK, "GET", path, tok, nil, &fresh)
	sb.must(http.StatusOK, "PATCH", path, tok, suspend, &suspended, "If-Match", `W/"`+fresh.Attributes.Etag+`"`)
	if suspended.Status != "suspended" || suspended.Attributes.Etag == fresh.Attributes.Etag {
		t.Fatalf("after PATCH: status %q, etag changed %v", suspended.Status, suspended.Attributes.Etag != fresh.Attributes.Etag)
	}
	after, _ := sb.pool(tok, cid, kaizalaSkuID)
	if after.TotalUnits != 0 || after.AvailableUnits != 0 || after.SuspendedUnits != sub.Quantity {
		t.Errorf("Kaizala pool after suspending: %+v, before %+v", after, before)
	}

	t.Run("suspending again changes nothing", func(t *testing.T) {
		var again subscriptionView
		sb.must(http.StatusOK, "PATCH", path, tok, suspend, &again, "If-Match", suspended.Attributes.Etag)
		if again.Attributes.Etag != suspended.Attributes.Etag || again.Status != "suspended" {
			t.Errorf("no-op PATCH changed the subscription: %+v", again)
		}
	})
	t.Run("reactivate", func(t *testing.T) {
		var active subscriptionView
		sb.must(http.StatusOK, "PATCH", path, tok, map[string]any{"status": "active"}, &active, "If-Match", suspended.Attributes.Etag)
		if p, _ := sb.pool(tok, cid, kaizalaSkuID); active.Status != "active" || p.AvailableUnits != before.AvailableUnits {
			t.Errorf("after reactivation: %q, pool %+v", active.Status, p)
		}
	})
}

func TestPatchRefusals(t *testing.T) {
	sb := newSandbox(t, legacyWorld)
	tok := sb.appToken()
	cid := sb.customers(tok)[0].ID
	var o struct {
		LineItems []struct {
			SubscriptionID string `json:"subscriptionId"`
		} `json:"lineItems"`
	}
	sb.must(http.StatusCreated, "POST", "/v1/customers/"+cid+"/orders", tok, map[string]any{"lineItems": []map[string]any{
		{"lineItemNumber": 0, "offerId": "BD938F12-058F-4927-BBA3-AE36B1D2501C", "quantity": 5},
	}}, &o)
	path := "/v1/customers/" + cid + "/subscriptions/" + o.LineItems[0].SubscriptionID

	tests := []struct {
		name   string
		body   any
		status int
		code   float64
	}{
		{"quantity over the Business maximum", map[string]any{"quantity": 301}, 400, codeQuantityRange},
		{"unknown status", map[string]any{"status": "deleted"}, 400, codeStatusChange},
		{"suspend and resize at once", map[string]any{"status": "suspended", "quantity": 9}, 400, codeQuantitySuspended},
		{"malformed body", `{"status": `, 400, codeInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cur subscriptionView
			sb.must(http.StatusOK, "GET", path, tok, nil, &cur)
			a := sb.must(tc.status, "PATCH", path, tok, tc.body, nil, "If-Match", cur.Attributes.Etag)
			if got := codeOf(t, a.body); got != tc.code {
				t.Errorf("code %v, want %v", got, tc.code)
			}
		})
	}
	t.Run("unknown subscription", func(t *testing.T) {
		a := sb.must(http.StatusNotFound, "PATCH", "/v1/customers/"+cid+"/subscriptions/00000000-0000-4000-8000-000000000000",
			tok, map[string]any{"status": "suspended"}, nil, "If-Match", "x")
		if got := codeOf(t, a.body); got != codeSubNotFound {
			t.Errorf("code %v, want %v", got, codeSubNotFound)
		}
	})
	t.Run("resize", func(t *testing.T) {
		var cur, resized subscriptionView
		sb.must(http.StatusOK, "GET", path, tok, nil, &cur)
		sb.must(http.StatusOK, "PATCH", path, tok, map[string]any{"quantity": 12, "friendlyName": "more"}, &resized, "If-Match", cur.Attributes.Etag)
		if resized.Quantity != 12 {
			t.Errorf("quantity %d, want 12", resized.Quantity)
		}
	})
}
