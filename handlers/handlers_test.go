package handlers

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/kaizalabot/kaizalabot/fakeslack"
)

// recordingBot remembers what reached it.
type recordingBot struct {
	mu       sync.Mutex
	commands []slack.SlashCommand
	clicks   []slack.InteractionCallback
	homes    []string // "user@team" of each app_home_opened
	panic    bool
}

func (b *recordingBot) AppHomeOpened(_ context.Context, userID, teamID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.homes = append(b.homes, userID+"@"+teamID)
}

func (b *recordingBot) Command(_ context.Context, cmd slack.SlashCommand) *slack.Msg {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.panic {
		panic("boom")
	}
	b.commands = append(b.commands, cmd)
	return &slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: "ok: " + cmd.Text}
}

// Interaction answers a submitted dialog with an error under its field, so
// the tests see the answer travel back.
func (b *recordingBot) Interaction(_ context.Context, ic slack.InteractionCallback) *slack.ViewSubmissionResponse {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clicks = append(b.clicks, ic)
	if ic.Type == slack.InteractionTypeViewSubmission {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{"reason": "say why"})
	}
	return nil
}

const secret = "handler-test-secret-0123456789abcdef"

func signedPost(t *testing.T, h http.Handler, path, contentType, body string) (int, string) {
	t.Helper()
	now := time.Now()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("X-Slack-Signature", fakeslack.Sign(secret, now, []byte(body)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestHandlerParsesOnlyWhatIsWellFormed(t *testing.T) {
	b := &recordingBot{}
	log := logrus.New()
	log.SetOutput(io.Discard)
	h := (&Handler{Bot: b, SigningSecret: secret, Log: log}).Routes()
	form := "application/x-www-form-urlencoded"
	good := url.Values{"command": {"/kaizala"}, "text": {"list 30"}, "user_id": {"U1"}, "user_name": {"u"}, "channel_id": {"C1"}}.Encode()
	for _, tc := range []struct {
		name, path, ctype, body string
		want                    int
		contains                string
	}{
		{"a command", "/slack/commands", form, good, 200, "ok: list 30"},
		{"a command without a user", "/slack/commands", form, "command=%2Fkaizala&text=x", 400, "malformed"},
		{"not a form", "/slack/commands", "application/json", `{"command":"/kaizala"}`, 400, "malformed"},
		{"an interaction", "/slack/interactions", form, "payload=" + url.QueryEscape(`{"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"a"}]}`), 200, ""},
		{"a dialog's submission is answered", "/slack/interactions", form, "payload=" + url.QueryEscape(`{"type":"view_submission","user":{"id":"U1"},"view":{"callback_id":"c"}}`), 200, `"response_action":"errors"`},
		{"malformed interaction JSON", "/slack/interactions", form, "payload=%7Bnope", 400, "malformed"},
		{"no payload", "/slack/interactions", form, "x=1", 400, "malformed"},
		{"url_verification", "/slack/events", "application/json", `{"type":"url_verification","challenge":"abc123"}`, 200, `"challenge":"abc123"`},
		{"another event", "/slack/events", "application/json", `{"type":"event_callback","event":{"type":"app_mention"}}`, 200, ""},
		{"malformed event", "/slack/events", "application/json", `not json`, 400, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := signedPost(t, h, tc.path, tc.ctype, tc.body)
			if code != tc.want || !strings.Contains(body, tc.contains) {
				t.Errorf("HTTP %d %q, want %d containing %q", code, body, tc.want, tc.contains)
			}
		})
	}
	if len(b.commands) != 1 || len(b.clicks) != 2 {
		t.Errorf("the bot saw %d commands and %d clicks; malformed requests must not reach it", len(b.commands), len(b.clicks))
	}

	b.panic = true
	if code, body := signedPost(t, h, "/slack/commands", form, good); code != 200 || !strings.Contains(body, "went wrong") {
		t.Errorf("a panicking command: HTTP %d %q; want 200 with an apology", code, body)
	}
}

func TestSocketModeDispatchesToTheSameBot(t *testing.T) {
	b := &recordingBot{}
	client := socketmode.New(slack.New("xoxb-test", slack.OptionAppLevelToken("xapp-test")))
	log := logrus.New()
	log.SetOutput(io.Discard)
	ctx := context.Background()
	gate := deliveryGate{memory: NewMemoryDeliveries(DeliveryTTL), log: log}
	command := socketmode.Event{Type: socketmode.EventTypeSlashCommand,
		Data: slack.SlashCommand{Command: "/kaizala", Text: "help", UserID: "U1", TriggerID: "t1"}, Request: &socketmode.Request{EnvelopeID: "e1"}}
	click := socketmode.Event{Type: socketmode.EventTypeInteractive,
		Data: slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "U2"}, TriggerID: "t2"}, Request: &socketmode.Request{EnvelopeID: "e2"}}
	dispatchSocketEvent(ctx, client, b, log, gate, command)
	dispatchSocketEvent(ctx, client, b, log, gate, click)
	dispatchSocketEvent(ctx, client, b, log, gate, socketmode.Event{Type: socketmode.EventTypeConnected})
	// Slack sends an envelope again when the ack was late: it runs once.
	for _, again := range []socketmode.Event{command, click} {
		again.Request = &socketmode.Request{EnvelopeID: again.Request.EnvelopeID + "-again", RetryAttempt: 1, RetryReason: "timeout"}
		dispatchSocketEvent(ctx, client, b, log, gate, again)
	}
	if len(b.commands) != 1 || b.commands[0].Text != "help" || len(b.clicks) != 1 || b.clicks[0].User.ID != "U2" {
		t.Errorf("commands %+v, clicks %+v", b.commands, b.clicks)
	}
}

