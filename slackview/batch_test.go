package slackview

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// batchFixture is a batch of n members (Contoso's plan for other customers,
// each a little different) and unplanned subscriptions that cannot be
// planned, all in state.
func batchFixture(n, unplanned int, state bot.State) *bot.BatchStatus {
	b := bot.Batch{
		ID: "B4TCH2", Target: "STANDARDPACK", TargetName: "Office 365 E1", WithinDays: 30,
		Requester: requester, State: bot.BatchPendingApproval, Hash: "batchhash-1",
		CreatedAt: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC),
	}
	st := &bot.BatchStatus{Required: 1, Concurrency: 4}
	for i := range n {
		m := migration(state)
		m.ID = fmt.Sprintf("M%05d", i+1)
		domain := fmt.Sprintf("customer%02d.onmicrosoft.com", i+1)
		m.CustomerName, m.CustomerDomain, m.CustomerID = fmt.Sprintf("Customer %02d Ltd", i+1), domain, fmt.Sprintf("c-%02d", i+1)
		m.Plan.CustomerName, m.Plan.CustomerDomain, m.Plan.CustomerID = m.CustomerName, domain, m.CustomerID
		m.SubscriptionID = fmt.Sprintf("%08X-0000-4000-8000-%012X", i+1, i+1)
		m.Plan.Subscription.ID = m.SubscriptionID
		m.Plan.Subscription.EndDate = day0(2026, 12, 1+i%20)
		m.Plan.Seats = 10 + i
		m.Plan.Move = m.Plan.Move[:8+i%10]
		if i%3 != 0 {
			m.Plan.CannotMove = nil
		}
		if i%4 == 3 { // a new-commerce subscription is left to end
			m.Plan.OldFate, m.Plan.Subscription.NewCommerce = bot.FateLeave, true
		}
		m.PlanHash = fmt.Sprintf("hash-%d", i+1)
		b.Members = append(b.Members, bot.BatchMember{MigrationID: m.ID, PlanHash: m.PlanHash})
		st.Members = append(st.Members, *m)
	}
	for i := range unplanned {
		b.Unplanned = append(b.Unplanned, bot.Unplanned{
			SubscriptionID: fmt.Sprintf("DE000000-0000-4000-8000-%012X", i+1),
			Customer:       bot.Customer{ID: fmt.Sprintf("d-%02d", i+1), Domain: fmt.Sprintf("denied%02d.onmicrosoft.com", i+1), Name: fmt.Sprintf("Denied %02d GmbH", i+1)},
			Seats:          5 + i, EndDate: day0(2026, 12, 10),
			Reason: "Partner Center refused access to this customer's users and licences (900308: no GDAP role): ask the customer's admin to grant the User Administrator and License Administrator roles, then plan again",
		})
	}
	st.Batch = b
	return st
}

// batchMessages are the batch messages pinned in testdata/, each with its
// thread replies ("name.N").
func batchMessages() map[string]Message {
	out := map[string]Message{}
	add := func(name string, v BatchView) {
		top, more := Batch(v)
		out[name] = top
		for i, m := range more {
			out[fmt.Sprintf("%s.%d", name, i+1)] = m
		}
	}
	add("batch_pending", BatchView{Status: batchFixture(3, 1, bot.StatePendingApproval), Now: now, Location: cet})

	running := batchFixture(5, 0, bot.StateDone)
	running.Batch.State, running.Batch.UpdatedAt = bot.BatchApproved, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	running.Approvers = []bot.Actor{approver1}
	running.Members[3].State = bot.StateMovingUsers
	running.Members[4].State, running.Members[4].FailedStep, running.Members[4].Error = bot.StateFailed, bot.StepBuy, "Partner Center answered 400: the cart line was refused"
	add("batch_running", BatchView{Status: running, Now: now, Location: cet})
	out["batch_progress"] = BatchProgress(BatchView{Status: running, Now: now, Location: cet})

	rejected := batchFixture(2, 0, bot.StateRejected)
	rejected.Batch.State, rejected.Batch.RejectedBy, rejected.Batch.RejectReason = bot.BatchRejected, approver1, "these customers renew by phone"
	add("batch_rejected", BatchView{Status: rejected, Now: now, Location: cet})

	// Forty members and twelve that cannot be planned do not fit one message.
	add("batch_overflow", BatchView{Status: batchFixture(40, 12, bot.StatePendingApproval), Now: now, Location: cet})
	return out
}

func TestBatchGolden(t *testing.T) {
	for name, m := range batchMessages() {
		t.Run(name, func(t *testing.T) {
			checkLimits(t, m)
			golden(t, name, payload(t, m))
		})
	}
}

