package slackbot

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
)

// Who may do what, deny by default. Every way in — a /kaizala command, a
// click, a dialog submission, the Home tab, an event — passes allow before
// anything is read or done, so a person the bot does not serve learns
// nothing about any customer, and a click of theirs changes nothing.
//
// The roles come from bot.Policy (KAIZALA_APPROVERS, KAIZALA_SALES,
// KAIZALA_VIEWERS and their groups); the team from App.TeamID, the bot's
// own workspace as auth.test named it at start.
//
// Which team a request is from: the *user's* team. In a Slack Connect
// channel the channel, and the payload's team.id, may belong to another
// organisation while the person is one of ours, and the other way round
// (paradigmxyz/centaur#275 allows home users in external channels for this
// reason; looker/lookerbot#137 refuses users of other teams). So a click or
// dialog is judged by user.team_id, falling back to team.id only when Slack
// sent no user team. A slash command carries one team field, team_id (the
// only one slack-go's SlashCommand parses), taken as the workspace of the
// person who typed it: Slack resolves a command in the invoker's own
// workspace (a Slack Connect guest whose workspace lacks the app is told
// "/kaizala is not a valid command", slackapi/bolt-python#767), so a
// command from another team that does arrive says so in team_id. The fake
// Slack sends each user's own team in both places (fakeslack.User.TeamID).

// allow is the gate: it returns a refusal to show actor when they may not
// do something that needs the role need, "" when they may. teamID is the
// Slack team the request comes from, the user's own (see above); a team
// other than the bot's own is refused whatever the lists say, and so is an
// empty one, since the bot cannot tell where it is from.
//
// The refusal is Slack mrkdwn, already escaped, that names who to ask with
// mentions (<@U…>, <!subteam^S…>) and contains no customer data. Show it
// with refusedMessage, not slackview.Refusal, which would escape the
// mentions into plain text. err is an internal error (an unreadable user
// group), to be reported as one: the person may not go on.
//
// For App Home and events: call it first with bot.RoleViewer (seeing), the
// event's team_id as teamID, and show the refusal instead of the Home tab.
func (a *App) allow(ctx context.Context, actor bot.Actor, teamID string, need bot.Role) (refusal string, err error) {
	return a.check(ctx, actor, teamID, need, "")
}

// check is allow saying what was tried (doing: mrkdwn such as "run
// `/kaizala plan`"; "" for "do that"), so the refusal can name it.
func (a *App) check(ctx context.Context, actor bot.Actor, teamID string, need bot.Role, doing string) (string, error) {
	log := a.Log.WithFields(logrus.Fields{"slack_user": actor.ID, "team": teamID, "need": need.String()})
	policy := a.Engine.Policy
	switch {
	case a.TeamID == "":
		// Fail closed: serve learns its team from auth.test before it serves.
		log.Error("refused: the bot's own Slack team is not known (App.TeamID is unset)")
		return otherTeamRefusal(policy), nil
	case !strings.EqualFold(teamID, a.TeamID):
		log.WithField("own_team", a.TeamID).Info("refused a request from another Slack team")
		return otherTeamRefusal(policy), nil
	case need <= bot.RoleNone:
		return "", nil
	}
	have, err := policy.Role(ctx, actor)
	switch {
	case have >= need:
		// A group that could not be read could only have raised the role.
		return "", nil
	case err != nil:
		return "", fmt.Errorf("checking who %s is: %w", actor.ID, err)
	}
	log.WithField("role", have.String()).Info("refused: not allowed")
	return roleRefusal(policy, have, need, doing), nil
}

// refusedMessage shows a refusal from allow as a private reply.
func refusedMessage(refusal string) slackview.Message {
	line := ":no_entry: " + refusal
	return slackview.Message{Text: line, Blocks: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, line, false, false), nil, nil),
	}}
}