func TestWithoutASigningSecretNothingIsAcceptedOverHTTP(t *testing.T) {
	b := &recordingBot{}
	h := (&Handler{Bot: b, Log: logrus.New()}).Routes()
	body := url.Values{"command": {"/kaizala"}, "text": {"help"}, "user_id": {"U1"}}.Encode()
	now := time.Now()
	req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("X-Slack-Signature", fakeslack.Sign("", now, []byte(body))) // signed with the empty key
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || len(b.commands) != 0 {
		t.Errorf("HTTP %d, commands %d: a request signed with an empty key must be refused", rec.Code, len(b.commands))
	}
}

func TestEventsReachTheBotOnlyForTheHomeTab(t *testing.T) {
	b := &recordingBot{}
	h := (&Handler{Bot: b, SigningSecret: secret, Log: quiet()}).Routes()
	event := func(id, inner string) string {
		return `{"type":"event_callback","team_id":"T1","api_app_id":"A1","event_id":"` + id + `","event_time":1,"event":` + inner + `}`
	}
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"the Home tab opened", event("Ev1", `{"type":"app_home_opened","user":"U1","channel":"D1","tab":"home","event_ts":"1.2"}`), []string{"U1@T1"}},
		{"Slack sends it again", event("Ev1", `{"type":"app_home_opened","user":"U1","channel":"D1","tab":"home","event_ts":"1.2"}`), nil},
		{"the Messages tab opened", event("Ev2", `{"type":"app_home_opened","user":"U1","channel":"D1","tab":"messages","event_ts":"1.3"}`), nil},
		{"another event", event("Ev3", `{"type":"app_mention","user":"U1","text":"hi"}`), nil},
		{"a Home event outside an event_callback", `{"type":"app_rate_limited","team_id":"T1","event":{"type":"app_home_opened","user":"U1","tab":"home"}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.homes = nil
			if code, body := signedPost(t, h, "/slack/events", "application/json", tc.body); code != 200 || body != "" {
				t.Errorf("HTTP %d %q, want an empty 200", code, body)
			}
			if !slices.Equal(b.homes, tc.want) {
				t.Errorf("the bot was told of Home tabs %v, want %v", b.homes, tc.want)
			}
		})
	}
}

func TestSocketModeHandsTheHomeTabToTheBot(t *testing.T) {
	b := &recordingBot{}
	client := socketmode.New(slack.New("xoxb-test", slack.OptionAppLevelToken("xapp-test")))
	gate := deliveryGate{memory: NewMemoryDeliveries(DeliveryTTL), log: quiet()}
	raw := []byte(`{"type":"event_callback","team_id":"T1","api_app_id":"A1","event_id":"Ev9","event":{"type":"app_home_opened","user":"U1","channel":"D1","tab":"home","event_ts":"1.2"}}`)
	parsed, err := slackevents.ParseEvent(raw, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	home := socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: parsed, Request: &socketmode.Request{EnvelopeID: "e1", Type: "events_api"}}
	dispatchSocketEvent(context.Background(), client, b, quiet(), gate, home)
	again := home
	again.Request = &socketmode.Request{EnvelopeID: "e1-again", Type: "events_api", RetryAttempt: 1, RetryReason: "timeout"}
	dispatchSocketEvent(context.Background(), client, b, quiet(), gate, again)
	if !slices.Equal(b.homes, []string{"U1@T1"}) {
		t.Errorf("the bot was told of Home tabs %v, want [U1@T1] once", b.homes)
	}
}
