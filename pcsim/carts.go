package pcsim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// New-commerce carts ([PC-2023] developer/create-a-cart.md, checkout-a-cart.md, cart-resources.md;
// partner-center.md §2.4, new-commerce.md §2).
//
//   - A bad line does not fail the request: the cart is created and the line carries error {errorCode,
//     errorDescription}, "applied after cart is created if an error occurred" (cart-resources.md). errorCode is a
//     number on the wire (microsoft/Partner-Center-Java#10: the service sends CartErrorCode as an integer).
//   - A cart with such a line cannot be checked out, and nothing is bought.
//   - "carts expire 7 days from initial creation"; an expired cart is gone for GET and checkout alike.
//   - Checkout is idempotent per cart and answers pending orders whose subscriptions show once provisioned.

const cartLifetime = 7 * 24 * time.Hour // "carts expire 7 days from initial creation"

// codeCartItemErrors is 400 "Error in Cart item(s)" ([PC-2023] developer/error-codes.md).
const codeCartItemErrors = 800009

type cartRequest struct {
	LineItems []struct {
		ID            int    `json:"id"`
		CatalogItemID string `json:"catalogItemId"`
		Quantity      int    `json:"quantity"`
		BillingCycle  string `json:"billingCycle"`
		TermDuration  string `json:"termDuration"`
		FriendlyName  string `json:"friendlyName"`
	} `json:"lineItems"`
}

type cartJSON struct {
	ID                    string          `json:"id"`
	CreationTimestamp     string          `json:"creationTimestamp"`
	LastModifiedTimestamp string          `json:"lastModifiedTimestamp"`
	ExpirationTimestamp   string          `json:"expirationTimestamp"`
	LastModifiedUser      string          `json:"lastModifiedUser"`
	Status                string          `json:"status"`
	LineItems             []cartLineJSON  `json:"lineItems"`
	Links                 map[string]link `json:"links"`
	Attributes            attributes      `json:"attributes"`
}

type cartLineJSON struct {
	ID                  int               `json:"id"`
	CatalogItemID       string            `json:"catalogItemId"`
	FriendlyName        string            `json:"friendlyName"`
	Quantity            int               `json:"quantity"`
	CurrencyCode        string            `json:"currencyCode"`
	BillingCycle        string            `json:"billingCycle"`
	TermDuration        string            `json:"termDuration"`
	Participants        []linkHeader      `json:"participants"`
	ProvisioningContext map[string]string `json:"provisioningContext"`
	OrderGroup          string            `json:"orderGroup"`
	Error               *cartErrorJSON    `json:"error,omitempty"`
}

// cartErrorJSON is the CartError resource ([PC-2023] developer/cart-resources.md).
type cartErrorJSON struct {
	ErrorCode        int    `json:"errorCode"`
	ErrorDescription string `json:"errorDescription"`
}

func (k *cart) expires() time.Time { return k.created.Add(cartLifetime) }

func (k *cart) resource(cid string) cartJSON {
	status := "Active"
	if k.checkout != nil {
		status = "Ordered"
	}
	res := cartJSON{
		ID: k.id, CreationTimestamp: instant(k.created), LastModifiedTimestamp: instant(k.modified),
		ExpirationTimestamp: instant(k.expires()), LastModifiedUser: k.modifiedUser,
		Status:     status,
		Links:      map[string]link{"self": getLink("/customers/" + cid + "/carts/" + k.id)},
		Attributes: objectType("Cart"),
	}
	for _, l := range k.lines {
		line := cartLineJSON{
			ID: l.id, CatalogItemID: l.catalogItem, FriendlyName: l.friendlyName, Quantity: l.quantity,
			CurrencyCode: "USD", BillingCycle: l.billingCycle, TermDuration: l.termDuration,
			Participants: []linkHeader{}, ProvisioningContext: map[string]string{}, OrderGroup: "0",
		}
		if l.err != nil {
			line.Error = &cartErrorJSON{ErrorCode: l.err.code, ErrorDescription: l.err.description}
		}
		res.LineItems = append(res.LineItems, line)
	}
	return res
}