// roleRefusal says, without naming any customer, why someone with role
// have may not do what needs need, and who can change that.
func roleRefusal(p bot.Policy, have, need bot.Role, doing string) string {
	doing = cmp.Or(doing, "do that")
	who := whoToAsk(p)
	switch {
	case have == bot.RoleNone:
		return fmt.Sprintf("You are not set up to use kaizalabot, so you cannot %s: it answers only the people it is set up for. "+
			"Ask %s to add you: `KAIZALA_SALES` to see customers and request migrations, `KAIZALA_VIEWERS` to see them.", doing, who)
	case need == bot.RoleSales:
		return fmt.Sprintf("You may look, but not %s: planning, retrying, rejecting and scanning are for salespeople and approvers. "+
			"Ask %s to add you to `KAIZALA_SALES` if you should.", doing, who)
	}
	return fmt.Sprintf("Only approvers may %s; you are a %s. Ask %s.", doing, have, who)
}

// mention matches the mentions a refusal carries.
var mention = regexp.MustCompile(`<[@!](?:subteam\^)?([A-Z0-9]+)>`)

// plainRefusal is a refusal as plain text, for where Slack shows no mrkdwn
// (a dialog's field errors): mentions become @ID, formatting goes.
func plainRefusal(refusal string) string {
	plain := mention.ReplaceAllString(refusal, "@$1")
	return strings.NewReplacer("`", "", "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(plain)
}

// otherTeamRefusal is the answer to a person of another Slack team.
func otherTeamRefusal(p bot.Policy) string {
	return "kaizalabot works only for members of its own workspace; people from other organisations in a shared (Slack Connect) channel " +
		"cannot use it, whatever its lists say. Ask " + whoToAsk(p) + " if you need something from it."
}

// maxAsk is how many approvers a refusal names.
const maxAsk = 3

// whoToAsk names the approvers (who can grant access, and approve): the
// first few by mention, and the approver group.
func whoToAsk(p bot.Policy) string {
	var names []string
	for i, id := range p.Approvers {
		if i == maxAsk {
			names[len(names)-1] += fmt.Sprintf(" (or one of %d other approvers)", len(p.Approvers)-maxAsk)
			break
		}
		names = append(names, "<@"+slackview.Escape(id)+">")
	}
	if p.Group != "" {
		names = append(names, "a member of <!subteam^"+slackview.Escape(p.Group)+">")
	}
	switch len(names) {
	case 0:
		return "whoever runs kaizalabot"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// commandNeeds is the role /kaizala verb needs (verbNeeds, next to verbs).
// Deny by default: a verb of verbs that verbNeeds forgot needs an approver;
// a word that is no verb at all shows help, to anyone who may see.
func commandNeeds(verb string) bot.Role {
	if need, ok := verbNeeds[verb]; ok {
		return need
	}
	for _, v := range verbs {
		if v == verb {
			return bot.RoleApprover
		}
	}
	return bot.RoleViewer
}

// gateCommand refuses a command its sender may not run; nil lets it through.
func (a *App) gateCommand(ctx context.Context, cmd slack.SlashCommand) *slack.Msg {
	verb := "help" // an empty command shows help
	if text, _ := cleanCommand(cmd.Text); len(strings.Fields(text)) > 0 {
		verb = strings.ToLower(strings.Fields(text)[0])
	}
	actor := bot.Actor{ID: cmd.UserID, Name: cmd.UserName}
	shown := verb
	if utf8.RuneCountInString(shown) > 20 {
		shown = string([]rune(shown)[:20]) + "…"
	}
	refusal, err := a.check(ctx, actor, cmd.TeamID, commandNeeds(verb), "run `/kaizala "+slackview.Escape(shown)+"`")
	switch {
	case err != nil:
		return ephemeral(a.failure("checking who may run that", err))
	case refusal != "":
		return ephemeral(refusedMessage(refusal))
	}
	return nil
}

// actionNeeds is the role each button or menu needs, by its kind
// (slackview.ActionKind). Deny by default: an action not here needs an
// approver.
var actionNeeds = map[string]bot.Role{
	slackview.ActionTarget:       bot.RoleSales, // choosing the target of a plan
	slackview.ActionPlan:         bot.RoleSales,
	slackview.ActionPlanLine:     bot.RoleSales, // a line's menu on a batch alert plans at once
	slackview.ActionReject:       bot.RoleSales, // the engine then lets only approvers and the requester reject
	slackview.ActionBatchReject:  bot.RoleSales, // likewise
	slackview.ActionRetry:        bot.RoleSales, // likewise
	slackview.ActionApprove:      bot.RoleApprover,
	slackview.ActionBatchApprove: bot.RoleApprover,
	slackview.ActionOverride:     bot.RoleApprover,
	slackview.ActionUndo:         bot.RoleApprover, // as /kaizala undo
}

// viewNeeds is the role each dialog's submission needs, by callback_id.
// Deny by default: a callback_id not here needs an approver.
var viewNeeds = map[string]bot.Role{
	slackview.CallbackReject:      bot.RoleSales,
	slackview.CallbackBatchReject: bot.RoleSales,
}

// actionDoing names the actions in refusals (mrkdwn).
var actionDoing = map[string]string{
	slackview.ActionTarget: "choose the plan of a migration", slackview.ActionPlan: "click *Plan migration*",
	slackview.ActionPlanLine: "plan a migration", slackview.ActionReject: "click *Reject*", slackview.ActionBatchReject: "click *Reject*",
	slackview.ActionRetry: "click *Retry*", slackview.ActionApprove: "click *Approve*", slackview.ActionBatchApprove: "click *Approve*",
	slackview.ActionOverride: "click *Override*", slackview.ActionUndo: "click *Undo*",
}

// interactionNeeds is the role an interaction needs, and what it does: a
// click needs what its most demanding action needs; a submission what its
// dialog needs; anything else (nothing the bot acts on) an approver.
func interactionNeeds(ic slack.InteractionCallback) (need bot.Role, doing string) {
	switch ic.Type {
	case slack.InteractionTypeViewSubmission:
		need, ok := viewNeeds[ic.View.CallbackID]
		if !ok {
			need = bot.RoleApprover
		}
		return need, "submit this dialog"
	case slack.InteractionTypeBlockActions:
		for _, action := range ic.ActionCallback.BlockActions {
			if action == nil {
				continue
			}
			kind := slackview.ActionKind(action.ActionID)
			n, ok := actionNeeds[kind]
			if !ok {
				n = bot.RoleApprover
			}
			if doing == "" || n > need {
				need, doing = n, cmp.Or(actionDoing[kind], "do that")
			}
		}
		return need, doing
	}
	return bot.RoleApprover, ""
}

// gateInteraction refuses a click or submission its sender may not make:
// refused reports whether it did, answer is then the reply to Slack. A
// refused click is told through its response_url; a refused dialog shows
// the refusal under its first field and stays open.
func (a *App) gateInteraction(ctx context.Context, ic slack.InteractionCallback) (answer *slack.ViewSubmissionResponse, refused bool) {
	actor := bot.Actor{ID: ic.User.ID, Name: userName(ic.User)}
	need, doing := interactionNeeds(ic)
	refusal, err := a.check(ctx, actor, cmp.Or(ic.User.TeamID, ic.Team.ID), need, doing)
	var reply slackview.Message
	switch {
	case err != nil:
		reply = a.failure("checking who may do that", err)
		refusal = "Something went wrong while checking who may do that; nothing was done. Try again in a minute."
	case refusal != "":
		reply = refusedMessage(refusal)
	default:
		return nil, false
	}
	if ic.Type == slack.InteractionTypeViewSubmission {
		for _, b := range ic.View.Blocks.BlockSet {
			if in, ok := b.(*slack.InputBlock); ok && in.BlockID != "" {
				return slack.NewErrorsViewSubmissionResponse(map[string]string{in.BlockID: plainRefusal(refusal)}), true
			}
		}
	}
	if ic.ResponseURL == "" {
		// A click on the Home tab has no response_url; nothing was done.
		a.Log.WithField("slack_user", actor.ID).Info("a refused interaction had nowhere to be answered")
		return nil, true
	}
	a.background(ic.ResponseURL, func(context.Context) slackview.Message { return reply })
	return nil, true
}
