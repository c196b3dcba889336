package fakeslack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

const testAppToken = "xapp-1-A0FAKEAPP-test"

// socketApp is a tiny app under test on Socket Mode: slack-go's own client
// connected to the fake, handing every envelope to the test and acking it
// as answer says.
type socketApp struct {
	events chan socketmode.Event
	api    *slack.Client
}

// answer returns an ack's payload (nil for none), or ack false to stay silent.
type answer func(socketmode.Event) (payload any, ack bool)

func ackEmpty(socketmode.Event) (any, bool) { return nil, true }

func newSocketApp(t *testing.T, s *Server, reply answer) *socketApp {
	t.Helper()
	api := slack.New(s.opts.BotToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(s.appToken()))
	client := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	app := &socketApp{events: make(chan socketmode.Event, 10), api: api}
	go func() { _ = client.RunContext(ctx) }()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-client.Events:
				if evt.Request == nil || evt.Type == socketmode.EventTypeHello {
					continue
				}
				app.events <- evt
				if payload, ack := reply(evt); ack {
					_ = client.Ack(*evt.Request, payload)
				}
			}
		}
	}()
	if err := s.WaitSocket(testContext(t), 1); err != nil {
		t.Fatal(err)
	}
	return app
}

func startSocketMode(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.SocketMode = true
	if opts.AppToken == "" {
		opts.AppToken = testAppToken
	}
	s, _ := start(t, opts)
	return s
}

// connectionsOpen calls apps.connections.open with a raw request.
func connectionsOpen(t *testing.T, s *Server, header, form string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.APIURL()+"apps.connections.open", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatalf("apps.connections.open answered no JSON: %v", err)
	}
	return answer
}

func TestAppsConnectionsOpen(t *testing.T) {
	tests := []struct {
		name         string
		opts         Options
		header, form string
		wantError    string // "" for ok
	}{
		{"the app-level token", Options{SocketMode: true, AppToken: testAppToken}, "Bearer " + testAppToken, "", ""},
		{"the default app-level token", Options{SocketMode: true}, "Bearer " + DefaultAppToken, "", ""},
		{"no token", Options{SocketMode: true}, "", "", "not_authed"},
		{"the token as a POST parameter", Options{SocketMode: true, AppToken: testAppToken}, "", "token=" + testAppToken, "not_authed"},
		{"the bot token", Options{SocketMode: true}, "Bearer " + DefaultBotToken, "", "not_allowed_token_type"},
		{"another app's token", Options{SocketMode: true, AppToken: testAppToken}, "Bearer xapp-1-A0OTHER-x", "", "invalid_auth"},
		{"Socket Mode off", Options{}, "Bearer " + DefaultAppToken, "", "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := start(t, tt.opts)
			got := connectionsOpen(t, s, tt.header, tt.form)
			if tt.wantError != "" {
				if got["ok"] != false || got["error"] != tt.wantError || got["url"] != nil {
					t.Errorf("answer %v, want error %s", got, tt.wantError)
				}
				return
			}
			u, err := url.Parse(got["url"].(string))
			if got["ok"] != true || err != nil || u.Scheme != "ws" || u.Host != strings.TrimPrefix(s.URL(), "http://") ||
				u.Path != "/link/" || u.Query().Get("ticket") == "" || u.Query().Get("app_id") != AppID {
				t.Errorf("answer %v", got)
			}
			if n := s.Calls("apps.connections.open"); n != 1 {
				t.Errorf("Calls(apps.connections.open) = %d", n)
			}
		})
	}

	// slack-go's client reads the same answers.
	s := startSocketMode(t, Options{})
	if _, wsURL, err := slack.New("", slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(testAppToken)).StartSocketModeContext(testContext(t)); err != nil || !strings.HasPrefix(wsURL, "ws://") {
		t.Errorf("StartSocketModeContext: %q, %v", wsURL, err)
	}
	s.FailNext("apps.connections.open", "ratelimited")
	if _, _, err := slack.New("", slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(testAppToken)).StartSocketModeContext(testContext(t)); err == nil || err.Error() != "ratelimited" {
		t.Errorf("an injected failure: %v", err)
	}
}

