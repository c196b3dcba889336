package slackview

import (
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

func TestEscape(t *testing.T) {
	got := Escape("<!channel> & <@U123>|x")
	if want := "&lt;!channel&gt; &amp; &lt;@U123&gt;|x"; got != want {
		t.Errorf("Escape = %q, want %q", got, want)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short enough", "Contoso", 7, "Contoso"},
		{"cut with an ellipsis", "Contoso Ltd", 8, "Contoso…"},
		{"never splits a rune", "Müller Söhne", 3, "Mü…"},
		{"never splits an entity", "AT&amp;T", 5, "AT…"},
		{"never splits a mention", "by <@U0APR0001> now", 10, "by …"},
		{"keeps whole tokens", "a &lt; b", 7, "a &lt;…"},
		{"zero", "abc", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := truncate(tt.in, tt.n); got != tt.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func TestWho(t *testing.T) {
	tests := []struct {
		actor bot.Actor
		want  string
	}{
		{bot.Actor{ID: "U0APR0001", Name: "Sam Lee"}, "<@U0APR0001>"},
		{bot.Actor{ID: "W0ENTERPRISE", Name: "Sam Lee"}, "<@W0ENTERPRISE>"},
		{bot.System, "system"},
		{bot.Actor{ID: "U123> <!channel", Name: "<!channel>"}, "&lt;!channel&gt;"},
		{bot.Actor{ID: "u0lower", Name: "Kim"}, "Kim"},
	}
	for _, tt := range tests {
		if got := who(tt.actor); got != tt.want {
			t.Errorf("who(%+v) = %q, want %q", tt.actor, got, tt.want)
		}
	}
}

func TestDates(t *testing.T) {
	// An end date is a calendar date: New York is still on the day before
	// at midnight UTC, but the subscription ends on the 6th there too.
	ny := time.FixedZone("EST", -5*3600)
	if got := endDay(day0(2026, 12, 6)); got != "Sun 6 Dec 2026" {
		t.Errorf("endDay = %q", got)
	}
	if got := day(time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC), ny); got != "Tue 1 Dec 2026" {
		t.Errorf("day in New York = %q, want the local date", got)
	}
}

func TestEndsIn(t *testing.T) {
	for days, want := range map[int]string{12: "ends in 12 days", 1: "ends tomorrow", 0: "ends today", -1: "ended yesterday", -3: "ended 3 days ago"} {
		if got := endsIn(days); got != want {
			t.Errorf("endsIn(%d) = %q, want %q", days, got, want)
		}
	}
}

func TestMoney(t *testing.T) {
	for v, want := range map[float64]string{10: "10.00", 250: "250.00", 12500.5: "12,500.50", 1234567: "1,234,567.00"} {
		if got := money(v); got != want {
			t.Errorf("money(%v) = %q, want %q", v, got, want)
		}
	}
}

// buttons returns the buttons of a message by action id.
func buttons(m Message) map[string]*slack.ButtonBlockElement {
	out := map[string]*slack.ButtonBlockElement{}
	for _, b := range m.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					out[btn.ActionID] = btn
				}
			}
		}
	}
	return out
}

func targetPicker(t *testing.T, m Message) *slack.SelectBlockElement {
	t.Helper()
	for _, b := range m.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if sel, ok := e.(*slack.SelectBlockElement); ok && sel.ActionID == ActionTarget {
					return sel
				}
			}
		}
	}
	t.Fatal("no target picker")
	return nil
}

