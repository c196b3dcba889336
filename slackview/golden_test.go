package slackview

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// payload is a message as JSON, {"text":…, "blocks":…}, indented and without
// Go's \u003c escaping, so a golden file reads like what Slack receives.
func payload(t *testing.T, m Message) []byte {
	t.Helper()
	return indented(t, struct {
		Text   string `json:"text"`
		Blocks any    `json:"blocks"`
	}{m.Text, generic(t, m.Blocks)})
}

// generic round-trips v through a generic decode, because slack-go marshals
// nested elements with json.Marshal, which escapes < > & whatever the outer
// encoder says.
func generic(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshalling: %v", err)
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	return out
}

// indented is v as indented JSON without HTML escaping.
func indented(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding: %v", err)
	}
	return buf.Bytes()
}

// golden compares got with testdata/<name>.golden.json, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./slackview -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run go test ./slackview -update if the change is intended)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d (run go test ./slackview -update if the change is intended)", path, len(gl), len(wl))
	}
}

// goldenMessages are the fixed messages whose JSON is pinned in testdata/.
func goldenMessages() map[string]Message {
	alertRunning := migration(bot.StateMovingUsers)
	alertRunning.UpdatedAt = now.Add(-time.Hour)

	expiring := tracked()
	endedSub := tracked()
	endedSub.Customer = bot.Customer{ID: "f1", Domain: "fabrikam.onmicrosoft.com", Name: "Fabrikam Inc"}
	endedSub.Subscription.ID = "5C4B3A29-1807-4F6E-8D5C-4B3A29180706"
	endedSub.Subscription.EndDate = day0(2026, 11, 21)
	endedSub.Subscription.Quantity = 8
	today := tracked()
	today.Customer = bot.Customer{ID: "n1", Domain: "northwind.onmicrosoft.com", Name: "Northwind Traders"}
	today.Subscription.ID = "0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9"
	today.Subscription.EndDate = day0(2026, 11, 24)
	today.Subscription.Quantity = 1
	later := tracked()
	later.Customer = bot.Customer{ID: "a1", Domain: "adatum.onmicrosoft.com", Name: "Adatum Corporation"}
	later.Subscription.ID = "9E8D7C6B-5A49-4838-2716-05F4E3D2C1B0"
	later.Subscription.EndDate = day0(2027, 6, 30) // beyond 90 days: not listed
	renewing := tracked()
	renewing.Subscription.ID = "7A7A7A7A-0000-4000-8000-000000000001"
	renewing.Subscription.AutoRenew = true // renews by itself: not listed

	second := tracked()
	second.Subscription.ID = "3C3C3C3C-1111-4111-8111-111111111111"
	second.Subscription.Quantity = 5
	second.Subscription.EndDate = day0(2027, 2, 28)
	rejected := migration(bot.StateRejected)
	rejected.ID = "M5RT2B"
	rejected.Error = "rejected by Sam Lee: the customer wants Business Basic"
	rejected.UpdatedAt = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	current := failedAtVerify()
	orphan := done()
	orphan.ID = "M8GB4Y"
	orphan.SubscriptionID = "4D4D4D4D-2222-4222-8222-222222222222"

	approved := []bot.Decision{approval(approver1, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))}
	transitionDone := transitionPlan(bot.StateDone)
	transitionDone.NewSubscriptionID = newSubID
	transitionDone.UpdatedAt = time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC)
	undone := done()
	undone.State = bot.StateUndone
	undone.Outcome.OldSuspended = true
	undone.Outcome.UndoneBy, undone.Outcome.UndoReason = &approver2, "the customer stays on Kaizala Pro until March"
	undone.UpdatedAt = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	return map[string]Message{
		"plan_transition_pending": Plan(PlanView{Migration: transitionPlan(bot.StatePendingApproval), Required: 1, Now: now, Location: cet}),
		"plan_renewal_pending":    Plan(PlanView{Migration: renewalPlan(bot.StatePendingApproval), Required: 1, Now: now, Location: cet}),
		"plan_renewal_awaiting":   Plan(PlanView{Migration: renewalPlan(bot.StateAwaitingRenewal), Required: 1, Now: now, Location: cet, Decisions: approved}),
		"plan_transition_done":    Plan(PlanView{Migration: transitionDone, Required: 1, Now: now, Location: cet, Decisions: approved}),
		"plan_undone":             Plan(PlanView{Migration: undone, Required: 1, Now: now, Location: cet, Decisions: approved}),
		"plan_legacy_pending":     Plan(PlanView{Migration: legacyPlan(bot.StatePendingApproval), Required: 1, Now: now, Location: cet}),
		"alert_new":               Alert(AlertView{Tracked: tracked(), Threshold: 14, UsersAssigned: 23, Targets: kaizalaTargets(), Now: now, Location: cet}),
		"alert_running": Alert(AlertView{Tracked: tracked(), Threshold: 14, UsersAssigned: 23, Targets: kaizalaTargets(),
			Migration: alertRunning, Now: now, Location: cet}),
		"plan_pending":       Plan(PlanView{Migration: migration(bot.StatePendingApproval), Required: 1, Now: now, Location: cet}),
		"plan_pending_owner": Plan(PlanView{Migration: migration(bot.StatePendingApproval), Required: 1, Now: now, Location: cet, Owner: "U0OWN0001"}),
		"owner_alert": OwnerAlert(OwnerAlertView{Owner: "U0OWN0001", Now: now, Location: cet, Items: []OwnerAlertItem{{
			Tracked: tracked(), AlertChannel: "C0ALERTS", AlertLink: "https://fake.slack.com/archives/C0ALERTS/p1764000000000100"}}}),
		"owner_alert_channel": OwnerAlert(OwnerAlertView{Owner: "U0OWN0001", InChannel: true, Now: now, Location: cet, Items: []OwnerAlertItem{
			{Tracked: endedSub, AlertChannel: "C0ALERTS"},
			{Tracked: tracked(), AlertChannel: "C0ALERTS", AlertLink: "https://fake.slack.com/archives/C0ALERTS/p1764000000000100",
				Migration: migration(bot.StatePendingApproval)},
		}}),
		"plan_approved_1_of_2": Plan(PlanView{Migration: migration(bot.StatePendingApproval), Required: 2, Now: now, Location: cet,
			Decisions: []bot.Decision{approval(approver1, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))}}),
		"plan_done": Plan(PlanView{Migration: done(), Required: 1, Now: now, Location: cet,
			Decisions: []bot.Decision{approval(approver1, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))}}),
		"plan_failed_verify": Plan(PlanView{Migration: failedAtVerify(), Required: 1, Now: now, Location: cet,
			Decisions: []bot.Decision{approval(approver1, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))}}),
		"plan_needs_approval": Plan(PlanView{Migration: needsApproval(), Required: 1, Now: now, Location: cet,
			Decisions: []bot.Decision{approval(approver1, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))}}),
		"digest_full":  Digest(fullDigest(), cet),
		"digest_empty": Digest(&bot.Digest{At: now, Since: now.Add(-24 * time.Hour)}, cet),
		"help_unknown": Help("aprove", "approve"),
		"list":         List([]bot.TrackedSubscription{later, expiring, renewing, today, endedSub}, 90, now, cet),
		"status":       Status([]bot.TrackedSubscription{tracked(), second}, []*bot.Migration{rejected, current, orphan}, now, cet),
		"targets":      Targets(bot.DefaultCatalog().Retired[0], kaizalaTargets()),
		"history":      History("History of M7K2QX", auditEntries(), cet),
	}
}

func TestGolden(t *testing.T) {
	for name, m := range goldenMessages() {
		t.Run(name, func(t *testing.T) {
			checkLimits(t, m)
			golden(t, name, payload(t, m))
		})
	}
}
