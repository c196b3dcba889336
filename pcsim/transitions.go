package pcsim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Transitions ([PC] developer/transition-a-new-commerce-subscription.md, transition-resources.md,
// get-transitions.md): GET …/transitionEligibilities lists what a subscription can be converted to, POST
// …/transitions converts it, GET …/transitions lists the conversions and their events. The sandbox models the
// migration this bot exists for: a legacy Kaizala Pro subscription into new-commerce Office 365 E1
// (STANDARDPACK) or Microsoft 365 Business Premium (SPB). Which customers may move their licences along is part
// of the seeded world (transferBlocked). A new-commerce Office 365 E3 subscription may be upgraded at once to
// Microsoft 365 E5 (not to Microsoft 365 E3: that move is left to a scheduled change at renewal), once its
// cancellation window is over. Other sources answer an empty list (UNCONFIRMED: the live service may offer more
// upgrades).

const (
	transitionWithLicences = "transition_with_license_transfer"
	transitionOnly         = "transition_only"
)

// Transition error codes. The docs show only code 3, with "Subscription cannot be transitioned because there
// are conflicting services." (transition-a-new-commerce-subscription.md, response example); their table of
// eligibility errors gives descriptions without codes. The code of "source subscription is not active", and the
// refusal of a second transition while one is in progress (its wording too), are sandbox-chosen (UNCONFIRMED).
//
// Code 2 for "within cancellation window" is sandbox-chosen as well (UNCONFIRMED): new-commerce.md §3 names the
// reason, the docs give it no code or wording; the description follows code 3's.
const (
	transitionErrNotActive    = 1
	transitionErrInProgress   = 1
	transitionErrCancelWindow = 2
	transitionErrConflicting  = 3
)

const (
	descNotActive    = "Cannot transition subscription - source subscription is not active."
	descConflicting  = "Subscription cannot be transitioned because there are conflicting services."
	descInProgress   = "Cannot transition subscription - a transition of this subscription is in progress."
	descCancelWindow = "Subscription cannot be transitioned because it is within its cancellation window."
)

type transitionErrorJSON struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

type eligibilityDetailJSON struct {
	IsEligible     bool                  `json:"isEligible"`
	TransitionType string                `json:"transitionType"`
	Errors         []transitionErrorJSON `json:"errors"`
}

type transitionEligibilityJSON struct {
	CatalogItemID string                  `json:"catalogItemId"`
	Title         string                  `json:"title"`
	Description   string                  `json:"description"`
	Quantity      int                     `json:"quantity"`
	Eligibilities []eligibilityDetailJSON `json:"eligibilities"`
	Attributes    attributes              `json:"attributes"`
}

type transitionEventJSON struct {
	Name       string                `json:"name"`   // Conversion or LicenseReassignment
	Status     string                `json:"status"` // InProgress, Completed or Failed (transition-resources.md)
	Timestamp  string                `json:"timestamp"`
	Errors     []transitionErrorJSON `json:"errors,omitempty"`
	Attributes attributes            `json:"attributes"`
}

type transitionJSON struct {
	FromCatalogItemID  string                `json:"fromCatalogItemId"`
	FromSubscriptionID string                `json:"fromSubscriptionId"`
	ToCatalogItemID    string                `json:"toCatalogItemId"`
	ToSubscriptionID   string                `json:"toSubscriptionId,omitempty"` // "only populated if the subscription changes": once completed
	Quantity           int                   `json:"quantity"`
	TermDuration       string                `json:"termDuration"`
	BillingCycle       string                `json:"billingCycle"`
	TransitionType     string                `json:"transitionType"`
	Events             []transitionEventJSON `json:"events"`
	Attributes         attributes            `json:"attributes"`
}

// transition is one accepted POST …/transitions; it completes at due (Options.ProvisioningDelay later).
type transition struct {
	from       *subscription
	fromItem   string
	to         *plan
	toSubID    string
	quantity   int
	term       string
	cycle      string
	kind       string
	started    time.Time
	due        time.Time
	completed  time.Time // zero while in progress
	requestID  string
	reassigned bool // licences moved (transition_with_license_transfer)
}

func (t *transition) resource() transitionJSON {
	events := []transitionEventJSON{{Name: "Conversion", Status: "InProgress", Timestamp: instant(t.started), Attributes: objectType("TransitionEvent")}}
	if !t.completed.IsZero() {
		events = append(events, transitionEventJSON{Name: "Conversion", Status: "Completed", Timestamp: instant(t.completed), Attributes: objectType("TransitionEvent")})
		if t.reassigned {
			events = append(events, transitionEventJSON{Name: "LicenseReassignment", Status: "Completed", Timestamp: instant(t.completed), Attributes: objectType("TransitionEvent")})
		}
	}
	return transitionJSON{
		FromCatalogItemID: t.fromItem, FromSubscriptionID: t.from.id, ToCatalogItemID: t.to.catalogItemID(),
		ToSubscriptionID: t.toSubID, Quantity: t.quantity, TermDuration: t.term, BillingCycle: t.cycle,
		TransitionType: t.kind, Events: events, Attributes: objectType("Transition"),
	}
}

// transitionTargets are the plans sub can be converted to at once. New-commerce Office 365 E3 goes only up, to
// Microsoft 365 E5 (UNCONFIRMED: the live upgrade paths are Microsoft's per-product list); Microsoft 365 E3 is
// deliberately not offered, so that for it a scheduled change at renewal stays the one way (and the best one for a
// subscription near its end, which is what the bot is tested on).
func transitionTargets(sub *subscription) []*plan {
	switch {
	case sub.plan == planKaizala && !sub.nce:
		return []*plan{planO365E1, planBusinessPremium}
	case sub.plan == planO365E3 && sub.nce:
		return []*plan{planM365E5}
	}
	return nil
}

// scheduledTargets are the plans a new-commerce subscription can be scheduled to become at renewal: every
// new-commerce plan of the sandbox catalog but its own (UNCONFIRMED: the live service answers a per-product
// list). A legacy subscription has none: scheduled changes take effect at a new-commerce renewal.
func scheduledTargets(sub *subscription) []*plan {
	if !sub.nce {
		return nil
	}
	var out []*plan
	for _, p := range catalog {
		if p.ProductID != "" && p != sub.plan {
			out = append(out, p)
		}
	}
	return out
}

// transferBlocked draws, from the seed and the customer alone (not the world's RNG stream, which would change
// every other customer), whether the customer's tenant has services that conflict with a licence transfer:
// about half the customers do. Such a customer may still transition without licence transfer, as in the docs'
// example answer.
func (s *Server) transferBlocked(c *customer) bool {
	h := fnv.New64a()
	var seed [8]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(s.opts.Seed))
	h.Write(seed[:])
	h.Write([]byte(strings.ToLower(c.id)))
	return h.Sum64()%2 == 1
}

