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
// with /kaizala plan, Ada (the approver) approves it through the confirmation
// dialog, and the plan's thread reports the migration done.
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

	step("opening the console", chromedp.EmulateViewport(1400, 900), chromedp.Navigate(d.URL))
	waitFor("an alert in #kaizala-alerts", `[...document.querySelectorAll('#messages .b-header')].some(h => h.textContent.includes('Kaizala'))`)
	sub := expiringSubscription(t, ctx, d.Slack)

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

	step("approving", chromedp.Click(chromedp.CSS(approve)))
	step("confirming in the dialog", chromedp.WaitVisible(chromedp.ID("confirm-dialog")), chromedp.Click(chromedp.ID("confirm-ok")))
	threadLink := fmt.Sprintf(`#messages [data-thread-ts=%q]`, plan.TS)
	step("opening the plan's thread", chromedp.Click(chromedp.CSS(threadLink)))
	waitFor("a reply in the thread that reports the migration done", `!document.querySelector('#thread').hidden &&
		[...document.querySelectorAll('#thread-messages .msg:not(.thread-parent)')].some(m => /Done|new subscription/.test(m.textContent))`)

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
}

// expiringSubscription is the subscription of an alert that has not yet
// ended, read from the alert's Plan migration button.
func expiringSubscription(t *testing.T, ctx context.Context, slack *fakeslack.Server) string {
	t.Helper()
	var sub string
	_, err := slack.WaitMessage(ctx, demoAlertChannel, func(m fakeslack.Message) bool {
		if !strings.Contains(m.Text, " ends ") {
			return false
		}
		var blocks []struct {
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		}
		_ = json.Unmarshal(m.Blocks, &blocks) // a message without actions has no subscription
		for _, b := range blocks {
			for _, e := range b.Elements {
				if e.ActionID == slackview.ActionPlan {
					sub = e.Value
				}
			}
		}
		return sub != ""
	})
	if err != nil {
		t.Fatalf("no alert for a subscription that has not ended: %v", err)
	}
	return sub
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
