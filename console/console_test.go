package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/fakeslack"
)

const (
	alerts   = "C0ALERTS"
	digest   = "C0DIGEST"
	sales    = "U0SALES"
	approver = "U0APPROVER"
)

var (
	testPersonas = []Persona{{sales, "Sam Sales", "Salesperson"}, {approver, "Ada Approver", "Approver"}}
	testChannels = []ChannelInfo{{alerts, "kaizala-alerts"}, {digest, "kaizala-digest"}}
)

// fixture is a console over a real fake Slack, driving a tiny bot that
// answers every command with an ephemeral and records what it receives.
type fixture struct {
	slack   *fakeslack.Server
	console *httptest.Server
	bot     *recordingBot
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	bot := &recordingBot{}
	botServer := httptest.NewServer(bot)
	t.Cleanup(botServer.Close)
	s := fakeslack.New(fakeslack.Options{
		AppURL:       botServer.URL,
		Users:        []fakeslack.User{{ID: sales, Name: "sam"}, {ID: approver, Name: "ada"}},
		ChannelNames: map[string]string{alerts: "kaizala-alerts", digest: "kaizala-digest"},
	})
	if _, err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := httptest.NewServer(New(Options{Slack: s, Personas: testPersonas, Channels: testChannels, Title: "test workspace"}))
	t.Cleanup(c.Close)
	return &fixture{slack: s, console: c, bot: bot}
}

// recordingBot verifies nothing: it answers commands with an ephemeral
// echo and records commands, clicks and modal submissions.
type recordingBot struct {
	mu          sync.Mutex
	commands    []url.Values
	clicks      []clickPayload
	submissions []submissionPayload
	viewAnswers []string // bodies for the next submissions; then an empty 200, which closes the modal
}

// clickPayload is the part of a block_actions payload the tests read.
type clickPayload struct {
	TriggerID string              `json:"trigger_id"`
	User      struct{ ID string } `json:"user"`
	Container struct {
		MessageTS string `json:"message_ts"`
	} `json:"container"`
	Actions []struct {
		ActionID       string        `json:"action_id"`
		Value          string        `json:"value"`
		SelectedOption *optionChosen `json:"selected_option"`
	} `json:"actions"`
	State struct {
		Values map[string]map[string]struct {
			SelectedOption *optionChosen `json:"selected_option"`
		} `json:"values"`
	} `json:"state"`
}

type optionChosen struct{ Value string }

// submissionPayload is the part of a view_submission payload the tests read.
type submissionPayload struct {
	User struct{ ID string } `json:"user"`
	View struct {
		ID         string `json:"id"`
		CallbackID string `json:"callback_id"`
		State      struct {
			Values map[string]map[string]struct {
				Value *string `json:"value"`
			} `json:"values"`
		} `json:"state"`
	} `json:"view"`
}

// answerNextSubmission makes the bot answer the next modal submission with body.
func (b *recordingBot) answerNextSubmission(body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.viewAnswers = append(b.viewAnswers, body)
}

func (b *recordingBot) submitted() []submissionPayload {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]submissionPayload(nil), b.submissions...)
}

func (b *recordingBot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch r.URL.Path {
	case fakeslack.CommandsPath:
		b.commands = append(b.commands, r.PostForm)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"response_type": "ephemeral", "text": "You typed: " + r.PostForm.Get("text")})
	case fakeslack.InteractionsPath:
		payload := []byte(r.PostForm.Get("payload"))
		var kind struct{ Type string }
		if err := json.Unmarshal(payload, &kind); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if kind.Type == "view_submission" {
			var p submissionPayload
			_ = json.Unmarshal(payload, &p) // it decoded once already
			b.submissions = append(b.submissions, p)
			if len(b.viewAnswers) > 0 {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, b.viewAnswers[0])
				b.viewAnswers = b.viewAnswers[1:]
			}
			return
		}
		var p clickPayload
		if err := json.Unmarshal(payload, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b.clicks = append(b.clicks, p)
	default:
		http.NotFound(w, r)
	}
}

