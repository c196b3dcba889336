package fakeslack

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func TestDirectMessageAndPermalink(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)

	if s.Opened(DMChannel("U0ALICE")) {
		t.Fatal("the DM is open before anyone opened it")
	}
	ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U0ALICE"}})
	if err != nil {
		t.Fatal(err)
	}
	if ch.ID != DMChannel("U0ALICE") || !s.Opened(ch.ID) {
		t.Fatalf("opened %q, want %q", ch.ID, DMChannel("U0ALICE"))
	}
	if _, _, err := api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText("your customer contoso alerts", false)); err != nil {
		t.Fatal(err)
	}
	got, err := s.WaitDM(ctx, "U0ALICE", func(m Message) bool { return strings.Contains(m.Text, "contoso") })
	if err != nil {
		t.Fatal(err)
	}
	if dms := s.DMs("U0BOB"); len(dms) != 0 {
		t.Errorf("Bob was told %d things", len(dms))
	}

	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: got.Channel, Ts: got.TS})
	if err != nil {
		t.Fatal(err)
	}
	if want := s.URL() + "/archives/" + got.Channel + "/p" + strings.Replace(got.TS, ".", "", 1); link != want {
		t.Errorf("permalink %q, want %q", link, want)
	}
	if _, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: got.Channel, Ts: "1.000001"}); err == nil || !strings.Contains(err.Error(), "message_not_found") {
		t.Errorf("the permalink of no message: %v", err)
	}
}
