package slackbot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// notifierStack is the notifier against a real database and the fake
// Slack, with one migration whose plan is posted in the alert channel.
type notifierStack struct {
	*alertStack
	n  *notifier
	m  *bot.Migration
	ts string // the plan message
}

var undoer = bot.Actor{ID: "U0APR0002", Name: "Kim Park"}

func newNotifierStack(t *testing.T, m *bot.Migration) *notifierStack {
	t.Helper()
	s := &notifierStack{alertStack: newAlertStack(t), m: m}
	s.app.Engine = &bot.Engine{Policy: bot.Policy{Required: 1}}
	s.n = &notifier{app: s.app}
	ctx := context.Background()
	if err := s.db.CreateMigration(ctx, m); err != nil {
		t.Fatal(err)
	}
	_, ts, err := s.n.postPlan(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	s.ts = ts
	return s
}

// publish moves the migration to state (change may set more) and hands
// the notifier the event of kind, as the engine does.
func (s *notifierStack) publish(state bot.State, e bot.Event, change func(*bot.Migration)) {
	s.t.Helper()
	ctx := context.Background()
	m, err := s.db.GetMigration(ctx, s.m.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	m.State, m.UpdatedAt = state, s.Now()
	if change != nil {
		change(m)
	}
	if err := s.db.SaveMigration(ctx, m); err != nil {
		s.t.Fatal(err)
	}
	e.Migration = *m
	s.n.handle(ctx, e, false)
}

// plan is the plan message as it now stands, and the last reply in its thread.
func (s *notifierStack) plan() (text, blocks, reply string) {
	s.t.Helper()
	for _, msg := range s.slack.Messages(testAlertChannel) {
		if msg.TS != s.ts {
			continue
		}
		thread := s.slack.Thread(testAlertChannel, s.ts)
		if len(thread) > 0 {
			reply = thread[len(thread)-1].Text
		}
		// As Slack shows them: the blocks' JSON escapes < > &.
		unescape := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
		return msg.Text, unescape.Replace(string(msg.Blocks)), reply
	}
	s.t.Fatal("the plan message is gone")
	return "", "", ""
}

func replaceDone() *bot.Migration {
	at := time.Date(2026, 11, 23, 14, 5, 0, 0, time.UTC)
	target := bot.DefaultCatalog().TargetsFor(bot.DefaultCatalog().Retired[0])
	var e1 bot.Target
	for _, t := range target {
		if t.SkuPartNumber == "STANDARDPACK" {
			e1 = t
		}
	}
	return &bot.Migration{
		ID: "M7K2QX", CustomerID: "cust-00", CustomerDomain: "contoso.onmicrosoft.com", CustomerName: "Contoso Ltd",
		SubscriptionID: "SUB-00", NewSubscriptionID: "SUB-NEW", PlanHash: "hash-1", State: bot.StateDone,
		Requester: bot.Actor{ID: "U0REQ0001", Name: "Dana Reyes"}, CreatedAt: at, UpdatedAt: at,
		Outcome: bot.Outcome{OldSuspended: true},
		Plan: bot.Plan{CustomerID: "cust-00", CustomerName: "Contoso Ltd", Retired: "Kaizala Pro", Target: e1, Seats: 3,
			Strategy:     bot.StrategyReplace,
			Subscription: bot.PlanSubscription{ID: "SUB-00", Quantity: 3, Status: "active", EndDate: at.AddDate(0, 1, 0)},
			Move:         []bot.PlanUser{{ID: "u1", UPN: "a@contoso.onmicrosoft.com"}, {ID: "u2", UPN: "b@contoso.onmicrosoft.com"}},
			CreatedAt:    at},
	}
}

// An undo is told in the plan's thread, step by step, and the plan
// message follows it: Undo while it can be pressed, then what was undone.
func TestNotifierTellsAnUndo(t *testing.T) {
	s := newNotifierStack(t, replaceDone())
	if _, blocks, _ := s.plan(); !strings.Contains(blocks, `"kaizala_undo"`) {
		t.Fatalf("a done migration inside its window has no Undo button: %s", blocks)
	}

	s.publish(bot.StateUndoReactivating, bot.Event{Kind: bot.EventUndoing, Actor: undoer, Message: "customer stays"}, func(m *bot.Migration) {
		m.Outcome.UndoneBy, m.Outcome.UndoReason = &undoer, "customer stays"
	})
	text, blocks, reply := s.plan()
	if want := "<@U0REQ0001>, undo asked by <@U0APR0002> (customer stays): moving the users back to Kaizala Pro, then cancelling subscription `SUB-NEW` (Office 365 E1)."; !strings.HasSuffix(reply, want) {
		t.Errorf("thread reply %q, want it to end %q", reply, want)
	}
	if !strings.Contains(blocks, "Undo asked by <@U0APR0002> (customer stays); running: undoing: reactivating the old subscription") || strings.Contains(blocks, `"kaizala_undo"`) {
		t.Errorf("the plan message does not follow the undo (text %q): %s", text, blocks)
	}

	s.publish(bot.StateUndone, bot.Event{Kind: bot.EventUndone, Message: "the users are back on Kaizala Pro; subscription SUB-00 is active again"}, nil)
	_, blocks, reply = s.plan()
	if want := "<@U0REQ0001>, undone: the users are back on Kaizala Pro; subscription SUB-00 is active again."; !strings.HasSuffix(reply, want) {
		t.Errorf("thread reply %q, want it to end %q", reply, want)
	}
	if !strings.Contains(blocks, "*Undone* at the request of <@U0APR0002> (customer stays)") {
		t.Errorf("the plan message does not say it is undone: %s", blocks)
	}
}

// A transition and a renewal are told in the thread with their own words,
// naming the subscriptions and the target, and the plan follows.
func TestNotifierTellsTransitionsAndRenewals(t *testing.T) {
	transition := replaceDone()
	transition.State, transition.NewSubscriptionID, transition.Outcome = bot.StateApproved, "", bot.Outcome{}
	transition.Plan.Strategy, transition.Plan.Seats = bot.StrategyTransition, 0
	renewal := replaceDone()
	renewal.ID = "M8RNWL"
	renewal.State, renewal.NewSubscriptionID, renewal.Outcome = bot.StateApproved, "", bot.Outcome{}
	renewal.Plan.Strategy, renewal.Plan.Seats = bot.StrategyRenewal, 0
	renewal.Plan.RenewsOn = time.Date(2027, 1, 3, 0, 0, 0, 0, time.UTC)

	type step struct {
		state  bot.State
		e      bot.Event
		change func(*bot.Migration)
		reply  string // the thread's last reply ends so
		blocks string // the plan message says so
	}
	tests := []struct {
		name  string
		m     *bot.Migration
		steps []step
	}{
		{"transition", transition, []step{
			{bot.StateTransitioning, bot.Event{Kind: bot.EventTransitioning}, nil,
				"Transition started: Partner Center converts subscription `SUB-00` (3 seats) to Office 365 E1, licences and all. Microsoft completes it by itself; the result is posted here.",
				"running: transitioning"},
			{bot.StateVerifying, bot.Event{Kind: bot.EventTransitioned}, func(m *bot.Migration) { m.NewSubscriptionID = "SUB-E1" },
				"Converted: subscription `SUB-00` became subscription `SUB-E1` of Office 365 E1, with the licences. Checking that every user holds it.",
				"running: verifying"},
			{bot.StateDone, bot.Event{Kind: bot.EventDone}, nil,
				"done. The users of Contoso Ltd now have Office 365 E1 (subscription `SUB-00` converted to Office 365 E1 (now subscription `SUB-E1`)).",
				"*Done:* subscription `SUB-00` converted to Office 365 E1"},
		}},
		{"renewal", renewal, []step{
			{bot.StateAwaitingRenewal, bot.Event{Kind: bot.EventScheduled, Message: "renews into Office 365 E1 on 3 Jan 2027"}, nil,
				"Scheduled: subscription `SUB-00` renews into Office 365 E1 on 3 Jan 2027; auto-renew is on. Nothing else changes until then; it can be undone until the renewal (`/kaizala undo M8RNWL`).",
				`"kaizala_undo"`},
			{bot.StateVerifying, bot.Event{Kind: bot.EventRenewed}, nil,
				"Renewed: subscription `SUB-00` renewed into Office 365 E1; Microsoft moves the licences. Checking that every user holds it.",
				"running: verifying"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newNotifierStack(t, tt.m)
			for _, st := range tt.steps {
				s.publish(st.state, st.e, st.change)
				_, blocks, reply := s.plan()
				if !strings.HasSuffix(reply, st.reply) {
					t.Errorf("%s: thread reply %q, want it to end %q", st.e.Kind, reply, st.reply)
				}
				if !strings.Contains(blocks, st.blocks) {
					t.Errorf("%s: the plan message does not say %q: %s", st.e.Kind, st.blocks, blocks)
				}
			}
		})
	}
}