func TestPlanPendingAsksForApproval(t *testing.T) {
	m := migration(bot.StatePendingApproval)
	msg := Plan(PlanView{Migration: m, Required: 1, Now: now, Location: cet})
	approve := buttons(msg)[ActionApprove]
	switch {
	case approve == nil:
		t.Fatal("no Approve button")
	case !strings.Contains(approve.Text.Text, "Approve"):
		t.Errorf("Approve button says %q", approve.Text.Text)
	case approve.Value != m.ID+":"+m.PlanHash:
		t.Errorf("Approve carries %q, want the migration id %s and its plan's hash", approve.Value, m.ID)
	case approve.Confirm == nil:
		t.Error("Approve has no confirmation dialog")
	case approve.Confirm.Title.Text != "Approve migration?" ||
		approve.Confirm.Text.Text != "Via replace. Buys 25 Office 365 E1 for Contoso Ltd: P1Y, billed annually, USD 250.00/month, USD 3,000.00/term, cancellable until ~Mon 30 Nov 2026. Suspends "+kaizalaSubID+": billing stops; deleted Sun 21 Feb 2027. Why: no better path is open.":
		t.Errorf("confirmation dialog: %q / %q", approve.Confirm.Title.Text, approve.Confirm.Text.Text)
	}
	if reject := buttons(msg)[ActionReject]; reject == nil || reject.Value != DecisionValue(m) || reject.Style != slack.StyleDanger {
		t.Errorf("Reject button: %+v", reject)
	}
	all := string(payload(t, msg))
	for _, want := range []string{kaizalaSubID, "23 users", "about USD 250.00 a month and USD 3,000.00 for the whole term at list price (25 × 10.00 a month)", "a 1-year term (P1Y), billed annually", "Microsoft deletes it on", "field.worker2@contoso.onmicrosoft.com — no usage location"} {
		if !strings.Contains(all, want) {
			t.Errorf("the plan does not say %q", want)
		}
	}
	if !strings.Contains(msg.Text, kaizalaSubID) || !strings.Contains(msg.Text, "move 23 users") {
		t.Errorf("Text %q does not name the subscription and the users to move", msg.Text)
	}
}

func TestPlanButtonsByState(t *testing.T) {
	moving := failedAtVerify()
	moving.FailedStep = bot.StepMoveUsers
	buying := failedAtVerify()
	buying.FailedStep = bot.StepBuy
	// A credential failure while moving users: suspending anyway would not help.
	noAccess := failedAtVerify()
	noAccess.FailedStep, noAccess.FailureKind = bot.StepMoveUsers, bot.FailureKindAccess
	overridden := failedAtVerify()
	overridden.Override = true
	// The lifecycle reads the window by the wall clock: a day ago is closed.
	windowClosed := done()
	windowClosed.Outcome.NewCancellableUntil = time.Now().Add(-24 * time.Hour)
	undoing := done()
	undoing.State, undoing.Outcome.UndoneBy = bot.StateUndoMovingBack, &approver2
	undoneM := done()
	undoneM.State = bot.StateUndone
	tests := []struct {
		name string
		m    *bot.Migration
		want []string
	}{
		{"pending", migration(bot.StatePendingApproval), []string{ActionApprove, ActionReject}},
		{"running", migration(bot.StateMovingUsers), nil},
		{"done", done(), []string{ActionUndo}},
		{"done, its cancellation window closed", windowClosed, nil},
		{"done by a transition", transitionPlan(bot.StateDone), nil},
		{"renewal scheduled", renewalPlan(bot.StateAwaitingRenewal), []string{ActionUndo}},
		{"renewal verifying", renewalPlan(bot.StateVerifying), nil},
		{"undoing", undoing, nil},
		{"undone", undoneM, nil},
		{"failed at verify", failedAtVerify(), []string{ActionRetry, ActionOverride}},
		{"failed at move_users", moving, []string{ActionRetry, ActionOverride}},
		{"failed at buy", buying, []string{ActionRetry}},
		{"failed at move_users for access", noAccess, []string{ActionRetry}},
		{"failed after an override", overridden, []string{ActionRetry}},
		{"needs a new approval", needsApproval(), []string{ActionRetry}},
		{"rejected", migration(bot.StateRejected), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := buttons(Plan(PlanView{Migration: tt.m, Required: 1, Now: now, Location: cet}))
			if len(got) != len(tt.want) {
				t.Errorf("%d buttons, want %v", len(got), tt.want)
			}
			for _, id := range tt.want {
				if b := got[id]; b == nil || b.Value != tt.m.ID+":"+tt.m.PlanHash {
					t.Errorf("button %s: %+v, want one carrying %s and its plan's hash", id, b, tt.m.ID)
				}
			}
			if o := got[ActionOverride]; o != nil && (o.Confirm == nil || o.Confirm.Style != slack.StyleDanger) {
				t.Error("Override has no danger confirmation dialog")
			}
		})
	}
}

