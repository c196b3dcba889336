package pcsim

import (
	"net/http"
	"strings"
)

type customerJSON struct {
	ID                    string          `json:"id"`
	CommerceID            string          `json:"commerceId"`
	CompanyProfile        companyProfile  `json:"companyProfile"`
	RelationshipToPartner string          `json:"relationshipToPartner"`
	AllowDelegatedAccess  *bool           `json:"allowDelegatedAccess,omitempty"`
	Links                 map[string]link `json:"links,omitempty"`
	Attributes            attributes      `json:"attributes"`
}

type companyProfile struct {
	TenantID    string     `json:"tenantId"`
	Domain      string     `json:"domain"`
	CompanyName string     `json:"companyName"`
	Attributes  attributes `json:"attributes"`
}

func (c *customer) resource() customerJSON {
	return customerJSON{
		ID:         c.id,
		CommerceID: c.commerceID,
		CompanyProfile: companyProfile{
			TenantID: c.id, Domain: c.domain, CompanyName: c.companyName,
			Attributes: objectType("CustomerCompanyProfile"),
		},
		RelationshipToPartner: "reseller",
		Attributes:            objectType("Customer"),
	}
}

// withCustomer runs fn on the customer named in the path while holding the world lock, or answers 404.
func (s *Server) withCustomer(p params, fn func(c *customer) reply) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.world.customer(p["cid"])
	if c == nil {
		return notFound("Customer with ID " + p["cid"] + " was not found.")
	}
	return fn(c)
}

func (s *Server) listCustomers(r *http.Request, _ params) reply {
	size, offset, rep, ok := pageRequest(r, "customers")
	if !ok {
		return rep
	}
	s.mu.Lock()
	items := make([]customerJSON, 0, len(s.world.customers))
	for _, c := range s.world.customers {
		items = append(items, c.resource())
	}
	s.mu.Unlock()
	return jsonReply(http.StatusOK, seekPage(items, size, offset, "/v1/customers", "customers"))
}

// getCustomer adds allowDelegatedAccess, which "is only available when getting a customer by ID, not by list"
// ([PC-2023] developer/customer-resources.md).
func (s *Server) getCustomer(_ *http.Request, p params) reply {
	return s.withCustomer(p, func(c *customer) reply {
		res := c.resource()
		allow := true
		res.AllowDelegatedAccess = &allow
		res.Links = map[string]link{"self": getLink("/customers/" + c.id)}
		return jsonReply(http.StatusOK, res)
	})
}

// listCustomerOffers is the customer-scoped offer list; every customer here is a US tenant.
func (s *Server) listCustomerOffers(r *http.Request, p params) reply {
	return s.withCustomer(p, func(c *customer) reply {
		return offerList(r, "US", "/customers/"+c.id+"/offers")
	})
}

func (s *Server) listCustomerAvailabilities(r *http.Request, p params) reply {
	return s.withCustomer(p, func(c *customer) reply {
		return availabilityList(p, "US", "/customers/"+c.id+"/products/"+strings.ToUpper(p["pid"])+"/skus/"+p["sku"]+"/availabilities")
	})
}
