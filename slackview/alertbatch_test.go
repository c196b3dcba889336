package slackview

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// batchLine is a line of a batch alert about a subscription like Contoso's
// (tracked), for another customer and end date.
func batchLine(c bot.Customer, id string, end time.Time, seats, users int) AlertLine {
	t := tracked()
	t.Customer = c
	t.Subscription.ID, t.Subscription.CustomerID, t.Subscription.EndDate, t.Subscription.Quantity = id, c.ID, end, seats
	return AlertLine{Tracked: t, Threshold: 30, UsersAssigned: users, Targets: kaizalaTargets()}
}

// batchLines is a scan's batch: one subscription in every group, and
// migrations in the states a line shows.
func batchLines() []AlertLine {
	contosoLine := AlertLine{Tracked: tracked(), Threshold: 14, UsersAssigned: 23, Owner: "U0OWN0001", Targets: kaizalaTargets()}
	ended := batchLine(bot.Customer{ID: "f1", Domain: "fabrikam.onmicrosoft.com", Name: "Fabrikam Inc"}, "5C4B3A29-1807-4F6E-8D5C-4B3A29180706", day0(2026, 11, 21), 8, -1)
	ended.Threshold = 0
	today := batchLine(bot.Customer{ID: "n1", Domain: "northwind.onmicrosoft.com", Name: "Northwind Traders"}, "0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9", day0(2026, 11, 24), 1, 1)
	today.Threshold = 1
	today.Migration = migration(bot.StatePendingApproval)
	today.Migration.ID, today.Migration.SubscriptionID = "M4PZ8R", today.Tracked.Subscription.ID
	later := batchLine(bot.Customer{ID: "a1", Domain: "adatum.onmicrosoft.com", Name: "Adatum Corporation"}, "9E8D7C6B-5A49-4838-2716-05F4E3D2C1B0", day0(2027, 1, 20), 40, 37)
	later.Threshold = 60
	later.Migration = migration(bot.StateRejected)
	later.Migration.ID, later.Migration.SubscriptionID = "M5RT2B", later.Tracked.Subscription.ID
	later.Migration.Error = "rejected by Sam Lee: the customer wants Business Basic"
	running := batchLine(bot.Customer{ID: "l1", Domain: "litware.onmicrosoft.com", Name: "Litware Motors"}, "3C3C3C3C-1111-4111-8111-111111111111", day0(2026, 11, 29), 12, 12)
	running.Threshold = 7
	running.Migration = migration(bot.StateMovingUsers)
	running.Migration.ID, running.Migration.SubscriptionID = "M9HX3T", running.Tracked.Subscription.ID
	migrated := batchLine(bot.Customer{ID: "w1", Domain: "wingtip.onmicrosoft.com", Name: "Wingtip Toys"}, "4D4D4D4D-2222-4222-8222-222222222222", day0(2026, 12, 20), 5, 0)
	migrated.Migration = done()
	migrated.Migration.ID, migrated.Migration.SubscriptionID = "M8GB4Y", migrated.Tracked.Subscription.ID
	return []AlertLine{contosoLine, ended, today, later, running, migrated}
}

func batchGoldens() map[string]Message {
	lines := batchLines()
	raised := lines[0]
	raised.Threshold = 14
	return map[string]Message{
		"alert_batch":        AlertBatch(AlertBatchView{Lines: lines[:4], Threaded: lines[4:], Now: now, Location: cet}),
		"alert_batch_thread": AlertBatch(AlertBatchView{Lines: lines[4:], Part: 2, Parts: 2, Now: now, Location: cet}),
		"alert_raised":       AlertRaised(raised),
	}
}

func TestGoldenAlertBatch(t *testing.T) {
	for name, m := range batchGoldens() {
		t.Run(name, func(t *testing.T) {
			checkLimits(t, m)
			golden(t, name, payload(t, m))
		})
	}
}

// lineMenus maps each subscription with a menu in m to the values of its
// options.
func lineMenus(t *testing.T, m Message) map[string][]string {
	t.Helper()
	var blocks []struct {
		Accessory *struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Options  []struct {
				Value string `json:"value"`
			} `json:"options"`
		} `json:"accessory"`
	}
	raw, _ := json.Marshal(m.Blocks)
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, b := range blocks {
		a := b.Accessory
		if a == nil || ActionKind(a.ActionID) != ActionPlanLine {
			continue
		}
		sub := strings.TrimPrefix(a.ActionID, ActionPlanLine+":")
		if a.Type != "static_select" {
			t.Errorf("the menu of %s is a %s", sub, a.Type)
		}
		for _, o := range a.Options {
			out[sub] = append(out[sub], o.Value)
		}
	}
	return out
}

