package pcsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// New-commerce subscriptions as Partner Center has them in 2026, and the answers a subscription PATCH gets
// besides 200 ([PC-2023] developer/subscription-resources.md, get-a-subscription-by-id.md,
// update-a-subscription-by-id.md, cancel-an-azure-marketplace-subscription.md; create-a-new-subscription.md):
//
//   - an NCE subscription has no attributes.etag (the doc's NCE example) and is PATCHed without If-Match;
//   - it can be cancelled (status deleted) or have seats removed only within its cancellation window, and says
//     until when in cancellationAllowedUntilDate and refundableQuantity;
//   - any PATCH may be answered 202 Accepted with a Location header and no body, the change showing later;
//   - a subscription whose renewal is being processed answers 409 until it is done.

// Error codes of this file, from [PC-2023] developer/error-codes.md.
const (
	codeNotReady          = 800082 // 409 "Subscription is not ready to be updated. Try again after sometime"
	codeCancelWindowHours = 900213 // 400 "You have passed your {0}-hour cancellation window. We are unable to cancel your purchase"
	codeReduceWindowHours = 900214 // 400 "You have passed your {0}-hour window for reducing seats for this subscription."
)

// asyncSalt separates the RNG of 202 answers from the world's and the faults' streams of the same seed.
const asyncSalt = 0x6173796e63212121 // "async!!!"

// newCommerceState is a Server's state for this file. pending and renewing are guarded by the Server's world
// lock; mu guards r and busyKeys and is always the last lock taken.
type newCommerceState struct {
	pending  map[*subscription]*pendingChange
	renewing map[*subscription]time.Time // renewal processed until then (sandbox time)

	mu       sync.Mutex
	r        *rand.Rand
	busyKeys []string // idempotency keys of 409 answers, to forget (forgetBusyAnswers)
}

// pendingChange is a PATCH answered 202: next is the subscription as the PATCH leaves it, shown from due on.
type pendingChange struct {
	next      subscription
	due       time.Time
	accepted  time.Time // when the PATCH was answered 202: refunds are worked out as of then (ledger.go)
	requestID string    // MS-RequestId of the PATCH, for the ledger
}

func newNewCommerceState(seed int64) *newCommerceState {
	return &newCommerceState{
		pending:  map[*subscription]*pendingChange{},
		renewing: map[*subscription]time.Time{},
		r:        rand.New(rand.NewPCG(uint64(seed)^asyncSalt, uint64(seed))),
	}
}

func (s *Server) nceState() *newCommerceState { return s.opts.newCommerce }

// refundableQuantity says how many seats can still be removed with a refund, and until when.
type refundableQuantity struct {
	TotalQuantity int                `json:"totalQuantity"`
	Details       []refundableDetail `json:"details"`
}

type refundableDetail struct {
	Quantity             int    `json:"quantity"`
	AllowedUntilDateTime string `json:"allowedUntilDateTime"`
}

// hasEtag reports whether sub carries an etag and so needs If-Match: legacy subscriptions do; new-commerce ones
// only with Options.NCEEtags.
func (s *Server) hasEtag(sub *subscription) bool { return !sub.nce || s.opts.NCEEtags }

// cancellableUntil is the end of sub's cancellation window, which runs from the purchase or the last renewal.
func (s *Server) cancellableUntil(sub *subscription) time.Time {
	opened := sub.created
	if sub.renewed.After(opened) {
		opened = sub.renewed // the window opens again at each renewal (renew)
	}
	return opened.Add(s.opts.CancellationWindow)
}

// showSubscription is sub's resource as the service shows it now: new-commerce fields added, and no etag where
// there is none.
func (s *Server) showSubscription(c *customer, sub *subscription) subscriptionJSON {
	res := sub.resource(c.id)
	if !s.hasEtag(sub) {
		res.Attributes.Etag = ""
	}
	if !sub.nce {
		return res
	}
	until := s.cancellableUntil(sub)
	res.CancellationAllowedUntilDate = instant(until)
	res.RefundableQuantity = &refundableQuantity{Details: []refundableDetail{}}
	if s.now().Before(until) && sub.status != "deleted" && sub.status != "expired" { // expired: transitioned away
		res.RefundableQuantity.TotalQuantity = sub.quantity
		res.RefundableQuantity.Details = []refundableDetail{{Quantity: sub.quantity, AllowedUntilDateTime: instant(until)}}
	}
	// "Only present if scheduled changes are set or for all trial subscriptions"; without them the key is sent as
	// null like a GET of a paid subscription without scheduled changes.
	res.ScheduledNextTermInstructions = json.RawMessage("null")
	if sub.scheduled != nil {
		raw, err := json.Marshal(sub.scheduled.resource())
		if err != nil { // plain strings and an int; this is a programming error
			panic(fmt.Sprintf("pcsim: marshal scheduled change: %v", err))
		}
		res.ScheduledNextTermInstructions = raw
	}
	return res
}

