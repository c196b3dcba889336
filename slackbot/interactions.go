package slackbot

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
)

// Interaction handles clicks and the reject dialog. It returns at once
// (Slack wants its answer within 3 seconds) and does the work in the
// background; refusals go to the person who clicked, privately, through the
// click's response_url.
func (a *App) Interaction(ctx context.Context, ic slack.InteractionCallback) *slack.ViewSubmissionResponse {
	actor := bot.Actor{ID: ic.User.ID, Name: userName(ic.User)}
	if answer, refused := a.gateInteraction(ctx, ic); refused {
		return answer
	}
	if fromHome(ic) {
		// A Home tab click has no channel or response_url; home.go answers it on the Home tab.
		return a.homeInteraction(ic, actor)
	}
	switch {
	case ic.Type == slack.InteractionTypeViewSubmission && ic.View.CallbackID == slackview.CallbackReject:
		return a.rejectWithReason(ic, actor)
	case ic.Type == slack.InteractionTypeViewSubmission && ic.View.CallbackID == slackview.CallbackBatchReject:
		return a.rejectBatchWithReason(ic, actor) // batch.go
	case ic.Type != slack.InteractionTypeBlockActions:
		return nil
	}
	for _, action := range ic.ActionCallback.BlockActions {
		if action == nil {
			continue
		}
		switch slackview.ActionKind(action.ActionID) {
		case slackview.ActionTarget:
			// Choosing a plan only changes the selection; "Plan migration" uses it.
		case slackview.ActionPlan:
			target := selectedTarget(ic)
			if target == "" {
				a.background(ic.ResponseURL, func(context.Context) slackview.Message {
					return slackview.Refusal("Choose a replacement plan in the menu first, then click Plan migration.")
				})
				continue
			}
			a.startPlan(bot.PlanRequest{SubscriptionID: action.Value, Target: target, Requester: actor}, ic.ResponseURL)
		case slackview.ActionBatchApprove, slackview.ActionBatchReject:
			a.batchClick(ic, action, actor) // batch.go
		case slackview.ActionReject:
			id, planHash := slackview.ParseDecisionValue(action.Value)
			a.askRejectReason(ic, id, planHash, actor)
		case slackview.ActionApprove, slackview.ActionRetry, slackview.ActionOverride, slackview.ActionUndo:
			verb := buttonVerbs[action.ActionID]
			id, planHash := slackview.ParseDecisionValue(action.Value)
			if planHash == "" {
				// A button without the plan's hash cannot prove which plan
				// was seen: with money at stake, ask for a fresh click.
				a.background(ic.ResponseURL, func(context.Context) slackview.Message {
					return slackview.Refusal(fmt.Sprintf("That button is from an older message and does not say which plan it was for; nothing was done. Use the buttons on the plan as it is now, or type /kaizala %s %s.", verb, id))
				})
				continue
			}
			a.background(ic.ResponseURL, func(ctx context.Context) slackview.Message { return a.runDecision(ctx, verb, id, planHash, "", actor) })
		case slackview.ActionPlanLine:
			// A line of a batch alert: choosing a plan in its menu asks for it.
			sub, target, ok := slackview.ParsePlanLineValue(action.SelectedOption.Value)
			if !ok {
				a.Log.WithField("action_id", action.ActionID).Warn("a line's menu came back without a plan; nothing was planned")
				continue
			}
			a.startPlan(bot.PlanRequest{SubscriptionID: sub, Target: target, Requester: actor}, ic.ResponseURL)
		default:
			a.Log.WithField("action_id", action.ActionID).Warn("a click on an unknown action was ignored")
		}
	}
	return nil
}

// buttonVerbs are the decisions a button makes, by its action id: the same
// verbs (and engine calls) as typing them. An undo clicked gives no reason.
var buttonVerbs = map[string]string{
	slackview.ActionApprove: "approve", slackview.ActionRetry: "retry", slackview.ActionOverride: "override", slackview.ActionUndo: "undo",
}

// askRejectReason opens the dialog that asks why, but only when the
// rejection would count: someone who may not reject is told so at once
// rather than after typing a reason for nothing.
func (a *App) askRejectReason(ic slack.InteractionCallback, id, planHash string, actor bot.Actor) {
	a.background(ic.ResponseURL, func(ctx context.Context) slackview.Message {
		return a.openRejectDialog(ctx, ic.TriggerID, id, planHash, actor, cmp.Or(ic.Channel.ID, ic.Container.ChannelID))
	})
}

