package pcclient

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

func TestSuspendGetsFreshAndPatchesTheFullBodyWithIfMatch(t *testing.T) {
	f := newFakePC(t)
	var patched map[string]any
	var ifMatch string
	status := "active"
	f.Mux.HandleFunc("GET /v1/customers/{cid}/subscriptions/{sid}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"SUB-1","offerName":"Kaizala Pro","quantity":12,"status":"`+status+`","futureField":{"kept":true},"attributes":{"etag":"etag-v7","objectType":"Subscription"}}`)
	})
	f.Mux.HandleFunc("PATCH /v1/customers/{cid}/subscriptions/{sid}", func(w http.ResponseWriter, r *http.Request) {
		ifMatch = r.Header.Get("If-Match")
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &patched)
		writeJSON(w, 200, `{"id":"SUB-1","status":"suspended","attributes":{"etag":"etag-v8"}}`)
	})
	c := f.newClient(t, TokenConfig{})
	sub, err := c.SetSubscriptionStatus(context.Background(), "c1", "SUB-1", StatusSuspended)
	if err != nil {
		t.Fatal(err)
	}
	if !sub.Status.Is(StatusSuspended) || ifMatch != `"etag-v7"` {
		t.Errorf("status %q, If-Match %q", sub.Status, ifMatch)
	}
	if patched["status"] != "suspended" || patched["quantity"] != float64(12) || patched["futureField"] == nil {
		t.Errorf("PATCH must send the full resource with status changed, got %v", patched)
	}

	// Already suspended (e.g. after a crash): nothing is written.
	status, patched = "suspended", nil
	if _, err := c.SetSubscriptionStatus(context.Background(), "c1", "SUB-1", StatusSuspended); err != nil || patched != nil {
		t.Errorf("an already suspended subscription must not be PATCHed again (err %v, body %v)", err, patched)
	}
}

func TestPreconditionFailedComesBackAsConflict(t *testing.T) {
	f := newFakePC(t)
	f.Mux.HandleFunc("GET /v1/customers/{cid}/subscriptions/{sid}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"SUB-1","status":"active","attributes":{"etag":"old"}}`)
	})
	f.Mux.HandleFunc("PATCH /v1/customers/{cid}/subscriptions/{sid}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 412, `{"code":"412","description":"The etag does not match"}`)
	})
	c := f.newClient(t, TokenConfig{})
	_, err := c.SetSubscriptionStatus(context.Background(), "c1", "SUB-1", StatusSuspended)
	if !IsConflict(err) || StatusCode(err) != 412 {
		t.Errorf("want a 412 conflict to reconcile, got %v", err)
	}
}
