package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Policy says who may use the bot and how (deny by default: see Role), who
// may approve a migration and how many must.
type Policy struct {
	Approvers []string // user IDs
	Group     string   // a user group ID whose members may approve
	Required  int      // approvals needed; default 1
	// Sales and the members of SalesGroup may see customers and request
	// plans; Viewers and the members of ViewerGroup may only see.
	Sales       []string // user IDs
	SalesGroup  string   // a user group ID
	Viewers     []string // user IDs
	ViewerGroup string   // a user group ID
	Members     GroupMembers
}

// Role is what a person may do with the bot; each role may do everything
// the roles below it may.
type Role int

// The roles, least first.
const (
	// RoleNone: someone in none of the lists. They may read help (which
	// shows no customer data) and nothing else.
	RoleNone Role = iota
	// RoleViewer may see: list, status, targets, history, App Home.
	RoleViewer
	// RoleSales may also request: plan, retry, reject or withdraw their own
	// plans, scan.
	RoleSales
	// RoleApprover may also approve (and override), and post the digest.
	RoleApprover
)

func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleSales:
		return "salesperson"
	case RoleApprover:
		return "approver"
	}
	return "nobody"
}

// Role says what actor may do: the highest role whose list or group holds
// them. Lists are read first, so a listed person never waits on Slack.
//
// A group that cannot be read grants nothing (fail closed): the error is
// returned with the role the other lists gave, which is then a floor — the
// person may hold a higher role through the group that could not be read.
// A caller needing no more than the role returned may go on despite the
// error; one needing more must treat the error as an error.
func (p Policy) Role(ctx context.Context, actor Actor) (Role, error) {
	var unread []error
	for _, level := range []struct {
		role  Role
		users []string
		group string
	}{
		{RoleApprover, p.Approvers, p.Group},
		{RoleSales, p.Sales, p.SalesGroup},
		{RoleViewer, p.Viewers, p.ViewerGroup},
	} {
		if containsID(level.users, actor.ID) {
			return level.role, errors.Join(unread...)
		}
		in, err := p.inGroup(ctx, level.group, actor)
		if err != nil {
			unread = append(unread, err)
			continue
		}
		if in {
			return level.role, errors.Join(unread...)
		}
	}
	return RoleNone, errors.Join(unread...)
}

// Open reports whether anyone but approvers may use the bot: with no sales
// or viewer list or group set, only approvers may.
func (p Policy) Open() bool {
	return len(p.Sales) > 0 || p.SalesGroup != "" || len(p.Viewers) > 0 || p.ViewerGroup != ""
}

// inGroup reports whether actor is a member of group ("" holds nobody).
func (p Policy) inGroup(ctx context.Context, group string, actor Actor) (bool, error) {
	if group == "" || p.Members == nil {
		return false, nil
	}
	members, err := p.Members.GroupMembers(ctx, group)
	if err != nil {
		return false, fmt.Errorf("reading user group %s: %w", group, err)
	}
	return containsID(members, actor.ID), nil
}

// GroupMembers resolves a user group to its members' user IDs.
type GroupMembers interface {
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

// required is how many approvals a migration needs.
func (p Policy) required() int { return max(1, p.Required) }

// IsApprover reports whether actor may approve migrations at all.
func (p Policy) IsApprover(ctx context.Context, actor Actor) (bool, error) {
	if containsID(p.Approvers, actor.ID) {
		return true, nil
	}
	// Fail closed: an unreadable group approves nobody.
	in, err := p.inGroup(ctx, p.Group, actor)
	if err != nil {
		return false, fmt.Errorf("approver group: %w", err)
	}
	return in, nil
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