// TestBatchNothingDropped: every member and every subscription that cannot
// be planned is in the message or its thread, whatever the sizes; each
// message stays within Slack's limits.
func TestBatchNothingDropped(t *testing.T) {
	huge := strings.Repeat("Partner Center said no & then <more>. ", 10000/38+1)[:10000]
	longName := strings.Repeat("Contoso & Söhne GmbH ", 5000/21+1)[:5000]
	tests := []struct {
		name             string
		members, cannot  int
		customer, reason string
	}{
		{"one member", 1, 0, "", ""},
		{"40 members", 40, 3, "", ""},
		{"500 members and 300 refused", 500, 300, "", ""},
		{"5,000-character names", 60, 60, longName, ""},
		{"10,000-character reasons", 20, 80, "", huge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := batchFixture(tt.members, tt.cannot, bot.StatePendingApproval)
			for i := range st.Members {
				if tt.customer != "" {
					st.Members[i].Plan.CustomerName = tt.customer
				}
			}
			for i := range st.Batch.Unplanned {
				if tt.customer != "" {
					st.Batch.Unplanned[i].Customer.Name = tt.customer
				}
				if tt.reason != "" {
					st.Batch.Unplanned[i].Reason = tt.reason
				}
			}
			top, more := Batch(BatchView{Status: st, Now: now, Location: cet})
			all := append([]Message{top}, more...)
			var text strings.Builder
			for i, m := range all {
				t.Run(fmt.Sprint("message ", i), func(t *testing.T) { checkLimits(t, m) })
				text.Write(payload(t, m))
			}
			for _, m := range st.Members {
				if !strings.Contains(text.String(), "`"+m.ID+"`") {
					t.Errorf("member %s is in neither the message nor its thread", m.ID)
				}
			}
			for _, u := range st.Batch.Unplanned {
				if !strings.Contains(text.String(), "`"+u.SubscriptionID+"`") {
					t.Errorf("unplanned %s is in neither the message nor its thread", u.SubscriptionID)
				}
			}
			if got := strings.Count(string(payload(t, top)), ActionBatchApprove); got != 1 {
				t.Errorf("%d Approve buttons on the batch message, want 1", got)
			}
			if len(more) > 0 && !strings.Contains(string(payload(t, top)), "listed in this thread") {
				t.Error("the message does not say the rest is in its thread")
			}
			for _, m := range more {
				if strings.Contains(string(payload(t, m)), ActionBatchApprove) {
					t.Error("a thread reply has an Approve button")
				}
			}
		})
	}
}

func TestBatchHostileText(t *testing.T) {
	st := batchFixture(3, 2, bot.StatePendingApproval)
	for i := range st.Members {
		st.Members[i].Plan.CustomerName = "<!channel> & <@U123>|x"
	}
	st.Batch.Unplanned[0].Reason = "failed: see <https://evil|click> now"
	st.Batch.Owner = "<!here>"
	top, more := Batch(BatchView{Status: st, Now: now, Location: cet})
	msgs := append([]Message{top, BatchProgress(BatchView{Status: st})}, more...)
	for i, m := range msgs {
		var all []string
		collectStrings(t, m, &all)
		for _, bad := range []string{"<!channel>", "<@U123>", "<https://evil", "<!here>"} {
			if strings.Contains(strings.Join(all, "\n"), bad) {
				t.Errorf("message %d: %q appears unescaped", i, bad)
			}
		}
	}
}

func TestBatchCountWords(t *testing.T) {
	for _, tt := range []struct {
		c    bot.BatchCounts
		want string
	}{
		{bot.BatchCounts{Total: 40, Done: 12, Failed: 1, Running: 27}, "12 of 40 done, 1 failed, 27 running or waiting their turn"},
		{bot.BatchCounts{Total: 3, Done: 3}, "3 of 3 done"},
		{bot.BatchCounts{Total: 4, Pending: 2, Rejected: 1, NeedsApproval: 1}, "0 of 4 done, 1 stopped for a new approval, 1 rejected, 2 waiting for approval"},
	} {
		if got := BatchCountWords(tt.c); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestBatchOutcome(t *testing.T) {
	st := batchFixture(3, 0, bot.StateDone)
	if _, _, ok := BatchOutcome(BatchView{Status: st}); ok {
		t.Error("a batch waiting for approval announced an outcome")
	}
	st.Batch.State = bot.BatchApproved
	st.Members[2].State = bot.StateMovingUsers
	if _, _, ok := BatchOutcome(BatchView{Status: st}); ok {
		t.Error("a batch still running announced an outcome")
	}
	st.Members[2].State, st.Members[2].FailedStep = bot.StateFailed, bot.StepMoveUsers
	m, key, ok := BatchOutcome(BatchView{Status: st})
	if !ok || key != "2 of 3 done, 1 failed" || !strings.Contains(m.Text, "<@"+requester.ID+">") || !strings.Contains(m.Text, "/kaizala retry") {
		t.Errorf("outcome %q (%q, %v)", m.Text, key, ok)
	}
	checkLimits(t, m)
}
