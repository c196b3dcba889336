package pcsim

import (
	"sync/atomic"
	"time"
)

// Options configures a sandbox; start from DefaultOptions().
type Options struct {
	Customers         int                              // number of seeded customers; default 40
	Seed              int64                            // same seed => same world (relative to the UTC day it is built)
	RateLimit         int                              // requests per minute for the whole partner on /v1; 0 = off
	CustomerRateLimit int                              // requests per minute per customer on /v1/customers/{id}[/…], on top of RateLimit; 0 = off
	Latency           time.Duration                    // added to every request but /_sandbox/ ones; 0 = off
	FaultRate         float64                          // fraction of /v1 requests answered 500/503 or cut off; 0 = off
	ProvisioningDelay time.Duration                    // how long a checked-out order stays pending (no subscription ids) and bought seats take to show; default 2s
	KaizalaSeats      int                              // when > 0, every Kaizala Pro subscription has this many seats, all assigned (for benches)
	ClientID          string                           // accepted AAD client id; default sandbox-client
	ClientSecret      string                           // accepted AAD client secret; default sandbox-secret
	RefreshToken      string                           // always-valid refresh token; default sandbox-refresh-token
	Now               func() time.Time                 // clock; default time.Now
	Logf              func(format string, args ...any) // optional request log; nil = silent

	// AsyncPatchRate is the fraction of subscription PATCHes that change something and are answered 202 Accepted
	// with a Location header and no body, the change showing AsyncPatchDelay later ([PC-2023]
	// developer/update-a-subscription-by-id.md). DefaultOptions has 0.2; 0 = off. Drawn from its own seeded RNG.
	AsyncPatchRate float64
	// AsyncPatchDelay is the sandbox time between a 202 and its change showing; default 300ms. How long the live
	// service takes is UNCONFIRMED.
	AsyncPatchDelay time.Duration
	// CancellationWindow is how long after purchase a new-commerce subscription can be cancelled (PATCH
	// status=deleted) or have seats removed; default 168h, the "7 days" of the docs of 2023 (the current window is
	// UNCONFIRMED, which is why clients read cancellationAllowedUntilDate).
	CancellationWindow time.Duration
	// NCEEtags gives new-commerce subscriptions an attributes.etag, and requires If-Match for them, like legacy ones.
	// Default off, as in the doc's new-commerce example; whether live NCE GETs carry an etag is UNCONFIRMED.
	NCEEtags bool
	// ActivityLogDelay is how long after it is written a record shows in GET /v1/auditrecords (auditrecords.go);
	// 0 = at once. How late live records appear is UNCONFIRMED.
	ActivityLogDelay time.Duration
	// LegacyPurchases accepts new legacy orders (POST …/orders with a legacy offer id) for Microsoft 365 / Office 365
	// offers, as in 2020. Default off: such an order is refused with 403 / 2091, as Partner Center has refused new
	// legacy M365/O365 subscriptions since July 2023 (new-commerce.md §1; the exact live code is UNCONFIRMED).
	LegacyPurchases bool
	// GDAPMissing is how many seeded customers the partner has no usable GDAP role for: their users, licences and
	// subscribed SKUs answer 403 / 900308; one more customer (when GDAPMissing > 0) answers 403 / 900309, blocked by
	// its Conditional Access. DefaultOptions has 2; 0 = off.
	GDAPMissing int
	// Commerce is the kind of the seeded customers' subscriptions other than Kaizala Pro, which stays legacy:
	// CommerceMixed (the default) is the seeded mix plus, for about a quarter of the reachable customers holding
	// Office 365 E3, that subscription as a non-renewing new-commerce one ending 20 to 90 days from today
	// (Server.RetiredNCE); CommerceNCE is the same with every other subscription new commerce; CommerceLegacy
	// makes every subscription legacy. Applied after the world is drawn, from hashes of the seed and customer ids,
	// so the rest of the seeded world is the same in all three. New panics on any other value.
	Commerce string

	// newCommerce is not an option: it is the Server's new-commerce state (nce.go), made fresh by withDefaults,
	// which New calls once. It lives here only because Server's fields were off limits when it was added; it
	// belongs on Server.
	newCommerce *newCommerceState
}

// DefaultOptions returns the options of a demo sandbox: 40 customers, 500 requests per minute, 2s provisioning.
func DefaultOptions() Options {
	return Options{
		Customers:         40,
		Seed:              1,
		RateLimit:         500, // the documented "500 requests per minute per tenant identifier"
		ProvisioningDelay: 2 * time.Second,
		AsyncPatchRate:    0.2,
		AsyncPatchDelay:   300 * time.Millisecond,
		ClientID:          "sandbox-client",
		ClientSecret:      "sandbox-secret",
		RefreshToken:      "sandbox-refresh-token",
		Now:               time.Now,

		CancellationWindow: 168 * time.Hour,
		GDAPMissing:        2,
		Commerce:           CommerceMixed,
	}
}

// withDefaults fills zero fields; RateLimit, CustomerRateLimit, Latency, FaultRate and AsyncPatchRate stay as
// given because 0 means "off" there.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Customers <= 0 {
		o.Customers = d.Customers
	}
	if o.ProvisioningDelay <= 0 {
		o.ProvisioningDelay = d.ProvisioningDelay
	}
	if o.ClientID == "" {
		o.ClientID = d.ClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = d.ClientSecret
	}
	if o.RefreshToken == "" {
		o.RefreshToken = d.RefreshToken
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.AsyncPatchDelay <= 0 {
		o.AsyncPatchDelay = d.AsyncPatchDelay
	}
	if o.CancellationWindow <= 0 {
		o.CancellationWindow = d.CancellationWindow
	}
	if o.Commerce == "" {
		o.Commerce = d.Commerce
	}
	o.newCommerce = newNewCommerceState(o.Seed)
	return o
}

// Stats is a snapshot of the sandbox counters, for tests and benchmarks.
type Stats struct {
	Requests        int64 // every HTTP request received, token endpoints included, /_sandbox/ instruments not
	Throttled       int64 // answered 429
	Faults          int64 // answered 500/503 or cut off by fault injection
	OrdersCreated   int64 // orders created by POST …/orders and by cart checkouts (idempotent replays excluded)
	CartsCheckedOut int64 // first successful checkouts of a cart
	LicenseUpdates  int64 // successful licence updates
}

type counters struct {
	requests, throttled, faults, orders, checkouts, licenseUpdates atomic.Int64
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Requests:        c.requests.Load(),
		Throttled:       c.throttled.Load(),
		Faults:          c.faults.Load(),
		OrdersCreated:   c.orders.Load(),
		CartsCheckedOut: c.checkouts.Load(),
		LicenseUpdates:  c.licenseUpdates.Load(),
	}
}
