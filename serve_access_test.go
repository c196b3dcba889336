package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/fakeslack"
)

// Acceptance 1 of issue 10: someone in none of the lists learns nothing
// about any customer and changes nothing; a listed salesperson of another
// Slack team (Slack Connect) is refused too.
func TestStoryWhoMayDoWhat(t *testing.T) {
	st := newStack(t)
	sub := st.expiring()
	tracked, err := st.srv.db.TrackedSubscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Everything a refusal must not show: every customer's name and domain
	// (users' e-mail addresses end with it) and every subscription id.
	var secrets []string
	for _, tr := range tracked {
		secrets = append(secrets, tr.Customer.Name, tr.Customer.Domain, tr.Subscription.ID)
	}
	noCustomerData := func(who, what, text string) {
		t.Helper()
		for _, s := range secrets {
			if s != "" && strings.Contains(strings.ToLower(text), strings.ToLower(s)) {
				t.Errorf("%s's refusal of %s shows customer data (%q):\n%s", who, what, s, text)
			}
		}
	}

	for _, text := range []string{"list", "status " + sub.Customer.Domain, "history", "targets", "plan " + sub.Subscription.ID + " STANDARDPACK"} {
		reply := replyText(t, st.command(bystanderID, text))
		if !containsAll(reply, "not set up", "<@"+bossID+">") {
			t.Errorf("/kaizala %s by someone in no list: want a private refusal naming <@%s>, got %s", text, bossID, reply)
		}
		noCustomerData("the bystander", text, reply)
	}
	// help stays open: it shows no customer data.
	if help := replyText(t, st.command(bystanderID, "help")); strings.Contains(help, "not set up") || !strings.Contains(strings.ToLower(help), "plan") {
		t.Errorf("help for someone in no list: %s", help)
	}

	// A plan waits; the bystander's click on Approve changes nothing.
	plan, m := st.plan(sub)
	if _, err := st.slack.Click(st.ctx(), bystanderID, plan, "kaizala_approve"); err != nil {
		t.Fatal(err)
	}
	refusal := st.waitEphemeral(bystanderID, "click *Approve*", "not set up", "<@"+bossID+">")
	noCustomerData("the bystander", "Approve", render(refusal))
	if got, _ := st.srv.db.GetMigration(context.Background(), m.ID); got.State != bot.StatePendingApproval {
		t.Errorf("after the bystander's click the migration is %s", got.State)
	}
	if ds, err := st.srv.db.Decisions(context.Background(), m.ID); err != nil || len(ds) != 0 {
		t.Errorf("the bystander's click recorded decisions %+v (%v)", ds, err)
	}

	// A listed salesperson of another team: refused whatever the lists say.
	reply := replyText(t, st.command(partnerID, "list"))
	if !strings.Contains(reply, "own workspace") {
		t.Errorf("/kaizala list from another team: %s", reply)
	}
	noCustomerData("the partner", "list", reply)
	other := st.expiring(sub.Subscription.ID)
	if reply := replyText(t, st.command(partnerID, "plan "+other.Subscription.ID+" STANDARDPACK")); !strings.Contains(reply, "own workspace") {
		t.Errorf("/kaizala plan from another team: %s", reply)
	}
	if _, err := st.slack.Click(st.ctx(), partnerID, plan, "kaizala_reject"); err != nil {
		t.Fatal(err)
	}
	st.waitEphemeral(partnerID, "own workspace")
	time.Sleep(300 * time.Millisecond) // what a plan that was let through would take to appear
	if ms, _ := st.srv.db.ListMigrations(context.Background(), bot.MigrationFilter{SubscriptionID: other.Subscription.ID}); len(ms) != 0 {
		t.Errorf("another team's salesperson planned %d migrations", len(ms))
	}
	if got, _ := st.srv.db.GetMigration(context.Background(), m.ID); got.State != bot.StatePendingApproval {
		t.Errorf("after the partner's Reject the migration is %s", got.State)
	}
	// Nothing the refused people did reached the channel.
	for _, msg := range st.slack.Messages(alertChannel) {
		if strings.Contains(render(msg), "otto.other") || strings.Contains(render(msg), "pat.partner") {
			t.Errorf("a refused person shows in the alert channel:\n%s", render(msg))
		}
	}
	// The listed salesperson of our own team may.
	if list := replyText(t, st.command(salesID, "list")); strings.Contains(list, "not set up") || strings.Contains(list, "own workspace") {
		t.Errorf("the salesperson was refused: %s", list)
	}
	if !strings.Contains(st.logs.String(), "refused a request from another Slack team") {
		t.Error("the log does not say another team's request was refused")
	}
}

// With no sales or viewer list, only approvers may use the bot, and the
// start log says so.
func TestStoryOnlyApproversWithoutLists(t *testing.T) {
	st := newStack(t)
	st.srv.Shutdown()
	st.cfg.Sales = nil
	st.logs = &syncBuffer{}
	st.start()
	if !strings.Contains(st.logs.String(), "only approvers may use the bot") {
		t.Errorf("the start log does not say only approvers may use the bot:\n%s", st.logs.String())
	}
	if !strings.Contains(st.logs.String(), `"mode":"HTTP`) {
		t.Errorf("the start log does not say it serves over HTTP:\n%s", st.logs.String())
	}
	if reply := replyText(t, st.command(salesID, "list")); !strings.Contains(reply, "not set up") {
		t.Errorf("an unlisted salesperson may list: %s", reply)
	}
	if reply := replyText(t, st.command(bossID, "list")); strings.Contains(reply, "not set up") {
		t.Errorf("the approver was refused: %s", reply)
	}
}

