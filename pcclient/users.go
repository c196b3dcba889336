package pcclient

import (
	"context"
	"net/url"
	"strconv"
)

// User is a user of a customer's tenant (customer-users-list.json). A user
// without UsageLocation cannot be licensed.
type User struct {
	ID                string     `json:"id"`
	UserPrincipalName string     `json:"userPrincipalName"`
	FirstName         string     `json:"firstName,omitempty"`
	LastName          string     `json:"lastName,omitempty"`
	DisplayName       string     `json:"displayName,omitempty"`
	UsageLocation     string     `json:"usageLocation,omitempty"`
	UserDomainType    string     `json:"userDomainType,omitempty"`
	State             string     `json:"state,omitempty"`
	Attributes        Attributes `json:"attributes"`
}

// ListUsers returns every user of a customer, following the seek paging.
// Needs an App+User token.
func (c *Client) ListUsers(ctx context.Context, customerID string, pageSize int) ([]User, error) {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	return list[User](ctx, c, "/v1/customers/"+segment(customerID)+"/users", url.Values{"size": {strconv.Itoa(pageSize)}})
}
