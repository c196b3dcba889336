package bot

import "strings"

// RetiredSKU is a product Microsoft no longer sells, whose subscriptions do
// not renew and must be moved to a replacement before they end.
type RetiredSKU struct {
	// Name is how people call it, e.g. "Kaizala Pro".
	Name string `yaml:"name"`
	// OfferNameContains matches a subscription's offerName, case-insensitively.
	// Kaizala Pro has no public offer or SKU id (reference §1.3), so the
	// documented way to find it is by name.
	OfferNameContains []string `yaml:"offerNameContains,omitempty"`
	// OfferIDs match a subscription's offerId exactly (case-insensitively),
	// for partners who know the ids of their market.
	OfferIDs []string `yaml:"offerIds,omitempty"`
	// ProductIDs name end-of-sale new-commerce products (e.g.
	// "CFQ7TTC0LH18"): a new-commerce subscription's offerId is its catalog
	// item, "productId:skuId:availabilityId" (subscription-resources.md), so
	// it matches when its offerId starts with "<productId>:".
	ProductIDs []string `yaml:"productIds,omitempty"`
	// SkuIDs are the Entra ID skuIds of its licence, when known. Otherwise
	// the licence is found through the subscription's provisioning status.
	SkuIDs []string `yaml:"skuIds,omitempty"`
	// Targets are the skuPartNumbers of the plans its users may move to.
	Targets []string `yaml:"targets"`
}

// Matches reports whether sub is a subscription of this SKU. Only offerName
// is compared, never friendlyName, which partners may set to anything.
func (r RetiredSKU) Matches(sub Subscription) bool {
	for _, id := range r.OfferIDs {
		if SameID(id, sub.OfferID) {
			return true
		}
	}
	for _, id := range r.ProductIDs {
		if product, _, ok := strings.Cut(sub.OfferID, ":"); ok && id != "" && SameID(product, id) {
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
