package pcclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
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
	// ProductType.ID is "OnlineServicesNCE" for new commerce
	// (subscription-resources.md); legacy subscriptions may carry none.
	ProductType        *ProductType `json:"productType,omitempty"`
	RefundableQuantity any          `json:"refundableQuantity,omitempty"`
	// ScheduledNextTermInstructions is the change set for the renewal
	// (create-scheduled-changes.md); nil when none.
	ScheduledNextTermInstructions *ScheduledInstructions `json:"scheduledNextTermInstructions,omitempty"`
	Links                         SubscriptionLinks      `json:"links"`
	Attributes                    Attributes             `json:"attributes"`
}

// ScheduledInstructions is what a new-commerce subscription renews into.
type ScheduledInstructions struct {
	Product struct {
		ProductID      string `json:"productId"`
		SkuID          string `json:"skuId"`
		AvailabilityID string `json:"availabilityId"`
		BillingCycle   string `json:"billingCycle"`
		TermDuration   string `json:"termDuration"`
	} `json:"product"`
	Quantity int `json:"quantity"`
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
// this package or not), and PATCH it back (update-a-subscription-by-id.md).
//
// If-Match carries the fresh ETag when the subscription has one (legacy ones
// do; ETags "shouldn't be stored", test-and-debug.md). A new-commerce
// subscription comes without attributes.etag (the doc's example) and is
// PATCHed without If-Match; whether live NCE GETs ever carry one is
// UNCONFIRMED, and one that does is sent.
//
// The answers it handles:
//   - 400 / 2055 "Etag is no longer valid" (error-codes.md): the subscription
//     changed in between; it GETs it fresh, lets change decide again and
//     PATCHes once more.
//   - 202 Accepted, a Location header and no body: "the patch operation takes
//     longer than the expected time"; it re-reads the subscription, backing
//     off, until the fields that change set show (bounded by ctx and
//     AcceptedChangeWait), and returns what it read then, or an
//     *UpdatePendingError.
//   - 409 (the subscription's renewal is being processed, "resubmit the
//     request after waiting for two minutes", create-a-new-subscription.md;
//     or 800082 "not ready to be updated"): an *UpdateBusyError, which
//     Classify calls retryable.
//
// change gets the resource as a JSON object and reports whether to send it;
// when it reports false nothing is written and the fresh resource is returned.
func (c *Client) UpdateSubscription(ctx context.Context, customerID, subscriptionID string, change func(fields map[string]any) (bool, error)) (*Subscription, error) {
	path := subscriptionPath(customerID, subscriptionID)
	for attempt := 1; ; attempt++ {
		raw, err := c.subscriptionJSON(ctx, path, subscriptionID)
		if err != nil {
			return nil, err
		}
		fields, err := decodeFields(raw, subscriptionID)
		if err != nil {
			return nil, err
		}
		before, _ := decodeFields(raw, subscriptionID) // what change is compared with
		write, err := change(fields)
		if err != nil {
			return nil, err
		}
		if !write {
			return decodeSubscription(raw, subscriptionID)
		}
		header := http.Header{}
		if etag := etagOf(fields); etag != "" {
			// "ETags values should be included in double quotation marks" (test-and-debug.md).
			header.Set("If-Match", `"`+strings.Trim(etag, `"`)+`"`)
		}
		pctx := ctx
		if id, _ := ctx.Value(requestIDKey).(string); id != "" && attempt > 1 {
			// The first PATCH got an answer, so its MS-RequestId is spent
			// ("upon receiving a response … the value should be reset",
			// headers.md). The new one is derived from it, so that a resumed
			// operation sends exactly the same two requests.
			pctx = WithRequestID(ctx, uuid.NewSHA1(uuid.NameSpaceOID, []byte(id+"/after-2055")).String())
		}
		status := 0
		var answer json.RawMessage
		_, err = c.do(withAnswerStatus(pctx, &status), request{method: http.MethodPatch, path: path, body: fields, header: header}, &answer)
		switch {
		case err == nil && status != http.StatusAccepted && len(bytes.TrimSpace(answer)) > 0:
			return decodeSubscription(answer, subscriptionID)
		case err == nil:
			return c.awaitChange(ctx, customerID, subscriptionID, changedFields(before, fields))
		case attempt == 1 && StatusCode(err) == http.StatusBadRequest && ErrorCode(err) == "2055":
			continue
		case StatusCode(err) == http.StatusConflict:
			var apiErr *APIError
			errors.As(err, &apiErr)
			return nil, &UpdateBusyError{SubscriptionID: subscriptionID, Err: apiErr}
		}
		return nil, err
	}
}

// AcceptedChangeWait bounds how long UpdateSubscription re-reads a
// subscription whose PATCH was answered 202 before it gives up with an
// *UpdatePendingError. How long the service takes is UNCONFIRMED; the docs
// only say to "query the subscription periodically".
const AcceptedChangeWait = 2 * time.Minute

// maxChangeReads bounds the re-reads of one accepted change, however short
// the back-off.
const maxChangeReads = 60

// UpdateBusyError is a 409 answer to a subscription PATCH: Partner Center is
// processing the subscription (its renewal, or an earlier change) and
// changed nothing. Trying again later is expected to work, so Classify calls
// it retryable.
type UpdateBusyError struct {
	SubscriptionID string
	Err            *APIError
}

func (e *UpdateBusyError) Error() string {
	return fmt.Sprintf("subscription %s is not ready to be updated (Partner Center is processing it, e.g. its renewal); try again in a few minutes: %v", e.SubscriptionID, e.Err)
}

func (e *UpdateBusyError) Unwrap() error { return e.Err }

// UpdatePendingError is a subscription PATCH that Partner Center accepted
// (202) but whose change did not show within the wait. The change may still
// show: read the subscription before writing again. Classify calls it
// retryable.
type UpdatePendingError struct {
	SubscriptionID string
	Want           map[string]any // the fields the PATCH changed, as sent
	Waited         time.Duration
	Reads          int
}

func (e *UpdatePendingError) Error() string {
	keys := slices.Sorted(maps.Keys(e.Want))
	return fmt.Sprintf("partner center accepted the change of %s to subscription %s but did not show it after %d reads in %s",
		strings.Join(keys, ", "), e.SubscriptionID, e.Reads, e.Waited.Round(time.Millisecond))
}

// awaitChange re-reads a subscription, backing off, until every field of
// want shows, and returns it. It is bounded by ctx, AcceptedChangeWait and
// maxChangeReads.
func (c *Client) awaitChange(ctx context.Context, customerID, subscriptionID string, want map[string]any) (*Subscription, error) {
	path := subscriptionPath(customerID, subscriptionID)
	start := c.now()
	for read := 1; ; read++ {
		if err := c.sleep(ctx, c.backoff(read)); err != nil {
			return nil, fmt.Errorf("waiting for subscription %s to show its accepted change: %w", subscriptionID, err)
		}
		raw, err := c.subscriptionJSON(ctx, path, subscriptionID)
		if err != nil {
			return nil, fmt.Errorf("re-reading subscription %s after an accepted change: %w", subscriptionID, err)
		}
		fields, err := decodeFields(raw, subscriptionID)
		if err != nil {
			return nil, err
		}
		if shows(fields, want) {
			return decodeSubscription(raw, subscriptionID)
		}
		if waited := c.now().Sub(start); read >= maxChangeReads || waited >= AcceptedChangeWait {
			return nil, &UpdatePendingError{SubscriptionID: subscriptionID, Want: want, Waited: waited, Reads: read}
		}
	}
}

// shows reports whether every field of want shows in fields.
func shows(fields, want map[string]any) bool {
	for k, v := range want {
		if !sameValue(Field(fields, k), v) {
			return false
		}
	}
	return true
}

// subscriptionJSON GETs a subscription as the service sent it.
func (c *Client) subscriptionJSON(ctx context.Context, path, subscriptionID string) (json.RawMessage, error) {
	var raw json.RawMessage
	if _, err := c.do(ctx, request{method: http.MethodGet, path: path}, &raw); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("pcclient: subscription %s: the service answered without a body", subscriptionID)
	}
	return raw, nil
}

