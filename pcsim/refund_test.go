package pcsim

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestRefunds: a new-commerce cancellation or seat reduction inside the cancellation window is in the ledger
// with the refunded seats and their prorated list value (quantity × monthly price × months of the term × unused
// days / term days, in cents); legacy reductions and seat additions are not money movements of their own.
func TestRefunds(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC) // P1Y: 2026-03-10 to 2027-03-09, 365 days
	bb := planBusinessBasic.catalogItemID()
	tests := []struct {
		name      string
		item      string // "" = a legacy E1 order
		qty       int
		term      string
		after     time.Duration // from the purchase to the PATCH
		patch     map[string]any
		async     bool // the PATCH is answered 202 and applied AsyncPatchDelay later
		kind      LedgerKind
		quantity  int
		refundQty int
		amount    float64
	}{
		{"cancel at once", e1CatalogID, 5, "P1Y", 0, map[string]any{"status": "deleted"}, false, LedgerCancellation, 5, 5, 600.00},
		// 5 × $10 × 12 × 362/365 = 595.068…
		{"cancel on day 3", e1CatalogID, 5, "P1Y", 72 * time.Hour, map[string]any{"status": "deleted"}, false, LedgerCancellation, 5, 5, 595.07},
		{"cancel answered 202", e1CatalogID, 5, "P1Y", 72 * time.Hour, map[string]any{"status": "deleted"}, true, LedgerCancellation, 5, 5, 595.07},
		// 4 × $6 × 1, term 2026-03-10 to 2026-04-09 (31 days), 29 unused: 22.451…
		{"cancel a monthly term on day 2", bb, 4, "P1M", 48 * time.Hour, map[string]any{"status": "deleted"}, false, LedgerCancellation, 4, 4, 22.45},
		{"remove 2 of 5 seats at once", e1CatalogID, 5, "P1Y", 0, map[string]any{"quantity": 3}, false, LedgerReduction, 3, 2, 240.00},
		// 2 × $10 × 12 × 360/365 = 236.712…
		{"remove 2 of 5 seats on day 5", e1CatalogID, 5, "P1Y", 120 * time.Hour, map[string]any{"quantity": 3}, false, LedgerReduction, 3, 2, 236.71},
		{"add seats", e1CatalogID, 5, "P1Y", 0, map[string]any{"quantity": 7}, false, "", 0, 0, 0},
		{"remove legacy seats", "", 5, "P1Y", 0, map[string]any{"quantity": 3}, false, "", 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			sb := newSandbox(t, func(o *Options) {
				o.Now, o.AsyncPatchRate, o.LegacyPurchases = clk.Now, 0, true
				if tc.async {
					o.AsyncPatchRate = 1
				}
			})
			tok := sb.userToken()
			cid := kaizalaCustomersFirst(sb)
			var sid string
			if tc.item == "" {
				sid = sb.buyLegacy(tok, cid, tc.qty)
			} else {
				sid = sb.buyNCE(tok, cid, tc.item, tc.qty, "monthly", tc.term)
			}
			path := subPath(cid, sid)
			clk.Advance(tc.after)
			tok = sb.userToken()
			headers := []string{"MS-RequestId", "refund-" + tc.name}
			if tc.item == "" {
				var sub subscriptionView
				sb.must(http.StatusOK, "GET", path, tok, nil, &sub)
				headers = append(headers, "If-Match", sub.Attributes.Etag)
			}
			want := http.StatusOK
			if tc.async {
				want = http.StatusAccepted
			}
			sb.must(want, "PATCH", path, tok, tc.patch, nil, headers...)
			if tc.async {
				clk.Advance(time.Second)
				sb.must(http.StatusOK, "GET", path, tok, nil, nil) // shows, and so applies, the change
			}

			var got []LedgerEntry
			for _, e := range sb.srv.Ledger() {
				if e.SubscriptionID == sid && e.Kind != LedgerCheckout && e.Kind != LedgerOrder {
					got = append(got, e)
				}
			}
			if tc.kind == "" {
				if len(got) != 0 {
					t.Fatalf("ledger entries %+v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("ledger entries %+v, want one %s", got, tc.kind)
			}
			e := got[0]
			if e.Kind != tc.kind || e.Quantity != tc.quantity || e.RefundQuantity != tc.refundQty ||
				e.RefundAmount != tc.amount || e.Currency != "USD" || e.MSRequestID != "refund-"+tc.name {
				t.Errorf("entry %+v, want %s quantity %d refund %d × %.2f USD", e, tc.kind, tc.quantity, tc.refundQty, tc.amount)
			}
		})
	}
}

// TestRefundOnTheWire: the ledger's JSON carries refundQuantity, refundAmount and currency for a refund, and
// leaves them out elsewhere.
func TestRefundOnTheWire(t *testing.T) {
	sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate = 0 })
	tok := sb.userToken()
	cid := kaizalaCustomersFirst(sb)
	sid := sb.buyNCE(tok, cid, planBusinessPremium.catalogItemID(), 2, "annual", "P1Y")
	sb.must(http.StatusOK, "PATCH", subPath(cid, sid), tok, map[string]any{"status": "deleted"}, nil)
	var p struct {
		Items []map[string]any `json:"items"`
	}
	sb.must(http.StatusOK, "GET", LedgerPath, "", nil, &p)
	seen := 0
	for _, e := range p.Items {
		if e["subscriptionId"] != sid {
			continue
		}
		raw, _ := json.Marshal(e)
		switch e["kind"] {
		case "checkout":
			if _, ok := e["refundAmount"]; ok {
				t.Errorf("checkout entry %s", raw)
			}
		case "cancellation":
			seen++
			// 2 × $22 × 12, cancelled the day it was bought
			if e["refundQuantity"] != 2.0 || e["refundAmount"] != 528.0 || e["currency"] != "USD" {
				t.Errorf("cancellation entry %s", raw)
			}
		}
	}
	if seen != 1 {
		t.Errorf("%d cancellation entries, want 1", seen)
	}
}

// TestRefundAmount covers the proration edges of the model directly.
func TestRefundAmount(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sub := func(p *plan, term string) *subscription {
		return &subscription{plan: p, start: start, end: termEnd(start, term), termDuration: term}
	}
	tests := []struct {
		name string
		sub  *subscription
		qty  int
		at   time.Time
		want float64
		ok   bool
	}{
		{"P3Y in full", sub(planO365E1, "P3Y"), 1, start.Add(time.Hour), 360, true},
		{"last day", sub(planO365E1, "P1M"), 1, start.AddDate(0, 0, 30), 0.32, true}, // 10 × 1/31
		{"after the term", sub(planO365E1, "P1M"), 1, start.AddDate(0, 2, 0), 0, true},
		{"no list price", sub(planKaizala, "P1Y"), 3, start, 0, false},
		{"no seats", sub(planO365E1, "P1Y"), 0, start, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := refundAmount(tc.sub, tc.qty, tc.at)
			if got != tc.want || ok != tc.ok {
				t.Errorf("refundAmount = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
