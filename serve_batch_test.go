package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/fakeslack"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// Acceptance 5 of the Slack issue: `/kaizala plan all STANDARDPACK within
// 30` posts one message with one Approve; an approver's click migrates every
// listed subscription exactly once each.
func TestStoryBatchPlanAllApproveOnce(t *testing.T) {
	st := newStack(t)
	st.expiring() // the scan at start has recorded what it found

	if reply := st.command(salesID, "plan all STANDARDPACK within 30"); !strings.Contains(reply, "Working out") {
		t.Errorf("the command's answer: %s", reply)
	}
	batchMsg := st.waitMessage(alertChannel, "kaizala_batch_approve")
	st.waitEphemeral(salesID, "is posted in the alert channel for approval")
	id, _, _ := strings.Cut(buttonValue(t, batchMsg, "kaizala_batch_approve"), ":")
	ctx := context.Background()
	b, err := st.srv.db.GetBatch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	members, err := st.srv.db.BatchMigrations(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) < 2 {
		t.Fatalf("the batch holds %d migrations; the story needs several", len(members))
	}

	// One message, one Approve; every subscription is on it, or in its
	// thread when it does not fit.
	if n := strings.Count(string(batchMsg.Blocks), `"kaizala_batch_approve"`); n != 1 {
		t.Errorf("%d Approve buttons on the batch message, want 1", n)
	}
	waitMemberPlans(t, st, batchMsg, len(members))
	for _, m := range st.slack.Messages(alertChannel) {
		blocks := string(m.Blocks)
		if strings.Contains(blocks, `"kaizala_batch_approve"`) && m.TS != batchMsg.TS {
			t.Errorf("a second batch message: %s", m.Text)
		}
		for _, member := range members {
			if strings.Contains(blocks, `"kaizala_approve"`) && strings.Contains(blocks, member.ID) {
				t.Errorf("member %s has a plan message of its own in the channel, outside the batch's thread", member.ID)
			}
		}
	}
	// The approvers are asked once, for the whole batch, not per member.
	asked := 0
	for _, r := range st.slack.Thread(alertChannel, batchMsg.TS) {
		if strings.Contains(r.Text, "waits for your approval") {
			asked++
		}
	}
	if asked != 1 || !strings.Contains(st.threadText(batchMsg), "batch `"+b.ID+"`") {
		t.Errorf("the approvers were asked %d times in the batch's thread, want once for the batch", asked)
	}
	listed := render(batchMsg)
	for _, r := range st.slack.Thread(alertChannel, batchMsg.TS) {
		listed += render(r)
	}
	for _, m := range members {
		if !strings.Contains(listed, m.ID) || !strings.Contains(listed, m.SubscriptionID) {
			t.Errorf("member %s (%s) is neither on the batch message nor in its thread", m.ID, m.SubscriptionID)
		}
	}
	// The customers the sandbox denies the partner are listed with why.
	for _, u := range b.Unplanned {
		if !strings.Contains(listed, u.SubscriptionID) {
			t.Errorf("unplanned %s is not listed", u.SubscriptionID)
		}
	}
	if len(b.Unplanned) > 0 && !strings.Contains(render(batchMsg), "Cannot be planned") {
		t.Errorf("the batch does not say what cannot be planned:\n%s", render(batchMsg))
	}

	// The requester's click approves nothing; the approver's, everything.
	told := len(st.slack.Ephemerals(salesID))
	if _, err := st.slack.Click(st.ctx(), salesID, batchMsg, "kaizala_batch_approve"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.slack.WaitEphemeral(st.ctx(), salesID, func(fakeslack.Message) bool { return len(st.slack.Ephemerals(salesID)) > told }); err != nil {
		t.Fatalf("the requester's click was not answered: %v", err)
	}
	for _, m := range members {
		if got, _ := st.srv.db.GetMigration(ctx, m.ID); got.State != bot.StatePendingApproval {
			t.Fatalf("after the requester's click member %s is %s", m.ID, got.State)
		}
	}
	if _, err := st.slack.Click(st.ctx(), bossID, batchMsg, "kaizala_batch_approve"); err != nil {
		t.Fatal(err)
	}
	st.waitEphemeral(bossID, "You approved batch "+b.ID)
	buyers := 0
	for _, m := range members {
		done := waitFinished(t, st, m.ID, 90*time.Second)
		if done.State != bot.StateDone {
			t.Errorf("member %s: %s at %s: %s", m.ID, done.State, done.FailedStep, done.Error)
		}
		if m.Plan.Seats > 0 {
			buyers++
		}
	}

	// Exactly once each: one checkout per member that buys, one
	// suspension per old subscription.
	if got := st.sim.Stats().CartsCheckedOut; int(got) != buyers {
		t.Errorf("carts checked out = %d, want %d (one per member that buys)", got, buyers)
	}
	suspended := map[string]int{}
	for _, e := range st.sim.Ledger() {
		if e.Kind == pcsim.LedgerSuspension {
			suspended[strings.ToLower(e.SubscriptionID)]++
		}
	}
	for _, m := range members {
		if m.Plan.OldFate == bot.FateSuspend && suspended[strings.ToLower(m.SubscriptionID)] != 1 {
			t.Errorf("subscription %s suspended %d times, want 1", m.SubscriptionID, suspended[strings.ToLower(m.SubscriptionID)])
		}
	}

	// A second click buys nothing more.
	if _, err := st.slack.Click(st.ctx(), bossID, batchMsg, "kaizala_batch_approve"); err != nil {
		t.Fatal(err)
	}
	st.waitEphemeral(bossID, "already approved batch "+b.ID)
	if got := st.sim.Stats().CartsCheckedOut; int(got) != buyers {
		t.Errorf("after a second click: carts checked out = %d, want %d", got, buyers)
	}

	// The thread counts them and tells the requester; the batch message says done.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	final := itoa(len(members)) + " of " + itoa(len(members)) + " done"
	if _, err := st.slack.WaitThreadReply(ctx, alertChannel, batchMsg.TS, func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, final) && strings.Contains(m.Text, "<@"+salesID+">")
	}); err != nil {
		t.Errorf("the thread never told the requester %q: %v", final, err)
	}
	if _, err := st.slack.WaitUpdate(ctx, alertChannel, batchMsg.TS, 1); err != nil {
		t.Errorf("the batch message was never updated: %v", err)
	}
	if now, _ := st.slack.Message(alertChannel, batchMsg.TS); strings.Contains(string(now.Blocks), "kaizala_batch_approve") {
		t.Error("the batch message still offers Approve after the approval")
	}
	st.assertNoSecretLogged()
	t.Logf("batch %s: %d members, %d cannot be planned", b.ID, len(members), len(b.Unplanned))
}

