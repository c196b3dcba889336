package main

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/fakeslack"
	"github.com/kaizalabot/kaizalabot/pcsim"
	"github.com/kaizalabot/kaizalabot/slackview"
)

// Issue 10, acceptance 2: a scan that newly alerts 12 or more subscriptions
// adds at most 3 top-level messages to the alert channel, and every one of
// them appears (in a message or its thread) with a way to plan it; choosing
// a plan in a line's menu, even in the thread, posts that plan and updates
// the line in place.
func TestStoryAScanAlertsManySubscriptionsInOneMessage(t *testing.T) {
	st := newStack(t, func(o *pcsim.Options) { o.Customers = 60 })
	alerted := st.waitAlerted()
	if len(alerted) < 12 {
		t.Fatalf("the sandbox has %d expiring subscriptions; the story needs 12 or more", len(alerted))
	}
	top := st.slack.Messages(alertChannel)
	t.Logf("%d subscriptions alerted in %d top-level messages", len(alerted), len(top))
	if len(top) > 3 {
		t.Errorf("one scan alerting %d subscriptions added %d top-level messages, want at most 3", len(alerted), len(top))
	}
	var inThread string
	for _, sub := range alerted {
		msg := st.alertOf(sub.Subscription.ID)
		if !hasLineMenu(msg, sub.Subscription.ID) {
			t.Errorf("%s is shown without its menu of plans", sub.Subscription.ID)
		}
		if msg.ThreadTS != "" && inThread == "" {
			inThread = sub.Subscription.ID
		}
	}

	// Plan one from its line's menu, in the thread if the batch has one.
	sub := cmp.Or(inThread, alerted[0].Subscription.ID)
	msg := st.alertOf(sub)
	st.planFromAlert(msg, sub, "STANDARDPACK")
	st.waitMessage(alertChannel, "Approve", "Reject", sub, "Office 365 E1")
	m := st.migrationOf(sub)
	updated := st.waitAlertShows(msg, sub, "Migration "+m.ID+" pending approval")
	if hasLineMenu(updated, sub) {
		t.Errorf("the line still offers a new plan while %s waits for approval:\n%s", m.ID, alertLineText(updated, sub))
	}
	if n := len(st.slack.Messages(alertChannel)); n != len(top)+1 {
		t.Errorf("%d top-level messages after the plan, want %d: the alert and the plan", n, len(top)+1)
	}

	// The next scan alerts nothing again.
	st.command(salesID, "scan")
	st.waitEphemeral(salesID, "0 new alerts")
	if n := len(st.slack.Messages(alertChannel)); n != len(top)+1 {
		t.Errorf("a second scan added %d top-level messages", n-len(top)-1)
	}
}

