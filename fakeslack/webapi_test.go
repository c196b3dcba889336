package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

var testUsers = []User{
	{ID: "U0ALICE", Name: "alice", RealName: "Alice Approver"},
	{ID: "U0BOB", Name: "bob", RealName: "Bob Seller"},
}

// start runs a fake Slack on loopback and returns it with a real slack-go
// client pointed at it.
func start(t *testing.T, opts Options) (*Server, *slack.Client) {
	t.Helper()
	if opts.Users == nil {
		opts.Users = testUsers
	}
	s := New(opts)
	if _, err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, slack.New(s.opts.BotToken, slack.OptionAPIURL(s.APIURL()))
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func plain(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
}

// approvalBlocks is a card with a static select (in a section accessory) and
// two buttons, like the bot's approval cards.
func approvalBlocks() []slack.Block {
	seats := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Seats"), "seats",
		slack.NewOptionBlockObject("10", plain("10 seats"), nil),
		slack.NewOptionBlockObject("20", plain("20 seats"), nil),
	)
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Renewal* of acme.example", false, false), nil,
			slack.NewAccessory(seats), slack.SectionBlockOptionBlockID("choose")),
		slack.NewActionBlock("decide",
			slack.NewButtonBlockElement("approve", "req-1", plain("Approve")).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement("deny", "req-1", plain("Deny")).WithStyle(slack.StyleDanger),
		),
	}
}

// sameJSON reports whether got and want encode the same JSON value.
func sameJSON(t *testing.T, got json.RawMessage, want any) bool {
	t.Helper()
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("recorded JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(wantJSON, &w); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(g, w)
}

func TestPostMessageRecordsTextAndBlocks(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)
	blocks := approvalBlocks()

	channel, ts, err := api.PostMessageContext(ctx, "C0SALES",
		slack.MsgOptionText("Renewal approval needed: acme.example", false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages("C0SALES")
	if channel != "C0SALES" || len(msgs) != 1 {
		t.Fatalf("channel %q, messages %+v", channel, msgs)
	}
	m := msgs[0]
	if m.TS != ts || m.User != BotUserID || m.Text != "Renewal approval needed: acme.example" || m.Ephemeral || m.Posted.IsZero() {
		t.Errorf("recorded %+v, want ts %s by %s", m, ts, BotUserID)
	}
	if !sameJSON(t, m.Blocks, blocks) {
		t.Errorf("blocks %s, want what was sent", m.Blocks)
	}
	if got := s.Channels(); !slices.Equal(got, []string{"C0SALES"}) {
		t.Errorf("Channels() = %v", got)
	}
	if got := s.Calls("chat.postMessage"); got != 1 {
		t.Errorf("Calls = %d, want 1", got)
	}
}

func TestThreadReplies(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)
	_, parent, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("card", false))
	if err != nil {
		t.Fatal(err)
	}
	_, reply, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("step 1 done", false), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatal(err)
	}
	// A reply's ts threads under its parent, as in Slack.
	_, second, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("step 2 done", false), slack.MsgOptionTS(reply), slack.MsgOptionBroadcast())
	if err != nil {
		t.Fatal(err)
	}

	thread := s.Thread("C0SALES", parent)
	if len(thread) != 2 || thread[0].TS != reply || thread[0].ThreadTS != parent || thread[1].TS != second || thread[1].ThreadTS != parent {
		t.Errorf("Thread = %+v", thread)
	}
	var top []string
	for _, m := range s.Messages("C0SALES") {
		top = append(top, m.Text)
	}
	if want := []string{"card", "step 2 done"}; !slices.Equal(top, want) {
		t.Errorf("top-level %q, want %q (plain replies excluded, broadcast included)", top, want)
	}
	got, err := s.WaitThreadReply(ctx, "C0SALES", parent, func(m Message) bool { return strings.HasPrefix(m.Text, "step 2") })
	if err != nil || got.TS != second {
		t.Errorf("WaitThreadReply = %+v, %v", got, err)
	}
}

