package pcsim

import "net/http"

// Customer users ([PC-2023] developer/get-a-list-of-all-user-accounts-for-a-customer.md; sample
// customer-users-list.json). A user without a usage location has no usageLocation key at all, as in the sample.

type userJSON struct {
	UsageLocation     string          `json:"usageLocation,omitempty"`
	ID                string          `json:"id"`
	UserPrincipalName string          `json:"userPrincipalName"`
	FirstName         string          `json:"firstName"`
	LastName          string          `json:"lastName"`
	DisplayName       string          `json:"displayName"`
	UserDomainType    string          `json:"userDomainType"`
	State             string          `json:"state"`
	Links             map[string]link `json:"links"`
	Attributes        attributes      `json:"attributes"`
}

func (u *user) resource(cid string) userJSON {
	return userJSON{
		UsageLocation: u.usageLocation, ID: u.id, UserPrincipalName: u.upn,
		FirstName: u.firstName, LastName: u.lastName, DisplayName: u.displayName,
		UserDomainType: "none", State: "active",
		Links:      map[string]link{"self": getLink("/customers/" + cid + "/users/" + u.id)},
		Attributes: objectType("CustomerUser"),
	}
}

func (s *Server) listUsers(r *http.Request, p params) reply {
	return s.withCustomer(p, func(c *customer) reply {
		scope := "users:" + c.id
		size, offset, rep, ok := pageRequest(r, scope)
		if !ok {
			return rep
		}
		items := make([]userJSON, 0, len(c.users))
		for _, u := range c.users {
			items = append(items, u.resource(c.id))
		}
		return jsonReply(http.StatusOK, seekPage(items, size, offset, "/v1/customers/"+c.id+"/users", scope))
	})
}

func (s *Server) getUser(_ *http.Request, p params) reply {
	return s.withUser(p, func(c *customer, u *user) reply {
		return jsonReply(http.StatusOK, u.resource(c.id))
	})
}

func (s *Server) withUser(p params, fn func(*customer, *user) reply) reply {
	return s.withCustomer(p, func(c *customer) reply {
		u := c.user(p["uid"])
		if u == nil {
			return errorReply(http.StatusNotFound, codeUserNotFound, "User object ID "+p["uid"]+" isn't found.")
		}
		return fn(c, u)
	})
}
