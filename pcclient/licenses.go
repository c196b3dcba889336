package pcclient

import (
	"context"
	"net/http"
)

// ProductSKU identifies a licence SKU. ID is the Entra ID (AAD) skuId.
type ProductSKU struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	SkuPartNumber  string `json:"skuPartNumber"`
	TargetType     string `json:"targetType,omitempty"`
	LicenseGroupID string `json:"licenseGroupId,omitempty"`
}

// ServicePlan is a service plan inside a SKU.
type ServicePlan struct {
	DisplayName      string `json:"displayName"`
	ServiceName      string `json:"serviceName"`
	ID               string `json:"id"`
	CapabilityStatus string `json:"capabilityStatus"`
	TargetType       string `json:"targetType,omitempty"`
}

// SubscribedSKU is a customer's licence pool for one SKU
// (license-resources.md; availableUnits = totalUnits - consumedUnits).
type SubscribedSKU struct {
	AvailableUnits   int           `json:"availableUnits"`
	ActiveUnits      int           `json:"activeUnits"`
	ConsumedUnits    int           `json:"consumedUnits"`
	SuspendedUnits   int           `json:"suspendedUnits"`
	TotalUnits       int           `json:"totalUnits"`
	WarningUnits     int           `json:"warningUnits"`
	ProductSKU       ProductSKU    `json:"productSku"`
	ServicePlans     []ServicePlan `json:"servicePlans"`
	CapabilityStatus string        `json:"capabilityStatus"`
}

// License is a licence assigned to a user.
type License struct {
	ServicePlans []ServicePlan `json:"servicePlans"`
	ProductSKU   ProductSKU    `json:"productSku"`
}

// LicenseAssignment is a SKU to assign, with service plans left out.
type LicenseAssignment struct {
	SkuID         string   `json:"skuId"`
	ExcludedPlans []string `json:"excludedPlans"`
}

// LicenseUpdate assigns and removes licences of one user in one call.
// Removing Kaizala Pro and assigning its replacement together means the user
// is never without a licence in between.
type LicenseUpdate struct {
	LicensesToAssign []LicenseAssignment `json:"licensesToAssign"`
	LicensesToRemove []string            `json:"licensesToRemove"`
	LicenseWarnings  []LicenseWarning    `json:"licenseWarnings,omitempty"`
}

// LicenseWarning is a warning returned by a licence update.
type LicenseWarning struct {
	Code         Code     `json:"code"`
	Message      string   `json:"message"`
	ServicePlans []string `json:"servicePlans,omitempty"`
}

// ListSubscribedSKUs returns a customer's licence pools. Needs App+User.
func (c *Client) ListSubscribedSKUs(ctx context.Context, customerID string) ([]SubscribedSKU, error) {
	return list[SubscribedSKU](ctx, c, "/v1/customers/"+segment(customerID)+"/subscribedskus", nil)
}

// ListUserLicenses returns the licences assigned to a user. Needs App+User.
func (c *Client) ListUserLicenses(ctx context.Context, customerID, userID string) ([]License, error) {
	return list[License](ctx, c, "/v1/customers/"+segment(customerID)+"/users/"+segment(userID)+"/licenses", nil)
}

// UpdateLicenses assigns and removes a user's licences in one call. Out of
// free seats it fails with code 60012. Needs App+User.
func (c *Client) UpdateLicenses(ctx context.Context, customerID, userID string, update LicenseUpdate) (*LicenseUpdate, error) {
	update.LicenseWarnings = nil
	path := "/v1/customers/" + segment(customerID) + "/users/" + segment(userID) + "/licenseupdates"
	return send[LicenseUpdate](ctx, c, http.MethodPost, path, update, nil)
}