func (b *recordingBot) recorded() ([]url.Values, []clickPayload) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]url.Values(nil), b.commands...), append([]clickPayload(nil), b.clicks...)
}

// slackCall calls a Web API method of the fake as the bot does and returns
// its answer, failing the test on ok:false.
func slackCall(t *testing.T, s *fakeslack.Server, method string, args map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(args)
	req, _ := http.NewRequest(http.MethodPost, s.APIURL()+method, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+fakeslack.DefaultBotToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer["ok"] != true {
		t.Fatalf("%s: %v %v", method, answer, err)
	}
	return answer
}

func post(t *testing.T, s *fakeslack.Server, channel, text string, extra map[string]any) string {
	t.Helper()
	args := map[string]any{"channel": channel, "text": text}
	for k, v := range extra {
		args[k] = v
	}
	return slackCall(t, s, "chat.postMessage", args)["ts"].(string)
}

func postEphemeral(t *testing.T, s *fakeslack.Server, channel, user, text string, extra map[string]any) string {
	t.Helper()
	args := map[string]any{"channel": channel, "user": user, "text": text}
	for k, v := range extra {
		args[k] = v
	}
	return slackCall(t, s, "chat.postEphemeral", args)["message_ts"].(string)
}

// alertBlocks is an alert like the bot's: a menu of plans and a button.
const alertBlocks = `[
 {"type":"header","text":{"type":"plain_text","text":":warning: Kaizala Pro ends in 12 days"}},
 {"type":"actions","block_id":"kaizala_alert:SUB1","elements":[
  {"type":"static_select","action_id":"kaizala_target","placeholder":{"type":"plain_text","text":"Choose a replacement plan"},
   "initial_option":{"text":{"type":"plain_text","text":"Office 365 E1"},"value":"STANDARDPACK"},
   "options":[{"text":{"type":"plain_text","text":"Office 365 E1"},"value":"STANDARDPACK"},
              {"text":{"type":"plain_text","text":"Microsoft 365 Business Premium"},"value":"SPB"}]},
  {"type":"button","action_id":"kaizala_plan","style":"primary","text":{"type":"plain_text","text":"Plan migration"},"value":"SUB1"}]}
]`

// reasonView is a modal like the bot's reject dialog: text, a required
// multiline reason with lengths, an optional note, and markup in its title
// that must stay text.
const reasonView = `{"type":"modal","callback_id":"kaizala_reject_reason","private_metadata":"{\"migration\":\"M1\"}",
 "title":{"type":"plain_text","text":"Reject <b>M1</b>"},
 "submit":{"type":"plain_text","text":"Reject"},"close":{"type":"plain_text","text":"Keep it"},
 "blocks":[
  {"type":"section","text":{"type":"mrkdwn","text":"*Reject migration M1?* Nothing was bought."}},
  {"type":"input","block_id":"kaizala_reason","label":{"type":"plain_text","text":"Reason"},
   "hint":{"type":"plain_text","text":"The requester sees it."},
   "element":{"type":"plain_text_input","action_id":"kaizala_reason","multiline":true,"min_length":3,"max_length":30,
              "placeholder":{"type":"plain_text","text":"e.g. renews by phone"}}},
  {"type":"input","block_id":"kaizala_note","optional":true,"label":{"type":"plain_text","text":"Note"},
   "element":{"type":"plain_text_input","action_id":"kaizala_note"}}
 ]}`

// openModal opens view for user as the bot will: user clicks a card, and
// the bot calls views.open with the click's trigger_id. It returns the
// view's id.
func openModal(t *testing.T, f *fixture, user, view string) string {
	t.Helper()
	ts := post(t, f.slack, alerts, "a plan", map[string]any{"blocks": json.RawMessage(alertBlocks)})
	card, _ := f.slack.Message(alerts, ts)
	if _, err := f.slack.Click(context.Background(), user, card, "kaizala_plan"); err != nil {
		t.Fatal(err)
	}
	_, clicks := f.bot.recorded()
	answer := slackCall(t, f.slack, "views.open", map[string]any{"trigger_id": clicks[len(clicks)-1].TriggerID, "view": json.RawMessage(view)})
	return answer["view"].(map[string]any)["id"].(string)
}

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode
}

