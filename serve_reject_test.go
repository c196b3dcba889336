package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kaizalabot/kaizalabot/bot"
)

// Reject asks why: a bystander is refused at once with no dialog; the
// approver's click opens a dialog, a blank reason is sent back under the
// field, and a real one rejects the plan, shows on the plan message
// (escaped) and lands in the history.
func TestStoryRejectAsksWhy(t *testing.T) {
	st := newStack(t)
	plan, m := st.plan(st.expiring())
	id := m.ID

	if _, err := st.slack.Click(st.ctx(), bystanderID, plan, "kaizala_reject"); err != nil {
		t.Fatal(err)
	}
	st.waitEphemeral(bystanderID, "not set up to use kaizalabot", "click *Reject*")
	if views := st.slack.Views(bystanderID); len(views) != 0 {
		t.Errorf("a bystander got a dialog: %+v", views)
	}

	if _, err := st.slack.Click(st.ctx(), bossID, plan, "kaizala_reject"); err != nil {
		t.Fatal(err)
	}
	view, err := st.slack.WaitView(st.ctx(), bossID, nil)
	if err != nil {
		t.Fatalf("no dialog opened for the approver: %v", err)
	}
	if !strings.Contains(view.Title, id) || !strings.Contains(string(view.Blocks), "Nothing has been bought") {
		t.Errorf("the dialog should name %s and say nothing was bought: %s %s", id, view.Title, view.Blocks)
	}

	reply, err := st.slack.SubmitView(st.ctx(), bossID, view, map[string]string{"kaizala_reason": "      "})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Status != 200 || !strings.Contains(string(reply.Body), `"response_action":"errors"`) || !strings.Contains(string(reply.Body), "at least 3") {
		t.Fatalf("a blank reason: HTTP %d %s, want the dialog kept open with an error", reply.Status, reply.Body)
	}
	if got, _ := st.srv.db.GetMigration(context.Background(), id); got.State != bot.StatePendingApproval {
		t.Fatalf("a blank reason rejected it: %s", got.State)
	}

	reason := "<!channel> the customer renews Kaizala by phone"
	reply, err = st.slack.SubmitView(st.ctx(), bossID, view, map[string]string{"kaizala_reason": reason})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Status != 200 || len(strings.TrimSpace(string(reply.Body))) != 0 {
		t.Fatalf("a good reason: HTTP %d %q, want an empty 200 that closes the dialog", reply.Status, reply.Body)
	}
	if views := st.slack.Views(bossID); len(views) != 0 {
		t.Errorf("the dialog is still open: %+v", views)
	}
	waitState(t, st, id, bot.StateRejected)
	st.waitEphemeral(bossID, id, "rejected")
	updated, err := st.slack.WaitUpdate(st.ctx(), plan.Channel, plan.TS, 1)
	if err != nil {
		t.Fatalf("the plan message was not updated: %v", err)
	}
	// The blocks' JSON escapes < > & as \u003c…; read the text as Slack would.
	var blocks []struct {
		Text struct{ Text string } `json:"text"`
	}
	if err := json.Unmarshal(updated.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	var shown strings.Builder
	for _, b := range blocks {
		shown.WriteString(b.Text.Text + "\n")
	}
	if r := shown.String(); !strings.Contains(r, "Rejected by") || !strings.Contains(r, "&lt;!channel&gt; the customer renews Kaizala by phone") || strings.Contains(r, "<!channel>") {
		t.Errorf("the plan should show who rejected and why, escaped:\n%s", r)
	}
	if history := st.command(salesID, "history "+id); !strings.Contains(history, "renews Kaizala by phone") {
		t.Errorf("history does not give the reason:\n%s", history)
	}
	if n := st.sim.Stats().OrdersCreated; n != 0 {
		t.Errorf("a rejected plan bought %d orders", n)
	}
}
