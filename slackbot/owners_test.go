package slackbot

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/fakeslack"
	"github.com/kaizalabot/kaizalabot/storage"
)

// TestTellOwners runs tellOwners against a real database and the fake
// Slack: one DM per owner per scan, only for alerts that were posted, once
// per alert, and the owner's channel told too.
func TestTellOwners(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "k.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fake := fakeslack.New(fakeslack.Options{})
	if _, err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	api := slack.New(fakeslack.DefaultBotToken, slack.OptionAPIURL(fake.APIURL()))

	owners := &bot.Owners{}
	for customer, owner := range map[string]bot.Owner{
		"contoso.example": {UserID: "U0SAM"},
		"f1":              {UserID: "U0KIM", Channel: "C0TEAM"},
	} {
		if err := owners.Add(customer, owner); err != nil {
			t.Fatal(err)
		}
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	a := &App{Store: db, Slack: api, Owners: owners, Log: log, Now: time.Now,
		Config: Config{AlertChannel: "C0ALERTS", AlertDays: bot.DefaultAlertDays, Location: time.UTC}}

	contoso := bot.Customer{ID: "c1", Domain: "Contoso.example", Name: "Contoso Ltd"}
	fabrikam := bot.Customer{ID: "F1", Domain: "fabrikam.example", Name: "Fabrikam Inc"}
	northwind := bot.Customer{ID: "n1", Domain: "northwind.example", Name: "Northwind"}
	finding := func(c bot.Customer, id string, days int) bot.Finding {
		return bot.Finding{Customer: c, DaysLeft: days, Retired: "Kaizala Pro", Subscription: bot.Subscription{
			ID: id, CustomerID: c.ID, Status: "active", Quantity: 5, EndDate: time.Now().UTC().AddDate(0, 0, days)}}
	}
	// alerted claims the finding's alert and, when posted, posts it.
	alerted := func(f bot.Finding, posted bool) string {
		threshold, _ := bot.AlertThreshold(f.DaysLeft, a.AlertDays)
		if _, err := db.ClaimAlert(ctx, f.Subscription.ID, f.Customer.ID, threshold); err != nil {
			t.Fatal(err)
		}
		if !posted {
			return ""
		}
		_, ts, err := api.PostMessageContext(ctx, "C0ALERTS", slack.MsgOptionText("alert "+f.Subscription.ID, false))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetAlertMessage(ctx, f.Subscription.ID, threshold, "C0ALERTS", ts); err != nil {
			t.Fatal(err)
		}
		return ts
	}
	soon, later := finding(contoso, "SUB-SOON", 5), finding(contoso, "SUB-LATER", 40)
	failedPost := finding(contoso, "SUB-FAILED-POST", 20)
	theirs := finding(fabrikam, "SUB-FABRIKAM", 12)
	unowned := finding(northwind, "SUB-NORTHWIND", 3)
	notYet := finding(contoso, "SUB-NOT-YET", 200)
	soonTS := alerted(soon, true)
	alerted(later, true)
	alerted(failedPost, false)
	alerted(theirs, true)
	alerted(unowned, true)
	findings := []bot.Finding{later, failedPost, theirs, unowned, notYet, soon}

	a.tellOwners(ctx, findings)
	sam := fake.DMs("U0SAM")
	if len(sam) != 1 {
		t.Fatalf("Sam got %d DMs, want 1 for both alerts", len(sam))
	}
	text := sam[0].Text + string(sam[0].Blocks)
	for _, want := range []string{"SUB-SOON", "SUB-LATER", "Contoso Ltd ends in 5 days; Contoso Ltd ends in 40 days"} {
		if !strings.Contains(text, want) {
			t.Errorf("Sam's DM does not say %q: %q", want, text)
		}
	}
	for _, never := range []string{"SUB-FAILED-POST", "SUB-NOT-YET", "SUB-FABRIKAM", "Northwind"} {
		if strings.Contains(text, never) {
			t.Errorf("Sam's DM is about %s", never)
		}
	}
	if link := fake.Permalink("C0ALERTS", soonTS); !strings.Contains(string(sam[0].Blocks), link) {
		t.Errorf("Sam's DM does not link to the alert %s: %s", link, sam[0].Blocks)
	}
	if kim := fake.DMs("U0KIM"); len(kim) != 1 || !strings.Contains(kim[0].Text, "SUB-FABRIKAM") {
		t.Errorf("Kim's DMs: %v", kim)
	}
	if team := fake.Messages("C0TEAM"); len(team) != 1 || !strings.HasPrefix(team[0].Text, ":warning: <@U0KIM>, your customer") {
		t.Errorf("the account's channel was told %v", team)
	}

	// The next scan tells nobody again; an alert posted since is told.
	a.tellOwners(ctx, findings)
	if n := len(fake.DMs("U0SAM")) + len(fake.DMs("U0KIM")) + len(fake.Messages("C0TEAM")); n != 3 {
		t.Fatalf("a second call sent %d more notes", n-3)
	}
	threshold, _ := bot.AlertThreshold(failedPost.DaysLeft, a.AlertDays)
	if err := db.SetAlertMessage(ctx, failedPost.Subscription.ID, threshold, "C0ALERTS", "1.000009"); err != nil {
		t.Fatal(err)
	}
	a.tellOwners(ctx, findings)
	if sam := fake.DMs("U0SAM"); len(sam) != 2 || !strings.Contains(sam[1].Text, "SUB-FAILED-POST") || strings.Contains(sam[1].Text, "SUB-SOON") {
		t.Errorf("after the failed alert was posted Sam has %d DMs: %v", len(sam), sam)
	}
}