func postJSON(t *testing.T, u string, body any) (int, map[string]any) {
	t.Helper()
	data, _ := json.Marshal(body)
	return postRaw(t, u, string(data), nil)
}

func postRaw(t *testing.T, u, body string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatalf("POST %s: the answer is not JSON: %v", u, err)
	}
	return resp.StatusCode, answer
}

// outline is a channel's messages as short lines: text, whether ephemeral,
// updates, and the thread's replies.
func outline(ch channelView) []string {
	var lines []string
	for _, m := range ch.Messages {
		line := m.Text
		if m.Ephemeral {
			line += " (only you)"
		}
		if m.Edited {
			line += fmt.Sprintf(" (edited %d)", m.Updates)
		}
		if m.ReplyCount > 0 || len(m.Replies) > 0 {
			var replies []string
			for _, r := range m.Replies {
				replies = append(replies, r.Text+map[bool]string{true: " (only you)"}[r.Ephemeral])
			}
			line += fmt.Sprintf(" [%d replies: %s]", m.ReplyCount, strings.Join(replies, "; "))
		}
		lines = append(lines, line)
	}
	return lines
}

func TestStateShowsChannelsThreadsAndOnlyOwnEphemerals(t *testing.T) {
	f := newFixture(t)
	s := f.slack
	alert := post(t, s, alerts, "Kaizala Pro for Contoso ends in 12 days", map[string]any{"blocks": json.RawMessage(alertBlocks)})
	postEphemeral(t, s, alerts, sales, "only Sam sees this", nil)
	postEphemeral(t, s, alerts, approver, "only Ada sees this", nil)
	post(t, s, alerts, "Approved by Ada; starting.", map[string]any{"thread_ts": alert})
	postEphemeral(t, s, alerts, sales, "Sam's note in the thread", map[string]any{"thread_ts": alert})
	post(t, s, alerts, "a later alert", nil)
	post(t, s, digest, "the digest", nil)
	post(t, s, "C0ELSEWHERE", "not in the sidebar", nil)
	slackCall(t, s, "chat.update", map[string]any{"channel": alerts, "ts": alert, "text": "Kaizala Pro for Contoso: migrating", "blocks": json.RawMessage(alertBlocks)})

	tests := []struct {
		user         string
		alerts, dgst []string
	}{
		{sales, []string{
			"Kaizala Pro for Contoso: migrating (edited 1) [1 replies: Approved by Ada; starting.; Sam's note in the thread (only you)]",
			"only Sam sees this (only you)",
			"a later alert",
		}, []string{"the digest"}},
		{approver, []string{
			"Kaizala Pro for Contoso: migrating (edited 1) [1 replies: Approved by Ada; starting.]",
			"only Ada sees this (only you)",
			"a later alert",
		}, []string{"the digest"}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			var st stateView
			if status := getJSON(t, f.console.URL+"/api/state?user="+tt.user, &st); status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			if st.User != tt.user || st.Title != "test workspace" || st.Command != "/kaizala" || st.Bot.ID != fakeslack.BotUserID || len(st.Personas) != 2 {
				t.Errorf("header: user %q title %q command %q bot %+v personas %+v", st.User, st.Title, st.Command, st.Bot, st.Personas)
			}
			if len(st.Channels) != 2 || st.Channels[0].ID != alerts || st.Channels[0].Name != "kaizala-alerts" || st.Channels[1].ID != digest {
				t.Fatalf("channels: %+v", st.Channels)
			}
			if got := outline(st.Channels[0]); strings.Join(got, "\n") != strings.Join(tt.alerts, "\n") {
				t.Errorf("#kaizala-alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.alerts, "\n"))
			}
			if got := outline(st.Channels[1]); strings.Join(got, "\n") != strings.Join(tt.dgst, "\n") {
				t.Errorf("#kaizala-digest: %q, want %q", got, tt.dgst)
			}
			first := st.Channels[0].Messages[0]
			if first.TS != alert || first.User != fakeslack.BotUserID || first.Time == 0 || !strings.Contains(string(first.Blocks), `"kaizala_plan"`) {
				t.Errorf("the alert: ts %s user %s time %d blocks %s", first.TS, first.User, first.Time, first.Blocks)
			}
		})
	}

	t.Run("default user", func(t *testing.T) {
		var st stateView
		if status := getJSON(t, f.console.URL+"/api/state", &st); status != http.StatusOK || st.User != sales {
			t.Errorf("status %d, user %q; want the first persona", status, st.User)
		}
	})
}

