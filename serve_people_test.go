package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/config"
	"github.com/kaizalabot/kaizalabot/fakeslack"
)

// People are told: a customer's account owner by DM when it alerts, the
// approvers when a plan waits for them (and again while it waits), the
// requester when their plan is approved and done.

// ownerID is the account owner of the customer the owner story maps.
const ownerID = "U0OWNER"

// TestPeopleOwnerIsToldByDM is acceptance 3: with KAIZALA_OWNERS mapping a
// customer's domain to a user, that user gets a DM (conversations.open,
// then chat.postMessage to the DM's channel) naming the customer when it
// alerts; once, not at every scan; and is named on the customer's plans.
func TestPeopleOwnerIsToldByDM(t *testing.T) {
	st := newStack(t)
	sub := st.expiring() // learnt from the scan at start, to write the owners file

	// A new install whose owners file names that customer by its domain
	// (in another case: matching ignores it) starts on an empty database,
	// so its first scan alerts again.
	st.srv.Shutdown()
	path := filepath.Join(t.TempDir(), "owners.csv")
	file := "customer,owner,channel\n# the account team\n" + strings.ToUpper(sub.Customer.Domain) + "," + ownerID + ",\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	owners, err := config.LoadOwners(path)
	if err != nil {
		t.Fatal(err)
	}
	st.cfg.OwnersFile, st.cfg.Owners = path, owners
	st.cfg.DB = filepath.Join(t.TempDir(), "owners.db")
	st.start()

	dm, err := st.slack.WaitDM(st.ctx(), ownerID, func(m fakeslack.Message) bool { return strings.Contains(render(m), sub.Subscription.ID) })
	if err != nil {
		t.Fatalf("the owner got no DM about %s: %v", sub.Subscription.ID, err)
	}
	if !st.slack.Opened(fakeslack.DMChannel(ownerID)) || dm.Channel != fakeslack.DMChannel(ownerID) {
		t.Errorf("the DM went to %s without conversations.open of %s", dm.Channel, fakeslack.DMChannel(ownerID))
	}
	shown := render(dm)
	if !strings.Contains(shown, sub.Customer.Name) || !strings.Contains(shown, sub.Customer.Domain) {
		t.Errorf("the DM does not name the customer %s (%s):\n%s", sub.Customer.Name, sub.Customer.Domain, shown)
	}
	if !strings.Contains(shown, "days") && !strings.Contains(shown, "ends today") && !strings.Contains(shown, "ended") {
		t.Errorf("the DM does not say how long is left:\n%s", shown)
	}
	// It links to the alert, which is about this subscription (the fake
	// Slack still shows the first install's alerts too).
	linked := false
	for _, alert := range st.slack.Messages(alertChannel) {
		if strings.Contains(unescaped(dm), "<"+st.slack.Permalink(alert.Channel, alert.TS)+"|") {
			linked = strings.Contains(render(alert), sub.Subscription.ID)
		}
	}
	if !linked {
		t.Errorf("the DM does not link to an alert about %s:\n%s", sub.Subscription.ID, dm.Text)
	}
	for _, other := range []string{salesID, bossID} {
		if dms := st.slack.DMs(other); len(dms) > 0 {
			t.Errorf("%s, who owns no customer, got a DM: %q", other, dms[0].Text)
		}
	}

	// The next scan alerts nothing new and tells nobody again.
	told := len(st.slack.DMs(ownerID))
	for {
		res, err := st.srv.app.Scan(st.ctx())
		if err != nil {
			t.Fatal(err)
		}
		if !res.Joined { // the scan at start may still be finishing
			break
		}
	}
	if n := len(st.slack.DMs(ownerID)); n != told {
		t.Errorf("a scan with no new alert sent the owner %d more DMs", n-told)
	}

	// The owner is named on the customer's plan.
	plan, _ := st.plan(sub)
	if !strings.Contains(unescaped(plan), "Account owner <@"+ownerID+">") {
		t.Errorf("the plan does not mention the account owner:\n%s", render(plan))
	}
}

