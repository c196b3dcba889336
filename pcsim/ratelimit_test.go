package pcsim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	sb := newSandbox(t, func(o *Options) { o.RateLimit = 60 })
	tok := sb.appToken()
	var throttled []answer
	for i := range 70 {
		a, err := sb.call("GET", "/v1/customers?size=1", tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case a.status == http.StatusTooManyRequests:
			throttled = append(throttled, a)
		case i < 60 && a.status != http.StatusOK:
			t.Fatalf("request %d: status %d inside the burst of 60", i, a.status)
		}
	}
	if len(throttled) == 0 {
		t.Fatal("70 quick requests at RateLimit 60: none throttled")
	}
	a := throttled[0]
	secs, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Errorf("Retry-After %q, want whole seconds >= 1", a.header.Get("Retry-After"))
	}
	var body struct {
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil || body.StatusCode != 429 ||
		!regexp.MustCompile(`^Rate limit is exceeded\. Try again in \d+ seconds\.$`).MatchString(body.Message) {
		t.Errorf("429 body %s", a.body)
	}
	if got := sb.srv.Stats().Throttled; got != int64(len(throttled)) {
		t.Errorf("Stats.Throttled = %d, want %d", got, len(throttled))
	}
}

// TestCustomerRateLimit: a customer's own bucket throttles its burst while other customers go on, the
// partner-wide bucket still applies on top, and a request refused by one bucket uses up no token of the other.
func TestCustomerRateLimit(t *testing.T) {
	if DefaultOptions().CustomerRateLimit != 0 {
		t.Fatal("per-customer throttling is on by default")
	}
	type burst struct {
		customer   string // "a", "A" (a's id upper-cased), "b" or "list" (GET /v1/customers)
		n          int
		okFirst    int // this many answer 200, the rest 429
		retryAfter int // Retry-After of the 429s
	}
	tests := []struct {
		name                    string
		rateLimit, customerRate int
		bursts                  []burst
	}{
		{"off by default", 0, 0, []burst{{"a", 70, 70, 0}}},
		{"one customer's burst is throttled, another's goes through", 0, 10, []burst{
			{"a", 12, 10, 6}, // 10/min: one token every 6 s
			{"A", 1, 0, 6},   // the same customer, however its id is spelled
			{"b", 10, 10, 0},
			{"list", 20, 20, 0}, // paths naming no customer draw only from the partner bucket
		}},
		{"the partner limit applies on top", 16, 10, []burst{
			// the setup's GET /v1/customers took 1 of the partner's 16
			{"a", 11, 10, 6}, // the refused 11th must not cost a partner token
			{"b", 6, 5, 4},   // 16/min: one token every 3.75 s
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)} // frozen: no refill during the test
			sb := newSandbox(t, func(o *Options) {
				o.Now, o.RateLimit, o.CustomerRateLimit = clk.Now, tc.rateLimit, tc.customerRate
			})
			tok := sb.appToken()
			var p page[customerView]
			sb.must(http.StatusOK, "GET", "/v1/customers?size=2", tok, nil, &p)
			paths := map[string]string{
				"a":    "/v1/customers/" + p.Items[0].ID + "/subscriptions",
				"A":    "/v1/CUSTOMERS/" + strings.ToUpper(p.Items[0].ID) + "/subscriptions",
				"b":    "/v1/customers/" + p.Items[1].ID,
				"list": "/v1/customers?size=1",
			}
			throttled := 0
			for _, b := range tc.bursts {
				for i := range b.n {
					a, err := sb.call("GET", paths[b.customer], tok, nil)
					if err != nil {
						t.Fatal(err)
					}
					if i < b.okFirst {
						if a.status != http.StatusOK {
							t.Fatalf("%s request %d: status %d, want 200; body %s", b.customer, i, a.status, a.body)
						}
						continue
					}
					throttled++
					if a.status != http.StatusTooManyRequests {
						t.Fatalf("%s request %d: status %d, want 429", b.customer, i, a.status)
					}
					if got := a.header.Get("Retry-After"); got != strconv.Itoa(b.retryAfter) {
						t.Errorf("%s request %d: Retry-After %q, want %d", b.customer, i, got, b.retryAfter)
					}
					want := `{"statusCode": 429, "message": "Rate limit is exceeded. Try again in ` + strconv.Itoa(b.retryAfter) + ` seconds."}`
					if string(a.body) != want {
						t.Errorf("%s request %d: body %s, want %s", b.customer, i, a.body, want)
					}
				}
			}
			if got := sb.srv.Stats().Throttled; got != int64(throttled) {
				t.Errorf("Stats.Throttled = %d, want %d", got, throttled)
			}
		})
	}
}
