package pcsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// subscriptionJSON is the Subscription resource ([PC-2023] developer/subscription-resources.md; samples
// subscription-get.json and customer-subscriptions-list.json).
type subscriptionJSON struct {
	ID                    string          `json:"id"`
	OfferID               string          `json:"offerId"`
	OfferName             string          `json:"offerName"`
	FriendlyName          string          `json:"friendlyName"`
	Quantity              int             `json:"quantity"`
	UnitType              string          `json:"unitType"`
	CreationDate          string          `json:"creationDate"`
	EffectiveStartDate    string          `json:"effectiveStartDate"`
	CommitmentEndDate     string          `json:"commitmentEndDate"`
	CommitmentEndDateTime string          `json:"commitmentEndDateTime"`
	Status                string          `json:"status"`
	AutoRenewEnabled      bool            `json:"autoRenewEnabled"`
	IsTrial               bool            `json:"isTrial"`
	BillingType           string          `json:"billingType"`
	BillingCycle          string          `json:"billingCycle"`
	TermDuration          string          `json:"termDuration"`
	PartnerID             string          `json:"partnerId"` // MPN id of an indirect reseller; empty for direct sales
	ContractType          string          `json:"contractType"`
	ProductType           *itemType       `json:"productType,omitempty"`
	Links                 map[string]link `json:"links"`
	OrderID               string          `json:"orderId"`
	Attributes            attributes      `json:"attributes"`

	// New commerce only (nce.go).
	CancellationAllowedUntilDate  string              `json:"cancellationAllowedUntilDate,omitempty"`
	RefundableQuantity            *refundableQuantity `json:"refundableQuantity,omitempty"`
	ScheduledNextTermInstructions json.RawMessage     `json:"scheduledNextTermInstructions,omitempty"` // null when sent
}

type itemType struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

func (s *subscription) resource(cid string) subscriptionJSON {
	links := map[string]link{"self": getLink("/customers/" + cid + "/subscriptions/" + s.id)}
	var productType *itemType
	if s.nce {
		// New-commerce subscriptions point at their catalog entries instead of a legacy offer.
		p := s.plan
		links["product"] = getLink("/products/" + p.ProductID + "?country=US")
		links["sku"] = getLink("/products/" + p.ProductID + "/skus/" + p.NCESkuID + "?country=US")
		links["availability"] = getLink("/products/" + p.ProductID + "/skus/" + p.NCESkuID + "/availabilities/" + p.Availability + "?country=US")
		productType = &itemType{ID: "OnlineServicesNCE", DisplayName: "OnlineServicesNCE"}
	} else {
		links["offer"] = getLink("/offers/" + s.offerID + "?country=US")
	}
	return subscriptionJSON{
		ID: s.id, OfferID: s.offerID, OfferName: s.plan.Name, FriendlyName: s.friendlyName,
		Quantity: s.quantity, UnitType: "Licenses",
		CreationDate: instant(s.created), EffectiveStartDate: dayStart(s.start),
		CommitmentEndDate: dayStart(s.end), CommitmentEndDateTime: dayEnd(s.end),
		Status: s.status, AutoRenewEnabled: s.autoRenew, BillingType: "license",
		BillingCycle: s.billingCycle, TermDuration: s.termDuration, ContractType: "subscription",
		ProductType: productType, Links: links, OrderID: s.orderID,
		Attributes: attributes{Etag: s.etag(), ObjectType: "Subscription"},
	}
}

func (s *Server) listSubscriptions(_ *http.Request, p params) reply {
	s.forgetBusyAnswers()
	return s.withCustomer(p, func(c *customer) reply {
		items := make([]subscriptionJSON, 0, len(c.subs))
		now := s.now()
		for _, sub := range c.subs {
			if !listed(sub, now) {
				continue
			}
			s.settle(c, sub)
			items = append(items, s.showSubscription(c, sub))
		}
		return jsonReply(http.StatusOK, newCollection(items, "/customers/"+c.id+"/subscriptions"))
	})
}

func (s *Server) getSubscription(_ *http.Request, p params) reply {
	s.forgetBusyAnswers()
	return s.withSubscription(p, func(c *customer, sub *subscription) reply {
		return jsonReply(http.StatusOK, s.showSubscription(c, sub))
	})
}

