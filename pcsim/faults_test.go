package pcsim

import (
	"net/http"
	"testing"
)

// setFaultRate changes fault injection of a running sandbox, so a test can stop the faults and look.
func (sb *sandbox) setFaultRate(rate float64) {
	f := sb.srv.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rate = rate
}

func TestFaultsOnly5xxOrCutOff(t *testing.T) {
	sb := newSandbox(t, func(o *Options) { o.FaultRate = 1 })
	tok := sb.appToken() // the token endpoint is never faulted
	kinds := map[string]int{}
	for range 30 {
		a, err := sb.call("GET", "/v1/customers", tok, nil)
		switch {
		case err != nil:
			kinds["cut off"]++
		case a.status == http.StatusInternalServerError || a.status == http.StatusServiceUnavailable:
			codeOf(t, a.body)
			kinds[http.StatusText(a.status)]++
		default:
			t.Fatalf("FaultRate 1 answered %d", a.status)
		}
	}
	if len(kinds) != 3 {
		t.Errorf("fault kinds seen in 30 requests: %v, want all three", kinds)
	}
}

// TestCutOffWriteIsApplied: a write whose answer is lost still happened, and a retry with the same
// MS-RequestId returns the stored answer instead of buying again.
func TestCutOffWriteIsApplied(t *testing.T) {
	sb := newSandbox(t, func(o *Options) { o.FaultRate, o.LegacyPurchases = 1, true })
	tok := sb.appToken()
	sb.setFaultRate(0)
	cid := sb.customers(tok)[0].ID
	before := len(sb.subscriptions(tok, cid))
	sb.setFaultRate(1)

	path := "/v1/customers/" + cid + "/orders"
	const requestID = "9f0e8d7c-0000-4000-8000-00000000c0de"
	cut := false
	for range 50 {
		if _, err := sb.call("POST", path, tok, e1Order(4), "MS-RequestId", requestID); err != nil {
			cut = true
			break
		}
	}
	if !cut {
		t.Fatal("no cut-off in 50 faulted writes")
	}
	for range 10 { // more faulted retries of the same request must not buy again
		_, _ = sb.call("POST", path, tok, e1Order(4), "MS-RequestId", requestID)
	}
	if got := sb.srv.Stats().OrdersCreated; got != 1 {
		t.Fatalf("OrdersCreated = %d after a cut-off write and retries, want 1", got)
	}

	sb.setFaultRate(0)
	var o struct {
		LineItems []struct {
			SubscriptionID string `json:"subscriptionId"`
		} `json:"lineItems"`
	}
	sb.must(http.StatusCreated, "POST", path, tok, e1Order(4), &o, "MS-RequestId", requestID)
	subs := sb.subscriptions(tok, cid)
	if len(subs) != before+1 || subs[len(subs)-1].ID != o.LineItems[0].SubscriptionID {
		t.Errorf("%d new subscriptions, want exactly the one the lost answer named", len(subs)-before)
	}
}
