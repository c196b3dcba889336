package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/fakeslack"
)

// A subscription ending after 90 days has a holder without a usage
// location: the migration stops before suspending, says why with Retry and
// Override buttons, and an approver's override finishes it.
func TestStoryFailureRetryOverride(t *testing.T) {
	st := newStack(t)
	st.expiring() // the scan at start has finished
	tracked, err := st.srv.db.TrackedSubscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var later bot.TrackedSubscription
	for _, tr := range tracked {
		if d := bot.DaysLeft(tr.Subscription.EndDate, time.Now(), time.UTC); d > 90 && tr.Subscription.Active() && !tr.Subscription.AutoRenew {
			later = tr
			break
		}
	}
	if later.Subscription.ID == "" {
		t.Fatal("no Kaizala Pro subscription ending after 90 days")
	}
	st.command(salesID, "plan "+later.Subscription.ID+" office 365 e1 via replace")
	plan := st.waitMessage(alertChannel, "Approve", later.Subscription.ID, "Cannot move")
	if _, err := st.slack.Click(st.ctx(), bossID, plan, "kaizala_approve"); err != nil {
		t.Fatal(err)
	}
	failed, err := st.slack.WaitUpdate(st.ctx(), plan.Channel, plan.TS, 1)
	if err != nil {
		t.Fatal(err)
	}
	failed, err = st.slack.WaitMessage(st.ctx(), plan.Channel, func(m fakeslack.Message) bool {
		return m.TS == plan.TS && strings.Contains(render(m), "kaizala_retry") && strings.Contains(render(m), "kaizala_override")
	})
	if err != nil {
		t.Fatalf("the plan never showed Retry and Override: %v", err)
	}
	if _, err := st.slack.WaitThreadReply(st.ctx(), plan.Channel, plan.TS, func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, "usage location")
	}); err != nil {
		t.Errorf("the thread does not say why it stopped: %v", err)
	}
	if _, err := st.slack.Click(st.ctx(), salesID, failed, "kaizala_override"); err != nil {
		t.Fatal(err)
	}
	st.waitEphemeral(salesID, "Only approvers may click *Override*")
	if _, err := st.slack.Click(st.ctx(), bossID, failed, "kaizala_override"); err != nil {
		t.Fatal(err)
	}
	ms, _ := st.srv.db.ListMigrations(context.Background(), bot.MigrationFilter{SubscriptionID: later.Subscription.ID})
	waitState(t, st, ms[0].ID, bot.StateDone)
}

