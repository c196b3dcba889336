package console

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kaizalabot/kaizalabot/internal/browsertest"
)

// hostileBlocks is a message that tries everything: every block type the
// console draws, one it does not, mrkdwn of every kind, and text that would
// run script if it were ever parsed as HTML.
const hostileBlocks = `[
 {"type":"header","text":{"type":"plain_text","text":":rotating_light: <img src=x onerror=\"window.pwned=1\"> ends"}},
 {"type":"section","text":{"type":"mrkdwn","text":"*Customer* _ital_ ~gone~ ` + "`code &lt;x&gt;`" + ` <@U0SALES> <#C0DIGEST> <https://example.com/a?b=1&amp;c=2|the docs> <javascript:alert(1)|bad link> &lt;script&gt;window.pwned=2&lt;/script&gt; :no_such_emoji: snake_case_word\n` + "```pre *not bold*```" + `"},
  "fields":[{"type":"mrkdwn","text":"*Seats*\n25"},{"type":"mrkdwn","text":"*Ends*\nSun 6 Dec"}]},
 {"type":"context","elements":[{"type":"mrkdwn","text":"Requested by <@U0APPROVER>"}]},
 {"type":"divider"},
 {"type":"video","title":{"type":"plain_text","text":"x"}},
 {"type":"actions","block_id":"kaizala_alert:SUB1","elements":[
  {"type":"static_select","action_id":"kaizala_target","placeholder":{"type":"plain_text","text":"Choose a replacement plan"},
   "initial_option":{"text":{"type":"plain_text","text":"Office 365 E1"},"value":"STANDARDPACK"},
   "options":[{"text":{"type":"plain_text","text":"Office 365 E1"},"value":"STANDARDPACK"},
              {"text":{"type":"plain_text","text":"Microsoft 365 Business Premium"},"description":{"type":"plain_text","text":"SPB"},"value":"SPB"}]},
  {"type":"button","action_id":"kaizala_plan","style":"primary","text":{"type":"plain_text","text":"Plan migration"},"value":"SUB1"},
  {"type":"button","action_id":"kaizala_reject","style":"danger","text":{"type":"plain_text","text":"Reject"},"value":"M1",
   "confirm":{"title":{"type":"plain_text","text":"Reject <b>it</b>?"},"text":{"type":"plain_text","text":"Nothing is bought."},
              "confirm":{"type":"plain_text","text":"Reject"},"deny":{"type":"plain_text","text":"Keep it"},"style":"danger"}}]}
]`

