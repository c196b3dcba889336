package pcclient_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/internal/pctest"
	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// These tests run the real client against the real sandbox over loopback.

const (
	e1OfferID  = "91FD106F-4B2C-4938-95AC-F54F74E9A239"
	e1SkuID    = "18181a46-0d4e-45cd-891e-60aabd171b4e"
	kaizalaSku = "a1c9d3f2-6b4e-4e8a-9f2d-7c5b1e0a4d36"
)

func startSandbox(t *testing.T, mutate func(*pcsim.Options)) (*pcsim.Server, string) {
	t.Helper()
	opts := pcsim.DefaultOptions()
	opts.Customers = 30
	opts.RateLimit = 0
	opts.ProvisioningDelay = 300 * time.Millisecond
	if mutate != nil {
		mutate(&opts)
	}
	sim := pcsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func newClient(t *testing.T, base string, appUser bool, mutate func(*pcclient.Config)) *pcclient.Client {
	t.Helper()
	c, err := pctest.Client(base, appUser, mutate)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSandboxCustomersPageThroughContinuationTokens(t *testing.T) {
	_, base := startSandbox(t, nil)
	c := newClient(t, base, false, nil)
	customers, err := c.ListCustomers(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, cu := range customers {
		seen[strings.ToLower(cu.ID)] = true
	}
	if len(customers) != 30 || len(seen) != 30 {
		t.Errorf("got %d customers (%d distinct), want 30", len(customers), len(seen))
	}
}

func TestSandboxLicenceCallsNeedAppUser(t *testing.T) {
	_, base := startSandbox(t, nil)
	ctx := context.Background()
	appOnly := newClient(t, base, false, nil)
	customers, err := appOnly.ListCustomers(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = appOnly.ListUsers(ctx, customers[0].ID, 0)
	if pcclient.StatusCode(err) != 403 || !pcclient.IsAuth(err) {
		t.Errorf("users with an app-only token: want 403 auth, got %v", err)
	}
	if _, err := newClient(t, base, true, nil).ListUsers(ctx, customers[0].ID, 0); err != nil {
		t.Errorf("users with App+User: %v", err)
	}
}

// The documented migration, step by step, through the client: buy E1
// (twice with one MS-RequestId: one purchase), wait for the seats, swap each
// user's licence in one call, suspend Kaizala Pro.
// The seed's three steps the 2020 way, by a legacy order (the sandbox's
// --legacy-purchases world); carts are tested in the bot's engine tests.
func TestSandboxKaizalaToE1ThroughTheClient(t *testing.T) {
	sim, base := startSandbox(t, func(o *pcsim.Options) { o.LegacyPurchases = true })
	ctx := context.Background()
	c := newClient(t, base, true, nil)

	report, err := (&bot.Scanner{Source: pcclient.Adapter{Client: c}}).Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expiring := report.Expiring(400)
	if len(expiring) < 5 {
		t.Fatalf("want at least 5 expiring Kaizala Pro subscriptions among 30 customers, got %d", len(expiring))
	}
	// A customer with no free E1 seat yet, so the provisioning delay shows.
	var target *bot.Finding
	for i, f := range expiring {
		pools, err := c.ListSubscribedSKUs(ctx, f.Customer.ID)
		if err != nil {
			t.Fatal(err)
		}
		free := 0
		for _, p := range pools {
			if pcclient.SameID(p.ProductSKU.ID, e1SkuID) {
				free = p.AvailableUnits
			}
		}
		if free == 0 {
			target = &expiring[i]
			break
		}
	}
	if target == nil {
		t.Fatal("every expiring customer already has free E1 seats")
	}
	customerID, kaizalaSub := target.Customer.ID, target.Subscription.ID

	users, err := c.ListUsers(ctx, customerID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var holders []pcclient.User
	for _, u := range users {
		lic, err := c.ListUserLicenses(ctx, customerID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lic {
			if pcclient.SameID(l.ProductSKU.ID, kaizalaSku) {
				holders = append(holders, u)
			}
		}
	}
	if len(holders) == 0 {
		t.Fatal("no Kaizala Pro holders")
	}

	// A. Buy, twice with the same MS-RequestId.
	order := pcclient.Order{LineItems: []pcclient.OrderLineItem{{OfferID: e1OfferID, Quantity: len(holders), FriendlyName: "Office 365 E1"}}}
	buyCtx := pcclient.WithRequestID(ctx, "buy-e1-"+customerID)
	first, err := c.CreateOrder(buyCtx, customerID, order)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.CreateOrder(buyCtx, customerID, order)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != second.ID || first.LineItems[0].SubscriptionID != second.LineItems[0].SubscriptionID {
		t.Errorf("a repeated MS-RequestId bought again: %s vs %s", first.ID, second.ID)
	}
	if got := sim.Stats().OrdersCreated; got != 1 {
		t.Errorf("orders created = %d, want 1", got)
	}
	newSub := first.LineItems[0].SubscriptionID

	// B. Before the seats are provisioned the swap fails with 60012.
	swap := pcclient.LicenseUpdate{LicensesToAssign: []pcclient.LicenseAssignment{{SkuID: e1SkuID}}, LicensesToRemove: []string{kaizalaSku}}
	var withLocation, without []pcclient.User
	for _, u := range holders {
		if u.UsageLocation == "" {
			without = append(without, u)
		} else {
			withLocation = append(withLocation, u)
		}
	}
	if len(withLocation) == 0 {
		t.Fatal("no holder with a usage location")
	}
	_, err = c.UpdateLicenses(ctx, customerID, withLocation[0].ID, swap)
	if pcclient.ErrorCode(err) != "60012" || !pcclient.IsBusiness(err) {
		t.Errorf("before provisioning: want 60012 business error, got %v", err)
	}
	waitForSeats(t, c, customerID, e1SkuID, len(holders))

	for _, u := range withLocation {
		if _, err := c.UpdateLicenses(ctx, customerID, u.ID, swap); err != nil {
			t.Fatalf("swap %s: %v", u.UserPrincipalName, err)
		}
		lic, err := c.ListUserLicenses(ctx, customerID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		var skus []string
		for _, l := range lic {
			skus = append(skus, strings.ToLower(l.ProductSKU.ID))
		}
		joined := strings.Join(skus, ",")
		if !strings.Contains(joined, e1SkuID) || strings.Contains(joined, kaizalaSku) {
			t.Errorf("%s holds %v after the swap", u.UserPrincipalName, skus)
		}
	}
	for _, u := range without {
		_, err := c.UpdateLicenses(ctx, customerID, u.ID, swap)
		if !pcclient.IsBusiness(err) || !strings.Contains(strings.ToLower(err.Error()), "usage location") {
			t.Errorf("user without usageLocation: want a business error about the usage location, got %v", err)
		}
	}

	// C. Suspend; a second call is a no-op.
	for range 2 {
		sub, err := c.SetSubscriptionStatus(ctx, customerID, kaizalaSub, pcclient.StatusSuspended)
		if err != nil {
			t.Fatal(err)
		}
		if !sub.Status.Is(pcclient.StatusSuspended) {
			t.Errorf("status after suspend = %q", sub.Status)
		}
	}
	subs, err := c.ListSubscriptions(ctx, customerID)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range subs {
		if pcclient.SameID(s.ID, newSub) {
			found = true
			if !s.Status.Is(pcclient.StatusActive) || s.Quantity != len(holders) {
				t.Errorf("new subscription = %+v", s)
			}
		}
	}
	if !found {
		t.Errorf("new subscription %s not listed", newSub)
	}
}

func waitForSeats(t *testing.T, c *pcclient.Client, customerID, skuID string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		skus, err := c.ListSubscribedSKUs(context.Background(), customerID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range skus {
			if pcclient.SameID(s.ProductSKU.ID, skuID) && s.AvailableUnits >= want {
				if s.ProductSKU.SkuPartNumber != "STANDARDPACK" {
					t.Errorf("E1 pool skuPartNumber = %q", s.ProductSKU.SkuPartNumber)
				}
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%d seats of %s never became available", want, skuID)
}

func TestSandboxFaultsAreRetriedAndWritesHappenOnce(t *testing.T) {
	sim, base := startSandbox(t, func(o *pcsim.Options) { o.FaultRate, o.LegacyPurchases = 0.3, true })
	c := newClient(t, base, true, func(cfg *pcclient.Config) { cfg.MaxAttempts = 30 })
	ctx := context.Background()
	customers, err := c.ListCustomers(ctx, 10)
	if err != nil {
		t.Fatalf("listing under faults: %v", err)
	}
	for i := range 5 {
		order := pcclient.Order{LineItems: []pcclient.OrderLineItem{{OfferID: e1OfferID, Quantity: 2}}}
		if _, err := c.CreateOrder(pcclient.WithRequestID(ctx, "order-"+customers[i].ID), customers[i].ID, order); err != nil {
			t.Fatalf("order under faults: %v", err)
		}
	}
	if s := sim.Stats(); s.OrdersCreated != 5 || s.Faults == 0 {
		t.Errorf("orders created %d (want exactly 5), faults injected %d (want some)", s.OrdersCreated, s.Faults)
	}
}

func TestSandboxThrottlingIsRidden(t *testing.T) {
	sim, base := startSandbox(t, func(o *pcsim.Options) { o.RateLimit = 60 })
	c := newClient(t, base, false, func(cfg *pcclient.Config) { cfg.MaxAttempts = 20 })
	ctx := context.Background()
	customers, err := c.ListCustomers(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 64 more calls from 8 goroutines with no client-side limit: the bucket
	// of 60 runs dry and the rest must wait Retry-After and succeed.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 8 {
				_, err := c.GetCustomer(ctx, customers[(w*8+i)%len(customers)].ID)
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if sim.Stats().Throttled == 0 {
		t.Error("the sandbox never throttled; the test proves nothing")
	}
}

func TestSandboxWrongCredentials(t *testing.T) {
	_, base := startSandbox(t, nil)
	tc := pcclient.TokenConfig{TokenURL: base + "/p/oauth2/v2.0/token", ClientID: "sandbox-client", ClientSecret: "nope"}
	c, _ := pcclient.New(pcclient.Config{BaseURL: base, TokenSource: tc.TokenSource()})
	_, err := c.ListCustomers(context.Background(), 0)
	var authErr *pcclient.AuthError
	if !errors.As(err, &authErr) || authErr.StatusCode != 401 || !pcclient.IsAuth(err) {
		t.Errorf("want a 401 AuthError, got %v", err)
	}
}
