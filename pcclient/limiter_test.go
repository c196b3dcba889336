package pcclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/pcsim"
)

type urgentKey struct{}

func urgently(ctx context.Context) context.Context { return context.WithValue(ctx, urgentKey{}, true) }

func isUrgent(ctx context.Context) bool { return ctx.Value(urgentKey{}) != nil }

// pacedClient is a client at perMinute whose urgent calls are those made
// with urgently(ctx), against a fake with GET /v1/customers/{id}.
func pacedClient(t *testing.T, perMinute int, urgent func(context.Context) bool) (*Client, *atomic.Int32) {
	t.Helper()
	f := newFakePC(t)
	var served atomic.Int32
	f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		writeJSON(w, 200, `{"id":"c1"}`)
	})
	c := f.newClient(t, TokenConfig{}, func(cfg *Config) {
		cfg.RequestsPerMinute = perMinute
		cfg.Urgent = urgent
	})
	return c, &served
}

// eventually fails the test unless cond holds within 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func TestUrgentCallsGoAheadOfQueuedOnes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		nonUrgent int
		urgent    int
		mustBeat  int // non-urgent calls each urgent one must finish before
	}{
		{"one urgent call behind 40 queued", 40, 1, 30},
		{"three urgent calls behind 40 queued", 40, 3, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// 1200/min: one slot per 50ms.
			var asked atomic.Int32
			c, _ := pacedClient(t, 1200, func(ctx context.Context) bool {
				asked.Add(1)
				return isUrgent(ctx)
			})
			var mu sync.Mutex
			var order []bool // urgent or not, in the order calls finished
			call := func(ctx context.Context) {
				if _, err := c.GetCustomer(ctx, "c1"); err != nil {
					t.Error(err)
				}
				mu.Lock()
				order = append(order, isUrgent(ctx))
				mu.Unlock()
			}
			var wg sync.WaitGroup
			for range tc.nonUrgent {
				wg.Go(func() { call(context.Background()) })
			}
			eventually(t, "every non-urgent call is queued", func() bool { return int(asked.Load()) == tc.nonUrgent })
			for range tc.urgent {
				wg.Go(func() { call(urgently(context.Background())) })
			}
			wg.Wait()
			// Ordering, not wall-clock: without priority each urgent call
			// would finish after every queued one.
			after := 0
			for i := len(order) - 1; i >= 0; i-- {
				if !order[i] {
					after++
					continue
				}
				if after < tc.mustBeat {
					t.Errorf("an urgent call finished before only %d of %d queued calls, want at least %d (order %v)", after, tc.nonUrgent, tc.mustBeat, order)
				}
			}
		})
	}
}

func TestNonUrgentCallsAllComplete(t *testing.T) {
	for _, tc := range []struct {
		name              string
		perMinute         int
		urgentFn          func(context.Context) bool
		nonUrgent, urgent int
	}{
		{"nothing is urgent (Urgent nil)", 1200, nil, 20, 0},
		{"urgent calls mixed in", 1200, isUrgent, 20, 5},
		{"no pacing", 0, isUrgent, 20, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, served := pacedClient(t, tc.perMinute, tc.urgentFn)
			var wg sync.WaitGroup
			var done atomic.Int32
			for i := range tc.nonUrgent + tc.urgent {
				ctx := context.Background()
				if i%5 == 4 && i/5 < tc.urgent {
					ctx = urgently(ctx)
				}
				wg.Go(func() {
					if _, err := c.GetCustomer(ctx, "c1"); err != nil {
						t.Error(err)
						return
					}
					done.Add(1)
				})
			}
			wg.Wait()
			if n, want := int(done.Load()), tc.nonUrgent+tc.urgent; n != want || int(served.Load()) != want {
				t.Errorf("%d calls completed, %d served; want %d", n, served.Load(), want)
			}
			if u, n := c.pacer.waiting(); u != 0 || n != 0 {
				t.Errorf("pacer still counts %d urgent and %d non-urgent waiters", u, n)
			}
		})
	}
}

