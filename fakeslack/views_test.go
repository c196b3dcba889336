package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// testClock is an adjustable Options.Now, safe for the server's goroutines.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// reasonModal asks for a reason like the bot's reject dialog: a section, a
// required multiline input with lengths, and an optional one.
func reasonModal() slack.ModalViewRequest {
	reason := slack.NewPlainTextInputBlockElement(plain("e.g. the customer renews by phone"), "reason")
	reason.Multiline = true
	reason.MinLength, reason.MaxLength = 3, 20
	note := slack.NewInputBlock("note_block", plain("Note"), nil, slack.NewPlainTextInputBlockElement(nil, "note"))
	note.Optional = true
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain("Reject M1"),
		Submit:          plain("Reject"),
		Close:           plain("Keep it"),
		CallbackID:      "reject_reason",
		PrivateMetadata: `{"migration":"M1"}`,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Reject migration M1?*", false, false), nil, nil),
			slack.NewInputBlock("reason_block", plain("Reason"), plain("The requester sees it."), reason),
			note,
		}},
	}
}

// clickForTrigger clicks Approve on a new card as userID and returns the
// trigger_id the app received with the click.
func clickForTrigger(t *testing.T, s *Server, api *slack.Client, app *botApp, userID string) string {
	t.Helper()
	ctx := testContext(t)
	_, ts, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("card", false), slack.MsgOptionBlocks(approvalBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	card, _ := s.Message("C0SALES", ts)
	if _, err := s.Click(ctx, userID, card, "deny"); err != nil {
		t.Fatal(err)
	}
	return receive(t, app.clicks).TriggerID
}

// openReasonModal opens reasonModal for userID the way the bot will: a
// click, then views.open with its trigger_id.
func openReasonModal(t *testing.T, s *Server, api *slack.Client, app *botApp, userID string) View {
	t.Helper()
	trigger := clickForTrigger(t, s, api, app, userID)
	resp, err := api.OpenViewContext(testContext(t), trigger, reasonModal())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range s.Views(userID) {
		if v.ID == resp.View.ID {
			return v
		}
	}
	t.Fatalf("view %s is not open for %s", resp.View.ID, userID)
	return View{}
}

// viewsOpen calls views.open with a raw body and returns Slack's answer.
func viewsOpen(t *testing.T, s *Server, contentType, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.APIURL()+"views.open", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if contentType == "application/json" {
		req.Header.Set("Authorization", "Bearer "+DefaultBotToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatalf("views.open answered no JSON: %v", err)
	}
	return answer
}

func TestViewsOpen(t *testing.T) {
	s, api := start(t, Options{})
	app := newBotApp(t, s, nil, nil)
	ctx := testContext(t)
	changes, stop := s.Subscribe()
	defer stop()
	trigger := clickForTrigger(t, s, api, app, "U0BOB")

	resp, err := api.OpenViewContext(ctx, trigger, reasonModal())
	if err != nil {
		t.Fatal(err)
	}
	v := resp.View
	if !resp.Ok || !strings.HasPrefix(v.ID, "V") || v.TeamID != DefaultTeamID || v.Type != slack.VTModal || v.Hash == "" ||
		v.RootViewID != v.ID || v.AppID != AppID || v.BotID != BotID || v.AppInstalledTeamID != DefaultTeamID {
		t.Errorf("view %+v", v)
	}
	if v.Title.Text != "Reject M1" || v.Submit.Text != "Reject" || v.Close.Text != "Keep it" || v.CallbackID != "reject_reason" || v.PrivateMetadata != `{"migration":"M1"}` {
		t.Errorf("title %+v, submit %+v, close %+v, callback_id %q, private_metadata %q", v.Title, v.Submit, v.Close, v.CallbackID, v.PrivateMetadata)
	}
	if v.State == nil || v.State.Values == nil || len(v.State.Values) != 0 {
		t.Errorf("state %+v, want empty values", v.State)
	}
	// Slack shows every block with a block_id, made up where none was sent.
	if len(v.Blocks.BlockSet) != 3 || v.Blocks.BlockSet[0].ID() != "fakeslack-block-0" || v.Blocks.BlockSet[1].ID() != "reason_block" {
		t.Fatalf("blocks %+v", v.Blocks.BlockSet)
	}
	if input, ok := v.Blocks.BlockSet[1].(*slack.InputBlock); !ok || input.Label.Text != "Reason" {
		t.Errorf("the input block came back as %#v", v.Blocks.BlockSet[1])
	}

	// The view belongs to whoever clicked.
	views := s.Views("U0BOB")
	if len(views) != 1 || len(s.Views("U0ALICE")) != 0 {
		t.Fatalf("Bob's views %+v, Alice's %+v", views, s.Views("U0ALICE"))
	}
	got := views[0]
	if got.ID != v.ID || got.User != "U0BOB" || got.TriggerID != trigger || got.CallbackID != "reject_reason" ||
		got.PrivateMetadata != `{"migration":"M1"}` || got.Title != "Reject M1" || got.Errors != nil {
		t.Errorf("recorded %+v", got)
	}
	if !sameJSON(t, got.Blocks, reasonModal().Blocks) || !sameJSON(t, got.Raw, reasonModal()) {
		t.Errorf("blocks %s, raw %s; want them as sent", got.Blocks, got.Raw)
	}
	if n := s.Calls("views.open"); n != 1 {
		t.Errorf("Calls(views.open) = %d", n)
	}
	for opened := false; !opened; {
		select {
		case c := <-changes:
			if opened = c.Kind == ChangeViewOpened; opened && (c.View.ID != v.ID || c.View.User != "U0BOB" || c.View.Title != "Reject M1") {
				t.Errorf("change %+v", c.View)
			}
		case <-ctx.Done():
			t.Fatal("no view_opened change")
		}
	}
	if waited, err := s.WaitView(ctx, "U0BOB", func(v View) bool { return v.CallbackID == "reject_reason" }); err != nil || waited.ID != v.ID {
		t.Errorf("WaitView = %+v, %v", waited, err)
	}
}

// views.open takes its view as a JSON string (a form, or JSON) or as an
// object (JSON), as Slack does.
func TestViewsOpenArgumentForms(t *testing.T) {
	view, _ := json.Marshal(reasonModal())
	tests := []struct {
		name        string
		contentType string
		body        func(trigger string) string
	}{
		{"form", formContentType, func(trigger string) string {
			return url.Values{"token": {DefaultBotToken}, "trigger_id": {trigger}, "view": {string(view)}}.Encode()
		}},
		{"JSON with the view as a string", "application/json", func(trigger string) string {
			body, _ := json.Marshal(map[string]string{"trigger_id": trigger, "view": string(view)})
			return string(body)
		}},
		{"JSON with the view as an object", "application/json", func(trigger string) string {
			body, _ := json.Marshal(map[string]any{"trigger_id": trigger, "view": json.RawMessage(view)})
			return string(body)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, api := start(t, Options{})
			app := newBotApp(t, s, nil, nil)
			answer := viewsOpen(t, s, tt.contentType, tt.body(clickForTrigger(t, s, api, app, "U0ALICE")))
			if answer["ok"] != true {
				t.Fatalf("answer %v", answer)
			}
			if views := s.Views("U0ALICE"); len(views) != 1 || views[0].CallbackID != "reject_reason" {
				t.Errorf("views %+v", views)
			}
		})
	}
	t.Run("wrong token", func(t *testing.T) {
		s, _ := start(t, Options{})
		answer := viewsOpen(t, s, formContentType, url.Values{"token": {"xoxb-wrong"}, "trigger_id": {"1.1.faketrigger"}, "view": {string(view)}}.Encode())
		if answer["error"] != "invalid_auth" {
			t.Errorf("answer %v", answer)
		}
	})
}

func TestViewsOpenTriggerRules(t *testing.T) {
	tests := []struct {
		name    string
		trigger func(t *testing.T, s *Server, api *slack.Client, app *botApp, clock *testClock) string
		want    string // the Slack error; "" for success
	}{
		{"from a click", func(t *testing.T, s *Server, api *slack.Client, app *botApp, _ *testClock) string {
			return clickForTrigger(t, s, api, app, "U0BOB")
		}, ""},
		{"from a slash command", func(t *testing.T, s *Server, _ *slack.Client, app *botApp, _ *testClock) string {
			if _, err := s.Command(testContext(t), "U0BOB", "C0SALES", "reject M1"); err != nil {
				t.Fatal(err)
			}
			return receive(t, app.commands).TriggerID
		}, ""},
		{"three seconds old", func(t *testing.T, s *Server, api *slack.Client, app *botApp, clock *testClock) string {
			trigger := clickForTrigger(t, s, api, app, "U0BOB")
			clock.Advance(3 * time.Second)
			return trigger
		}, ""},
		{"unknown", func(*testing.T, *Server, *slack.Client, *botApp, *testClock) string {
			return "1234.5678.faketrigger"
		}, "invalid_trigger_id"},
		{"used already", func(t *testing.T, s *Server, api *slack.Client, app *botApp, _ *testClock) string {
			trigger := clickForTrigger(t, s, api, app, "U0BOB")
			if _, err := api.OpenViewContext(testContext(t), trigger, reasonModal()); err != nil {
				t.Fatal(err)
			}
			return trigger
		}, "exchanged_trigger_id"},
		{"older than three seconds", func(t *testing.T, s *Server, api *slack.Client, app *botApp, clock *testClock) string {
			trigger := clickForTrigger(t, s, api, app, "U0BOB")
			clock.Advance(3*time.Second + time.Millisecond)
			return trigger
		}, "expired_trigger_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			s, api := start(t, Options{Now: clock.Now})
			app := newBotApp(t, s, nil, nil)
			trigger := tt.trigger(t, s, api, app, clock)
			opened := len(s.Views("U0BOB"))

			_, err := api.OpenViewContext(testContext(t), trigger, reasonModal())
			var slackErr slack.SlackErrorResponse
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("views.open: %v", err)
			case tt.want == "" && len(s.Views("U0BOB")) != opened+1:
				t.Errorf("views %+v, want one more", s.Views("U0BOB"))
			case tt.want != "" && (!errors.As(err, &slackErr) || slackErr.Err != tt.want):
				t.Errorf("error %v, want %s", err, tt.want)
			case tt.want != "" && len(s.Views("U0BOB")) != opened:
				t.Errorf("a refused views.open opened a view: %+v", s.Views("U0BOB"))
			}
		})
	}
}

