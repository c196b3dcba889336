package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/config"
	"github.com/kaizalabot/kaizalabot/fakeslack"
)

// The bot as `kaizalabot serve` runs it with SLACK_APP_TOKEN set: no public
// URL and no signing secret, everything Slack sends arriving over Socket
// Mode from the fake Slack.

const testAppToken = "xapp-1-A0FAKEAPP-test-5ecret"

// newSocketStack is newStack in Socket Mode: the fake Slack delivers over
// the WebSocket the bot opens, and the bot has no signing secret, so its
// HTTP routes refuse every request and a story passes only if Socket Mode
// carries it.
func newSocketStack(t *testing.T) *stack {
	t.Helper()
	st := newStackWith(t, func(fake *fakeslack.Options, cfg *config.Serve) {
		fake.SocketMode, fake.AppToken = true, testAppToken
		cfg.AppToken, cfg.SigningSecret = testAppToken, ""
	})
	if err := st.slack.WaitSocket(st.ctx(), 1); err != nil {
		t.Fatal(err)
	}
	return st
}

// envelopesFor are the deliveries of the slash command whose text is text.
func envelopesFor(s *fakeslack.Server, text string) []fakeslack.Envelope {
	var out []fakeslack.Envelope
	for _, e := range s.Envelopes() {
		if e.Type == fakeslack.EnvelopeSlashCommands && strings.Contains(string(e.Payload), `"text":"`+text+`"`) {
			out = append(out, e)
		}
	}
	return out
}

func TestStorySocketModePlanApproveMigrate(t *testing.T) {
	t.Parallel() // most of its 20 s is the migration waiting on Partner Center
	st := newSocketStack(t)
	sub := st.expiring()
	plan, migration := st.plan(sub)

	if _, err := st.slack.Click(st.ctx(), bossID, plan, "kaizala_approve"); err != nil {
		t.Fatal(err)
	}
	done := waitMigration(t, st, migration.ID)
	if done.State != bot.StateDone {
		t.Fatalf("migration %s: %s", done.State, done.Error)
	}
	if _, err := st.slack.WaitThreadReply(st.ctx(), plan.Channel, plan.TS, func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, done.NewSubscriptionID)
	}); err != nil {
		t.Errorf("no thread reply names the new subscription %s: %v", done.NewSubscriptionID, err)
	}
	if _, err := st.slack.WaitUpdate(st.ctx(), plan.Channel, plan.TS, 1); err != nil {
		t.Errorf("the plan message was never updated: %v", err)
	}

	// The command and the click came as envelopes, each acknowledged in
	// time on the one connection the bot opened.
	kinds := map[string]int{}
	for _, e := range st.slack.Envelopes() {
		kinds[e.Type]++
		if !e.Acked || e.RetryAttempt != 0 || e.Connection != 1 {
			t.Errorf("envelope %s (%s): acked %v, retry %d, connection %d", e.ID, e.Type, e.Acked, e.RetryAttempt, e.Connection)
		}
	}
	if kinds[fakeslack.EnvelopeSlashCommands] == 0 || kinds[fakeslack.EnvelopeInteractive] == 0 {
		t.Errorf("envelopes by type %v: want slash commands and interactions", kinds)
	}
	if n := st.slack.Calls("apps.connections.open"); n != 1 {
		t.Errorf("apps.connections.open called %d times", n)
	}
	if strings.Contains(st.logs.String(), testAppToken) {
		t.Error("the log contains the app-level token")
	}
	st.assertNoSecretLogged()
}