// createCart creates the cart whatever its lines say; each bad line carries its error (cartLineOf). Only a body
// that is not JSON or has no line at all is refused, as there is no cart to create then.
func (s *Server) createCart(r *http.Request, p params) reply {
	var req cartRequest
	if rep, ok := decodeBody(r, &req); !ok {
		return rep
	}
	if len(req.LineItems) == 0 {
		return errorReply(http.StatusBadRequest, codeCartInvalidInput, "A cart needs at least one line item.")
	}
	now := s.now()
	k := &cart{id: newGUID(), created: now, modified: now, modifiedUser: s.opts.ClientID}
	for _, li := range req.LineItems {
		k.lines = append(k.lines, cartLineOf(li.ID, li.CatalogItemID, li.Quantity, li.BillingCycle, li.TermDuration, li.FriendlyName))
	}
	return s.withCustomer(p, func(c *customer) reply {
		c.carts = append(c.carts, k)
		return jsonReply(http.StatusCreated, k.resource(c.id))
	})
}

// cartLineOf checks one requested line and gives it the first error found, with the CartErrorCode of
// [PC-2023] developer/cart-resources.md (500600 from [SDK] CartErrorCode.cs): a legacy offer id in catalogItemId
// is LegacyOfferNotEligibleForPurchase, any other unknown id CatalogItemIdIsNotValid, too many seats
// MaxAllowedSeatsPerSubscriptionExceeded, and too few seats, a billing cycle other than monthly/annual or a term the
// availability does not offer for that cycle InvalidInput. The descriptions start with the doc's words for the
// code; that the live service words them so is UNCONFIRMED.
func cartLineOf(id int, catalogItem string, qty int, cycle, term, friendly string) cartLine {
	l := cartLine{
		id: id, catalogItem: catalogItem, friendlyName: friendly, quantity: qty,
		billingCycle: strings.ToLower(cycle), termDuration: strings.ToUpper(term),
	}
	fail := func(code int, format string, args ...any) cartLine {
		l.err = &cartError{code: code, description: fmt.Sprintf(format, args...)}
		return l
	}
	pl := planByCatalogItem(catalogItem)
	if pl == nil {
		if planByOffer(catalogItem) != nil {
			return fail(codeLegacyNotEligible, "The legacy offer is no longer eligible for purchase: %s is a legacy offer ID, not a catalog item ID (productId:skuId:availabilityId).", catalogItem)
		}
		return fail(codeCatalogItemInvalid, "Catalog item ID isn't valid: %s.", catalogItem)
	}
	l.plan, l.catalogItem = pl, pl.catalogItemID()
	if l.friendlyName == "" {
		l.friendlyName = pl.Name
	}
	switch {
	case qty < pl.MinQuantity:
		return fail(codeCartInvalidInput, "Generic input isn't valid: quantity %d is below the minimum of %d.", qty, pl.MinQuantity)
	case qty > pl.MaxQuantity:
		return fail(codeCartMaxSeats, "Requested number of seats exceeds the limit: at most %d seats of %s are allowed per subscription.", pl.MaxQuantity, pl.Name)
	case l.billingCycle != "monthly" && l.billingCycle != "annual":
		return fail(codeCartInvalidInput, "Generic input isn't valid: billingCycle %q must be monthly or annual.", cycle)
	}
	t, ok := termOf(term)
	if !ok {
		return fail(codeCartInvalidInput, "Generic input isn't valid: termDuration %q must be P1M, P1Y or P3Y.", term)
	}
	l.termDuration = t
	if !offersTerm(pl, t, l.billingCycle) {
		return fail(codeCartInvalidInput, "Generic input isn't valid: %s isn't available with termDuration %s and billingCycle %s.", l.catalogItem, t, l.billingCycle)
	}
	return l
}