// Acceptance 6 of issue 10: what Slack shows to be wrong stops serve at
// start with exit status 2 and one line naming the problem.
func TestServeStartChecks(t *testing.T) {
	pc := httptest.NewServer(http.NotFoundHandler()) // never reached: the checks come first
	t.Cleanup(pc.Close)
	fake := fakeslack.New(fakeslack.Options{
		BotToken: testBotToken,
		Groups:   map[string][]string{"S0APPROVE": {bossID}, "S0EMPTY": {}},
		Channels: map[string]fakeslack.Channel{
			"C0SECRET": {Private: true, Outside: true}, "G0PRIVATE": {Outside: true},
			"C0OLD": {Archived: true}, "C0PUBLIC": {Outside: true},
		},
	})
	if _, err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })

	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string // in the one line
	}{
		{"revoked token", map[string]string{"SLACK_BOT_TOKEN": "xoxb-revoked-5ecret"}, []string{"SLACK_BOT_TOKEN", "invalid_auth"}},
		{"alert channel name", map[string]string{"KAIZALA_ALERT_CHANNEL": "#kaizala-alerts"}, []string{`KAIZALA_ALERT_CHANNEL="#kaizala-alerts" is a channel name; use the channel's ID`}},
		{"digest channel name", map[string]string{"KAIZALA_DIGEST_CHANNEL": "#digest"}, []string{"KAIZALA_DIGEST_CHANNEL", "channel name"}},
		{"2 required approvals, 1 approver", map[string]string{"KAIZALA_REQUIRED_APPROVALS": "2"}, []string{"KAIZALA_REQUIRED_APPROVALS=2", "only 1 approver"}},
		{"2 required approvals, a group of 1", map[string]string{"KAIZALA_REQUIRED_APPROVALS": "2", "KAIZALA_APPROVERS": "", "KAIZALA_APPROVER_GROUP": "S0APPROVE"},
			[]string{"KAIZALA_REQUIRED_APPROVALS=2", "KAIZALA_APPROVER_GROUP=S0APPROVE make only 1 approver"}},
		{"no approvers", map[string]string{"KAIZALA_APPROVERS": ""}, []string{"KAIZALA_APPROVERS: no approvers"}},
		{"an empty approver group", map[string]string{"KAIZALA_APPROVERS": "", "KAIZALA_APPROVER_GROUP": "S0EMPTY"}, []string{"KAIZALA_APPROVER_GROUP=S0EMPTY has no members"}},
		{"an unknown sales group", map[string]string{"KAIZALA_SALES_GROUP": "S0TYPO"}, []string{"KAIZALA_SALES_GROUP=S0TYPO", "no_such_subteam"}},
		{"bot not in the private alert channel", map[string]string{"KAIZALA_ALERT_CHANNEL": "C0SECRET"}, []string{"KAIZALA_ALERT_CHANNEL=C0SECRET", "channel_not_found", "invite the bot"}},
		{"bot not in the private digest channel", map[string]string{"KAIZALA_DIGEST_CHANNEL": "G0PRIVATE"}, []string{"KAIZALA_DIGEST_CHANNEL=G0PRIVATE", "invite the bot"}},
		{"archived alert channel", map[string]string{"KAIZALA_ALERT_CHANNEL": "C0OLD"}, []string{"KAIZALA_ALERT_CHANNEL=C0OLD", "archived"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{
				"SLACK_BOT_TOKEN": testBotToken, "SLACK_SIGNING_SECRET": testSigning, "SLACK_APP_TOKEN": "", "SLACK_API_URL": fake.APIURL(),
				"KAIZALA_ALERT_CHANNEL": "C0PUBLIC", "KAIZALA_DIGEST_CHANNEL": "", "KAIZALA_APPROVERS": bossID, "KAIZALA_APPROVER_GROUP": "",
				"KAIZALA_REQUIRED_APPROVALS": "", "KAIZALA_SALES": salesID, "KAIZALA_SALES_GROUP": "", "KAIZALA_VIEWERS": "", "KAIZALA_VIEWER_GROUP": "",
				"KAIZALA_DB": filepath.Join(t.TempDir(), "kaizalabot.db"), "KAIZALA_LISTEN": "127.0.0.1:0", "KAIZALA_CATALOG": "",
				"PC_API_URL": pc.URL, "PC_TOKEN_URL": pc.URL + "/partner/oauth2/token", "PC_TENANT_ID": "partner", "PC_CLIENT_ID": "client", "PC_CLIENT_SECRET": testPCSecret,
				"PC_REFRESH_TOKEN": "",
			}
			for k, v := range tc.env {
				env[k] = v
			}
			for k, v := range env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			if code := run(ctx, []string{"serve"}, &stdout, &stderr); code != exitConfig {
				t.Errorf("exit %d, want %d", code, exitConfig)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "kaizalabot serve: ") || !containsAll(lines[0], tc.want...) {
				t.Errorf("stderr, want one line with %q:\n%s", tc.want, stderr.String())
			}
			for _, secret := range []string{testBotToken, "xoxb-revoked-5ecret", testSigning, testPCSecret} {
				if strings.Contains(stderr.String()+stdout.String(), secret) {
					t.Errorf("the output shows a secret (%s…)", secret[:6])
				}
			}
		})
	}
}

// replyText is the text of a command's immediate JSON answer, which must be
// private.
func replyText(t *testing.T, body string) string {
	t.Helper()
	var msg slack.Msg
	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		t.Fatalf("the answer is not a JSON message: %v: %s", err, body)
	}
	if msg.ResponseType != slack.ResponseTypeEphemeral {
		t.Errorf("the answer is not private (response_type %q): %s", msg.ResponseType, msg.Text)
	}
	return msg.Text + "\n" + body
}