// openRejectDialog opens the dialog that asks why a migration is rejected,
// or answers why actor may not reject it; channel is where the outcome is
// told ("" for the Home tab, see answerOnHome). It returns an empty message
// when the dialog opened.
func (a *App) openRejectDialog(ctx context.Context, triggerID, id, planHash string, actor bot.Actor, channel string) slackview.Message {
	m, refusal, err := a.Engine.MayReject(ctx, id, planHash, actor)
	switch {
	case err != nil:
		return a.failure("rejecting", err)
	case refusal != "":
		return slackview.Refusal(refusal)
	}
	// A trigger_id is good for 3 seconds after the click, so the dialog
	// opens before anything slow.
	view := slackview.RejectModal(m, slackview.RejectMeta{MigrationID: m.ID, PlanHash: m.PlanHash, Channel: channel})
	if _, err := a.Slack.OpenViewContext(ctx, triggerID, view); err != nil {
		a.slackFailed("views.open", err)
		return slackview.Refusal(fmt.Sprintf("The dialog asking for a reason did not open (%s). Type `/kaizala reject %s <reason>` instead.", slackErrorCode(err), m.ID))
	}
	return slackview.Message{} // the dialog is the answer
}

// readRejectDialog reads a submitted reject dialog (of a migration or, with
// what "batch id", of a batch): its metadata and reason, or the answer that
// sends the dialog back with the problem under the field.
func (a *App) readRejectDialog(ic slack.InteractionCallback, what string) (slackview.RejectMeta, string, *slack.ViewSubmissionResponse) {
	meta, err := slackview.ParseRejectMeta(ic.View.PrivateMetadata)
	if err != nil {
		a.Log.WithError(err).Error("a reject dialog came back unreadable; nothing was rejected")
		return meta, "", slack.NewErrorsViewSubmissionResponse(map[string]string{slackview.BlockReason: "This dialog is broken; nothing was rejected. Type /kaizala reject <" + what + "> <reason> instead."})
	}
	reason := slackview.RejectReason(ic.View.State)
	if len([]rune(reason)) < slackview.MinReason {
		return meta, "", slack.NewErrorsViewSubmissionResponse(map[string]string{slackview.BlockReason: fmt.Sprintf("Say why in at least %d characters; the requester will read it.", slackview.MinReason)})
	}
	return meta, reason, nil
}

// rejectWithReason acts on the submitted reject dialog. A reason that is
// only blanks is sent back under the field; anything else closes the dialog
// and the outcome is told privately in the channel of the click.
func (a *App) rejectWithReason(ic slack.InteractionCallback, actor bot.Actor) *slack.ViewSubmissionResponse {
	meta, reason, back := a.readRejectDialog(ic, "id")
	if back != nil {
		return back
	}
	a.goBackground(func() {
		ctx, cancel := context.WithTimeout(a.base, time.Minute)
		defer cancel()
		outcome := a.runDecision(ctx, "reject", meta.MigrationID, meta.PlanHash, reason, actor)
		if meta.Channel == "" { // the dialog was opened from the Home tab (home.go)
			a.answerOnHome(ctx, actor, ic.Team.ID, outcome)
			return
		}
		a.tell(ctx, meta.Channel, actor.ID, outcome)
	})
	return nil
}

// selectedTarget is the replacement plan chosen in the alert's menu: the
// current selection, else the menu's initial option.
func selectedTarget(ic slack.InteractionCallback) string {
	for _, block := range ic.BlockActionState.Values {
		if sel, ok := block[slackview.ActionTarget]; ok && sel.SelectedOption.Value != "" {
			return sel.SelectedOption.Value
		}
	}
	for _, b := range ic.Message.Blocks.BlockSet {
		actions, ok := b.(*slack.ActionBlock)
		if !ok || actions.Elements == nil {
			continue
		}
		for _, el := range actions.Elements.ElementSet {
			if sel, ok := el.(*slack.SelectBlockElement); ok && sel.ActionID == slackview.ActionTarget && sel.InitialOption != nil {
				return sel.InitialOption.Value
			}
		}
	}
	return ""
}

func userName(u slack.User) string {
	for _, n := range []string{u.Name, u.Profile.DisplayName, u.RealName} {
		if n != "" {
			return n
		}
	}
	return fmt.Sprint(u.ID)
}
