package pcsim

import (
	"net/http"
	"strconv"
	"strings"
)

// Legacy offers, shaped like the recorded real answer in pc-samples/offer-get.json. offer.product.id is the
// AAD sku id (upper-case there), which is how a legacy offer is tied to its subscribedskus pool.

type offerJSON struct {
	ID                     string          `json:"id"`
	Name                   string          `json:"name"`
	Description            string          `json:"description"`
	MinimumQuantity        int             `json:"minimumQuantity"`
	MaximumQuantity        int             `json:"maximumQuantity"`
	Rank                   int             `json:"rank"`
	URI                    string          `json:"uri"`
	Locale                 string          `json:"locale"`
	Country                string          `json:"country"`
	Category               offerCategory   `json:"category"`
	LimitUnitOfMeasure     string          `json:"limitUnitOfMeasure"`
	Limit                  int             `json:"limit"`
	TermUnitOfMeasure      string          `json:"termUnitOfMeasure"`
	Term                   int             `json:"term"`
	PrerequisiteOffers     []string        `json:"prerequisiteOffers"`
	IsAddOn                bool            `json:"isAddOn"`
	HasAddOns              bool            `json:"hasAddOns"`
	IsAvailableForPurchase bool            `json:"isAvailableForPurchase"`
	Billing                string          `json:"billing"`
	SupportedBillingCycles []string        `json:"supportedBillingCycles"`
	IsAutoRenewable        bool            `json:"isAutoRenewable"`
	IsInternal             bool            `json:"isInternal"`
	IsMicrosoftProduct     bool            `json:"isMicrosoftProduct"`
	ConversionTargetOffers []string        `json:"conversionTargetOffers"`
	ReselleeQualifications []string        `json:"reselleeQualifications"`
	ResellerQualifications []string        `json:"resellerQualifications"`
	SalesGroupID           string          `json:"salesGroupId"`
	IsTrial                bool            `json:"isTrial"`
	AcquisitionType        string          `json:"acquisitionType"`
	SupportedCatalogTypes  []string        `json:"supportedCatalogTypes"`
	Actions                []string        `json:"actions"`
	Product                offerProduct    `json:"product"`
	UnitType               string          `json:"unitType"`
	Links                  map[string]link `json:"links"`
	Attributes             attributes      `json:"attributes"`
}

type offerCategory struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Rank       int        `json:"rank"`
	Locale     string     `json:"locale"`
	Country    string     `json:"country"`
	Attributes attributes `json:"attributes"`
}

type offerProduct struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Unit string `json:"unit"`
}

func offerOf(p *plan, country string) offerJSON {
	actions := []string{"Cancel", "Edit"}
	if !p.Purchasable {
		actions = []string{}
	}
	return offerJSON{
		ID: p.OfferID, Name: p.Name, Description: p.Description,
		MinimumQuantity: p.MinQuantity, MaximumQuantity: p.MaxQuantity, Rank: catalogRank(p),
		URI: "/offers/" + p.OfferID, Locale: "en-US", Country: country,
		Category: offerCategory{
			ID: p.Category + "_Key", Name: p.Category, Rank: 20, Locale: "en-US", Country: country,
			Attributes: objectType("OfferCategory"),
		},
		LimitUnitOfMeasure: "None", TermUnitOfMeasure: "Year", Term: 1,
		PrerequisiteOffers: []string{}, IsAvailableForPurchase: p.Purchasable, Billing: "license",
		SupportedBillingCycles: []string{"annual", "monthly"}, IsAutoRenewable: p.Purchasable, IsMicrosoftProduct: true,
		ConversionTargetOffers: []string{}, ReselleeQualifications: []string{}, ResellerQualifications: []string{},
		SalesGroupID: "Default", AcquisitionType: "purchase", SupportedCatalogTypes: []string{"sandbox", "live"},
		Actions: actions, Product: offerProduct{ID: strings.ToUpper(p.SkuID), Name: p.Name, Unit: "Licenses"},
		UnitType: "Licenses",
		Links: map[string]link{
			"learnMore": {Method: "GET", Headers: []linkHeader{}},
			"self":      getLink("/offers/" + p.OfferID + "?country=" + country),
		},
		Attributes: objectType("Offer"),
	}
}

// countryOf reads ?country=; the sandbox catalog is the US one and an absent country means US.
func countryOf(r *http.Request) string {
	if c := r.URL.Query().Get("country"); c != "" {
		return strings.ToUpper(c)
	}
	return "US"
}

func (s *Server) listOffers(r *http.Request, _ params) reply {
	return offerList(r, countryOf(r), "/offers")
}

// offerList answers an offset-paged offer list; totalCount is the whole catalog, as in the recorded answer.
func offerList(r *http.Request, country, path string) reply {
	var all []offerJSON
	for _, p := range catalog {
		if p.OfferID != "" {
			all = append(all, offerOf(p, country))
		}
	}
	offset, ok := nonNegative(r, "offset", 0)
	if !ok {
		return badInput("offset must be a non-negative integer.")
	}
	size, ok := nonNegative(r, "size", len(all))
	if !ok {
		return badInput("size must be a non-negative integer.")
	}
	offset = min(offset, len(all))
	c := newCollection(all[offset:min(len(all), offset+size)], path+"?country="+country)
	c.TotalCount = len(all)
	return jsonReply(http.StatusOK, c)
}

func nonNegative(r *http.Request, name string, def int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0
}

// catalogRank orders offers by their place in the catalog table.
func catalogRank(p *plan) int {
	for i, c := range catalog {
		if c == p {
			return i + 1
		}
	}
	return 0
}

func (s *Server) getOffer(r *http.Request, p params) reply {
	pl := planByOffer(p["offer"])
	if pl == nil {
		return errorReply(http.StatusNotFound, codeInvalidOffer, "Offer "+p["offer"]+" was not found.")
	}
	return jsonReply(http.StatusOK, offerOf(pl, countryOf(r)))
}
