package bot

import (
	"cmp"
	"context"
	"fmt"

	"github.com/sirupsen/logrus"
)

// AccessProblem is Partner Center refusing the partner access to one
// customer's data, said so that a person can fix it. Other customers are not
// affected: their calls go on.
type AccessProblem struct {
	Code string // Partner Center's error code, e.g. "900308"
	Kind string // AccessGDAPRole, AccessConditionalAccess, …
	// Role names the role to grant: for AccessGDAPRole the customer-side GDAP
	// role of the call that was refused, for AccessPartnerRole the role in
	// the partner's own Partner Center; "" when unknown.
	Role   string
	Detail string // Partner Center's own words
}

// The kinds of AccessProblem: what was refused and where it is fixed.
const (
	// AccessGDAPRole: the GDAP relationship lacks a role (403 / 900308,
	// "Insufficient privileges to complete the operation").
	AccessGDAPRole = "gdap-role"
	// AccessConditionalAccess: the customer's Conditional Access blocks the
	// partner (403 / 900309).
	AccessConditionalAccess = "conditional-access"
	// AccessTokenSetup: the bot's token is the wrong kind for the call:
	// app-only on an App+User API (403 / 900329), or a partner token in a
	// licence call (400 / 900316).
	AccessTokenSetup = "token-setup"
	// AccessNoRelationship: the partner has no reseller relationship with
	// the customer (403 / 20002).
	AccessNoRelationship = "no-relationship"
	// AccessPartnerRole: the partner user behind the token lacks a Partner
	// Center role (403 / 900150, "The supplied role doesn't have the rights
	// to perform the requested operation").
	AccessPartnerRole = "partner-role"
)

// The roles an AccessProblem names. GDAP roles are the least-privileged
// Entra roles per task of Partner Center's GDAP role guidance
// (partner-center gdap-least-privileged-roles-by-task.md): "Assign license"
// and "Revoke license" need License Administrator; creating, updating and
// managing users needs User Administrator. The partner-side role is the one
// for "Customer management" and "Administer on behalf of a customer"
// (permissions-overview.md).
const (
	RoleUserAdministrator    = "User Administrator"    // users: read, update (usage location)
	RoleLicenseAdministrator = "License Administrator" // licences: read, assign, remove
	RoleAdminAgent           = "Admin agent"           // partner side: manage customers
)

// Fix says in one sentence, for a person, what to do so that the bot can
// read customer again. customer is how the sentence names the customer.
func (p AccessProblem) Fix(customer string) string {
	switch p.Kind {
	case AccessGDAPRole:
		if p.Role == "" {
			return fmt.Sprintf("grant a GDAP role for %s that allows this call", customer)
		}
		return fmt.Sprintf("grant the %s GDAP role for %s", p.Role, customer)
	case AccessConditionalAccess:
		// gdap-bulk-migration-tool-faq.md: customers can exclude CSPs from
		// the policy, by the "Service provider users" external user type.
		return fmt.Sprintf("the customer's Conditional Access blocks the partner: ask %s to exclude Service provider users "+
			"(under Guest or external users) from the policy", customer)
	case AccessTokenSetup:
		// App+User calls need a user's refresh token, from a sign-in with
		// MFA (partner-center-authentication; new-commerce.md §6).
		return "Partner Center wants an App+User token here: set PC_REFRESH_TOKEN to a refresh token from a partner user's sign-in with MFA (Secure Application Model)"
	case AccessNoRelationship:
		// request-a-relationship-with-a-customer.md
		return fmt.Sprintf("the partner has no reseller relationship with %s: invite them from Partner Center (Customers › Request a reseller relationship) "+
			"and have them accept in the Microsoft 365 admin center", customer)
	case AccessPartnerRole:
		return fmt.Sprintf("the Partner Center user behind PC_REFRESH_TOKEN lacks a partner role: give them %s in Partner Center "+
			"(Account settings › User management)", cmp.Or(p.Role, RoleAdminAgent))
	}
	return fmt.Sprintf("Partner Center refused access to %s: check the partner's access to it", customer)
}

// CustomerAccess is a customer Partner Center refused the partner access to.
type CustomerAccess struct {
	Customer Customer
	Problem  AccessProblem
}

// ScanAccess is a customer the last scan could not read for an access
// problem, as the digest shows it.
type ScanAccess struct {
	CustomerID string
	Customer   string // the customer's name, else domain, else id
	Code       string
	Fix        string
}

// Summary is the scan summary's record of a.
func (a CustomerAccess) Summary() ScanAccess {
	name := customerWords(a.Customer)
	return ScanAccess{CustomerID: a.Customer.ID, Customer: name, Code: a.Problem.Code, Fix: a.Problem.Fix(name)}
}

// customerWords names a customer in a sentence: its name, else its domain,
// else its id.
func customerWords(c Customer) string { return cmp.Or(c.Name, c.Domain, c.ID) }

// accessRefusal turns an error from reading customer c's users or licences
// into the refusal shown to the requester, when it is an access problem: no
// plan can be made until a person fixes it, and asking again then works.
// ctx is the request's; the refusal needs no call of its own.
func (e *Engine) accessRefusal(_ context.Context, c Customer, err error) (string, bool) {
	p, ok := e.PC.Access(err)
	if !ok {
		return "", false
	}
	name := customerWords(c)
	e.log().WithFields(logrus.Fields{"customer": c.ID, "code": p.Code, "kind": p.Kind}).
		Info("Partner Center refused access to the customer; refusing the plan")
	return fmt.Sprintf("Cannot plan for %s: Partner Center refused access (%s). Fix: %s, then ask again.", name, p.Code, p.Fix(name)), true
}

// accessWords says what a person must fix when err, from a migration step
// for customer c, is an access problem, for the failure's message; "" when
// it is not one.
func accessWords(pc PartnerCenter, c Customer, err error) string {
	p, ok := pc.Access(err)
	if !ok {
		return ""
	}
	name := customerWords(c)
	return fmt.Sprintf("Partner Center refused access to %s (%s). Fix: %s, then retry.", name, p.Code, p.Fix(name))
}
