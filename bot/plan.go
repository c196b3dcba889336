package bot

import (
	"fmt"
	"time"
)

// DeprovisionAfter is how long after suspension Microsoft de-provisions a
// suspended subscription ("de-provisioned automatically after 120 days",
// migrate-kaizala-pro-partner.md).
const DeprovisionAfter = 120 * 24 * time.Hour

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
	// Deprovision is when the suspended subscription would be de-provisioned
	// if suspended on the day of the plan.
	Deprovision time.Time
	CreatedAt   time.Time
}

// PlanSubscription is the old subscription as the plan saw it.
type PlanSubscription struct {
	ID        string
	OfferName string
	Quantity  int
	Status    string
	EndDate   time.Time
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
}

// Purchasable reports whether the catalog says how to buy the target.
func (t Target) Purchasable() bool {
	return t.OfferID != "" || (t.ProductID != "" && t.ProductSkuID != "")
}

// Summary says in a few words what the plan does, e.g. "buy 56 seats of
// Office 365 E1 and move 47 users", so a person can tell two plans apart.
func (p Plan) Summary() string {
	users := fmt.Sprintf("%d user", len(p.Move))
	if len(p.Move) != 1 {
		users += "s"
	}
	if p.Seats == 0 {
		return fmt.Sprintf("buy nothing and move %s to %s", users, p.Target.Name)
	}
	return fmt.Sprintf("buy %d seats of %s and move %s", p.Seats, p.Target.Name, users)
}
