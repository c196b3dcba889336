package pcsim

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// worldSnapshot is what Options.Commerce must not change: customers, their users and licences, and the
// subscriptions' ids, plans and quantities.
func worldSnapshot(sb *sandbox) string {
	sb.srv.mu.Lock()
	defer sb.srv.mu.Unlock()
	var b strings.Builder
	for _, c := range sb.srv.world.customers {
		b.WriteString(c.id + " " + c.companyName + "\n")
		for _, s := range c.subs {
			b.WriteString(" " + s.id + " " + s.plan.Name + " " + itoa(s.quantity) + " " + s.status + "\n")
		}
		for _, u := range c.users {
			b.WriteString(" " + u.id + " " + u.upn + " " + u.usageLocation)
			for _, l := range u.licenses {
				b.WriteString(" " + l.skuID)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// TestCommerceKinds: each Options.Commerce builds the same customers, users and subscriptions, differing only in
// which subscriptions are new commerce; Kaizala Pro is legacy in all of them, and orders agree with their
// subscriptions.
func TestCommerceKinds(t *testing.T) {
	base := worldSnapshot(newSandbox(t, func(o *Options) { o.Commerce = CommerceLegacy }))
	tests := []struct {
		commerce string
		retired  bool                                     // RetiredNCE is not empty
		nce      func(s *subscription, retired bool) bool // the kind each seeded subscription must have
	}{
		{CommerceLegacy, false, func(*subscription, bool) bool { return false }},
		{CommerceMixed, true, func(s *subscription, retired bool) bool { return s.plan == planBusinessPremium || retired }},
		{"", true, func(s *subscription, retired bool) bool { return s.plan == planBusinessPremium || retired }}, // default: mixed
		{CommerceNCE, true, func(s *subscription, _ bool) bool { return s.plan != planKaizala }},
	}
	for _, tc := range tests {
		t.Run("commerce="+tc.commerce, func(t *testing.T) {
			sb := newSandbox(t, func(o *Options) { o.Commerce = tc.commerce })
			if got := worldSnapshot(sb); got != base {
				t.Fatalf("the world changed beyond commerce kinds:\n%s\nwant\n%s", got, base)
			}
			refs := sb.srv.RetiredNCE()
			if (len(refs) > 0) != tc.retired {
				t.Fatalf("RetiredNCE %+v, want some: %v", refs, tc.retired)
			}
			retired := map[string]bool{}
			for _, r := range refs {
				retired[r.SubscriptionID] = true
			}
			sb.srv.mu.Lock()
			defer sb.srv.mu.Unlock()
			for _, c := range sb.srv.world.customers {
				for _, s := range c.subs {
					want := tc.nce(s, retired[s.id])
					wantOffer := s.plan.OfferID
					if want {
						wantOffer = s.plan.catalogItemID()
					}
					if s.nce != want || s.offerID != wantOffer {
						t.Errorf("%s %s: nce %v offer %s, want nce %v offer %s", c.companyName, s.plan.Name, s.nce, s.offerID, want, wantOffer)
					}
					o := c.order(s.orderID)
					if o == nil || o.nce != s.nce || o.lines[0].offerID != s.offerID || !o.created.Equal(s.created) {
						t.Errorf("%s %s: order %+v does not match its subscription", c.companyName, s.plan.Name, o)
					}
				}
			}
		})
	}
}

// TestRetiredNCE: the default test world has non-renewing new-commerce Office 365 E3 subscriptions, about a
// quarter of the reachable Office 365 E3 customers', ending 20 to 90 days out, bought a year before, with the
// cancellation window closed and nothing refundable, their holders unchanged. The same seed gives the same ones.
func TestRetiredNCE(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.userToken()
	refs := sb.srv.RetiredNCE()
	if len(refs) == 0 {
		t.Fatal("no retired NCE Office 365 E3 subscription in the default 30-customer world")
	}
	if again := New(sb.srv.opts).RetiredNCE(); !slices.Equal(again, refs) {
		t.Errorf("same seed: %+v, then %+v", refs, again)
	}
	today := midnight(time.Now())
	denied := sb.srv.AccessDenied()
	candidates := 0
	sb.srv.mu.Lock()
	for _, c := range sb.srv.world.customers {
		if c.access == 0 && slices.ContainsFunc(c.subs, func(s *subscription) bool { return s.plan == planO365E3 }) {
			candidates++
		}
	}
	sb.srv.mu.Unlock()
	if len(refs) > max(1, candidates/2) {
		t.Errorf("%d of %d Office 365 E3 customers retired, want about a quarter", len(refs), candidates)
	}
	for _, r := range refs {
		if denied[r.CustomerID] != "" {
			t.Errorf("%s: retired subscription of an unreachable customer", r.CustomerID)
		}
		days := int(r.EndDate.Sub(today) / (24 * time.Hour))
		if days < 20 || days > 90 {
			t.Errorf("%s ends in %d days, want 20 to 90", r.SubscriptionID, days)
		}
		got := sb.rawSubscription(tok, subPath(r.CustomerID, r.SubscriptionID))
		start := r.EndDate.AddDate(-1, 0, 1)
		if got["offerId"] != planO365E3.catalogItemID() || got["autoRenewEnabled"] != false || got["status"] != "active" ||
			got["commitmentEndDate"] != dayStart(r.EndDate) || got["effectiveStartDate"] != dayStart(start) ||
			got["termDuration"] != "P1Y" {
			t.Errorf("retired subscription %v", got)
		}
		until, err := time.Parse(time.RFC3339, got["cancellationAllowedUntilDate"].(string))
		if err != nil || !until.Before(time.Now()) {
			t.Errorf("cancellation window until %v (%v), want closed", got["cancellationAllowedUntilDate"], err)
		}
		if rq := got["refundableQuantity"].(map[string]any); rq["totalQuantity"] != 0.0 {
			t.Errorf("refundableQuantity %v", rq)
		}
		var o orderView
		sb.must(http.StatusOK, "GET", "/v1/customers/"+r.CustomerID+"/orders/"+got["orderId"].(string), tok, nil, &o)
		if o.LineItems[0].OfferID != planO365E3.catalogItemID() || o.LineItems[0].SubscriptionID != r.SubscriptionID {
			t.Errorf("order %+v", o)
		}
		// Cancelling or reducing it is refused: the window is long closed.
		sb.must(http.StatusBadRequest, "PATCH", subPath(r.CustomerID, r.SubscriptionID), tok, map[string]any{"status": "deleted"}, nil)
	}
}

// e3Holders lists the users of cid holding Office 365 E3.
func e3Holders(sb *sandbox, cid string) []string {
	sb.srv.mu.Lock()
	defer sb.srv.mu.Unlock()
	var out []string
	for _, u := range sb.srv.world.customer(cid).users {
		if u.holds(planO365E3.SkuID) {
			out = append(out, u.id)
		}
	}
	return out
}

func scheduleInto(p *plan, qty int) map[string]any {
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

// TestRetiredRenewsIntoM365E3: a retired NCE Office 365 E3 subscription takes a scheduled change to Microsoft 365
// E3 with auto-renew turned on, and at its renewal its holders hold Microsoft 365 E3 instead of Office 365 E3.
func TestRetiredRenewsIntoM365E3(t *testing.T) {
	sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate = 0 })
	tok := sb.userToken()
	r := sb.srv.RetiredNCE()[0]
	path := subPath(r.CustomerID, r.SubscriptionID)
	holders := e3Holders(sb, r.CustomerID)
	if len(holders) == 0 {
		t.Fatal("the retired subscription has no holders")
	}
	var sub subscriptionView
	sb.must(http.StatusOK, "GET", path, tok, nil, &sub)

	var sched page[eligibilityView]
	sb.must(http.StatusOK, "GET", eligPath(r.CustomerID, r.SubscriptionID, "scheduled"), tok, nil, &sched)
	if !slices.ContainsFunc(sched.Items, func(e eligibilityView) bool { return e.CatalogItemID == planM365E3.catalogItemID() }) {
		t.Errorf("scheduled eligibilities %+v lack Microsoft 365 E3", sched.Items)
	}

	sb.must(http.StatusOK, "PATCH", path, tok, scheduleInto(planM365E3, sub.Quantity), nil)
	if got := sb.rawSubscription(tok, path); got["autoRenewEnabled"] != true || got["scheduledNextTermInstructions"] == nil {
		t.Fatalf("after scheduling: %v", got)
	}

	if err := sb.srv.AdvanceClock(time.Until(r.EndDate.AddDate(0, 0, 1)) + time.Hour); err != nil {
		t.Fatal(err)
	}
	got := sb.rawSubscription(tok, path)
	if got["offerId"] != planM365E3.catalogItemID() || got["commitmentEndDate"] != dayStart(r.EndDate.AddDate(1, 0, 0)) {
		t.Errorf("after the renewal: %v", got)
	}
	for _, uid := range holders {
		l := sb.licenses(tok, r.CustomerID, uid)
		if slices.Contains(l, planO365E3.SkuID) || !slices.Contains(l, planM365E3.SkuID) {
			t.Errorf("user %s holds %v after the renewal", uid, l)
		}
	}
	if !slices.ContainsFunc(sb.srv.Ledger(), func(e LedgerEntry) bool {
		return e.Kind == LedgerRenewal && e.SubscriptionID == r.SubscriptionID && e.ProductID == planM365E3.ProductID
	}) {
		t.Error("no renewal into Microsoft 365 E3 in the ledger")
	}
}

// TestScheduledEligibilities: a new-commerce source may be scheduled into every other new-commerce product of
// the catalog, with or without licence transfer; a legacy source into none.
func TestScheduledEligibilities(t *testing.T) {
	sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate = 0 })
	tok := sb.userToken()
	cid := kaizalaCustomersFirst(sb)
	kaizala := kaizalaCustomers(sb)[cid]
	e1 := sb.buyNCE(tok, cid, e1CatalogID, 3, "monthly", "P1Y")
	var nceProducts int
	for _, p := range catalog {
		if p.ProductID != "" {
			nceProducts++
		}
	}
	tests := []struct {
		name string
		sid  string
		want int
	}{
		{"legacy Kaizala Pro", kaizala, 0},
		{"new-commerce O365 E1", e1, nceProducts - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p page[eligibilityView]
			sb.must(http.StatusOK, "GET", eligPath(cid, tc.sid, "scheduled"), tok, nil, &p)
			if p.TotalCount != tc.want || len(p.Items) != tc.want {
				t.Fatalf("%d items, want %d: %+v", p.TotalCount, tc.want, p.Items)
			}
			for _, it := range p.Items {
				if it.CatalogItemID == e1CatalogID || planByCatalogItem(it.CatalogItemID) == nil || it.Quantity != 3 {
					t.Errorf("item %+v", it)
				}
				if len(it.Eligibilities) != 2 || !it.Eligibilities[0].IsEligible || !it.Eligibilities[1].IsEligible {
					t.Errorf("%s: %+v", it.CatalogItemID, it.Eligibilities)
				}
			}
		})
	}
}

