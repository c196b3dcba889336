package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/config"
)

// startProblem is a setting that Slack shows to be wrong at start: serve
// stops with exit status 2 and this one line, as for a setting that does
// not parse, rather than starting "fine" and failing at the first alert.
type startProblem struct{ line string }

func (p *startProblem) Error() string { return p.line }

func problemf(format string, args ...any) error {
	return &startProblem{line: fmt.Sprintf(format, args...)}
}

// slackIdentity is who the bot is in Slack, as auth.test says.
type slackIdentity struct {
	TeamID, Team, User string
}

// checkSlack asks Slack, before serving, whether the settings work: the
// token (auth.test), the channels the bot posts to (conversations.info)
// and the approvers (usergroups.users.list, for the groups). members is
// the reader the policy uses, so its cache is warm when requests come.
// A *startProblem is a setting to fix; any other error is Slack not
// answering.
func checkSlack(ctx context.Context, api *slack.Client, cfg config.Serve, members bot.GroupMembers, log logrus.FieldLogger) (slackIdentity, error) {
	auth, err := api.AuthTestContext(ctx)
	if err != nil {
		if code, refused := slackRefusal(err); refused {
			return slackIdentity{}, problemf("SLACK_BOT_TOKEN: Slack refused the bot token (auth.test: %s): %s", code, tokenHint(code))
		}
		return slackIdentity{}, fmt.Errorf("asking Slack who the bot is (auth.test at SLACK_API_URL): %w", err)
	}
	if auth.TeamID == "" {
		return slackIdentity{}, problemf("SLACK_BOT_TOKEN: auth.test named no team for this token; use the app's Bot User OAuth Token (xoxb-…)")
	}
	me := slackIdentity{TeamID: auth.TeamID, Team: auth.Team, User: auth.User}

	channels := []struct{ name, id string }{{"KAIZALA_ALERT_CHANNEL", cfg.AlertChannel}}
	if cfg.DigestChannel != "" && cfg.DigestChannel != cfg.AlertChannel {
		channels = append(channels, struct{ name, id string }{"KAIZALA_DIGEST_CHANNEL", cfg.DigestChannel})
	}
	for _, c := range channels {
		if err := checkChannel(ctx, api, c.name, c.id, log); err != nil {
			return me, err
		}
	}

	approvers := slices.Clone(cfg.Approvers)
	for _, g := range []struct{ name, id string }{
		{"KAIZALA_APPROVER_GROUP", cfg.ApproverGroup}, {"KAIZALA_SALES_GROUP", cfg.SalesGroup}, {"KAIZALA_VIEWER_GROUP", cfg.ViewerGroup},
	} {
		if g.id == "" {
			continue
		}
		ids, err := members.GroupMembers(ctx, g.id)
		if err != nil {
			if code, refused := slackRefusal(err); refused {
				return me, problemf("%s=%s: Slack would not list the group's members (usergroups.users.list: %s): %s", g.name, g.id, code, groupHint(code))
			}
			return me, fmt.Errorf("reading %s %s: %w", g.name, g.id, err)
		}
		if g.id == cfg.ApproverGroup {
			approvers = append(approvers, ids...)
		}
	}
	approvers = distinctIDs(approvers)
	switch required := max(1, cfg.RequiredApprovals); {
	case len(approvers) == 0:
		return me, problemf("KAIZALA_APPROVER_GROUP=%s has no members and KAIZALA_APPROVERS is empty, so nobody could approve a migration (or use the bot); add approvers", cfg.ApproverGroup)
	case len(approvers) < required:
		return me, problemf("KAIZALA_REQUIRED_APPROVALS=%d: KAIZALA_APPROVERS and the members of KAIZALA_APPROVER_GROUP=%s make only %s, so no migration could ever be approved",
			required, cfg.ApproverGroup, approverCount(len(approvers)))
	}
	return me, nil
}