// checkEtag refuses a PATCH of a subscription that has an etag when If-Match is missing or stale, with the
// documented 400 / 2055 "Etag is no longer valid" ([PC-2023] developer/error-codes.md), not 412. That a missing
// If-Match gets the same answer is UNCONFIRMED. For a subscription without an etag, If-Match is not looked at
// (UNCONFIRMED too: the docs' NCE PATCH examples send none).
func (s *Server) checkEtag(sub *subscription, ifMatch string) (reply, bool) {
	if !s.hasEtag(sub) {
		return reply{}, true
	}
	if ifMatch == "" || bareEtag(ifMatch) != sub.etag() {
		return errorReply(http.StatusBadRequest, codeEtagInvalid, "Etag is no longer valid"), false
	}
	return reply{}, true
}

// checkReady answers 409 to a PATCH of a subscription whose renewal is being processed ("If the subscription is
// still waiting to be processed the partner will get an error response (409: Conflict for API requests).
// Partners can resubmit the request after waiting for two minutes", [PC-2023] create-a-new-subscription.md) or
// whose accepted (202) change has not shown yet. The body is the documented 409 / 800082; that the live service
// sends this code for a renewal is UNCONFIRMED (the doc names only the status).
func (s *Server) checkReady(r *http.Request, sub *subscription, now time.Time) (reply, bool) {
	st := s.nceState()
	busy := st.pending[sub] != nil
	if until, ok := st.renewing[sub]; ok {
		if now.Before(until) {
			busy = true
		} else {
			delete(st.renewing, sub)
		}
	}
	if !busy {
		return reply{}, true
	}
	if id := r.Header.Get("MS-RequestId"); id != "" {
		// The idempotency store keeps this answer for the request id; the doc says the same request is accepted
		// once resubmitted later, so it is forgotten again (forgetBusyAnswers).
		st.mu.Lock()
		st.busyKeys = append(st.busyKeys, r.Method+" "+strings.ToLower(r.URL.Path)+" "+id) // idempotencyStore's key
		st.mu.Unlock()
	}
	return errorReply(http.StatusConflict, codeNotReady, "Subscription is not ready to be updated. Try again after sometime"), false
}

// forgetBusyAnswers drops the 409 answers checkReady gave from the idempotency store, so that resubmitting the
// same request (same MS-RequestId) is answered afresh. It runs on every subscription read, which a client makes
// before it PATCHes again; it must be called without the world lock (a PATCH holds the store's lock, then the
// world's).
func (s *Server) forgetBusyAnswers() {
	st := s.nceState()
	st.mu.Lock()
	keys := st.busyKeys
	st.busyKeys = nil
	st.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	var left []string
	s.idem.mu.Lock()
	for _, k := range keys {
		if _, ok := s.idem.replies[k]; ok {
			delete(s.idem.replies, k)
		} else {
			left = append(left, k) // its request is still being answered: stored after this read
		}
	}
	s.idem.mu.Unlock()
	if len(left) > 0 {
		st.mu.Lock()
		st.busyKeys = append(st.busyKeys, left...)
		st.mu.Unlock()
	}
}

// checkNewCommerce applies the new-commerce rules to a PATCH that turns sub into next: cancelling (status
// deleted) and removing seats are allowed only within the cancellation window ("After this window has passed,
// subscriptions can no longer be canceled and the API will throw an error", [PC-2023]
// developer/cancel-an-azure-marketplace-subscription.md; the errors are 900213 and 900214 of error-codes.md).
func (s *Server) checkNewCommerce(sub *subscription, next subscription, now time.Time) (reply, bool) {
	if !sub.nce {
		return reply{}, true
	}
	until := s.cancellableUntil(sub)
	if now.Before(until) {
		return reply{}, true
	}
	hours := int(s.opts.CancellationWindow / time.Hour)
	switch {
	case next.status == "deleted" && sub.status != "deleted":
		return errorReply(http.StatusBadRequest, codeCancelWindowHours,
			fmt.Sprintf("You have passed your %d-hour cancellation window. We are unable to cancel your purchase", hours)), false
	case next.quantity < sub.quantity:
		return errorReply(http.StatusBadRequest, codeReduceWindowHours,
			fmt.Sprintf("You have passed your %d-hour window for reducing seats for this subscription.", hours)), false
	}
	return reply{}, true
}

