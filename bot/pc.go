package bot

import (
	"context"
	"errors"
	"strings"
	"time"
)

// PartnerCenter is what the migration engine needs of Partner Center.
type PartnerCenter interface {
	SubscriptionSource
	Transitions
	GetSubscription(ctx context.Context, customerID, subscriptionID string) (Subscription, error)
	// SubscriptionSkuID returns the Entra ID skuId of a subscription's
	// licence (from its provisioning status).
	SubscriptionSkuID(ctx context.Context, customerID, subscriptionID string) (string, error)
	ListUsers(ctx context.Context, customerID string) ([]User, error)
	// UserSkuIDs returns the skuIds of the licences a user holds.
	UserSkuIDs(ctx context.Context, customerID, userID string) ([]string, error)
	LicensePools(ctx context.Context, customerID string) ([]LicensePool, error)
	// Buying. A target with new-commerce ids is bought through a cart:
	// creating it spends nothing and its lines may carry errors; checking it
	// out spends the money (idempotent per cart, checkout-a-cart.md) and
	// answers orders that are usually still pending; an order names its
	// subscription only once Microsoft has provisioned it.
	//
	// CreateCart creates a cart of seats of target, with tag in the line's
	// friendly name (whether it reaches the subscription is UNCONFIRMED,
	// new-commerce.md §2: the saved cart and order ids are the record).
	CreateCart(ctx context.Context, customerID string, target Target, seats int, tag, requestID string) (Cart, error)
	// GetCart reads a cart; one that expired or never existed is ErrGone.
	GetCart(ctx context.Context, customerID, cartID string) (Cart, error)
	// Checkout checks a cart out, sending requestID as its MS-RequestId.
	Checkout(ctx context.Context, customerID, cartID, requestID string) ([]Order, CallRef, error)
	// GetOrder reads an order; one that does not exist is ErrGone.
	GetOrder(ctx context.Context, customerID, orderID string) (Order, error)
	// BuyLegacy places a legacy order, for a target the catalog marks as
	// bought the 2020 way (Partner Center refuses new legacy M365/O365
	// subscriptions since July 2023).
	BuyLegacy(ctx context.Context, customerID string, target Target, seats int, tag, requestID string) (Order, CallRef, error)
	// FindPurchase returns the subscription whose friendly name carries tag,
	// or nil: how a resumed legacy purchase learns it already happened.
	FindPurchase(ctx context.Context, customerID, tag string) (*Subscription, error)
	// SwapLicence assigns assignSkuID (unless empty) and removes removeSkuID
	// in one call, so the user is never without a licence in between.
	SwapLicence(ctx context.Context, customerID, userID, assignSkuID, removeSkuID, requestID string) (CallRef, error)
	// Suspend suspends a subscription; one already suspended is returned as is.
	Suspend(ctx context.Context, customerID, subscriptionID, requestID string) (Subscription, CallRef, error)
	// Cancel cancels a new-commerce subscription inside its cancellation
	// window (PATCH status=deleted); one already deleted is returned as is.
	Cancel(ctx context.Context, customerID, subscriptionID, requestID string) (Subscription, CallRef, error)
	// StopAutoRenew turns auto-renew off (no write when it is off already).
	StopAutoRenew(ctx context.Context, customerID, subscriptionID, requestID string) (Subscription, CallRef, error)
	// Classify says what kind of failure err is.
	Classify(err error) FailureClass
	// Access says whether err is Partner Center refusing the partner access to
	// a customer (a GDAP role, the customer's Conditional Access, the token,
	// the relationship), and what a person can do about it.
	Access(err error) (AccessProblem, bool)
}

// User is a user of a customer's tenant.
type User struct {
	ID            string
	UPN           string
	DisplayName   string
	UsageLocation string
}

// LicensePool is a customer's licences of one SKU.
type LicensePool struct {
	SkuID         string
	SkuPartNumber string
	Name          string
	Total         int
	Consumed      int
	Available     int
	Suspended     int
}

// Purchase is what a buy step bought.
type Purchase struct {
	SubscriptionID string
	OrderID        string
	Quantity       int
	Call           CallRef
}

// Cart is a new-commerce cart.
type Cart struct {
	ID      string
	Created time.Time
	Expires time.Time
	// CheckedOut: Partner Center says the cart was ordered.
	CheckedOut bool
	// LineErrors are Microsoft's words about lines it will not sell.
	LineErrors []string
}

// Order is a purchase as Partner Center records it.
type Order struct {
	ID      string
	Status  string // "pending", "completed", or what the service says
	Created time.Time
	Lines   []OrderLine
}

