package pcclient

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEveryCallSendsTheDocumentedHeaders(t *testing.T) {
	f := newFakePC(t)
	var mu sync.Mutex
	var seen []http.Header
	f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		writeJSON(w, 200, `{"id":"c1","companyProfile":{"domain":"contoso.example"}}`)
	})
	c := f.newClient(t, TokenConfig{})
	for range 3 {
		if _, err := c.GetCustomer(context.Background(), "c1"); err != nil {
			t.Fatal(err)
		}
	}
	correlation := map[string]bool{}
	for _, h := range seen {
		for name, want := range map[string]string{
			"Authorization": "Bearer access-b", "Accept": "application/json",
			"Ms-Contract-Version": "v1", "Ms-Partnercenter-Application": DefaultApplication,
		} {
			if got := h.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		if h.Get("MS-RequestId") == "" {
			t.Error("MS-RequestId missing")
		}
		correlation[h.Get("MS-CorrelationId")] = true
	}
	if len(correlation) != 3 || correlation[""] {
		t.Errorf("want a new MS-CorrelationId on every call, got %v", correlation)
	}
	if f.tokensIssued != 1 {
		t.Errorf("the token should be fetched once and cached, fetched %d times", f.tokensIssued)
	}
}

func TestRetriesReuseTheRequestIDAndNewCorrelationIDs(t *testing.T) {
	f := newFakePC(t)
	var calls atomic.Int32
	var mu sync.Mutex
	var requestIDs, correlationIDs []string
	f.Mux.HandleFunc("POST /v1/customers/{id}/orders", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requestIDs = append(requestIDs, r.Header.Get("MS-RequestId"))
		correlationIDs = append(correlationIDs, r.Header.Get("MS-CorrelationId"))
		mu.Unlock()
		switch calls.Add(1) {
		case 1:
			writeJSON(w, 503, `{"code":"503","description":"busy"}`)
		case 2:
			// Cut the connection: the retry must carry the same MS-RequestId,
			// since the first attempt may have been applied.
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			writeJSON(w, 201, `{"id":"order-1","lineItems":[{"lineItemNumber":0,"offerId":"X","subscriptionId":"SUB-1","quantity":3}]}`)
		}
	})
	c := f.newClient(t, TokenConfig{})
	ctx := WithRequestID(context.Background(), "saved-before-the-call")
	order, err := c.CreateOrder(ctx, "c1", Order{LineItems: []OrderLineItem{{OfferID: "X", Quantity: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if order.LineItems[0].SubscriptionID != "SUB-1" {
		t.Errorf("order = %+v", order)
	}
	if len(requestIDs) != 3 {
		t.Fatalf("want 3 attempts, got %d", len(requestIDs))
	}
	for _, id := range requestIDs {
		if id != "saved-before-the-call" {
			t.Errorf("attempt used MS-RequestId %q, want the caller's", id)
		}
	}
	if correlationIDs[0] == correlationIDs[1] || correlationIDs[1] == correlationIDs[2] {
		t.Errorf("MS-CorrelationId must be new per call: %v", correlationIDs)
	}
}

func TestReadsGetAFreshRequestIDEvenInsideAWriteOperation(t *testing.T) {
	f := newFakePC(t)
	var got string
	f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("MS-RequestId")
		writeJSON(w, 200, `{"id":"c1"}`)
	})
	c := f.newClient(t, TokenConfig{})
	if _, err := c.GetCustomer(WithRequestID(context.Background(), "write-id"), "c1"); err != nil {
		t.Fatal(err)
	}
	if got == "" || got == "write-id" {
		t.Errorf("GET sent MS-RequestId %q; reads must not reuse a write's id", got)
	}
}

func TestThrottlingHonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter func() string
		atLeast    time.Duration
	}{
		{"seconds", func() string { return "7" }, 7 * time.Second},
		{"http date", func() string { return time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat) }, 18 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePC(t)
			var calls atomic.Int32
			f.Mux.HandleFunc("GET /v1/customers/{id}/subscriptions", func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					w.Header().Set("Retry-After", tc.retryAfter())
					writeJSON(w, 429, `{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 7 seconds."}`)
					return
				}
				writeJSON(w, 200, `{"totalCount":0,"items":[]}`)
			})
			c := f.newClient(t, TokenConfig{})
			if _, err := c.ListSubscriptions(context.Background(), "c1"); err != nil {
				t.Fatal(err)
			}
			sleeps := f.recordedSleeps()
			if len(sleeps) != 1 || sleeps[0] < tc.atLeast || sleeps[0] > tc.atLeast+3*time.Second {
				t.Errorf("slept %v, want one wait of about %v", sleeps, tc.atLeast)
			}
		})
	}
}