func TestCancelledWaitersLetOthersGo(t *testing.T) {
	// 30/min: one slot per 2s, so a waiter stays where the test puts it.
	type call struct {
		done chan struct{}
		err  error
	}
	for _, tc := range []struct {
		name string
		// run puts a cancellable call where the case says, cancels it, and
		// returns it; start starts calls, waiting reports the pacer.
		run func(t *testing.T, c *Client, start func(context.Context) *call) *call
	}{
		{"waiting for its turn", func(t *testing.T, c *Client, start func(context.Context) *call) *call {
			holder := start(context.Background())
			eventually(t, "a call has the turn", func() bool { _, n := c.pacer.waiting(); return n == 1 })
			ctx, cancel := context.WithCancel(context.Background())
			next := start(ctx)
			eventually(t, "a call waits for its turn", func() bool { _, n := c.pacer.waiting(); return n == 2 })
			cancel()
			<-next.done
			select {
			case <-holder.done:
				t.Error("the cancelled call returned only when the turn came to it")
			default:
			}
			return next
		}},
		{"holding its turn", func(t *testing.T, c *Client, start func(context.Context) *call) *call {
			ctx, cancel := context.WithCancel(context.Background())
			holder := start(ctx)
			eventually(t, "the call has reserved a slot", func() bool { return c.pacer.limiter.Tokens() < 0 })
			cancel()
			<-holder.done
			if tokens := c.pacer.limiter.Tokens(); tokens < 0 {
				t.Errorf("limiter tokens = %.2f: the cancelled call's slot was not given back", tokens)
			}
			return holder
		}},
		{"yielding to an urgent call", func(t *testing.T, c *Client, start func(context.Context) *call) *call {
			urgent := start(urgently(context.Background()))
			eventually(t, "an urgent call waits", func() bool { u, _ := c.pacer.waiting(); return u == 1 })
			ctx, cancel := context.WithCancel(context.Background())
			yielding := start(ctx)
			eventually(t, "a call yields", func() bool { _, n := c.pacer.waiting(); return n == 1 })
			cancel()
			<-yielding.done
			select {
			case <-urgent.done:
				t.Error("the cancelled call returned only after the urgent one")
			default:
			}
			return yielding
		}},
		{"urgent", func(t *testing.T, c *Client, start func(context.Context) *call) *call {
			ctx, cancel := context.WithCancel(urgently(context.Background()))
			urgent := start(ctx)
			eventually(t, "an urgent call waits", func() bool { u, _ := c.pacer.waiting(); return u == 1 })
			yielding := start(context.Background())
			eventually(t, "a call yields to it", func() bool { _, n := c.pacer.waiting(); return n == 1 })
			cancel()
			<-urgent.done
			<-yielding.done
			if yielding.err != nil {
				t.Errorf("the call that yielded to a cancelled urgent one: %v", yielding.err)
			}
			return urgent
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := pacedClient(t, 30, isUrgent)
			start := func(ctx context.Context) *call {
				cl := &call{done: make(chan struct{})}
				go func() {
					defer close(cl.done)
					_, cl.err = c.GetCustomer(ctx, "c1")
				}()
				return cl
			}
			// Use up the burst, so every later call waits for a slot.
			if _, err := c.GetCustomer(context.Background(), "c1"); err != nil {
				t.Fatal(err)
			}
			cancelled := tc.run(t, c, start)
			if !errors.Is(cancelled.err, context.Canceled) || Classify(cancelled.err) != ClassCanceled {
				t.Errorf("cancelled call: %v, want context.Canceled", cancelled.err)
			}
			// The turn and the slot were let go: a new call gets through.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := c.GetCustomer(ctx, "c1"); err != nil {
				t.Errorf("a call after the cancelled one: %v", err)
			}
			eventually(t, "the pacer is empty", func() bool { u, n := c.pacer.waiting(); return u == 0 && n == 0 })
		})
	}
}