func TestCommandRunsAsTheChosenUser(t *testing.T) {
	f := newFixture(t)
	status, answer := postJSON(t, f.console.URL+"/api/command", map[string]string{"user": approver, "channel": digest, "text": "list 30"})
	if status != http.StatusOK || answer["status"] != float64(http.StatusOK) {
		t.Fatalf("status %d, answer %v", status, answer)
	}
	if _, ok := answer["latencyMs"].(float64); !ok {
		t.Errorf("no latencyMs in %v", answer)
	}
	commands, _ := f.bot.recorded()
	if len(commands) != 1 {
		t.Fatalf("the bot received %d commands", len(commands))
	}
	got := commands[0]
	if got.Get("user_id") != approver || got.Get("channel_id") != digest || got.Get("text") != "list 30" || got.Get("command") != "/kaizala" {
		t.Errorf("the bot received %v", got)
	}

	// The answer is an ephemeral for the approver, in the channel typed in.
	var st stateView
	getJSON(t, f.console.URL+"/api/state?user="+approver, &st)
	if got := outline(st.Channels[1]); len(got) != 1 || got[0] != "You typed: list 30 (only you)" {
		t.Errorf("the approver sees %q in #kaizala-digest", got)
	}
	getJSON(t, f.console.URL+"/api/state?user="+sales, &st)
	if got := outline(st.Channels[1]); len(got) != 0 {
		t.Errorf("the salesperson sees %q in #kaizala-digest", got)
	}
}

func TestClickSendsTheActionAndTheSelection(t *testing.T) {
	f := newFixture(t)
	alert := post(t, f.slack, alerts, "an alert", map[string]any{"blocks": json.RawMessage(alertBlocks)})

	status, answer := postJSON(t, f.console.URL+"/api/click", map[string]any{
		"user": sales, "channel": alerts, "ts": alert, "actionId": "kaizala_plan",
		"selections": map[string]string{"kaizala_target": "SPB"},
	})
	if status != http.StatusOK || answer["status"] != float64(http.StatusOK) {
		t.Fatalf("status %d, answer %v", status, answer)
	}
	_, clicks := f.bot.recorded()
	if len(clicks) != 1 {
		t.Fatalf("the bot received %d clicks", len(clicks))
	}
	c := clicks[0]
	if c.User.ID != sales || c.Container.MessageTS != alert || len(c.Actions) != 1 || c.Actions[0].ActionID != "kaizala_plan" || c.Actions[0].Value != "SUB1" {
		t.Errorf("the bot received %+v", c)
	}
	if sel := c.State.Values["kaizala_alert:SUB1"]["kaizala_target"].SelectedOption; sel == nil || sel.Value != "SPB" {
		t.Errorf("state.values has the selection %+v, want SPB", sel)
	}

	// Choosing in the menu is itself an action, as in Slack.
	status, answer = postJSON(t, f.console.URL+"/api/click", map[string]any{
		"user": approver, "channel": alerts, "ts": alert, "actionId": "kaizala_target",
		"selections": map[string]string{"kaizala_target": "STANDARDPACK"},
	})
	if status != http.StatusOK {
		t.Fatalf("choosing: status %d, answer %v", status, answer)
	}
	_, clicks = f.bot.recorded()
	if c := clicks[len(clicks)-1]; c.User.ID != approver || c.Actions[0].ActionID != "kaizala_target" || c.Actions[0].SelectedOption == nil || c.Actions[0].SelectedOption.Value != "STANDARDPACK" {
		t.Errorf("the bot received %+v", c)
	}
}

