package slackbot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
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

func TestCutStrategy(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    bot.Strategy
		rest    string
		problem string
	}{
		{"STANDARDPACK", "", "STANDARDPACK", ""},
		{"STANDARDPACK via transition", bot.StrategyTransition, "STANDARDPACK", ""},
		{"STANDARDPACK 30 old=leave via replace", bot.StrategyReplace, "STANDARDPACK 30 old=leave", ""},
		{"STANDARDPACK via at-renewal 25", bot.StrategyRenewal, "STANDARDPACK 25", ""},
		{"Office 365 E1 VIA Renewal", bot.StrategyRenewal, "Office 365 E1", ""},
		{"STANDARDPACK via teleport", "", "", `"teleport" is not a path I know: say via transition`},
		{"STANDARDPACK via", "", "", "“via” needs a path after it"},
		{"via transition STANDARDPACK", bot.StrategyTransition, "STANDARDPACK", ""},
		{"via transition", bot.StrategyTransition, "", ""}, // no target left: the command answers with its usage
	} {
		s, rest, problem := cutStrategy(strings.Fields(tc.in))
		if s != tc.want || strings.Join(rest, " ") != tc.rest || !strings.HasPrefix(problem, tc.problem) || (tc.problem == "") != (problem == "") {
			t.Errorf("cutStrategy(%q) = %q, %q, %q; want %q, %q, %q", tc.in, s, rest, problem, tc.want, tc.rest, tc.problem)
		}
	}
}

// A path that does not exist is answered privately, at once, naming the
// ones that do (before anything is looked up: the app has no store).
func TestPlanViaUnknownPath(t *testing.T) {
	a, _ := accessApp(t, listedPolicy())
	got := a.Command(context.Background(), slack.SlashCommand{TeamID: ownTeam, UserID: people[bot.RoleSales], Command: "/kaizala",
		Text: "plan 4A1B2C3D STANDARDPACK via teleport"})
	if got == nil || got.ResponseType != slack.ResponseTypeEphemeral {
		t.Fatalf("answered %+v, want a private refusal", got)
	}
	for _, want := range []string{"teleport", "via transition", "via renewal", "via replace"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("the refusal %q does not name %q", got.Text, want)
		}
	}
}

func TestUndoUsage(t *testing.T) {
	a, _ := accessApp(t, listedPolicy())
	got := a.Command(context.Background(), slack.SlashCommand{TeamID: ownTeam, UserID: people[bot.RoleApprover], Command: "/kaizala", Text: "undo"})
	if got == nil || !strings.Contains(got.Text, "Usage: /kaizala undo &lt;request-id&gt; [reason]") {
		t.Errorf("answered %+v, want the usage", got)
	}
}

// The requester cannot undo their own migration, typed or clicked: the
// engine's refusal is told privately, and nothing changes.
func TestRequesterCannotUndo(t *testing.T) {
	s := newAlertStack(t)
	r := newResponses(t)
	requester := bot.Actor{ID: "U0REQ0001", Name: "Dana Reyes"}
	s.app.Engine = &bot.Engine{Store: s.db, Policy: bot.Policy{Approvers: []string{requester.ID, undoer.ID}}}
	s.app.TeamID, s.app.base = ownTeam, context.Background()
	m := replaceDone()
	ctx := context.Background()
	if err := s.db.CreateMigration(ctx, m); err != nil {
		t.Fatal(err)
	}
	typed := s.app.Command(ctx, slack.SlashCommand{TeamID: ownTeam, UserID: requester.ID, Command: "/kaizala", Text: "undo " + m.ID + " changed my mind", ResponseURL: r.srv.URL + "/typed"})
	ic := click(requester.ID, ownTeam, r.srv.URL, slackview.ActionUndo)
	ic.ActionCallback.BlockActions[0].Value = slackview.DecisionValue(m)
	clicked := s.app.Interaction(ctx, ic)
	s.app.Wait()
	if typed != nil || clicked != nil {
		t.Errorf("the answers come through response_url; got %+v and %+v at once", typed, clicked)
	}
	got := r.all()
	if len(got) != 2 {
		t.Fatalf("%d answers, want one for the typed undo and one for the click: %q", len(got), got)
	}
	for _, body := range got {
		var msg slack.Msg
		if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.ResponseType != slack.ResponseTypeEphemeral ||
			!strings.Contains(msg.Text, "an approver other than you must confirm its undo") {
			t.Errorf("the requester's undo answered %s", body)
		}
	}
	if after, err := s.db.GetMigration(ctx, m.ID); err != nil || after.State != bot.StateDone {
		t.Errorf("after a refused undo the migration is %v (%v), want done", after.State, err)
	}
}