// An ack Slack gets late brings the same command again (retry_attempt 1,
// "timeout"): the bot acknowledges it without planning twice. After a
// disconnect (refresh_requested) the bot reconnects and the story goes on.
func TestStorySocketModeRedeliveryAndReconnect(t *testing.T) {
	t.Parallel()
	st := newSocketStack(t)
	sub := st.expiring()
	text := "plan " + sub.Subscription.ID + " STANDARDPACK"

	st.slack.IgnoreNextAck()
	reply, err := st.slack.Command(st.ctx(), salesID, alertChannel, text)
	if err != nil {
		t.Fatal(err)
	}
	if len(reply.Body) != 0 {
		t.Errorf("the redelivered command was answered %s: it ran again", reply.Body)
	}
	plan := st.waitMessage(alertChannel, "Approve", "Reject", sub.Subscription.ID)
	envs := envelopesFor(st.slack, text)
	if len(envs) != 2 || envs[0].ID != envs[1].ID || envs[1].RetryAttempt != 1 || envs[1].RetryReason != "timeout" {
		t.Fatalf("deliveries of %q: %+v", text, envs)
	}
	// The late ack carried the bot's answer; the one in time, to the
	// retry, carried none.
	if envs[0].Acked || len(envs[0].Ack) == 0 || !envs[1].Acked || len(envs[1].Ack) != 0 {
		t.Errorf("acks: first in time %v with %s; retry in time %v with %s", envs[0].Acked, envs[0].Ack, envs[1].Acked, envs[1].Ack)
	}
	ms, err := st.srv.db.ListMigrations(context.Background(), bot.MigrationFilter{SubscriptionID: sub.Subscription.ID})
	if err != nil || len(ms) != 1 {
		t.Fatalf("migrations of %s: %d, %v; want 1", sub.Subscription.ID, len(ms), err)
	}
	plans := 0
	for _, m := range st.slack.Messages(alertChannel) {
		if containsAll(render(m), "Approve", "Reject", sub.Subscription.ID) {
			plans++
		}
	}
	if plans != 1 {
		t.Errorf("%d plan messages for %s, want 1", plans, sub.Subscription.ID)
	}

	if n := st.slack.DisconnectSockets(fakeslack.DisconnectRefreshRequested); n != 1 {
		t.Fatalf("DisconnectSockets told %d connections, want 1", n)
	}
	if err := st.slack.WaitSocket(st.ctx(), 2); err != nil {
		t.Fatal(err)
	}
	if n := st.slack.Calls("apps.connections.open"); n != 2 {
		t.Errorf("apps.connections.open called %d times, want 2", n)
	}
	if help := st.command(salesID, "help"); !containsAll(strings.ToLower(help), "plan", "approve") {
		t.Errorf("help after reconnecting:\n%s", help)
	}
	if _, err := st.slack.Click(st.ctx(), bossID, plan, "kaizala_approve"); err != nil {
		t.Fatal(err)
	}
	done := waitMigration(t, st, ms[0].ID)
	if done.State != bot.StateDone {
		t.Fatalf("migration %s: %s", done.State, done.Error)
	}
	if _, err := st.slack.WaitThreadReply(st.ctx(), plan.Channel, plan.TS, func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, done.NewSubscriptionID)
	}); err != nil {
		t.Errorf("no thread reply names the new subscription %s: %v", done.NewSubscriptionID, err)
	}
	if all := st.slack.Envelopes(); all[len(all)-1].Connection != 2 {
		t.Errorf("the click went on connection %d, want the new one", all[len(all)-1].Connection)
	}
	if checkouts := st.sim.Stats().CartsCheckedOut; checkouts != 1 {
		t.Errorf("carts checked out = %d, want 1", checkouts)
	}
}

// The console drives the bot through the fake's driver, so with
// --socket-mode its commands arrive as envelopes.
func TestDemoSocketMode(t *testing.T) {
	t.Parallel()
	d, err := startDemo(context.Background(), demoOptions{Addr: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "demo.db"), SocketMode: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.Slack.WaitMessage(ctx, demoAlertChannel, func(m fakeslack.Message) bool { return strings.Contains(m.Text, "end soon") }); err != nil {
		t.Fatalf("no alert in the console: %v", err)
	}
	resp, err := http.Post(d.URL+"/api/command", "application/json",
		strings.NewReader(`{"user":"`+demoSales+`","channel":"`+demoAlertChannel+`","text":"help"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var result struct{ Status int }
	if err := json.NewDecoder(resp.Body).Decode(&result); err != nil || resp.StatusCode != http.StatusOK || result.Status != http.StatusOK {
		t.Fatalf("the console's command: HTTP %d, %+v, %v", resp.StatusCode, result, err)
	}
	if _, err := d.Slack.WaitEphemeral(ctx, demoSales, func(m fakeslack.Message) bool {
		return strings.Contains(strings.ToLower(render(m)), "approve")
	}); err != nil {
		t.Errorf("help did not answer in the console: %v", err)
	}
	if envs := envelopesFor(d.Slack, "help"); len(envs) != 1 || !envs[0].Acked {
		t.Errorf("envelopes of help: %+v", envs)
	}
}
