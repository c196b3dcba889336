package pcclient

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