// TestPeopleApproversAndRequesterAreTold is acceptance 8 and the approvers'
// side: a new plan mentions the approvers in its thread, a plan that waits
// is brought up again after KAIZALA_APPROVAL_REMINDER (no more often), the
// digest says who it waits on, and the requester is mentioned in the
// thread when it is approved and when it is done.
func TestPeopleApproversAndRequesterAreTold(t *testing.T) {
	const every = 1500 * time.Millisecond
	st := newStackWith(t, func(_ *fakeslack.Options, c *config.Serve) { c.ApprovalReminder = every })
	sub := st.expiring()
	plan, migration := st.plan(sub)
	reply := func(what string, match func(string) bool) fakeslack.Message {
		t.Helper()
		m, err := st.slack.WaitThreadReply(st.ctx(), plan.Channel, plan.TS, func(m fakeslack.Message) bool { return match(m.Text) })
		if err != nil {
			t.Fatalf("no reply in the plan's thread %s: %v", what, err)
		}
		return m
	}
	asked := reply("asking the approver", func(s string) bool {
		return strings.Contains(s, "<@"+bossID+">") && strings.Contains(s, "waits for your approval") && strings.Contains(s, migration.ID)
	})
	if strings.Contains(asked.Text, "<@"+salesID+">:") {
		t.Errorf("the requester is asked to approve their own plan: %q", asked.Text)
	}

	reminded := reply("reminding the approver", func(s string) bool { return strings.HasPrefix(s, ":bell: <@"+bossID+">") })
	if waited := reminded.Posted.Sub(plan.Posted); waited < every {
		t.Errorf("reminded %v after the plan, before KAIZALA_APPROVAL_REMINDER (%v)", waited, every)
	}

	// The digest says who the plan waits on and who asked.
	st.command(bossID, "digest")
	if _, err := st.slack.WaitMessage(st.ctx(), digestChannel, func(m fakeslack.Message) bool {
		return strings.Contains(unescaped(m), "`"+migration.ID+"` "+sub.Customer.Name+" — waits on <@"+bossID+"> for ") &&
			strings.Contains(unescaped(m), "(asked by <@"+salesID+">)")
	}); err != nil {
		t.Errorf("the digest does not say whom %s waits on: %v", migration.ID, err)
	}

	// Long enough for a second reminder: reminders come no faster than
	// one per interval.
	time.Sleep(every + every/2)
	var reminders []fakeslack.Message
	for _, m := range st.slack.Thread(plan.Channel, plan.TS) {
		if strings.HasPrefix(m.Text, ":bell:") {
			reminders = append(reminders, m)
		}
	}
	// Posts to the channel are paced (alerts queue there too), so the
	// gaps between posts say little; the count since the plan does.
	waited := time.Since(migration.Plan.CreatedAt)
	if most := int(waited / every); len(reminders) < 2 || len(reminders) > most {
		t.Errorf("%d reminders %v after the plan, want 2 to %d (one per %v)", len(reminders), waited.Round(time.Millisecond), most, every)
	}

	if _, err := st.slack.Click(st.ctx(), bossID, plan, "kaizala_approve"); err != nil {
		t.Fatal(err)
	}
	reply("telling the requester it is approved", func(s string) bool {
		return strings.Contains(s, "<@"+salesID+">, approved by <@"+bossID+">")
	})
	if done := waitMigration(t, st, migration.ID); done.State != bot.StateDone {
		t.Fatalf("migration %s: %s", done.State, done.Error)
	}
	reply("telling the requester it is done", func(s string) bool { return strings.Contains(s, "<@"+salesID+">, done.") })

	// Approved: no more reminders.
	count := func() int {
		n := 0
		for _, m := range st.slack.Thread(plan.Channel, plan.TS) {
			if strings.HasPrefix(m.Text, ":bell:") {
				n++
			}
		}
		return n
	}
	before := count()
	time.Sleep(every + every/2)
	if after := count(); after != before {
		t.Errorf("%d reminders after the plan was approved", after-before)
	}
	st.assertNoSecretLogged()
}

// unescaped is a message as people read it: its blocks' JSON with < > &
// as they are, not as \u003c \u003e \u0026.
func unescaped(m fakeslack.Message) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(render(m))
}