func TestRepeatedThrottlingBacksOffBeyondRetryAfter(t *testing.T) {
	f := newFakePC(t)
	var calls atomic.Int32
	f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 3 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, `{"statusCode":429,"message":"Rate limit is exceeded."}`)
			return
		}
		writeJSON(w, 200, `{"id":"c1"}`)
	})
	c := f.newClient(t, TokenConfig{}, func(cfg *Config) { cfg.MinBackoff = 4 * time.Second; cfg.MaxBackoff = time.Minute })
	if _, err := c.GetCustomer(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	sleeps := f.recordedSleeps()
	if len(sleeps) != 3 || sleeps[0] != time.Second || sleeps[1] < 2*time.Second {
		t.Errorf("sleeps = %v: want Retry-After first, then exponential back-off on top", sleeps)
	}
}

func TestFailuresAreRetriedOrNotByClass(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		attempts int
		class    Class
	}{
		{"500 is retried", 500, `{"code":"500","description":"oops"}`, 5, ClassRetryable},
		{"502 is retried", 502, ``, 5, ClassRetryable},
		{"503 is retried", 503, `{"code":"503"}`, 5, ClassRetryable},
		{"400 business is not", 400, `{"code":2002,"description":"quantity is not within minimum and maximum allowed quantity"}`, 1, ClassBusiness},
		{"404 is not", 404, `{"code":20003,"description":"Subscription with ID x not found"}`, 1, ClassBusiness},
		{"409 goes back to reconcile", 409, `{"code":800060,"description":"Your order is in progress."}`, 1, ClassConflict},
		{"412 goes back to reconcile", 412, `{"code":"412","description":"etag mismatch"}`, 1, ClassConflict},
		{"403 is auth", 403, `{"code":900309,"description":"Access has been blocked by Conditional Access policies."}`, 1, ClassAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePC(t)
			var calls atomic.Int32
			f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				writeJSON(w, tc.status, tc.body)
			})
			c := f.newClient(t, TokenConfig{})
			_, err := c.GetCustomer(context.Background(), "c1")
			if err == nil {
				t.Fatal("want an error")
			}
			if got := int(calls.Load()); got != tc.attempts {
				t.Errorf("attempts = %d, want %d", got, tc.attempts)
			}
			if got := Classify(err); got != tc.class {
				t.Errorf("Classify = %v, want %v (%v)", got, tc.class, err)
			}
			if StatusCode(err) != tc.status {
				t.Errorf("StatusCode = %d, want %d", StatusCode(err), tc.status)
			}
			var exhausted *RetriesExhaustedError
			if (tc.attempts > 1) != errors.As(err, &exhausted) {
				t.Errorf("RetriesExhaustedError present = %v, want %v", !(tc.attempts > 1), tc.attempts > 1)
			}
		})
	}
}