func TestUpdateMessage(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)
	_, ts, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("pending", false), slack.MsgOptionBlocks(approvalBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	approved := []slack.Block{slack.NewContextBlock("done", slack.NewTextBlockObject(slack.MarkdownType, "Approved by <@U0ALICE>", false, false))}

	if _, _, _, err := api.UpdateMessageContext(ctx, "C0SALES", ts, slack.MsgOptionText("approved", false), slack.MsgOptionBlocks(approved...)); err != nil {
		t.Fatal(err)
	}
	m, _ := s.Message("C0SALES", ts)
	if m.Updates != 1 || m.Text != "approved" || !sameJSON(t, m.Blocks, approved) || m.Edited.IsZero() {
		t.Errorf("after update: %+v", m)
	}
	if len(m.History) != 1 || m.History[0].Text != "pending" || !sameJSON(t, m.History[0].Blocks, approvalBlocks()) {
		t.Errorf("History = %+v", m.History)
	}

	// Text without blocks removes the blocks, as chat.update documents.
	if _, _, _, err := api.UpdateMessageContext(ctx, "C0SALES", ts, slack.MsgOptionText("approved, text only", false)); err != nil {
		t.Fatal(err)
	}
	m, err = s.WaitUpdate(ctx, "C0SALES", ts, 2)
	if err != nil {
		t.Fatal(err)
	}
	if m.Blocks != nil || m.Text != "approved, text only" || len(m.History) != 2 || m.History[1].Text != "approved" || m.History[1].History != nil {
		t.Errorf("after text-only update: %+v", m)
	}
	if got := s.Calls("chat.update"); got != 2 {
		t.Errorf("Calls(chat.update) = %d", got)
	}
}

