package slackbot

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
)

// Approvers hear of a plan in its own thread: a reply that mentions them
// when the plan is posted (or replanned), and reminders while it waits.
// A mention in the thread rather than a DM to each: one message however
// many approvers, an approver group is mentioned as the group (no need to
// read its members), and whoever follows the thread sees who was asked,
// right under the Approve button.

// askApprovers tells the approvers that the plan posted at (channel, ts)
// waits for them.
func (a *App) askApprovers(ctx context.Context, m *bot.Migration, channel, ts string) {
	if _, _, err := a.post(ctx, channel, slackview.ApprovalAsked(a.waitingView(m, nil)), slack.MsgOptionTS(ts)); err != nil {
		a.Log.WithError(err).WithField("migration", m.ID).Warn("asking the approvers in the plan's thread failed")
	}
}

// waitingView is m waiting on the approvers who have not approved its
// current plan yet (ds are its decisions so far).
func (a *App) waitingView(m *bot.Migration, ds []bot.Decision) slackview.WaitingView {
	p := a.Engine.Policy
	approved := approvedBy(m, ds)
	var pending []string
	for _, id := range p.Approvers {
		if !approved[strings.ToLower(id)] {
			pending = append(pending, id)
		}
	}
	return slackview.WaitingView{Migration: m, Approvers: pending, Group: p.Group, Approvals: len(approved), Required: max(1, p.Required), Now: a.Now()}
}

// reminderSlot names the claim of a plan's latest reminder.
func reminderSlot(migrationID string) string {
	return "approval_reminder." + strings.ToLower(migrationID)
}

// remindApprovers reminds the approvers of every plan that has waited
// ApprovalReminder or longer, in the plan's thread, until ctx ends. Only
// the worker runs it (from Work); a slot per plan, taken in the database,
// keeps it to one reminder per plan per ApprovalReminder across processes
// and restarts.
func (a *App) remindApprovers(ctx context.Context) {
	every := a.ApprovalReminder
	// Look often enough to remind within a tenth of the interval of its
	// due time, and at least once a minute.
	t := time.NewTicker(min(max(every/10, 50*time.Millisecond), time.Minute))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !a.isWorker() {
			continue
		}
		if err := a.remindDue(ctx, every); err != nil && ctx.Err() == nil {
			a.Log.WithError(err).Warn("reminding approvers failed; trying again soon")
		}
	}
}

// remindDue posts the reminders that are due now.
func (a *App) remindDue(ctx context.Context, every time.Duration) error {
	waiting, err := a.Store.ListMigrations(ctx, bot.MigrationFilter{States: []bot.State{bot.StatePendingApproval}})
	if err != nil {
		return err
	}
	for _, m := range waiting {
		if a.Now().Sub(cmp.Or(m.Plan.CreatedAt, m.CreatedAt)) < every {
			continue
		}
		if _, err := a.Store.BatchOf(ctx, m.ID); err == nil {
			continue // a batch is approved as one (batch.go): not one reminder per member
		} else if !errors.Is(err, bot.ErrNotFound) {
			return err
		}
		channel, ts, posted, err := a.Store.MigrationMessage(ctx, m.ID)
		if err != nil {
			return err
		}
		if !posted {
			continue // no thread yet: the notifier posts the plan first
		}
		claimed, _, err := a.Store.ClaimSlot(ctx, reminderSlot(m.ID), every)
		if err != nil {
			return err
		}
		if !claimed {
			continue
		}
		ds, err := a.Store.Decisions(ctx, m.ID)
		if err != nil {
			return err
		}
		if _, _, err := a.post(ctx, channel, slackview.ApprovalReminder(a.waitingView(m, ds)), slack.MsgOptionTS(ts)); err != nil {
			a.Log.WithError(err).WithField("migration", m.ID).Warn("posting an approval reminder failed")
		}
	}
	return nil
}

// approvedBy are the people (user IDs in lower case) whose approval of m's
// current plan counts (not the requester's own), as the engine counts them.
func approvedBy(m *bot.Migration, ds []bot.Decision) map[string]bool {
	seen := map[string]bool{}
	for _, d := range ds {
		if d.Kind == bot.DecisionApprove && d.PlanHash == m.PlanHash && !strings.EqualFold(d.Actor.ID, m.Requester.ID) {
			seen[strings.ToLower(d.Actor.ID)] = true
		}
	}
	return seen
}
