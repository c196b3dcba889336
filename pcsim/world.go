package pcsim

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// world is the partner's whole state; the Server's mutex guards it.
type world struct {
	customers []*customer // listing order
	byID      map[string]*customer
	draws     *worldDraws       // how the customers were drawn, to draw the last ones again (worldgen.go)
	access    accessGate        // Options.GDAPMissing, applied on first use (access.go)
	retired   []SubscriptionRef // the seeded non-renewing NCE Office 365 E3 subscriptions (commerce.go)
}

type customer struct {
	id          string // lower-case GUID, also the tenant id
	commerceID  string
	companyName string
	domain      string
	subs        []*subscription
	users       []*user
	orders      []*order
	carts       []*cart
	transitions []*transition // POST …/transitions, oldest first (transitions.go)
	access      int           // 0: the partner can read the tenant; else the 403 code its tenant reads answer (access.go)
}

type subscription struct {
	id           string // upper-case GUID, like the samples
	plan         *plan
	offerID      string // legacy offer GUID, or the catalogItemId for new commerce
	friendlyName string
	quantity     int
	created      time.Time
	start        time.Time // first day
	end          time.Time // last day (inclusive)
	status       string
	autoRenew    bool
	billingCycle string
	termDuration string
	orderID      string // upper-case, as subscriptions show it
	nce          bool
	version      int
	seatsFrom    time.Time        // bought seats count in subscribedskus from this instant on
	visibleFrom  time.Time        // a new-commerce purchase is listed only once its order is provisioned; zero = always
	renewed      time.Time        // start of the current term if it began with a renewal; zero = bought (nce.go)
	scheduled    *scheduledChange // scheduledNextTermInstructions, applied at renewal (nce.go); nil = none
}

type user struct {
	id            string
	firstName     string
	lastName      string
	displayName   string
	upn           string
	usageLocation string // "" = the user has none (the key is omitted on the wire)
	licenses      []heldLicense
	refused       bool // licence assignments fail as if usageLocation were "" (Server.RefuseLicencesFor)
}

type heldLicense struct {
	skuID    string // lower-case AAD sku id
	excluded []string
}

type order struct {
	id           string // legacy: lower-case GUID; new commerce: 12 lower-case hex digits, like the docs' samples
	created      time.Time
	billingCycle string
	lines        []orderLine
	nce          bool
	completes    time.Time // "pending" before this instant, "completed" from it on (legacy orders: created)
}

type orderLine struct {
	number            int
	offerID           string
	subscriptionID    string // shown only once the order is completed
	friendlyName      string
	quantity          int
	termDuration      string
	partnerIDOnRecord string
	plan              *plan
}

type cart struct {
	id           string
	created      time.Time
	modified     time.Time
	modifiedUser string
	lines        []cartLine
	checkout     []byte // the first successful checkout answer, replayed on every later checkout
}

type cartLine struct {
	id           int
	catalogItem  string
	friendlyName string
	quantity     int
	billingCycle string
	termDuration string
	plan         *plan      // nil when err is set and the catalog item is unknown
	err          *cartError // why the line cannot be bought; the cart is still created ([PC-2023] cart-resources.md)
}

// cartError is a CartLineItem's error: a CartErrorCode number and its description.
type cartError struct {
	code        int
	description string
}

func (w *world) customer(id string) *customer { return w.byID[strings.ToLower(id)] }

func (c *customer) subscription(id string) *subscription {
	return findByID(c.subs, id, func(s *subscription) string { return s.id })
}

func (c *customer) user(id string) *user {
	return findByID(c.users, id, func(u *user) string { return u.id })
}

func (c *customer) order(id string) *order {
	return findByID(c.orders, id, func(o *order) string { return o.id })
}

func (c *customer) cart(id string) *cart {
	return findByID(c.carts, id, func(k *cart) string { return k.id })
}

// findByID finds an item by id; Partner Center ids match case-insensitively.
func findByID[T any](items []*T, id string, key func(*T) string) *T {
	for _, item := range items {
		if strings.EqualFold(key(item), id) {
			return item
		}
	}
	return nil
}

func (u *user) holds(skuID string) bool { return u.license(skuID) >= 0 }

func (u *user) license(skuID string) int {
	for i, l := range u.licenses {
		if strings.EqualFold(l.skuID, skuID) {
			return i
		}
	}
	return -1
}

// etag is opaque to clients; like the real one it is base64 of {"id":…,"version":n} and changes on every write.
func (s *subscription) etag() string {
	raw := fmt.Sprintf(`{"id":"%s","version":%d}`, strings.ToLower(s.id), s.version)
	return base64.StdEncoding.EncodeToString([]byte(raw))
}

// pool is one licence pool of a customer as subscribedskus reports it.
type pool struct {
	plan      *plan
	total     int // seats of active subscriptions whose provisioning is over
	suspended int
	consumed  int
}

func (p pool) available() int { return max(0, p.total-p.consumed) }

// pools lists one pool per AAD sku the customer has subscriptions for, in subscription order.
func (c *customer) pools(now time.Time) []pool {
	var out []pool
	index := map[*plan]int{}
	for _, s := range c.subs {
		i, ok := index[s.plan]
		if !ok {
			i = len(out)
			index[s.plan] = i
			out = append(out, pool{plan: s.plan, consumed: c.consumers(s.plan.SkuID)})
		}
		switch s.status {
		case "active":
			if !now.Before(s.seatsFrom) {
				out[i].total += s.quantity
			}
		case "suspended":
			out[i].suspended += s.quantity
		}
	}
	return out
}

func (c *customer) pool(skuID string, now time.Time) (pool, bool) {
	for _, p := range c.pools(now) {
		if strings.EqualFold(p.plan.SkuID, skuID) {
			return p, true
		}
	}
	return pool{}, false
}

func (c *customer) consumers(skuID string) int {
	n := 0
	for _, u := range c.users {
		if u.holds(skuID) {
			n++
		}
	}
	return n
}