// acceptLater draws whether a changing PATCH is answered 202 and, if so, records next to be shown
// AsyncPatchDelay later. A PATCH that changes nothing is always answered at once.
func (s *Server) acceptLater(r *http.Request, c *customer, sub *subscription, next subscription, now time.Time) (reply, bool) {
	st := s.nceState()
	if s.opts.AsyncPatchRate <= 0 {
		return reply{}, false
	}
	st.mu.Lock()
	later := st.r.Float64() < s.opts.AsyncPatchRate
	st.mu.Unlock()
	if !later {
		return reply{}, false
	}
	st.pending[sub] = &pendingChange{next: next, due: now.Add(s.opts.AsyncPatchDelay), accepted: now, requestID: r.Header.Get("MS-RequestId")}
	// The doc's 202 example: "Location: /customers/<customer-tenant-id>/subscriptions/<subscriptionID>", no body.
	return reply{
		status: http.StatusAccepted,
		header: http.Header{"Location": {"/customers/" + c.id + "/subscriptions/" + sub.id}},
	}, true
}

// settle shows sub's accepted change once it is due, recording it in the ledger as if it were made then. The
// world lock must be held.
func (s *Server) settle(c *customer, sub *subscription) {
	st := s.nceState()
	pc := st.pending[sub]
	if pc == nil || s.now().Before(pc.due) {
		return
	}
	delete(st.pending, sub)
	prev := *sub
	next := pc.next
	next.version = sub.version + 1
	*sub = next
	r := &http.Request{Header: http.Header{}}
	if pc.requestID != "" {
		r.Header.Set("MS-RequestId", pc.requestID)
	}
	s.recordChange(r, c.id, &prev, sub, pc.accepted)
	// Written now, dated when accepted: a record that appears late (auditrecords.go).
	s.activitySubscription(s.opts.ClientID, c, &prev, sub, pc.accepted, "")
}

// ErrNoSuchSubscription is returned by StartRenewal for an unknown customer or subscription.
var ErrNoSuchSubscription = errors.New("pcsim: no such subscription")

// StartRenewal makes a subscription's renewal "being processed" for lasts of sandbox time: until then every
// PATCH of it is answered 409 (checkReady). Only the wait is modelled; the term does not roll over.
func (s *Server) StartRenewal(customerID, subscriptionID string, lasts time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.world.customer(customerID)
	if c == nil {
		return fmt.Errorf("%w: customer %s", ErrNoSuchSubscription, customerID)
	}
	sub := c.subscription(subscriptionID)
	if sub == nil {
		return fmt.Errorf("%w: %s of customer %s", ErrNoSuchSubscription, subscriptionID, customerID)
	}
	s.nceState().renewing[sub] = s.now().Add(lasts)
	return nil
}

// Scheduled changes at renewal ([PC] developer/create-scheduled-changes.md, create-a-new-subscription.md;
// new-commerce.md §3): a PATCH carrying scheduledNextTermInstructions{product{productId, skuId, availabilityId,
// billingCycle, termDuration}, quantity} makes the next term another product, term, cycle or quantity. It needs
// auto-renew on; suspending, turning auto-renew off or changing the quantity deletes it. At the renewal "if the
// license quantity doesn't change, user license reassignment is automatic".

// scheduledChange is a subscription's scheduledNextTermInstructions.
type scheduledChange struct {
	plan     *plan
	cycle    string
	term     string
	quantity int
}

type scheduledJSON struct {
	Product  scheduledProductJSON `json:"product"`
	Quantity int                  `json:"quantity"`
}

type scheduledProductJSON struct {
	ProductID      string `json:"productId"`
	SkuID          string `json:"skuId"`
	AvailabilityID string `json:"availabilityId"`
	BillingCycle   string `json:"billingCycle"`
	TermDuration   string `json:"termDuration"`
}

func (sc *scheduledChange) resource() scheduledJSON {
	return scheduledJSON{
		Product: scheduledProductJSON{
			ProductID: sc.plan.ProductID, SkuID: sc.plan.NCESkuID, AvailabilityID: sc.plan.Availability,
			BillingCycle: sc.cycle, TermDuration: sc.term,
		},
		Quantity: sc.quantity,
	}
}

