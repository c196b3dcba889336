package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/fakeslack"
	"github.com/kaizalabot/kaizalabot/slackview"
)

// openHome opens user's Home tab and waits for the tab the bot publishes
// that contains every one of contains.
func (st *stack) openHome(user string, contains ...string) fakeslack.View {
	st.t.Helper()
	reply, err := st.slack.OpenHome(st.ctx(), user)
	if err != nil {
		st.t.Fatal(err)
	}
	if reply.Status != 200 {
		st.t.Fatalf("app_home_opened: HTTP %d %s", reply.Status, reply.Body)
	}
	return st.waitHome(user, contains...)
}

func (st *stack) waitHome(user string, contains ...string) fakeslack.View {
	st.t.Helper()
	v, err := st.slack.WaitHomeView(st.ctx(), user, func(v fakeslack.View) bool { return containsAll(string(v.Blocks), contains...) })
	if err != nil {
		st.t.Fatalf("no Home tab for %s containing %q: %v", user, contains, err)
	}
	return v
}

// TestStoryApproveFromTheHomeTab: a salesperson plans a migration; the
// approver opens the bot's Home tab, finds the plan waiting there with its
// price, and approves it there; the migration runs once, and the Home tab
// says so.
func TestStoryApproveFromTheHomeTab(t *testing.T) {
	st := newStack(t)
	sub := st.expiring()
	_, migration := st.plan(sub)
	value := migration.ID + ":" + migration.PlanHash

	// The requester's Home tab lists the plan as theirs, with no buttons.
	mine := st.openHome(salesID, "Your open plans (1)", migration.ID, "pending approval")
	if strings.Contains(string(mine.Blocks), "kaizala_approve") {
		t.Errorf("the requester's Home tab offers Approve:\n%s", mine.Blocks)
	}

	// A signed app_home_opened for the approver: views.publish lists the
	// plan waiting for approval, with the plan message's Approve.
	home := st.openHome(bossID, "Waiting for approval (1)", migration.ID, `"kaizala_approve"`, value)
	for _, want := range []string{sub.Customer.Name, "a month", `@` + salesID, "Last scan"} {
		if !strings.Contains(string(home.Blocks), want) {
			t.Errorf("the approver's Home tab does not say %q:\n%s", want, home.Blocks)
		}
	}
	if home.CallbackID != "kaizala_home" {
		t.Errorf("the Home tab's callback_id is %q", home.CallbackID)
	}
	published := st.slack.HomePublished(bossID)

	// The approver clicks Approve on the Home tab: the migration runs, once.
	reply, err := st.slack.ClickHome(st.ctx(), bossID, "kaizala_approve", value)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Status != 200 || reply.Latency > 3*time.Second {
		t.Fatalf("the click: HTTP %d in %v", reply.Status, reply.Latency)
	}
	done := waitMigration(t, st, migration.ID)
	if done.State != bot.StateDone {
		t.Fatalf("migration %s: %s", done.State, done.Error)
	}
	if n := st.sim.Stats().CartsCheckedOut; n != 1 {
		t.Errorf("carts checked out = %d, want 1", n)
	}
	approvals := 0
	entries, err := st.srv.db.Audit(context.Background(), bot.AuditFilter{MigrationID: migration.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Action == bot.ActionApproved {
			approvals++
		}
	}
	if approvals != 1 {
		t.Errorf("%d approvals recorded, want 1", approvals)
	}

	// The click's answer is on the Home tab, published again, which no
	// longer offers the plan for approval.
	after := st.waitHome(bossID, "You approved plan", migration.ID, "Waiting for approval (0)")
	if strings.Contains(string(after.Blocks), value) || st.slack.HomePublished(bossID) <= published {
		t.Errorf("after approving, the Home tab still offers the plan (%d publishes):\n%s", st.slack.HomePublished(bossID), after.Blocks)
	}
	if got := len(st.slack.Ephemerals(bossID)); got != 0 {
		t.Errorf("the Home tab click was answered with %d ephemerals; its answer belongs on the Home tab", got)
	}

	// Someone the bot is not set up for gets a Home tab that says so, and
	// shows no customer, plan or button.
	other := st.openHome(bystanderID, "not set up to use kaizalabot")
	for _, leak := range []string{sub.Customer.Name, sub.Customer.Domain, migration.ID, "kaizala_approve", "Last scan"} {
		if strings.Contains(string(other.Blocks), leak) {
			t.Errorf("a bystander's Home tab shows %q:\n%s", leak, other.Blocks)
		}
	}
	st.assertNoSecretLogged()
}

// TestStoryHomeTabOverSocketMode: app_home_opened arrives as an events_api
// envelope, and the Home tab is published all the same.
func TestStoryHomeTabOverSocketMode(t *testing.T) {
	st := newSocketStack(t)
	_, migration := st.plan(st.expiring())
	st.openHome(bossID, "Waiting for approval (1)", migration.ID, `"kaizala_approve"`)
	events := 0
	for _, e := range st.slack.Envelopes() {
		if e.Type == fakeslack.EnvelopeEventsAPI && strings.Contains(string(e.Payload), `"app_home_opened"`) {
			events++
			if !e.Acked {
				t.Errorf("the app_home_opened envelope %s was not acknowledged", e.ID)
			}
		}
	}
	if events != 1 {
		t.Errorf("%d app_home_opened envelopes, want 1", events)
	}
}

// TestStoryRejectFromTheHomeTab: Reject on the Home tab asks why in a
// dialog, as on the plan message; the outcome is shown on the Home tab,
// which has no channel to answer in.
func TestStoryRejectFromTheHomeTab(t *testing.T) {
	st := newStack(t)
	_, migration := st.plan(st.expiring())
	st.openHome(bossID, migration.ID, `"kaizala_reject"`)
	if _, err := st.slack.ClickHome(st.ctx(), bossID, "kaizala_reject", migration.ID+":"+migration.PlanHash); err != nil {
		t.Fatal(err)
	}
	dialog, err := st.slack.WaitView(st.ctx(), bossID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.slack.SubmitView(st.ctx(), bossID, dialog, map[string]string{slackview.ActionReason: "the customer renews by phone"}); err != nil {
		t.Fatal(err)
	}
	st.waitHome(bossID, "is rejected", "Waiting for approval (0)")
	if got, _ := st.srv.db.GetMigration(context.Background(), migration.ID); got.State != bot.StateRejected {
		t.Errorf("the migration is %s, want rejected", got.State)
	}
	if n := len(st.slack.Ephemerals(bossID)); n != 0 {
		t.Errorf("%d ephemerals for the approver; the answer belongs on the Home tab", n)
	}
}
