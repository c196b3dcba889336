package console

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

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

	p := tab{browser}
	inMessage := fmt.Sprintf(`#messages [data-ts=%q] `, msg)

	p.do(t, "opening the console", chromedp.Navigate(f.console.URL))
	p.waitFor(t, "the message", fmt.Sprintf(`!!document.querySelector(%q)`, inMessage+".b-header"))

	t.Run("nothing from a message becomes markup", func(t *testing.T) {
		if got := p.eval(t, `[window.pwned, document.querySelectorAll('#messages img, #messages script').length, document.scripts.length]`); fmt.Sprint(got) != "[<nil> 0 1]" {
			t.Errorf("window.pwned, images and scripts in messages, scripts on the page: %v", got)
		}
		if got := p.eval(t, `document.querySelector('#messages').innerText`).(string); !strings.Contains(got, "<script>window.pwned=2</script>") {
			t.Errorf("the escaped script is not shown as text:\n%s", got)
		}
		if got := p.eval(t, `[...document.querySelectorAll('#messages a')].map(a => a.getAttribute('href') + ' ' + a.target + ' ' + a.rel + ' ' + a.textContent).join('\n')`); got != "https://example.com/a?b=1&c=2 _blank noopener noreferrer the docs" {
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
			got := p.eval(t, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent`, inMessage+selector))
			if got != want {
				t.Errorf("%s: %q, want %q", selector, got, want)
			}
		}
		text := p.eval(t, `document.querySelector('#messages').innerText`).(string)
		for _, want := range []string{":no_such_emoji:", "snake_case_word", "bad link", "plain text message", "kaizalabot", "APP"} {
			if !strings.Contains(text, want) {
				t.Errorf("the messages do not show %q", want)
			}
		}
		if n := p.eval(t, `document.querySelectorAll('#messages hr.b-divider').length`); n != float64(1) {
			t.Errorf("%v dividers", n)
		}
	})

	t.Run("a choice survives re-rendering and goes with the click", func(t *testing.T) {
		p.eval(t, fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = 'SPB'; s.dispatchEvent(new Event('change')); })()`, inMessage+"select"))
		choice := waitClick(t, f.bot, 1)
		if choice.Actions[0].ActionID != "kaizala_target" || choice.Actions[0].SelectedOption == nil || choice.Actions[0].SelectedOption.Value != "SPB" {
			t.Errorf("choosing sent %+v", choice)
		}
		// A reply redraws the message; the choice must still be there.
		post(t, f.slack, alerts, "a reply in the thread", map[string]any{"thread_ts": msg})
		p.waitFor(t, "the thread link", fmt.Sprintf(`!!document.querySelector('[data-thread-ts=%q]')`, msg))
		if got := p.eval(t, fmt.Sprintf(`document.querySelector(%q).value`, inMessage+"select")); got != "SPB" {
			t.Errorf("after a redraw the menu shows %v", got)
		}
		p.do(t, "clicking Plan migration", chromedp.Click(chromedp.CSS(inMessage+`[data-action-id="kaizala_plan"]`)))
		click := waitClick(t, f.bot, 2)
		if click.Actions[0].ActionID != "kaizala_plan" || click.State.Values["kaizala_alert:SUB1"]["kaizala_target"].SelectedOption.Value != "SPB" {
			t.Errorf("the click sent %+v", click)
		}
	})

	t.Run("a confirmation comes first", func(t *testing.T) {
		reject := chromedp.CSS(inMessage + `[data-action-id="kaizala_reject"]`)
		p.do(t, "clicking Reject, then Keep it", chromedp.Click(reject), chromedp.WaitVisible(chromedp.ID("confirm-dialog")))
		if got := p.eval(t, `[document.querySelector('#confirm-title').textContent, document.querySelector('#confirm-ok').textContent, document.querySelector('#confirm-ok').className, document.querySelector('#confirm-deny').textContent].join('|')`); got != "Reject <b>it</b>?|Reject|btn danger|Keep it" {
			t.Errorf("the dialog: %v", got)
		}
		p.do(t, "denying", chromedp.Click(chromedp.ID("confirm-deny")), chromedp.WaitNotVisible(chromedp.ID("confirm-dialog")))
		p.do(t, "clicking Reject, then Reject", chromedp.Click(reject), chromedp.Click(chromedp.ID("confirm-ok")))
		if click := waitClick(t, f.bot, 3); click.Actions[0].ActionID != "kaizala_reject" {
			t.Errorf("the confirmed click sent %+v", click)
		}
		if _, clicks := f.bot.recorded(); len(clicks) != 3 {
			t.Errorf("%d clicks reached the bot; denying must send nothing", len(clicks))
		}
	})

	t.Run("the thread", func(t *testing.T) {
		p.do(t, "opening the thread", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-thread-ts=%q]`, msg))))
		p.waitFor(t, "the reply in the thread pane", `!document.querySelector('#thread').hidden && document.querySelector('#thread-messages').innerText.includes('a reply in the thread')`)
		post(t, f.slack, alerts, "a second reply", map[string]any{"thread_ts": msg})
		p.waitFor(t, "the live reply", `document.querySelector('#thread-messages').innerText.includes('a second reply')`)
	})

	t.Run("ephemerals belong to one persona", func(t *testing.T) {
		postEphemeral(t, f.slack, alerts, sales, "for Sam only", nil)
		postEphemeral(t, f.slack, alerts, approver, "for Ada only", nil)
		p.waitFor(t, "Sam's ephemeral", `document.querySelector('#messages .msg.ephemeral')?.innerText.includes('Only visible to you')`)
		if got := p.eval(t, `document.querySelector('#messages').innerText`).(string); !strings.Contains(got, "for Sam only") || strings.Contains(got, "for Ada only") {
			t.Errorf("Sam sees:\n%s", got)
		}
		p.do(t, "dismissing", chromedp.Click(chromedp.CSS(`#messages .msg.ephemeral .dismiss`)))
		p.waitFor(t, "the ephemeral gone", `!document.querySelector('#messages').innerText.includes('for Sam only')`)
		p.eval(t, `(() => { const p = document.querySelector('#persona'); p.value = 'U0APPROVER'; p.dispatchEvent(new Event('change')); })()`)
		p.waitFor(t, "Ada's ephemeral", `document.querySelector('#messages').innerText.includes('for Ada only')`)
	})

	t.Run("the composer", func(t *testing.T) {
		p.do(t, "typing a message", chromedp.SendKeys(chromedp.ID("composer"), "hello\r"))
		p.waitFor(t, "the hint", `document.querySelector('#composer-hint').textContent.includes('Only /kaizala commands work in this demo')`)
		p.eval(t, `document.querySelector('#composer').value = ''`)
		p.do(t, "typing a command", chromedp.SendKeys(chromedp.ID("composer"), "/kaizala list 30\r"))
		p.waitFor(t, "the answer", `document.querySelector('#messages').innerText.includes('You typed: list 30')`)
		commands, _ := f.bot.recorded()
		if len(commands) != 1 || commands[0].Get("user_id") != approver || commands[0].Get("text") != "list 30" {
			t.Errorf("the bot received %v", commands)
		}
	})

	t.Run("unread channels", func(t *testing.T) {
		post(t, f.slack, digest, "the digest", nil)
		p.waitFor(t, "the unread mark", `document.querySelector('[data-channel="C0DIGEST"]').classList.contains('unread')`)
		p.do(t, "opening #kaizala-digest", chromedp.Click(chromedp.CSS(`[data-channel="C0DIGEST"]`)))
		p.waitFor(t, "the digest", `document.querySelector('#messages').innerText.includes('the digest') && !document.querySelector('[data-channel="C0DIGEST"]').classList.contains('unread')`)
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

// A modal opened by the bot shows over the page for its persona only, checks
// its inputs as Slack's client does, shows the bot's errors, and closes on
// the bot's empty answer or on Escape.
func TestTheModalDialog(t *testing.T) {
	chromium := browsertest.Find(t)
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	browser := browsertest.New(t, ctx, chromium)

	p := tab{browser}
	const (
		dialogOpen = `document.querySelector('#view-dialog').open`
		reasonErr  = `document.querySelector('[data-error-for="kaizala_reason"]')`
		reason     = `#view-blocks textarea[data-action-id="kaizala_reason"]`
	)

	// The page shows Sam Sales, the first persona; the modal opens live.
	p.do(t, "opening the console", chromedp.Navigate(f.console.URL))
	p.waitFor(t, "the live stream", `document.querySelector('#connection').textContent === 'Live'`)
	openModal(t, f, approver, reasonView)
	id := openModal(t, f, sales, reasonView)
	p.waitFor(t, "the modal", dialogOpen)

	t.Run("drawn like Slack's, all text", func(t *testing.T) {
		checks := map[string]string{
			`#view-title`:                    "Reject <b>M1</b>",
			`#view-submit`:                   "Reject",
			`#view-close`:                    "Keep it",
			`#view-blocks .b-section strong`: "Reject migration M1?",
			`[data-block-id="kaizala_reason"] .b-input-label`: "Reason",
			`[data-block-id="kaizala_reason"] .b-input-hint`:  "The requester sees it.",
			`[data-block-id="kaizala_note"] .b-input-label`:   "Note (optional)",
		}
		for selector, want := range checks {
			if got := p.eval(t, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent`, selector)); got != want {
				t.Errorf("%s: %q, want %q", selector, got, want)
			}
		}
		got := p.eval(t, `[document.querySelectorAll('#view-dialog b').length, document.querySelector('`+reason+`').placeholder,
			document.querySelector('#view-blocks input[data-action-id="kaizala_note"]').type, document.activeElement.dataset.actionId].join('|')`)
		if got != "0|e.g. renews by phone|text|kaizala_reason" {
			t.Errorf("markup in the title, placeholder, the note's field, the focus: %v", got)
		}
	})

	t.Run("the browser checks the lengths first", func(t *testing.T) {
		p.do(t, "typing too little and submitting", chromedp.SendKeys(chromedp.CSS(reason), "no"), chromedp.Click(chromedp.ID("view-submit")))
		p.waitFor(t, "the message", reasonErr+`.textContent === 'Enter at least 3 characters (you have 2).' && !`+reasonErr+`.hidden`)
		if got := p.eval(t, `[document.activeElement.dataset.actionId, document.querySelector('`+reason+`').getAttribute('aria-invalid')].join('|')`); got != "kaizala_reason|true" {
			t.Errorf("focus and aria-invalid: %v", got)
		}
		p.do(t, "typing on", chromedp.SendKeys(chromedp.CSS(reason), "t now"))
		p.waitFor(t, "the message gone", reasonErr+`.hidden`)
		if subs := f.bot.submitted(); len(subs) != 0 {
			t.Errorf("the bot received %+v", subs)
		}
	})

	t.Run("the bot's errors show under the input", func(t *testing.T) {
		f.bot.answerNextSubmission(`{"response_action":"errors","errors":{"kaizala_reason":"The plan <i>started</i> meanwhile."}}`)
		p.do(t, "submitting", chromedp.Click(chromedp.ID("view-submit")))
		p.waitFor(t, "the bot's error", reasonErr+`.textContent === 'The plan <i>started</i> meanwhile.'`)
		subs := f.bot.submitted()
		if len(subs) != 1 || subs[0].User.ID != sales || subs[0].View.ID != id {
			t.Fatalf("the bot received %+v", subs)
		}
		if v := subs[0].View.State.Values["kaizala_reason"]["kaizala_reason"].Value; v == nil || *v != "not now" {
			t.Errorf("the reason sent: %v", v)
		}
		if got := p.eval(t, dialogOpen+` && document.querySelector('`+reason+`').value`); got != "not now" {
			t.Errorf("the modal after the errors: %v", got)
		}
	})

	t.Run("the bot's empty answer closes it", func(t *testing.T) {
		p.do(t, "submitting again", chromedp.Click(chromedp.ID("view-submit")))
		p.waitFor(t, "the modal closed", `!`+dialogOpen)
		if n := len(f.bot.submitted()); n != 2 || len(f.slack.Views(sales)) != 0 {
			t.Errorf("%d submissions, views %+v", n, f.slack.Views(sales))
		}
	})

	t.Run("Escape cancels", func(t *testing.T) {
		openModal(t, f, sales, reasonView)
		p.waitFor(t, "the next modal, its reason focused", dialogOpen+` && document.activeElement.dataset.actionId === 'kaizala_reason'`)
		p.do(t, "pressing Escape", chromedp.KeyEvent(kb.Escape))
		p.waitFor(t, "the modal closed", `!`+dialogOpen)
		for deadline := time.Now().Add(5 * time.Second); len(f.slack.Views(sales)) > 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		}
		if views := f.slack.Views(sales); len(views) != 0 || len(f.bot.submitted()) != 2 {
			t.Errorf("after Escape: views %+v, %d submissions", views, len(f.bot.submitted()))
		}
	})

	t.Run("each persona sees their own", func(t *testing.T) {
		p.eval(t, `(() => { const p = document.querySelector('#persona'); p.value = 'U0APPROVER'; p.dispatchEvent(new Event('change')); })()`)
		p.waitFor(t, "Ada's modal", dialogOpen)
	})
}

// tab drives one browser tab; a failed step fails the test with what the
// page showed.
type tab struct{ browser context.Context }

func (p tab) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(p.browser, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func (p tab) eval(t *testing.T, expression string) any {
	t.Helper()
	v, err := chromedp.Run(p.browser, chromedp.Evaluate[any](expression))
	if err != nil {
		t.Fatalf("%s: %v", expression, err)
	}
	return v
}

func (p tab) waitFor(t *testing.T, what, predicate string) {
	t.Helper()
	if _, err := chromedp.Run(p.browser, chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s: %v\npage: %v", what, err, p.eval(t, `document.body.innerText`))
	}
}
