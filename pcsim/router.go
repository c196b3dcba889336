package pcsim

import (
	"net/http"
	"strings"
)

// A small router instead of http.ServeMux: path literals match case-insensitively like the real service,
// unknown paths and wrong methods get the documented error body, and the route says whether it needs an
// App+User token before fault injection runs.

type params map[string]string

type route struct {
	method  string
	path    []string // segments; "{name}" captures one segment
	appUser bool     // Secure Application Model (App+User) token required
	handle  func(s *Server, r *http.Request, p params) reply
}

const (
	appOrUser = false
	userOnly  = true
)

func on(method, path string, appUser bool, h func(*Server, *http.Request, params) reply) route {
	return route{method: method, path: strings.Split(strings.Trim(path, "/"), "/"), appUser: appUser, handle: h}
}

// routes lists the documented paths (partner-center.md §2) the sandbox serves.
var routes = []route{
	on("GET", "/v1/customers", appOrUser, (*Server).listCustomers),
	on("GET", "/v1/customers/{cid}", appOrUser, (*Server).getCustomer),
	on("GET", "/v1/customers/{cid}/subscriptions", appOrUser, (*Server).listSubscriptions),
	on("GET", "/v1/customers/{cid}/subscriptions/{sid}", appOrUser, (*Server).getSubscription),
	on("PATCH", "/v1/customers/{cid}/subscriptions/{sid}", appOrUser, (*Server).patchSubscription),
	on("GET", "/v1/customers/{cid}/subscriptions/{sid}/provisioningstatus", userOnly, (*Server).provisioningStatus),
	on("GET", "/v1/customers/{cid}/subscriptions/{sid}/transitionEligibilities", appOrUser, (*Server).listTransitionEligibilities),
	on("GET", "/v1/customers/{cid}/subscriptions/{sid}/transitions", appOrUser, (*Server).listTransitions),
	on("POST", "/v1/customers/{cid}/subscriptions/{sid}/transitions", appOrUser, (*Server).createTransition),
	on("GET", "/v1/customers/{cid}/orders", appOrUser, (*Server).listOrders),
	on("POST", "/v1/customers/{cid}/orders", appOrUser, (*Server).createOrder),
	on("GET", "/v1/customers/{cid}/orders/{oid}", appOrUser, (*Server).getOrder),
	on("POST", "/v1/customers/{cid}/carts", appOrUser, (*Server).createCart),
	on("GET", "/v1/customers/{cid}/carts/{cart}", appOrUser, (*Server).getCart),
	on("POST", "/v1/customers/{cid}/carts/{cart}/checkout", appOrUser, (*Server).checkoutCart),
	on("GET", "/v1/customers/{cid}/offers", appOrUser, (*Server).listCustomerOffers),
	on("GET", "/v1/customers/{cid}/products/{pid}/skus/{sku}/availabilities", appOrUser, (*Server).listCustomerAvailabilities),
	on("GET", "/v1/customers/{cid}/subscribedskus", userOnly, (*Server).listSubscribedSkus),
	on("GET", "/v1/customers/{cid}/users", userOnly, (*Server).listUsers),
	on("GET", "/v1/customers/{cid}/users/{uid}", userOnly, (*Server).getUser),
	on("GET", "/v1/customers/{cid}/users/{uid}/licenses", userOnly, (*Server).listUserLicenses),
	on("POST", "/v1/customers/{cid}/users/{uid}/licenseupdates", userOnly, (*Server).updateLicenses),
	on("GET", "/v1/auditrecords", appOrUser, (*Server).listActivity),
	on("GET", "/v1/offers", appOrUser, (*Server).listOffers),
	on("GET", "/v1/offers/{offer}", appOrUser, (*Server).getOffer),
	on("GET", "/v1/products", appOrUser, (*Server).listProducts),
	on("GET", "/v1/products/{pid}", appOrUser, (*Server).getProduct),
	on("GET", "/v1/products/{pid}/skus", appOrUser, (*Server).listSkus),
	on("GET", "/v1/products/{pid}/skus/{sku}", appOrUser, (*Server).getSku),
	on("GET", "/v1/products/{pid}/skus/{sku}/availabilities", appOrUser, (*Server).listAvailabilities),
	on("GET", "/v1/products/{pid}/skus/{sku}/availabilities/{aid}", appOrUser, (*Server).getAvailability),
}

// match finds the route for method and path. With no route it returns the methods the path does allow
// (empty for an unknown path).
func match(method, path string) (*route, params, []string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var allowed []string
	for i := range routes {
		rt := &routes[i]
		p, ok := matchPath(rt.path, segs)
		if !ok {
			continue
		}
		if rt.method == method {
			return rt, p, nil
		}
		allowed = append(allowed, rt.method)
	}
	return nil, nil, allowed
}

func matchPath(pattern, segs []string) (params, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	p := params{}
	for i, want := range pattern {
		if name, ok := strings.CutPrefix(want, "{"); ok {
			if segs[i] == "" {
				return nil, false
			}
			p[strings.TrimSuffix(name, "}")] = segs[i]
			continue
		}
		if !strings.EqualFold(want, segs[i]) {
			return nil, false
		}
	}
	return p, true
}
