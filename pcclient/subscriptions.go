package pcclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SubscriptionStatus is a subscription's status. It is a plain string so that
// values added later ("disabled" broke older SDKs, Partner-Center-PowerShell#403)
// decode like any other.
type SubscriptionStatus string

// Documented subscription statuses.
const (
	StatusActive    SubscriptionStatus = "active"
	StatusPending   SubscriptionStatus = "pending"
	StatusSuspended SubscriptionStatus = "suspended"
	StatusExpired   SubscriptionStatus = "expired"
	StatusDisabled  SubscriptionStatus = "disabled"
	StatusDeleted   SubscriptionStatus = "deleted"
)

// Is compares statuses case-insensitively.
func (s SubscriptionStatus) Is(other SubscriptionStatus) bool {
	return strings.EqualFold(string(s), string(other))
}

// Subscription is a customer's subscription (subscription-resources.md).
type Subscription struct {
	ID                           string             `json:"id"`
	OfferID                      string             `json:"offerId,omitempty"`
	EntitlementID                string             `json:"entitlementId,omitempty"`
	OfferName                    string             `json:"offerName,omitempty"`
	FriendlyName                 string             `json:"friendlyName,omitempty"`
	Quantity                     int                `json:"quantity"`
	UnitType                     string             `json:"unitType,omitempty"`
	ParentSubscriptionID         string             `json:"parentSubscriptionId,omitempty"`
	CreationDate                 Time               `json:"creationDate"`
	EffectiveStartDate           Time               `json:"effectiveStartDate"`
	CommitmentEndDate            Time               `json:"commitmentEndDate"`
	CommitmentEndDateTime        Time               `json:"commitmentEndDateTime"`
	CancellationAllowedUntilDate Time               `json:"cancellationAllowedUntilDate"`
	Status                       SubscriptionStatus `json:"status"`
	AutoRenewEnabled             bool               `json:"autoRenewEnabled"`
	BillingType                  string             `json:"billingType,omitempty"`
	BillingCycle                 string             `json:"billingCycle,omitempty"`
	TermDuration                 string             `json:"termDuration,omitempty"`
	IsTrial                      bool               `json:"isTrial"`
	ContractType                 string             `json:"contractType,omitempty"`
	PartnerID                    string             `json:"partnerId,omitempty"`
	OrderID                      string             `json:"orderId,omitempty"`
	SuspensionReasons            []string           `json:"suspensionReasons,omitempty"`
	Links                        SubscriptionLinks  `json:"links"`
	Attributes                   Attributes         `json:"attributes"`
}

// SubscriptionLinks are a subscription's links.
type SubscriptionLinks struct {
	Offer              *Link `json:"offer,omitempty"`
	ParentSubscription *Link `json:"parentSubscription,omitempty"`
	Product            *Link `json:"product,omitempty"`
	SKU                *Link `json:"sku,omitempty"`
	Availability       *Link `json:"availability,omitempty"`
	Self               *Link `json:"self,omitempty"`
}

// EndDate is when the commitment ends: commitmentEndDateTime when the service
// sent it (added 2023), else commitmentEndDate. ok is false when there is no
// date or only the far-future sentinel of subscriptions that never end.
func (s Subscription) EndDate() (end time.Time, ok bool) {
	for _, t := range []Time{s.CommitmentEndDateTime, s.CommitmentEndDate} {
		if !t.IsZero() {
			return t.Time, !IsNeverEnds(t.Time)
		}
	}
	return time.Time{}, false
}

// ListSubscriptions returns all of a customer's subscriptions (this
// collection is not paged).
func (c *Client) ListSubscriptions(ctx context.Context, customerID string) ([]Subscription, error) {
	return list[Subscription](ctx, c, "/v1/customers/"+segment(customerID)+"/subscriptions", nil)
}

// ListSubscriptionsByOrder returns the subscriptions an order created.
func (c *Client) ListSubscriptionsByOrder(ctx context.Context, customerID, orderID string) ([]Subscription, error) {
	return list[Subscription](ctx, c, "/v1/customers/"+segment(customerID)+"/subscriptions", map[string][]string{"order_id": {orderID}})
}

