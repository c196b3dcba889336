package pcclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// The real client against the real sandbox over loopback, for the answers a
// subscription PATCH gets in 2026: no etag on new commerce, 400 / 2055, 202
// Accepted, 409 during a renewal.

// simClock is a pcsim.Options.Now that runs with the real clock and can be
// moved on.
type simClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// seenPatch is one subscription PATCH as the sandbox received and answered it.
type seenPatch struct {
	ifMatch, requestID string
	status             int
}

// patchLog records the subscription PATCHes passing to the sandbox.
type patchLog struct {
	mu      sync.Mutex
	patches []seenPatch
}

func (l *patchLog) all() []seenPatch {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]seenPatch{}, l.patches...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// updateWorld is a sandbox with a settable clock, a client of it, a legacy
// (Kaizala Pro) and a new-commerce subscription of one customer.
type updateWorld struct {
	sim        *pcsim.Server
	clock      *simClock
	log        *patchLog
	client     *Client
	customerID string
	legacy     string
	nce        string
}

func newUpdateWorld(t *testing.T, mutate func(*pcsim.Options)) *updateWorld {
	t.Helper()
	w := &updateWorld{clock: &simClock{}, log: &patchLog{}}
	opts := pcsim.DefaultOptions()
	opts.Customers, opts.RateLimit, opts.Now = 30, 0, w.clock.Now
	if mutate != nil {
		mutate(&opts)
	}
	w.sim = pcsim.New(opts)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPatch {
			w.sim.ServeHTTP(rw, r)
			return
		}
		sw := &statusWriter{ResponseWriter: rw}
		w.sim.ServeHTTP(sw, r)
		w.log.mu.Lock()
		w.log.patches = append(w.log.patches, seenPatch{r.Header.Get("If-Match"), r.Header.Get("MS-RequestId"), sw.status})
		w.log.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	w.client = sandboxClient(t, srv.URL, opts)

	ctx := context.Background()
	customers, err := w.client.ListCustomers(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, cu := range customers {
		subs, err := w.client.ListSubscriptions(ctx, cu.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			if strings.Contains(s.OfferName, "Kaizala Pro") && s.Status.Is(StatusActive) {
				w.customerID, w.legacy = cu.ID, s.ID
			}
		}
		if w.legacy != "" {
			break
		}
	}
	if w.legacy == "" {
		t.Fatal("no customer holds an active Kaizala Pro subscription")
	}
	cart, err := w.client.CreateCart(ctx, w.customerID, Cart{LineItems: []CartLineItem{{
		CatalogItemID: "CFQ7TTC0LF8Q:0001:CFQ7TTC0K39X", Quantity: 5, BillingCycle: "monthly", TermDuration: "P1Y",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.client.CheckoutCart(ctx, w.customerID, cart.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The checkout answers pending, without the subscription: it shows on
	// the order once Microsoft has provisioned it.
	if id := res.Orders[0].LineItems[0].SubscriptionID; id != "" {
		t.Fatalf("the checkout named subscription %s before provisioning", id)
	}
	w.clock.Advance(opts.ProvisioningDelay + time.Second)
	order, err := w.client.GetOrder(ctx, w.customerID, res.Orders[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if w.nce = order.LineItems[0].SubscriptionID; order.Status != "completed" || w.nce == "" {
		t.Fatalf("order after provisioning: %+v", order)
	}
	return w
}

func sandboxClient(t *testing.T, url string, opts pcsim.Options) *Client {
	t.Helper()
	tc := TokenConfig{TokenURL: url + "/partner/oauth2/token", ClientID: opts.ClientID, ClientSecret: opts.ClientSecret, RefreshToken: opts.RefreshToken}
	c, err := New(Config{
		BaseURL: url, TokenSource: tc.TokenSource(), MaxAttempts: 5,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, AttemptTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sub picks the legacy or the new-commerce subscription.
func (w *updateWorld) sub(nce bool) string {
	if nce {
		return w.nce
	}
	return w.legacy
}

// rename changes a subscription's friendly name behind the client's back, as
// another writer would.
func (w *updateWorld) rename(t *testing.T, subscriptionID, name string) {
	t.Helper()
	// context.Background: a request id of its own.
	if _, err := w.client.UpdateSubscription(context.Background(), w.customerID, subscriptionID, func(f map[string]any) (bool, error) {
		SetField(f, "friendlyName", name)
		return true, nil
	}); err != nil {
		t.Fatalf("the other writer: %v", err)
	}
}

func TestUpdateSubscriptionAgainstTheSandbox(t *testing.T) {
	const requestID = "6f8a4a8e-2f4b-4d5e-9b0a-2b7c6d1e0f11"
	afterConflict := uuid.NewSHA1(uuid.NameSpaceOID, []byte(requestID+"/after-2055")).String()
	atOnce := func(o *pcsim.Options) { o.AsyncPatchRate = 0 }
	later := func(o *pcsim.Options) { o.AsyncPatchRate = 1 }
	tests := []struct {
		name    string
		nce     bool
		sim     func(*pcsim.Options)
		renames int // by another writer, each time change runs
		// what the sandbox saw of this client's PATCHes, in order
		wantStatuses []int
		wantIDs      []string
		wantIfMatch  bool
		wantErr      func(error) bool
	}{
		{name: "legacy: If-Match with the fresh etag", sim: atOnce,
			wantStatuses: []int{200}, wantIDs: []string{requestID}, wantIfMatch: true},
		{name: "new commerce: no etag, no If-Match", nce: true, sim: atOnce,
			wantStatuses: []int{200}, wantIDs: []string{requestID}},
		{name: "new commerce with an etag after all: If-Match", nce: true, sim: func(o *pcsim.Options) { o.AsyncPatchRate, o.NCEEtags = 0, true },
			wantStatuses: []int{200}, wantIDs: []string{requestID}, wantIfMatch: true},
		{name: "legacy: 202, read again until it shows", sim: later,
			wantStatuses: []int{202}, wantIDs: []string{requestID}, wantIfMatch: true},
		{name: "new commerce: 202, read again until it shows", nce: true, sim: later,
			wantStatuses: []int{202}, wantIDs: []string{requestID}},
		{name: "legacy: changed in between, 400 / 2055, GET fresh and PATCH once more", sim: atOnce, renames: 1,
			wantStatuses: []int{400, 200}, wantIDs: []string{requestID, afterConflict}, wantIfMatch: true},
		{name: "legacy: changed in between twice, the second 2055 is returned", sim: atOnce, renames: 2,
			wantStatuses: []int{400, 400}, wantIDs: []string{requestID, afterConflict}, wantIfMatch: true,
			wantErr: func(err error) bool {
				return StatusCode(err) == http.StatusBadRequest && ErrorCode(err) == "2055" && !IsRetryable(err)
			}},
		{name: "new commerce: nothing to conflict with", nce: true, sim: atOnce, renames: 1,
			wantStatuses: []int{200}, wantIDs: []string{requestID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newUpdateWorld(t, tc.sim)
			sid := w.sub(tc.nce)
			ctx := WithRequestID(context.Background(), requestID)
			runs := 0
			got, err := w.client.UpdateSubscription(ctx, w.customerID, sid, func(f map[string]any) (bool, error) {
				runs++
				if runs <= tc.renames {
					w.rename(t, sid, fmt.Sprintf("renamed by someone else (%d)", runs))
				}
				SetField(f, "status", "suspended")
				return true, nil
			})
			var mine []seenPatch // the other writer's PATCHes have request ids of their own
			for _, p := range w.log.all() {
				if p.requestID == requestID || p.requestID == afterConflict {
					mine = append(mine, p)
				}
			}
			if len(mine) != len(tc.wantStatuses) {
				t.Fatalf("PATCHes %+v, want statuses %v", mine, tc.wantStatuses)
			}
			for i, p := range mine {
				if p.status != tc.wantStatuses[i] || p.requestID != tc.wantIDs[i] || (p.ifMatch != "") != tc.wantIfMatch {
					t.Errorf("PATCH %d: %+v, want status %d, MS-RequestId %s, If-Match sent %v", i, p, tc.wantStatuses[i], tc.wantIDs[i], tc.wantIfMatch)
				}
				if p.ifMatch != "" && (!strings.HasPrefix(p.ifMatch, `"`) || !strings.HasSuffix(p.ifMatch, `"`)) {
					t.Errorf("If-Match %s is not quoted", p.ifMatch)
				}
			}
			if tc.wantErr != nil {
				if !tc.wantErr(err) {
					t.Errorf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// What it returns is what Partner Center shows, right away.
			now, err := w.client.GetSubscription(context.Background(), w.customerID, sid)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Status.Is(StatusSuspended) || !now.Status.Is(StatusSuspended) {
				t.Errorf("returned %q, shown %q; want suspended", got.Status, now.Status)
			}
		})
	}
}

// TestUpdateDuringRenewal: a 409 while the renewal is processed is an
// *UpdateBusyError that Classify (and the bot adapter) call retryable; once
// the renewal is over the same request goes through.
func TestUpdateDuringRenewal(t *testing.T) {
	for _, nce := range []bool{true, false} {
		name := map[bool]string{true: "new commerce", false: "legacy"}[nce]
		t.Run(name, func(t *testing.T) {
			w := newUpdateWorld(t, func(o *pcsim.Options) { o.AsyncPatchRate = 0 })
			sid := w.sub(nce)
			if err := w.sim.StartRenewal(w.customerID, sid, 2*time.Minute); err != nil {
				t.Fatal(err)
			}
			ctx := WithRequestID(context.Background(), "renewal-request")
			a := Adapter{Client: w.client}
			_, _, err := a.Suspend(ctx, w.customerID, sid, "renewal-request")
			var busy *UpdateBusyError
			if !errors.As(err, &busy) || StatusCode(err) != http.StatusConflict || ErrorCode(err) != "800082" {
				t.Fatalf("during the renewal: %v; want an *UpdateBusyError around the 409", err)
			}
			if Classify(err) != ClassRetryable || a.Classify(err) != bot.FailureRetryable || IsConflict(err) {
				t.Errorf("Classify = %v, adapter %v; want retryable, not a conflict to reconcile", Classify(err), a.Classify(err))
			}
			if !strings.Contains(err.Error(), "not ready to be updated") {
				t.Errorf("the error does not say why: %v", err)
			}

			w.clock.Advance(2 * time.Minute)
			s, _, err := a.Suspend(ctx, w.customerID, sid, "renewal-request")
			if err != nil || s.Status != "suspended" {
				t.Fatalf("after the renewal: %+v %v", s, err)
			}
		})
	}
}

// TestAcceptedChangeWaitIsBounded: a 202 whose change never shows ends with
// ctx, or after AcceptedChangeWait with an *UpdatePendingError that Classify
// calls retryable.
func TestAcceptedChangeWaitIsBounded(t *testing.T) {
	tests := []struct {
		name     string
		fakeTime bool // the client's sleeps advance a fake clock instead of waiting
		ctxLimit time.Duration
		wantErr  func(error) bool
	}{
		{"bounded by ctx", false, 300 * time.Millisecond, func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded)
		}},
		{"bounded by AcceptedChangeWait", true, time.Minute, func(err error) bool {
			var pending *UpdatePendingError
			return errors.As(err, &pending) && Classify(err) == ClassRetryable && !IsConflict(err) &&
				pending.Waited >= AcceptedChangeWait && pending.Reads > 1 && pending.Reads < maxChangeReads &&
				pending.Want["status"] == "suspended" && strings.Contains(err.Error(), "status")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Every change is accepted and takes a day to show.
			w := newUpdateWorld(t, func(o *pcsim.Options) { o.AsyncPatchRate, o.AsyncPatchDelay = 1, 24*time.Hour })
			if tc.fakeTime {
				// Back-offs long enough for the time bound to come before the count bound.
				w.client.cfg.MinBackoff, w.client.cfg.MaxBackoff = 5*time.Second, 30*time.Second
				var mu sync.Mutex
				now := time.Now()
				w.client.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
				w.client.sleep = func(ctx context.Context, d time.Duration) error {
					mu.Lock()
					now = now.Add(d)
					mu.Unlock()
					return ctx.Err()
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), tc.ctxLimit)
			defer cancel()
			_, err := w.client.SetSubscriptionStatus(ctx, w.customerID, w.legacy, StatusSuspended)
			if !tc.wantErr(err) {
				t.Errorf("err = %v", err)
			}
			if p := w.log.all(); len(p) != 1 || p[0].status != http.StatusAccepted {
				t.Errorf("PATCHes %+v, want one answered 202 (the wait must not write again)", p)
			}
		})
	}
}

// TestAdapterSuspendReturnsOnceSuspended: whatever the answer to the PATCH,
// Suspend returns only when a read shows the subscription suspended.
func TestAdapterSuspendReturnsOnceSuspended(t *testing.T) {
	tests := []struct {
		name string
		nce  bool
		rate float64
	}{
		{"legacy, 200", false, 0},
		{"legacy, 202", false, 1},
		{"new commerce, 200", true, 0},
		{"new commerce, 202", true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newUpdateWorld(t, func(o *pcsim.Options) { o.AsyncPatchRate, o.AsyncPatchDelay = tc.rate, 50*time.Millisecond })
			sid := w.sub(tc.nce)
			a := Adapter{Client: w.client}
			s, call, err := a.Suspend(context.Background(), w.customerID, sid, "suspend-request")
			if err != nil {
				t.Fatal(err)
			}
			shown, err := w.client.GetSubscription(context.Background(), w.customerID, sid)
			if err != nil {
				t.Fatal(err)
			}
			if s.Status != "suspended" || !shown.Status.Is(StatusSuspended) || call.RequestID != "suspend-request" {
				t.Errorf("Suspend returned %q (call %+v), Partner Center shows %q", s.Status, call, shown.Status)
			}
			if tc.nce && shown.AutoRenewEnabled {
				t.Error("a suspended new-commerce subscription still renews")
			}
			want := map[float64]int{0: 200, 1: 202}[tc.rate]
			if p := w.log.all(); len(p) != 1 || p[0].status != want {
				t.Errorf("PATCHes %+v, want one answered %d", p, want)
			}
		})
	}
}
