package slackbot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
)

// The Home tab (https://docs.slack.dev/surfaces/app-home): each person's
// own page of the bot, published with views.publish when they open it.
// Approvers see the plans waiting for approval, with Approve and Reject;
// salespeople their open plans and their customers by urgency; everyone the
// last scan and its health.
//
// A click on the Home tab carries no channel and no response_url, so its
// answer cannot go where a click on a message's goes. It is shown on the
// Home tab itself: the tab is published again at once, with the answer on
// top and the lists as they now stand (the approved plan gone from the
// waiting list). That needs no scope, no channel membership and no DM, and
// the person sees it where they clicked.

// homeTimeout bounds reading the store and publishing one Home tab.
const homeTimeout = 30 * time.Second

// homeCustomers is how many days ahead the Home tab's customer list looks.
const homeCustomers = 90

// openStates are the states of a migration that is not finished.
var openStates = append([]bot.State{bot.StatePendingApproval, bot.StateFailed, bot.StateNeedsApproval}, bot.RunningStates...)

// AppHomeOpened publishes the Home tab of the person who opened it; it
// returns at once (Slack wants the event acknowledged within 3 seconds).
func (a *App) AppHomeOpened(_ context.Context, userID, teamID string) {
	actor := bot.Actor{ID: userID}
	a.goBackground(func() {
		ctx, cancel := context.WithTimeout(a.base, homeTimeout)
		defer cancel()
		a.publishHome(ctx, actor, teamID, nil)
	})
}

// publishHome draws actor's Home tab as things stand, with status (the
// answer to their last click there) on top, and publishes it. Someone the
// bot does not serve gets a tab with the refusal and nothing else.
func (a *App) publishHome(ctx context.Context, actor bot.Actor, teamID string, status *slackview.Message) {
	log := a.Log.WithField("slack_user", actor.ID)
	var view slack.HomeTabViewRequest
	refusal, err := a.allow(ctx, actor, teamID, bot.RoleViewer)
	if err == nil && refusal == "" {
		var v slackview.HomeView
		if v, err = a.homeView(ctx, actor, status); err == nil {
			view = slackview.Home(v)
		}
	}
	switch {
	case err != nil:
		log.WithError(err).Error("drawing the Home tab failed")
		view = slackview.HomeNotice(slackview.Refusal("The Home tab could not be drawn just now (it was logged). Open it again in a minute, or use /kaizala in a channel."))
	case refusal != "":
		view = slackview.HomeNotice(refusedMessage(refusal))
	}
	_, err = a.Slack.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: actor.ID, View: view})
	a.slackFailed("views.publish", err)
}

// homeView gathers what actor's Home tab shows.
func (a *App) homeView(ctx context.Context, actor bot.Actor, status *slackview.Message) (slackview.HomeView, error) {
	v := slackview.HomeView{User: actor.ID, Status: status, Required: max(1, a.Engine.Policy.Required), Now: a.Now(), Location: a.Location}
	role, err := a.Engine.Policy.Role(ctx, actor)
	if err != nil {
		// An unreadable group could only have raised the role: the tab shows
		// what the lists that could be read allow.
		a.Log.WithError(err).WithField("slack_user", actor.ID).Warn("reading who may approve failed; the Home tab shows what the readable lists allow")
	}
	v.Approver = role >= bot.RoleApprover
	open, err := a.Store.ListMigrations(ctx, bot.MigrationFilter{States: openStates})
	if err != nil {
		return v, fmt.Errorf("listing open migrations: %w", err)
	}
	for _, m := range open {
		if strings.EqualFold(m.Requester.ID, actor.ID) {
			v.Mine = append(v.Mine, m)
		}
		if v.Approver && m.State == bot.StatePendingApproval {
			ds, err := a.Store.Decisions(ctx, m.ID)
			if err != nil {
				return v, fmt.Errorf("reading the decisions on %s: %w", m.ID, err)
			}
			v.Waiting = append(v.Waiting, slackview.HomePlan{Migration: m, Decisions: ds})
		}
	}
	tracked, err := a.trackedNow(ctx)
	if err != nil {
		return v, fmt.Errorf("reading tracked subscriptions: %w", err)
	}
	v.Customers, v.Owned = a.homeCustomersOf(actor, tracked)
	switch scan, err := a.Store.LastScan(ctx); {
	case errors.Is(err, bot.ErrNotFound):
	case err != nil:
		return v, fmt.Errorf("reading the last scan: %w", err)
	default:
		v.Scan = scan
	}
	return v, nil
}