func TestEphemeralDeleteUsersGroupsAuth(t *testing.T) {
	s, api := start(t, Options{Groups: map[string][]string{"S0APPROVERS": {"U0ALICE", "U0BOB"}}})
	ctx := testContext(t)

	ts, err := api.PostEphemeralContext(ctx, "C0SALES", "U0BOB", slack.MsgOptionText("only you", false))
	if err != nil {
		t.Fatal(err)
	}
	eph := s.Ephemerals("U0BOB")
	if len(eph) != 1 || eph[0].TS != ts || !eph[0].Ephemeral || eph[0].For != "U0BOB" || eph[0].Channel != "C0SALES" || eph[0].Text != "only you" {
		t.Errorf("Ephemerals = %+v", eph)
	}
	if len(s.Messages("C0SALES")) != 0 || len(s.Ephemerals("U0ALICE")) != 0 {
		t.Error("an ephemeral leaked to the channel or another user")
	}

	_, ts, err = api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("oops", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.DeleteMessageContext(ctx, "C0SALES", ts); err != nil {
		t.Fatal(err)
	}
	if _, found := s.Message("C0SALES", ts); found {
		t.Error("deleted message still there")
	}

	u, err := api.GetUserInfoContext(ctx, "U0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "U0ALICE" || u.Name != "alice" || u.RealName != "Alice Approver" || u.IsBot || u.Deleted || u.TZ != "UTC" || u.Profile.RealName != "Alice Approver" {
		t.Errorf("users.info = %+v", u)
	}

	members, err := api.GetUserGroupMembersContext(ctx, "S0APPROVERS")
	if err != nil || !slices.Equal(members, []string{"U0ALICE", "U0BOB"}) {
		t.Errorf("usergroups.users.list = %v, %v", members, err)
	}

	auth, err := api.AuthTestContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if auth.UserID != BotUserID || auth.BotID != BotID || auth.TeamID != DefaultTeamID || auth.URL != s.URL()+"/" {
		t.Errorf("auth.test = %+v", auth)
	}

	for range 2 {
		ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U0ALICE"}})
		if err != nil || ch.ID != "DU0ALICE" {
			t.Errorf("conversations.open = %+v, %v", ch, err)
		}
	}
	// Posting to a user id lands in the DM with that user.
	if channel, _, err := api.PostMessageContext(ctx, "U0ALICE", slack.MsgOptionText("dm", false)); err != nil || channel != "DU0ALICE" || len(s.Messages("DU0ALICE")) != 1 {
		t.Errorf("post to a user: channel %q, %v", channel, err)
	}
}

func TestWebAPIErrors(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)
	_, parent, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("card", false))
	if err != nil {
		t.Fatal(err)
	}
	manyBlocks := make([]slack.Block, 51)
	for i := range manyBlocks {
		manyBlocks[i] = slack.NewDividerBlock()
	}
	longSection := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 3001), false, false), nil, nil)

	tests := []struct {
		name string
		call func(*slack.Client) error
		want string
	}{
		{"wrong token", func(*slack.Client) error {
			_, _, err := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL())).PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("x", false))
			return err
		}, "invalid_auth"},
		{"no token", func(*slack.Client) error {
			_, err := slack.New("", slack.OptionAPIURL(s.APIURL())).AuthTestContext(ctx)
			return err
		}, "invalid_auth"},
		{"no channel", func(api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, "", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"no text", func(api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, "C0SALES")
			return err
		}, "no_text"},
		{"51 blocks", func(api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("x", false), slack.MsgOptionBlocks(manyBlocks...))
			return err
		}, "invalid_blocks"},
		{"section text over 3000", func(api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionBlocks(longSection))
			return err
		}, "invalid_blocks"},
		{"text over 40000", func(api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText(strings.Repeat("x", 40001), false))
			return err
		}, "msg_too_long"},
		{"reply to unknown thread", func(api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("x", false), slack.MsgOptionTS("1.000001"))
			return err
		}, "thread_not_found"},
		{"update unknown message", func(api *slack.Client) error {
			_, _, _, err := api.UpdateMessageContext(ctx, "C0SALES", "1.000001", slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"update in another channel", func(api *slack.Client) error {
			_, _, _, err := api.UpdateMessageContext(ctx, "C0OTHER", parent, slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"unknown user", func(api *slack.Client) error {
			_, err := api.GetUserInfoContext(ctx, "U0NOBODY")
			return err
		}, "user_not_found"},
		{"unknown group", func(api *slack.Client) error {
			_, err := api.GetUserGroupMembersContext(ctx, "S0NONE")
			return err
		}, "no_such_subteam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(api)
			var slackErr slack.SlackErrorResponse
			if !errors.As(err, &slackErr) || slackErr.Err != tt.want {
				t.Errorf("error %v, want Slack error %q", err, tt.want)
			}
		})
	}
	if got := len(s.Messages("C0SALES")); got != 1 {
		t.Errorf("%d messages recorded, want only the card", got)
	}
}

func TestUnknownMethodIs404(t *testing.T) {
	_, api := start(t, Options{})
	_, err := api.GetConversationHistoryContext(testContext(t), &slack.GetConversationHistoryParameters{ChannelID: "C0SALES"})
	var status slack.StatusCodeError
	if !errors.As(err, &status) || status.Code != http.StatusNotFound {
		t.Errorf("error %v, want a 404 StatusCodeError", err)
	}
}

func TestFailNext(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)
	s.FailNext("chat.postMessage", "channel_is_archived")

	_, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("x", false))
	var slackErr slack.SlackErrorResponse
	if !errors.As(err, &slackErr) || slackErr.Err != "channel_is_archived" {
		t.Fatalf("error %v, want channel_is_archived", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("the call after the fault: %v", err)
	}
	if got := len(s.Messages("C0SALES")); got != 1 {
		t.Errorf("%d messages, want 1 (the failed call records nothing)", got)
	}
}

func TestFailNextWhereAimsAtOneMessage(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)
	s.FailNextWhere("chat.postMessage", "internal_error", func(args map[string]string) bool { return strings.Contains(args["text"], "the plan") })

	if _, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("an alert", false)); err != nil {
		t.Fatalf("a call that does not match failed: %v", err)
	}
	_, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("the plan", false))
	var slackErr slack.SlackErrorResponse
	if !errors.As(err, &slackErr) || slackErr.Err != "internal_error" {
		t.Fatalf("error %v, want internal_error", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("the plan", false)); err != nil {
		t.Errorf("the fault fires once: %v", err)
	}
	var got []string
	for _, m := range s.Messages("C0SALES") {
		got = append(got, m.Text)
	}
	if strings.Join(got, "|") != "an alert|the plan" {
		t.Errorf("messages %q", got)
	}
}

