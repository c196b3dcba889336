package pcsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

func spbInstructions(qty int) map[string]any {
	p := planBusinessPremium
	return map[string]any{
		"autoRenewEnabled": true,
		"scheduledNextTermInstructions": map[string]any{
			"product": map[string]any{
				"productId": p.ProductID, "skuId": p.NCESkuID, "availabilityId": p.Availability,
				"billingCycle": "monthly", "termDuration": "P1Y",
			},
			"quantity": qty,
		},
	}
}

// TestRenewalIntoScheduledChange: instructions are stored and shown; when sandbox time passes the commitment end
// the subscription renews into the target, its holders hold the target, and the cancellation window opens again.
func TestRenewalIntoScheduledChange(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
	clk := &clock{t: t0}
	sb := newSandbox(t, func(o *Options) { o.Now, o.AsyncPatchRate = clk.Now, 0 })
	tok := sb.userToken()
	cid := kaizalaCustomersFirst(sb)
	sid := sb.buyNCE(tok, cid, e1CatalogID, 3, "monthly", "P1Y")
	path := subPath(cid, sid)

	var holders []string
	sb.srv.mu.Lock()
	for _, u := range sb.srv.world.customer(cid).users[:3] {
		if !u.holds(e1SkuID) {
			u.licenses = append(u.licenses, heldLicense{skuID: e1SkuID})
		}
		holders = append(holders, u.id)
	}
	sb.srv.mu.Unlock()

	sb.must(http.StatusOK, "PATCH", path, tok, spbInstructions(3), nil)
	got := sb.rawSubscription(tok, path)
	var shown scheduledJSON
	raw, _ := json.Marshal(got["scheduledNextTermInstructions"])
	_ = json.Unmarshal(raw, &shown)
	want := scheduledJSON{Quantity: 3, Product: scheduledProductJSON{
		ProductID: planBusinessPremium.ProductID, SkuID: planBusinessPremium.NCESkuID,
		AvailabilityID: planBusinessPremium.Availability, BillingCycle: "monthly", TermDuration: "P1Y",
	}}
	if shown != want {
		t.Fatalf("scheduledNextTermInstructions %s, want %+v", raw, want)
	}

	if err := sb.srv.AdvanceClock(366 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	tok = sb.userToken()
	got = sb.rawSubscription(tok, path)
	renewedOn := time.Date(2027, 3, 10, 0, 0, 0, 0, time.UTC)
	if got["offerId"] != planBusinessPremium.catalogItemID() || got["scheduledNextTermInstructions"] != nil ||
		got["effectiveStartDate"] != dayStart(renewedOn) || got["commitmentEndDate"] != dayStart(renewedOn.AddDate(1, 0, -1)) ||
		got["cancellationAllowedUntilDate"] != instant(renewedOn.Add(168*time.Hour)) {
		t.Fatalf("after the renewal: %v", got)
	}
	for _, uid := range holders {
		l := sb.licenses(tok, cid, uid)
		if slices.Contains(l, e1SkuID) || !slices.Contains(l, planBusinessPremium.SkuID) {
			t.Errorf("user %s holds %v after the renewal", uid, l)
		}
	}
	renewals := 0
	for _, e := range sb.srv.Ledger() {
		if e.SubscriptionID == sid && e.Kind == LedgerRenewal {
			renewals++
			if e.SkuID != planBusinessPremium.NCESkuID || e.Quantity != 3 || !e.At.Equal(renewedOn) {
				t.Errorf("renewal entry %+v", e)
			}
		}
	}
	if renewals != 1 {
		t.Errorf("%d renewal entries, want 1", renewals)
	}
	// The renewal opened the cancellation window again.
	sb.must(http.StatusOK, "PATCH", path, tok, map[string]any{"status": "deleted"}, nil)
}

// TestScheduledChangeDeleted: auto-renew off, a quantity change or a suspension deletes the instructions, and
// instructions without auto-renew are refused.
func TestScheduledChangeDeleted(t *testing.T) {
	tests := []struct {
		name string
		body map[string]any
	}{
		{"auto-renew off", map[string]any{"autoRenewEnabled": false}},
		{"quantity changed", map[string]any{"quantity": 5}},
		{"suspended", map[string]any{"status": "suspended"}},
		{"removed", map[string]any{"scheduledNextTermInstructions": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate = 0 })
			tok := sb.userToken()
			cid := kaizalaCustomersFirst(sb)
			path := subPath(cid, sb.buyNCE(tok, cid, e1CatalogID, 3, "monthly", "P1Y"))
			sb.must(http.StatusOK, "PATCH", path, tok, spbInstructions(3), nil)
			sb.must(http.StatusOK, "PATCH", path, tok, tc.body, nil)
			if got := sb.rawSubscription(tok, path); got["scheduledNextTermInstructions"] != nil {
				t.Errorf("instructions kept: %v", got["scheduledNextTermInstructions"])
			}
		})
	}
	t.Run("refused without auto-renew", func(t *testing.T) {
		sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate = 0 })
		tok := sb.userToken()
		cid := kaizalaCustomersFirst(sb)
		path := subPath(cid, sb.buyNCE(tok, cid, e1CatalogID, 3, "monthly", "P1Y"))
		body := spbInstructions(3)
		body["autoRenewEnabled"] = false
		sb.must(http.StatusBadRequest, "PATCH", path, tok, body, nil)
	})
}

// TestReactivateSuspendedLegacy: a suspended legacy subscription is reactivated with PATCH status active.
func TestReactivateSuspendedLegacy(t *testing.T) {
	sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate = 0 })
	tok := sb.userToken()
	var cid, sid string
	sb.srv.mu.Lock()
	for _, c := range sb.srv.world.customers {
		for _, s := range c.subs {
			if !s.nce && s.status == "suspended" && cid == "" {
				cid, sid = c.id, s.id
			}
		}
	}
	sb.srv.mu.Unlock()
	if cid == "" {
		t.Fatal("the seed has no suspended legacy subscription")
	}
	var sub subscriptionView
	sb.must(http.StatusOK, "GET", subPath(cid, sid), tok, nil, &sub)
	sb.must(http.StatusOK, "PATCH", subPath(cid, sid), tok, map[string]any{"status": "active"}, &sub, "If-Match", sub.Attributes.Etag)
	if sub.Status != "active" {
		t.Errorf("status %s after reactivation", sub.Status)
	}
	last := sb.srv.Ledger()[len(sb.srv.Ledger())-1]
	if last.Kind != LedgerReactivation || last.SubscriptionID != sid {
		t.Errorf("last ledger entry %+v", last)
	}
}

// kaizalaCustomersFirst is a readable customer with users (the first Kaizala holder in listing order).
func kaizalaCustomersFirst(sb *sandbox) string {
	holders := kaizalaCustomers(sb)
	sb.srv.mu.Lock()
	defer sb.srv.mu.Unlock()
	for _, c := range sb.srv.world.customers {
		if _, ok := holders[c.id]; ok && len(c.users) >= 3 {
			return c.id
		}
	}
	sb.t.Fatal("no readable customer with users")
	return ""
}
