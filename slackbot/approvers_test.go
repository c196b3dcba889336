package slackbot

import (
	"slices"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

func TestApprovedByCountsTheCurrentPlansApprovers(t *testing.T) {
	m := &bot.Migration{ID: "M1", PlanHash: "h2", Requester: bot.Actor{ID: "U0REQ"}}
	approve := func(who, hash string) bot.Decision {
		return bot.Decision{MigrationID: "M1", Actor: bot.Actor{ID: who}, Kind: bot.DecisionApprove, PlanHash: hash}
	}
	for _, tc := range []struct {
		name string
		ds   []bot.Decision
		want int
	}{
		{"none", nil, 0},
		{"one", []bot.Decision{approve("U0A", "h2")}, 1},
		{"the same approver twice, in another case", []bot.Decision{approve("U0A", "h2"), approve("u0a", "h2")}, 1},
		{"an earlier plan's approval", []bot.Decision{approve("U0A", "h1"), approve("U0B", "h2")}, 1},
		{"the requester's own", []bot.Decision{approve("U0REQ", "h2")}, 0},
		{"a rejection", []bot.Decision{{Actor: bot.Actor{ID: "U0A"}, Kind: bot.DecisionReject, PlanHash: "h2"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(approvedBy(m, tc.ds)); got != tc.want {
				t.Errorf("approvedBy counts %d, want %d", got, tc.want)
			}
		})
	}
}

func TestAReminderWaitsOnWhoHasNotApproved(t *testing.T) {
	a := &App{Engine: &bot.Engine{Policy: bot.Policy{Approvers: []string{"U0A", "U0B"}, Group: "S0G", Required: 2}}, Now: func() time.Time { return time.Unix(0, 0) }}
	m := &bot.Migration{ID: "M1", PlanHash: "h", Requester: bot.Actor{ID: "U0REQ"}}
	v := a.waitingView(m, []bot.Decision{{Actor: bot.Actor{ID: "u0a"}, Kind: bot.DecisionApprove, PlanHash: "h"}})
	if !slices.Equal(v.Approvers, []string{"U0B"}) || v.Group != "S0G" || v.Approvals != 1 || v.Required != 2 {
		t.Errorf("waiting on %v / %s with %d of %d", v.Approvers, v.Group, v.Approvals, v.Required)
	}
}
