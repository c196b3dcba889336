package console

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kaizalabot/kaizalabot/internal/browsertest"
)

func TestTheHomeTabInThePage(t *testing.T) {
	chromium := browsertest.Find(t)
	c, bot := newHomeFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := tab{browsertest.New(t, ctx, chromium)}

	p.do(t, "opening the console", chromedp.Navigate(c.URL))
	p.waitFor(t, "the sidebar", `!!document.querySelector('#channels .channel')`)
	p.do(t, "opening the Home tab", chromedp.Click(chromedp.ID("home-link")))
	p.waitFor(t, "the Home tab's blocks", `(document.querySelector('#home-pane') || {}).innerText?.includes('Waiting for approval (2)')`)
	if opened, _ := bot.seen(); !slices.Equal(opened, []string{sales}) {
		t.Errorf("app_home_opened came from %v, want the first persona", opened)
	}
	if hidden := p.eval(t, `document.querySelector('.composer-box').hidden`); hidden != true {
		t.Error("the composer shows on the Home tab")
	}

	p.do(t, "clicking the second Approve", chromedp.Click(chromedp.CSS(`#home-pane .b-actions:nth-of-type(3) [data-action-id="kaizala_approve"]`)))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, clicks := bot.seen(); len(clicks) == 1 {
			if got := clicks[0]; got.User.ID != sales || got.Container.Type != "view" || got.Actions[0].Value != "M2:h2" {
				t.Errorf("the click arrived as %+v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the click never reached the bot")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Another persona's Home tab is opened for them.
	p.eval(t, `(() => { const s = document.querySelector('#persona'); s.value = 'U0APPROVER'; s.dispatchEvent(new Event('change')); })()`)
	p.waitFor(t, "the approver's Home tab", `(document.querySelector('#home-pane') || {}).innerText?.includes('Waiting for approval')`)
	deadline = time.Now().Add(10 * time.Second)
	for opened, _ := bot.seen(); !slices.Equal(opened, []string{sales, approver}); opened, _ = bot.seen() {
		if time.Now().After(deadline) {
			t.Fatalf("app_home_opened came from %v, want the approver second", opened)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Back to a channel: the channel and its composer are there again.
	p.do(t, "choosing a channel", chromedp.Click(chromedp.CSS(`#channels .channel`)))
	p.waitFor(t, "the channel", `!document.querySelector('#home-pane') && !document.querySelector('.composer-box').hidden`)
}