// The wire as Slack documents it, read with a bare WebSocket client.
func TestSocketModeOnTheWire(t *testing.T) {
	s := startSocketMode(t, Options{ChannelNames: map[string]string{"C0SALES": "sales"}})
	wsURL := connectionsOpen(t, s, "Bearer "+testAppToken, "")["url"].(string)
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {"https://api.slack.com"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hello map[string]any
	if err := ws.ReadJSON(&hello); err != nil {
		t.Fatal(err)
	}
	if hello["type"] != "hello" || hello["num_connections"] != 1.0 || hello["connection_info"].(map[string]any)["app_id"] != AppID {
		t.Errorf("hello %v", hello)
	}
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a used URL dialed again: %v", err)
	}
	if err := s.WaitSocket(testContext(t), 1); err != nil {
		t.Fatal(err)
	}

	type result struct {
		reply Reply
		err   error
	}
	done := make(chan result, 1)
	go func() {
		reply, err := s.Command(testContext(t), "U0ALICE", "C0SALES", "list")
		done <- result{reply, err}
	}()
	var env struct {
		EnvelopeID             string            `json:"envelope_id"`
		Type                   string            `json:"type"`
		Payload                map[string]string `json:"payload"`
		AcceptsResponsePayload bool              `json:"accepts_response_payload"`
		RetryAttempt           *int              `json:"retry_attempt"`
		RetryReason            *string           `json:"retry_reason"`
	}
	if err := ws.ReadJSON(&env); err != nil {
		t.Fatal(err)
	}
	p := env.Payload
	if env.EnvelopeID == "" || env.Type != "slash_commands" || !env.AcceptsResponsePayload || env.RetryAttempt == nil || *env.RetryAttempt != 0 ||
		env.RetryReason == nil || *env.RetryReason != "" {
		t.Errorf("envelope %+v", env)
	}
	if p["command"] != DefaultCommand || p["text"] != "list" || p["user_id"] != "U0ALICE" || p["user_name"] != "alice" || p["channel_id"] != "C0SALES" ||
		p["channel_name"] != "sales" || p["team_id"] != DefaultTeamID || p["api_app_id"] != AppID || p["trigger_id"] == "" ||
		!strings.HasPrefix(p["response_url"], s.URL()+"/response/") {
		t.Errorf("payload %v", p)
	}
	if err := ws.WriteJSON(map[string]any{"envelope_id": env.EnvelopeID, "payload": map[string]string{"text": "3 renewals due"}}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.reply.Status != http.StatusOK || string(r.reply.Body) != `{"text":"3 renewals due"}` || r.reply.Latency <= 0 {
		t.Errorf("reply %+v %s, %v", r.reply, r.reply.Body, r.err)
	}
	if eph := s.Ephemerals("U0ALICE"); len(eph) != 1 || eph[0].Text != "3 renewals due" {
		t.Errorf("ephemerals %+v", eph)
	}

	// A disconnect as Slack sends it; Close then ends the connection.
	if n := s.DisconnectSockets(DisconnectRefreshRequested); n != 1 {
		t.Errorf("DisconnectSockets told %d connections", n)
	}
	var bye map[string]any
	if err := ws.ReadJSON(&bye); err != nil || bye["type"] != "disconnect" || bye["reason"] != "refresh_requested" {
		t.Errorf("disconnect %v, %v", bye, err)
	}
	_ = s.Close()
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Error("the connection is still open after Close")
	}
}

func TestSocketModeCommandAckIsTheReply(t *testing.T) {
	tests := []struct {
		name       string
		payload    any
		ephemerals []string // texts shown to the user
		channel    []string // texts in the channel, "user: text"
	}{
		{"ephemeral", slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: "hi"}, []string{"hi"}, nil},
		{"in_channel", slack.Msg{ResponseType: slack.ResponseTypeInChannel, Text: "3 renewals due"},
			nil, []string{"U0ALICE: /kaizala list", BotUserID + ": 3 renewals due"}},
		{"no payload", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSocketMode(t, Options{ChannelNames: map[string]string{"C0SALES": "sales"}})
			app := newSocketApp(t, s, func(socketmode.Event) (any, bool) { return tt.payload, true })
			reply, err := s.Command(testContext(t), "U0ALICE", "C0SALES", "list")
			if err != nil || reply.Status != http.StatusOK {
				t.Fatalf("Command: %+v, %v", reply, err)
			}
			evt := receive(t, app.events)
			cmd, ok := evt.Data.(slack.SlashCommand)
			if evt.Type != socketmode.EventTypeSlashCommand || !ok || evt.Request.RetryAttempt != 0 {
				t.Fatalf("event %+v", evt)
			}
			want := slack.SlashCommand{
				TeamID: DefaultTeamID, TeamDomain: TeamDomain, ChannelID: "C0SALES", ChannelName: "sales",
				UserID: "U0ALICE", UserName: "alice", Command: DefaultCommand, Text: "list", APIAppID: AppID,
			}
			cmd.ResponseURL, cmd.TriggerID, cmd.Token = "", "", ""
			if cmd != want {
				t.Errorf("command %+v, want %+v", cmd, want)
			}
			var eph, channel []string
			for _, m := range s.Ephemerals("U0ALICE") {
				eph = append(eph, m.Text)
			}
			for _, m := range s.Messages("C0SALES") {
				channel = append(channel, m.User+": "+m.Text)
			}
			if strings.Join(eph, "|") != strings.Join(tt.ephemerals, "|") || strings.Join(channel, "|") != strings.Join(tt.channel, "|") {
				t.Errorf("ephemerals %q, channel %q; want %q, %q", eph, channel, tt.ephemerals, tt.channel)
			}
		})
	}
}