// homeCustomersOf picks the expiring subscriptions actor's Home tab lists,
// most urgent first (tracked is sorted so), and says whether they are
// actor's own customers: with account owners set (KAIZALA_OWNERS), someone
// who owns customers sees theirs; anyone else (no owners set, or owning no
// customer, such as an approver) sees those expiring soonest, and the tab
// says so.
func (a *App) homeCustomersOf(actor bot.Actor, tracked []bot.TrackedSubscription) (subs []bot.TrackedSubscription, owned bool) {
	owned = len(a.Owners.CustomersOf(actor.ID)) > 0
	for _, t := range tracked {
		if t.Expiring(homeCustomers) && (!owned || a.Owners.Owns(actor.ID, t.Customer)) {
			subs = append(subs, t)
		}
	}
	return subs, owned
}

// fromHome reports whether a click was made on a Home tab.
func fromHome(ic slack.InteractionCallback) bool {
	return ic.Type == slack.InteractionTypeBlockActions && ic.View.Type == slack.VTHomeTab
}

// homeInteraction handles a click on the Home tab: Approve and Reject, the
// only buttons it has, do what they do on a plan message (the same values,
// the same engine calls); the answer is shown on the Home tab.
func (a *App) homeInteraction(ic slack.InteractionCallback, actor bot.Actor) *slack.ViewSubmissionResponse {
	for _, action := range ic.ActionCallback.BlockActions {
		if action == nil {
			continue
		}
		id, planHash := slackview.ParseDecisionValue(action.Value)
		switch action.ActionID {
		case slackview.ActionApprove:
			a.onHome(actor, ic.Team.ID, func(ctx context.Context) slackview.Message {
				if planHash == "" {
					return slackview.Refusal(fmt.Sprintf("That button does not say which plan it was for; nothing was done. Open the Home tab again, or type /kaizala approve %s.", id))
				}
				return a.runDecision(ctx, "approve", id, planHash, "", actor)
			})
		case slackview.ActionReject:
			a.onHome(actor, ic.Team.ID, func(ctx context.Context) slackview.Message {
				return a.homeRejectDialog(ctx, ic.TriggerID, id, planHash, actor)
			})
		default:
			a.Log.WithField("action_id", action.ActionID).Warn("a click on an unknown action of the Home tab was ignored")
		}
	}
	return nil
}

// homeRejectDialog opens the dialog asking why, as a click on a plan
// message does; its metadata names no channel, which tells the submission
// to answer on the Home tab (answerOnHome). It returns an empty message
// when the dialog opened.
func (a *App) homeRejectDialog(ctx context.Context, triggerID, id, planHash string, actor bot.Actor) slackview.Message {
	return a.openRejectDialog(ctx, triggerID, id, planHash, actor, "")
}

// onHome runs fn in the background and shows its answer on actor's Home
// tab, published again as things then stand; an empty answer (a dialog
// opened instead) publishes nothing.
func (a *App) onHome(actor bot.Actor, teamID string, fn func(ctx context.Context) slackview.Message) {
	a.goBackground(func() {
		ctx, cancel := context.WithTimeout(a.base, 10*time.Minute)
		defer cancel()
		answer := fn(ctx)
		if answer.Text == "" && len(answer.Blocks) == 0 {
			return
		}
		a.answerOnHome(ctx, actor, teamID, answer)
	})
}

// answerOnHome publishes actor's Home tab with answer on top: the answer to
// something they did on the Home tab, which has no channel to answer in.
func (a *App) answerOnHome(ctx context.Context, actor bot.Actor, teamID string, answer slackview.Message) {
	ctx, cancel := context.WithTimeout(ctx, homeTimeout)
	defer cancel()
	a.publishHome(ctx, actor, teamID, &answer)
}
