package pcclient

import (
	"context"
	"net/url"
	"strconv"
)

// Customer is a customer of the partner (customer-resources.md).
type Customer struct {
	ID                    string         `json:"id"`
	CommerceID            string         `json:"commerceId,omitempty"`
	CompanyProfile        CompanyProfile `json:"companyProfile"`
	RelationshipToPartner string         `json:"relationshipToPartner,omitempty"`
	// AllowDelegatedAccess is only present when getting a customer by id.
	AllowDelegatedAccess *bool      `json:"allowDelegatedAccess,omitempty"`
	Links                Links      `json:"links"`
	Attributes           Attributes `json:"attributes"`
}

// CompanyProfile is a customer's company profile.
type CompanyProfile struct {
	TenantID    string `json:"tenantId,omitempty"`
	Domain      string `json:"domain,omitempty"`
	CompanyName string `json:"companyName,omitempty"`
	Email       string `json:"email,omitempty"`
}

// DefaultPageSize is the page size asked of seek-paged collections; 500 is
// the practical maximum the community reports (reference §2.1).
const DefaultPageSize = 500

// ListCustomers returns every customer, following the seek paging.
// pageSize 0 means DefaultPageSize.
func (c *Client) ListCustomers(ctx context.Context, pageSize int) ([]Customer, error) {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	return list[Customer](ctx, c, "/v1/customers", url.Values{"size": {strconv.Itoa(pageSize)}})
}

// GetCustomer returns one customer.
func (c *Client) GetCustomer(ctx context.Context, customerID string) (*Customer, error) {
	return get[Customer](ctx, c, "/v1/customers/"+segment(customerID), nil)
}
