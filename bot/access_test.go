package bot

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestAccessProblemFix(t *testing.T) {
	for _, tc := range []struct {
		name    string
		problem AccessProblem
		want    []string
	}{
		{"GDAP role of a licence call", AccessProblem{Code: "900308", Kind: AccessGDAPRole, Role: RoleLicenseAdministrator},
			[]string{"grant the License Administrator GDAP role for Contoso"}},
		{"GDAP role of a user call", AccessProblem{Code: "900308", Kind: AccessGDAPRole, Role: RoleUserAdministrator},
			[]string{"grant the User Administrator GDAP role for Contoso"}},
		{"GDAP role of an unknown call", AccessProblem{Code: "900308", Kind: AccessGDAPRole},
			[]string{"grant a GDAP role for Contoso"}},
		{"Conditional Access", AccessProblem{Code: "900309", Kind: AccessConditionalAccess},
			[]string{"the customer's Conditional Access blocks the partner: ask Contoso to exclude", "Service provider users"}},
		{"app-only token", AccessProblem{Code: "900329", Kind: AccessTokenSetup},
			[]string{"App+User", "PC_REFRESH_TOKEN", "MFA"}},
		{"partner token in licence calls", AccessProblem{Code: "900316", Kind: AccessTokenSetup},
			[]string{"App+User", "PC_REFRESH_TOKEN", "MFA"}},
		{"no reseller relationship", AccessProblem{Code: "20002", Kind: AccessNoRelationship},
			[]string{"no reseller relationship with Contoso", "Request a reseller relationship"}},
		{"partner-side role", AccessProblem{Code: "900150", Kind: AccessPartnerRole, Role: RoleAdminAgent},
			[]string{"Partner Center user behind PC_REFRESH_TOKEN", "Admin agent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fix := tc.problem.Fix("Contoso")
			for _, w := range tc.want {
				if !strings.Contains(fix, w) {
					t.Errorf("Fix = %q, want it to say %q", fix, w)
				}
			}
		})
	}
}

// accessPC is a PartnerCenter that knows only access problems: an error
// whose text is a code.
type accessPC struct{ PartnerCenter }

func (accessPC) Access(err error) (AccessProblem, bool) {
	switch err.Error() {
	case "900308":
		return AccessProblem{Code: "900308", Kind: AccessGDAPRole, Role: RoleUserAdministrator}, true
	case "900309":
		return AccessProblem{Code: "900309", Kind: AccessConditionalAccess}, true
	}
	return AccessProblem{}, false
}

func TestAccessRefusalAndWords(t *testing.T) {
	contoso := Customer{ID: "c1", Domain: "contoso.onmicrosoft.com", Name: "Contoso Ltd"}
	e := &Engine{PC: accessPC{}}
	for _, tc := range []struct {
		name          string
		customer      Customer
		err           error
		refusal, word string // "" when not an access problem
	}{
		{"a GDAP role is missing", contoso, errors.New("900308"),
			"Cannot plan for Contoso Ltd: Partner Center refused access (900308). Fix: grant the User Administrator GDAP role for Contoso Ltd, then ask again.",
			"Partner Center refused access to Contoso Ltd (900308). Fix: grant the User Administrator GDAP role for Contoso Ltd, then retry."},
		{"a customer without a name", Customer{ID: "c2", Domain: "fabrikam.example"}, errors.New("900309"),
			"Cannot plan for fabrikam.example: Partner Center refused access (900309). Fix: the customer's Conditional Access blocks the partner: " +
				"ask fabrikam.example to exclude Service provider users (under Guest or external users) from the policy, then ask again.",
			"Partner Center refused access to fabrikam.example (900309)."},
		{"another failure", contoso, errors.New("503 service unavailable"), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refusal, ok := e.accessRefusal(context.Background(), tc.customer, tc.err)
			if refusal != tc.refusal || ok != (tc.refusal != "") {
				t.Errorf("accessRefusal = %q, %v; want %q", refusal, ok, tc.refusal)
			}
			words := accessWords(e.PC, tc.customer, tc.err)
			if (tc.word == "") != (words == "") || !strings.HasPrefix(words, tc.word) {
				t.Errorf("accessWords = %q, want it to start %q", words, tc.word)
			}
		})
	}
}