// TestNCEO365E3Transition: new-commerce Office 365 E3 may be upgraded at once to Microsoft 365 E5 only, and only
// once its cancellation window is over (code 2 inside it); the upgrade moves its holders and expires the source.
func TestNCEO365E3Transition(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
	clk := &clock{t: t0}
	sb := newSandbox(t, func(o *Options) { o.Now, o.AsyncPatchRate, o.ProvisioningDelay = clk.Now, 0, time.Minute })
	tok := sb.userToken()
	cid := kaizalaCustomersFirst(sb)
	sid := sb.buyNCE(tok, cid, planO365E3.catalogItemID(), 3, "monthly", "P1Y")
	var holders []string
	sb.srv.mu.Lock()
	for _, u := range sb.srv.world.customer(cid).users {
		if !u.holds(planO365E3.SkuID) && len(holders) < 3 {
			u.licenses = append(u.licenses, heldLicense{skuID: planO365E3.SkuID})
			holders = append(holders, u.id)
		}
	}
	sb.srv.mu.Unlock()

	eligible := func(want bool, code int) {
		t.Helper()
		var p page[eligibilityView]
		sb.must(http.StatusOK, "GET", eligPath(cid, sid, "immediate"), tok, nil, &p)
		if len(p.Items) != 1 || p.Items[0].CatalogItemID != planM365E5.catalogItemID() {
			t.Fatalf("immediate targets %+v, want Microsoft 365 E5 alone", p.Items)
		}
		for _, d := range p.Items[0].Eligibilities {
			if d.IsEligible != want || (!want && (len(d.Errors) != 1 || d.Errors[0].Code != code || d.Errors[0].Description != descCancelWindow)) {
				t.Errorf("%s: %+v", d.TransitionType, d)
			}
		}
	}
	post := map[string]any{"toCatalogItemId": planM365E5.catalogItemID(), "quantity": 3, "transitionType": transitionWithLicences}
	eligible(false, transitionErrCancelWindow)
	var refused struct {
		Code any `json:"code"`
	}
	sb.must(http.StatusBadRequest, "POST", subPath(cid, sid)+"/transitions", tok, post, &refused)
	if refused.Code != 2.0 && refused.Code != "2" {
		t.Errorf("refusal code %v, want 2", refused.Code)
	}
	sb.must(http.StatusBadRequest, "POST", subPath(cid, sid)+"/transitions", tok,
		map[string]any{"toCatalogItemId": planM365E3.catalogItemID(), "quantity": 3, "transitionType": transitionWithLicences}, nil)

	clk.Advance(8 * 24 * time.Hour) // past the 168-hour window
	tok = sb.userToken()            // Options.Now drives AAD tokens too
	eligible(true, 0)
	sb.must(http.StatusOK, "POST", subPath(cid, sid)+"/transitions", tok, post, nil)
	clk.Advance(2 * time.Minute)
	var list struct {
		Transition []transitionView `json:"transition"`
	}
	sb.must(http.StatusOK, "GET", subPath(cid, sid)+"/transitions", tok, nil, &list)
	if len(list.Transition) != 1 || !list.Transition[0].completed() || list.Transition[0].FromCatalogItemID != planO365E3.catalogItemID() {
		t.Fatalf("transitions %+v", list.Transition)
	}
	src := sb.rawSubscription(tok, subPath(cid, sid))
	if src["status"] != "expired" || src["autoRenewEnabled"] != false {
		t.Errorf("source after the upgrade: %v", src)
	}
	target := sb.rawSubscription(tok, subPath(cid, list.Transition[0].ToSubscriptionID))
	if target["offerId"] != planM365E5.catalogItemID() || target["quantity"] != 3.0 {
		t.Errorf("target %v", target)
	}
	for _, uid := range holders {
		l := sb.licenses(tok, cid, uid)
		if slices.Contains(l, planO365E3.SkuID) || !slices.Contains(l, planM365E5.SkuID) {
			t.Errorf("user %s holds %v after the upgrade", uid, l)
		}
	}
}