// A click arrives as an interactive envelope; a view_submission's ack
// payload is its response_action.
func TestSocketModeClickAndSubmitView(t *testing.T) {
	s := startSocketMode(t, Options{})
	answers := make(chan any, 1)
	app := newSocketApp(t, s, func(evt socketmode.Event) (any, bool) {
		select {
		case a := <-answers:
			return a, true
		default:
			return nil, true
		}
	})
	ctx := testContext(t)
	_, ts, err := app.api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("card", false), slack.MsgOptionBlocks(approvalBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	card, _ := s.Message("C0SALES", ts)
	if _, err := s.Click(ctx, "U0BOB", card, "deny"); err != nil {
		t.Fatal(err)
	}
	evt := receive(t, app.events)
	ic, _ := evt.Data.(slack.InteractionCallback)
	if evt.Type != socketmode.EventTypeInteractive || ic.Type != slack.InteractionTypeBlockActions || ic.User.ID != "U0BOB" ||
		len(ic.ActionCallback.BlockActions) != 1 || ic.ActionCallback.BlockActions[0].ActionID != "deny" || ic.Message.Timestamp != ts {
		t.Fatalf("event %s %+v", evt.Type, ic)
	}
	resp, err := app.api.OpenViewContext(ctx, ic.TriggerID, reasonModal())
	if err != nil {
		t.Fatal(err)
	}
	v := s.Views("U0BOB")[0]

	answers <- slack.NewErrorsViewSubmissionResponse(map[string]string{"reason_block": "The plan started meanwhile."})
	if _, err := s.SubmitView(ctx, "U0BOB", v, map[string]string{"reason": "too expensive"}); err != nil {
		t.Fatal(err)
	}
	evt = receive(t, app.events)
	if sub, _ := evt.Data.(slack.InteractionCallback); sub.Type != slack.InteractionTypeViewSubmission || sub.View.ID != resp.View.ID ||
		sub.View.State.Values["reason_block"]["reason"].Value != "too expensive" {
		t.Errorf("submission %+v", sub)
	}
	if views := s.Views("U0BOB"); len(views) != 1 || views[0].Errors["reason_block"] != "The plan started meanwhile." {
		t.Errorf("after errors: %+v", views)
	}
	if _, err := s.SubmitView(ctx, "U0BOB", v, map[string]string{"reason": "too expensive"}); err != nil {
		t.Fatal(err)
	}
	receive(t, app.events)
	if views := s.Views("U0BOB"); len(views) != 0 {
		t.Errorf("an empty ack left the view open: %+v", views)
	}
}

// The route events take: a JSON body for the Events API URL becomes an
// events_api envelope, which accepts no response payload.
func TestSocketModeEventsAPI(t *testing.T) {
	s := startSocketMode(t, Options{})
	app := newSocketApp(t, s, ackEmpty)
	body := `{"type":"event_callback","team_id":"T0FAKE","api_app_id":"A0FAKEAPP","event_id":"Ev1","event_time":1,` +
		`"event":{"type":"app_home_opened","user":"U0ALICE","channel":"D0ALICE","tab":"home","event_ts":"1.000001"}}`
	if _, err := s.send(testContext(t), "/slack/events", "application/json", []byte(body), time.Now()); err != nil {
		t.Fatal(err)
	}
	evt := receive(t, app.events)
	ev, _ := evt.Data.(slackevents.EventsAPIEvent)
	if evt.Type != socketmode.EventTypeEventsAPI || evt.Request.AcceptsResponsePayload || ev.InnerEvent.Type != "app_home_opened" {
		t.Errorf("event %s %+v (accepts a payload: %v)", evt.Type, ev, evt.Request.AcceptsResponsePayload)
	}
	if envs := s.Envelopes(); len(envs) != 1 || envs[0].Type != EnvelopeEventsAPI || !envs[0].Acked {
		t.Errorf("envelopes %+v", envs)
	}
}

func TestSocketModeRedeliversAfterALateAck(t *testing.T) {
	s := startSocketMode(t, Options{AckTimeout: 200 * time.Millisecond})
	acks := 0
	app := newSocketApp(t, s, func(socketmode.Event) (any, bool) {
		acks++
		return slack.Msg{Text: "answer " + string(rune('0'+acks))}, true
	})
	s.IgnoreNextAck()
	reply, err := s.Command(testContext(t), "U0ALICE", "C0SALES", "list")
	if err != nil {
		t.Fatal(err)
	}
	first, again := receive(t, app.events), receive(t, app.events)
	if first.Request.EnvelopeID != again.Request.EnvelopeID || first.Request.RetryAttempt != 0 || first.Request.RetryReason != "" ||
		again.Request.RetryAttempt != 1 || again.Request.RetryReason != "timeout" {
		t.Errorf("deliveries %+v then %+v", first.Request, again.Request)
	}
	if !strings.Contains(string(reply.Body), "answer 2") || reply.Latency < 200*time.Millisecond {
		t.Errorf("reply %s after %v: want the answer in time, the second", reply.Body, reply.Latency)
	}
	envs := s.Envelopes()
	if len(envs) != 2 || envs[0].Acked || !strings.Contains(string(envs[0].Ack), "answer 1") ||
		!envs[1].Acked || envs[1].RetryAttempt != 1 || !strings.Contains(string(envs[1].Ack), "answer 2") {
		t.Errorf("envelopes %+v", envs)
	}
}

func TestSocketModeGivesUpWithoutAnAck(t *testing.T) {
	s := startSocketMode(t, Options{AckTimeout: 30 * time.Millisecond})
	newSocketApp(t, s, func(socketmode.Event) (any, bool) { return nil, false })
	_, err := s.Command(testContext(t), "U0ALICE", "C0SALES", "list")
	if err == nil || !strings.Contains(err.Error(), "acknowledged none of the 4 deliveries") {
		t.Errorf("Command: %v", err)
	}
	envs := s.Envelopes()
	for i, e := range envs {
		if e.RetryAttempt != i || e.Acked || e.ID != envs[0].ID {
			t.Errorf("envelope %d: %+v", i, e)
		}
	}
	if len(envs) != 4 {
		t.Errorf("%d deliveries, want 4", len(envs))
	}
}

func TestSocketModeReconnectsAfterDisconnect(t *testing.T) {
	s := startSocketMode(t, Options{})
	newSocketApp(t, s, func(socketmode.Event) (any, bool) { return slack.Msg{Text: "still here"}, true })
	if n := s.DisconnectSockets(DisconnectRefreshRequested); n != 1 {
		t.Fatalf("DisconnectSockets told %d connections", n)
	}
	if err := s.WaitSocket(testContext(t), 2); err != nil {
		t.Fatal(err)
	}
	if n := s.Calls("apps.connections.open"); n != 2 {
		t.Errorf("apps.connections.open called %d times", n)
	}
	reply, err := s.Command(testContext(t), "U0ALICE", "C0SALES", "list")
	if err != nil || !strings.Contains(string(reply.Body), "still here") {
		t.Fatalf("after reconnecting: %s, %v", reply.Body, err)
	}
	if envs := s.Envelopes(); len(envs) != 1 || envs[0].Connection != 2 {
		t.Errorf("envelopes %+v: want one, on the new connection", envs)
	}
}

func TestSocketModeWithoutAConnection(t *testing.T) {
	s := startSocketMode(t, Options{AckTimeout: 50 * time.Millisecond})
	_, err := s.Command(testContext(t), "U0ALICE", "C0SALES", "list")
	if err == nil || !strings.Contains(err.Error(), "no open connection") {
		t.Errorf("Command: %v", err)
	}
	if len(s.Envelopes()) != 0 {
		t.Errorf("envelopes %+v", s.Envelopes())
	}
}

// Slack pings; slack-go reconnects when a ping is late.
func TestSocketModePingsKeepTheConnection(t *testing.T) {
	s := startSocketMode(t, Options{})
	s.socket.mu.Lock()
	s.socket.pingEvery = 50 * time.Millisecond
	s.socket.mu.Unlock()
	api := slack.New(s.opts.BotToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(testAppToken))
	client := socketmode.New(api, socketmode.OptionPingInterval(300*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = client.RunContext(ctx) }()
	go func() {
		for range client.Events {
		}
	}()
	if err := s.WaitSocket(testContext(t), 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if n := s.Calls("apps.connections.open"); n != 1 {
		t.Errorf("the client reconnected: apps.connections.open called %d times", n)
	}
}