func TestPlanApprovals(t *testing.T) {
	m := migration(bot.StatePendingApproval)
	at := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	stale := approval(approver2, at)
	stale.PlanHash = "an earlier plan"
	own := approval(requester, at)
	msg := Plan(PlanView{Migration: m, Required: 2, Now: now, Location: cet,
		Decisions: []bot.Decision{approval(approver1, at), approval(approver1, at), stale, own}})
	all := string(payload(t, msg))
	if !strings.Contains(all, "Approved by <@U0APR0001> (1 of 2)") {
		t.Errorf("the plan does not count one approval of two:\n%s", all)
	}
	if !strings.Contains(all, "Requested by <@U0REQ0001> on Mon 23 Nov 2026 15:05 CET") {
		t.Error("the plan does not say who asked and when")
	}
}

func TestAlertPicker(t *testing.T) {
	base := AlertView{Tracked: tracked(), Threshold: 14, UsersAssigned: 23, Targets: kaizalaTargets(), Now: now, Location: cet}
	msg := Alert(base)
	sel := targetPicker(t, msg)
	if sel.InitialOption == nil || sel.InitialOption.Value != "STANDARDPACK" {
		t.Errorf("initial option %+v, want STANDARDPACK", sel.InitialOption)
	}
	if sel.Placeholder.Text != "Choose a replacement plan" {
		t.Errorf("placeholder %q", sel.Placeholder.Text)
	}
	if b := buttons(msg)[ActionPlan]; b == nil || b.Value != kaizalaSubID || b.Style != slack.StylePrimary {
		t.Errorf("Plan migration button: %+v", b)
	}
	if want := "Kaizala Pro for Contoso Ltd (contoso.onmicrosoft.com) ends in 12 days (2026-12-06), 25 seats"; msg.Text != want {
		t.Errorf("Text = %q, want %q", msg.Text, want)
	}

	running := base
	running.Migration = migration(bot.StateMovingUsers)
	if got := Alert(running); len(buttons(got)) != 0 || !strings.Contains(string(payload(t, got)), "Migration M7K2QX approved, running: moving users") {
		t.Errorf("alert with a running migration: %s", payload(t, got))
	}

	rejected := base
	rejected.Migration = migration(bot.StateRejected)
	rejected.Migration.Error = "rejected by Sam Lee: too early"
	got := Alert(rejected)
	if buttons(got)[ActionPlan] == nil || !strings.Contains(string(payload(t, got)), "Migration M7K2QX rejected by Sam Lee: too early") {
		t.Errorf("alert after a rejection should offer a new plan and say why: %s", payload(t, got))
	}

	none := base
	none.Targets = nil
	if got := Alert(none); len(buttons(got)) != 0 || !strings.Contains(string(payload(t, got)), "KAIZALA_CATALOG") {
		t.Errorf("alert without targets: %s", payload(t, got))
	}
}

func TestAlertHeader(t *testing.T) {
	tests := []struct {
		end       time.Time
		threshold int
		want      string
	}{
		{day0(2026, 12, 6), 14, ":warning: Kaizala Pro ends in 12 days"},
		{day0(2026, 11, 24), 1, ":rotating_light: Kaizala Pro ends today"},
		{day0(2026, 11, 21), 0, ":rotating_light: Kaizala Pro ended 3 days ago"},
	}
	for _, tt := range tests {
		tr := tracked()
		tr.Subscription.EndDate = tt.end
		h := Alert(AlertView{Tracked: tr, Threshold: tt.threshold, UsersAssigned: -1, Now: now, Location: cet}).Blocks[0].(*slack.HeaderBlock)
		if h.Text.Text != tt.want {
			t.Errorf("header %q, want %q", h.Text.Text, tt.want)
		}
	}
}

