package pcsim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// New-commerce carts ([PC-2023] developer/create-a-cart.md, checkout-a-cart.md; partner-center.md §2.4).

const cartLifetime = 7 * 24 * time.Hour // "carts expire 7 days from initial creation"

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
}

func (k *cart) resource(cid string) cartJSON {
	status := "Active"
	if k.checkout != nil {
		status = "Ordered"
	}
	res := cartJSON{
		ID: k.id, CreationTimestamp: instant(k.created), LastModifiedTimestamp: instant(k.modified),
		ExpirationTimestamp: instant(k.created.Add(cartLifetime)), LastModifiedUser: k.modifiedUser,
		Status:     status,
		Links:      map[string]link{"self": getLink("/customers/" + cid + "/carts/" + k.id)},
		Attributes: objectType("Cart"),
	}
	for _, l := range k.lines {
		res.LineItems = append(res.LineItems, cartLineJSON{
			ID: l.id, CatalogItemID: l.catalogItem, FriendlyName: l.friendlyName, Quantity: l.quantity,
			CurrencyCode: "USD", BillingCycle: l.billingCycle, TermDuration: l.termDuration,
			Participants: []linkHeader{}, ProvisioningContext: map[string]string{}, OrderGroup: "0",
		})
	}
	return res
}

// createCart validates the line items; a legacy offer id in catalogItemId gets the cart error the service
// gives retired legacy offers, anything else unknown gets CatalogItemIdIsNotValid.
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
		pl := planByCatalogItem(li.CatalogItemID)
		if pl == nil {
			if legacy := planByOffer(li.CatalogItemID); legacy != nil {
				return errorReply(http.StatusBadRequest, codeLegacyNotEligible,
					"LegacyOfferNotEligibleForPurchase: "+li.CatalogItemID+" is a legacy offer and can't be purchased in a cart.")
			}
			return errorReply(http.StatusBadRequest, codeCatalogItemInvalid,
				"CatalogItemIdIsNotValid: the catalog item ID "+li.CatalogItemID+" is not valid.")
		}
		if li.Quantity < pl.MinQuantity {
			return errorReply(http.StatusBadRequest, codeCartInvalidInput,
				"Quantity must be at least "+strconv.Itoa(pl.MinQuantity)+".")
		}
		if li.Quantity > pl.MaxQuantity {
			return errorReply(http.StatusBadRequest, codeCartMaxSeats,
				"MaxAllowedSeatsPerSubscriptionExceeded: at most "+strconv.Itoa(pl.MaxQuantity)+" seats are allowed.")
		}
		cycle := strings.ToLower(li.BillingCycle)
		if cycle != "monthly" && cycle != "annual" {
			return errorReply(http.StatusBadRequest, codeCartInvalidInput, "billingCycle is required: monthly or annual.")
		}
		term, ok := termOf(li.TermDuration)
		if !ok {
			return errorReply(http.StatusBadRequest, codeCartInvalidInput, "termDuration must be P1M, P1Y or P3Y.")
		}
		friendly := li.FriendlyName
		if friendly == "" {
			friendly = pl.Name
		}
		k.lines = append(k.lines, cartLine{
			id: li.ID, catalogItem: pl.catalogItemID(), friendlyName: friendly, quantity: li.Quantity,
			billingCycle: cycle, termDuration: term, plan: pl,
		})
	}
	return s.withCustomer(p, func(c *customer) reply {
		c.carts = append(c.carts, k)
		return jsonReply(http.StatusCreated, k.resource(c.id))
	})
}

func (s *Server) getCart(_ *http.Request, p params) reply {
	return s.withCart(p, func(c *customer, k *cart) reply {
		return jsonReply(http.StatusOK, k.resource(c.id))
	})
}

func (s *Server) withCart(p params, fn func(*customer, *cart) reply) reply {
	return s.withCustomer(p, func(c *customer) reply {
		k := c.cart(p["cart"])
		if k == nil {
			return errorReply(http.StatusNotFound, codeCartNotFound, "Unable to retrieve cart ID "+p["cart"]+".")
		}
		return fn(c, k)
	})
}

// checkoutCart buys every line as a new-commerce subscription in one order. "If a cart was successfully
// checked out previously and an additional checkout call is made to that same cart, the API response will
// re-iterate the information returned after initial checkout" ([PC-2023] developer/checkout-a-cart.md).
func (s *Server) checkoutCart(r *http.Request, p params) reply {
	return s.withCart(p, func(c *customer, k *cart) reply {
		if k.checkout != nil {
			return reply{status: http.StatusCreated, body: k.checkout}
		}
		now := s.now()
		o := &order{id: newGUID(), created: now, billingCycle: k.lines[0].billingCycle, nce: true}
		for i, l := range k.lines {
			sub := s.purchase(c, l.plan, l.catalogItem, l.friendlyName, l.quantity, l.billingCycle, l.termDuration, o.id, true)
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
		}{[]orderJSON{o.resource(c.id)}, []struct{}{}, objectType("CartCheckoutResult")})
		k.checkout, k.modified = rep.body, now
		s.stats.orders.Add(1)
		s.stats.checkouts.Add(1)
		s.recordOrder(r, LedgerCheckout, c.id, o, k.id)
		return rep
	})
}
