package slackbot

import (
	"strings"
	"testing"

	"github.com/kaizalabot/kaizalabot/bot"
)

func TestMentionedUser(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"<@U0OWNER1>", "U0OWNER1", true},
		{"<@U0OWNER1|dana>", "U0OWNER1", true},
		{"W0ENTERPRISE", "W0ENTERPRISE", true},
		{"U0OWNER1", "U0OWNER1", true},
		{"@dana", "", false},
		{"Udana", "", false}, // a word, not an id: ids are in capitals
		{"<!channel>", "", false},
		{"U1", "", false},
	} {
		if got, ok := mentionedUser(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("mentionedUser(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestPlanAllRefusesWhatItCannotRead: a mistake in the command is told at
// once, before any plan is worked out.
func TestPlanAllRefusesWhatItCannotRead(t *testing.T) {
	a := &App{}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "Usage: /kaizala plan all"},
		{[]string{"within", "30"}, "Usage: /kaizala plan all"},
		{[]string{"STANDARDPACK", "within"}, "Usage: /kaizala plan all"},
		{[]string{"STANDARDPACK", "within", "soon"}, `"soon" is not a number of days`},
		{[]string{"STANDARDPACK", "within", "0"}, "not a number of days"},
		{[]string{"STANDARDPACK", "owner", "@dana"}, "owner's Slack user id"},
	} {
		msg := a.planAll(tt.args, bot.Actor{ID: "U0SALES"}, "")
		if msg == nil || !strings.Contains(msg.Text, tt.want) {
			t.Errorf("plan all %v: %+v, want a refusal saying %q", tt.args, msg, tt.want)
		}
	}
}