// OrderLine is one line of an order; SubscriptionID is empty until the
// subscription is provisioned.
type OrderLine struct {
	OfferID        string
	SubscriptionID string
	Quantity       int
}

// Provisioned returns the subscription of the order's first line once every
// line names its subscription.
func (o Order) Provisioned() (string, bool) {
	if len(o.Lines) == 0 {
		return "", false
	}
	for _, l := range o.Lines {
		if l.SubscriptionID == "" {
			return "", false
		}
	}
	return o.Lines[0].SubscriptionID, true
}

// Abandoned reports whether Partner Center says the order will never be
// provisioned (a status other than pending or completed, such as
// "cancelled").
func (o Order) Abandoned() bool {
	s := strings.ToLower(o.Status)
	return s != "" && s != "pending" && s != "completed" && s != "inprogress" && s != "in_progress"
}

// ErrGone is wrapped by errors for a cart or order Partner Center does not
// know (any more): carts expire 7 days after creation.
var ErrGone = errors.New("no longer exists")

// CallRef names the Partner Center call that made a change (for the audit).
type CallRef struct {
	RequestID     string
	CorrelationID string
}

// FailureClass is what kind of failure an error from Partner Center is.
type FailureClass int

// Failure classes.
const (
	FailureUnknown   FailureClass = iota
	FailureRetryable              // throttling, outages; trying later may work
	FailureBusiness               // the request is wrong for the current state
	FailureConflict               // someone else changed it meanwhile
	FailureAuth                   // credentials, consent or permissions
)

// ErrOutOfSeats is wrapped by SwapLicence errors when the customer has no
// free seat of the SKU (Partner Center code 60012).
var ErrOutOfSeats = errors.New("no free seats")

// Transitions, changes at renewal and undo: what the transition, renewal
// and undo steps need of Partner Center beyond PartnerCenter's buying and
// moving (new-commerce.md §3).
type Transitions interface {
	// TransitionOptions lists what the subscription can be converted to,
	// now (scheduled false) or at its renewal (scheduled true).
	TransitionOptions(ctx context.Context, customerID, subscriptionID string, scheduled bool) ([]TransitionOption, error)
	// StartTransition converts the whole subscription into catalog item to,
	// with licence transfer, sending requestID as its MS-RequestId.
	StartTransition(ctx context.Context, customerID, subscriptionID, to string, quantity int, requestID string) (TransitionProgress, CallRef, error)
	// TransitionsOf lists the subscription's transitions with their progress.
	TransitionsOf(ctx context.Context, customerID, subscriptionID string) ([]TransitionProgress, error)
	// ScheduleRenewal turns auto-renew on with instructions to renew into
	// quantity seats of target at the end of the term.
	ScheduleRenewal(ctx context.Context, customerID, subscriptionID string, target Target, quantity int, requestID string) (Subscription, CallRef, error)
	// Unschedule removes the scheduled change and turns auto-renew off, as
	// the subscription was before a change at renewal was scheduled.
	Unschedule(ctx context.Context, customerID, subscriptionID, requestID string) (Subscription, CallRef, error)
	// Reactivate makes a suspended subscription active again; one active
	// already is returned as is.
	Reactivate(ctx context.Context, customerID, subscriptionID, requestID string) (Subscription, CallRef, error)
	// Clock is Partner Center's "now": the Date of its last answer, plus the
	// time since. Windows, term ends and renewals are Partner Center's dates,
	// so they are compared with its clock, not the bot's.
	Clock() time.Time
}

// TransitionOption is one catalog item a subscription can (or cannot) be
// transitioned to.
type TransitionOption struct {
	CatalogItemID string
	Title         string
	// WithLicences: eligible for transition_with_license_transfer, the only
	// kind the bot makes (a partial one leaves users to move by hand).
	WithLicences bool
	// Reasons are Partner Center's words for why it is not eligible.
	Reasons []string
}

// Offers reports whether the option is target (by productId and skuId, the
// first two parts of the catalog item id).
func (o TransitionOption) Offers(t Target) bool {
	parts := strings.Split(o.CatalogItemID, ":")
	return len(parts) >= 2 && t.ProductID != "" && SameID(parts[0], t.ProductID) && SameID(parts[1], t.ProductSkuID)
}

// TransitionProgress is a transition as Partner Center shows it.
type TransitionProgress struct {
	ToCatalogItemID string
	// ToSubscriptionID is the resulting subscription, once known.
	ToSubscriptionID string
	State            TransitionState
	Errors           []string
}

// TransitionState is where a transition stands.
type TransitionState string

// The states of a transition.
const (
	TransitionInProgress TransitionState = "in_progress"
	TransitionCompleted  TransitionState = "completed"
	TransitionFailed     TransitionState = "failed"
)
