package slackbot

import (
	"context"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
)

func TestCleanCommand(t *testing.T) {
	for _, tc := range []struct {
		in, want, problem string
	}{
		{"  list 30 ", "  list 30 ", ""},
		{"list\x00\x00 30", "list 30", ""},
		{"\u202ehelp\u202c", "help", ""},
		{"plan\tX\nY", "plan X Y", ""},
		{"a\u200bpprove M1", "approve M1", ""},
		{strings.Repeat("x", 501), "", "501 characters"},
		{"bad \xff utf8", "", "not valid text"},
	} {
		got, problem := cleanCommand(tc.in)
		if got != tc.want || !strings.Contains(problem, tc.problem) || (tc.problem == "") != (problem == "") {
			t.Errorf("cleanCommand(%q) = %q, %q; want %q, %q", tc.in, got, problem, tc.want, tc.problem)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	for typed, want := range map[string]string{"lsit": "list", "aprove": "approve", "stauts": "status", "histroy": "history", "xyzzy": "", "plna": "plan"} {
		if got := didYouMean(typed, verbs); got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", typed, got, want)
		}
	}
}

// A typed reject asks for a reason, as the dialog does, before anything is
// looked up (the app has no store: a lookup would panic).
func TestTypedRejectAsksWhy(t *testing.T) {
	a, _ := accessApp(t, listedPolicy())
	for _, text := range []string{"reject M7K2QX", "reject M7K2QX   ", "reject M7K2QX no"} {
		got := a.Command(context.Background(), slack.SlashCommand{TeamID: ownTeam, UserID: people[bot.RoleApprover], Command: "/kaizala", Text: text})
		if got == nil || !strings.Contains(got.Text, "Say why") || !strings.Contains(got.Text, "/kaizala reject M7K2QX") {
			t.Errorf("%q answered %+v, want a request for a reason", text, got)
		}
	}
}
