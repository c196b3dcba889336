package pcclient

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/kaizalabot/kaizalabot/bot"
)

// Adapter gives the bot domain its view of Partner Center.
type Adapter struct {
	Client   *Client
	PageSize int    // for seek-paged collections; 0 means DefaultPageSize
	Country  string // market for new-commerce availabilities; default "US"
}

var _ bot.PartnerCenter = Adapter{}

// ListCustomers lists every customer.
func (a Adapter) ListCustomers(ctx context.Context) ([]bot.Customer, error) {
	customers, err := a.Client.ListCustomers(ctx, a.PageSize)
	if err != nil {
		return nil, err
	}
	out := make([]bot.Customer, len(customers))
	for i, c := range customers {
		out[i] = bot.Customer{ID: c.ID, Domain: c.CompanyProfile.Domain, Name: c.CompanyProfile.CompanyName}
	}
	return out, nil
}

// ListSubscriptions lists a customer's subscriptions.
func (a Adapter) ListSubscriptions(ctx context.Context, customerID string) ([]bot.Subscription, error) {
	subs, err := a.Client.ListSubscriptions(ctx, customerID)
	if err != nil {
		return nil, err
	}
	out := make([]bot.Subscription, len(subs))
	for i, s := range subs {
		out[i] = toBotSubscription(customerID, s)
	}
	return out, nil
}

// GetSubscription reads one subscription.
func (a Adapter) GetSubscription(ctx context.Context, customerID, subscriptionID string) (bot.Subscription, error) {
	s, err := a.Client.GetSubscription(ctx, customerID, subscriptionID)
	if err != nil {
		return bot.Subscription{}, err
	}
	return toBotSubscription(customerID, *s), nil
}

// SubscriptionSkuID reads the skuId of a subscription's licence from its
// provisioning status.
func (a Adapter) SubscriptionSkuID(ctx context.Context, customerID, subscriptionID string) (string, error) {
	ps, err := a.Client.GetSubscriptionProvisioningStatus(ctx, customerID, subscriptionID)
	if err != nil {
		return "", err
	}
	return strings.ToLower(ps.SkuID), nil
}

// ListUsers lists a customer's users.
func (a Adapter) ListUsers(ctx context.Context, customerID string) ([]bot.User, error) {
	users, err := a.Client.ListUsers(ctx, customerID, a.PageSize)
	if err != nil {
		return nil, err
	}
	out := make([]bot.User, len(users))
	for i, u := range users {
		out[i] = bot.User{ID: u.ID, UPN: u.UserPrincipalName, DisplayName: u.DisplayName, UsageLocation: u.UsageLocation}
	}
	return out, nil
}

// UserSkuIDs lists the skuIds of a user's licences.
func (a Adapter) UserSkuIDs(ctx context.Context, customerID, userID string) ([]string, error) {
	lic, err := a.Client.ListUserLicenses(ctx, customerID, userID)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(lic))
	for i, l := range lic {
		out[i] = strings.ToLower(l.ProductSKU.ID)
	}
	return out, nil
}

// LicensePools lists a customer's licence pools.
func (a Adapter) LicensePools(ctx context.Context, customerID string) ([]bot.LicensePool, error) {
	skus, err := a.Client.ListSubscribedSKUs(ctx, customerID)
	if err != nil {
		return nil, err
	}
	out := make([]bot.LicensePool, len(skus))
	for i, s := range skus {
		out[i] = bot.LicensePool{
			SkuID: strings.ToLower(s.ProductSKU.ID), SkuPartNumber: s.ProductSKU.SkuPartNumber, Name: s.ProductSKU.Name,
			Total: s.TotalUnits, Consumed: s.ConsumedUnits, Available: s.AvailableUnits, Suspended: s.SuspendedUnits,
		}
	}
	return out, nil
}