func TestStoryAlertsFollowTheMigrationAndTheDigest(t *testing.T) {
	st := newStack(t)
	sub := st.expiring()
	alert := st.alertOf(sub.Subscription.ID)
	// The alert's own menu: choosing a plan in it asks for that plan.
	if !hasLineMenu(alert, sub.Subscription.ID) {
		t.Fatalf("the alert offers no plan for %s:\n%s", sub.Subscription.ID, render(alert))
	}
	st.planFromAlert(alert, sub.Subscription.ID, "SPE_E3")
	st.waitMessage(alertChannel, "Approve", sub.Subscription.ID, "Microsoft 365 E3")
	m := st.migrationOf(sub.Subscription.ID)
	updated := st.waitAlertShows(alert, sub.Subscription.ID, "Migration "+m.ID+" pending approval")
	if hasLineMenu(updated, sub.Subscription.ID) {
		t.Errorf("the alert should be updated to show the plan, without its menu:\n%s", alertLineText(updated, sub.Subscription.ID))
	}
	if line := alertLineText(updated, sub.Subscription.ID); !strings.Contains(line, " user") || strings.Contains(line, "unknown") {
		t.Errorf("the updated alert lost its users-assigned count:\n%s", line)
	}
	// The digest names every customer in trouble: approvers post it, and
	// not again and again.
	st.command(salesID, "digest")
	st.waitEphemeral(salesID, "Only approvers may run `/kaizala digest`")
	if reply := st.command(bossID, "digest"); !strings.Contains(strings.ToLower(reply), "digest") {
		t.Errorf("digest reply: %s", reply)
	}
	digest := st.waitMessage(digestChannel, "igest")
	if !strings.Contains(render(digest), "pproval") {
		t.Errorf("the digest should list the approval waiting:\n%s", render(digest))
	}
	// Its scan health lists the customers Partner Center refused access to
	// (the sandbox's --gdap-missing), each with what to fix.
	for _, d := range st.sim.DeniedCustomers() {
		if !strings.Contains(render(digest), d.CompanyName) {
			t.Errorf("the digest's scan health does not list %s (%s):\n%s", d.CompanyName, d.Code, render(digest))
		}
	}
	if !strings.Contains(render(digest), "GDAP role") {
		t.Errorf("the digest does not say which GDAP role to grant:\n%s", render(digest))
	}
	st.command(bossID, "digest")
	st.waitEphemeral(bossID, "A digest was posted")
	if n := len(st.slack.Messages(digestChannel)); n != 1 {
		t.Errorf("%d digests posted, want 1", n)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	st := newStack(t)
	st.expiring()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + st.srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 {
		t.Errorf("healthz: %d %s", code, body)
	}
	st.command(salesID, "help")
	code, body := get("/metrics")
	for _, want := range []string{"kaizalabot_scans_total", "kaizalabot_partner_center_calls_total", "kaizalabot_partner_center_throttled_total",
		"kaizalabot_migrations{state=", "kaizalabot_slack_ack_seconds", "kaizalabot_slack_api_errors_total"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestServeConfigurationMistakes(t *testing.T) {
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "KAIZALA_ALERT_CHANNEL", "PC_TENANT_ID", "PC_CLIENT_ID", "PC_CLIENT_SECRET"} {
		t.Setenv(k, "")
	}
	t.Setenv("KAIZALA_APPROVERS", "@alice,U0BOSS")
	t.Setenv("KAIZALA_DIGEST_SCHEDULE", "every morning")
	t.Setenv("KAIZALA_TIMEZONE", "Mars/Olympus")
	t.Setenv("KAIZALA_SCAN_INTERVAL", "5s")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"serve"}, &stdout, &stderr); code != exitConfig {
		t.Errorf("exit %d, want %d", code, exitConfig)
	}
	for _, want := range []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "KAIZALA_ALERT_CHANNEL", "KAIZALA_APPROVERS: \"@alice\"",
		"KAIZALA_DIGEST_SCHEDULE", "KAIZALA_TIMEZONE", "KAIZALA_SCAN_INTERVAL", "PC_CLIENT_ID"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !strings.HasPrefix(line, "kaizalabot serve: ") {
			t.Errorf("each problem gets one line: %q", line)
		}
	}
}

// waitState waits until a migration reaches want.
func waitState(t *testing.T, st *stack, id string, want bot.State) {
	t.Helper()
	var m *bot.Migration
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		if m, err = st.srv.db.GetMigration(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if m.State == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("migration %s is %s (%s), want %s", id, m.State, m.Error, want)
}

// status and history find a customer by its name (which may have spaces),
// and list marks a subscription's open plan with who asked.
func TestStoryStatusHistoryAndListByCustomerName(t *testing.T) {
	st := newStack(t)
	sub := st.expiring()
	_, migration := st.plan(sub)
	if status := st.command(salesID, "status "+sub.Customer.Name); !strings.Contains(status, sub.Subscription.ID) {
		t.Errorf("status by name %q does not show subscription %s:\n%s", sub.Customer.Name, sub.Subscription.ID, status)
	}
	if history := st.command(salesID, "history "+sub.Customer.Name); !strings.Contains(history, migration.ID) {
		t.Errorf("history by name %q does not show migration %s:\n%s", sub.Customer.Name, migration.ID, history)
	}
	if list := st.command(salesID, "list 400"); !strings.Contains(list, migration.ID) || !strings.Contains(list, `\u003c@`+salesID+`\u003e`) {
		t.Errorf("list does not mark the open plan %s and who asked:\n%s", migration.ID, list)
	}
}

// A plan's quick mistakes are answered at once, in the command's own reply,
// so the refusal can never arrive after (or above) "working on it".
func TestStoryAPlanMistakeIsTheCommandsOwnAnswer(t *testing.T) {
	st := newStack(t)
	sub := st.expiring()
	reply := st.command(salesID, "plan "+sub.Subscription.ID+" NOSUCHPLAN")
	if strings.Contains(reply, "Working on") || !strings.Contains(reply, "NOSUCHPLAN") {
		t.Errorf("an unknown target is not refused in the command's reply:\n%s", reply)
	}
	if reply := st.command(salesID, "plan 00000000-0000-0000-0000-000000000000 STANDARDPACK"); !strings.Contains(reply, "know subscription") {
		t.Errorf("an unknown subscription is not refused in the command's reply:\n%s", reply)
	}
}
