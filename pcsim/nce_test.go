package pcsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// buyNCE checks out a one-line cart, provisions it at once (finishProvisioning) and returns the new-commerce
// subscription's id, which only the completed order shows.
func (sb *sandbox) buyNCE(tok, cid, catalogItem string, qty int, cycle, term string) string {
	sb.t.Helper()
	var cart struct {
		ID string `json:"id"`
	}
	base := "/v1/customers/" + cid + "/carts"
	sb.must(http.StatusCreated, "POST", base, tok, map[string]any{"lineItems": []map[string]any{{
		"id": 0, "catalogItemId": catalogItem, "quantity": qty, "billingCycle": cycle, "termDuration": term,
	}}}, &cart)
	type order struct {
		ID        string `json:"id"`
		LineItems []struct {
			SubscriptionID string `json:"subscriptionId"`
		} `json:"lineItems"`
	}
	var result struct {
		Orders []order `json:"orders"`
	}
	sb.must(http.StatusCreated, "POST", base+"/"+cart.ID+"/checkout", tok, nil, &result)
	sb.finishProvisioning()
	var o order
	sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/orders/"+result.Orders[0].ID, tok, nil, &o)
	return o.LineItems[0].SubscriptionID
}

// buyLegacy places a legacy E1 order and returns its subscription's id.
func (sb *sandbox) buyLegacy(tok, cid string, qty int) string {
	sb.t.Helper()
	var o struct {
		LineItems []struct {
			SubscriptionID string `json:"subscriptionId"`
		} `json:"lineItems"`
	}
	sb.must(http.StatusCreated, "POST", "/v1/customers/"+cid+"/orders", tok, e1Order(qty), &o)
	return o.LineItems[0].SubscriptionID
}

// rawSubscription GETs a subscription as a JSON object, so that absent keys can be told from empty ones.
func (sb *sandbox) rawSubscription(tok, path string) map[string]any {
	sb.t.Helper()
	var m map[string]any
	sb.must(http.StatusOK, "GET", path, tok, nil, &m)
	return m
}

func subPath(cid, sid string) string { return "/v1/customers/" + cid + "/subscriptions/" + sid }

