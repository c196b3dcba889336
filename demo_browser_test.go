package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kaizalabot/kaizalabot/internal/browsertest"

	"github.com/kaizalabot/kaizalabot/fakeslack"
	"github.com/kaizalabot/kaizalabot/slackview"
)

// TestDemoInTheBrowser is the salesperson's story, clicked through the local
// Slack console in headless Chromium: an alert appears, Sam asks for a plan
// with /kaizala plan, Ada (the approver) approves it through the
// confirmation dialog, the plan's thread reports the migration done, and Sam
// asks for another plan by choosing it in an alert line's menu.
//
// With KAIZALABOT_SCREENSHOT=1 it saves the console as docs/console.png.
func TestDemoInTheBrowser(t *testing.T) {
	chromium := browsertest.Find(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	d, err := startDemo(ctx, demoOptions{Addr: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "demo.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close) // after the browser is gone (cleanups run last first), so no event stream holds it up

	browser := browsertest.New(t, ctx, chromium)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(browser, actions...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, pageText(browser))
		}
	}
	// waitFor polls a JavaScript predicate; a step of the story takes seconds at most.
	waitFor := func(what, predicate string) {
		t.Helper()
		if _, err := chromedp.Run(browser, chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
			t.Fatalf("waiting for %s: %v\n%s", what, err, pageText(browser))
		}
	}

	// clickWhenThere finds and clicks an element in one go, again until it
	// was there to click: the plan message is redrawn as its thread grows
	// (the approvers are asked there), so a node found a moment before a
	// click may be gone by then.
	clickWhenThere := func(what, selector string) {
		t.Helper()
		waitFor(what, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true; })()`, selector))
	}

	step("opening the console", chromedp.EmulateViewport(1400, 900), chromedp.Navigate(d.URL))
	waitFor("an alert in #kaizala-alerts", `[...document.querySelectorAll('#messages .b-header')].some(h => h.textContent.includes('end soon'))`)
	subs := expiringSubscriptions(t, ctx, d.Slack, 2)
	sub := subs[0]

	step("typing the plan command",
		chromedp.Click(chromedp.ID("composer")),
		chromedp.SendKeys(chromedp.ID("composer"), "/kaizala plan "+sub+" STANDARDPACK\r"))
	waitFor("the plan with its Approve button", jsFind(`#messages .msg`, "Migration plan", `[data-action-id="kaizala_approve"]`))
	plan, err := d.Slack.WaitMessage(ctx, demoAlertChannel, func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, sub) && strings.Contains(string(m.Blocks), slackview.ActionApprove)
	})
	if err != nil {
		t.Fatal(err)
	}
	approve := fmt.Sprintf(`#messages [data-ts=%q] [data-action-id="kaizala_approve"]`, plan.TS)

	step("switching to the approver", chromedp.Evaluate[chromedp.Void](`(() => {
		const persona = document.querySelector('#persona');
		persona.value = 'U0APPROVER';
		persona.dispatchEvent(new Event('change', {bubbles: true}));
	})()`))
	waitFor("the approver's view", `document.querySelector('#viewing').textContent.includes('Ada Approver')`)

	clickWhenThere("approving", approve)
	step("confirming in the dialog", chromedp.WaitVisible(chromedp.ID("confirm-dialog")), chromedp.Click(chromedp.ID("confirm-ok")))
	threadLink := fmt.Sprintf(`#messages [data-thread-ts=%q]`, plan.TS)
	clickWhenThere("opening the plan's thread", threadLink)
	waitFor("a reply in the thread that reports the migration done", `!document.querySelector('#thread').hidden &&
		[...document.querySelectorAll('#thread-messages .msg:not(.thread-parent)')].some(m => /\bdone\b|new subscription/i.test(m.textContent))`)

	if os.Getenv("KAIZALABOT_SCREENSHOT") == "1" {
		png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("docs", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("docs", "console.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Sam again, planning another subscription from its alert line's menu.
	step("switching back to the salesperson", chromedp.Evaluate[chromedp.Void](`(() => {
		const persona = document.querySelector('#persona');
		persona.value = 'U0SALES';
		persona.dispatchEvent(new Event('change', {bubbles: true}));
	})()`))
	waitFor("the salesperson's view", `document.querySelector('#viewing').textContent.includes('Sam Sales')`)
	menu := fmt.Sprintf(`#messages select[data-action-id=%q]`, slackview.ActionPlanLine+":"+subs[1])
	step("choosing Office 365 E1 in another alert line's menu", chromedp.WaitVisible(chromedp.CSS(menu)), chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const menu = document.querySelector(%q);
		menu.value = %q;
		menu.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, menu, slackview.PlanLineValue(subs[1], "STANDARDPACK"))))
	if _, err := d.Slack.WaitMessage(ctx, demoAlertChannel, func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, subs[1]) && strings.Contains(string(m.Blocks), slackview.ActionApprove)
	}); err != nil {
		t.Fatalf("choosing a plan in the menu of %s posted no plan: %v\n%s", subs[1], err, pageText(browser))
	}
	// Its line says so, in place.
	waitFor("the line showing the plan", fmt.Sprintf(`[...document.querySelectorAll('#messages .b-section')].some(s => s.textContent.includes(%q) && s.textContent.includes('pending approval') && !s.querySelector('select'))`, subs[1]))
}

// expiringSubscriptions are n subscriptions of the alert's top-level
// message that have not ended, each with its line's menu of plans.
func expiringSubscriptions(t *testing.T, ctx context.Context, slack *fakeslack.Server, n int) []string {
	t.Helper()
	var subs []string
	_, err := slack.WaitMessage(ctx, demoAlertChannel, func(m fakeslack.Message) bool {
		var blocks []struct {
			Text *struct {
				Text string `json:"text"`
			} `json:"text"`
			Accessory *struct {
				ActionID string `json:"action_id"`
			} `json:"accessory"`
		}
		_ = json.Unmarshal(m.Blocks, &blocks) // a message without lines has no subscription
		subs = nil
		for _, b := range blocks {
			if b.Text == nil || b.Accessory == nil || slackview.ActionKind(b.Accessory.ActionID) != slackview.ActionPlanLine || !strings.Contains(b.Text.Text, " · ends ") {
				continue
			}
			subs = append(subs, strings.TrimPrefix(b.Accessory.ActionID, slackview.ActionPlanLine+":"))
		}
		return len(subs) >= n
	})
	if err != nil {
		t.Fatalf("no alert with %d subscriptions that have not ended: %v", n, err)
	}
	return subs[:n]
}

// jsFind is a predicate: some element matching selector contains text and
// an element matching inner.
func jsFind(selector, text, inner string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%q)].some(el => el.textContent.includes(%q) && el.querySelector(%q))`, selector, text, inner)
}

// pageText is what the page shows, for a failure message.
func pageText(browser context.Context) string {
	ctx, cancel := context.WithTimeout(browser, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText.slice(-3000)`))
	if err != nil {
		return "(the page could not be read: " + err.Error() + ")"
	}
	return "the page ends with:\n" + text
}
