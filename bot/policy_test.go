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
