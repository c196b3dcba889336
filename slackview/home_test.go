package slackview

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
)

// homeViews are the Home tabs pinned in testdata/: an approver's, with a
// click's answer on top, and a salesperson's.
func homeViews() map[string]HomeView {
	waiting := migration(bot.StatePendingApproval)
	own := migration(bot.StatePendingApproval) // the approver asked for this one
	own.ID, own.Requester, own.PlanHash = "M3OWN1", approver1, "hash-own"
	halfway := migration(bot.StatePendingApproval) // needs two approvals; the viewer gave one
	halfway.ID, halfway.PlanHash = "M4HALF", "hash-half"
	halfway.CustomerName, halfway.Plan.CustomerName = "Fabrikam Inc", "Fabrikam Inc"
	halfway.CreatedAt = now.Add(-3 * 24 * time.Hour)
	halfApproval := approval(approver1, now.Add(-time.Hour))
	halfApproval.MigrationID, halfApproval.PlanHash = halfway.ID, halfway.PlanHash

	running := migration(bot.StateMovingUsers)
	running.ID, running.Requester = "M9RUN2", approver1
	status := Info("You approved plan hash-1 of migration M2DONE (buy 25 seats of Office 365 E1 and move 23 users); it is running now.")

	second := tracked()
	second.Customer = bot.Customer{ID: "f1", Domain: "fabrikam.onmicrosoft.com", Name: "Fabrikam Inc"}
	second.Subscription.ID = "5C4B3A29-1807-4F6E-8D5C-4B3A29180706"
	second.Subscription.EndDate = day0(2026, 11, 21)
	second.DaysLeft = -3
	first := tracked()
	first.DaysLeft = 12
	failed := failedAtVerify()
	failed.ID = "M2WQ7N"
	clean := &bot.ScanSummary{Started: now.Add(-3 * time.Hour), Finished: now.Add(-3*time.Hour + time.Minute), Customers: 40, Findings: 16}

	return map[string]HomeView{
		"home_approver": {
			User: approver1.ID, Approver: true, Status: &status,
			Waiting:   []HomePlan{{Migration: waiting}, {Migration: own}, {Migration: halfway, Decisions: []bot.Decision{halfApproval}}},
			Mine:      []*bot.Migration{running},
			Customers: []bot.TrackedSubscription{first},
			Scan:      fullDigest().Scan, Required: 2, Now: now, Location: cet,
		},
		"home_sales": {
			User: requester.ID,
			Mine: []*bot.Migration{migration(bot.StatePendingApproval), failed},
			// A salesperson's own customers: the owners mapping says so.
			Customers: []bot.TrackedSubscription{second, first}, Owned: true,
			Scan: clean, Required: 1, Now: now, Location: cet,
		},
	}
}

// TestGoldenHome pins the Home tabs; `go test ./slackview -run 'TestGolden/^home_sales$' -update` rewrites one.
func TestGoldenHome(t *testing.T) {
	for name, v := range homeViews() {
		t.Run(name, func(t *testing.T) {
			view := Home(v)
			checkHomeLimits(t, view)
			golden(t, name, indented(t, generic(t, view)))
		})
	}
}

func TestHomeApproverCanDecideWhereAllowed(t *testing.T) {
	v := homeViews()["home_approver"]
	view := Home(v)
	buttons := homeButtons(t, view)
	// Approve and Reject only on the plan the viewer may still approve,
	// with the plan message's values, so the click is handled the same.
	want := map[string]string{ActionApprove: DecisionValue(v.Waiting[0].Migration), ActionReject: DecisionValue(v.Waiting[0].Migration)}
	if len(buttons) != len(want) {
		t.Fatalf("buttons %v, want %v", buttons, want)
	}
	for id, value := range want {
		if buttons[id] != value {
			t.Errorf("%s carries %q, want %q", id, buttons[id], value)
		}
	}
	raw := string(indented(t, generic(t, view)))
	for _, s := range []string{
		"You approved plan hash-1", // the click's answer on top
		"Waiting for approval (3)", "Contoso Ltd", "USD", "a month", "for the whole term", "<@U0REQ0001>", "ago",
		"You asked for this plan", "waits for 1 more approval",
		"Could not read 2 customers",
	} {
		if !strings.Contains(raw, s) {
			t.Errorf("the approver's Home does not say %q", s)
		}
	}
}

func TestHomeSalesSeesNoApprovals(t *testing.T) {
	view := Home(homeViews()["home_sales"])
	if buttons := homeButtons(t, view); len(buttons) != 0 {
		t.Errorf("a salesperson's Home has buttons %v", buttons)
	}
	raw := string(indented(t, generic(t, view)))
	if strings.Contains(raw, "Waiting for approval") {
		t.Error("a salesperson's Home lists the plans waiting for approval")
	}
	for _, s := range []string{"Your open plans (2)", "pending approval", "failed at verifying", "Your customers, most urgent first", "ended 3 days ago", "Every customer could be read"} {
		if !strings.Contains(raw, s) {
			t.Errorf("the salesperson's Home does not say %q", s)
		}
	}
}

