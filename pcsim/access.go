package pcsim

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Access to a customer's tenant, per customer. Commerce data (subscriptions, orders, carts, offers) comes
// through the reseller relationship and stays readable; what lives in the customer's tenant (its users, their
// licences and licence updates, the licence pools in subscribedskus, a subscription's provisioning status) is
// reached through GDAP on behalf of the partner's user, and each doc page names the GDAP roles it needs
// ([PC-2023] developer/get-a-list-of-all-user-accounts-for-a-customer.md, get-a-list-of-available-licenses.md,
// assign-licenses-to-a-user.md, get-subscription-provisioning-status.md: "Directory Reader | Global Reader").
// Order provisioning status names no GDAP role (get-order-provisioning-status.md) and is not refused.
//
// Options.GDAPMissing customers answer those calls 403 / 900308, "Insufficient privileges to complete the
// operation." ([PC-2023] developer/error-codes.md); one more answers 403 / 900309, its Conditional Access
// blocking the partner ([PC-2023] gdap-bulk-migration-tool-faq.md, "Why am I shown 900309 … when accessing a
// customer's tenant?"). UNCONFIRMED: that the live service answers a missing GDAP role with 900308 on every one
// of these calls (the docs list the code, not the calls that send it), and that Conditional Access blocks them
// all rather than only licence assignment (the one call whose page shows a 900309 example); the sandbox takes
// the less convenient answer for both.

const (
	codeInsufficientPrivileges = 900308
	codeConditionalAccess      = 900309
)

const (
	// insufficientPrivileges is error-codes.md's description of 900308, verbatim.
	insufficientPrivileges = "Insufficient privileges to complete the operation."
	// blockedByConditionalAccess is the 900309 body of assign-licenses-to-a-user.md's "Conditional Access Policy
	// Issue" example; error-codes.md and the GDAP FAQ carry the same first two sentences.
	blockedByConditionalAccess = "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance. Learn more at https://learn.microsoft.com/azure/active-directory/conditional-access/concept-conditional-access-users-groups."
)

// accessGate applies Options.GDAPMissing to the world once: New does it, and the later calls (first /v1
// request, access methods) are no-ops kept so that no path can see a world without it.
type accessGate struct{ once sync.Once }

// denials lists the codes of the last customers of a world of n, in listing order: gdapMissing customers with
// 900308, then (when gdapMissing > 0 and there is a customer left) the very last one with 900309. Being last,
// with a Kaizala Pro subscription ending late in the 30-day window (deniedKaizalaEnd), they leave tests and the
// demo the customers those pick: the first listed, or the soonest-ending.
func denials(gdapMissing, n int) []int {
	missing := min(max(gdapMissing, 0), n)
	codes := make([]int, 0, missing+1)
	for range missing {
		codes = append(codes, codeInsufficientPrivileges)
	}
	if missing > 0 && missing < n {
		codes = append(codes, codeConditionalAccess)
	}
	return codes
}

// applyAccess draws the last customers again, each now holding an expiring Kaizala Pro subscription so that a
// scan reports it and a person plans for it (world.redrawLast), and marks them; no other customer changes. It
// must not be called with s.mu held.
func (s *Server) applyAccess() {
	s.world.access.once.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		w := s.world
		codes := denials(s.opts.GDAPMissing, len(w.customers))
		for j, c := range w.redrawLast(len(codes)) {
			c.access = codes[j]
		}
	})
}

// tenantCall returns the customer whose tenant a /v1 path reads or changes, if it does.
func tenantCall(path string) (customerID string, ok bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) < 4 || !strings.EqualFold(segs[0], "v1") || !strings.EqualFold(segs[1], "customers") {
		return "", false
	}
	switch {
	case strings.EqualFold(segs[3], "users"), strings.EqualFold(segs[3], "subscribedskus"):
		return segs[2], true
	case len(segs) == 6 && strings.EqualFold(segs[3], "subscriptions") && strings.EqualFold(segs[5], "provisioningstatus"):
		return segs[2], true
	}
	return "", false
}

// tenantAccess refuses a call into the tenant of a customer the partner cannot reach; an unknown customer is
// left to the handler's 404.
func (s *Server) tenantAccess(path string) (reply, bool) {
	cid, ok := tenantCall(path)
	if !ok {
		return reply{}, true
	}
	code := 0
	s.mu.Lock()
	if c := s.world.customer(cid); c != nil {
		code = c.access
	}
	s.mu.Unlock()
	switch code {
	case codeInsufficientPrivileges:
		return errorReply(http.StatusForbidden, code, insufficientPrivileges), false
	case codeConditionalAccess:
		return errorReply(http.StatusForbidden, code, blockedByConditionalAccess), false
	}
	return reply{}, true
}

// DeniedCustomer is a seeded customer whose tenant the partner cannot reach (Options.GDAPMissing).
type DeniedCustomer struct {
	ID          string
	CompanyName string
	Code        string // "900308": no GDAP role allows the call; "900309": the customer's Conditional Access blocks it
}

// DeniedCustomers lists, in listing order, the customers whose users, licences, subscribed SKUs and
// provisioning status answer 403.
func (s *Server) DeniedCustomers() []DeniedCustomer {
	s.applyAccess()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []DeniedCustomer
	for _, c := range s.world.customers {
		if c.access != 0 {
			out = append(out, DeniedCustomer{ID: c.id, CompanyName: c.companyName, Code: strconv.Itoa(c.access)})
		}
	}
	return out
}

// AccessDenied maps the id of every customer DeniedCustomers lists to its code ("900308" or "900309").
func (s *Server) AccessDenied() map[string]string {
	out := map[string]string{}
	for _, d := range s.DeniedCustomers() {
		out[d.ID] = d.Code
	}
	return out
}
