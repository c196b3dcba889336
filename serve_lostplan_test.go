package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/fakeslack"
)

// A plan Slack refused to post is posted with its migration's next event,
// and one still missing when the bot starts is posted then: there is always
// a message to approve and a thread for the progress, and never two.
func TestStoryAPlanSlackLostIsPostedLater(t *testing.T) {
	st := newStack(t)
	isPlan := func(args map[string]string) bool { return strings.HasPrefix(args["text"], "Migration plan") }
	plans := func(id string) int {
		n := 0
		for _, m := range st.slack.Messages(alertChannel) {
			if strings.HasPrefix(m.Text, "Migration plan "+id) {
				n++
			}
		}
		return n
	}

	// 1. Lost, then posted with the approval.
	first := st.expiring()
	st.slack.FailNextWhere("chat.postMessage", "internal_error", isPlan)
	st.command(salesID, "plan "+first.Subscription.ID+" STANDARDPACK")
	m := st.migrationOf(first.Subscription.ID)
	st.waitLog("posting the plan failed", 1)
	if n := plans(m.ID); n != 0 {
		t.Fatalf("%d plan messages, want none after Slack refused it", n)
	}
	st.command(bossID, "approve "+m.ID)
	plan := st.waitMessage(alertChannel, "Migration plan "+m.ID)
	done := waitMigration(t, st, m.ID)
	if done.State != bot.StateDone {
		t.Fatalf("migration %s: %s", done.State, done.Error)
	}
	if _, err := st.slack.WaitThreadReply(st.ctx(), plan.Channel, plan.TS, func(r fakeslack.Message) bool {
		return strings.Contains(r.Text, done.NewSubscriptionID)
	}); err != nil {
		t.Errorf("the late plan has no progress in its thread: %v", err)
	}

	// 2. Lost, then posted when the bot starts again.
	second := st.expiring(first.Subscription.ID)
	st.slack.FailNextWhere("chat.postMessage", "internal_error", isPlan)
	st.command(salesID, "plan "+second.Subscription.ID+" STANDARDPACK")
	m2 := st.migrationOf(second.Subscription.ID)
	st.waitLog("posting the plan failed", 2)
	st.srv.Shutdown()
	st.start()
	// The first plan's last updates may have been queued at the shutdown:
	// the start redraws it as it stands.
	st.waitMessage(alertChannel, "Migration plan "+m.ID, "*Done:*")
	if _, err := st.slack.WaitMessage(st.ctx(), alertChannel, func(m fakeslack.Message) bool { return containsAll(render(m), "Migration plan "+m2.ID, "Approve") }); err != nil {
		t.Fatalf("%v\n%s", err, st.logs.String())
	}
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show up
	if n1, n2 := plans(m.ID), plans(m2.ID); n1 != 1 || n2 != 1 {
		t.Errorf("plan messages: %d of %s, %d of %s; want one each", n1, m.ID, n2, m2.ID)
	}
}

// migrationOf waits for the one migration of a subscription.
func (st *stack) migrationOf(subscriptionID string) *bot.Migration {
	st.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ms, err := st.srv.db.ListMigrations(context.Background(), bot.MigrationFilter{SubscriptionID: subscriptionID})
		if err != nil {
			st.t.Fatal(err)
		}
		if len(ms) == 1 {
			return ms[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	st.t.Fatalf("no migration of %s", subscriptionID)
	return nil
}

// waitLog waits until the bot has logged text n times.
func (st *stack) waitLog(text string, n int) {
	st.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(st.logs.String(), text) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	st.t.Fatalf("the log said %q %d times, want %d", text, strings.Count(st.logs.String(), text), n)
}