func TestRateLimitNext(t *testing.T) {
	t.Run("error carries Retry-After", func(t *testing.T) {
		t.Parallel()
		s, api := start(t, Options{})
		s.RateLimitNext("chat.update", 6500*time.Millisecond) // whole seconds, rounded up
		_, _, _, err := api.UpdateMessageContext(testContext(t), "C0SALES", "1.000001", slack.MsgOptionText("x", false))
		var limited *slack.RateLimitedError
		if !errors.As(err, &limited) || limited.RetryAfter != 7*time.Second {
			t.Errorf("error %v, want *slack.RateLimitedError after 7s", err)
		}
	})
	t.Run("client with OptionRetry retries", func(t *testing.T) {
		t.Parallel()
		s, _ := start(t, Options{})
		api := slack.New(DefaultBotToken, slack.OptionAPIURL(s.APIURL()), slack.OptionRetry(1))
		s.RateLimitNext("chat.postMessage", time.Second)
		if _, _, err := api.PostMessageContext(testContext(t), "C0SALES", slack.MsgOptionText("after a wait", false)); err != nil {
			t.Fatal(err)
		}
		if calls, msgs := s.Calls("chat.postMessage"), s.Messages("C0SALES"); calls != 2 || len(msgs) != 1 {
			t.Errorf("%d calls and %d messages, want 2 and 1", calls, len(msgs))
		}
	})
}

// ts values are unique and increasing across the whole server, even for
// many posts within the same second.
func TestTSUniqueAndIncreasing(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)
	const writers, each = 10, 50
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			var last string
			for i := range each {
				_, ts, err := api.PostMessageContext(ctx, fmt.Sprintf("C%d", w%3), slack.MsgOptionText(strconv.Itoa(i), false))
				if err != nil {
					errs <- err
					return
				}
				if last != "" && !tsBefore(last, ts) {
					errs <- fmt.Errorf("ts %s after %s", ts, last)
					return
				}
				last = ts
				mu.Lock()
				seen[ts] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != writers*each {
		t.Errorf("%d distinct ts for %d posts", len(seen), writers*each)
	}
	for _, ch := range s.Channels() {
		msgs := s.Messages(ch)
		for i := 1; i < len(msgs); i++ {
			if !tsBefore(msgs[i-1].TS, msgs[i].TS) {
				t.Errorf("%s: %s listed before %s", ch, msgs[i-1].TS, msgs[i].TS)
			}
		}
	}
}

// tsBefore compares two ts values numerically.
func tsBefore(a, b string) bool {
	parse := func(ts string) (sec, seq int64) {
		s, q, _ := strings.Cut(ts, ".")
		sec, _ = strconv.ParseInt(s, 10, 64)
		seq, _ = strconv.ParseInt(q, 10, 64)
		return sec, seq
	}
	as, aq := parse(a)
	bs, bq := parse(b)
	return as < bs || as == bs && aq < bq
}

func TestTSFormatWithFrozenClock(t *testing.T) {
	frozen := time.Unix(1732420000, 0)
	s, api := start(t, Options{Now: func() time.Time { return frozen }})
	ctx := testContext(t)
	var got []string
	for range 3 {
		_, ts, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("x", false))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ts)
	}
	if want := []string{"1732420000.000001", "1732420000.000002", "1732420000.000003"}; !slices.Equal(got, want) {
		t.Errorf("ts %v, want %v", got, want)
	}
	if m := s.Messages("C0SALES")[0]; !m.Posted.Equal(frozen) {
		t.Errorf("Posted %v, want the injected clock's %v", m.Posted, frozen)
	}
}

// Slack's JSON encoding of Web API calls (Bearer token, blocks as an array)
// is accepted too, and the caller can serve the fake on its own server.
func TestJSONBodyAndServingItYourself(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.SetURL(srv.URL)

	body := `{"channel":"C0SALES","text":"hi","blocks":[{"type":"divider"}],"reply_broadcast":false}`
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, s.APIURL()+"chat.postMessage", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+DefaultBotToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		OK bool   `json:"ok"`
		TS string `json:"ts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || !answer.OK {
		t.Fatalf("answer %+v, %v", answer, err)
	}
	m, found := s.Message("C0SALES", answer.TS)
	if !found || m.Text != "hi" || !bytes.Equal(m.Blocks, []byte(`[{"type":"divider"}]`)) {
		t.Errorf("recorded %+v", m)
	}
}
