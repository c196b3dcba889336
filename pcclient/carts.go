package pcclient

import (
	"context"
	"net/http"
)

// Cart is a new-commerce cart (create-a-cart.md).
type Cart struct {
	ID                    string         `json:"id,omitempty"`
	CreationTimestamp     *Time          `json:"creationTimestamp,omitempty"`
	LastModifiedTimestamp *Time          `json:"lastModifiedTimestamp,omitempty"`
	ExpirationTimestamp   *Time          `json:"expirationTimestamp,omitempty"`
	LastModifiedUser      string         `json:"lastModifiedUser,omitempty"`
	Status                string         `json:"status,omitempty"`
	LineItems             []CartLineItem `json:"lineItems"`
	Links                 *Links         `json:"links,omitempty"`
	Attributes            *Attributes    `json:"attributes,omitempty"`
}

// CartLineItem is one line of a cart. CatalogItemID is
// "productId:skuId:availabilityId" (the doc's table says catalogId; every
// example and the SDK say catalogItemId).
type CartLineItem struct {
	ID                  int            `json:"id"`
	CatalogItemID       string         `json:"catalogItemId"`
	FriendlyName        string         `json:"friendlyName,omitempty"`
	Quantity            int            `json:"quantity"`
	BillingCycle        string         `json:"billingCycle"`
	TermDuration        string         `json:"termDuration,omitempty"`
	ProvisioningContext map[string]any `json:"provisioningContext,omitempty"`
	Error               *CartError     `json:"error,omitempty"`
}

// CartError is a cart line's error.
type CartError struct {
	ErrorCode        Code   `json:"errorCode"`
	ErrorDescription string `json:"errorDescription"`
}

// CartCheckoutResult is what a checkout created.
type CartCheckoutResult struct {
	Orders      []Order      `json:"orders"`
	OrderErrors []OrderError `json:"orderErrors"`
}

// OrderError is an order of a checkout that failed.
type OrderError struct {
	OrderGroupID string `json:"orderGroupId"`
	Code         Code   `json:"code"`
	Description  string `json:"description"`
}

// CreateCart creates a cart.
func (c *Client) CreateCart(ctx context.Context, customerID string, cart Cart) (*Cart, error) {
	return send[Cart](ctx, c, http.MethodPost, "/v1/customers/"+segment(customerID)+"/carts", cart, nil)
}

// GetCart returns a cart.
func (c *Client) GetCart(ctx context.Context, customerID, cartID string) (*Cart, error) {
	return get[Cart](ctx, c, "/v1/customers/"+segment(customerID)+"/carts/"+segment(cartID), nil)
}

// CheckoutCart checks a cart out. The API is idempotent per cart: checking
// out a checked-out cart again returns the first result (checkout-a-cart.md).
func (c *Client) CheckoutCart(ctx context.Context, customerID, cartID string) (*CartCheckoutResult, error) {
	return send[CartCheckoutResult](ctx, c, http.MethodPost, "/v1/customers/"+segment(customerID)+"/carts/"+segment(cartID)+"/checkout", nil, nil)
}
