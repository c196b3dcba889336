package pcclient_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

const e1CatalogItem = "CFQ7TTC0LF8Q:0001:CFQ7TTC0K39X"

// kaizalaSource finds a Kaizala Pro subscription whose transition to E1 with licence transfer is (want=true)
// or is not (want=false) eligible, and returns its customer, subscription and eligibility.
func kaizalaSource(t *testing.T, ctx context.Context, c *pcclient.Client, want bool) (string, pcclient.Subscription, pcclient.TransitionEligibility) {
	t.Helper()
	customers, err := c.ListCustomers(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, cu := range customers {
		subs, err := c.ListSubscriptions(ctx, cu.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			if !strings.Contains(s.OfferName, "Kaizala Pro") || !s.Status.Is(pcclient.StatusActive) {
				continue
			}
			if _, err := c.ListUsers(ctx, cu.ID, 0); err != nil {
				continue // no GDAP role for this customer
			}
			elig, err := c.GetTransitionEligibilities(ctx, cu.ID, s.ID, pcclient.EligibilityImmediate)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range elig {
				if ok, _ := e.Eligible(pcclient.TransitionWithLicenseTransfer); e.CatalogItemID == e1CatalogItem && ok == want {
					return cu.ID, s, e
				}
			}
		}
	}
	t.Fatalf("no Kaizala Pro subscription with licence transfer eligible=%v", want)
	return "", pcclient.Subscription{}, pcclient.TransitionEligibility{}
}

func TestSandboxTransitionThroughTheClient(t *testing.T) {
	sim, base := startSandbox(t, func(o *pcsim.Options) { o.ProvisioningDelay = time.Hour })
	ctx := context.Background()
	c := newClient(t, base, true, nil)
	customerID, src, elig := kaizalaSource(t, ctx, c, true)
	if elig.Title != "Office 365 E1" || elig.Quantity != src.Quantity {
		t.Errorf("eligibility %+v", elig)
	}

	users, err := c.ListUsers(ctx, customerID, 0)
	if err != nil {
		t.Fatal(err)
	}
	holds := func(uid, sku string) bool {
		lic, err := c.ListUserLicenses(ctx, customerID, uid)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lic {
			if pcclient.SameID(l.ProductSKU.ID, sku) {
				return true
			}
		}
		return false
	}
	var holders []string
	for _, u := range users {
		if holds(u.ID, kaizalaSku) {
			holders = append(holders, u.ID)
		}
	}

	tr := pcclient.Transition{ToCatalogItemID: e1CatalogItem, Quantity: src.Quantity, TransitionType: pcclient.TransitionWithLicenseTransfer}
	wctx := pcclient.WithRequestID(ctx, "transition-"+src.ID)
	first, err := c.CreateTransition(wctx, customerID, src.ID, tr)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateTransition(wctx, customerID, src.ID, tr)
	if err != nil {
		t.Fatal(err)
	}
	if first.State() != pcclient.TransitionInProgress || again.State() != pcclient.TransitionInProgress || first.FromSubscriptionID != src.ID {
		t.Fatalf("first %+v, replay %+v", first, again)
	}
	if err := sim.AdvanceClock(time.Hour); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListTransitions(ctx, customerID, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].State() != pcclient.TransitionCompleted || list[0].ToSubscriptionID == "" {
		t.Fatalf("transitions %+v", list)
	}
	for _, uid := range holders {
		if holds(uid, kaizalaSku) || !holds(uid, e1SkuID) {
			t.Errorf("user %s not moved to E1", uid)
		}
	}
	target, err := c.GetSubscription(ctx, customerID, list[0].ToSubscriptionID)
	if err != nil || !target.NewCommerce() || !target.Status.Is(pcclient.StatusActive) {
		t.Errorf("target %+v, %v", target, err)
	}
}

func TestSandboxTransitionRefusedWithReason(t *testing.T) {
	_, base := startSandbox(t, nil)
	ctx := context.Background()
	c := newClient(t, base, true, nil)
	customerID, src, elig := kaizalaSource(t, ctx, c, false)
	_, reasons := elig.Eligible(pcclient.TransitionWithLicenseTransfer)
	if len(reasons) != 1 || reasons[0].Code != "3" || reasons[0].Description == "" {
		t.Fatalf("reasons %+v", reasons)
	}
	_, err := c.CreateTransition(pcclient.WithRequestID(ctx, "refused-"+src.ID), customerID, src.ID,
		pcclient.Transition{ToCatalogItemID: e1CatalogItem, Quantity: src.Quantity, TransitionType: pcclient.TransitionWithLicenseTransfer})
	var apiErr *pcclient.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "3" {
		t.Fatalf("err %v", err)
	}
}

func TestTransitionState(t *testing.T) {
	ev := func(name, status string) pcclient.TransitionEvent {
		return pcclient.TransitionEvent{Name: name, Status: status}
	}
	tests := []struct {
		name   string
		events []pcclient.TransitionEvent
		want   pcclient.TransitionState
	}{
		{"the doc's first answer", []pcclient.TransitionEvent{ev("Conversion", "Started ")}, pcclient.TransitionInProgress},
		{"converted", []pcclient.TransitionEvent{ev("Conversion", "Started "), ev("Conversion", "Completed")}, pcclient.TransitionCompleted},
		{"reassigning", []pcclient.TransitionEvent{ev("Conversion", "Completed"), ev("LicenseReassignment", "InProgress")}, pcclient.TransitionInProgress},
		{"reassigned", []pcclient.TransitionEvent{ev("Conversion", "Completed"), ev("LicenseReassignment", "InProgress"), ev("LicenseReassignment", "completed")}, pcclient.TransitionCompleted},
		{"failed", []pcclient.TransitionEvent{ev("Conversion", "InProgress"), ev("Conversion", "Failed")}, pcclient.TransitionFailed},
		{"no events", nil, pcclient.TransitionInProgress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (pcclient.Transition{Events: tc.events}).State(); got != tc.want {
				t.Errorf("State() = %s, want %s", got, tc.want)
			}
		})
	}
}