func TestEventsStreamChanges(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.console.URL+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	lines := bufio.NewReader(resp.Body)
	readLine := func() string {
		t.Helper()
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		return strings.TrimSuffix(line, "\n")
	}
	// The stream says it is up once it is subscribed; a post after that is seen.
	if line := readLine(); line != ": connected" {
		t.Fatalf("first line %q", line)
	}
	readLine()
	post(t, f.slack, alerts, "news", nil)
	if event, data := readLine(), readLine(); event != "event: changed" || data != `data: {"channel":"C0ALERTS","kind":"message"}` {
		t.Errorf("got %q %q", event, data)
	}
	readLine()
	// A modal is the persona's, in no channel.
	view := openModal(t, f, approver, reasonView)
	readLine()
	readLine()
	readLine() // the card the modal was opened from
	if event, data := readLine(), readLine(); event != "event: changed" || data != `data: {"kind":"view_opened","user":"U0APPROVER"}` {
		t.Errorf("got %q %q", event, data)
	}
	readLine()
	if err := f.slack.CloseView(approver, view); err != nil {
		t.Fatal(err)
	}
	if event, data := readLine(), readLine(); event != "event: changed" || data != `data: {"kind":"view_closed","user":"U0APPROVER"}` {
		t.Errorf("got %q %q", event, data)
	}
	// Going away ends the handler: the console's Close (a cleanup) would
	// otherwise wait for it forever.
	cancel()
}

