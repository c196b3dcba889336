package pcsim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"testing"
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