func TestViewsOpenRefusesBadViews(t *testing.T) {
	frozen := time.Now()
	s, api := start(t, Options{Now: func() time.Time { return frozen }}) // the trigger never expires
	app := newBotApp(t, s, nil, nil)
	trigger := clickForTrigger(t, s, api, app, "U0ALICE")

	// view is a modal with one input, changed by edit.
	view := func(edit func(v map[string]any)) string {
		v := map[string]any{
			"type":   "modal",
			"title":  map[string]any{"type": "plain_text", "text": "Reject M1"},
			"submit": map[string]any{"type": "plain_text", "text": "Reject"},
			"blocks": []any{map[string]any{
				"type": "input", "block_id": "reason_block",
				"label":   map[string]any{"type": "plain_text", "text": "Reason"},
				"element": map[string]any{"type": "plain_text_input", "action_id": "reason", "min_length": 3, "max_length": 300},
			}},
		}
		if edit != nil {
			edit(v)
		}
		out, _ := json.Marshal(v)
		return string(out)
	}
	input := func(v map[string]any) map[string]any { return v["blocks"].([]any)[0].(map[string]any) }
	tests := []struct {
		name, view string
		want       string // in response_metadata.messages
	}{
		{"not JSON", `{"type":"modal",`, "failed to parse the view as a JSON object"},
		{"a home tab", view(func(v map[string]any) { v["type"] = "home" }), `must be "modal" for views.open, not "home" [json-pointer:/view/type]`},
		{"no title", view(func(v map[string]any) { delete(v, "title") }), "missing required field [json-pointer:/view/title]"},
		{"a mrkdwn title", view(func(v map[string]any) { v["title"] = map[string]any{"type": "mrkdwn", "text": "*M1*"} }), "[json-pointer:/view/title/type]"},
		{"a long title", view(func(v map[string]any) {
			v["title"] = map[string]any{"type": "plain_text", "text": strings.Repeat("x", 25)}
		}),
			"must be less than 25 characters [json-pointer:/view/title/text]"},
		{"a long submit", view(func(v map[string]any) {
			v["submit"] = map[string]any{"type": "plain_text", "text": strings.Repeat("x", 25)}
		}),
			"[json-pointer:/view/submit/text]"},
		{"a long close", view(func(v map[string]any) {
			v["close"] = map[string]any{"type": "plain_text", "text": strings.Repeat("x", 25)}
		}),
			"[json-pointer:/view/close/text]"},
		{"an input without submit", view(func(v map[string]any) { delete(v, "submit") }), "must provide a submit button"},
		{"101 blocks", view(func(v map[string]any) {
			blocks := v["blocks"].([]any)
			for range 100 {
				blocks = append(blocks, map[string]any{"type": "divider"})
			}
			v["blocks"] = blocks
		}), "must have no more than 100 items [json-pointer:/view/blocks]"},
		{"long private_metadata", view(func(v map[string]any) { v["private_metadata"] = strings.Repeat("x", 3001) }), "[json-pointer:/view/private_metadata]"},
		{"long callback_id", view(func(v map[string]any) { v["callback_id"] = strings.Repeat("x", 256) }), "[json-pointer:/view/callback_id]"},
		{"an input without label", view(func(v map[string]any) { delete(input(v), "label") }), "missing required field [json-pointer:/view/blocks/0/label]"},
		{"an input without element", view(func(v map[string]any) { delete(input(v), "element") }), "[json-pointer:/view/blocks/0/element]"},
		{"min_length above max_length", view(func(v map[string]any) { input(v)["element"].(map[string]any)["min_length"] = 301 }),
			"must not be more than max_length [json-pointer:/view/blocks/0/element/min_length]"},
		{"max_length over 3000", view(func(v map[string]any) { input(v)["element"].(map[string]any)["max_length"] = 3001 }),
			"[json-pointer:/view/blocks/0/element/max_length]"},
		{"two blocks with one block_id", view(func(v map[string]any) { v["blocks"] = append(v["blocks"].([]any), input(v)) }),
			`duplicate block_id "reason_block" [json-pointer:/view/blocks/1/block_id]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"trigger_id": trigger, "view": tt.view})
			answer := viewsOpen(t, s, "application/json", string(body))
			messages, _ := json.Marshal(answer["response_metadata"])
			if answer["error"] != "invalid_arguments" || !strings.Contains(string(messages), strings.ReplaceAll(tt.want, `"`, `\"`)) {
				t.Errorf("answer %v; want invalid_arguments with a message containing %q", answer, tt.want)
			}
		})
	}
	t.Run("no trigger_id", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"view": view(nil)})
		if answer := viewsOpen(t, s, "application/json", string(body)); answer["error"] != "invalid_arguments" {
			t.Errorf("answer %v", answer)
		}
	})
	t.Run("too large", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"trigger_id": trigger, "view": view(func(v map[string]any) { v["padding"] = strings.Repeat("x", 250001) })})
		if answer := viewsOpen(t, s, "application/json", string(body)); answer["error"] != "view_too_large" {
			t.Errorf("answer %v", answer)
		}
	})
	t.Run("slack-go sees the messages", func(t *testing.T) {
		bad := reasonModal()
		bad.Submit = nil
		_, err := api.OpenViewContext(testContext(t), trigger, bad)
		var slackErr slack.SlackErrorResponse
		if !errors.As(err, &slackErr) || slackErr.Err != "invalid_arguments" || len(slackErr.ResponseMetadata.Messages) != 1 ||
			!strings.HasPrefix(slackErr.ResponseMetadata.Messages[0], "[ERROR] must provide a submit button") {
			t.Errorf("error %#v", err)
		}
	})
	if views := s.Views("U0ALICE"); len(views) != 0 {
		t.Fatalf("a refused view is open: %+v", views)
	}

	// Refusals leave the trigger unused; limits count characters, not bytes.
	good := view(func(v map[string]any) {
		v["title"] = map[string]any{"type": "plain_text", "text": strings.Repeat("é", 24)}
	})
	body, _ := json.Marshal(map[string]string{"trigger_id": trigger, "view": good})
	if answer := viewsOpen(t, s, "application/json", string(body)); answer["ok"] != true {
		t.Errorf("after the refusals: %v", answer)
	}
}

