package bot

import (
	"context"
	"errors"
)

// PartnerCenter is what the migration engine needs of Partner Center.
type PartnerCenter interface {
	SubscriptionSource
	GetSubscription(ctx context.Context, customerID, subscriptionID string) (Subscription, error)
	// SubscriptionSkuID returns the Entra ID skuId of a subscription's
	// licence (from its provisioning status).
	SubscriptionSkuID(ctx context.Context, customerID, subscriptionID string) (string, error)
	ListUsers(ctx context.Context, customerID string) ([]User, error)
	// UserSkuIDs returns the skuIds of the licences a user holds.
	UserSkuIDs(ctx context.Context, customerID, userID string) ([]string, error)
	LicensePools(ctx context.Context, customerID string) ([]LicensePool, error)
	// Buy buys seats of target, with tag in the new subscription's friendly
	// name, sending requestID as the MS-RequestId of its write.
	Buy(ctx context.Context, customerID string, target Target, seats int, tag, requestID string) (Purchase, error)
	// FindPurchase returns the subscription whose friendly name carries tag,
	// or nil: how a resumed purchase learns it already happened.
	FindPurchase(ctx context.Context, customerID, tag string) (*Subscription, error)
	// SwapLicence assigns assignSkuID (unless empty) and removes removeSkuID
	// in one call, so the user is never without a licence in between.
	SwapLicence(ctx context.Context, customerID, userID, assignSkuID, removeSkuID, requestID string) (CallRef, error)
	// Suspend suspends a subscription; one already suspended is returned as is.
	Suspend(ctx context.Context, customerID, subscriptionID, requestID string) (Subscription, CallRef, error)
	// Classify says what kind of failure err is.
	Classify(err error) FailureClass
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

// Purchase is what Buy bought.
type Purchase struct {
	SubscriptionID string
	OrderID        string
	Quantity       int
	Call           CallRef
}

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
