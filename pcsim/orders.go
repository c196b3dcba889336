package pcsim

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"time"
)

// Legacy orders ([PC-2023] developer/create-an-order.md, order-resources.md; sample order-create.response.json).

type orderRequest struct {
	ReferenceCustomerID string `json:"referenceCustomerId"`
	BillingCycle        string `json:"billingCycle"`
	LineItems           []struct {
		LineItemNumber    int    `json:"lineItemNumber"`
		OfferID           string `json:"offerId"`
		Quantity          int    `json:"quantity"`
		FriendlyName      string `json:"friendlyName"`
		TermDuration      string `json:"termDuration"`
		PartnerIDOnRecord string `json:"partnerIdOnRecord"`
	} `json:"lineItems"`
}

type orderJSON struct {
	ID                  string          `json:"id"`
	AlternateID         string          `json:"alternateId,omitempty"` // new commerce: the same short id, as in the sample
	ReferenceCustomerID string          `json:"referenceCustomerId"`
	BillingCycle        string          `json:"billingCycle"`
	CurrencyCode        string          `json:"currencyCode"`
	CurrencySymbol      string          `json:"currencySymbol"`
	LineItems           []orderLineJSON `json:"lineItems"`
	CreationDate        string          `json:"creationDate"`
	Status              string          `json:"status"`
	TransactionType     string          `json:"transactionType"`
	Links               map[string]link `json:"links"`
	TotalPrice          *float64        `json:"totalPrice,omitempty"`
	Client              *struct{}       `json:"client,omitempty"` // new commerce: {} in the sample
	Attributes          attributes      `json:"attributes"`
}

type orderLineJSON struct {
	LineItemNumber    int             `json:"lineItemNumber"`
	OfferID           string          `json:"offerId"`
	SubscriptionID    string          `json:"subscriptionId,omitempty"` // absent until provisioned
	TermDuration      string          `json:"termDuration"`
	TransactionType   string          `json:"transactionType"`
	FriendlyName      string          `json:"friendlyName"`
	Quantity          int             `json:"quantity"`
	PartnerIDOnRecord string          `json:"partnerIdOnRecord,omitempty"`
	Pricing           *pricing        `json:"pricing,omitempty"`
	Links             map[string]link `json:"links"`
}

// pricing is shown on new-commerce order lines ([PC-2023] developer/checkout-a-cart.md); the sandbox has no
// discounts or proration, so every price is the list price for the billing period.
type pricing struct {
	ListPrice       float64 `json:"listPrice"`
	DiscountedPrice float64 `json:"discountedPrice"`
	ProratedPrice   float64 `json:"proratedPrice"`
	Price           float64 `json:"price"`
	ExtendedPrice   float64 `json:"extendedPrice"`
}

// resource is the order as GET shows it at now. A new-commerce order is "pending" until its provisioning is over
// and only then shows each line's subscriptionId and subscription link: "subscription ID values will only appear
// in the REST response if the corresponding subscriptions have been provisioned … once the respective
// subscriptions have been provisioned, their subscription ID values can be accessed through Get Orders and Get
// Order by ID" ([PC-2023] developer/checkout-a-cart.md). Its links are the sample's self, provisioningStatus and
// patchOperation (pc-samples/cart-checkout-nce.response.json); a legacy order is completed when created and
// looks like pc-samples/order-create.response.json.
func (o *order) resource(cid string, now time.Time) orderJSON {
	self := "/customers/" + cid + "/orders/" + o.id
	provisioned := !now.Before(o.completes)
	status := "pending"
	if provisioned {
		status = "completed"
	}
	res := orderJSON{
		ID: o.id, ReferenceCustomerID: cid, BillingCycle: o.billingCycle, TransactionType: "UserPurchase",
		CreationDate: instant(o.created), Status: status, CurrencyCode: "USD", CurrencySymbol: "$",
		Links: map[string]link{"self": getLink(self)},
		Attributes: attributes{
			Etag:       base64.StdEncoding.EncodeToString(fmt.Appendf(nil, `{"id":"%s","version":1}`, o.id)),
			ObjectType: "Order",
		},
	}
	if o.nce {
		res.AlternateID, res.Client = o.id, &struct{}{}
		res.Links["provisioningStatus"] = getLink(self + "/provisioningstatus")
		res.Links["patchOperation"] = link{URI: self, Method: http.MethodPatch, Headers: []linkHeader{}}
		res.Attributes = objectType("Order") // the sample's NCE order has no etag
	}
	total := 0.0
	for _, l := range o.lines {
		line := orderLineJSON{
			LineItemNumber: l.number, OfferID: l.offerID, TermDuration: l.termDuration, TransactionType: "New",
			FriendlyName: l.friendlyName, Quantity: l.quantity, PartnerIDOnRecord: l.partnerIDOnRecord,
			Links: map[string]link{},
		}
		if provisioned {
			line.SubscriptionID = l.subscriptionID
			line.Links["subscription"] = getLink("/customers/" + cid + "/subscriptions/" + l.subscriptionID)
		}
		if o.nce {
			p := l.plan
			price := p.ListPrice
			if o.billingCycle == "annual" {
				price *= 12
			}
			price = math.Round(price*100) / 100
			line.Pricing = &pricing{price, price, price, price, price * float64(l.quantity)}
			total += line.Pricing.ExtendedPrice
			line.Links["product"] = getLink("/products/" + p.ProductID + "?country=US")
			line.Links["sku"] = getLink("/products/" + p.ProductID + "/skus/" + p.NCESkuID + "?country=US")
			line.Links["availability"] = getLink("/products/" + p.ProductID + "/skus/" + p.NCESkuID + "/availabilities/" + p.Availability + "?country=US")
		}
		res.LineItems = append(res.LineItems, line)
	}
	if o.nce {
		res.TotalPrice = &total
	}
	return res
}

