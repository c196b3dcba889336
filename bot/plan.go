package bot

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DeprovisionAfter is how long a suspended legacy subscription lasts at
// most: it "is deleted" at the end of its term or after 90 days suspended,
// whichever comes first (subscription-lifecycle.md, new-commerce.md §3).
// The 2020 Kaizala page said 120 days; today's lifecycle page wins.
const DeprovisionAfter = 90 * 24 * time.Hour

// DeletionDate is when a legacy subscription suspended at suspendedAt is
// deleted: the earlier of its term end and 90 days later. A term that ended
// already (the subscription still active past its end date) means any day
// now: suspendedAt; when exactly is UNCONFIRMED.
func DeletionDate(suspendedAt, termEnd time.Time) time.Time {
	d := suspendedAt.Add(DeprovisionAfter)
	if !termEnd.IsZero() && termEnd.Before(d) {
		return maxTime(termEnd, suspendedAt)
	}
	return d
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// OldFate is what step C does to the old subscription.
type OldFate string

// What can happen to the old subscription (new-commerce.md §3).
const (
	// FateSuspend: suspended. Legacy: billing stops with a prorated credit
	// and it is deleted on DeletionDate. New commerce: billing goes on to
	// the end of the term ("the transacting partner continues to be
	// billed"), so only chosen explicitly.
	FateSuspend OldFate = "suspend"
	// FateLeave: auto-renew off and left to end on its commitment end
	// date, billed until then; the default for new commerce.
	FateLeave OldFate = "leave"
	// FateCancel: cancelled (PATCH status=deleted) with a refund, possible
	// only inside the new-commerce cancellation window.
	FateCancel OldFate = "cancel"
)

// ParseOldFate reads a fate as people type it ("", "suspend", "leave",
// "cancel"); "" means the default for the subscription's commerce type.
func ParseOldFate(s string) (OldFate, bool) {
	switch f := OldFate(strings.ToLower(strings.TrimSpace(s))); f {
	case "", FateSuspend, FateLeave, FateCancel:
		return f, true
	}
	return "", false
}

// DefaultCancellationWindow is how long after purchase a new-commerce
// subscription may be cancelled: 7 days in the docs of 2023
// (cancel-an-azure-marketplace-subscription.md); the current window is
// UNCONFIRMED, so a bought subscription's own cancellationAllowedUntilDate
// is what the engine trusts, and this only estimates it on a plan.
const DefaultCancellationWindow = 7 * 24 * time.Hour

// Plan is exactly what a migration will do: what is bought, who moves, who
// cannot and why, and what is suspended. Approvals bind to its hash.
type Plan struct {
	CustomerID     string
	CustomerDomain string
	CustomerName   string
	Subscription   PlanSubscription
	Retired        string // the retired SKU's name, e.g. "Kaizala Pro"
	RetiredSkuID   string // its Entra ID skuId, whose licences are removed
	Target         Target
	// SeatsRequested is what the requester asked for (0: the old
	// subscription's quantity).
	SeatsRequested int
	// FreeTargetSeats are seats of the target the customer already has free.
	FreeTargetSeats int
	// Seats is how many seats will be bought (0: none needed).
	Seats      int
	Move       []PlanUser
	CannotMove []PlanUser
	// Deprovision is when the suspended legacy subscription would be
	// deleted if suspended on the day of the plan (DeletionDate); zero
	// unless OldFate is FateSuspend.
	Deprovision time.Time
	// OldFate is what step C does to the old subscription (replace only).
	OldFate OldFate
	// Strategy is the path the migration takes ("" in plans saved before
	// there was a choice: replace); Why says why the planner chose it, and
	// Alternatives what each strategy would do, or why it is not possible.
	Strategy Strategy `json:",omitempty"`
	Why      string   `json:",omitempty"`
	// WhyNot says why the better paths are not possible ("a transition is
	// not possible: …; …"), "" when the chosen one is the best.
	WhyNot       string        `json:",omitempty"`
	Alternatives []Alternative `json:",omitempty"`
	// TransitionTo is the catalog item a transition converts the
	// subscription into (transition only).
	TransitionTo string `json:",omitempty"`
	// RenewsOn is the first day of the term that renews into the target
	// (renewal only).
	RenewsOn  time.Time `json:",omitzero"`
	CreatedAt time.Time
}

// PlanSubscription is the old subscription as the plan saw it.
type PlanSubscription struct {
	ID        string
	OfferName string
	Quantity  int
	Status    string
	EndDate   time.Time
	// NewCommerce, AutoRenew and CancellableUntil decide what step C can do
	// and what it costs.
	NewCommerce      bool
	AutoRenew        bool
	CancellableUntil time.Time
}

// PlanUser is a user the plan moves, or cannot move (Reason says why).
type PlanUser struct {
	ID          string
	UPN         string
	DisplayName string
	// HasTarget: the user already holds the target; only the retired
	// licence is removed and no seat is needed.
	HasTarget bool
	Reason    string
}

// Target is a plan a retired SKU's users can move to.
type Target struct {
	Name          string  `yaml:"name" json:"name"`
	SkuPartNumber string  `yaml:"skuPartNumber" json:"skuPartNumber"`
	SkuID         string  `yaml:"skuId" json:"skuId"`                         // Entra ID skuId = productSku.id
	OfferID       string  `yaml:"offerId,omitempty" json:"offerId,omitempty"` // legacy CSP offer
	ProductID     string  `yaml:"productId,omitempty" json:"productId,omitempty"`
	ProductSkuID  string  `yaml:"productSkuId,omitempty" json:"productSkuId,omitempty"` // new commerce
	BillingCycle  string  `yaml:"billingCycle,omitempty" json:"billingCycle,omitempty"`
	TermDuration  string  `yaml:"termDuration,omitempty" json:"termDuration,omitempty"`
	ListPrice     float64 `yaml:"listPrice,omitempty" json:"listPrice,omitempty"` // per seat per month
	Currency      string  `yaml:"currency,omitempty" json:"currency,omitempty"`
	// MaxSeats is the documented most seats one customer may hold; 0 = unknown.
	MaxSeats int `yaml:"maxSeats,omitempty" json:"maxSeats,omitempty"`
	// Legacy: buy by the legacy offerId, as in 2020, not by new-commerce ids (Target.HowToBuy, catalog.go).
	Legacy bool `yaml:"legacy,omitempty" json:"legacy,omitempty"`
}

// NewCommerce reports whether the target is bought through a new-commerce
// cart (it has a productId and productSkuId).
func (t Target) NewCommerce() bool { return t.ProductID != "" && t.ProductSkuID != "" }

// Term is the term of what is bought (default P1Y).
func (t Target) Term() string { return cmp.Or(t.TermDuration, "P1Y") }

// Cycle is the billing cycle of what is bought (default annual).
func (t Target) Cycle() string { return cmp.Or(t.BillingCycle, "annual") }

// TermMonths is how many months the term lasts (P1M, P1Y, P3Y, …); 0 when
// the duration is not one Partner Center uses.
func TermMonths(d string) int {
	d = strings.ToUpper(strings.TrimSpace(d))
	if len(d) < 3 || d[0] != 'P' {
		return 0
	}
	n, err := strconv.Atoi(d[1 : len(d)-1])
	if err != nil || n <= 0 {
		return 0
	}
	switch d[len(d)-1] {
	case 'M':
		return n
	case 'Y':
		return 12 * n
	}
	return 0
}

// MonthlyPrice is what the seats bought cost a month at list price; 0 when
// the catalog has no price.
func (p Plan) MonthlyPrice() float64 { return float64(p.BilledSeats()) * p.Target.ListPrice }

// TermPrice is what the seats bought cost for the whole term at list price
// (new-commerce terms are a commitment: "billed for the full term" after the
// cancellation window).
func (p Plan) TermPrice() float64 { return p.MonthlyPrice() * float64(TermMonths(p.Target.Term())) }

// NewCancellableUntil estimates the end of the new subscription's
// cancellation window, counted from the plan (it really counts from the
// purchase).
func (p Plan) NewCancellableUntil() time.Time {
	if how, _ := p.Target.HowToBuy(); how != BuyByCart || p.Seats == 0 || p.Path() != StrategyReplace {
		return time.Time{}
	}
	return p.CreatedAt.Add(DefaultCancellationWindow)
}

// Unusual lists what about the seat count a person should look at twice:
// more than twice the users to move, or more than the old quantity plus 10.
func (p Plan) Unusual() []string {
	var out []string
	if users := len(p.Move); p.Seats > 2*users && p.Seats > 0 {
		out = append(out, fmt.Sprintf("%d seats is more than twice the %d users to move", p.Seats, users))
	}
	if q := p.Subscription.Quantity; p.Seats+p.FreeTargetSeats > q+10 {
		out = append(out, fmt.Sprintf("%d seats is more than the old subscription's %d plus 10", p.Seats+p.FreeTargetSeats, q))
	}
	return out
}

// Summary says in a few words what the plan does, e.g. "buy 56 seats of
// Office 365 E1 and move 47 users", so a person can tell two plans apart.
func (p Plan) Summary() string {
	users := fmt.Sprintf("%d user", len(p.Move))
	if len(p.Move) != 1 {
		users += "s"
	}
	switch p.Path() {
	case StrategyTransition:
		return fmt.Sprintf("transition %d seats to %s, moving %s with them", p.Subscription.Quantity, p.Target.Name, users)
	case StrategyRenewal:
		return fmt.Sprintf("renew into %s on %s, moving %s", p.Target.Name, dayWords(p.RenewsOn), users)
	}
	if p.Seats == 0 {
		return fmt.Sprintf("buy nothing and move %s to %s", users, p.Target.Name)
	}
	return fmt.Sprintf("buy %d seats of %s and move %s", p.Seats, p.Target.Name, users)
}