func TestThePageRendersAndDrivesSafely(t *testing.T) {
	chromium := browsertest.Find(t)
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msg := post(t, f.slack, alerts, "fallback text", map[string]any{"blocks": json.RawMessage(hostileBlocks)})
	post(t, f.slack, alerts, "<script>window.pwned=3</script> plain *text* message", nil)
	browser := browsertest.New(t, ctx, chromium)

	do := func(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(browser, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(t *testing.T, expression string) any {
		t.Helper()
		v, err := chromedp.Run(browser, chromedp.Evaluate[any](expression))
		if err != nil {
			t.Fatalf("%s: %v", expression, err)
		}
		return v
	}
	waitFor := func(t *testing.T, what, predicate string) {
		t.Helper()
		if _, err := chromedp.Run(browser, chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			t.Fatalf("waiting for %s: %v\npage: %v", what, err, eval(t, `document.body.innerText`))
		}
	}
	inMessage := fmt.Sprintf(`#messages [data-ts=%q] `, msg)

	do(t, "opening the console", chromedp.Navigate(f.console.URL))
	waitFor(t, "the message", fmt.Sprintf(`!!document.querySelector(%q)`, inMessage+".b-header"))

	t.Run("nothing from a message becomes markup", func(t *testing.T) {
		if got := eval(t, `[window.pwned, document.querySelectorAll('#messages img, #messages script').length, document.scripts.length]`); fmt.Sprint(got) != "[<nil> 0 1]" {
			t.Errorf("window.pwned, images and scripts in messages, scripts on the page: %v", got)
		}
		if got := eval(t, `document.querySelector('#messages').innerText`).(string); !strings.Contains(got, "<script>window.pwned=2</script>") {
			t.Errorf("the escaped script is not shown as text:\n%s", got)
		}
		if got := eval(t, `[...document.querySelectorAll('#messages a')].map(a => a.getAttribute('href') + ' ' + a.target + ' ' + a.rel + ' ' + a.textContent).join('\n')`); got != "https://example.com/a?b=1&c=2 _blank noopener noreferrer the docs" {
			t.Errorf("links:\n%v", got)
		}
	})

	t.Run("Block Kit and mrkdwn", func(t *testing.T) {
		checks := map[string]string{
			`.b-header`:                   "🚨 <img src=x onerror=\"window.pwned=1\"> ends",
			`.b-text strong`:              "Customer",
			`.b-text em`:                  "ital",
			`.b-text s`:                   "gone",
			`.b-text code`:                "code <x>",
			`.b-text .mention`:            "@Sam Sales",
			`.b-text .mention + .mention`: "#kaizala-digest",
			`.b-text pre`:                 "pre *not bold*",
			`.b-fields .b-field strong`:   "Seats",
			`.b-context`:                  "Requested by @Ada Approver",
			`.b-unsupported`:              "Unsupported block: video",
			`[data-action-id="kaizala_plan"].btn.primary`:            "Plan migration",
			`[data-action-id="kaizala_reject"].danger`:               "Reject",
			`select[data-action-id="kaizala_target"] option:checked`: "Office 365 E1",
		}
		for selector, want := range checks {
			got := eval(t, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent`, inMessage+selector))
			if got != want {
				t.Errorf("%s: %q, want %q", selector, got, want)
			}
		}
		text := eval(t, `document.querySelector('#messages').innerText`).(string)
		for _, want := range []string{":no_such_emoji:", "snake_case_word", "bad link", "plain text message", "kaizalabot", "APP"} {
			if !strings.Contains(text, want) {
				t.Errorf("the messages do not show %q", want)
			}
		}
		if n := eval(t, `document.querySelectorAll('#messages hr.b-divider').length`); n != float64(1) {
			t.Errorf("%v dividers", n)
		}
	})

	t.Run("a choice survives re-rendering and goes with the click", func(t *testing.T) {
		eval(t, fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = 'SPB'; s.dispatchEvent(new Event('change')); })()`, inMessage+"select"))
		choice := waitClick(t, f.bot, 1)
		if choice.Actions[0].ActionID != "kaizala_target" || choice.Actions[0].SelectedOption == nil || choice.Actions[0].SelectedOption.Value != "SPB" {
			t.Errorf("choosing sent %+v", choice)
		}
		// A reply redraws the message; the choice must still be there.
		post(t, f.slack, alerts, "a reply in the thread", map[string]any{"thread_ts": msg})
		waitFor(t, "the thread link", fmt.Sprintf(`!!document.querySelector('[data-thread-ts=%q]')`, msg))
		if got := eval(t, fmt.Sprintf(`document.querySelector(%q).value`, inMessage+"select")); got != "SPB" {
			t.Errorf("after a redraw the menu shows %v", got)
		}
		do(t, "clicking Plan migration", chromedp.Click(chromedp.CSS(inMessage+`[data-action-id="kaizala_plan"]`)))
		click := waitClick(t, f.bot, 2)
		if click.Actions[0].ActionID != "kaizala_plan" || click.State.Values["kaizala_alert:SUB1"]["kaizala_target"].SelectedOption.Value != "SPB" {
			t.Errorf("the click sent %+v", click)
		}
	})

	t.Run("a confirmation comes first", func(t *testing.T) {
		reject := chromedp.CSS(inMessage + `[data-action-id="kaizala_reject"]`)
		do(t, "clicking Reject, then Keep it", chromedp.Click(reject), chromedp.WaitVisible(chromedp.ID("confirm-dialog")))
		if got := eval(t, `[document.querySelector('#confirm-title').textContent, document.querySelector('#confirm-ok').textContent, document.querySelector('#confirm-ok').className, document.querySelector('#confirm-deny').textContent].join('|')`); got != "Reject <b>it</b>?|Reject|btn danger|Keep it" {
			t.Errorf("the dialog: %v", got)
		}
		do(t, "denying", chromedp.Click(chromedp.ID("confirm-deny")), chromedp.WaitNotVisible(chromedp.ID("confirm-dialog")))
		do(t, "clicking Reject, then Reject", chromedp.Click(reject), chromedp.Click(chromedp.ID("confirm-ok")))
		if click := waitClick(t, f.bot, 3); click.Actions[0].ActionID != "kaizala_reject" {
			t.Errorf("the confirmed click sent %+v", click)
		}
		if _, clicks := f.bot.recorded(); len(clicks) != 3 {
			t.Errorf("%d clicks reached the bot; denying must send nothing", len(clicks))
		}
	})

	t.Run("the thread", func(t *testing.T) {
		do(t, "opening the thread", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-thread-ts=%q]`, msg))))
		waitFor(t, "the reply in the thread pane", `!document.querySelector('#thread').hidden && document.querySelector('#thread-messages').innerText.includes('a reply in the thread')`)
		post(t, f.slack, alerts, "a second reply", map[string]any{"thread_ts": msg})
		waitFor(t, "the live reply", `document.querySelector('#thread-messages').innerText.includes('a second reply')`)
	})

	t.Run("ephemerals belong to one persona", func(t *testing.T) {
		postEphemeral(t, f.slack, alerts, sales, "for Sam only", nil)
		postEphemeral(t, f.slack, alerts, approver, "for Ada only", nil)
		waitFor(t, "Sam's ephemeral", `document.querySelector('#messages .msg.ephemeral')?.innerText.includes('Only visible to you')`)
		if got := eval(t, `document.querySelector('#messages').innerText`).(string); !strings.Contains(got, "for Sam only") || strings.Contains(got, "for Ada only") {
			t.Errorf("Sam sees:\n%s", got)
		}
		do(t, "dismissing", chromedp.Click(chromedp.CSS(`#messages .msg.ephemeral .dismiss`)))
		waitFor(t, "the ephemeral gone", `!document.querySelector('#messages').innerText.includes('for Sam only')`)
		eval(t, `(() => { const p = document.querySelector('#persona'); p.value = 'U0APPROVER'; p.dispatchEvent(new Event('change')); })()`)
		waitFor(t, "Ada's ephemeral", `document.querySelector('#messages').innerText.includes('for Ada only')`)
	})

	t.Run("the composer", func(t *testing.T) {
		do(t, "typing a message", chromedp.SendKeys(chromedp.ID("composer"), "hello\r"))
		waitFor(t, "the hint", `document.querySelector('#composer-hint').textContent.includes('Only /kaizala commands work in this demo')`)
		eval(t, `document.querySelector('#composer').value = ''`)
		do(t, "typing a command", chromedp.SendKeys(chromedp.ID("composer"), "/kaizala list 30\r"))
		waitFor(t, "the answer", `document.querySelector('#messages').innerText.includes('You typed: list 30')`)
		commands, _ := f.bot.recorded()
		if len(commands) != 1 || commands[0].Get("user_id") != approver || commands[0].Get("text") != "list 30" {
			t.Errorf("the bot received %v", commands)
		}
	})

	t.Run("unread channels", func(t *testing.T) {
		post(t, f.slack, digest, "the digest", nil)
		waitFor(t, "the unread mark", `document.querySelector('[data-channel="C0DIGEST"]').classList.contains('unread')`)
		do(t, "opening #kaizala-digest", chromedp.Click(chromedp.CSS(`[data-channel="C0DIGEST"]`)))
		waitFor(t, "the digest", `document.querySelector('#messages').innerText.includes('the digest') && !document.querySelector('[data-channel="C0DIGEST"]').classList.contains('unread')`)
	})
}

// waitClick waits until the bot has received n clicks and returns the last.
func waitClick(t *testing.T, bot *recordingBot, n int) clickPayload {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, clicks := bot.recorded(); len(clicks) >= n {
			return clicks[n-1]
		}
	}
	t.Fatalf("the bot never received click %d", n)
	return clickPayload{}
}
