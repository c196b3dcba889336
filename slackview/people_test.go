package slackview

import (
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

func TestWaitsOn(t *testing.T) {
	tests := []struct {
		name      string
		approvers []string
		group     string
		want      string
	}{
		{"nobody", nil, "", "an approver"},
		{"one", []string{"U0APR0001"}, "", "<@U0APR0001>"},
		{"not the requester", []string{"U0REQ0001", "U0APR0001"}, "", "<@U0APR0001>"},
		{"only the requester", []string{"U0REQ0001"}, "", "an approver"},
		{"two and a group", []string{"U0APR0001", "U0APR0002"}, "S0APPROVE", "<@U0APR0001>, <@U0APR0002> or <!subteam^S0APPROVE>"},
		{"no forged mention", []string{"<!channel>", "U0APR0001"}, "<!here>", "<@U0APR0001>"},
		{"many", []string{"U1", "U2", "U3", "U4", "U5", "U6", "U7"}, "", "<@U1>, <@U2>, <@U3>, <@U4>, <@U5> or 2 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := waitsOn(tt.approvers, tt.group, requester.ID); got != tt.want {
				t.Errorf("waitsOn = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestApprovalAskedAndReminder(t *testing.T) {
	m := migration(bot.StatePendingApproval) // planned Mon 23 Nov 14:05 UTC
	v := WaitingView{Migration: m, Approvers: []string{approver1.ID, approver2.ID}, Approvals: 1, Required: 2, Now: m.Plan.CreatedAt.Add(5 * time.Hour)}
	asked := ApprovalAsked(v).Text
	if want := ":raised_hand: <@U0APR0001> or <@U0APR0002>: plan `M7K2QX` for Contoso Ltd waits for your approval (1 of 2; asked by <@U0REQ0001>). " +
		"The subscription ends Sun 6 Dec 2026. Approve or Reject on the plan above, or type `/kaizala approve M7K2QX`."; asked != want {
		t.Errorf("asked:\n got %q\nwant %q", asked, want)
	}
	reminded := ApprovalReminder(v).Text
	if !strings.HasPrefix(reminded, ":bell: <@U0APR0001> or <@U0APR0002>: plan `M7K2QX` for Contoso Ltd has waited 5 hours for approval (1 of 2; asked by <@U0REQ0001>).") {
		t.Errorf("reminder: %q", reminded)
	}
}

func TestOwnerAlertPointsAtTheAlert(t *testing.T) {
	item := OwnerAlertItem{Tracked: tracked(), AlertChannel: "C0ALERTS"}
	tests := []struct {
		name        string
		v           OwnerAlertView
		want, never []string
	}{
		{"no permalink: the channel", OwnerAlertView{Owner: "U0OWN", Items: []OwnerAlertItem{item}},
			[]string{"Your customer *Contoso Ltd (contoso.onmicrosoft.com)*", "`" + kaizalaSubID + "`", "ends in 12 days", "the alert in <#C0ALERTS>"}, []string{"<@U0OWN>"}},
		{"a link that is not one", OwnerAlertView{Owner: "U0OWN", Items: []OwnerAlertItem{{Tracked: tracked(), AlertLink: "javascript:x|y>", AlertChannel: "#alerts"}}},
			[]string{"Plan its migration with `/kaizala plan"}, []string{"javascript", "#alerts"}},
		{"planned already", OwnerAlertView{Owner: "U0OWN", Items: []OwnerAlertItem{{Tracked: tracked(), AlertChannel: "C0ALERTS", Migration: migration(bot.StateMovingUsers)}}},
			[]string{"Migration `M7K2QX`: approved, running: moving users.", "See the alert in <#C0ALERTS>."}, []string{"/kaizala plan"}},
		{"in the owner's channel", OwnerAlertView{Owner: "U0OWN", InChannel: true, Items: []OwnerAlertItem{item}},
			[]string{"<@U0OWN>, your customer *Contoso Ltd"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.v.Now, tt.v.Location = now, cet
			m := OwnerAlert(tt.v)
			checkLimits(t, m)
			got := string(payload(t, m))
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("does not say %q:\n%s", w, got)
				}
			}
			for _, n := range tt.never {
				if strings.Contains(got, n) {
					t.Errorf("says %q:\n%s", n, got)
				}
			}
		})
	}
}