// eligibilities answers which targets sub can be transitioned to now, for each transition type.
func (s *Server) eligibilities(c *customer, sub *subscription) []transitionEligibilityJSON {
	items := []transitionEligibilityJSON{}
	for _, p := range transitionTargets(sub) {
		item := transitionEligibilityJSON{
			CatalogItemID: p.catalogItemID(), Title: p.Name, Description: p.Description, Quantity: sub.quantity,
			Attributes: objectType("TransitionEligibility"),
		}
		for _, kind := range []string{transitionOnly, transitionWithLicences} {
			d := eligibilityDetailJSON{IsEligible: true, TransitionType: kind, Errors: []transitionErrorJSON{}}
			switch {
			case sub.status != "active":
				d.IsEligible = false
				d.Errors = append(d.Errors, transitionErrorJSON{transitionErrNotActive, descNotActive})
			case s.transitionOf(c, sub) != nil:
				d.IsEligible = false
				d.Errors = append(d.Errors, transitionErrorJSON{transitionErrInProgress, descInProgress})
			case sub.nce && s.now().Before(s.cancellableUntil(sub)):
				// An upgrade inside the window would dodge its refund rules (new-commerce.md §3: "within
				// cancellation window" is a documented reason); the seeded conflicting services apply to the
				// Kaizala Pro migration only.
				d.IsEligible = false
				d.Errors = append(d.Errors, transitionErrorJSON{transitionErrCancelWindow, descCancelWindow})
			case kind == transitionWithLicences && !sub.nce && s.transferBlocked(c):
				d.IsEligible = false
				d.Errors = append(d.Errors, transitionErrorJSON{transitionErrConflicting, descConflicting})
			}
			item.Eligibilities = append(item.Eligibilities, d)
		}
		items = append(items, item)
	}
	return items
}