func TestBadRequestsAreRefusedClearly(t *testing.T) {
	f := newFixture(t)
	alert := post(t, f.slack, alerts, "an alert", map[string]any{"blocks": json.RawMessage(alertBlocks)})
	adaOnly := postEphemeral(t, f.slack, alerts, approver, "only Ada sees this", map[string]any{"blocks": json.RawMessage(alertBlocks)})
	click := func(fields string) string {
		return `{"user":"U0SALES","channel":"C0ALERTS",` + fields + `}`
	}

	tests := []struct {
		name, path, body string
		header           http.Header
		status           int
		wantError        string
	}{
		{"unknown user", "/api/command", `{"user":"U0NOBODY","channel":"C0ALERTS","text":"help"}`, nil, 400, `unknown user "U0NOBODY"`},
		{"no user", "/api/command", `{"channel":"C0ALERTS","text":"help"}`, nil, 400, `unknown user ""`},
		{"unknown channel", "/api/command", `{"user":"U0SALES","channel":"C0NOPE","text":"help"}`, nil, 400, `unknown channel "C0NOPE"`},
		{"malformed JSON", "/api/command", `{"user":"U0SALES",`, nil, 400, "not the JSON object expected"},
		{"not an object", "/api/command", `["help"]`, nil, 400, "not the JSON object expected"},
		{"unknown field", "/api/command", `{"user":"U0SALES","channel":"C0ALERTS","txt":"help"}`, nil, 400, `unknown field "txt"`},
		{"two values", "/api/command", `{"user":"U0SALES","channel":"C0ALERTS"} {}`, nil, 400, "more than one JSON value"},
		{"empty body", "/api/command", ``, nil, 400, "empty"},
		{"too large", "/api/command", `{"user":"U0SALES","channel":"C0ALERTS","text":"` + strings.Repeat("a", 70<<10) + `"}`, nil, 400, "larger than 64 KiB"},
		{"cross-origin", "/api/command", `{"user":"U0SALES","channel":"C0ALERTS","text":"help"}`, http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403, "cross-origin"},
		{"click without ts", "/api/click", click(`"actionId":"kaizala_plan"`), nil, 400, "needs the message's ts"},
		{"click on no message", "/api/click", click(`"ts":"1.000001","actionId":"kaizala_plan"`), nil, 400, "no message 1.000001"},
		{"click on no element", "/api/click", click(`"ts":"` + alert + `","actionId":"kaizala_nothing"`), nil, 400, `no element with action_id "kaizala_nothing"`},
		{"click with no such option", "/api/click", click(`"ts":"` + alert + `","actionId":"kaizala_plan","selections":{"kaizala_target":"E99"}`), nil, 400, `no option with value "E99"`},
		{"click on another's ephemeral", "/api/click", click(`"ts":"` + adaOnly + `","actionId":"kaizala_plan"`), nil, 400, "only visible to U0APPROVER"},
		{"click as nobody", "/api/click", `{"user":"U0NOBODY","channel":"C0ALERTS","ts":"` + alert + `","actionId":"kaizala_plan"}`, nil, 400, "unknown user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, answer := postRaw(t, f.console.URL+tt.path, tt.body, tt.header)
			if msg, _ := answer["error"].(string); status != tt.status || !strings.Contains(msg, tt.wantError) {
				t.Errorf("status %d, error %q; want %d and an error containing %q", status, msg, tt.status, tt.wantError)
			}
		})
	}

	t.Run("state of an unknown user", func(t *testing.T) {
		var answer map[string]string
		if status := getJSON(t, f.console.URL+"/api/state?user=U0NOBODY", &answer); status != 400 || !strings.Contains(answer["error"], `unknown user "U0NOBODY"`) {
			t.Errorf("status %d, %v", status, answer)
		}
	})
	if _, clicks := f.bot.recorded(); len(clicks) != 0 {
		t.Errorf("refused clicks reached the bot: %+v", clicks)
	}
}

func TestStateShowsTheOpenModalToItsPersonaOnly(t *testing.T) {
	f := newFixture(t)
	id := openModal(t, f, approver, reasonView)
	f.bot.answerNextSubmission(`{"response_action":"errors","errors":{"kaizala_reason":"The plan started meanwhile."}}`)
	if _, err := f.slack.SubmitView(context.Background(), approver, fakeslack.View{ID: id}, map[string]string{"kaizala_reason": "renews by phone"}); err != nil {
		t.Fatal(err)
	}

	var st stateView
	getJSON(t, f.console.URL+"/api/state?user="+approver, &st)
	v := st.View
	if v == nil {
		t.Fatal("the approver's state has no view")
	}
	var title, submit, closeText struct{ Text string }
	_ = json.Unmarshal(v.Title, &title)
	_ = json.Unmarshal(v.Submit, &submit)
	_ = json.Unmarshal(v.Close, &closeText)
	if v.ID != id || title.Text != "Reject <b>M1</b>" || submit.Text != "Reject" || closeText.Text != "Keep it" {
		t.Errorf("view %s: title %q, submit %q, close %q", v.ID, title.Text, submit.Text, closeText.Text)
	}
	var blocks []struct {
		BlockID string `json:"block_id"`
		Type    string `json:"type"`
	}
	if err := json.Unmarshal(v.Blocks, &blocks); err != nil || len(blocks) != 3 || blocks[0].BlockID != "fakeslack-block-0" || blocks[1].BlockID != "kaizala_reason" {
		t.Errorf("blocks %s: every block needs the block_id the bot sees", v.Blocks)
	}
	if len(v.Errors) != 1 || v.Errors["kaizala_reason"] != "The plan started meanwhile." {
		t.Errorf("errors %v", v.Errors)
	}
	var salesView stateView
	getJSON(t, f.console.URL+"/api/state?user="+sales, &salesView)
	if salesView.View != nil {
		t.Errorf("the salesperson sees the approver's modal %s", salesView.View.ID)
	}
}

