package bot

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type groups map[string][]string

func (g groups) GroupMembers(_ context.Context, id string) ([]string, error) {
	if m, ok := g[id]; ok {
		return m, nil
	}
	return nil, errors.New("usergroups.users.list: no_such_subteam")
}

func TestPolicyMayApprove(t *testing.T) {
	m := &Migration{ID: "M1", Requester: Actor{ID: "U_SALES", Name: "sam"}}
	for _, tc := range []struct {
		name    string
		policy  Policy
		actor   string
		refusal string
		err     bool
	}{
		{"listed approver", Policy{Approvers: []string{"U_BOSS"}}, "U_BOSS", "", false},
		{"listed, other case", Policy{Approvers: []string{"u_boss"}}, "U_BOSS", "", false},
		{"not an approver", Policy{Approvers: []string{"U_BOSS"}}, "U_OTHER", "Only approvers", false},
		{"the requester, even if an approver", Policy{Approvers: []string{"U_SALES"}}, "U_SALES", "someone else must approve", false},
		{"group member", Policy{Group: "S_APPROVERS", Members: groups{"S_APPROVERS": {"U_LEAD"}}}, "U_LEAD", "", false},
		{"not in the group", Policy{Group: "S_APPROVERS", Members: groups{"S_APPROVERS": {"U_LEAD"}}}, "U_OTHER", "Only approvers", false},
		{"unreadable group fails closed", Policy{Group: "S_GONE", Members: groups{}}, "U_LEAD", "", true},
		{"nobody configured", Policy{}, "U_BOSS", "no approvers are configured", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refusal, err := tc.policy.MayApprove(context.Background(), Actor{ID: tc.actor}, m)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if tc.refusal == "" && refusal != "" || !strings.Contains(refusal, tc.refusal) {
				t.Errorf("refusal %q, want one containing %q", refusal, tc.refusal)
			}
		})
	}
}

func TestPolicyRole(t *testing.T) {
	members := groups{"S_APPROVERS": {"U_LEAD"}, "S_SALES": {"U_REP"}, "S_VIEW": {"U_FIN"}}
	everything := Policy{
		Approvers: []string{"U_BOSS"}, Group: "S_APPROVERS",
		Sales: []string{"U_SAM"}, SalesGroup: "S_SALES",
		Viewers: []string{"U_VIC"}, ViewerGroup: "S_VIEW",
		Members: members,
	}
	for _, tc := range []struct {
		name   string
		policy Policy
		actor  string
		want   Role
		err    bool
	}{
		{"listed approver", everything, "U_BOSS", RoleApprover, false},
		{"approver group", everything, "U_LEAD", RoleApprover, false},
		{"listed salesperson", everything, "U_SAM", RoleSales, false},
		{"listed, other case", everything, "u_sam", RoleSales, false},
		{"sales group", everything, "U_REP", RoleSales, false},
		{"listed viewer", everything, "U_VIC", RoleViewer, false},
		{"viewer group", everything, "U_FIN", RoleViewer, false},
		{"in no list", everything, "U_GUEST", RoleNone, false},
		{"an approver listed as a viewer too is an approver", Policy{Approvers: []string{"U_BOSS"}, Viewers: []string{"U_BOSS"}}, "U_BOSS", RoleApprover, false},
		{"nothing configured", Policy{}, "U_BOSS", RoleNone, false},
		{"groups without a reader grant nothing", Policy{Group: "S_APPROVERS", SalesGroup: "S_SALES"}, "U_LEAD", RoleNone, false},
		// Fail closed: an unreadable group grants nothing; the lists still count.
		{"unreadable sales group, in none", Policy{SalesGroup: "S_GONE", Members: members}, "U_REP", RoleNone, true},
		{"unreadable approver group, listed salesperson", Policy{Group: "S_GONE", Sales: []string{"U_SAM"}, Members: members}, "U_SAM", RoleSales, true},
		{"listed approver never waits on a broken group", Policy{Approvers: []string{"U_BOSS"}, Group: "S_GONE", Members: members}, "U_BOSS", RoleApprover, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.policy.Role(context.Background(), Actor{ID: tc.actor})
			if got != tc.want || (err != nil) != tc.err {
				t.Errorf("Role(%s) = %v, %v; want %v, error %v", tc.actor, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestRolesAreOrdered(t *testing.T) {
	if !(RoleNone < RoleViewer && RoleViewer < RoleSales && RoleSales < RoleApprover) {
		t.Fatal("each role must include the ones below it")
	}
	for r, want := range map[Role]string{RoleNone: "nobody", RoleViewer: "viewer", RoleSales: "salesperson", RoleApprover: "approver"} {
		if r.String() != want {
			t.Errorf("%d.String() = %q, want %q", r, r.String(), want)
		}
	}
}

func TestPolicyOpen(t *testing.T) {
	for _, tc := range []struct {
		policy Policy
		open   bool
	}{
		{Policy{Approvers: []string{"U_BOSS"}, Group: "S_APPROVERS"}, false},
		{Policy{Sales: []string{"U_SAM"}}, true},
		{Policy{SalesGroup: "S_SALES"}, true},
		{Policy{Viewers: []string{"U_VIC"}}, true},
		{Policy{ViewerGroup: "S_VIEW"}, true},
	} {
		if got := tc.policy.Open(); got != tc.open {
			t.Errorf("%+v.Open() = %v, want %v", tc.policy, got, tc.open)
		}
	}
}

func TestDigestCadence(t *testing.T) {
	for spec, want := range map[string]string{
		"0 9 * * 1-5": "weekday", "30 8 * * *": "daily", "0 9 * * 1": "weekly", "0 9 * * MON-FRI": "weekday",
		"0 */4 * * *": "", "0 9 1 * *": "", "0 9,17 * * *": "", "@daily": "",
	} {
		if got := DigestCadence(spec); got != want {
			t.Errorf("DigestCadence(%q) = %q, want %q", spec, got, want)
		}
	}
}