// scheduleNextTerm applies a PATCH's scheduledNextTermInstructions (raw; nil = not sent, null = remove) to next.
// The refusals are 400 / 800002 with sandbox-chosen wording: the live codes are UNCONFIRMED.
func scheduleNextTerm(sub, next *subscription, raw json.RawMessage) (reply, bool) {
	if raw == nil {
		return reply{}, true
	}
	if string(raw) == "null" {
		next.scheduled = nil
		return reply{}, true
	}
	if !sub.nce {
		return badInput("Scheduled changes are available for new-commerce subscriptions only."), false
	}
	if !next.autoRenew {
		return badInput("Scheduled changes need auto-renew on: send autoRenewEnabled true with scheduledNextTermInstructions."), false
	}
	var in scheduledJSON
	if err := json.Unmarshal(raw, &in); err != nil {
		return badInput("scheduledNextTermInstructions is not valid: " + err.Error()), false
	}
	p := planByProduct(in.Product.ProductID)
	if p == nil || !strings.EqualFold(p.NCESkuID, in.Product.SkuID) || !strings.EqualFold(p.Availability, in.Product.AvailabilityID) {
		return badInput(fmt.Sprintf("scheduledNextTermInstructions names no product, sku and availability of the catalog (%s:%s:%s).",
			in.Product.ProductID, in.Product.SkuID, in.Product.AvailabilityID)), false
	}
	term, okTerm := termOf(in.Product.TermDuration)
	cycle, okCycle := cycleOf(in.Product.BillingCycle)
	if !okTerm || !okCycle || !offersTerm(p, term, cycle) {
		return badInput(fmt.Sprintf("%s is not sold with term %q and billing cycle %q.", p.Name, in.Product.TermDuration, in.Product.BillingCycle)), false
	}
	if rep, ok := quantityInRange(p, in.Quantity); !ok {
		return rep, false
	}
	sc := &scheduledChange{plan: p, cycle: cycle, term: term, quantity: in.Quantity}
	if sub.scheduled != nil && *sub.scheduled == *sc {
		sc = sub.scheduled // the same instructions again change nothing
	}
	next.scheduled = sc
	return reply{}, true
}

// dropScheduledChange deletes the instructions when the PATCH suspends the subscription, turns auto-renew off or
// changes the quantity without sending new instructions.
func dropScheduledChange(sub, next *subscription, sent bool) {
	if next.scheduled == nil {
		return
	}
	if next.status != "active" || !next.autoRenew || (!sent && next.quantity != sub.quantity) {
		next.scheduled = nil
	}
}

// renewDue renews every active new-commerce subscription with auto-renew on whose term is over. The world lock
// must be held. Legacy subscriptions are not renewed by the sandbox.
func (s *Server) renewDue() {
	now := s.now()
	for _, c := range s.world.customers {
		for _, sub := range c.subs {
			s.settle(c, sub) // an accepted (202) change applies before the renewal, not over it
			for sub.nce && sub.status == "active" && sub.autoRenew && !now.Before(sub.end.AddDate(0, 0, 1)) {
				s.renew(c, sub)
			}
		}
	}
}

// renew starts sub's next term the day after its commitment end, into its scheduled change if it has one; the
// cancellation window opens again.
func (s *Server) renew(c *customer, sub *subscription) {
	prev := *sub
	start := sub.end.AddDate(0, 0, 1)
	if sc := sub.scheduled; sc != nil {
		from, sameQuantity := sub.plan, sc.quantity == sub.quantity
		if sub.friendlyName == from.Name {
			sub.friendlyName = sc.plan.Name
		}
		sub.plan, sub.offerID, sub.billingCycle, sub.termDuration, sub.quantity = sc.plan, sc.plan.catalogItemID(), sc.cycle, sc.term, sc.quantity
		sub.scheduled = nil
		if sameQuantity && from != sc.plan {
			moved := 0
			for _, u := range c.users {
				i := u.license(from.SkuID)
				if i < 0 || moved == sub.quantity {
					continue
				}
				u.licenses = append(u.licenses[:i], u.licenses[i+1:]...)
				if !u.holds(sc.plan.SkuID) {
					u.licenses = append(u.licenses, heldLicense{skuID: sc.plan.SkuID})
				}
				moved++
			}
		}
	}
	sub.start, sub.end, sub.renewed = start, termEnd(start, sub.termDuration), start
	sub.version++
	s.ledger.add(LedgerEntry{
		At: start.UTC(), Kind: LedgerRenewal, CustomerID: c.id, SubscriptionID: sub.id, Quantity: sub.quantity,
		OfferID: sub.offerID, ProductID: sub.plan.ProductID, SkuID: sub.plan.NCESkuID,
	})
	s.activitySubscription("", c, &prev, sub, s.now(), "renewal")
}

// termEnd is the inclusive last day of a term starting on start.
func termEnd(start time.Time, term string) time.Time {
	switch term {
	case "P1M":
		return start.AddDate(0, 1, -1)
	case "P3Y":
		return start.AddDate(3, 0, -1)
	}
	return start.AddDate(1, 0, -1)
}