func TestHomeWithoutOwnersSaysWhatItShows(t *testing.T) {
	v := homeViews()["home_sales"]
	v.Owned, v.Scan = false, nil
	raw := string(indented(t, generic(t, Home(v))))
	for _, s := range []string{"Expiring soonest (2)", "whoever their account owner is", "No scan yet"} {
		if !strings.Contains(raw, s) {
			t.Errorf("the Home does not say %q", s)
		}
	}
}

// TestHomeLimits: hundreds of plans, customers and huge hostile names stay
// within Slack's limits for a Home tab, cut with counts.
func TestHomeLimits(t *testing.T) {
	huge := strings.Repeat("Partner Center said no & then <more>. ", 10000/38+1)[:10000]
	longName := strings.Repeat("<!channel> Contoso & Söhne GmbH ", 5000/32+1)[:5000]
	for _, tc := range []struct {
		name     string
		customer bot.Customer
		errText  string
		n        int
		want     []string
	}{
		{"a quiet day", contoso, "licence update failed", 1, nil},
		{"300 of everything", contoso, "licence update failed", 300, []string{"…and 290 more waiting for approval", "…and 285 more."}},
		{"hostile names and errors", bot.Customer{ID: "c", Name: longName, Domain: "<!here>.example"}, huge, 40, []string{"more waiting for approval", "…and "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := HomeView{User: approver2.ID, Approver: true, Required: 2, Now: now, Location: cet, Scan: fullDigest().Scan}
			status := Refusal(tc.errText)
			v.Status = &status
			for i := range tc.n {
				m := migration(bot.StatePendingApproval)
				m.ID, m.Error = fmt.Sprintf("M%05d", i), tc.errText
				m.CustomerName, m.Plan.CustomerName, m.Plan.CustomerDomain = tc.customer.Name, tc.customer.Name, tc.customer.Domain
				m.Plan.Target.Name = tc.customer.Name
				m.Requester = bot.Actor{ID: "not-a-user-id", Name: tc.customer.Name}
				v.Waiting = append(v.Waiting, HomePlan{Migration: m, Decisions: []bot.Decision{approval(approver1, now)}})
				v.Mine = append(v.Mine, m)
				sub := tracked()
				sub.Customer = tc.customer
				sub.Subscription.ID = fmt.Sprintf("%08X-0000-4000-8000-%012X", i, i)
				v.Customers = append(v.Customers, sub)
			}
			view := Home(v)
			checkHomeLimits(t, view)
			raw := string(indented(t, generic(t, view)))
			for _, s := range tc.want {
				if !strings.Contains(raw, s) {
					t.Errorf("the Home does not say %q", s)
				}
			}
			var all []string
			collectStrings(t, Message{Text: "home", Blocks: view.Blocks.BlockSet}, &all)
			for _, bad := range []string{"<!channel>", "<!here>", "<more>"} {
				if strings.Contains(strings.Join(all, "\n"), bad) {
					t.Errorf("%q appears unescaped", bad)
				}
			}
		})
	}
}

// checkHomeLimits holds a Home tab to Slack's documented limits: those of
// every block and element (limits_test.go), 100 blocks, and the view's own.
func checkHomeLimits(t *testing.T, v slack.HomeTabViewRequest) {
	t.Helper()
	if v.Type != slack.VTHomeTab {
		t.Errorf("type %q, want home", v.Type)
	}
	if len(v.CallbackID) > 255 || len(v.PrivateMetadata) > 3000 || len(v.ExternalID) > 255 {
		t.Errorf("callback_id %d, private_metadata %d, external_id %d characters: over a limit", len(v.CallbackID), len(v.PrivateMetadata), len(v.ExternalID))
	}
	raw, err := json.Marshal(v.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 || len(blocks) > 100 {
		t.Errorf("%d blocks, want 1 to 100", len(blocks))
	}
	c := &limitChecker{t: t}
	ids := map[string]bool{}
	for i, b := range blocks {
		c.block(fmt.Sprintf("block %d (%v)", i, b["type"]), b)
		if id, _ := b["block_id"].(string); id != "" {
			if ids[id] {
				t.Errorf("block_id %q twice: views.publish refuses it", id)
			}
			ids[id] = true
		}
	}
	if c.chars > maxMessageChars {
		t.Errorf("the blocks hold %d characters of text, more than %d", c.chars, maxMessageChars)
	}
}

// homeButtons maps each button's action_id to its value.
func homeButtons(t *testing.T, v slack.HomeTabViewRequest) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, b := range v.Blocks.BlockSet {
		a, ok := b.(*slack.ActionBlock)
		if !ok {
			continue
		}
		for _, e := range a.Elements.ElementSet {
			if btn, ok := e.(*slack.ButtonBlockElement); ok {
				if _, twice := out[btn.ActionID]; twice {
					t.Errorf("two %s buttons", btn.ActionID)
				}
				out[btn.ActionID] = btn.Value
			}
		}
	}
	return out
}