// Buy buys seats of target: through a new-commerce cart when the catalog
// knows its product and SKU (legacy offers are being retired, reference §7
// gotcha 13), else by a legacy order.
func (a Adapter) Buy(ctx context.Context, customerID string, target bot.Target, seats int, tag, requestID string) (bot.Purchase, error) {
	friendly := fmt.Sprintf("%s (%s)", target.Name, tag)
	rec := &writeRecorder{}
	ctx = WithCallObserver(ctx, rec.observe)
	if target.ProductID != "" && target.ProductSkuID != "" {
		return a.buyNewCommerce(ctx, customerID, target, seats, friendly, requestID, rec)
	}
	if target.OfferID == "" {
		return bot.Purchase{}, fmt.Errorf("target %s has neither a legacy offerId nor a productId/productSkuId", target.SkuPartNumber)
	}
	order, err := a.Client.CreateOrder(WithRequestID(ctx, requestID), customerID, Order{LineItems: []OrderLineItem{{
		LineItemNumber: 0, OfferID: target.OfferID, Quantity: seats, FriendlyName: friendly, TermDuration: target.TermDuration,
	}}})
	if err != nil {
		return bot.Purchase{}, err
	}
	if len(order.LineItems) == 0 || order.LineItems[0].SubscriptionID == "" {
		return bot.Purchase{}, fmt.Errorf("order %s came back without a subscription", order.ID)
	}
	return bot.Purchase{SubscriptionID: order.LineItems[0].SubscriptionID, OrderID: order.ID, Quantity: order.LineItems[0].Quantity, Call: rec.last()}, nil
}

func (a Adapter) buyNewCommerce(ctx context.Context, customerID string, target bot.Target, seats int, friendly, requestID string, rec *writeRecorder) (bot.Purchase, error) {
	// Availability ids change over time: resolve one just before buying.
	avails, err := a.Client.ListAvailabilities(ctx, customerID, target.ProductID, target.ProductSkuID)
	if err != nil {
		return bot.Purchase{}, fmt.Errorf("finding where %s can be bought: %w", target.Name, err)
	}
	term := cmp.Or(target.TermDuration, "P1Y")
	var catalogItem string
	for _, av := range avails {
		if !av.IsPurchasable {
			continue
		}
		for _, t := range av.Terms {
			if strings.EqualFold(t.Duration, term) {
				catalogItem = cmp.Or(av.CatalogItemID, target.ProductID+":"+target.ProductSkuID+":"+av.ID)
			}
		}
	}
	if catalogItem == "" {
		return bot.Purchase{}, fmt.Errorf("%s is not purchasable for this customer with a %s term", target.Name, term)
	}
	cart, err := a.Client.CreateCart(WithRequestID(ctx, requestID), customerID, Cart{LineItems: []CartLineItem{{
		ID: 0, CatalogItemID: catalogItem, Quantity: seats, FriendlyName: friendly,
		BillingCycle: cmp.Or(target.BillingCycle, "annual"), TermDuration: term,
	}}})
	if err != nil {
		return bot.Purchase{}, err
	}
	// The checkout is a second write; it gets its own MS-RequestId derived
	// from the first, so a resumed purchase repeats both exactly.
	checkoutID := uuid.NewSHA1(uuid.NameSpaceOID, []byte(requestID+"/checkout")).String()
	result, err := a.Client.CheckoutCart(WithRequestID(ctx, checkoutID), customerID, cart.ID)
	if err != nil {
		return bot.Purchase{}, err
	}
	if len(result.OrderErrors) > 0 {
		oe := result.OrderErrors[0]
		return bot.Purchase{}, &APIError{StatusCode: http.StatusBadRequest, Code: oe.Code, Description: "checkout failed: " + oe.Description, Method: http.MethodPost, Path: "checkout"}
	}
	for _, o := range result.Orders {
		for _, li := range o.LineItems {
			if li.SubscriptionID != "" {
				return bot.Purchase{SubscriptionID: li.SubscriptionID, OrderID: o.ID, Quantity: li.Quantity, Call: rec.last()}, nil
			}
		}
	}
	return bot.Purchase{}, fmt.Errorf("checkout of cart %s created no subscription", cart.ID)
}

