package pcclient

import (
	"errors"
	"strings"

	"github.com/kaizalabot/kaizalabot/bot"
)

// Access tells an access problem from other failures: Partner Center
// refusing the partner one customer's data, with the codes of error-codes.md
// and gdap-bulk-migration-tool-faq.md. A 403 with another code (or none) is
// not one: Classify calls it an auth failure, and nobody can say more.
func (a Adapter) Access(err error) (bot.AccessProblem, bool) {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return bot.AccessProblem{}, false
	}
	p := bot.AccessProblem{Code: string(apiErr.Code), Detail: apiErr.Text()}
	switch {
	case apiErr.Code == "900308":
		p.Kind, p.Role = bot.AccessGDAPRole, gdapRoleFor(apiErr.Path)
	case apiErr.Code == "900309":
		p.Kind = bot.AccessConditionalAccess
	case apiErr.Code == "900329", apiErr.Code == "900316":
		p.Kind = bot.AccessTokenSetup
	case apiErr.Code == "20002":
		p.Kind = bot.AccessNoRelationship
	case apiErr.Code == "900150":
		p.Kind, p.Role = bot.AccessPartnerRole, bot.RoleAdminAgent
	default:
		return bot.AccessProblem{}, false
	}
	return p, true
}

// gdapRoleFor is the least-privileged GDAP role for the call to path: the
// licence calls (a user's licences, licence updates, subscribed SKUs) need
// License Administrator, the other user calls User Administrator; "" for
// anything else.
func gdapRoleFor(path string) string {
	_, rest, ok := strings.Cut(strings.ToLower(path), "/customers/")
	if !ok {
		return ""
	}
	segs := strings.Split(rest, "/")[1:] // after the customer id
	if len(segs) == 0 {
		return ""
	}
	switch segs[0] {
	case "subscribedskus":
		return bot.RoleLicenseAdministrator
	case "users":
		if len(segs) >= 3 && (segs[2] == "licenses" || segs[2] == "licenseupdates") {
			return bot.RoleLicenseAdministrator
		}
		return bot.RoleUserAdministrator
	}
	return ""
}
