// Package bot is kaizalabot's domain: finding subscriptions of retired SKUs
// (Kaizala Pro first) that are about to expire, planning and running their
// migration, and the history of it all. It knows nothing of Slack's wire
// format, SQL or HTTP: the adapters satisfy the small interfaces defined
// here.
package bot

import (
	"strings"
	"time"
)

// Customer is a customer of the partner.
type Customer struct {
	ID     string
	Domain string
	Name   string
}

// Label names the customer for people: its domain, else its name, else its id.
func (c Customer) Label() string {
	switch {
	case c.Domain != "":
		return c.Domain
	case c.Name != "":
		return c.Name
	}
	return c.ID
}

// Subscription is a customer's subscription as Partner Center reports it.
type Subscription struct {
	ID           string
	CustomerID   string
	OfferID      string
	OfferName    string
	FriendlyName string
	Quantity     int
	// Status as the service sent it ("active", "suspended", or a value
	// added later, such as "disabled").
	Status       string
	AutoRenew    bool
	BillingCycle string
	// EndDate is the last day of the commitment (end dates are inclusive);
	// zero when the subscription has no end.
	EndDate time.Time
	// NewCommerce: productType.id is "OnlineServicesNCE"
	// (subscription-resources.md). Suspending such a subscription does not
	// stop its billing; cancelling it is possible only inside its window.
	NewCommerce  bool
	TermDuration string // e.g. "P1Y"
	// CancellableUntil is the end of a new-commerce subscription's
	// cancellation window (cancellationAllowedUntilDate); zero when none.
	CancellableUntil time.Time
	// RefundableQuantity is how many seats can still be removed with a
	// refund (refundableQuantity.totalQuantity); new commerce only.
	RefundableQuantity int
	// Scheduled is the change set to happen at renewal
	// (scheduledNextTermInstructions), nil when none.
	Scheduled *ScheduledChange
}

// ScheduledChange is what a new-commerce subscription renews into.
type ScheduledChange struct {
	ProductID, SkuID string
	Quantity         int
	TermDuration     string
	BillingCycle     string
}

// Names reports whether the change renews into target.
func (c *ScheduledChange) Names(t Target) bool {
	return c != nil && SameID(c.ProductID, t.ProductID) && SameID(c.SkuID, t.ProductSkuID)
}

// Cancellable reports whether a new-commerce subscription may still be
// cancelled at now.
func (s Subscription) Cancellable(now time.Time) bool {
	return s.NewCommerce && now.Before(s.CancellableUntil)
}

// Active reports whether the subscription is active.
func (s Subscription) Active() bool { return strings.EqualFold(s.Status, "active") }

// HasEnd reports whether the subscription has a real end date.
func (s Subscription) HasEnd() bool { return !s.EndDate.IsZero() }

// SameID compares Partner Center identifiers, which come in either case.
func SameID(a, b string) bool { return strings.EqualFold(a, b) }

// DaysLeft counts the calendar days from today (in loc) to end's date (end
// dates are UTC calendar dates). The last day itself counts as 0 left; a
// subscription that ended yesterday has -1.
func DaysLeft(end, now time.Time, loc *time.Location) int {
	if loc == nil {
		loc = time.UTC
	}
	ey, em, ed := end.UTC().Date()
	ny, nm, nd := now.In(loc).Date()
	endDay := time.Date(ey, em, ed, 0, 0, 0, 0, time.UTC)
	today := time.Date(ny, nm, nd, 0, 0, 0, 0, time.UTC)
	return int(endDay.Sub(today).Hours() / 24)
}
