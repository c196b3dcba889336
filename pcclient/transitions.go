package pcclient

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Transitions convert a subscription into another product, for legacy and
// new-commerce sources alike ([PC] developer/transition-a-new-commerce-subscription.md,
// transition-resources.md, get-transitions.md).

// EligibilityType says when a transition would take effect.
type EligibilityType string

// The documented eligibility types.
const (
	EligibilityImmediate EligibilityType = "immediate"
	EligibilityScheduled EligibilityType = "scheduled" // at the next renewal
)

// The documented transition types.
const (
	TransitionWithLicenseTransfer = "transition_with_license_transfer"
	TransitionOnly                = "transition_only"
)

// TransitionEligibility is one target a subscription can (or cannot) be
// transitioned to, per transition type.
type TransitionEligibility struct {
	CatalogItemID string                        `json:"catalogItemId"`
	Title         string                        `json:"title"`
	Description   string                        `json:"description"`
	Quantity      int                           `json:"quantity"`
	Eligibilities []TransitionEligibilityDetail `json:"eligibilities"`
}

// TransitionEligibilityDetail says whether one transition type is possible,
// and if not, why.
type TransitionEligibilityDetail struct {
	IsEligible     bool              `json:"isEligible"`
	TransitionType string            `json:"transitionType"`
	Errors         []TransitionError `json:"errors"`
}

// TransitionError is a reason a transition cannot be made. The docs show
// code 3 "…there are conflicting services"; other codes are undocumented.
type TransitionError struct {
	Code        Code   `json:"code"`
	Description string `json:"description"`
}

// Eligible reports whether the target may be transitioned to with
// transitionType, and the reasons it may not.
func (e TransitionEligibility) Eligible(transitionType string) (bool, []TransitionError) {
	for _, d := range e.Eligibilities {
		if strings.EqualFold(d.TransitionType, transitionType) {
			return d.IsEligible, d.Errors
		}
	}
	return false, nil
}

// Transition is a transition request and, as answered, its progress.
type Transition struct {
	FromCatalogItemID  string            `json:"fromCatalogItemId,omitempty"`
	FromSubscriptionID string            `json:"fromSubscriptionId,omitempty"`
	ToCatalogItemID    string            `json:"toCatalogItemId"`
	ToSubscriptionID   string            `json:"toSubscriptionId,omitempty"` // the resulting subscription, when it differs
	Quantity           int               `json:"quantity"`
	TermDuration       string            `json:"termDuration,omitempty"`
	BillingCycle       string            `json:"billingCycle,omitempty"`
	TransitionType     string            `json:"transitionType"`
	Events             []TransitionEvent `json:"events"` // the doc's request sends []
	Attributes         *Attributes       `json:"attributes,omitempty"`
}

// TransitionEvent is one step of a transition: Conversion or
// LicenseReassignment, InProgress, Completed or Failed.
type TransitionEvent struct {
	Name      string            `json:"name"`
	Status    string            `json:"status"`
	Timestamp *Time             `json:"timestamp,omitempty"`
	Errors    []TransitionError `json:"errors,omitempty"`
}

// TransitionState is where a transition stands, derived from its events.
type TransitionState string

// The states of a transition.
const (
	TransitionInProgress TransitionState = "in_progress"
	TransitionCompleted  TransitionState = "completed"
	TransitionFailed     TransitionState = "failed"
)

// State derives the transition's state from its events: failed if any
// event failed; completed once the conversion completed and, if there is a
// licence reassignment, it completed too; else in progress. The docs' own
// example says "Started " (trailing space) where the resource table says
// InProgress, so statuses are compared loosely.
func (t Transition) State() TransitionState {
	reassigning := false
	for _, e := range t.Events {
		if strings.EqualFold(strings.TrimSpace(e.Status), "Failed") {
			return TransitionFailed
		}
		reassigning = reassigning || strings.EqualFold(e.Name, "LicenseReassignment")
	}
	if !t.hasEvent("Conversion", "Completed") || (reassigning && !t.hasEvent("LicenseReassignment", "Completed")) {
		return TransitionInProgress
	}
	return TransitionCompleted
}

func (t Transition) hasEvent(name, status string) bool {
	for _, e := range t.Events {
		if strings.EqualFold(e.Name, name) && strings.EqualFold(strings.TrimSpace(e.Status), status) {
			return true
		}
	}
	return false
}

func transitionsPath(customerID, subscriptionID string) string {
	return subscriptionPath(customerID, subscriptionID) + "/transitions"
}

// GetTransitionEligibilities lists the targets the subscription can be
// transitioned to, now (immediate) or at renewal (scheduled).
func (c *Client) GetTransitionEligibilities(ctx context.Context, customerID, subscriptionID string, eligibilityType EligibilityType) ([]TransitionEligibility, error) {
	q := url.Values{"eligibilityType": {string(eligibilityType)}}
	return list[TransitionEligibility](ctx, c, subscriptionPath(customerID, subscriptionID)+"/transitionEligibilities", q)
}

// CreateTransition starts a transition and returns it as first answered
// (normally in progress). Set the MS-RequestId with WithRequestID and save
// it first: a repeat with the same id is answered with the first result.
func (c *Client) CreateTransition(ctx context.Context, customerID, subscriptionID string, t Transition) (*Transition, error) {
	if t.Events == nil {
		t.Events = []TransitionEvent{}
	}
	return send[Transition](ctx, c, http.MethodPost, transitionsPath(customerID, subscriptionID), t, nil)
}

// ListTransitions returns the subscription's transitions with their events.
// The docs' example wraps them as {"transition": […]}, not the usual
// {"items": […]}; both are accepted.
func (c *Client) ListTransitions(ctx context.Context, customerID, subscriptionID string) ([]Transition, error) {
	out, err := get[struct {
		Transition []Transition `json:"transition"`
		Items      []Transition `json:"items"`
	}](ctx, c, transitionsPath(customerID, subscriptionID), nil)
	if err != nil {
		return nil, err
	}
	return append(out.Transition, out.Items...), nil
}