// FindPurchase finds the subscription whose friendly name carries tag.
func (a Adapter) FindPurchase(ctx context.Context, customerID, tag string) (*bot.Subscription, error) {
	subs, err := a.Client.ListSubscriptions(ctx, customerID)
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		if strings.Contains(strings.ToLower(s.FriendlyName), strings.ToLower(tag)) {
			b := toBotSubscription(customerID, s)
			return &b, nil
		}
	}
	return nil, nil
}

// SwapLicence assigns and removes in one licence update.
func (a Adapter) SwapLicence(ctx context.Context, customerID, userID, assignSkuID, removeSkuID, requestID string) (bot.CallRef, error) {
	update := LicenseUpdate{LicensesToRemove: []string{removeSkuID}}
	if assignSkuID != "" {
		update.LicensesToAssign = []LicenseAssignment{{SkuID: assignSkuID}}
	}
	rec := &writeRecorder{}
	_, err := a.Client.UpdateLicenses(WithCallObserver(WithRequestID(ctx, requestID), rec.observe), customerID, userID, update)
	if ErrorCode(err) == "60012" {
		err = fmt.Errorf("%w: %w", bot.ErrOutOfSeats, err)
	}
	return rec.last(), err
}

// Suspend suspends a subscription (no write when it already is) and returns
// once Partner Center shows it suspended: a PATCH answered 202 is followed
// until the status shows (UpdateSubscription), and so is a 200 whose body
// does not show it yet. A 409 (renewal being processed) comes back as an
// *UpdateBusyError, which Classify calls retryable.
func (a Adapter) Suspend(ctx context.Context, customerID, subscriptionID, requestID string) (bot.Subscription, bot.CallRef, error) {
	rec := &writeRecorder{}
	s, err := a.Client.SetSubscriptionStatus(WithCallObserver(WithRequestID(ctx, requestID), rec.observe), customerID, subscriptionID, StatusSuspended)
	if err == nil && !s.Status.Is(StatusSuspended) {
		s, err = a.Client.awaitChange(ctx, customerID, subscriptionID, map[string]any{"status": string(StatusSuspended)})
	}
	if err != nil {
		return bot.Subscription{}, rec.last(), err
	}
	return toBotSubscription(customerID, *s), rec.last(), nil
}

// Classify maps the client's failure classes to the domain's.
func (a Adapter) Classify(err error) bot.FailureClass {
	switch Classify(err) {
	case ClassRetryable:
		return bot.FailureRetryable
	case ClassBusiness:
		return bot.FailureBusiness
	case ClassConflict:
		return bot.FailureConflict
	case ClassAuth:
		return bot.FailureAuth
	}
	if errors.Is(err, bot.ErrOutOfSeats) {
		return bot.FailureBusiness
	}
	return bot.FailureUnknown
}

// writeRecorder remembers the MS ids of the last write attempt, for the audit.
type writeRecorder struct {
	mu  sync.Mutex
	ref bot.CallRef
}

func (w *writeRecorder) observe(c CallInfo) {
	if c.Method == http.MethodGet {
		return
	}
	w.mu.Lock()
	w.ref = bot.CallRef{RequestID: c.RequestID, CorrelationID: c.CorrelationID}
	w.mu.Unlock()
}

func (w *writeRecorder) last() bot.CallRef {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ref
}

func toBotSubscription(customerID string, s Subscription) bot.Subscription {
	b := bot.Subscription{
		ID: s.ID, CustomerID: customerID, OfferID: s.OfferID, OfferName: s.OfferName, FriendlyName: s.FriendlyName,
		Quantity: s.Quantity, Status: string(s.Status), AutoRenew: s.AutoRenewEnabled, BillingCycle: s.BillingCycle,
	}
	if end, ok := s.EndDate(); ok {
		b.EndDate = end
	}
	return b
}
