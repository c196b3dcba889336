package pcsim

import (
	"net/http"
	"strings"
)

// New-commerce catalog: products, skus and availabilities ([PC-2023] developer/get-a-list-of-products.md,
// product-resources.md, get-a-list-of-availabilities-for-a-sku-by-customer.md). Every sandbox product has
// exactly one sku and that sku one availability.

type productJSON struct {
	ID                 string          `json:"id"`
	Title              string          `json:"title"`
	Description        string          `json:"description"`
	ProductType        itemType        `json:"productType"`
	IsMicrosoftProduct bool            `json:"isMicrosoftProduct"`
	PublisherName      string          `json:"publisherName"`
	Links              map[string]link `json:"links"`
	Attributes         attributes      `json:"attributes"`
}

type skuJSON struct {
	ID                     string          `json:"id"`
	ProductID              string          `json:"productId"`
	Title                  string          `json:"title"`
	Description            string          `json:"description"`
	MinimumQuantity        int             `json:"minimumQuantity"`
	MaximumQuantity        int             `json:"maximumQuantity"`
	IsTrial                bool            `json:"isTrial"`
	SupportedBillingCycles []string        `json:"supportedBillingCycles"`
	PurchasePrerequisites  []string        `json:"purchasePrerequisites"`
	InventoryVariables     []string        `json:"inventoryVariables"`
	ProvisioningVariables  []string        `json:"provisioningVariables"`
	Actions                []string        `json:"actions"`
	DynamicAttributes      map[string]any  `json:"dynamicAttributes"`
	Links                  map[string]link `json:"links"`
	Attributes             attributes      `json:"attributes"`
}

type availabilityJSON struct {
	ID              string          `json:"id"`
	ProductID       string          `json:"productId"`
	SkuID           string          `json:"skuId"`
	CatalogItemID   string          `json:"catalogItemId"`
	DefaultCurrency currency        `json:"defaultCurrency"`
	Segment         string          `json:"segment"`
	Country         string          `json:"country"`
	IsPurchasable   bool            `json:"isPurchasable"`
	IsRenewable     bool            `json:"isRenewable"`
	Terms           []term          `json:"terms"`
	Links           map[string]link `json:"links"`
	Attributes      attributes      `json:"attributes"`
}

type currency struct {
	Code   string `json:"code"`
	Symbol string `json:"symbol"`
}

type term struct {
	Duration     string `json:"duration"`
	Description  string `json:"description"`
	BillingCycle string `json:"billingCycle"`
}

func productOf(p *plan, country string) productJSON {
	base := "/products/" + p.ProductID
	return productJSON{
		ID: p.ProductID, Title: p.Name, Description: p.Description,
		ProductType:        itemType{ID: "OnlineServices", DisplayName: "OnlineServices"},
		IsMicrosoftProduct: true, PublisherName: "Microsoft Corporation",
		Links: map[string]link{
			"skus": getLink(base + "/skus?country=" + country),
			"self": getLink(base + "?country=" + country),
		},
		Attributes: objectType("Product"),
	}
}

func skuOf(p *plan, country string) skuJSON {
	base := "/products/" + p.ProductID + "/skus/" + p.NCESkuID
	return skuJSON{
		ID: p.NCESkuID, ProductID: p.ProductID, Title: p.Name, Description: p.Description,
		MinimumQuantity: p.MinQuantity, MaximumQuantity: p.MaxQuantity,
		SupportedBillingCycles: []string{"annual", "monthly"},
		PurchasePrerequisites:  []string{}, InventoryVariables: []string{}, ProvisioningVariables: []string{},
		Actions: []string{},
		DynamicAttributes: map[string]any{ // keys as in the docs' sku examples (get-a-list-of-skus-for-a-product.md)
			"isMicrosoftProduct": true, "billingType": "license", "category": p.Category, "isAddon": false,
			"prerequisiteSkus": []string{}, "hasAddOns": false, "isAutoRenewable": true, "unitType": "Licenses",
		},
		Links: map[string]link{
			"availabilities": getLink(base + "/availabilities?country=" + country),
			"self":           getLink(base + "?country=" + country),
		},
		Attributes: objectType("Sku"),
	}
}