// scheduledEligibilities answers what sub can become at its next renewal: for a new-commerce source, every
// scheduledTargets plan, eligible for both transition types (UNCONFIRMED); a source that is not active is refused
// as for an immediate transition (sandbox-chosen: it has no renewal to schedule for). A legacy source answers an
// empty list. The change itself is made by PATCHing scheduledNextTermInstructions (nce.go), not by POST
// …/transitions, which takes immediate transitions only.
func (s *Server) scheduledEligibilities(sub *subscription) []transitionEligibilityJSON {
	items := []transitionEligibilityJSON{}
	for _, p := range scheduledTargets(sub) {
		item := transitionEligibilityJSON{
			CatalogItemID: p.catalogItemID(), Title: p.Name, Description: p.Description, Quantity: sub.quantity,
			Attributes: objectType("TransitionEligibility"),
		}
		for _, kind := range []string{transitionOnly, transitionWithLicences} {
			d := eligibilityDetailJSON{IsEligible: true, TransitionType: kind, Errors: []transitionErrorJSON{}}
			if sub.status != "active" {
				d.IsEligible = false
				d.Errors = append(d.Errors, transitionErrorJSON{transitionErrNotActive, descNotActive})
			}
			item.Eligibilities = append(item.Eligibilities, d)
		}
		items = append(items, item)
	}
	return items
}

// transitionOf is sub's transition still in progress, if any.
func (s *Server) transitionOf(c *customer, sub *subscription) *transition {
	for _, t := range c.transitions {
		if t.from == sub && t.completed.IsZero() {
			return t
		}
	}
	return nil
}

func (s *Server) listTransitionEligibilities(r *http.Request, p params) reply {
	kind := strings.ToLower(r.URL.Query().Get("eligibilityType"))
	if kind != "immediate" && kind != "scheduled" {
		return badInput("eligibilityType must be immediate or scheduled, not " + fmt.Sprintf("%q", r.URL.Query().Get("eligibilityType")) + ".")
	}
	return s.withSubscription(p, func(c *customer, sub *subscription) reply {
		var items []transitionEligibilityJSON
		if kind == "immediate" {
			items = s.eligibilities(c, sub)
		} else {
			items = s.scheduledEligibilities(sub)
		}
		return jsonReply(http.StatusOK, newCollection(items, "/customers/"+c.id+"/subscriptions/"+sub.id+"/transitionEligibilities?eligibilityType="+kind))
	})
}

type transitionRequest struct {
	ToCatalogItemID string `json:"toCatalogItemId"`
	Quantity        int    `json:"quantity"`
	TransitionType  string `json:"transitionType"`
}

// createTransition starts converting the subscription. The docs' answer is 200 OK with the Transition and its
// first event; it completes ProvisioningDelay later (how long the live service takes is UNCONFIRMED; the docs'
// example events are 36 minutes apart). Only full transitions are accepted: a partial one, which the docs say
// needs licences reassigned by hand, is refused (sandbox-chosen, UNCONFIRMED).
func (s *Server) createTransition(r *http.Request, p params) reply {
	var body transitionRequest
	if rep, ok := decodeBody(r, &body); !ok {
		return rep
	}
	return s.withSubscription(p, func(c *customer, sub *subscription) reply {
		kind := strings.ToLower(body.TransitionType)
		if kind != transitionOnly && kind != transitionWithLicences {
			return badInput(fmt.Sprintf("transitionType must be %s or %s, not %q.", transitionWithLicences, transitionOnly, body.TransitionType))
		}
		var target *transitionEligibilityJSON
		items := s.eligibilities(c, sub)
		for i := range items {
			if strings.EqualFold(items[i].CatalogItemID, body.ToCatalogItemID) {
				target = &items[i]
			}
		}
		if target == nil {
			return badInput(fmt.Sprintf("Subscription %s cannot be transitioned to catalog item %q.", sub.id, body.ToCatalogItemID))
		}
		for _, d := range target.Eligibilities {
			if d.TransitionType == kind && !d.IsEligible {
				return errorReply(http.StatusBadRequest, d.Errors[0].Code, d.Errors[0].Description)
			}
		}
		if body.Quantity != sub.quantity {
			return badInput(fmt.Sprintf("quantity must be the subscription's %d: the sandbox transitions whole subscriptions only.", sub.quantity))
		}
		now := s.now()
		t := &transition{
			from: sub, fromItem: sub.offerID, to: planByCatalogItem(target.CatalogItemID), quantity: sub.quantity,
			term: "P1Y", cycle: sub.billingCycle, kind: kind, started: now, due: now.Add(s.opts.ProvisioningDelay),
			requestID: r.Header.Get("MS-RequestId"),
		}
		if !offersTerm(t.to, t.term, t.cycle) {
			t.cycle = "monthly"
		}
		c.transitions = append(c.transitions, t)
		return jsonReply(http.StatusOK, t.resource())
	})
}