func (s *Server) listOrders(_ *http.Request, p params) reply {
	now := s.now()
	return s.withCustomer(p, func(c *customer) reply {
		items := make([]orderJSON, 0, len(c.orders))
		for _, o := range c.orders {
			items = append(items, o.resource(c.id, now))
		}
		return jsonReply(http.StatusOK, newCollection(items, "/customers/"+c.id+"/orders"))
	})
}

func (s *Server) getOrder(_ *http.Request, p params) reply {
	now := s.now()
	return s.withCustomer(p, func(c *customer) reply {
		o := c.order(p["oid"])
		if o == nil {
			return errorReply(http.StatusNotFound, codeOrderNotFound, "Order ID "+p["oid"]+" not found.")
		}
		return jsonReply(http.StatusOK, o.resource(c.id, now))
	})
}

// codeOfferUnavailable is 403 "The offer is no longer available for purchase" ([PC-2023] developer/error-codes.md).
const codeOfferUnavailable = 2091

// createOrder validates every line before buying anything, so a refused order changes nothing. Each line
// becomes an active, auto-renewing subscription whose seats appear after the provisioning delay; the order
// itself is completed at once, as legacy orders were.
//
// Unless Options.LegacyPurchases, a legacy offer that is still in the catalog is refused with 403 / 2091: legacy
// offers "are no longer purchasable … as new subscriptions" since July 2023 ([PC-2023]
// announcements/includes/june-2023/deprecate-migration-offers.md; new-commerce.md §1), and every purchasable
// legacy offer of the sandbox catalog is a Microsoft 365 / Office 365 one. That the live service answers this
// case with 2091 is UNCONFIRMED; it is the documented code whose words fit.
func (s *Server) createOrder(r *http.Request, p params) reply {
	var req orderRequest
	if rep, ok := decodeBody(r, &req); !ok {
		return rep
	}
	if len(req.LineItems) == 0 {
		return badInput("An order needs at least one line item.")
	}
	cycle, ok := cycleOf(req.BillingCycle)
	if !ok {
		return badInput("billingCycle must be monthly or annual.")
	}
	plans := make([]*plan, len(req.LineItems))
	terms := make([]string, len(req.LineItems))
	seen := map[int]bool{}
	for i, li := range req.LineItems {
		if li.LineItemNumber < 0 || li.LineItemNumber >= len(req.LineItems) || seen[li.LineItemNumber] {
			return errorReply(http.StatusBadRequest, codeLineItemNumber, "Line Item number should be from 0 to number of line items count.")
		}
		seen[li.LineItemNumber] = true
		pl := planByOffer(li.OfferID)
		if pl == nil {
			return errorReply(http.StatusBadRequest, codeInvalidOffer, "Invalid offer ID.", "offerId "+li.OfferID+" is invalid")
		}
		if !pl.Purchasable {
			return errorReply(http.StatusBadRequest, codeLegacyNotEligible,
				"LegacyOfferNotEligibleForPurchase: offer "+pl.OfferID+" ("+pl.Name+") is no longer available for purchase as a new subscription.")
		}
		if !s.opts.LegacyPurchases {
			return errorReply(http.StatusForbidden, codeOfferUnavailable, "The offer is no longer available for purchase",
				"offerId "+pl.OfferID+" is a legacy offer")
		}
		if rep, ok := quantityInRange(pl, li.Quantity); !ok {
			return rep
		}
		if terms[i], ok = termOf(li.TermDuration); !ok {
			return badInput("termDuration must be P1M, P1Y or P3Y.")
		}
		plans[i] = pl
	}

	return s.withCustomer(p, func(c *customer) reply {
		now := s.now()
		o := &order{id: newGUID(), created: now, billingCycle: cycle, completes: now}
		for i, li := range req.LineItems {
			sub := s.purchase(c, plans[i], plans[i].OfferID, li.FriendlyName, li.Quantity, cycle, terms[i], o.id, false)
			o.lines = append(o.lines, orderLine{
				number: li.LineItemNumber, offerID: plans[i].OfferID, subscriptionID: sub.id,
				friendlyName: sub.friendlyName, quantity: li.Quantity, termDuration: terms[i],
				partnerIDOnRecord: li.PartnerIDOnRecord, plan: plans[i],
			})
		}
		c.orders = append(c.orders, o)
		s.stats.orders.Add(1)
		s.recordOrder(r, LedgerOrder, c.id, o, "")
		s.activityOrder(c, o)
		return jsonReply(http.StatusCreated, o.resource(c.id, now))
	})
}