// checkChannel makes sure the bot can post to channel id, set by name.
func checkChannel(ctx context.Context, api *slack.Client, name, id string, log logrus.FieldLogger) error {
	ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
	code, refused := slackRefusal(err)
	switch {
	case err == nil:
	case refused && code == "missing_scope":
		// An app installed before the manifest asked for channels:read and
		// groups:read: it may well post; say how to let it check.
		log.WithField("channel", id).Warnf("%s could not be checked: the app lacks the channels:read and groups:read scopes (conversations.info: missing_scope); add them and reinstall the app", name)
		return nil
	case refused && code == "channel_not_found":
		return problemf("%s=%s: the bot cannot see this channel (conversations.info: channel_not_found): check the channel ID, and for a private channel invite the bot (/invite @kaizalabot)", name, id)
	case refused:
		return problemf("%s=%s: Slack would not describe this channel (conversations.info: %s)", name, id, code)
	default:
		return fmt.Errorf("checking %s %s (conversations.info): %w", name, id, err)
	}
	switch {
	case ch.IsArchived:
		return problemf("%s=%s: the channel is archived, so the bot cannot post there; unarchive it or choose another channel", name, id)
	case ch.IsIM:
		// A DM with the bot: the bot is always in it.
	case !ch.IsMember && (ch.IsPrivate || ch.IsGroup || ch.IsMpIM):
		return problemf("%s=%s: the bot is not a member of this private channel, so it cannot post there; invite it (/invite @kaizalabot)", name, id)
	case !ch.IsMember:
		log.WithField("channel", id).Debugf("the bot is not a member of %s; it posts there with the chat:write.public scope", name)
	}
	return nil
}

// slackRefusal is the error code of Slack's "ok": false answer; refused is
// false for other failures (the network, a 5xx, a rate limit).
func slackRefusal(err error) (code string, refused bool) {
	var resp slack.SlackErrorResponse
	if errors.As(err, &resp) {
		return resp.Err, true
	}
	return "", false
}

func tokenHint(code string) string {
	switch code {
	case "token_revoked", "token_expired", "account_inactive":
		return "the token was revoked or the app removed from the workspace; reinstall the app and copy the new Bot User OAuth Token (xoxb-…)"
	}
	return "use the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page, of the workspace this bot serves"
}

func groupHint(code string) string {
	switch code {
	case "no_such_subteam", "subteam_not_found":
		return "check the user group ID (they look like S0614TZR7)"
	case "missing_scope":
		return "add the usergroups:read scope to the app and reinstall it"
	}
	return "check the user group ID and the app's usergroups:read scope"
}

func distinctIDs(ids []string) []string {
	var out []string
	for _, id := range ids {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, id) }) {
			out = append(out, id)
		}
	}
	return out
}

// logAccess says at start who may use the bot, and how it hears Slack.
func logAccess(log logrus.FieldLogger, cfg config.Serve, me slackIdentity, policy bot.Policy) {
	mode := "HTTP (Slack posts to /slack/commands, /slack/interactions and /slack/events)"
	if cfg.AppToken != "" {
		mode = "Socket Mode (SLACK_APP_TOKEN; no public URL)"
	}
	log.WithFields(logrus.Fields{"team": me.TeamID, "bot": me.User, "mode": mode}).Info("connected to Slack as " + me.User + " in " + me.Team + "; receiving over " + mode)
	if !policy.Open() {
		log.Info("only approvers may use the bot: KAIZALA_SALES, KAIZALA_SALES_GROUP, KAIZALA_VIEWERS and KAIZALA_VIEWER_GROUP are all unset")
		return
	}
	log.WithFields(logrus.Fields{
		"approvers": len(policy.Approvers), "approver_group": policy.Group, "sales": len(policy.Sales),
		"sales_group": policy.SalesGroup, "viewers": len(policy.Viewers), "viewer_group": policy.ViewerGroup,
	}).Info("the bot answers approvers, salespeople and viewers only; everyone else, and anyone from another Slack team, is refused")
}

func approverCount(n int) string {
	if n == 1 {
		return "1 approver"
	}
	return fmt.Sprintf("%d approvers", n)
}