func TestSubmitView(t *testing.T) {
	tests := []struct {
		name    string
		answer  appAnswer
		open    bool              // whether the view stays open
		errors  map[string]string // its Errors then
		wantErr string            // SubmitView's error
	}{
		{"an empty 200 closes it", appAnswer{http.StatusOK, ""}, false, nil, ""},
		{"clear closes it", appAnswer{http.StatusOK, `{"response_action":"clear"}`}, false, nil, ""},
		{"errors keep it open", appAnswer{http.StatusOK, `{"response_action":"errors","errors":{"reason_block":"The plan started meanwhile."}}`},
			true, map[string]string{"reason_block": "The plan started meanwhile."}, ""},
		{"a failure keeps it open", appAnswer{http.StatusInternalServerError, `{"error":"boom"}`}, true, nil, ""},
		{"an error for a block that is no input", appAnswer{http.StatusOK, `{"response_action":"errors","errors":{"fakeslack-block-0":"x"}}`},
			true, nil, `block "fakeslack-block-0", which is not an input block`},
		{"update is beyond the fake", appAnswer{http.StatusOK, `{"response_action":"update","view":{}}`}, true, nil, `response_action "update"`},
		{"an answer that is not JSON", appAnswer{http.StatusOK, "thanks"}, true, nil, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, api := start(t, Options{})
			app := newBotApp(t, s, nil, nil)
			v := openReasonModal(t, s, api, app, "U0BOB")
			changes, stop := s.Subscribe()
			defer stop()
			app.answerNext(tt.answer.status, tt.answer.body)

			reply, err := s.SubmitView(testContext(t), "U0BOB", v, map[string]string{"reason": "too expensive"})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("SubmitView: %v, want an error containing %q", err, tt.wantErr)
			}
			if reply.Status != tt.answer.status { // a bad signature would be a 401
				t.Errorf("reply %d %s", reply.Status, reply.Body)
			}

			ic := receive(t, app.clicks)
			if ic.Type != slack.InteractionTypeViewSubmission || ic.User.ID != "U0BOB" || ic.User.Username != "bob" || ic.Team.ID != DefaultTeamID ||
				ic.APIAppID != AppID || ic.TriggerID == "" || ic.TriggerID == v.TriggerID {
				t.Errorf("callback %+v", ic)
			}
			got := ic.View
			if got.ID != v.ID || got.Type != slack.VTModal || got.CallbackID != "reject_reason" || got.PrivateMetadata != `{"migration":"M1"}` ||
				got.Hash == "" || got.Title.Text != "Reject M1" || got.Submit.Text != "Reject" || got.Close.Text != "Keep it" || len(got.Blocks.BlockSet) != 3 {
				t.Errorf("view %+v", got)
			}
			reason, found := got.State.Values["reason_block"]["reason"]
			if !found || reason.Type != "plain_text_input" || reason.Value != "too expensive" {
				t.Errorf("state.values[reason_block][reason] = %+v (found %v)", reason, found)
			}
			if note, found := got.State.Values["note_block"]["note"]; !found || note.Value != "" {
				t.Errorf("the optional note left empty: %+v (found %v)", note, found)
			}

			views := s.Views("U0BOB")
			switch {
			case !tt.open && len(views) != 0:
				t.Errorf("still open: %+v", views)
			case tt.open && (len(views) != 1 || !equalErrors(views[0].Errors, tt.errors)):
				t.Errorf("views %+v, want it open with errors %v", views, tt.errors)
			}
			want := map[bool]string{false: ChangeViewClosed, true: ChangeViewUpdated}[tt.open]
			if tt.open && tt.errors == nil {
				want = "" // nothing changed
			}
			select {
			case c := <-changes:
				if c.Kind != want || c.View.ID != v.ID || !equalErrors(c.View.Errors, tt.errors) {
					t.Errorf("change %s %+v, want %s", c.Kind, c.View, want)
				}
			default:
				if want != "" {
					t.Errorf("no %s change", want)
				}
			}
		})
	}
}

