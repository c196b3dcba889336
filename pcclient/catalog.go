package pcclient

import (
	"context"
	"net/url"
)

// Offer is a legacy offer (offer-resources.md). Its Product.ID equals the
// Entra ID (AAD) skuId that licence calls use (reference §1.3).
type Offer struct {
	ID                     string        `json:"id"`
	Name                   string        `json:"name"`
	Description            string        `json:"description,omitempty"`
	MinimumQuantity        int           `json:"minimumQuantity"`
	MaximumQuantity        int           `json:"maximumQuantity"`
	Category               OfferCategory `json:"category"`
	IsAddOn                bool          `json:"isAddOn"`
	IsAvailableForPurchase bool          `json:"isAvailableForPurchase"`
	IsAutoRenewable        bool          `json:"isAutoRenewable"`
	IsTrial                bool          `json:"isTrial"`
	Billing                string        `json:"billing,omitempty"`
	SupportedBillingCycles []string      `json:"supportedBillingCycles,omitempty"`
	Product                OfferProduct  `json:"product"`
	UnitType               string        `json:"unitType,omitempty"`
	Attributes             Attributes    `json:"attributes"`
}

// OfferCategory is an offer's category.
type OfferCategory struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// OfferProduct is the product an offer sells.
type OfferProduct struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Unit string `json:"unit,omitempty"`
}

// ListOffers returns the legacy offers of a market (country code, e.g. "US").
func (c *Client) ListOffers(ctx context.Context, country string) ([]Offer, error) {
	return list[Offer](ctx, c, "/v1/offers", url.Values{"country": {country}})
}

// GetOffer returns one legacy offer.
func (c *Client) GetOffer(ctx context.Context, offerID, country string) (*Offer, error) {
	return get[Offer](ctx, c, "/v1/offers/"+segment(offerID), url.Values{"country": {country}})
}

// Product is a new-commerce product (product-resources.md).
type Product struct {
	ID          string      `json:"id"`
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	ProductType ProductType `json:"productType"`
	Attributes  Attributes  `json:"attributes"`
}

// ProductType is a product's type, e.g. OnlineServices.
type ProductType struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
}

// SKU is a new-commerce product's SKU.
type SKU struct {
	ID                     string     `json:"id"`
	ProductID              string     `json:"productId"`
	Title                  string     `json:"title"`
	Description            string     `json:"description,omitempty"`
	MinimumQuantity        int        `json:"minimumQuantity"`
	MaximumQuantity        int        `json:"maximumQuantity"`
	IsTrial                bool       `json:"isTrial"`
	SupportedBillingCycles []string   `json:"supportedBillingCycles,omitempty"`
	Attributes             Attributes `json:"attributes"`
}

// Availability is where and how a SKU can be bought. Availability IDs change
// over time, so resolve them just before buying (subscription-resources.md).
type Availability struct {
	ID            string     `json:"id"`
	ProductID     string     `json:"productId"`
	SkuID         string     `json:"skuId"`
	CatalogItemID string     `json:"catalogItemId"`
	Country       string     `json:"country,omitempty"`
	Segment       string     `json:"segment,omitempty"`
	IsPurchasable bool       `json:"isPurchasable"`
	IsRenewable   bool       `json:"isRenewable"`
	Terms         []Term     `json:"terms,omitempty"`
	Attributes    Attributes `json:"attributes"`
}

// Term is a term an availability can be bought for.
type Term struct {
	Duration     string `json:"duration"`
	Description  string `json:"description,omitempty"`
	BillingCycle string `json:"billingCycle,omitempty"`
}

// GetProduct returns a new-commerce product.
func (c *Client) GetProduct(ctx context.Context, productID, country string) (*Product, error) {
	return get[Product](ctx, c, "/v1/products/"+segment(productID), url.Values{"country": {country}})
}

// ListSKUs returns a product's SKUs.
func (c *Client) ListSKUs(ctx context.Context, productID, country string) ([]SKU, error) {
	return list[SKU](ctx, c, "/v1/products/"+segment(productID)+"/skus", url.Values{"country": {country}})
}

// ListAvailabilities returns where a customer can buy a SKU (the
// customer-scoped form, which already applies the customer's eligibility).
func (c *Client) ListAvailabilities(ctx context.Context, customerID, productID, skuID string) ([]Availability, error) {
	path := "/v1/customers/" + segment(customerID) + "/products/" + segment(productID) + "/skus/" + segment(skuID) + "/availabilities"
	return list[Availability](ctx, c, path, nil)
}