// TestRetiredImmediateTargets: the seeded retired subscription (window closed) may be upgraded to Microsoft 365
// E5 at once, never to Microsoft 365 E3; a legacy Office 365 E3 has no immediate target.
func TestRetiredImmediateTargets(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.userToken()
	r := sb.srv.RetiredNCE()[0]
	var p page[eligibilityView]
	sb.must(http.StatusOK, "GET", eligPath(r.CustomerID, r.SubscriptionID, "immediate"), tok, nil, &p)
	if len(p.Items) != 1 || p.Items[0].CatalogItemID != planM365E5.catalogItemID() ||
		!p.Items[0].Eligibilities[0].IsEligible || !p.Items[0].Eligibilities[1].IsEligible {
		t.Errorf("immediate eligibilities %+v", p.Items)
	}
	var cid, sid string
	sb.srv.mu.Lock()
	for _, c := range sb.srv.world.customers {
		for _, s := range c.subs {
			if s.plan == planO365E3 && !s.nce && cid == "" {
				cid, sid = c.id, s.id
			}
		}
	}
	sb.srv.mu.Unlock()
	if cid == "" {
		t.Fatal("no legacy Office 365 E3 in the default world")
	}
	sb.must(http.StatusOK, "GET", eligPath(cid, sid, "immediate"), tok, nil, &p)
	if p.TotalCount != 0 {
		t.Errorf("legacy Office 365 E3: %+v", p.Items)
	}
}

