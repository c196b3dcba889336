package pcclient

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

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

// CreateCart creates a new-commerce cart of seats of target, resolving the
// availability just before (availability ids change over time). A line
// Partner Center will not sell comes back in Cart.LineErrors, not as an
// error: "errors are applied after cart is created" (cart-resources.md).
func (a Adapter) CreateCart(ctx context.Context, customerID string, target bot.Target, seats int, tag, requestID string) (bot.Cart, error) {
	if target.ProductID == "" || target.ProductSkuID == "" {
		return bot.Cart{}, fmt.Errorf("target %s has no new-commerce productId/productSkuId: add them in KAIZALA_CATALOG", target.SkuPartNumber)
	}
	av, err := a.availability(ctx, customerID, target)
	if err != nil {
		return bot.Cart{}, err
	}
	term := target.Term()
	catalogItem := cmp.Or(av.CatalogItemID, target.ProductID+":"+target.ProductSkuID+":"+av.ID)
	cart, err := a.Client.CreateCart(WithRequestID(ctx, requestID), customerID, Cart{LineItems: []CartLineItem{{
		ID: 0, CatalogItemID: catalogItem, Quantity: seats, FriendlyName: fmt.Sprintf("%s (%s)", target.Name, tag),
		BillingCycle: cmp.Or(target.BillingCycle, "annual"), TermDuration: term,
	}}})
	if err != nil {
		return bot.Cart{}, err
	}
	return toBotCart(*cart), nil
}

// availability resolves where target can be bought for the customer with
// its term, just before it is used (availability ids change over time): the
// last purchasable one with the term, or a notPurchasable error.
func (a Adapter) availability(ctx context.Context, customerID string, target bot.Target) (Availability, error) {
	avails, err := a.Client.ListAvailabilities(ctx, customerID, target.ProductID, target.ProductSkuID)
	if err != nil {
		return Availability{}, fmt.Errorf("finding where %s can be bought: %w", target.Name, err)
	}
	term := target.Term()
	var found *Availability
	for i, av := range avails {
		if !av.IsPurchasable {
			continue
		}
		for _, t := range av.Terms {
			if strings.EqualFold(t.Duration, term) {
				found = &avails[i]
			}
		}
	}
	if found == nil {
		return Availability{}, &APIError{StatusCode: http.StatusBadRequest, Code: "notPurchasable", Method: http.MethodGet, Path: "availabilities",
			Description: fmt.Sprintf("%s is not purchasable for this customer with a %s term", target.Name, term)}
	}
	return *found, nil
}

// GetCart reads a cart.
func (a Adapter) GetCart(ctx context.Context, customerID, cartID string) (bot.Cart, error) {
	cart, err := a.Client.GetCart(ctx, customerID, cartID)
	if err != nil {
		return bot.Cart{}, gone(err)
	}
	return toBotCart(*cart), nil
}

// Checkout checks a cart out. Its orders are usually still pending: their
// lines name no subscription until Microsoft has provisioned it
// (checkout-a-cart.md).
func (a Adapter) Checkout(ctx context.Context, customerID, cartID, requestID string) ([]bot.Order, bot.CallRef, error) {
	rec := &writeRecorder{}
	result, err := a.Client.CheckoutCart(WithCallObserver(WithRequestID(ctx, requestID), rec.observe), customerID, cartID)
	if err != nil {
		return nil, rec.last(), gone(err)
	}
	if len(result.OrderErrors) > 0 && len(result.Orders) == 0 {
		oe := result.OrderErrors[0]
		return nil, rec.last(), &APIError{StatusCode: http.StatusBadRequest, Code: oe.Code, Description: "checkout failed: " + oe.Description, Method: http.MethodPost, Path: "checkout"}
	}
	orders := make([]bot.Order, len(result.Orders))
	for i, o := range result.Orders {
		orders[i] = toBotOrder(o)
	}
	if len(orders) == 0 {
		// Money may or may not have moved: the caller keeps the cart and
		// reads it again rather than concluding anything.
		return nil, rec.last(), fmt.Errorf("checkout of cart %s answered no order", cartID)
	}
	return orders, rec.last(), nil
}

// GetOrder reads an order.
func (a Adapter) GetOrder(ctx context.Context, customerID, orderID string) (bot.Order, error) {
	o, err := a.Client.GetOrder(ctx, customerID, orderID)
	if err != nil {
		return bot.Order{}, gone(err)
	}
	return toBotOrder(*o), nil
}