// blocksJSON is m's blocks as JSON, without the fallback text.
func blocksJSON(t *testing.T, m Message) string {
	t.Helper()
	return string(payload(t, Message{Blocks: m.Blocks}))
}

func TestAlertBatchLines(t *testing.T) {
	lines := batchLines()
	msg := AlertBatch(AlertBatchView{Lines: lines[:4], Threaded: lines[4:], Now: now, Location: cet})
	all := blocksJSON(t, msg)
	for _, want := range []string{
		"*Contoso Ltd* (contoso.onmicrosoft.com) · 25 seats · 23 users · ends Sun 6 Dec 2026, in 12 days · owner <@U0OWN0001>",
		"*Fabrikam Inc* (fabrikam.onmicrosoft.com) · 8 seats · ended Sat 21 Nov 2026, 3 days ago\\n",
		"ends today, Tue 24 Nov 2026",
		"Migration M4PZ8R pending approval",
		"Migration M5RT2B rejected by Sam Lee: the customer wants Business Basic",
		"2 more in the thread.",
		"1 ended · 2 within 7 days · 1 within 30 days · 1 within 90 days · 1 migrated or no longer due · as of Tue 24 Nov 2026",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the batch does not say %q:\n%s", want, all)
		}
	}
	// Groups in order of urgency, each line under its own.
	order := []string{"*Ended*", "Fabrikam", "*Ends within 7 days*", "Northwind", "*Ends within 30 days*", "Contoso", "*Ends within 90 days*", "Adatum"}
	at := -1
	for _, s := range order {
		i := strings.Index(all, s)
		if i < at {
			t.Errorf("%q is out of order:\n%s", s, all)
		}
		at = i
	}
	// Each subscription still to plan has its own menu, whose options name it.
	menus := lineMenus(t, msg)
	for _, l := range []AlertLine{lines[0], lines[1], lines[3]} {
		sub := l.Tracked.Subscription.ID
		values := menus[sub]
		if len(values) == 0 {
			t.Errorf("%s has no menu", sub)
		}
		for _, v := range values {
			if s, target, ok := ParsePlanLineValue(v); !ok || s != sub || target == "" {
				t.Errorf("an option of %s's menu is %q", sub, v)
			}
		}
		if !slices.Contains(values, PlanLineValue(sub, "STANDARDPACK")) {
			t.Errorf("the menu of %s does not offer Office 365 E1: %v", sub, values)
		}
	}
	if _, ok := menus[lines[2].Tracked.Subscription.ID]; ok {
		t.Error("a line whose migration waits for approval offers a new plan")
	}
	if strings.Contains(msg.Text, "Approve") || strings.Contains(msg.Text, "Reject") {
		t.Errorf("the fallback reads like a plan: %q", msg.Text)
	}

	thread := AlertBatch(AlertBatchView{Lines: lines[4:], Part: 2, Parts: 2, Now: now, Location: cet})
	if got := string(payload(t, thread)); !strings.Contains(got, "continued* (part 2 of 2)") || !strings.Contains(got, "end date Sun 20 Dec 2026") ||
		strings.Contains(got, "Sun 20 Dec 2026, in") || !lines[5].Settled() || lines[4].Settled() {
		t.Errorf("the thread's follow-up: a migrated line must show its end date without days left:\n%s", got)
	}
}

// TestAlertBatchCountsDaysWhenRendered: the same line rendered days later
// shows the days left then, and moves up to its new group.
func TestAlertBatchCountsDaysWhenRendered(t *testing.T) {
	lines := batchLines()[:2]
	later := now.AddDate(0, 0, 6)
	got := blocksJSON(t, AlertBatch(AlertBatchView{Lines: lines, Now: later, Location: cet}))
	if !strings.Contains(got, "ends Sun 6 Dec 2026, in 6 days") || strings.Contains(got, "in 12 days") {
		t.Errorf("six days later the line should count 6 days:\n%s", got)
	}
	if i, j := strings.Index(got, "*Ends within 7 days*"), strings.Index(got, "Contoso"); i < 0 || j < i {
		t.Errorf("six days later Contoso belongs under Ends within 7 days:\n%s", got)
	}
}