// GetSubscription returns one subscription.
func (c *Client) GetSubscription(ctx context.Context, customerID, subscriptionID string) (*Subscription, error) {
	return get[Subscription](ctx, c, subscriptionPath(customerID, subscriptionID), nil)
}

func subscriptionPath(customerID, subscriptionID string) string {
	return "/v1/customers/" + segment(customerID) + "/subscriptions/" + segment(subscriptionID)
}

// UpdateSubscription changes a subscription the documented way: GET it fresh,
// let change edit the full resource (every field the service sent, known to
// this package or not), and PATCH it back with If-Match set to the fresh
// ETag (suspend-a-subscription.md; ETags "shouldn't be stored",
// test-and-debug.md). A 412 means it changed in between: call again.
//
// change gets the resource as a JSON object and reports whether to send it;
// when it reports false nothing is written and the fresh resource is returned.
func (c *Client) UpdateSubscription(ctx context.Context, customerID, subscriptionID string, change func(fields map[string]any) (bool, error)) (*Subscription, error) {
	path := subscriptionPath(customerID, subscriptionID)
	var raw json.RawMessage
	if _, err := c.do(ctx, request{method: http.MethodGet, path: path}, &raw); err != nil {
		return nil, err
	}
	fields := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers exactly as sent
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Errorf("pcclient: decode subscription %s: %w", subscriptionID, err)
	}
	write, err := change(fields)
	if err != nil {
		return nil, err
	}
	if !write {
		var sub Subscription
		if err := json.Unmarshal(raw, &sub); err != nil {
			return nil, fmt.Errorf("pcclient: decode subscription %s: %w", subscriptionID, err)
		}
		return &sub, nil
	}
	etag := ""
	if attrs, ok := Field(fields, "attributes").(map[string]any); ok {
		etag, _ = Field(attrs, "etag").(string)
	}
	if etag == "" {
		return nil, fmt.Errorf("pcclient: subscription %s came without attributes.etag; refusing to PATCH without If-Match", subscriptionID)
	}
	header := http.Header{}
	// "ETags values should be included in double quotation marks" (test-and-debug.md).
	header.Set("If-Match", `"`+strings.Trim(etag, `"`)+`"`)
	return send[Subscription](ctx, c, http.MethodPatch, path, fields, header)
}

// SetSubscriptionStatus sets status ("suspended" to suspend, "active" to
// reactivate). A subscription already in that status is returned unchanged,
// so calling it again after a crash is harmless.
func (c *Client) SetSubscriptionStatus(ctx context.Context, customerID, subscriptionID string, status SubscriptionStatus) (*Subscription, error) {
	return c.UpdateSubscription(ctx, customerID, subscriptionID, func(fields map[string]any) (bool, error) {
		current, _ := Field(fields, "status").(string)
		if SubscriptionStatus(current).Is(status) {
			return false, nil
		}
		SetField(fields, "status", string(status))
		return true, nil
	})
}

// Field reads a key of a JSON object case-insensitively (requests in the docs
// use PascalCase, answers camelCase).
func Field(fields map[string]any, key string) any {
	if v, ok := fields[key]; ok {
		return v
	}
	for k, v := range fields {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// SetField sets a key of a JSON object, reusing the existing key's spelling.
func SetField(fields map[string]any, key string, value any) {
	for k := range fields {
		if strings.EqualFold(k, key) {
			fields[k] = value
			return
		}
	}
	fields[key] = value
}

// ProvisioningStatus is a subscription's provisioning status
// (get-subscription-provisioning-status.md). Its SkuID links the
// subscription to its licence pool in subscribed SKUs.
type ProvisioningStatus struct {
	SkuID    string `json:"skuId"`
	Status   string `json:"status"` // "success", "pending", "failed"
	Quantity int    `json:"quantity"`
	EndDate  Time   `json:"endDate"`
}

// GetSubscriptionProvisioningStatus returns a subscription's provisioning
// status. Needs an App+User token.
func (c *Client) GetSubscriptionProvisioningStatus(ctx context.Context, customerID, subscriptionID string) (*ProvisioningStatus, error) {
	return get[ProvisioningStatus](ctx, c, subscriptionPath(customerID, subscriptionID)+"/provisioningstatus", nil)
}