// BuyLegacy places a legacy order. Partner Center refuses new legacy
// M365/O365 subscriptions since July 2023 (new-commerce.md §1); the catalog
// uses this only for a target it marks as legacy.
func (a Adapter) BuyLegacy(ctx context.Context, customerID string, target bot.Target, seats int, tag, requestID string) (bot.Order, bot.CallRef, error) {
	if target.OfferID == "" {
		return bot.Order{}, bot.CallRef{}, fmt.Errorf("target %s has no legacy offerId", target.SkuPartNumber)
	}
	rec := &writeRecorder{}
	order, err := a.Client.CreateOrder(WithCallObserver(WithRequestID(ctx, requestID), rec.observe), customerID, Order{LineItems: []OrderLineItem{{
		LineItemNumber: 0, OfferID: target.OfferID, Quantity: seats, FriendlyName: fmt.Sprintf("%s (%s)", target.Name, tag), TermDuration: target.TermDuration,
	}}})
	if err != nil {
		return bot.Order{}, rec.last(), err
	}
	return toBotOrder(*order), rec.last(), nil
}

// gone marks a 404 as bot.ErrGone.
func gone(err error) error {
	var api *APIError
	if errors.As(err, &api) && api.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %w", bot.ErrGone, err)
	}
	return err
}

func toBotCart(c Cart) bot.Cart {
	b := bot.Cart{ID: c.ID, CheckedOut: strings.EqualFold(c.Status, "ordered")}
	if c.CreationTimestamp != nil {
		b.Created = c.CreationTimestamp.Time
	}
	if c.ExpirationTimestamp != nil {
		b.Expires = c.ExpirationTimestamp.Time
	}
	for _, l := range c.LineItems {
		if l.Error != nil {
			b.LineErrors = append(b.LineErrors, strings.TrimSpace(fmt.Sprintf("%s (code %s)", l.Error.ErrorDescription, l.Error.ErrorCode)))
		}
	}
	return b
}

func toBotOrder(o Order) bot.Order {
	b := bot.Order{ID: o.ID, Status: o.Status}
	if o.CreationDate != nil {
		b.Created = o.CreationDate.Time
	}
	for _, l := range o.LineItems {
		b.Lines = append(b.Lines, bot.OrderLine{OfferID: l.OfferID, SubscriptionID: l.SubscriptionID, Quantity: l.Quantity})
	}
	return b
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
	return a.setStatus(ctx, customerID, subscriptionID, requestID, StatusSuspended)
}

func (a Adapter) setStatus(ctx context.Context, customerID, subscriptionID, requestID string, status SubscriptionStatus) (bot.Subscription, bot.CallRef, error) {
	rec := &writeRecorder{}
	s, err := a.Client.SetSubscriptionStatus(WithCallObserver(WithRequestID(ctx, requestID), rec.observe), customerID, subscriptionID, status)
	if err == nil && !s.Status.Is(status) {
		s, err = a.Client.awaitChange(ctx, customerID, subscriptionID, map[string]any{"status": string(status)})
	}
	if err != nil {
		return bot.Subscription{}, rec.last(), err
	}
	return toBotSubscription(customerID, *s), rec.last(), nil
}

// Cancel cancels a new-commerce subscription (PATCH status=deleted),
// accepted only inside its cancellation window, and returns once Partner
// Center shows it deleted.
func (a Adapter) Cancel(ctx context.Context, customerID, subscriptionID, requestID string) (bot.Subscription, bot.CallRef, error) {
	return a.setStatus(ctx, customerID, subscriptionID, requestID, StatusDeleted)
}

// StopAutoRenew turns auto-renew off and returns once Partner Center shows
// it off.
func (a Adapter) StopAutoRenew(ctx context.Context, customerID, subscriptionID, requestID string) (bot.Subscription, bot.CallRef, error) {
	rec := &writeRecorder{}
	s, err := a.Client.SetAutoRenew(WithCallObserver(WithRequestID(ctx, requestID), rec.observe), customerID, subscriptionID, false)
	if err == nil && s.AutoRenewEnabled {
		s, err = a.Client.awaitChange(ctx, customerID, subscriptionID, map[string]any{"autoRenewEnabled": false})
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
		NewCommerce: s.NewCommerce(), TermDuration: s.TermDuration, CancellableUntil: s.CancellationAllowedUntilDate.Time,
		RefundableQuantity: refundableOf(s), Scheduled: scheduledOf(s),
	}
	if end, ok := s.EndDate(); ok {
		b.EndDate = end
	}
	return b
}