// TestNewCommerceSubscriptionShape: a subscription bought through a cart is a new-commerce one as the doc's
// example shows it (productType OnlineServicesNCE, its term and cycle as bought, the cancellation window, no
// etag); a legacy subscription keeps its etag and has none of the new-commerce keys.
func TestNewCommerceSubscriptionShape(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name         string
		window       time.Duration // Options.CancellationWindow; 0 = default
		item         string
		qty          int
		cycle, term  string
		wantCycle    string
		cancellation time.Time
	}{
		{"E1 monthly term", 0, e1CatalogID, 12, "Monthly", "P1M", "monthly", t0.Add(168 * time.Hour)},
		{"Business Basic annual term", 0, "CFQ7TTC0LH18:0001:CFQ7TTC0K971", 7, "annual", "P1Y", "annual", t0.Add(168 * time.Hour)},
		{"a shorter window", 72 * time.Hour, e1CatalogID, 3, "monthly", "P1Y", "monthly", t0.Add(72 * time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			sb := newSandbox(t, func(o *Options) { o.Now, o.CancellationWindow = clk.Now, tc.window })
			tok := sb.appToken()
			cid := sb.customers(tok)[0].ID
			sid := sb.buyNCE(tok, cid, tc.item, tc.qty, tc.cycle, tc.term)
			got := sb.rawSubscription(tok, subPath(cid, sid))

			pt, _ := got["productType"].(map[string]any)
			if pt["id"] != "OnlineServicesNCE" || pt["displayName"] != "OnlineServicesNCE" {
				t.Errorf("productType %v, want {OnlineServicesNCE, OnlineServicesNCE}", got["productType"])
			}
			if got["termDuration"] != tc.term || got["billingCycle"] != tc.wantCycle {
				t.Errorf("termDuration %v billingCycle %v, want %s %s", got["termDuration"], got["billingCycle"], tc.term, tc.wantCycle)
			}
			if want := instant(tc.cancellation); got["cancellationAllowedUntilDate"] != want {
				t.Errorf("cancellationAllowedUntilDate %v, want %s", got["cancellationAllowedUntilDate"], want)
			}
			rq, _ := json.Marshal(got["refundableQuantity"])
			wantRQ := `{"details":[{"allowedUntilDateTime":"` + instant(tc.cancellation) + `","quantity":` + itoa(tc.qty) + `}],"totalQuantity":` + itoa(tc.qty) + `}`
			if string(rq) != wantRQ {
				t.Errorf("refundableQuantity %s, want %s", rq, wantRQ)
			}
			if v, ok := got["scheduledNextTermInstructions"]; !ok || v != nil {
				t.Errorf("scheduledNextTermInstructions = %v (present %v), want null", v, ok)
			}
			attrs, _ := got["attributes"].(map[string]any)
			if _, ok := attrs["etag"]; ok || attrs["objectType"] != "Subscription" {
				t.Errorf("attributes %v: want no etag, objectType Subscription", attrs)
			}

			// Once the window has passed nothing is refundable; the date stays.
			clk.Advance(tc.cancellation.Sub(t0) + time.Second)
			tok = sb.appToken() // the first one has expired
			later := sb.rawSubscription(tok, subPath(cid, sid))
			rq, _ = json.Marshal(later["refundableQuantity"])
			if string(rq) != `{"details":[],"totalQuantity":0}` || later["cancellationAllowedUntilDate"] != instant(tc.cancellation) {
				t.Errorf("after the window: refundableQuantity %s, cancellationAllowedUntilDate %v", rq, later["cancellationAllowedUntilDate"])
			}
		})
	}

	t.Run("legacy", func(t *testing.T) {
		sb := newSandbox(t, legacyWorld)
		tok := sb.appToken()
		cid := sb.customers(tok)[0].ID
		got := sb.rawSubscription(tok, subPath(cid, sb.buyLegacy(tok, cid, 4)))
		attrs, _ := got["attributes"].(map[string]any)
		if etag, _ := attrs["etag"].(string); etag == "" {
			t.Errorf("legacy subscription without an etag: %v", attrs)
		}
		for _, k := range []string{"productType", "cancellationAllowedUntilDate", "refundableQuantity", "scheduledNextTermInstructions"} {
			if _, ok := got[k]; ok {
				t.Errorf("legacy subscription has %q: %v", k, got[k])
			}
		}
	})
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestPatchEtags: a legacy subscription's PATCH needs If-Match with its current etag and is otherwise answered
// 400 / 2055 "Etag is no longer valid", not 412; a new-commerce one has no etag and is PATCHed without If-Match
// (unless Options.NCEEtags gives it one).
func TestPatchEtags(t *testing.T) {
	tests := []struct {
		name     string
		nce      bool
		nceEtags bool
		ifMatch  string // "fresh" = the current etag
		status   int
	}{
		{"legacy, no If-Match", false, false, "", http.StatusBadRequest},
		{"legacy, stale If-Match", false, false, `"eyJpZCI6InN0YWxlIn0="`, http.StatusBadRequest},
		{"legacy, current If-Match", false, false, "fresh", http.StatusOK},
		{"new commerce, no If-Match", true, false, "", http.StatusOK},
		{"new commerce with etags, no If-Match", true, true, "", http.StatusBadRequest},
		{"new commerce with etags, current If-Match", true, true, "fresh", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Synchronous answers: this test is about etags; TestAsyncPatch is about 202.
			sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate, o.NCEEtags, o.LegacyPurchases = 0, tc.nceEtags, true })
			tok := sb.appToken()
			cid := sb.customers(tok)[0].ID
			sid := ""
			if tc.nce {
				sid = sb.buyNCE(tok, cid, e1CatalogID, 5, "monthly", "P1Y")
			} else {
				sid = sb.buyLegacy(tok, cid, 5)
			}
			path := subPath(cid, sid)
			var before subscriptionView
			sb.must(http.StatusOK, "GET", path, tok, nil, &before)
			if hasEtag := before.Attributes.Etag != ""; hasEtag != (!tc.nce || tc.nceEtags) {
				t.Fatalf("etag %q", before.Attributes.Etag)
			}
			var headers []string
			switch tc.ifMatch {
			case "":
			case "fresh":
				headers = []string{"If-Match", `"` + before.Attributes.Etag + `"`}
			default:
				headers = []string{"If-Match", tc.ifMatch}
			}
			a := sb.must(tc.status, "PATCH", path, tok, map[string]any{"friendlyName": "renamed"}, nil, headers...)
			var after subscriptionView
			sb.must(http.StatusOK, "GET", path, tok, nil, &after)
			if tc.status != http.StatusOK {
				var e apiErr
				_ = json.Unmarshal(a.body, &e)
				if got := codeOf(t, a.body); got != codeEtagInvalid || e.Description != "Etag is no longer valid" {
					t.Errorf("refusal %s, want 2055 Etag is no longer valid", a.body)
				}
				if after.Attributes.Etag != before.Attributes.Etag {
					t.Error("a refused PATCH changed the subscription")
				}
				return
			}
			if before.Attributes.Etag != "" && after.Attributes.Etag == before.Attributes.Etag {
				t.Error("the etag did not change with the write")
			}
		})
	}
}