func (s *Server) withSubscription(p params, fn func(*customer, *subscription) reply) reply {
	return s.withCustomer(p, func(c *customer) reply {
		sub := c.subscription(p["sid"])
		if sub == nil || !listed(sub, s.now()) {
			return errorReply(http.StatusNotFound, codeSubNotFound, "Subscription with ID "+p["sid"]+" not found.")
		}
		s.settle(c, sub) // a change accepted with 202 shows from its due time on
		return fn(c, sub)
	})
}

// listed reports whether sub exists yet for the API. A subscription bought through a cart is not listed, nor
// found by id, until its order is provisioned (carts.go): the docs say only that its id appears in the order
// once provisioned ([PC-2023] developer/checkout-a-cart.md); whether the live service already lists it before
// is UNCONFIRMED, and this is the less convenient answer.
func listed(sub *subscription, now time.Time) bool { return !now.Before(sub.visibleFrom) }

// subscriptionPatch holds the updatable fields of the full Subscription the client sends; nil = not sent.
type subscriptionPatch struct {
	Status           *string `json:"status"`
	Quantity         *int    `json:"quantity"`
	AutoRenewEnabled *bool   `json:"autoRenewEnabled"`
	FriendlyName     *string `json:"friendlyName"`

	ScheduledNextTermInstructions json.RawMessage `json:"scheduledNextTermInstructions"` // new commerce (nce.go)
}

// patchSubscription suspends, reactivates, resizes, renames or (new commerce, within the cancellation window)
// cancels a subscription. For a subscription with an ETag the doc's request carries If-Match with the ETag of a
// fresh GET; a missing or stale one is refused with 400 / 2055 ("ETags are temporary … use the latest ETags value
// by getting the resource again", [PC-2023] developer/test-and-debug.md; error-codes.md). A subscription being
// renewed, or with an accepted change not shown yet, answers 409; a change may be answered 202 (nce.go).
func (s *Server) patchSubscription(r *http.Request, p params) reply {
	var body subscriptionPatch
	if rep, ok := decodeBody(r, &body); !ok {
		return rep
	}
	ifMatch := r.Header.Get("If-Match")
	return s.withSubscription(p, func(c *customer, sub *subscription) reply {
		now := s.now()
		if rep, ok := s.checkReady(r, sub, now); !ok {
			return rep
		}
		if rep, ok := s.checkEtag(sub, ifMatch); !ok {
			return rep
		}
		next, rep, ok := applyPatch(sub, body)
		if !ok {
			return rep
		}
		if rep, ok := s.checkNewCommerce(sub, next, now); !ok {
			return rep
		}
		if next != *sub {
			if rep, ok := s.acceptLater(r, c, sub, next, now); ok {
				return rep
			}
			next.version++
			prev := *sub
			*sub = next
			s.recordChange(r, c.id, &prev, sub, now)
			s.activitySubscription(s.opts.ClientID, c, &prev, sub, now, "")
		}
		return jsonReply(http.StatusOK, s.showSubscription(c, sub))
	})
}

