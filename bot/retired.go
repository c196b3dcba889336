package bot

import "strings"

// RetiredSKU is a product Microsoft no longer sells, whose subscriptions do
// not renew and must be moved to a replacement before they end.
type RetiredSKU struct {
	// Name is how people call it, e.g. "Kaizala Pro".
	Name string
	// OfferNameContains matches a subscription's offerName, case-insensitively.
	// Kaizala Pro has no public offer or SKU id (reference §1.3), so the
	// documented way to find it is by name.
	OfferNameContains []string
	// OfferIDs match a subscription's offerId exactly (case-insensitively),
	// for partners who know the ids of their market.
	OfferIDs []string
}

// KaizalaPro is the retired SKU this bot was built for: standalone sales
// ended on 1 July 2020 and its subscriptions do not auto-renew.
var KaizalaPro = RetiredSKU{Name: "Kaizala Pro", OfferNameContains: []string{"Kaizala"}}

// Matches reports whether sub is a subscription of this SKU. Only offerName
// is compared, never friendlyName, which partners may set to anything.
func (r RetiredSKU) Matches(sub Subscription) bool {
	for _, id := range r.OfferIDs {
		if SameID(id, sub.OfferID) {
			return true
		}
	}
	name := strings.ToLower(sub.OfferName)
	for _, part := range r.OfferNameContains {
		if part != "" && strings.Contains(name, strings.ToLower(part)) {
			return true
		}
	}
	return false
}