// listTransitions answers the subscription's transitions. The docs' example wraps them as {"transition": […],
// "attributes": {"objectType": "Collection"}}, not the {totalCount, items} of other collections; the sandbox
// answers exactly that (whether the live service does is UNCONFIRMED, so clients should accept both).
func (s *Server) listTransitions(_ *http.Request, p params) reply {
	return s.withSubscription(p, func(c *customer, sub *subscription) reply {
		items := []transitionJSON{}
		for _, t := range c.transitions {
			if t.from == sub {
				items = append(items, t.resource())
			}
		}
		return jsonReply(http.StatusOK, struct {
			Transition []transitionJSON `json:"transition"`
			Attributes attributes       `json:"attributes"`
		}{items, objectType("Collection")})
	})
}

// completeTransitions applies every transition that is due. The world lock must be held.
func (s *Server) completeTransitions() {
	now := s.now()
	for _, c := range s.world.customers {
		for _, t := range c.transitions {
			if t.completed.IsZero() && !now.Before(t.due) {
				s.completeTransition(c, t, now)
			}
		}
	}
}

// completeTransition converts t.from into a new-commerce subscription of t.to (or adds its seats to an active
// one the customer already has with the same term and cycle), ends the source and, with licence transfer,
// moves every holder of the source's licence to the target's. A legacy source is left "deleted", a new-commerce
// one "expired": its paid term is not cancelled (no refund, no ledger cancellation) but ended early by the
// upgrade, which "expired" says and "deleted", a new-commerce cancellation's status, would not (UNCONFIRMED
// both: the docs do not name the source's end state).
func (s *Server) completeTransition(c *customer, t *transition, now time.Time) {
	var target *subscription
	for _, sub := range c.subs {
		s.settle(c, sub) // an accepted (202) change applies first, not over the transition
		if sub.nce && sub.plan == t.to && sub.status == "active" && sub.termDuration == t.term && sub.billingCycle == t.cycle {
			target = sub
			break
		}
	}
	if target != nil {
		target.quantity += t.quantity
		target.version++
	} else {
		target = s.purchase(c, t.to, t.to.catalogItemID(), "", t.quantity, t.cycle, t.term, newShortID(), true)
	}
	target.seatsFrom = now // converted seats are there when the conversion completes
	t.from.status, t.from.autoRenew = "deleted", false
	if t.from.nce {
		t.from.status = "expired"
		t.from.scheduled = nil // the term it was scheduled for will not come
	}
	t.from.version++
	if t.kind == transitionWithLicences {
		for _, u := range c.users {
			i := u.license(t.from.plan.SkuID)
			if i < 0 {
				continue
			}
			u.licenses = slices.Delete(u.licenses, i, i+1)
			if !u.holds(t.to.SkuID) {
				u.licenses = append(u.licenses, heldLicense{skuID: t.to.SkuID})
			}
		}
		t.reassigned = true
	}
	t.toSubID, t.completed = target.id, now
	s.ledger.add(LedgerEntry{
		At: now.UTC(), Kind: LedgerTransition, CustomerID: c.id, SubscriptionID: target.id,
		FromSubscriptionID: t.from.id, Quantity: t.quantity, OfferID: t.to.catalogItemID(),
		ProductID: t.to.ProductID, SkuID: t.to.NCESkuID, MSRequestID: t.requestID,
	})
	s.activityTransition(c, t, now)
}
