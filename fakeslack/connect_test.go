package fakeslack

import (
	"errors"
	"net/http"
	"testing"

	"github.com/slack-go/slack"
)

// A user of another organisation in a Slack Connect channel carries their
// own team's id in what they send and in users.info; the app's team stays
// the fake's (auth.test).
func TestSlackConnectUserCarriesTheirTeam(t *testing.T) {
	s, api := start(t, Options{Users: []User{{ID: "U0HOME", Name: "home"}, {ID: "U0GUEST", Name: "guest", TeamID: "T0OTHER"}}})
	ctx := testContext(t)
	app := newBotApp(t, s, nil, nil)

	auth, err := api.AuthTestContext(ctx)
	if err != nil || auth.TeamID != DefaultTeamID {
		t.Fatalf("auth.test = %+v, %v; want team %s", auth, err, DefaultTeamID)
	}
	for user, team := range map[string]string{"U0HOME": DefaultTeamID, "U0GUEST": "T0OTHER"} {
		u, err := api.GetUserInfoContext(ctx, user)
		if err != nil || u.TeamID != team {
			t.Errorf("users.info(%s) team %q, %v; want %s", user, u.TeamID, err, team)
		}
		if _, err := s.Command(ctx, user, "C0SHARED", "help"); err != nil {
			t.Fatal(err)
		}
		if cmd := receive(t, app.commands); cmd.TeamID != team {
			t.Errorf("%s's command has team_id %q, want %s", user, cmd.TeamID, team)
		}
	}

	if _, _, err := api.PostMessageContext(ctx, "C0SHARED", slack.MsgOptionText("card", false), slack.MsgOptionBlocks(approvalBlocks()...)); err != nil {
		t.Fatal(err)
	}
	if reply, err := s.Click(ctx, "U0GUEST", s.Messages("C0SHARED")[0], "approve"); err != nil || reply.Status != http.StatusOK {
		t.Fatalf("Click: %+v, %v", reply, err)
	}
	ic := receive(t, app.clicks)
	if ic.User.TeamID != "T0OTHER" || ic.Team.ID != DefaultTeamID {
		t.Errorf("click: user.team_id %q, team.id %q; want T0OTHER and %s", ic.User.TeamID, ic.Team.ID, DefaultTeamID)
	}
}

func TestConversationsInfo(t *testing.T) {
	_, api := start(t, Options{
		ChannelNames: map[string]string{"C0ALERTS": "kaizala-alerts"},
		Channels: map[string]Channel{
			"C0PUBLIC":  {Outside: true},
			"C0SECRET":  {Private: true},
			"C0HIDDEN":  {Private: true, Outside: true},
			"G0HIDDEN":  {Outside: true},
			"C0ARCHIVE": {Archived: true},
		},
	})
	ctx := testContext(t)
	for _, tc := range []struct {
		channel                      string
		err                          string // Slack's error, "" for ok
		member, private, im, archive bool
	}{
		{channel: "C0ALERTS", member: true},
		{channel: "C0PUBLIC"},
		{channel: "C0SECRET", member: true, private: true},
		{channel: "C0HIDDEN", err: "channel_not_found"},
		{channel: "G0HIDDEN", err: "channel_not_found"},
		{channel: "C0ARCHIVE", member: true, archive: true},
		{channel: "DU0ALICE", im: true},
	} {
		t.Run(tc.channel, func(t *testing.T) {
			ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: tc.channel})
			var slackErr slack.SlackErrorResponse
			if tc.err != "" {
				if !errors.As(err, &slackErr) || slackErr.Err != tc.err {
					t.Errorf("err = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ch.ID != tc.channel || ch.IsMember != tc.member || ch.IsPrivate != tc.private || ch.IsIM != tc.im || ch.IsArchived != tc.archive {
				t.Errorf("conversations.info = id %s member %v private %v im %v archived %v", ch.ID, ch.IsMember, ch.IsPrivate, ch.IsIM, ch.IsArchived)
			}
		})
	}
	if ch, _ := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "C0ALERTS"}); ch == nil || ch.Name != "kaizala-alerts" {
		t.Errorf("conversations.info names C0ALERTS %+v", ch)
	}

	// Posting follows: a public channel takes the bot's posts even from
	// outside (chat:write.public); a private one it is not in does not exist
	// for it; an archived one refuses.
	for channel, want := range map[string]string{"C0PUBLIC": "", "C0HIDDEN": "channel_not_found", "C0ARCHIVE": "is_archived"} {
		_, _, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("hello", false))
		var slackErr slack.SlackErrorResponse
		if want == "" && err != nil || want != "" && (!errors.As(err, &slackErr) || slackErr.Err != want) {
			t.Errorf("chat.postMessage to %s: %v, want %q", channel, err, want)
		}
	}
}