func equalErrors(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// An answered "errors" can be fixed and submitted again, as in Slack.
func TestSubmitViewAgainAfterErrors(t *testing.T) {
	s, api := start(t, Options{})
	app := newBotApp(t, s, nil, nil)
	v := openReasonModal(t, s, api, app, "U0BOB")
	ctx := testContext(t)
	app.answerNext(http.StatusOK, `{"response_action":"errors","errors":{"reason_block":"Say more."}}`)
	if _, err := s.SubmitView(ctx, "U0BOB", v, map[string]string{"reason": "meh"}); err != nil {
		t.Fatal(err)
	}
	receive(t, app.clicks)
	v, err := s.WaitView(ctx, "U0BOB", func(v View) bool { return v.Errors["reason_block"] == "Say more." })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SubmitView(ctx, "U0BOB", v, map[string]string{"reason": "renews by phone", "note": "ééé"}); err != nil {
		t.Fatal(err)
	}
	if note := receive(t, app.clicks).View.State.Values["note_block"]["note"].Value; note != "ééé" {
		t.Errorf("note %q", note)
	}
	if views := s.Views("U0BOB"); len(views) != 0 {
		t.Errorf("still open: %+v", views)
	}
}

func TestSubmitViewRefusesWhatSlackWouldNotSend(t *testing.T) {
	s, api := start(t, Options{})
	app := newBotApp(t, s, nil, nil)
	v := openReasonModal(t, s, api, app, "U0BOB")
	closed := openReasonModal(t, s, api, app, "U0BOB")
	if err := s.CloseView("U0BOB", closed.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		user   string
		view   View
		values map[string]string
		want   string
	}{
		{"an unknown input", "U0BOB", v, map[string]string{"reason": "too expensive", "reasn": "x"}, `no input with action_id ["reasn"]`},
		{"a required input left empty", "U0BOB", v, map[string]string{"reason": ""}, `the input "reason" (block "reason_block") is required`},
		{"a required input not given", "U0BOB", v, map[string]string{"note": "hello"}, `the input "reason" (block "reason_block") is required`},
		{"below min_length", "U0BOB", v, map[string]string{"reason": "no"}, "needs at least 3 characters, not 2"},
		{"above max_length", "U0BOB", v, map[string]string{"reason": strings.Repeat("x", 21)}, "takes at most 20 characters, not 21"},
		{"another person's view", "U0ALICE", v, map[string]string{"reason": "too expensive"}, "open for U0BOB, not U0ALICE"},
		{"a closed view", "U0BOB", closed, map[string]string{"reason": "too expensive"}, "no open view"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SubmitView(testContext(t), tt.user, tt.view, tt.values)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
	if len(app.clicks) != 0 {
		t.Errorf("%d submissions reached the app", len(app.clicks))
	}
	if views := s.Views("U0BOB"); len(views) != 1 || views[0].ID != v.ID {
		t.Errorf("views %+v, want only %s open", views, v.ID)
	}
}

func TestCloseView(t *testing.T) {
	s, api := start(t, Options{})
	app := newBotApp(t, s, nil, nil)
	v := openReasonModal(t, s, api, app, "U0BOB")
	changes, stop := s.Subscribe()
	defer stop()

	if err := s.CloseView("U0ALICE", v.ID); err == nil || !strings.Contains(err.Error(), "open for U0BOB, not U0ALICE") {
		t.Errorf("closing Bob's view as Alice: %v", err)
	}
	if err := s.CloseView("U0BOB", v.ID); err != nil {
		t.Fatal(err)
	}
	if views := s.Views("U0BOB"); len(views) != 0 {
		t.Errorf("still open: %+v", views)
	}
	select {
	case c := <-changes:
		if c.Kind != ChangeViewClosed || c.View.ID != v.ID || c.View.User != "U0BOB" {
			t.Errorf("change %s %+v", c.Kind, c.View)
		}
	case <-testContext(t).Done():
		t.Error("no change")
	}
	if err := s.CloseView("U0BOB", v.ID); err == nil || !strings.Contains(err.Error(), "no open view") {
		t.Errorf("closing twice: %v", err)
	}
	if len(app.clicks) != 0 {
		t.Errorf("closing sent %d payloads to the app", len(app.clicks))
	}
}

func TestWaitViewGivesUpWithWhatItSaw(t *testing.T) {
	s, api := start(t, Options{})
	app := newBotApp(t, s, nil, nil)
	openReasonModal(t, s, api, app, "U0BOB")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := s.WaitView(ctx, "U0BOB", func(v View) bool { return v.CallbackID == "something_else" })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `"Reject M1" (callback_id "reject_reason")`) {
		t.Errorf("error %v, want a deadline naming the view seen", err)
	}
}

// Blocks sent without ids get made-up ones, the same in every place the
// app or the page sees them.
func TestBlocksWithIDs(t *testing.T) {
	v := View{Blocks: json.RawMessage(`[{"type":"divider"},{"type":"input","label":{"type":"plain_text","text":"Why"},"element":{"type":"plain_text_input"}},{"type":"input","block_id":"b","label":{"type":"plain_text","text":"Note"},"element":{"type":"plain_text_input","action_id":"a"}}]`)}
	want := `[{"block_id":"fakeslack-block-0","type":"divider"},` +
		`{"block_id":"fakeslack-block-1","element":{"action_id":"fakeslack-action-1","type":"plain_text_input"},"label":{"type":"plain_text","text":"Why"},"type":"input"},` +
		`{"block_id":"b","element":{"type":"plain_text_input","action_id":"a"},"label":{"type":"plain_text","text":"Note"},"type":"input"}]`
	if got := string(v.BlocksWithIDs()); got != want {
		t.Errorf("BlocksWithIDs =\n%s\nwant\n%s", got, want)
	}
}

// The view_submission payload, byte for byte, for the bot's authors to read:
// testdata/view-submission.golden.json (rewrite it with -update).
func TestViewSubmissionPayloadGolden(t *testing.T) {
	frozen := time.Unix(1764000000, 0)
	s, api := start(t, Options{Now: func() time.Time { return frozen }})
	s.mu.Lock()
	trigger := s.triggerIDLocked("U0BOB")
	s.mu.Unlock()
	resp, err := api.OpenViewContext(testContext(t), trigger, reasonModal())
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	payload, _, err := s.viewSubmissionLocked("U0BOB", resp.View.ID, map[string]string{"reason": "renews by phone"})
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, payload, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", "view-submission.golden.json")
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update to write it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("the view_submission payload changed; if that is right, run go test -update:\n%s", pretty.Bytes())
	}
}