// TestNewCommerceLifecycle: within its cancellation window a new-commerce subscription can be cancelled and
// have seats removed; after it, both are refused with the documented errors. Suspending is allowed and turns
// auto-renew off.
func TestNewCommerceLifecycle(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name   string
		after  time.Duration // since the purchase
		body   map[string]any
		status int
		code   float64 // of a refusal
		desc   string  // of a refusal
		check  func(subscriptionView) bool
	}{
		{"cancel on day 6", 6 * 24 * time.Hour, map[string]any{"status": "deleted"}, 200, 0, "",
			func(s subscriptionView) bool { return s.Status == "deleted" && !s.AutoRenewEnabled }},
		{"cancel on day 8", 8 * 24 * time.Hour, map[string]any{"status": "deleted"}, 400, codeCancelWindowHours,
			"You have passed your 168-hour cancellation window. We are unable to cancel your purchase", nil},
		{"remove seats on day 6", 6 * 24 * time.Hour, map[string]any{"quantity": 8}, 200, 0, "",
			func(s subscriptionView) bool { return s.Quantity == 8 && s.Status == "active" }},
		{"remove seats on day 8", 8 * 24 * time.Hour, map[string]any{"quantity": 8}, 400, codeReduceWindowHours,
			"You have passed your 168-hour window for reducing seats for this subscription.", nil},
		{"add seats on day 8", 8 * 24 * time.Hour, map[string]any{"quantity": 14}, 200, 0, "",
			func(s subscriptionView) bool { return s.Quantity == 14 }},
		{"suspend on day 8", 8 * 24 * time.Hour, map[string]any{"status": "suspended"}, 200, 0, "",
			func(s subscriptionView) bool { return s.Status == "suspended" && !s.AutoRenewEnabled }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			sb := newSandbox(t, func(o *Options) { o.Now, o.AsyncPatchRate = clk.Now, 0 })
			tok := sb.appToken()
			cid := sb.customers(tok)[0].ID
			path := subPath(cid, sb.buyNCE(tok, cid, e1CatalogID, 10, "monthly", "P1Y"))
			clk.Advance(tc.after)
			tok = sb.appToken() // the first one has expired
			a := sb.must(tc.status, "PATCH", path, tok, tc.body, nil)
			var got subscriptionView
			sb.must(http.StatusOK, "GET", path, tok, nil, &got)
			if tc.status != http.StatusOK {
				var e apiErr
				_ = json.Unmarshal(a.body, &e)
				if code := codeOf(t, a.body); code != tc.code || e.Description != tc.desc {
					t.Errorf("refusal %s, want %v %q", a.body, tc.code, tc.desc)
				}
				if got.Status != "active" || got.Quantity != 10 {
					t.Errorf("a refused PATCH changed the subscription: %+v", got)
				}
				return
			}
			if !tc.check(got) {
				t.Errorf("after the PATCH: %+v", got)
			}
		})
	}

	t.Run("a cancelled subscription can't be updated, and its cancellation is in the ledger", func(t *testing.T) {
		sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate = 0 })
		tok := sb.appToken()
		cid := sb.customers(tok)[0].ID
		sid := sb.buyNCE(tok, cid, e1CatalogID, 10, "monthly", "P1M")
		sb.must(http.StatusOK, "PATCH", subPath(cid, sid), tok, map[string]any{"status": "deleted"}, nil, "MS-RequestId", "cancel-1")
		a := sb.must(http.StatusBadRequest, "PATCH", subPath(cid, sid), tok, map[string]any{"status": "active"}, nil)
		if code := codeOf(t, a.body); code != codeStatusNotUpdatable {
			t.Errorf("reactivating a cancelled subscription: %s", a.body)
		}
		last := sb.srv.Ledger()[len(sb.srv.Ledger())-1]
		if last.Kind != LedgerCancellation || !strings.EqualFold(last.SubscriptionID, sid) || last.MSRequestID != "cancel-1" {
			t.Errorf("last ledger entry %+v, want the cancellation", last)
		}
	})
}

