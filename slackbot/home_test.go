package slackbot

import (
	"slices"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
)

func TestFromHomeTellsHomeTabClicksApart(t *testing.T) {
	for _, tc := range []struct {
		name string
		ic   slack.InteractionCallback
		want bool
	}{
		{"a click on the Home tab", slack.InteractionCallback{Type: slack.InteractionTypeBlockActions,
			Container: slack.Container{Type: "view", ViewID: "V1"}, View: slack.View{ID: "V1", Type: slack.VTHomeTab}}, true},
		{"a click on a message", slack.InteractionCallback{Type: slack.InteractionTypeBlockActions,
			Container: slack.Container{Type: "message", ChannelID: "C1", MessageTs: "1.2"}, ResponseURL: "https://hooks.slack.com/x"}, false},
		{"a click inside a dialog", slack.InteractionCallback{Type: slack.InteractionTypeBlockActions,
			Container: slack.Container{Type: "view", ViewID: "V2"}, View: slack.View{ID: "V2", Type: slack.VTModal}}, false},
		{"a dialog submitted", slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, View: slack.View{Type: slack.VTModal}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromHome(tc.ic); got != tc.want {
				t.Errorf("fromHome = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHomeListsOnlyWhatNeedsAMigration(t *testing.T) {
	end := func(days int) time.Time { return time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days) }
	sub := func(id string, days int, autoRenew bool) bot.TrackedSubscription {
		return bot.TrackedSubscription{Finding: bot.Finding{
			Subscription: bot.Subscription{ID: id, Status: "active", EndDate: end(days), AutoRenew: autoRenew},
			DaysLeft:     days,
		}}
	}
	tracked := []bot.TrackedSubscription{sub("ended", -3, false), sub("soon", 12, false), sub("renews", 20, true), sub("later", 200, false), sub("theirs", 30, false)}
	for i := range tracked {
		tracked[i].Customer = bot.Customer{ID: "c-" + tracked[i].Subscription.ID, Domain: tracked[i].Subscription.ID + ".example"}
	}
	owners := &bot.Owners{}
	for customer, owner := range map[string]string{"soon.example": "U0MINE", "c-ended": "U0MINE", "theirs.example": "U0OTHER"} {
		if err := owners.Add(customer, bot.Owner{UserID: owner}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		owners *bot.Owners
		user   string
		want   []string
		owned  bool
	}{
		{"no owners set: the soonest", nil, "U0MINE", []string{"ended", "soon", "theirs"}, false},
		{"an owner: their own", owners, "U0MINE", []string{"ended", "soon"}, true},
		{"someone owning nothing: the soonest", owners, "U0BOSS", []string{"ended", "soon", "theirs"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, owned := (&App{Owners: tc.owners}).homeCustomersOf(bot.Actor{ID: tc.user}, tracked)
			var ids []string
			for _, t := range got {
				ids = append(ids, t.Subscription.ID)
			}
			if !slices.Equal(ids, tc.want) || owned != tc.owned {
				t.Errorf("the Home tab lists %v (owned %v), want %v (owned %v)", ids, owned, tc.want, tc.owned)
			}
		})
	}
}