// attemptLog records every HTTP attempt of a client: which customer it was
// for, when it was sent and whether it was throttled.
type attemptLog struct {
	mu       sync.Mutex
	attempts []loggedAttempt
}

type loggedAttempt struct {
	customer   string
	sent       time.Time
	throttled  bool
	retryAfter time.Duration
}

func (l *attemptLog) observe(c CallInfo) {
	done := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts = append(l.attempts, loggedAttempt{customer: pathCustomer(c.Path), sent: done.Add(-c.Duration), throttled: c.Throttled, retryAfter: c.RetryAfter})
}

// firstThrottle returns the first throttled attempt and when it was answered.
func (l *attemptLog) firstThrottle() (loggedAttempt, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.attempts {
		if a.throttled {
			return a, true
		}
	}
	return loggedAttempt{}, false
}

func (l *attemptLog) snapshot() []loggedAttempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]loggedAttempt(nil), l.attempts...)
}

// TestCustomerLimitHoldsBackTheThrottledCustomerAlone runs the client against the sandbox
// throttling per customer: once a hot customer is answered 429, its later
// calls wait out the Retry-After instead of being sent, while another
// customer's calls go on at the shared pace.
func TestCustomerLimitHoldsBackTheThrottledCustomerAlone(t *testing.T) {
	opts := pcsim.DefaultOptions()
	// 120/min per customer: a burst of 120, then one every 500ms, so the
	// sandbox answers Retry-After: 1. No partner-wide limit: only the
	// customer's bucket throttles.
	opts.Customers, opts.RateLimit, opts.CustomerRateLimit = 3, 0, 120
	srv := httptest.NewServer(pcsim.New(opts))
	t.Cleanup(srv.Close)
	log := &attemptLog{}
	tc := TokenConfig{TokenURL: srv.URL + "/partner/oauth2/token", ClientID: opts.ClientID, ClientSecret: opts.ClientSecret}
	// 30,000/min: a shared pace well above the test's calls, but a pace.
	c, err := New(Config{BaseURL: srv.URL, TokenSource: tc.TokenSource(), RequestsPerMinute: 30000, MaxAttempts: 10,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 2 * time.Second, OnCall: log.observe})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	customers, err := c.ListCustomers(ctx, 0)
	if err != nil || len(customers) < 2 {
		t.Fatalf("customers: %v, %v", customers, err)
	}
	hot, cold := customers[0].ID, customers[1].ID

	// Use up the hot customer's burst until the sandbox throttles it.
	var wg sync.WaitGroup
	var stop atomic.Bool
	for range 8 {
		wg.Go(func() {
			for n := 0; n < 100 && !stop.Load(); n++ {
				if _, err := c.ListSubscriptions(ctx, hot); err != nil {
					t.Errorf("hot customer: %v", err)
					return
				}
				if _, ok := log.firstThrottle(); ok {
					stop.Store(true)
				}
			}
		})
	}
	eventually(t, "the hot customer is throttled", func() bool { _, ok := log.firstThrottle(); return ok })
	first, _ := log.firstThrottle()
	throttledAt := time.Now()
	if first.customer != strings.ToLower(hot) || first.retryAfter < time.Second {
		wg.Wait()
		t.Fatalf("first 429: %+v, want one for %s with Retry-After of at least 1s", first, hot)
	}
	opensAt := throttledAt.Add(first.retryAfter)

	// While the hot customer is held: the cold one's calls go on, and the
	// hot one's new calls (made once those in flight at the 429 are
	// answered) wait.
	for i := range 20 {
		start := time.Now()
		if _, err := c.ListSubscriptions(ctx, cold); err != nil {
			t.Errorf("cold customer: %v", err)
		}
		if took := time.Since(start); took > 250*time.Millisecond {
			t.Errorf("cold customer's call %d took %v while the hot one was held", i+1, took)
		}
	}
	quietFrom, quietTo := throttledAt.Add(200*time.Millisecond), opensAt.Add(-100*time.Millisecond)
	time.Sleep(time.Until(quietFrom.Add(50 * time.Millisecond)))
	for range 2 {
		wg.Go(func() {
			if _, err := c.ListSubscriptions(ctx, hot); err != nil {
				t.Errorf("hot customer after the 429: %v", err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	inTime := time.Now().Before(quietTo)
	wg.Wait()
	if !inTime {
		t.Fatalf("the test's calls outlasted the hot customer's Retry-After; it proves nothing")
	}

	// No hot call was sent after those in flight at its 429 and before the
	// end of its Retry-After.
	var cold20 int
	for _, a := range log.snapshot() {
		switch a.customer {
		case strings.ToLower(hot):
			if a.sent.After(quietFrom) && a.sent.Before(quietTo) {
				t.Errorf("a call for the throttled customer was sent %v after its 429, within its Retry-After of %v", a.sent.Sub(throttledAt).Round(time.Millisecond), first.retryAfter)
			}
		case strings.ToLower(cold):
			if a.throttled {
				t.Errorf("the cold customer was throttled: %+v", a)
			}
			cold20++
		}
	}
	if cold20 != 20 {
		t.Errorf("%d attempts for the cold customer, want 20", cold20)
	}
	if n := c.gates.held(); n > 1 {
		t.Errorf("%d customers held back, want at most the hot one", n)
	}
}

func TestCustomerLimitGates(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		run  func(g *customerGates) (held bool)
		want bool
	}{
		{"held until its Retry-After", func(g *customerGates) bool {
			g.hold("a", 1, t0.Add(2*time.Second), t0)
			_, _, held := g.heldUntil("a", t0.Add(time.Second))
			return held
		}, true},
		{"open once it passed", func(g *customerGates) bool {
			g.hold("a", 1, t0.Add(2*time.Second), t0)
			_, _, held := g.heldUntil("a", t0.Add(2*time.Second))
			return held
		}, false},
		{"another customer is not held", func(g *customerGates) bool {
			g.hold("a", 1, t0.Add(2*time.Second), t0)
			_, _, held := g.heldUntil("b", t0)
			return held
		}, false},
		{"a shorter hold does not shorten a longer one", func(g *customerGates) bool {
			g.hold("a", 1, t0.Add(5*time.Second), t0)
			g.hold("a", 2, t0.Add(time.Second), t0)
			_, _, held := g.heldUntil("a", t0.Add(3*time.Second))
			return held
		}, true},
		{"an answer to a call sent before the hold does not lift it", func(g *customerGates) bool {
			g.hold("a", 1, t0.Add(2*time.Second), t0)
			g.lift("a", t0.Add(-time.Millisecond))
			_, _, held := g.heldUntil("a", t0.Add(time.Second))
			return held
		}, true},
		{"an answer to a call sent after it lifts it", func(g *customerGates) bool {
			g.hold("a", 1, t0.Add(2*time.Second), t0)
			g.lift("a", t0.Add(time.Millisecond))
			_, _, held := g.heldUntil("a", t0.Add(time.Second))
			return held
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.run(&customerGates{}); got != tc.want {
				t.Errorf("held = %v, want %v", got, tc.want)
			}
		})
	}
	g := &customerGates{}
	for i := range 50 {
		g.hold(string(rune('a'+i)), 1, t0.Add(time.Second), t0)
	}
	g.hold("late", 2, t0.Add(5*time.Second), t0.Add(2*time.Second))
	if n := g.held(); n != 1 {
		t.Errorf("%d gates kept after they expired, want only the live one", n)
	}
}

func TestCustomerLimitPathCustomer(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/customers/ABC-1/subscriptions":           "abc-1",
		"/v1/customers/abc-1":                         "abc-1",
		"/v1/customers/abc-1/users/u1/licenseupdates": "abc-1",
		"/v1/customers":                               "",
		"/v1/customers/":                              "",
		"/v1/productUpgrades":                         "",
	} {
		if got := pathCustomer(path); got != want {
			t.Errorf("pathCustomer(%q) = %q, want %q", path, got, want)
		}
	}
}