// TestAsyncPatch: a PATCH answered 202 has a Location header and no body, changes nothing visible until
// AsyncPatchDelay has passed, and makes the subscription answer 409 meanwhile; the share of 202s follows
// AsyncPatchRate from a seeded RNG of its own.
func TestAsyncPatch(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name  string
		nce   bool
		delay time.Duration // Options.AsyncPatchDelay; 0 = default 300ms
	}{
		{"legacy", false, 0},
		{"new commerce", true, 0},
		{"a longer delay", true, 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			sb := newSandbox(t, func(o *Options) {
				o.Now, o.AsyncPatchRate, o.AsyncPatchDelay, o.LegacyPurchases = clk.Now, 1, tc.delay, true
			})
			delay := sb.srv.opts.AsyncPatchDelay
			tok := sb.appToken()
			cid := sb.customers(tok)[0].ID
			sid := ""
			if tc.nce {
				sid = sb.buyNCE(tok, cid, e1CatalogID, 5, "monthly", "P1Y")
			} else {
				sid = sb.buyLegacy(tok, cid, 5)
			}
			path := subPath(cid, sid)
			var before subscriptionView
			sb.must(http.StatusOK, "GET", path, tok, nil, &before)
			ifMatch := []string{"MS-RequestId", "async-1"}
			if before.Attributes.Etag != "" {
				ifMatch = append(ifMatch, "If-Match", before.Attributes.Etag)
			}
			suspend := map[string]any{"status": "suspended"}

			a := sb.must(http.StatusAccepted, "PATCH", path, tok, suspend, nil, ifMatch...)
			if loc := a.header.Get("Location"); loc != "/customers/"+cid+"/subscriptions/"+sid || len(a.body) != 0 {
				t.Errorf("202: Location %q, body %q; want the subscription's path and no body", loc, a.body)
			}
			var now subscriptionView
			sb.must(http.StatusOK, "GET", path, tok, nil, &now)
			if now.Status != "active" {
				t.Errorf("status %q right after the 202, want still active", now.Status)
			}
			// Meanwhile the subscription is not ready for another change.
			busy := sb.must(http.StatusConflict, "PATCH", path, tok, map[string]any{"friendlyName": "x"}, nil, ifMatch[2:]...)
			if code := codeOf(t, busy.body); code != codeNotReady {
				t.Errorf("PATCH while the change is pending: %s", busy.body)
			}
			// A retry of the same request is answered as the first time and changes nothing more.
			sb.must(http.StatusAccepted, "PATCH", path, tok, suspend, nil, ifMatch...)

			clk.Advance(delay - time.Millisecond)
			sb.must(http.StatusOK, "GET", path, tok, nil, &now)
			if now.Status != "active" {
				t.Errorf("status %q before the delay has passed", now.Status)
			}
			clk.Advance(time.Millisecond)
			sb.must(http.StatusOK, "GET", path, tok, nil, &now)
			if now.Status != "suspended" || (before.Attributes.Etag != "" && now.Attributes.Etag == before.Attributes.Etag) {
				t.Errorf("after the delay: status %q, etag %q (was %q)", now.Status, now.Attributes.Etag, before.Attributes.Etag)
			}
			if tc.nce && now.AutoRenewEnabled {
				t.Error("suspending a new-commerce subscription leaves auto-renew on")
			}
			var suspensions int
			for _, e := range sb.srv.Ledger() {
				if e.Kind == LedgerSuspension && strings.EqualFold(e.SubscriptionID, sid) {
					suspensions++
					if e.MSRequestID != "async-1" || !e.At.Equal(t0.Add(delay)) {
						t.Errorf("ledger %+v, want async-1 at %s", e, t0.Add(delay))
					}
				}
			}
			if suspensions != 1 {
				t.Errorf("%d suspensions in the ledger, want 1", suspensions)
			}

			// A PATCH that changes nothing is answered at once, even at rate 1.
			var same subscriptionView
			noop := []string{}
			if now.Attributes.Etag != "" {
				noop = []string{"If-Match", now.Attributes.Etag}
			}
			sb.must(http.StatusOK, "PATCH", path, tok, suspend, &same, noop...)
			if same.Status != "suspended" {
				t.Errorf("no-op PATCH answered %+v", same)
			}
		})
	}

	t.Run("rate", func(t *testing.T) {
		// The default rate, over many changing PATCHes; the same seed gives the same answers.
		pattern := func() string {
			clk := &clock{t: t0}
			sb := newSandbox(t, func(o *Options) { o.Now = clk.Now })
			if sb.srv.opts.AsyncPatchRate != 0.2 {
				t.Fatalf("default AsyncPatchRate %v, want 0.2", sb.srv.opts.AsyncPatchRate)
			}
			tok := sb.appToken()
			cid := sb.customers(tok)[0].ID
			path := subPath(cid, sb.buyNCE(tok, cid, e1CatalogID, 5, "monthly", "P1Y"))
			var b strings.Builder
			for i := range 200 {
				a, err := sb.call("PATCH", path, tok, map[string]any{"friendlyName": "name " + itoa(i)})
				if err != nil {
					t.Fatal(err)
				}
				switch a.status {
				case http.StatusOK:
					b.WriteByte('.')
				case http.StatusAccepted:
					b.WriteByte('A')
					clk.Advance(time.Second) // let it show before the next change
				default:
					t.Fatalf("PATCH %d: %d %s", i, a.status, a.body)
				}
			}
			return b.String()
		}
		first, second := pattern(), pattern()
		if first != second {
			t.Errorf("same seed, different answers:\n%s\n%s", first, second)
		}
		if n := strings.Count(first, "A"); n < 25 || n > 55 {
			t.Errorf("%d of 200 PATCHes answered 202, want about 40", n)
		}
	})
}

