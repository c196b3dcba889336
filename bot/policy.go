package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Policy says who may approve a migration and how many must.
type Policy struct {
	Approvers []string // user IDs
	Group     string   // a user group ID whose members may approve
	Required  int      // approvals needed; default 1
	Members   GroupMembers
}

// GroupMembers resolves a user group to its members' user IDs.
type GroupMembers interface {
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

// required is how many approvals a migration needs.
func (p Policy) required() int { return max(1, p.Required) }

// IsApprover reports whether actor may approve migrations at all.
func (p Policy) IsApprover(ctx context.Context, actor Actor) (bool, error) {
	if slices.ContainsFunc(p.Approvers, func(id string) bool { return strings.EqualFold(id, actor.ID) }) {
		return true, nil
	}
	if p.Group == "" || p.Members == nil {
		return false, nil
	}
	members, err := p.Members.GroupMembers(ctx, p.Group)
	if err != nil {
		// Fail closed: an unreadable group approves nobody.
		return false, fmt.Errorf("reading approver group %s: %w", p.Group, err)
	}
	return slices.ContainsFunc(members, func(id string) bool { return strings.EqualFold(id, actor.ID) }), nil
}

// MayApprove returns a refusal to show the person when actor may not
// approve m; "" means they may.
func (p Policy) MayApprove(ctx context.Context, actor Actor, m *Migration) (refusal string, err error) {
	if len(p.Approvers) == 0 && p.Group == "" {
		return "Nobody can approve migrations yet: no approvers are configured (KAIZALA_APPROVERS or KAIZALA_APPROVER_GROUP).", nil
	}
	if strings.EqualFold(actor.ID, m.Requester.ID) {
		return fmt.Sprintf("You asked for migration %s, so someone else must approve it.", m.ID), nil
	}
	ok, err := p.IsApprover(ctx, actor)
	if err != nil {
		return "", err
	}
	if !ok {
		return "Only approvers can approve migrations; you are not one. Ask an approver to review " + m.ID + ".", nil
	}
	return "", nil
}