// offersTerm reports whether the plan's availability lists the term with that billing cycle (products.go), so
// that a cart accepts only what the catalog says it sells.
func offersTerm(p *plan, term, cycle string) bool {
	for _, t := range availabilityOf(p, "US").Terms {
		if t.Duration == term && t.BillingCycle == cycle {
			return true
		}
	}
	return false
}

func (s *Server) getCart(_ *http.Request, p params) reply {
	return s.withCart(p, func(c *customer, k *cart) reply {
		return jsonReply(http.StatusOK, k.resource(c.id))
	})
}

// withCart finds the cart named in the path. An expired cart answers like an unknown one, checked out or not:
// the docs say carts expire 7 days after creation but not what a late request gets, so 404 / 800008 "Unable to
// retrieve cart ID" is UNCONFIRMED (the less convenient answer: even a repeated checkout cannot recover the
// first answer then; GET …/orders still can).
func (s *Server) withCart(p params, fn func(*customer, *cart) reply) reply {
	now := s.now()
	return s.withCustomer(p, func(c *customer) reply {
		k := c.cart(p["cart"])
		if k == nil || !now.Before(k.expires()) {
			return errorReply(http.StatusNotFound, codeCartNotFound, "Unable to retrieve cart ID "+p["cart"]+".")
		}
		return fn(c, k)
	})
}

// checkoutCart buys every line as a new-commerce subscription in one order.
//
// "If a cart was successfully checked out previously and an additional checkout call is made to that same cart,
// the API response will re-iterate the information returned after initial checkout" ([PC-2023]
// developer/checkout-a-cart.md): a repeat gets the first answer byte for byte, still "pending".
//
// A cart with a line error buys nothing and answers 400 / 800009 "Error in Cart item(s)" (error-codes.md); the
// docs do not say what such a checkout gets, so this is UNCONFIRMED, and, being the less convenient answer, it
// does not say which line: the cart's lines do. It is not kept as the cart's answer ("In a scenario where an
// order fails due to error, the call can be made again to re-attempt checkout").
//
// The answer's order is "pending" and its lines have no subscriptionId; the order completes, and its
// subscriptions become visible with their seats, Options.ProvisioningDelay later (orders.go, subscriptions.go).
func (s *Server) checkoutCart(r *http.Request, p params) reply {
	return s.withCart(p, func(c *customer, k *cart) reply {
		if k.checkout != nil {
			return reply{status: http.StatusCreated, body: k.checkout}
		}
		for _, l := range k.lines {
			if l.err != nil {
				return errorReply(http.StatusBadRequest, codeCartItemErrors, "Error in Cart item(s)")
			}
		}
		now := s.now()
		id := newShortID()
		for c.order(id) != nil {
			id = newShortID()
		}
		o := &order{id: id, created: now, billingCycle: k.lines[0].billingCycle, nce: true, completes: now.Add(s.opts.ProvisioningDelay)}
		for i, l := range k.lines {
			sub := s.purchase(c, l.plan, l.catalogItem, l.friendlyName, l.quantity, l.billingCycle, l.termDuration, o.id, true)
			// The subscription, and its seats, show when the order completes, not before.
			sub.visibleFrom, sub.seatsFrom = o.completes, o.completes
			o.lines = append(o.lines, orderLine{
				number: i, offerID: l.catalogItem, subscriptionID: sub.id, friendlyName: l.friendlyName,
				quantity: l.quantity, termDuration: l.termDuration, plan: l.plan,
			})
		}
		c.orders = append(c.orders, o)
		rep := jsonReply(http.StatusCreated, struct {
			Orders      []orderJSON `json:"orders"`
			OrderErrors []struct{}  `json:"orderErrors"`
			Attributes  attributes  `json:"attributes"`
		}{[]orderJSON{o.resource(c.id, now)}, []struct{}{}, objectType("CartCheckoutResult")})
		k.checkout, k.modified = rep.body, now
		s.stats.orders.Add(1)
		s.stats.checkouts.Add(1)
		s.recordOrder(r, LedgerCheckout, c.id, o, k.id)
		s.activityOrder(c, o)
		return rep
	})
}