func TestProgress(t *testing.T) {
	m := *migration(bot.StateMovingUsers)
	m.NewSubscriptionID = newSubID
	failed := *failedAtVerify()
	stale := *needsApproval()
	overridden := *failedAtVerify()
	overridden.Override = true
	bySystem := *migration(bot.StateMovingUsers)
	bySystem.Requester = bot.System
	converting := *transitionPlan(bot.StateTransitioning)
	converted := converting
	converted.NewSubscriptionID = newSubID
	renewing := *renewalPlan(bot.StateAwaitingRenewal)
	undoing := *done()
	undoing.State = bot.StateUndoReactivating
	tests := []struct {
		name string
		e    bot.Event
		want string // "" when not posted
	}{
		{"transitioning", bot.Event{Kind: bot.EventTransitioning, Migration: converting},
			":arrows_counterclockwise: Transition started: Partner Center converts subscription `" + kaizalaSubID + "` (25 seats) to Office 365 E1, licences and all. Microsoft completes it by itself; the result is posted here."},
		{"transitioned", bot.Event{Kind: bot.EventTransitioned, Migration: converted},
			"Converted: subscription `" + kaizalaSubID + "` became subscription `" + newSubID + "` of Office 365 E1, with the licences. Checking that every user holds it."},
		{"transitioned in place", bot.Event{Kind: bot.EventTransitioned, Migration: converting},
			"Converted: subscription `" + kaizalaSubID + "` is now Office 365 E1, with the licences. Checking that every user holds it."},
		{"scheduled", bot.Event{Kind: bot.EventScheduled, Migration: renewing, Message: "renews into Office 365 E1 on 3 Jan 2027"},
			":calendar: Scheduled: subscription `" + kaizalaSubID + "` renews into Office 365 E1 on 3 Jan 2027; auto-renew is on. Nothing else changes until then; it can be undone until the renewal (`/kaizala undo M7K2QX`)."},
		{"renewed", bot.Event{Kind: bot.EventRenewed, Migration: renewing},
			"Renewed: subscription `" + kaizalaSubID + "` renewed into Office 365 E1; Microsoft moves the licences. Checking that every user holds it."},
		{"transition done", bot.Event{Kind: bot.EventDone, Migration: converted},
			":white_check_mark: <@U0REQ0001>, done. The users of Contoso Ltd now have Office 365 E1 (subscription `" + kaizalaSubID + "` converted to Office 365 E1 (now subscription `" + newSubID + "`))."},
		{"renewal done", bot.Event{Kind: bot.EventDone, Migration: renewing},
			":white_check_mark: <@U0REQ0001>, done. The users of Contoso Ltd now have Office 365 E1 (subscription `" + kaizalaSubID + "` renewed into Office 365 E1 on Sun 3 Jan 2027)."},
		{"undoing", bot.Event{Kind: bot.EventUndoing, Migration: undoing, Actor: approver2, Message: "the customer <stays>"},
			":leftwards_arrow_with_hook: <@U0REQ0001>, undo asked by <@U0APR0002> (the customer &lt;stays&gt;): moving the users back to Kaizala Pro, then cancelling subscription `" + newSubID + "` (Office 365 E1)."},
		{"undoing a renewal", bot.Event{Kind: bot.EventUndoing, Migration: renewing, Actor: approver2},
			":leftwards_arrow_with_hook: <@U0REQ0001>, undo asked by <@U0APR0002>: removing the change scheduled on subscription `" + kaizalaSubID + "`."},
		{"undone", bot.Event{Kind: bot.EventUndone, Migration: undoing, Message: "the users are back on Kaizala Pro; subscription " + newSubID + " (Office 365 E1) is cancelled with a refund for its refundable seats"},
			":leftwards_arrow_with_hook: <@U0REQ0001>, undone: the users are back on Kaizala Pro; subscription " + newSubID + " (Office 365 E1) is cancelled with a refund for its refundable seats."},
		{"undone, saying nothing", bot.Event{Kind: bot.EventUndone, Migration: undoing},
			":leftwards_arrow_with_hook: <@U0REQ0001>, undone: the users are back on Kaizala Pro; subscription `" + newSubID + "` (Office 365 E1) is cancelled with a refund."},
		{"planned", bot.Event{Kind: bot.EventPlanned, Migration: m}, ""},
		{"approved", bot.Event{Kind: bot.EventApproved, Migration: m, Actor: approver1}, ""},
		{"started", bot.Event{Kind: bot.EventStarted, Migration: m, Actor: approver1}, "<@U0REQ0001>, approved by <@U0APR0001>; starting."},
		{"started by the system", bot.Event{Kind: bot.EventStarted, Migration: m, Actor: bot.System}, "<@U0REQ0001>, approved; starting."},
		{"started, asked by no Slack user", bot.Event{Kind: bot.EventStarted, Migration: bySystem, Actor: approver1}, "Approved by <@U0APR0001>; starting."},
		{"resumed", bot.Event{Kind: bot.EventStarted, Migration: m, Actor: approver2, Message: "resumed at move_users"}, "Resumed at moving users (retried by <@U0APR0002>)."},
		{"overridden", bot.Event{Kind: bot.EventStarted, Migration: overridden, Actor: approver2, Message: "resumed at verify"},
			"Resumed at verifying: <@U0APR0002> chose to suspend although some users still hold Kaizala Pro."},
		{"resumed after a restart", bot.Event{Kind: bot.EventStarted, Migration: m, Actor: bot.System, Message: "resumed at buy"}, "Resumed at buying."},
		{"bought", bot.Event{Kind: bot.EventBought, Migration: m, Total: 25}, "Bought subscription `" + newSubID + "` for 25 seats of Office 365 E1."},
		{"seats ready", bot.Event{Kind: bot.EventSeatsReady, Migration: m, Done: 25, Total: 25}, "The 25 seats are ready."},
		{"9th user", bot.Event{Kind: bot.EventUserMoved, Migration: m, Done: 9, Total: 23}, ""},
		{"10th user", bot.Event{Kind: bot.EventUserMoved, Migration: m, Done: 20, Total: 23}, "Moved 20 of 23 users."},
		{"last user", bot.Event{Kind: bot.EventUserMoved, Migration: m, Done: 23, Total: 23}, "Moved 23 of 23 users."},
		{"user failed", bot.Event{Kind: bot.EventUserFailed, Migration: m, Move: &bot.UserMove{UPN: "user02@contoso.onmicrosoft.com", Error: "licence update conflict"}},
			"Could not move user02@contoso.onmicrosoft.com: licence update conflict."},
		{"suspended", bot.Event{Kind: bot.EventSuspended, Migration: m, Deprovision: time.Date(2027, 3, 24, 8, 0, 0, 0, time.UTC)},
			"Suspended subscription `" + kaizalaSubID + "`: its billing stopped with a prorated credit; Microsoft deletes it on Wed 24 Mar 2027."},
		{"done", bot.Event{Kind: bot.EventDone, Migration: m},
			":white_check_mark: <@U0REQ0001>, done. The users of Contoso Ltd now have Office 365 E1 (new subscription `" + newSubID + "`); old subscription `" + kaizalaSubID + "` suspended."},
		{"failed", bot.Event{Kind: bot.EventFailed, Migration: failed, Message: "Partner Center answered 500"},
			":x: <@U0REQ0001>, failed at verifying: Partner Center answered 500. Retry with the button above or `/kaizala retry M7K2QX`."},
		{"needs approval", bot.Event{Kind: bot.EventNeedsApproval, Migration: stale, Message: stale.Error},
			":warning: <@U0REQ0001>, stopped before buying: the world changed since the plan was approved: the subscription's quantity changed from 25 to 30. Retry with the button above or `/kaizala retry M7K2QX` to make a new plan to approve."},
		{"replanned", bot.Event{Kind: bot.EventReplanned, Migration: m, Message: "the subscription's quantity changed from 25 to 30"},
			":memo: New plan to approve (the subscription's quantity changed from 25 to 30). The plan above is updated; it needs approval again."},
		{"rejected", bot.Event{Kind: bot.EventRejected, Migration: m, Decision: &bot.Decision{Actor: approver1, Reason: "renewing by phone"}},
			":no_entry_sign: <@U0REQ0001>, rejected by <@U0APR0001>: renewing by phone."},
		{"withdrawn", bot.Event{Kind: bot.EventRejected, Migration: m, Decision: &bot.Decision{Actor: requester, Reason: "the customer renews"}},
			":no_entry_sign: Withdrawn by <@U0REQ0001>: the customer renews."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Progress(tt.e, cet)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("Progress = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	plainHelp := strings.ToLower(string(payload(t, Help("", ""))))
	for _, want := range []string{"/kaizala plan", "/kaizala approve", "an approver clicks *Approve* on the plan, or types `/kaizala approve &lt;id&gt;`; you cannot approve your own request",
		"/kaizala list [days]", "/kaizala status &lt;subscription-id | customer domain | customer name&gt;", "/kaizala targets",
		"/kaizala reject &lt;request-id&gt; &lt;reason&gt;", "/kaizala retry", "/kaizala undo &lt;request-id&gt; [reason]", "[via transition|replace|renewal]", "/kaizala history", "/kaizala digest", "/kaizala scan", "/kaizala help"} {
		if !strings.Contains(plainHelp, strings.ToLower(want)) {
			t.Errorf("help does not say %q", want)
		}
	}
	if strings.Contains(plainHelp, "i don't know") {
		t.Error("help without an unknown word says it does not know one")
	}

	m := Help("<!here>", "approve")
	first := m.Blocks[0].(*slack.SectionBlock).Text.Text
	if want := "I don't know “&lt;!here&gt;”. Did you mean `approve`?"; first != want {
		t.Errorf("first line %q, want %q", first, want)
	}
	if !strings.HasPrefix(m.Text, "I don't know “&lt;!here&gt;”. Did you mean approve?") ||
		!strings.Contains(m.Text, "plan") || !strings.Contains(m.Text, "approve") {
		t.Errorf("Text = %q", m.Text)
	}
	if got := Help("frobnicate", "").Blocks[0].(*slack.SectionBlock).Text.Text; got != "I don't know “frobnicate”." {
		t.Errorf("without a suggestion: %q", got)
	}
}

func TestRefusalAndInfo(t *testing.T) {
	r := Refusal("There is no migration \"M0\". Migration ids look like M7K2QX; see /kaizala history.")
	if want := ":no_entry: There is no migration \"M0\". Migration ids look like M7K2QX; see /kaizala history."; r.Text != want {
		t.Errorf("Refusal Text = %q", r.Text)
	}
	if got := Info("Scanning <all> customers & more").Text; got != "Scanning &lt;all&gt; customers &amp; more" {
		t.Errorf("Info Text = %q", got)
	}
	if got := Info(""); got.Text == "" {
		t.Error("Info with no text has an empty Text")
	}
}

func TestListNothing(t *testing.T) {
	m := List([]bot.TrackedSubscription{tracked()}, 7, now, cet)
	if m.Text != "Nothing expires within 7 days." {
		t.Errorf("Text = %q", m.Text)
	}
}

func TestHistoryKeepsTheNewest(t *testing.T) {
	var entries []bot.AuditEntry
	for i := range 400 {
		entries = append(entries, bot.AuditEntry{At: now.Add(time.Duration(i) * time.Minute), Actor: approver1, Action: bot.ActionUserMoved,
			MigrationID: "M7K2QX", Detail: map[string]any{"upn": "user" + strings.Repeat("x", i%7) + "@contoso.onmicrosoft.com"}})
	}
	entries[399].Detail["upn"] = "the-last-one@contoso.onmicrosoft.com"
	entries[0].Detail["upn"] = "the-first-one@contoso.onmicrosoft.com"
	all := string(payload(t, History("History of M7K2QX", entries, cet)))
	if !strings.Contains(all, "the-last-one@") || strings.Contains(all, "the-first-one@") {
		t.Error("a cut history should show the newest entries and leave out the oldest")
	}
}

func TestPlanConfirmNamesTheSubscription(t *testing.T) {
	m := migration(bot.StatePendingApproval)
	m.Plan.CustomerName = strings.Repeat("Contoso & Söhne ", 300)
	c := buttons(Plan(PlanView{Migration: m, Required: 1, Now: now, Location: cet}))[ActionApprove].Confirm.Text.Text
	if !strings.Contains(c, "Suspends "+kaizalaSubID+": billing stops; deleted ") {
		t.Errorf("with a long customer name the dialog no longer names the subscription: %q", c)
	}
}

// The list marks a subscription with an open plan (its id, state and who
// asked) and names the account owner.
func TestListMarksOpenPlansAndOwners(t *testing.T) {
	tr := tracked()
	m := migration(bot.StatePendingApproval)
	extra := ListExtra{
		Open:  map[string]*bot.Migration{strings.ToLower(tr.Subscription.ID): m},
		Owner: func(bot.Customer) string { return "U0OWNER" },
	}
	all := string(payload(t, List([]bot.TrackedSubscription{tr}, 3650, now, cet, extra)))
	for _, want := range []string{m.ID, "<@" + m.Requester.ID + ">", "owner <@U0OWNER>"} {
		if !strings.Contains(all, want) {
			t.Errorf("the list does not say %q:\n%s", want, all)
		}
	}
	if plain := string(payload(t, List([]bot.TrackedSubscription{tr}, 3650, now, cet))); strings.Contains(plain, m.ID) {
		t.Error("without extras the list names no migration")
	}
}

// A plan saved before there was a choice of path looks as it did: no path
// line, no alternatives, and its Approve dialog as before.
func TestLegacyPlanSaysNoPath(t *testing.T) {
	msg := Plan(PlanView{Migration: legacyPlan(bot.StatePendingApproval), Required: 1, Now: now, Location: cet})
	all := string(payload(t, msg))
	for _, not := range []string{"*Path:*", "*Alternatives*", "Via replace", "Why:"} {
		if strings.Contains(all, not) {
			t.Errorf("a legacy plan says %q", not)
		}
	}
}

// The path line and the alternatives: the chosen path is not listed among
// them, a possible one gets ✓ and an impossible one ✗ with its reason.
func TestPlanShowsPathAndAlternatives(t *testing.T) {
	tests := []struct {
		name     string
		m        *bot.Migration
		want     []string
		notWant  []string
		approval string
	}{
		{"transition", transitionPlan(bot.StatePendingApproval),
			[]string{"*Path:* via transition — Partner Center says Office 365 E1 is eligible", "✗ *at renewal:* not possible: its term ends", "✓ *via replace:* buy 25 seats",
				"*Buy:* nothing: the subscription's 25 seats are converted", "is converted to Office 365 E1 (licences move with it)"},
			[]string{"✓ *via transition:*", "*Suspend:*", "*Leave to end:*"}, "Via transition. Converts " + kaizalaSubID + " (25 seats) of Contoso Ltd to Office 365 E1; buys nothing; the seats cost USD 250.00/month, USD 3,000.00/term."},
		{"renewal", renewalPlan(bot.StatePendingApproval),
			[]string{"*Path:* at renewal — the term ends on 2 Jan 2027", "✗ *via transition:* not possible", "auto-renew is turned on with the change scheduled; renews into Office 365 E1 on 3 Jan 2027",
				"from then they cost about USD 250.00 a month and USD 3,000.00 for the whole term"},
			[]string{"✓ *at renewal:*", "*Suspend:*"}, "At renewal. Schedules " + kaizalaSubID + " (25 seats) of Contoso Ltd to renew into Office 365 E1 on Sun 3 Jan 2027, auto-renew on; buys nothing now; from then USD 250.00/month, USD 3,000.00/term."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := Plan(PlanView{Migration: tt.m, Required: 1, Now: now, Location: cet})
			all := string(payload(t, msg))
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("the plan does not say %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(all, w) {
					t.Errorf("the plan says %q", w)
				}
			}
			if c := buttons(msg)[ActionApprove].Confirm.Text.Text; !strings.HasPrefix(c, tt.approval) || len([]rune(c)) > maxConfirmText {
				t.Errorf("Approve dialog %q, want it to start %q", c, tt.approval)
			}
			running := *tt.m
			running.State = bot.StateVerifying
			if strings.Contains(string(payload(t, Plan(PlanView{Migration: &running, Required: 1, Now: now, Location: cet}))), "*Alternatives*") {
				t.Error("an approved plan still lists the alternatives")
			}
		})
	}
}

// Undo on a done replace says until when it is possible, while the
// lifecycle offers it (by the wall clock).
func TestDoneSaysUntilWhenUndoIsPossible(t *testing.T) {
	m := done()
	m.Outcome.NewCancellableUntil = time.Now().Add(48 * time.Hour)
	msg := Plan(PlanView{Migration: m, Required: 1, Now: now, Location: cet})
	u := buttons(msg)[ActionUndo]
	if u == nil || u.Confirm == nil || u.Confirm.Title.Text != "Undo migration M7K2QX?" || u.Confirm.Style != slack.StyleDanger {
		t.Fatalf("Undo button: %+v", u)
	}
	if want := "It can be undone until " + stamp(m.Outcome.NewCancellableUntil, cet); !strings.Contains(string(payload(t, msg)), want) {
		t.Errorf("the done plan does not say %q", want)
	}
}