func TestPlanLineValue(t *testing.T) {
	v := PlanLineValue(kaizalaSubID, "STANDARDPACK")
	if sub, target, ok := ParsePlanLineValue(v); !ok || sub != kaizalaSubID || target != "STANDARDPACK" {
		t.Errorf("ParsePlanLineValue(%q) = %q, %q, %v", v, sub, target, ok)
	}
	for _, bad := range []string{"", kaizalaSubID, ":STANDARDPACK", kaizalaSubID + ":"} {
		if _, _, ok := ParsePlanLineValue(bad); ok {
			t.Errorf("ParsePlanLineValue(%q) is ok", bad)
		}
	}
	for id, want := range map[string]string{ActionPlanLine + ":" + kaizalaSubID: ActionPlanLine, ActionPlan: ActionPlan, ActionPlanLine + "x": ActionPlanLine + "x"} {
		if got := ActionKind(id); got != want {
			t.Errorf("ActionKind(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestAlertBatchPages: a batch of any size is split so that every message,
// top-level or follow-up, stays within Slack's limits when posted and
// after its lines change (every line planned, rejected with a long reason
// and given an owner); no subscription is left out, and each one still to
// plan has its menu.
func TestAlertBatchPages(t *testing.T) {
	longName := strings.Repeat("Contoso & Söhne GmbH ", 30)
	reason := "rejected by Sam Lee: " + strings.Repeat("the customer renews by phone & <asks> again. ", 40)
	for _, n := range []int{2, 12, 40, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var lines []AlertLine
			for i := range n {
				c := bot.Customer{ID: fmt.Sprintf("c%d", i), Domain: fmt.Sprintf("customer%d.onmicrosoft.com", i), Name: longName}
				lines = append(lines, batchLine(c, fmt.Sprintf("%08X-0000-4000-8000-%012X", i, i), day0(2026, 11, 20).AddDate(0, 0, i%95), 10+i, i))
			}
			pages := AlertBatchPages(lines, now, cet)
			sizes := make([]int, len(pages))
			for i, p := range pages {
				sizes[i] = len(p)
			}
			t.Logf("%d subscriptions: messages of %v lines", n, sizes)
			if n == 12 && len(pages) > 3 {
				t.Errorf("12 subscriptions in %d messages", len(pages))
			}
			seen := map[string]int{}
			for i, page := range pages {
				v := AlertBatchView{Lines: page, Part: i + 1, Parts: len(pages), Now: now, Location: cet}
				if i == 0 {
					v = AlertBatchView{Lines: page, Threaded: slices.Concat(pages[1:]...), Now: now, Location: cet}
				}
				msg := AlertBatch(v)
				checkLimits(t, msg)
				menus := lineMenus(t, msg)
				for _, l := range page {
					seen[l.Tracked.Subscription.ID]++
					if len(menus[l.Tracked.Subscription.ID]) == 0 {
						t.Errorf("message %d: %s has no menu", i+1, l.Tracked.Subscription.ID)
					}
				}
				// Later: every line rejected with a long reason, and an owner.
				changed := slices.Clone(page)
				for j := range changed {
					m := migration(bot.StateRejected)
					m.Error = reason
					changed[j].Migration, changed[j].Owner = m, longName
				}
				v.Lines = changed
				checkLimits(t, AlertBatch(v))
			}
			for _, l := range lines {
				if seen[l.Tracked.Subscription.ID] != 1 {
					t.Errorf("%s is on %d messages, want 1", l.Tracked.Subscription.ID, seen[l.Tracked.Subscription.ID])
				}
			}
		})
	}
}

// TestAlertBatchDropsMenusRatherThanLines: lines packed for a small catalog
// and rendered with a huge one lose menus from the end, each saying what
// to type instead, and the message still fits.
func TestAlertBatchDropsMenusRatherThanLines(t *testing.T) {
	var lines []AlertLine
	for i := range 30 {
		lines = append(lines, batchLine(bot.Customer{ID: fmt.Sprint(i), Name: fmt.Sprintf("Customer %d", i)}, fmt.Sprintf("SUB-%02d", i), day0(2026, 12, 1), 5, 5))
	}
	page := AlertBatchPages(lines, now, cet)[0]
	var huge []bot.Target
	for i := range 25 {
		t := target("STANDARDPACK")
		t.SkuPartNumber, t.Name = fmt.Sprintf("PLAN_%02d", i), fmt.Sprintf("A plan with a long name to fill the menu %02d", i)
		huge = append(huge, t)
	}
	for i := range page {
		page[i].Targets = huge
	}
	msg := AlertBatch(AlertBatchView{Lines: page, Now: now, Location: cet})
	checkLimits(t, msg)
	menus := lineMenus(t, msg)
	all := string(payload(t, msg))
	for _, l := range page {
		sub := l.Tracked.Subscription.ID
		if len(menus[sub]) == 0 && !strings.Contains(all, "plan it with `/kaizala plan "+sub) {
			t.Errorf("%s has neither a menu nor the command to type", sub)
		}
	}
	if len(menus) == len(page) {
		t.Error("every menu fitted: the catalog is not big enough to test the cut")
	}
}
