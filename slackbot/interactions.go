package slackbot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
)

// Interaction handles clicks. It returns at once (Slack wants its answer
// within 3 seconds) and does the work in the background; refusals go to the
// person who clicked, privately, through the click's response_url.
func (a *App) Interaction(ctx context.Context, ic slack.InteractionCallback) {
	if ic.Type != slack.InteractionTypeBlockActions {
		return
	}
	actor := bot.Actor{ID: ic.User.ID, Name: userName(ic.User)}
	for _, action := range ic.ActionCallback.BlockActions {
		if action == nil {
			continue
		}
		switch action.ActionID {
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
			a.startPlan(action.Value, target, 0, actor, ic.ResponseURL)
		case slackview.ActionApprove, slackview.ActionReject, slackview.ActionRetry, slackview.ActionOverride:
			verb := map[string]string{slackview.ActionApprove: "approve", slackview.ActionReject: "reject", slackview.ActionRetry: "retry", slackview.ActionOverride: "override"}[action.ActionID]
			id, reason := action.Value, ""
			if verb == "reject" {
				reason = "rejected with the button"
			}
			a.background(ic.ResponseURL, func(ctx context.Context) slackview.Message { return a.runDecision(ctx, verb, id, reason, actor) })
		default:
			a.Log.WithField("action_id", action.ActionID).Warn("a click on an unknown action was ignored")
		}
	}
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
