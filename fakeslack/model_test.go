package fakeslack

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestSubscribe(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)
	events, cancel := s.Subscribe()

	_, ts, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("card", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C0SALES", ts, slack.MsgOptionText("approved", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := api.PostEphemeralContext(ctx, "C0SALES", "U0ALICE", slack.MsgOptionText("psst", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.DeleteMessageContext(ctx, "C0SALES", ts); err != nil {
		t.Fatal(err)
	}
	want := []struct{ kind, text string }{
		{ChangeMessage, "card"},
		{ChangeUpdate, "approved"},
		{ChangeEphemeral, "psst"},
		{ChangeDelete, "approved"},
	}
	for _, w := range want {
		select {
		case c := <-events:
			if c.Kind != w.kind || c.Message.Text != w.text {
				t.Errorf("change %s %q, want %s %q", c.Kind, c.Message.Text, w.kind, w.text)
			}
		case <-ctx.Done():
			t.Fatalf("no %s change", w.kind)
		}
	}

	cancel()
	cancel() // cancelling twice is harmless
	if _, open := <-events; open {
		t.Error("events still open after cancel")
	}
	if _, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("after", false)); err != nil {
		t.Fatal(err)
	}
}

// A subscriber that never reads must not block the server.
func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	s, api := start(t, Options{})
	_, cancel := s.Subscribe()
	defer cancel()
	for range subscriberBuffer + 10 {
		if _, err := api.PostEphemeralContext(testContext(t), "C0SALES", "U0ALICE", slack.MsgOptionText("x", false)); err != nil {
			t.Fatal(err)
		}
	}
}

// Readers get copies: changing one never changes the model.
func TestReadsAreCopies(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)
	_, ts, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("v1", false), slack.MsgOptionBlocks(slack.NewDividerBlock()))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C0SALES", ts, slack.MsgOptionText("v2", false), slack.MsgOptionBlocks(slack.NewDividerBlock())); err != nil {
		t.Fatal(err)
	}
	m, _ := s.Message("C0SALES", ts)
	m.Blocks[0] = 'X'
	m.History[0].Text = "changed"
	again, _ := s.Message("C0SALES", ts)
	if again.Blocks[0] != '[' || again.History[0].Text != "v1" {
		t.Errorf("the model changed through a copy: %+v", again)
	}
}

func TestWaitGivesUpWithWhatItSaw(t *testing.T) {
	s, api := start(t, Options{})
	if _, _, err := api.PostMessageContext(testContext(t), "C0SALES", slack.MsgOptionText("3 renewals due", false)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := s.WaitMessage(ctx, "C0SALES", func(m Message) bool { return m.Text == "digest" })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `"3 renewals due"`) {
		t.Errorf("error %v, want a deadline naming the message seen", err)
	}
}