// TestReactivateSuspendedLegacyByCommerce: in the legacy and mixed worlds the seeded suspended subscription is
// legacy; PATCH status active reactivates it and the ledger records a reactivation.
func TestReactivateSuspendedLegacyByCommerce(t *testing.T) {
	for _, commerce := range []string{CommerceLegacy, CommerceMixed} {
		t.Run(commerce, func(t *testing.T) {
			sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate, o.Commerce = 0, commerce })
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
				t.Fatal("no suspended legacy subscription")
			}
			var sub subscriptionView
			sb.must(http.StatusOK, "GET", subPath(cid, sid), tok, nil, &sub)
			sb.must(http.StatusOK, "PATCH", subPath(cid, sid), tok, map[string]any{"status": "active"}, &sub,
				"If-Match", sub.Attributes.Etag, "MS-RequestId", "reactivate-"+commerce)
			if sub.Status != "active" {
				t.Errorf("status %s after reactivation", sub.Status)
			}
			l := sb.srv.Ledger()
			last := l[len(l)-1]
			if last.Kind != LedgerReactivation || last.SubscriptionID != sid || last.MSRequestID != "reactivate-"+commerce ||
				last.ProductID != "" || last.RefundQuantity != 0 {
				t.Errorf("last ledger entry %+v", last)
			}
		})
	}
}

// TestCommerceInvalid: an unknown Options.Commerce is refused when the sandbox is built.
func TestCommerceInvalid(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New accepted Commerce \"hybrid\"")
		}
	}()
	opts := DefaultOptions()
	opts.Customers, opts.Commerce = 3, "hybrid"
	New(opts)
}