func TestSubmitSendsTheValuesAsThePersona(t *testing.T) {
	tests := []struct {
		name   string
		answer string // the bot's answer to the submission
		open   bool
		errors string // the answer's errors, printed
	}{
		{"the bot closes the modal", "", false, "<nil>"},
		{"the bot answers errors", `{"response_action":"errors","errors":{"kaizala_reason":"The plan started meanwhile."}}`,
			true, "map[kaizala_reason:The plan started meanwhile.]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := openModal(t, f, approver, reasonView)
			f.bot.answerNextSubmission(tt.answer)

			status, answer := postJSON(t, f.console.URL+"/api/submit", map[string]any{
				"user": approver, "view": id, "values": map[string]string{"kaizala_reason": "renews by phone", "kaizala_note": ""},
			})
			if status != http.StatusOK || answer["status"] != float64(http.StatusOK) || answer["open"] != tt.open || fmt.Sprint(answer["errors"]) != tt.errors {
				t.Fatalf("status %d, answer %v", status, answer)
			}
			if _, ok := answer["latencyMs"].(float64); !ok {
				t.Errorf("no latencyMs in %v", answer)
			}
			subs := f.bot.submitted()
			if len(subs) != 1 {
				t.Fatalf("the bot received %d submissions", len(subs))
			}
			got := subs[0]
			reason, note := got.View.State.Values["kaizala_reason"]["kaizala_reason"].Value, got.View.State.Values["kaizala_note"]["kaizala_note"].Value
			if got.User.ID != approver || got.View.ID != id || got.View.CallbackID != "kaizala_reject_reason" || reason == nil || *reason != "renews by phone" || note != nil {
				t.Errorf("the bot received %+v (reason %v, note %v)", got, reason, note)
			}
			if open := len(f.slack.Views(approver)) == 1; open != tt.open {
				t.Errorf("the modal is open: %v, want %v", open, tt.open)
			}
		})
	}
}

func TestCloseCancelsTheModal(t *testing.T) {
	f := newFixture(t)
	id := openModal(t, f, approver, reasonView)
	status, answer := postJSON(t, f.console.URL+"/api/close", map[string]string{"user": approver, "view": id})
	if status != http.StatusOK || answer["view"] != id || answer["closed"] != true {
		t.Fatalf("status %d, answer %v", status, answer)
	}
	if views := f.slack.Views(approver); len(views) != 0 {
		t.Errorf("still open: %+v", views)
	}
	if subs := f.bot.submitted(); len(subs) != 0 {
		t.Errorf("cancelling sent %+v to the bot", subs)
	}
	status, answer = postJSON(t, f.console.URL+"/api/close", map[string]string{"user": approver, "view": id})
	if msg, _ := answer["error"].(string); status != http.StatusBadRequest || !strings.Contains(msg, "no open view") {
		t.Errorf("closing twice: status %d, answer %v", status, answer)
	}
}