// waitMemberPlans waits until the batch's thread holds the plan message of each of
// its members (posted one a second, as Slack asks).
func waitMemberPlans(t *testing.T, st *stack, batchMsg fakeslack.Message, members int) {
	t.Helper()
	deadline := time.Now().Add(time.Duration(members)*2*time.Second + 10*time.Second)
	for time.Now().Before(deadline) {
		plans := 0
		for _, r := range st.slack.Thread(alertChannel, batchMsg.TS) {
			if strings.Contains(string(r.Blocks), `"kaizala_approve"`) {
				plans++
			}
		}
		if plans >= members {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the batch's thread does not hold the plans of its %d members: %v", members, texts(st.slack.Thread(alertChannel, batchMsg.TS)))
}

func waitFinished(t *testing.T, st *stack, id string, within time.Duration) *bot.Migration {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		m, err := st.srv.db.GetMigration(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !m.State.Running() && m.State != bot.StatePendingApproval {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("migration %s did not finish within %v", id, within)
	return nil
}

// buttonValue is the value of the button actionID on m.
func buttonValue(t *testing.T, m fakeslack.Message, actionID string) string {
	t.Helper()
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value
			}
		}
	}
	t.Fatalf("no %s button on %s", actionID, m.Text)
	return ""
}

// Reject on the batch message asks why, then rejects every migration of the
// batch still waiting; the thread tells the requester.
func TestStoryBatchRejectAsksWhy(t *testing.T) {
	st := newStack(t)
	st.expiring()
	st.command(salesID, "plan all STANDARDPACK")
	batchMsg := st.waitMessage(alertChannel, "kaizala_batch_reject")
	id, _, _ := strings.Cut(buttonValue(t, batchMsg, "kaizala_batch_reject"), ":")
	ctx := context.Background()

	if _, err := st.slack.Click(st.ctx(), bossID, batchMsg, "kaizala_batch_reject"); err != nil {
		t.Fatal(err)
	}
	view, err := st.slack.WaitView(st.ctx(), bossID, nil)
	if err != nil {
		t.Fatalf("no dialog opened for the approver: %v", err)
	}
	if !strings.Contains(view.Title, id) {
		t.Errorf("the dialog does not name batch %s: %s", id, view.Title)
	}
	if reply, err := st.slack.SubmitView(st.ctx(), bossID, view, map[string]string{"kaizala_reason": "these customers renew by phone"}); err != nil || reply.Status != 200 {
		t.Fatalf("submitting the reason: %v %+v", err, reply)
	}
	st.waitEphemeral(bossID, "Batch "+id+" is rejected")
	members, err := st.srv.db.BatchMigrations(ctx, id)
	if err != nil || len(members) == 0 {
		t.Fatalf("members: %v %v", members, err)
	}
	for _, m := range members {
		if m.State != bot.StateRejected {
			t.Errorf("member %s is %s after the batch was rejected", m.ID, m.State)
		}
	}
	if _, err := st.slack.WaitThreadReply(st.ctx(), alertChannel, batchMsg.TS, func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, "<@"+salesID+">") && strings.Contains(m.Text, "these customers renew by phone")
	}); err != nil {
		t.Errorf("the thread never told the requester: %v", err)
	}
	if n := st.sim.Stats().OrdersCreated; n != 0 {
		t.Errorf("%d orders for a rejected batch", n)
	}
}

// threadText is the text of every reply in a message's thread.
func (st *stack) threadText(parent fakeslack.Message) string {
	var b strings.Builder
	for _, r := range st.slack.Thread(parent.Channel, parent.TS) {
		b.WriteString(r.Text + "\n")
	}
	return b.String()
}