func availabilityOf(p *plan, country string) availabilityJSON {
	return availabilityJSON{
		ID: p.Availability, ProductID: p.ProductID, SkuID: p.NCESkuID, CatalogItemID: p.catalogItemID(),
		DefaultCurrency: currency{Code: "USD", Symbol: "$"}, Segment: "commercial", Country: country,
		IsPurchasable: true, IsRenewable: true,
		Terms: []term{
			{Duration: "P1Y", Description: "One-Year commitment for yearly billing", BillingCycle: "annual"},
			{Duration: "P1Y", Description: "One-Year commitment for monthly billing", BillingCycle: "monthly"},
			{Duration: "P1M", Description: "One-Month commitment for monthly billing", BillingCycle: "monthly"},
		},
		Links: map[string]link{"self": getLink("/products/" + p.ProductID + "/skus/" + p.NCESkuID +
			"/availabilities/" + p.Availability + "?country=" + country)},
		Attributes: objectType("Availability"),
	}
}

// listProducts serves targetView=OnlineServices; other views (Azure, Software, …) are empty in the sandbox.
func (s *Server) listProducts(r *http.Request, _ params) reply {
	country := countryOf(r)
	var items []productJSON
	if v := r.URL.Query().Get("targetView"); v == "" || strings.EqualFold(v, "OnlineServices") {
		for _, p := range catalog {
			if p.ProductID != "" {
				items = append(items, productOf(p, country))
			}
		}
	}
	return jsonReply(http.StatusOK, newCollection(items, "/products?country="+country+"&targetView=OnlineServices"))
}

func (s *Server) getProduct(r *http.Request, p params) reply {
	return withSku(p, false, func(pl *plan) reply { return jsonReply(http.StatusOK, productOf(pl, countryOf(r))) })
}

func (s *Server) listSkus(r *http.Request, p params) reply {
	return withSku(p, false, func(pl *plan) reply {
		return jsonReply(http.StatusOK, newCollection([]skuJSON{skuOf(pl, countryOf(r))}, "/products/"+pl.ProductID+"/skus"))
	})
}

func (s *Server) getSku(r *http.Request, p params) reply {
	return withSku(p, true, func(pl *plan) reply { return jsonReply(http.StatusOK, skuOf(pl, countryOf(r))) })
}

func (s *Server) listAvailabilities(r *http.Request, p params) reply {
	return availabilityList(p, countryOf(r), "/products/"+strings.ToUpper(p["pid"])+"/skus/"+p["sku"]+"/availabilities")
}

func (s *Server) getAvailability(r *http.Request, p params) reply {
	return withSku(p, true, func(pl *plan) reply {
		if !strings.EqualFold(p["aid"], pl.Availability) {
			return errorReply(http.StatusNotFound, codeAvailNotFound, "Availability "+p["aid"]+" not found.")
		}
		return jsonReply(http.StatusOK, availabilityOf(pl, countryOf(r)))
	})
}

func availabilityList(p params, country, self string) reply {
	return withSku(p, true, func(pl *plan) reply {
		return jsonReply(http.StatusOK, newCollection([]availabilityJSON{availabilityOf(pl, country)}, self))
	})
}

// withSku resolves the product (and, with checkSku, the sku) named in the path, or answers 404.
func withSku(p params, checkSku bool, fn func(*plan) reply) reply {
	pl := planByProduct(p["pid"])
	if pl == nil {
		return errorReply(http.StatusNotFound, codeProductNotFound, "Product "+p["pid"]+" wasn't found.")
	}
	if checkSku && !strings.EqualFold(p["sku"], pl.NCESkuID) {
		return errorReply(http.StatusNotFound, codeSkuNotFound, "SKU "+p["sku"]+" wasn't found for product "+pl.ProductID+".")
	}
	return fn(pl)
}