// applyPatch validates body against sub and returns the updated copy; unchanged fields are no-ops, so
// suspending a suspended subscription succeeds without a new ETag.
func applyPatch(sub *subscription, body subscriptionPatch) (subscription, reply, bool) {
	next := *sub
	if body.Status != nil {
		next.status = strings.ToLower(*body.Status)
	}
	if body.Quantity != nil {
		next.quantity = *body.Quantity
	}
	if body.AutoRenewEnabled != nil {
		next.autoRenew = *body.AutoRenewEnabled
	}
	if body.FriendlyName != nil {
		next.friendlyName = *body.FriendlyName
	}
	if rep, ok := scheduleNextTerm(sub, &next, body.ScheduledNextTermInstructions); !ok {
		return next, rep, false
	}
	if next == *sub {
		return next, reply{}, true
	}
	if sub.status != "active" && sub.status != "suspended" {
		return next, errorReply(http.StatusBadRequest, codeStatusNotUpdatable,
			fmt.Sprintf("Subscription with ID %s and %s status can't be updated.", sub.id, sub.status)), false
	}
	cancel := next.nce && next.status == "deleted" // within the cancellation window: checkNewCommerce
	if next.status != "active" && next.status != "suspended" && !cancel {
		return next, errorReply(http.StatusBadRequest, codeStatusChange,
			fmt.Sprintf("Can't update the status for this subscription to %q; use \"active\" or \"suspended\".", next.status)), false
	}
	if cancel {
		next.autoRenew = false // as the doc's cancellation answer shows
	}
	if next.quantity != sub.quantity {
		if sub.status == "suspended" || next.status == "suspended" {
			return next, errorReply(http.StatusBadRequest, codeQuantitySuspended,
				"Subscription quantity can't be increased or decreased while subscription is being suspended."), false
		}
		if rep, ok := quantityInRange(sub.plan, next.quantity); !ok {
			return next, rep, false
		}
	}
	if next.nce && next.status == "suspended" {
		next.autoRenew = false // "Suspending a new commerce subscription will turn off auto-renew"
	}
	dropScheduledChange(sub, &next, body.ScheduledNextTermInstructions != nil)
	return next, reply{}, true
}

func quantityInRange(p *plan, q int) (reply, bool) {
	if q < p.MinQuantity || q > p.MaxQuantity {
		return errorReply(http.StatusBadRequest, codeQuantityRange, fmt.Sprintf(
			"Subscription quantity isn't within minimum and maximum allowed quantity (%d to %d) for offer %s.",
			p.MinQuantity, p.MaxQuantity, p.Name)), false
	}
	return reply{}, true
}

// bareEtag accepts the forms clients send: "etag", W/"etag", or the bare value.
func bareEtag(h string) string {
	h = strings.TrimSpace(h)
	h = strings.TrimPrefix(h, "W/")
	return strings.Trim(h, `"`)
}

// provisioningStatus links a subscription to its subscribedskus pool through skuId (upper-case, like the
// doc's example) and says "pending" until bought seats have been provisioned.
func (s *Server) provisioningStatus(_ *http.Request, p params) reply {
	now := s.now()
	return s.withSubscription(p, func(_ *customer, sub *subscription) reply {
		status := "success"
		if now.Before(sub.seatsFrom) {
			status = "pending"
		}
		return jsonReply(http.StatusOK, struct {
			SkuID      string     `json:"skuId"`
			Status     string     `json:"status"`
			Quantity   int        `json:"quantity"`
			EndDate    string     `json:"endDate"`
			Attributes attributes `json:"attributes"`
		}{strings.ToUpper(sub.plan.SkuID), status, sub.quantity, dayStart(sub.end), objectType("SubscriptionProvisioningStatus")})
	})
}

// purchase creates the subscription one bought order line turns into. End dates are inclusive, so a one-year
// term bought today ends the day before the anniversary.
func (s *Server) purchase(c *customer, p *plan, offerID, friendly string, qty int, cycle, term, orderID string, nce bool) *subscription {
	now := s.now()
	start := midnight(now)
	var end time.Time
	switch term {
	case "P1M":
		end = start.AddDate(0, 1, -1)
	case "P3Y":
		end = start.AddDate(3, 0, -1)
	default:
		end = start.AddDate(1, 0, -1)
	}
	if friendly == "" {
		friendly = p.Name
	}
	// Legacy ids come upper-case in the docs' samples; the new-commerce
	// example (get-a-subscription-by-id.md) has lower-case ids and a short
	// order id, so the bot must not depend on either case.
	id, oid := strings.ToUpper(newGUID()), strings.ToUpper(orderID)
	if nce {
		id, oid = newGUID(), orderID
	}
	sub := &subscription{
		id: id, plan: p, offerID: offerID, friendlyName: friendly, quantity: qty,
		created: now, start: start, end: end, status: "active", autoRenew: true,
		billingCycle: cycle, termDuration: term, orderID: oid, nce: nce, version: 1,
		seatsFrom: now.Add(s.opts.ProvisioningDelay),
	}
	c.subs = append(c.subs, sub)
	return sub
}
