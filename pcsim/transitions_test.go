package pcsim

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

type transitionView struct {
	FromCatalogItemID  string `json:"fromCatalogItemId"`
	FromSubscriptionID string `json:"fromSubscriptionId"`
	ToCatalogItemID    string `json:"toCatalogItemId"`
	ToSubscriptionID   string `json:"toSubscriptionId"`
	Quantity           int    `json:"quantity"`
	TransitionType     string `json:"transitionType"`
	Events             []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"events"`
	Attributes struct {
		ObjectType string `json:"objectType"`
	} `json:"attributes"`
}

func (v transitionView) completed() bool {
	return slices.ContainsFunc(v.Events, func(e struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	}) bool {
		return e.Name == "Conversion" && e.Status == "Completed"
	})
}

type eligibilityView struct {
	CatalogItemID string `json:"catalogItemId"`
	Title         string `json:"title"`
	Quantity      int    `json:"quantity"`
	Eligibilities []struct {
		IsEligible     bool   `json:"isEligible"`
		TransitionType string `json:"transitionType"`
		Errors         []struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"errors"`
	} `json:"eligibilities"`
}

// kaizalaCustomers lists the customers the partner can read that hold Kaizala Pro, with their subscription id.
func kaizalaCustomers(sb *sandbox) map[string]string {
	sb.srv.mu.Lock()
	defer sb.srv.mu.Unlock()
	out := map[string]string{}
	for _, c := range sb.srv.world.customers {
		for _, sub := range c.subs {
			if sub.plan == planKaizala && c.access == 0 && sub.status == "active" {
				out[c.id] = sub.id
			}
		}
	}
	return out
}

func eligPath(cid, sid, kind string) string {
	return subPath(cid, sid) + "/transitionEligibilities?eligibilityType=" + kind
}

// TestTransitionEligibilities: every Kaizala Pro subscription can be transitioned to STANDARDPACK and SPB;
// about half the customers may move licences along, the rest get the documented code 3. The answer is the
// same for the same seed.
func TestTransitionEligibilities(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.userToken()
	holders := kaizalaCustomers(sb)
	if len(holders) < 6 {
		t.Fatalf("only %d Kaizala customers", len(holders))
	}
	transfer := 0
	for cid, sid := range holders {
		var p page[eligibilityView]
		sb.must(http.StatusOK, "GET", eligPath(cid, sid, "immediate"), tok, nil, &p)
		if p.TotalCount != 2 || p.Items[0].CatalogItemID != planO365E1.catalogItemID() || p.Items[1].CatalogItemID != planBusinessPremium.catalogItemID() {
			t.Fatalf("%s: items %+v", cid, p.Items)
		}
		for _, it := range p.Items {
			if len(it.Eligibilities) != 2 || !it.Eligibilities[0].IsEligible || it.Eligibilities[0].TransitionType != transitionOnly {
				t.Fatalf("%s: transition_only %+v", cid, it.Eligibilities)
			}
			wl := it.Eligibilities[1]
			switch {
			case wl.TransitionType != transitionWithLicences:
				t.Fatalf("%s: second type %s", cid, wl.TransitionType)
			case wl.IsEligible && len(wl.Errors) != 0,
				!wl.IsEligible && (len(wl.Errors) != 1 || wl.Errors[0].Code != 3 || wl.Errors[0].Description != descConflicting):
				t.Fatalf("%s: with licence transfer %+v", cid, wl)
			}
		}
		if p.Items[0].Eligibilities[1].IsEligible {
			transfer++
		}
		var sched page[eligibilityView]
		sb.must(http.StatusOK, "GET", eligPath(cid, sid, "scheduled"), tok, nil, &sched)
		if sched.TotalCount != 0 || sched.Items == nil {
			t.Errorf("%s: scheduled %+v", cid, sched)
		}
	}
	if transfer*4 < len(holders) || transfer*4 > 3*len(holders) {
		t.Errorf("%d of %d customers may transfer licences, want about half", transfer, len(holders))
	}
	for cid, sid := range holders {
		sb.must(http.StatusBadRequest, "GET", subPath(cid, sid)+"/transitionEligibilities", tok, nil, nil)
		sb.must(http.StatusBadRequest, "GET", eligPath(cid, sid, "later"), tok, nil, nil)
		break
	}

	again := newSandbox(t, nil)
	tok2 := again.userToken()
	for cid, sid := range holders {
		a := sb.must(http.StatusOK, "GET", eligPath(cid, sid, "immediate"), tok, nil, nil)
		b := again.must(http.StatusOK, "GET", eligPath(cid, sid, "immediate"), tok2, nil, nil)
		if !bytes.Equal(a.body, b.body) {
			t.Errorf("%s: same seed, different eligibilities", cid)
		}
	}
}

