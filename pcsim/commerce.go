package pcsim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// Commerce kinds of the seeded world (Options.Commerce). Kaizala Pro stays a legacy subscription in every one of
// them: it was retired before new commerce existed (partner-center.md §1.1), and it is what the bot migrates.
const (
	CommerceLegacy = "legacy" // every seeded subscription is legacy (the 2020 world)
	CommerceNCE    = "nce"    // every seeded subscription but Kaizala Pro is new commerce
	CommerceMixed  = "mixed"  // the seeded mix (default): legacy, new-commerce Business Premium, retired NCE O365 E3
)

// ValidCommerce reports whether kind is one of CommerceLegacy, CommerceNCE and CommerceMixed.
func ValidCommerce(kind string) bool {
	switch kind {
	case CommerceLegacy, CommerceNCE, CommerceMixed:
		return true
	}
	return false
}

// Salts of the per-customer hash draws of this file, so that each choice is independent of the others and of
// transferBlocked.
const (
	retiredSalt    = "retired-nce-o365e3"
	retiredEndSalt = "retired-nce-o365e3-end"
)

// retiredEndDays is the range, in days from today, of the end dates of the retired NCE O365 E3 subscriptions:
// inside the 90-day alert horizon, yet far enough out that a scheduled change can still be set before renewal.
var retiredEndDays = [2]int{20, 90}

// customerDraw hashes the seed, a salt and the customer id: a draw that depends on nothing else, so choices made
// after generation leave the world's RNG stream (and so every other part of the seeded world) unchanged.
func (s *Server) customerDraw(c *customer, salt string) uint64 {
	h := fnv.New64a()
	var seed [8]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(s.opts.Seed))
	h.Write(seed[:])
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(c.id)))
	return h.Sum64()
}

// applyCommerce turns the generated world into Options.Commerce's after generation and after applyAccess (whose
// redrawn customers are final by then). The world lock must not be held.
func (s *Server) applyCommerce() {
	s.mu.Lock()
	defer s.mu.Unlock()
	today := s.world.draws.today
	for _, c := range s.world.customers {
		for _, sub := range c.subs {
			switch {
			case sub.plan == planKaizala: // legacy in every world: the bot's migration source
			case s.opts.Commerce == CommerceLegacy:
				setCommerce(c, sub, legacy)
			case s.opts.Commerce == CommerceNCE:
				setCommerce(c, sub, newCommerce)
			}
		}
	}
	if s.opts.Commerce == CommerceLegacy {
		return
	}
	for _, c := range s.retiredCandidates() {
		sub := s.retireO365E3(c, today)
		s.world.retired = append(s.world.retired, SubscriptionRef{CustomerID: c.id, SubscriptionID: sub.id, EndDate: sub.end})
	}
}

// retiredCandidates chooses the customers whose Office 365 E3 subscription becomes a non-renewing new-commerce
// one: about a quarter (hash-drawn) of the reachable customers that hold one. Customers whose tenant the partner
// cannot reach (Options.GDAPMissing) are left out so that every such subscription's holders can be read and
// moved (sandbox-chosen). When the draw picks none but there is a candidate, the one with the smallest draw is
// taken, so that a world with any Office 365 E3 customer has this case to test.
func (s *Server) retiredCandidates() []*customer {
	var out []*customer
	var fallback *customer
	var least uint64
	for _, c := range s.world.customers {
		if c.access != 0 || o365E3Of(c) == nil {
			continue
		}
		d := s.customerDraw(c, retiredSalt)
		if d%4 == 0 {
			out = append(out, c)
		}
		if fallback == nil || d < least {
			fallback, least = c, d
		}
	}
	if len(out) == 0 && fallback != nil {
		out = append(out, fallback)
	}
	return out
}

// o365E3Of is the customer's first seeded Office 365 E3 subscription, if any.
func o365E3Of(c *customer) *subscription {
	for _, sub := range c.subs {
		if sub.plan == planO365E3 && sub.status == "active" {
			return sub
		}
	}
	return nil
}

// retireO365E3 makes the customer's Office 365 E3 subscription a new-commerce one bought about a year ago (its
// cancellation window long closed), not renewing and ending 20 to 90 days from today: the product a partner's
// catalog marks retired, to be replaced at renewal by a scheduled change. Its holders stay as seeded.
func (s *Server) retireO365E3(c *customer, today time.Time) *subscription {
	sub := o365E3Of(c)
	span := uint64(retiredEndDays[1] - retiredEndDays[0] + 1)
	end := today.AddDate(0, 0, retiredEndDays[0]+int(s.customerDraw(c, retiredEndSalt)%span))
	start := end.AddDate(-1, 0, 1)
	sub.created = start.Add(sub.created.Sub(sub.start)) // the same time of day as drawn
	sub.start, sub.end = start, end
	sub.autoRenew = false
	setCommerce(c, sub, newCommerce)
	if o := c.order(sub.orderID); o != nil {
		o.created = sub.created
	}
	return sub
}

// setCommerce makes a seeded subscription, and the order that bought it, legacy or new commerce: the offer id
// is the legacy offer's or the catalog item's, as generator.subscription sets it. A plan the sandbox cannot sell
// through new commerce stays as it is.
func setCommerce(c *customer, sub *subscription, nce bool) {
	if sub.nce == nce || (nce && sub.plan.ProductID == "") || (!nce && sub.plan.OfferID == "") {
		return
	}
	offerID := sub.plan.OfferID
	if nce {
		offerID = sub.plan.catalogItemID()
	}
	sub.nce, sub.offerID = nce, offerID
	if nce && sub.status == "suspended" {
		sub.autoRenew = false // "Suspending a new commerce subscription will turn off auto-renew"
	}
	o := c.order(sub.orderID)
	if o == nil {
		return
	}
	o.nce = nce
	for i := range o.lines {
		if strings.EqualFold(o.lines[i].subscriptionID, sub.id) {
			o.lines[i].offerID = offerID
		}
	}
}

// SubscriptionRef names one subscription of the seeded world.
type SubscriptionRef struct {
	CustomerID     string
	SubscriptionID string
	EndDate        time.Time // commitment end, the last day of the term (inclusive), midnight UTC
}

// RetiredNCE lists, in customer listing order, the seeded new-commerce Office 365 E3 subscriptions that do not
// renew and end 20 to 90 days from the day the world was built (Options.Commerce "mixed" or "nce"; none for
// "legacy"), as they were seeded: EndDate stays the seeded one even after a renewal. Their cancellation windows
// are closed, their holders hold Office 365 E3, and their customers' tenants are reachable. A 30-customer world
// built from DefaultOptions().Seed has at least one.
func (s *Server) RetiredNCE() []SubscriptionRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SubscriptionRef{}, s.world.retired...)
}

// checkCommerce refuses an unknown Options.Commerce: New has no error to return, and a sandbox silently built in
// another world than asked would make every test that relies on it wrong.
func (s *Server) checkCommerce() {
	if !ValidCommerce(s.opts.Commerce) {
		panic(fmt.Sprintf("pcsim: Options.Commerce %q: want %q, %q or %q", s.opts.Commerce, CommerceLegacy, CommerceNCE, CommerceMixed))
	}
}