func TestTimedOutAttemptsAreRetried(t *testing.T) {
	f := newFakePC(t)
	var calls atomic.Int32
	f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		writeJSON(w, 200, `{"id":"c1"}`)
	})
	c := f.newClient(t, TokenConfig{}, func(cfg *Config) { cfg.AttemptTimeout = 100 * time.Millisecond })
	if _, err := c.GetCustomer(context.Background(), "c1"); err != nil {
		t.Fatalf("want the second attempt to succeed, got %v", err)
	}
	if calls.Load() != 2 {
		t.Errorf("attempts = %d, want 2", calls.Load())
	}
}

func TestRetriesAreBoundedByTheContext(t *testing.T) {
	f := newFakePC(t)
	f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 503, `{"code":"503","description":"unavailable"}`)
	})
	c := f.newClient(t, TokenConfig{}, func(cfg *Config) { cfg.MaxAttempts = 1000 })
	c.sleep = sleepContext // really wait, so the deadline is what stops it
	c.cfg.MinBackoff, c.cfg.MaxBackoff = 20*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetCustomer(ctx, "c1")
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("took %v; the context's deadline must bound the retries", elapsed)
	}
	if !errors.Is(err, context.DeadlineExceeded) || StatusCode(err) != 503 {
		t.Errorf("want the deadline and the last 503 in the error, got %v", err)
	}
}

func TestClientSideRateLimitPacesConcurrentCalls(t *testing.T) {
	f := newFakePC(t)
	f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"c1"}`)
	})
	// 1200 per minute = 20 per second: 21 calls need at least a second,
	// however many goroutines send them.
	c := f.newClient(t, TokenConfig{}, func(cfg *Config) { cfg.RequestsPerMinute = 1200 })
	start := time.Now()
	var wg sync.WaitGroup
	for range 21 {
		wg.Go(func() {
			if _, err := c.GetCustomer(context.Background(), "c1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if elapsed := time.Since(start); elapsed < 950*time.Millisecond {
		t.Errorf("21 calls at 20/s took %v; the limiter did not pace them", elapsed)
	}
}

func TestPagingFollowsNextLinksWithTheirHeaders(t *testing.T) {
	for _, prefix := range []string{"/v1/customers", "/customers", "customers"} {
		t.Run(prefix, func(t *testing.T) {
			f := newFakePC(t)
			var paths []string
			f.Mux.HandleFunc("GET /v1/customers", func(w http.ResponseWriter, r *http.Request) {
				paths = append(paths, r.URL.Path)
				switch r.Header.Get("MS-ContinuationToken") {
				case "":
					if r.URL.Query().Get("seekOperation") != "" {
						writeJSON(w, 400, `{"code":"400","description":"continuation token missing"}`)
						return
					}
					writeJSON(w, 200, `{"totalCount":2,"items":[{"id":"A"},{"id":"B"}],"links":{"next":{"uri":"`+prefix+`?size=2&seekOperation=Next","method":"GET","headers":[{"key":"MS-ContinuationToken","value":"tok-2"}]}}}`)
				case "tok-2":
					writeJSON(w, 200, `{"totalCount":1,"items":[{"id":"C"}],"links":{"self":{"uri":"/v1/customers"}}}`)
				default:
					writeJSON(w, 400, `{"code":"400","description":"bad token"}`)
				}
			})
			c := f.newClient(t, TokenConfig{})
			got, err := c.ListCustomers(context.Background(), 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || got[2].ID != "C" {
				t.Errorf("customers = %+v", got)
			}
			for _, p := range paths {
				if p != "/v1/customers" {
					t.Errorf("requested %q; want /v1/customers (never /v1//v1)", p)
				}
			}
		})
	}
}

func TestNextLinkToAnotherHostIsRefused(t *testing.T) {
	f := newFakePC(t)
	f.Mux.HandleFunc("GET /v1/customers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"items":[{"id":"A"}],"links":{"next":{"uri":"https://elsewhere.example/v1/customers?seekOperation=Next"}}}`)
	})
	c := f.newClient(t, TokenConfig{})
	if _, err := c.ListCustomers(context.Background(), 1); err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("want the bearer token kept from another host, got %v", err)
	}
}