// TestTransitionWithLicenceTransfer: the transition is answered in progress, replayed by MS-RequestId, and
// completes after the provisioning delay with every holder moved, the source ended and one ledger entry.
func TestTransitionWithLicenceTransfer(t *testing.T) {
	sb := newSandbox(t, func(o *Options) { o.ProvisioningDelay = time.Hour })
	tok := sb.userToken()
	var cid, sid string
	var qty int
	for c, s := range kaizalaCustomers(sb) {
		sb.srv.mu.Lock()
		blocked := sb.srv.transferBlocked(sb.srv.world.customer(c))
		qty = sb.srv.world.customer(c).subscription(s).quantity
		sb.srv.mu.Unlock()
		if !blocked {
			cid, sid = c, s
			break
		}
	}
	var before []string
	for _, u := range sb.users(tok, cid) {
		if slices.Contains(sb.licenses(tok, cid, u.ID), kaizalaSkuID) {
			before = append(before, u.ID)
		}
	}
	if len(before) == 0 {
		t.Fatal("no Kaizala holders")
	}
	body := map[string]any{"toCatalogItemId": e1CatalogID, "quantity": qty, "transitionType": transitionWithLicences, "events": []any{}}
	var first transitionView
	a := sb.must(http.StatusOK, "POST", subPath(cid, sid)+"/transitions", tok, body, &first, "MS-RequestId", "tr-1")
	if first.completed() || first.ToSubscriptionID != "" || first.FromSubscriptionID != sid || first.Quantity != qty ||
		len(first.Events) != 1 || first.Events[0].Status != "InProgress" || first.Attributes.ObjectType != "Transition" {
		t.Fatalf("first answer %s", a.body)
	}
	replay := sb.must(http.StatusOK, "POST", subPath(cid, sid)+"/transitions", tok, body, nil, "MS-RequestId", "tr-1")
	if !bytes.Equal(replay.body, a.body) {
		t.Errorf("replay %s, want %s", replay.body, a.body)
	}
	// A new request id while the first is in progress: the source is no longer eligible.
	sb.must(http.StatusBadRequest, "POST", subPath(cid, sid)+"/transitions", tok, body, nil, "MS-RequestId", "tr-2")

	var list struct {
		Transition []transitionView `json:"transition"`
	}
	sb.must(http.StatusOK, "GET", subPath(cid, sid)+"/transitions", tok, nil, &list)
	if len(list.Transition) != 1 || list.Transition[0].completed() {
		t.Fatalf("before the delay: %+v", list)
	}
	for _, uid := range before {
		if !slices.Contains(sb.licenses(tok, cid, uid), kaizalaSkuID) {
			t.Fatalf("user %s moved before the transition completed", uid)
		}
	}

	if err := sb.srv.AdvanceClock(time.Hour); err != nil {
		t.Fatal(err)
	}
	sb.must(http.StatusOK, "GET", subPath(cid, sid)+"/transitions", tok, nil, &list)
	done := list.Transition[0]
	if len(list.Transition) != 1 || !done.completed() || done.ToSubscriptionID == "" {
		t.Fatalf("after the delay: %+v", list)
	}
	for _, uid := range before {
		got := sb.licenses(tok, cid, uid)
		if slices.Contains(got, kaizalaSkuID) || !slices.Contains(got, e1SkuID) {
			t.Errorf("user %s holds %v after the transition", uid, got)
		}
	}
	var src, dst subscriptionView
	sb.must(http.StatusOK, "GET", subPath(cid, sid), tok, nil, &src)
	sb.must(http.StatusOK, "GET", subPath(cid, done.ToSubscriptionID), tok, nil, &dst)
	if src.Status != "deleted" || dst.Status != "active" || dst.Quantity < qty || !strings.EqualFold(dst.OfferID, e1CatalogID) {
		t.Errorf("source %+v, target %+v", src, dst)
	}
	var n int
	for _, e := range sb.srv.Ledger() {
		switch e.Kind {
		case LedgerTransition:
			n++
			if e.SubscriptionID != done.ToSubscriptionID || e.FromSubscriptionID != sid || e.MSRequestID != "tr-1" || e.Quantity != qty {
				t.Errorf("ledger entry %+v", e)
			}
		case LedgerCheckout, LedgerOrder:
			t.Errorf("a transition bought something: %+v", e)
		}
	}
	if n != 1 {
		t.Errorf("%d transition entries in the ledger, want 1", n)
	}
}

// TestTransitionRefusals: ineligible licence transfer gets code 3; bad input gets 400.
func TestTransitionRefusals(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.userToken()
	var blockedCID, blockedSID string
	var qty int
	for c, s := range kaizalaCustomers(sb) {
		sb.srv.mu.Lock()
		if sb.srv.transferBlocked(sb.srv.world.customer(c)) {
			blockedCID, blockedSID, qty = c, s, sb.srv.world.customer(c).subscription(s).quantity
		}
		sb.srv.mu.Unlock()
	}
	path := subPath(blockedCID, blockedSID) + "/transitions"
	tests := []struct {
		name string
		body map[string]any
		code float64
	}{
		{"licence transfer blocked", map[string]any{"toCatalogItemId": e1CatalogID, "quantity": qty, "transitionType": transitionWithLicences}, 3},
		{"unknown type", map[string]any{"toCatalogItemId": e1CatalogID, "quantity": qty, "transitionType": "upgrade"}, codeInvalidInput},
		{"not a target", map[string]any{"toCatalogItemId": "CFQ7TTC0LFLZ:0001:CFQ7TTC0KCSV", "quantity": qty, "transitionType": transitionOnly}, codeInvalidInput},
		{"partial", map[string]any{"toCatalogItemId": e1CatalogID, "quantity": qty - 1, "transitionType": transitionOnly}, codeInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := sb.must(http.StatusBadRequest, "POST", path, tok, tc.body, nil)
			if got := codeOf(t, a.body); got != tc.code {
				t.Errorf("code %v, want %v: %s", got, tc.code, a.body)
			}
		})
	}
	sb.must(http.StatusOK, "POST", path, tok, map[string]any{"toCatalogItemId": e1CatalogID, "quantity": qty, "transitionType": transitionOnly}, nil)
}
