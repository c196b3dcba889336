package pcclient

import (
	"context"
	"net/http"
)

// Order is a legacy (GUID offerId) order (order-resources.md).
type Order struct {
	ID                  string          `json:"id,omitempty"`
	ReferenceCustomerID string          `json:"referenceCustomerId,omitempty"`
	BillingCycle        string          `json:"billingCycle,omitempty"`
	LineItems           []OrderLineItem `json:"lineItems"`
	CreationDate        *Time           `json:"creationDate,omitempty"`
	Status              string          `json:"status,omitempty"`
	CurrencyCode        string          `json:"currencyCode,omitempty"`
	Links               *Links          `json:"links,omitempty"`
	Attributes          *Attributes     `json:"attributes,omitempty"`
}

// OrderLineItem is one line of an order.
type OrderLineItem struct {
	LineItemNumber       int             `json:"lineItemNumber"`
	OfferID              string          `json:"offerId"`
	SubscriptionID       string          `json:"subscriptionId,omitempty"`
	ParentSubscriptionID string          `json:"parentSubscriptionId,omitempty"`
	FriendlyName         string          `json:"friendlyName,omitempty"`
	Quantity             int             `json:"quantity"`
	TermDuration         string          `json:"termDuration,omitempty"`
	PartnerIDOnRecord    string          `json:"partnerIdOnRecord,omitempty"`
	Links                *LineItemLinks  `json:"links,omitempty"`
	ProvisioningContext  map[string]any  `json:"provisioningContext,omitempty"`
	RenewsTo             *RenewsToDetail `json:"renewsTo,omitempty"`
}

// RenewsToDetail is the term a line renews to.
type RenewsToDetail struct {
	TermDuration string `json:"termDuration,omitempty"`
}

// LineItemLinks are the links of an order line.
type LineItemLinks struct {
	Subscription       *Link `json:"subscription,omitempty"`
	ProvisioningStatus *Link `json:"provisioningStatus,omitempty"`
	SKU                *Link `json:"sku,omitempty"`
}

// CreateOrder places a legacy order. Set the MS-RequestId with
// WithRequestID and save it first: a repeat with the same id returns the
// first order instead of buying again.
func (c *Client) CreateOrder(ctx context.Context, customerID string, order Order) (*Order, error) {
	return send[Order](ctx, c, http.MethodPost, "/v1/customers/"+segment(customerID)+"/orders", order, nil)
}

// GetOrder returns one order.
func (c *Client) GetOrder(ctx context.Context, customerID, orderID string) (*Order, error) {
	return get[Order](ctx, c, "/v1/customers/"+segment(customerID)+"/orders/"+segment(orderID), nil)
}

// ListOrders returns a customer's orders.
func (c *Client) ListOrders(ctx context.Context, customerID string) ([]Order, error) {
	return list[Order](ctx, c, "/v1/customers/"+segment(customerID)+"/orders", nil)
}