// decodeFields decodes a subscription as a JSON object, keeping numbers
// exactly as sent.
func decodeFields(raw json.RawMessage, subscriptionID string) (map[string]any, error) {
	fields := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Errorf("pcclient: decode subscription %s: %w", subscriptionID, err)
	}
	return fields, nil
}

func decodeSubscription(raw json.RawMessage, subscriptionID string) (*Subscription, error) {
	var sub Subscription
	if err := json.Unmarshal(raw, &sub); err != nil {
		return nil, fmt.Errorf("pcclient: decode subscription %s: %w", subscriptionID, err)
	}
	return &sub, nil
}

func etagOf(fields map[string]any) string {
	attrs, _ := Field(fields, "attributes").(map[string]any)
	etag, _ := Field(attrs, "etag").(string)
	return etag
}

// changedFields returns the top-level fields of after that differ from
// before (keys deleted by the change are not waited for).
func changedFields(before, after map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range after {
		if old, ok := before[k]; !ok || !equalJSON(old, v) {
			out[k] = v
		}
	}
	return out
}

func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// sameValue reports whether got shows want: strings match case-insensitively
// ("Suspended" asked, "suspended" shown), objects when every key of want
// shows (the service may add keys), anything else by its JSON.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case string:
		g, ok := got.(string)
		return ok && strings.EqualFold(g, w)
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !sameValue(Field(g, k), v) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return equalJSON(got, want)
}

// withAnswerStatus records the HTTP status of the successful attempt made
// with ctx, keeping any observer ctx already has.
func withAnswerStatus(ctx context.Context, status *int) context.Context {
	prev, _ := ctx.Value(observerKey).(func(CallInfo))
	return WithCallObserver(ctx, func(ci CallInfo) {
		if ci.Err == nil {
			*status = ci.Status
		}
		if prev != nil {
			prev(ci)
		}
	})
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

// SetAutoRenew turns auto-renew on or off; a subscription already so is
// returned unchanged.
func (c *Client) SetAutoRenew(ctx context.Context, customerID, subscriptionID string, on bool) (*Subscription, error) {
	return c.UpdateSubscription(ctx, customerID, subscriptionID, func(fields map[string]any) (bool, error) {
		if current, ok := Field(fields, "autoRenewEnabled").(bool); ok && current == on {
			return false, nil
		}
		SetField(fields, "autoRenewEnabled", on)
		if !on && Field(fields, "scheduledNextTermInstructions") != nil {
			// Turning auto-renew off deletes a scheduled change
			// (create-scheduled-changes.md): say so rather than send back
			// instructions that need auto-renew on.
			SetField(fields, "scheduledNextTermInstructions", nil)
		}
		return true, nil
	})
}

// NewCommerce reports whether the subscription is a new-commerce one.
func (s Subscription) NewCommerce() bool {
	return s.ProductType != nil && strings.EqualFold(s.ProductType.ID, "OnlineServicesNCE")
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
