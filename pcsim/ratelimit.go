package pcsim

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// throttle applies the partner-wide token bucket and, when the path names a customer, that customer's bucket
// too: the guide throttles "per Partner Tenant ID" for some APIs and "per Partner Tenant ID per Customer
// Tenant ID" for others ([PC-2023] developer/api-throttling-guidance.md), and the sandbox does both on every
// customer path. A throttled request gets the documented 429 answer: a Retry-After header in whole seconds
// (the longer of the two waits) and a {statusCode, message} body that is not the usual error shape.
func (s *Server) throttle(path string) (reply, bool) {
	if s.limiter == nil && s.customers == nil {
		return reply{}, true
	}
	now := s.now()
	var wait time.Duration
	var held []*rate.Reservation
	for _, lim := range []*rate.Limiter{s.limiter, s.customerLimiter(path)} {
		if lim == nil {
			continue
		}
		res := lim.ReserveN(now, 1)
		held = append(held, res)
		wait = max(wait, res.DelayFrom(now))
	}
	if wait <= 0 {
		return reply{}, true
	}
	for _, res := range held {
		res.CancelAt(now) // a refused request must not use up a token of either bucket
	}
	s.stats.throttled.Add(1)
	secs := max(1, int(math.Ceil(wait.Seconds())))
	body := fmt.Sprintf(`{"statusCode": 429, "message": "Rate limit is exceeded. Try again in %d seconds."}`, secs)
	return reply{
		status: http.StatusTooManyRequests,
		body:   []byte(body),
		header: http.Header{"Retry-After": {strconv.Itoa(secs)}},
	}, false
}

// customerBuckets holds one token bucket per partner+customer, made on a customer's first request.
type customerBuckets struct {
	rpm  int
	mu   sync.Mutex
	byID map[string]*rate.Limiter // by canonical (lower-case) customer id
}

// customerLimiter returns the bucket of the customer a /v1/customers/{id}[/…] path names, or nil when
// per-customer throttling is off or the path names no known customer (so made-up ids cannot grow the map;
// they still draw from the partner-wide bucket).
func (s *Server) customerLimiter(path string) *rate.Limiter {
	if s.customers == nil {
		return nil
	}
	segs := strings.SplitN(strings.Trim(path, "/"), "/", 4)
	if len(segs) < 3 || !strings.EqualFold(segs[0], "v1") || !strings.EqualFold(segs[1], "customers") || segs[2] == "" {
		return nil
	}
	s.mu.Lock()
	c := s.world.customer(segs[2])
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	b := s.customers
	b.mu.Lock()
	defer b.mu.Unlock()
	lim, ok := b.byID[c.id]
	if !ok {
		// Burst = one minute's worth, like the partner-wide bucket.
		lim = rate.NewLimiter(rate.Limit(b.rpm)/60, b.rpm)
		b.byID[c.id] = lim
	}
	return lim
}