// TestRenewalConflict: while a subscription's renewal is being processed every PATCH of it is answered 409
// with the documented body; resubmitting the same request (same MS-RequestId) after the renewal succeeds.
func TestRenewalConflict(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		nce  bool
	}{{"new commerce", true}, {"legacy", false}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			sb := newSandbox(t, func(o *Options) { o.Now, o.AsyncPatchRate, o.LegacyPurchases = clk.Now, 0, true })
			tok := sb.appToken()
			cid := sb.customers(tok)[0].ID
			sid := ""
			if tc.nce {
				sid = sb.buyNCE(tok, cid, e1CatalogID, 5, "monthly", "P1Y")
			} else {
				sid = sb.buyLegacy(tok, cid, 5)
			}
			path := subPath(cid, sid)
			if err := sb.srv.StartRenewal(strings.ToUpper(cid), strings.ToLower(sid), 2*time.Minute); err != nil {
				t.Fatal(err)
			}
			var cur subscriptionView
			sb.must(http.StatusOK, "GET", path, tok, nil, &cur)
			headers := []string{"MS-RequestId", "renewal-1"}
			if cur.Attributes.Etag != "" {
				headers = append(headers, "If-Match", cur.Attributes.Etag)
			}
			suspend := map[string]any{"status": "suspended"}
			for range 2 {
				a := sb.must(http.StatusConflict, "PATCH", path, tok, suspend, nil, headers...)
				var e apiErr
				_ = json.Unmarshal(a.body, &e)
				if code := codeOf(t, a.body); code != codeNotReady || e.Description != "Subscription is not ready to be updated. Try again after sometime" {
					t.Errorf("during the renewal: %s", a.body)
				}
				sb.must(http.StatusOK, "GET", path, tok, nil, &cur) // the client reads before it resubmits
				clk.Advance(time.Minute - time.Second)
			}
			clk.Advance(2 * time.Second)
			sb.must(http.StatusOK, "GET", path, tok, nil, &cur)
			var done subscriptionView
			sb.must(http.StatusOK, "PATCH", path, tok, suspend, &done, headers...)
			if done.Status != "suspended" {
				t.Errorf("after the renewal: %+v", done)
			}
		})
	}

	t.Run("no renewals by default", func(t *testing.T) {
		sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate = 0 })
		tok := sb.appToken()
		cid := sb.customers(tok)[0].ID
		sb.must(http.StatusOK, "PATCH", subPath(cid, sb.buyNCE(tok, cid, e1CatalogID, 5, "monthly", "P1Y")), tok, map[string]any{"status": "suspended"}, nil)
		if err := sb.srv.StartRenewal(cid, "00000000-0000-4000-8000-000000000000", time.Minute); !errors.Is(err, ErrNoSuchSubscription) {
			t.Errorf("StartRenewal of an unknown subscription: %v", err)
		}
	})
}