// waitAlerted waits until the scan at start has recorded and alerted every
// expiring subscription, and returns them, most urgent first.
func (st *stack) waitAlerted() []bot.TrackedSubscription {
	st.t.Helper()
	ctx := st.ctx()
	for {
		if _, err := st.srv.db.LastScan(ctx); err == nil {
			break
		}
		if ctx.Err() != nil {
			st.t.Fatal("no scan was recorded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	tracked, err := st.srv.db.TrackedSubscriptions(ctx)
	if err != nil {
		st.t.Fatal(err)
	}
	var expiring []bot.TrackedSubscription
	for _, tr := range tracked {
		tr.DaysLeft = bot.DaysLeft(tr.Subscription.EndDate, time.Now(), time.UTC)
		if tr.Expiring(slices.Max(bot.DefaultAlertDays)) {
			expiring = append(expiring, tr)
		}
	}
	for _, tr := range expiring {
		for {
			alerts, err := st.srv.db.Alerts(ctx, tr.Subscription.ID)
			if err != nil {
				st.t.Fatal(err)
			}
			if len(alerts) > 0 && alerts[len(alerts)-1].TS != "" {
				break
			}
			if ctx.Err() != nil {
				st.t.Fatalf("subscription %s was never alerted: %+v", tr.Subscription.ID, alerts)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return expiring
}

// alertPosts are the alert channel's messages, top-level ones and the
// replies in their threads.
func (st *stack) alertPosts() []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range st.slack.Messages(alertChannel) {
		out = append(out, m)
		out = append(out, st.slack.Thread(alertChannel, m.TS)...)
	}
	return out
}

// alertOf waits for the alert that shows sub: a line of a batch (in its
// top-level message or a follow-up in its thread) or a single alert.
func (st *stack) alertOf(sub string) fakeslack.Message {
	st.t.Helper()
	ctx := st.ctx()
	for {
		for _, m := range st.alertPosts() {
			if alertLineText(m, sub) != "" {
				return m
			}
		}
		if ctx.Err() != nil {
			st.t.Fatalf("no alert shows %s", sub)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alertBlocks are the parts of a message's blocks the alert helpers read.
type alertBlocks []struct {
	BlockID string `json:"block_id"`
	Text    *struct {
		Text string `json:"text"`
	} `json:"text"`
	Accessory *struct {
		Type     string `json:"type"`
		ActionID string `json:"action_id"`
		Options  []struct {
			Value string `json:"value"`
		} `json:"options"`
	} `json:"accessory"`
	Elements []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"elements"`
}

func blocksOf(m fakeslack.Message) alertBlocks {
	var bs alertBlocks
	_ = json.Unmarshal(m.Blocks, &bs) // a message without blocks shows no line
	return bs
}

// alertLineText is what m says about sub: its line in a batch, or the
// whole of a single alert about it (one with its Plan migration button);
// "" when m does not show sub.
func alertLineText(m fakeslack.Message, sub string) string {
	for _, b := range blocksOf(m) {
		if strings.HasPrefix(b.BlockID, "kaizala_line:"+sub+":") && b.Text != nil {
			return b.Text.Text
		}
		for _, e := range b.Elements {
			if e.ActionID == slackview.ActionPlan && e.Value == sub {
				return render(m)
			}
		}
	}
	if strings.HasPrefix(m.Text, "Kaizala Pro for ") && strings.Contains(string(m.Blocks), sub) {
		return render(m) // a single alert whose migration took its button
	}
	return ""
}

// hasLineMenu reports whether m offers to plan sub: its line's menu with
// options that plan sub, or a single alert's Plan migration button.
func hasLineMenu(m fakeslack.Message, sub string) bool {
	for _, b := range blocksOf(m) {
		if a := b.Accessory; a != nil && a.ActionID == slackview.ActionPlanLine+":"+sub {
			for _, o := range a.Options {
				if s, _, ok := slackview.ParsePlanLineValue(o.Value); ok && s == sub {
					return true
				}
			}
		}
		for _, e := range b.Elements {
			if e.ActionID == slackview.ActionPlan && e.Value == sub {
				return true
			}
		}
	}
	return false
}

// planFromAlert asks for a plan of sub to target from its alert, as the
// salesperson: the line's menu, or a single alert's menu and button.
func (st *stack) planFromAlert(alert fakeslack.Message, sub, target string) {
	st.t.Helper()
	line := slackview.ActionPlanLine + ":" + sub
	click, opt := line, fakeslack.Select(line, slackview.PlanLineValue(sub, target))
	if !strings.Contains(string(alert.Blocks), `"`+line+`"`) {
		click, opt = slackview.ActionPlan, fakeslack.Select(slackview.ActionTarget, target)
	}
	reply, err := st.slack.Click(st.ctx(), salesID, alert, click, opt)
	if err != nil || reply.Status != 200 {
		st.t.Fatalf("choosing %s for %s in its alert: %v %d %s", target, sub, err, reply.Status, reply.Body)
	}
}

// waitAlertShows waits until the alert message shows, about sub, every
// part of contains, and returns it as it is then.
func (st *stack) waitAlertShows(alert fakeslack.Message, sub string, contains ...string) fakeslack.Message {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		m, ok := st.slack.Message(alert.Channel, alert.TS)
		if ok && containsAll(alertLineText(m, sub), contains...) {
			return m
		}
		if ctx.Err() != nil {
			st.t.Fatalf("the alert %s does not show %q about %s:\n%s", alert.TS, contains, sub, alertLineText(m, sub))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
