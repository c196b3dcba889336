package pcsim

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// The ledger is the sandbox's record of money that really moved: every purchase, every status change that
// starts or stops billing, new-commerce seat reductions inside the cancellation window, transitions and renewals. It is the tests' instrument, not part of Microsoft's API, so it is served at
// LedgerPath outside /v1: no token, no rate limit, no fault injection, no latency, not counted in Stats.
// Writes replayed by MS-RequestId idempotency, and repeated checkouts of a checked-out cart, change nothing
// and so are not recorded again.

// LedgerPath is where GET answers the ledger as a {totalCount, items} collection.
const LedgerPath = "/_sandbox/ledger"

// LedgerKind says what kind of money movement a LedgerEntry is.
type LedgerKind string

// The kinds of ledger entries. A new way of moving money gets a kind here and one record call where the
// sandbox applies it.
const (
	LedgerOrder        LedgerKind = "order"        // one line of a legacy POST …/orders
	LedgerCheckout     LedgerKind = "checkout"     // one line of a first successful cart checkout
	LedgerSuspension   LedgerKind = "suspension"   // PATCH status active → suspended
	LedgerReactivation LedgerKind = "reactivation" // PATCH status suspended → active
	LedgerCancellation LedgerKind = "cancellation" // PATCH status → deleted, once the sandbox accepts it
	LedgerTransition   LedgerKind = "transition"   // a completed POST …/transitions; SubscriptionID is the target
	LedgerRenewal      LedgerKind = "renewal"      // a new-commerce term renewed (into its scheduled change, if any)
	LedgerReduction    LedgerKind = "reduction"    // PATCH lowering a new-commerce quantity inside its cancellation window
)

// LedgerEntry is one money movement. A purchase has one entry per bought line, each naming the subscription
// the line became.
type LedgerEntry struct {
	At                 time.Time  `json:"at"` // sandbox clock, UTC
	Kind               LedgerKind `json:"kind"`
	CustomerID         string     `json:"customerId"`
	SubscriptionID     string     `json:"subscriptionId,omitempty"`
	FromSubscriptionID string     `json:"fromSubscriptionId,omitempty"` // transitions: the source
	OrderID            string     `json:"orderId,omitempty"`
	CartID             string     `json:"cartId,omitempty"`
	Quantity           int        `json:"quantity"`
	OfferID            string     `json:"offerId,omitempty"`   // legacy offer id, or the new-commerce catalogItemId
	ProductID          string     `json:"productId,omitempty"` // new commerce only
	SkuID              string     `json:"skuId,omitempty"`     // new commerce only
	MSRequestID        string     `json:"msRequestId,omitempty"`

	// Refunds of a new-commerce cancellation or reduction inside the cancellation window (refund.go): the seats
	// refunded, and what they are worth in Currency. Quantity is the subscription's seats after the change (for a
	// cancellation, the seats it had).
	RefundQuantity int     `json:"refundQuantity,omitempty"`
	RefundAmount   float64 `json:"refundAmount,omitempty"`
	Currency       string  `json:"currency,omitempty"`
}

// ledger is append-only; entries are added while the world lock is held, so their order is the order in
// which the world changed.
type ledger struct {
	mu      sync.Mutex
	entries []LedgerEntry
}

func (l *ledger) add(e LedgerEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
}

// Ledger returns a copy of every money movement so far, oldest first.
func (s *Server) Ledger() []LedgerEntry {
	s.ledger.mu.Lock()
	defer s.ledger.mu.Unlock()
	return append([]LedgerEntry{}, s.ledger.entries...)
}

// recordOrder adds one entry per line of a just-created order; cartID is empty for a legacy order.
func (s *Server) recordOrder(r *http.Request, kind LedgerKind, cid string, o *order, cartID string) {
	for _, l := range o.lines {
		e := LedgerEntry{
			At: o.created.UTC(), Kind: kind, CustomerID: cid, SubscriptionID: l.subscriptionID,
			OrderID: o.id, CartID: cartID, Quantity: l.quantity, OfferID: l.offerID,
			MSRequestID: r.Header.Get("MS-RequestId"),
		}
		if o.nce {
			e.ProductID, e.SkuID = l.plan.ProductID, l.plan.NCESkuID
		}
		s.ledger.add(e)
	}
}

// recordChange adds an entry when a PATCH (made at `at`, applied to prev) changed a subscription's status to one
// that starts or stops billing, or removed seats of a new-commerce subscription inside its cancellation window;
// other changes (renames, auto-renew, added seats) move no money by themselves in the sandbox. A new-commerce
// cancellation or reduction carries its refund.
func (s *Server) recordChange(r *http.Request, cid string, prev, sub *subscription, at time.Time) {
	kind, ok := statusChangeKind(prev.status, sub.status)
	refunded := 0
	switch {
	case ok && kind == LedgerCancellation:
		refunded = prev.quantity
	case !ok && sub.nce && sub.status == prev.status && sub.quantity < prev.quantity:
		kind, ok, refunded = LedgerReduction, true, prev.quantity-sub.quantity
	}
	if !ok {
		return
	}
	e := LedgerEntry{
		At: s.now().UTC(), Kind: kind, CustomerID: cid, SubscriptionID: sub.id, Quantity: sub.quantity,
		OfferID: sub.offerID, MSRequestID: r.Header.Get("MS-RequestId"),
	}
	if kind == LedgerCancellation {
		e.Quantity = prev.quantity
	}
	if sub.nce {
		e.ProductID, e.SkuID = sub.plan.ProductID, sub.plan.NCESkuID
		if refunded > 0 && at.Before(s.cancellableUntil(prev)) {
			e.RefundQuantity = refunded
			if amount, ok := refundAmount(prev, refunded, at); ok {
				e.RefundAmount, e.Currency = amount, refundCurrency
			}
		}
	}
	s.ledger.add(e)
}

// statusChangeKind names the money movement of a subscription status change, if it is one.
func statusChangeKind(from, to string) (LedgerKind, bool) {
	switch {
	case from == to:
		return "", false
	case to == "deleted":
		return LedgerCancellation, true
	case from == "active" && to == "suspended":
		return LedgerSuspension, true
	case from == "suspended" && to == "active":
		return LedgerReactivation, true
	}
	return "", false
}

// serveSandbox answers the sandbox's own instruments under /_sandbox/.
func (s *Server) serveSandbox(r *http.Request) reply {
	if strings.EqualFold(strings.TrimSuffix(r.URL.Path, "/"), ClockPath) {
		return s.serveClock(r)
	}
	if strings.EqualFold(strings.TrimSuffix(r.URL.Path, "/"), ChangePath) {
		return s.serveChange(r) // change.go
	}
	if !strings.EqualFold(strings.TrimSuffix(r.URL.Path, "/"), LedgerPath) {
		return notFound("The requested resource " + r.URL.Path + " was not found.")
	}
	if r.Method != http.MethodGet {
		rep := errorReply(http.StatusMethodNotAllowed, 405, "The requested HTTP method "+r.Method+" is not allowed on "+r.URL.Path+".")
		rep.header = http.Header{"Allow": {http.MethodGet}}
		return rep
	}
	return jsonReply(http.StatusOK, newCollection(s.Ledger(), LedgerPath))
}

// isSandboxPath reports whether path is one of the sandbox's own instruments rather than the imitated API.
func isSandboxPath(path string) bool {
	return len(path) >= len("/_sandbox/") && strings.EqualFold(path[:len("/_sandbox/")], "/_sandbox/")
}