func TestModalRequestsAreRefusedClearly(t *testing.T) {
	f := newFixture(t)
	id := openModal(t, f, approver, reasonView)
	submit := func(values string) string { return `{"user":"U0APPROVER","view":"` + id + `","values":` + values + `}` }
	tests := []struct {
		name, path, body string
		header           http.Header
		status           int
		wantError        string
	}{
		{"submit as nobody", "/api/submit", `{"user":"U0NOBODY","view":"` + id + `","values":{}}`, nil, 400, `unknown user "U0NOBODY"`},
		{"submit without a view", "/api/submit", `{"user":"U0APPROVER","values":{}}`, nil, 400, "send its id as view"},
		{"submit an unknown view", "/api/submit", `{"user":"U0APPROVER","view":"V404","values":{}}`, nil, 400, `no open view "V404"`},
		{"submit another persona's view", "/api/submit", `{"user":"U0SALES","view":"` + id + `","values":{"kaizala_reason":"abc"}}`, nil, 400, "U0SALES has no open view"},
		{"submit an unknown input", "/api/submit", submit(`{"kaizala_reason":"abc","kaizala_mood":"x"}`), nil, 400, `no input with action_id ["kaizala_mood"]`},
		{"submit a required input empty", "/api/submit", submit(`{"kaizala_reason":""}`), nil, 400, "is required"},
		{"submit too short", "/api/submit", submit(`{"kaizala_reason":"no"}`), nil, 400, "needs at least 3 characters"},
		{"submit too long", "/api/submit", submit(`{"kaizala_reason":"` + strings.Repeat("x", 31) + `"}`), nil, 400, "takes at most 30 characters"},
		{"submit a number", "/api/submit", submit(`{"kaizala_reason":42}`), nil, 400, "not the JSON object expected"},
		{"submit with an unknown field", "/api/submit", `{"user":"U0APPROVER","view":"` + id + `","value":{}}`, nil, 400, `unknown field "value"`},
		{"submit malformed JSON", "/api/submit", `{"user":`, nil, 400, "not the JSON object expected"},
		{"submit cross-origin", "/api/submit", submit(`{"kaizala_reason":"abc"}`), http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403, "cross-origin"},
		{"close as nobody", "/api/close", `{"user":"U0NOBODY","view":"` + id + `"}`, nil, 400, "unknown user"},
		{"close without a view", "/api/close", `{"user":"U0APPROVER"}`, nil, 400, "send its id as view"},
		{"close an unknown view", "/api/close", `{"user":"U0APPROVER","view":"V404"}`, nil, 400, `no open view "V404"`},
		{"close another persona's view", "/api/close", `{"user":"U0SALES","view":"` + id + `"}`, nil, 400, "U0SALES has no open view"},
		{"close with an empty body", "/api/close", ``, nil, 400, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, answer := postRaw(t, f.console.URL+tt.path, tt.body, tt.header)
			if msg, _ := answer["error"].(string); status != tt.status || !strings.Contains(msg, tt.wantError) {
				t.Errorf("status %d, error %q; want %d and an error containing %q", status, msg, tt.status, tt.wantError)
			}
		})
	}
	if subs := f.bot.submitted(); len(subs) != 0 {
		t.Errorf("refused submissions reached the bot: %+v", subs)
	}
	if views := f.slack.Views(approver); len(views) != 1 {
		t.Errorf("the modal should still be open: %+v", views)
	}
}

func TestThePageIsSelfContained(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.console.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	const csp = "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'"
	if got := resp.Header.Get("Content-Security-Policy"); got != csp {
		t.Errorf("Content-Security-Policy %q", got)
	}
	page := string(body)
	// No URL to anywhere: links are built in JavaScript from messages only.
	for _, external := range []string{"http://", "https://", "@import"} {
		if strings.Contains(page, external) {
			t.Errorf("the page contains %q", external)
		}
	}
	if m := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?\s*(\w+:)?//|url\(\s*["']?\s*(\w+:)?//`).FindString(page); m != "" {
		t.Errorf("the page refers to another host: %q", m)
	}
	for _, id := range []string{`id="persona"`, `id="composer"`, `id="confirm-dialog"`, `id="confirm-ok"`, `id="thread"`, `id="view-dialog"`, `id="view-submit"`} {
		if !strings.Contains(page, id) {
			t.Errorf("the page has no element %s", id)
		}
	}
	missing, err := http.Get(f.console.URL + "/nothing-here")
	if err != nil {
		t.Fatal(err)
	}
	missing.Body.Close()
	if missing.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown path: %s", missing.Status)
	}
}
