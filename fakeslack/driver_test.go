package fakeslack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// botApp is a tiny app under test: it verifies every request with slack-go's
// own verifier, parses it with slack-go, and hands it to the test.
type botApp struct {
	commands chan slack.SlashCommand
	clicks   chan slack.InteractionCallback // every interaction: clicks and view submissions

	mu      sync.Mutex
	answers []appAnswer // how to answer the next interactions; then an empty 200
}

// appAnswer is an app's HTTP answer to an interaction.
type appAnswer struct {
	status int
	body   string
}

// answerNext queues the answer to the next interaction without one.
func (a *botApp) answerNext(status int, body string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answers = append(a.answers, appAnswer{status, body})
}

func (a *botApp) nextAnswer() appAnswer {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.answers) == 0 {
		return appAnswer{status: http.StatusOK}
	}
	next := a.answers[0]
	a.answers = a.answers[1:]
	return next
}

// newBotApp serves the app and points s at it. answer writes the reply to a
// command; onClick runs for each click before the app answers 200.
func newBotApp(t *testing.T, s *Server, answer func(http.ResponseWriter, slack.SlashCommand), onClick func(slack.InteractionCallback)) *botApp {
	t.Helper()
	a := &botApp{commands: make(chan slack.SlashCommand, 10), clicks: make(chan slack.InteractionCallback, 10)}
	verified := func(w http.ResponseWriter, r *http.Request, parse func(*http.Request) error) bool {
		sv, err := slack.NewSecretsVerifier(r.Header, s.opts.SigningSecret)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return false
		}
		r.Body = io.NopCloser(io.TeeReader(r.Body, &sv))
		if err := parse(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		if err := sv.Ensure(); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return false
		}
		return true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+CommandsPath, func(w http.ResponseWriter, r *http.Request) {
		var cmd slack.SlashCommand
		if !verified(w, r, func(r *http.Request) (err error) { cmd, err = slack.SlashCommandParse(r); return err }) {
			return
		}
		a.commands <- cmd
		if answer != nil {
			answer(w, cmd)
		}
	})
	mux.HandleFunc("POST "+InteractionsPath, func(w http.ResponseWriter, r *http.Request) {
		var ic slack.InteractionCallback
		if !verified(w, r, func(r *http.Request) (err error) { ic, err = slack.InteractionCallbackParse(r); return err }) {
			return
		}
		a.clicks <- ic
		if onClick != nil {
			onClick(ic)
		}
		if answer := a.nextAnswer(); answer.status != http.StatusOK || answer.body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(answer.status)
			_, _ = io.WriteString(w, answer.body)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.SetAppURL(srv.URL)
	return a
}

// receive takes what the app got, failing the test if nothing arrives.
func receive[T any](t *testing.T, from <-chan T) T {
	t.Helper()
	select {
	case v := <-from:
		return v
	case <-time.After(5 * time.Second):
	}
	t.Fatal("the app received nothing")
	var zero T
	return zero
}

// answerJSON makes an app answer every command with body.
func answerJSON(body string) func(http.ResponseWriter, slack.SlashCommand) {
	return func(w http.ResponseWriter, _ slack.SlashCommand) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

func TestCommandArrivesSigned(t *testing.T) {
	s, _ := start(t, Options{ChannelNames: map[string]string{"C0SALES": "sales"}})
	app := newBotApp(t, s, nil, nil)

	reply, err := s.Command(testContext(t), "U0ALICE", "C0SALES", "approve req-1")
	if err != nil {
		t.Fatal(err)
	}
	if reply.Status != http.StatusOK || reply.Latency <= 0 {
		t.Errorf("reply %+v", reply)
	}
	cmd := receive(t, app.commands)
	want := slack.SlashCommand{
		TeamID: DefaultTeamID, TeamDomain: TeamDomain, ChannelID: "C0SALES", ChannelName: "sales",
		UserID: "U0ALICE", UserName: "alice", Command: DefaultCommand, Text: "approve req-1", APIAppID: AppID,
	}
	if !strings.HasPrefix(cmd.ResponseURL, s.URL()+"/response/") || cmd.TriggerID == "" || cmd.Token == "" {
		t.Errorf("response_url %q, trigger_id %q, token %q", cmd.ResponseURL, cmd.TriggerID, cmd.Token)
	}
	cmd.ResponseURL, cmd.TriggerID, cmd.Token = "", "", ""
	if cmd != want {
		t.Errorf("command %+v, want %+v", cmd, want)
	}
}

func TestCommandReplyIsRecorded(t *testing.T) {
	tests := []struct {
		name       string
		answer     func(http.ResponseWriter, slack.SlashCommand)
		ephemerals []string // texts shown to the user
		channel    []string // texts in the channel, "user: text"
	}{
		{"ephemeral JSON", answerJSON(`{"response_type":"ephemeral","text":"hi"}`), []string{"hi"}, nil},
		{"JSON without response_type", answerJSON(`{"text":"hi"}`), []string{"hi"}, nil},
		{"in_channel JSON", answerJSON(`{"response_type":"in_channel","text":"3 renewals due"}`),
			nil, []string{"U0ALICE: /kaizala list", BotUserID + ": 3 renewals due"}},
		{"in_channel without text echoes the command", answerJSON(`{"response_type":"in_channel"}`),
			nil, []string{"U0ALICE: /kaizala list"}},
		{"plain text", func(w http.ResponseWriter, _ slack.SlashCommand) { _, _ = io.WriteString(w, "working on it") },
			[]string{"working on it"}, nil},
		{"empty 200", func(http.ResponseWriter, slack.SlashCommand) {}, nil, nil},
		{"error status", func(w http.ResponseWriter, _ slack.SlashCommand) {
			http.Error(w, `{"text":"boom"}`, http.StatusInternalServerError)
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := start(t, Options{})
			newBotApp(t, s, tt.answer, nil)
			if _, err := s.Command(testContext(t), "U0ALICE", "C0SALES", "list"); err != nil {
				t.Fatal(err)
			}
			var eph, channel []string
			for _, m := range s.Ephemerals("U0ALICE") {
				eph = append(eph, m.Text)
				if m.Channel != "C0SALES" || m.User != BotUserID {
					t.Errorf("ephemeral %+v", m)
				}
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

// The app answers through the response_url with slack-go's own senders.
func TestResponseURL(t *testing.T) {
	responder := slack.New("")
	tests := []struct {
		name  string
		opts  func(responseURL string) []slack.MsgOption
		check func(t *testing.T, s *Server, card Message)
	}{
		{"replace_original", func(u string) []slack.MsgOption {
			return []slack.MsgOption{slack.MsgOptionReplaceOriginal(u), slack.MsgOptionText("Approved by alice", false)}
		}, func(t *testing.T, s *Server, card Message) {
			m, err := s.WaitUpdate(testContext(t), card.Channel, card.TS, 1)
			if err != nil || m.Text != "Approved by alice" || m.Blocks != nil || len(m.History) != 1 || m.History[0].Text != card.Text {
				t.Errorf("card %+v, %v", m, err)
			}
		}},
		{"delete_original", func(u string) []slack.MsgOption {
			return []slack.MsgOption{slack.MsgOptionDeleteOriginal(u)}
		}, func(t *testing.T, s *Server, card Message) {
			if _, found := s.Message(card.Channel, card.TS); found {
				t.Error("card not deleted")
			}
		}},
		{"in_channel", func(u string) []slack.MsgOption {
			return []slack.MsgOption{slack.MsgOptionResponseURL(u, slack.ResponseTypeInChannel), slack.MsgOptionText("step 1 done", false)}
		}, func(t *testing.T, s *Server, card Message) {
			msgs := s.Messages(card.Channel)
			if len(msgs) != 2 || msgs[1].Text != "step 1 done" || msgs[1].User != BotUserID {
				t.Errorf("channel %+v", msgs)
			}
		}},
		{"ephemeral", func(u string) []slack.MsgOption {
			return []slack.MsgOption{slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral), slack.MsgOptionText("only you", false)}
		}, func(t *testing.T, s *Server, card Message) {
			eph := s.Ephemerals("U0ALICE")
			if len(eph) != 1 || eph[0].Text != "only you" || eph[0].Channel != card.Channel {
				t.Errorf("ephemerals %+v", eph)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, api := start(t, Options{})
			ctx := testContext(t)
			newBotApp(t, s, nil, func(ic slack.InteractionCallback) {
				if _, _, err := responder.PostMessageContext(ctx, "", tt.opts(ic.ResponseURL)...); err != nil {
					t.Errorf("posting to the response_url: %v", err)
				}
			})
			if _, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("card", false), slack.MsgOptionBlocks(approvalBlocks()...)); err != nil {
				t.Fatal(err)
			}
			card, err := s.WaitMessage(ctx, "C0SALES", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Click(ctx, "U0ALICE", card, "approve"); err != nil {
				t.Fatal(err)
			}
			tt.check(t, s, card)
			if got := s.Calls("response_url"); got != 1 {
				t.Errorf("Calls(response_url) = %d", got)
			}
		})
	}
}

func TestResponseURLThreadReplyAndUseLimit(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)
	app := newBotApp(t, s, nil, nil)
	_, parent, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("card", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Command(ctx, "U0ALICE", "C0SALES", "status req-1"); err != nil {
		t.Fatal(err)
	}
	responseURL := receive(t, app.commands).ResponseURL

	responder := slack.New("")
	post := func(opts ...slack.MsgOption) error {
		_, _, err := responder.PostMessageContext(ctx, "", opts...)
		return err
	}
	if err := post(slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeInChannel), slack.MsgOptionTS(parent), slack.MsgOptionText("in the thread", false)); err != nil {
		t.Fatal(err)
	}
	if thread := s.Thread("C0SALES", parent); len(thread) != 1 || thread[0].Text != "in the thread" {
		t.Errorf("thread %+v", thread)
	}
	// The first in_channel answer shows the command line in the channel.
	if msgs := s.Messages("C0SALES"); len(msgs) != 2 || msgs[1].User != "U0ALICE" || msgs[1].Text != "/kaizala status req-1" {
		t.Errorf("channel %+v", msgs)
	}
	for i := 2; i <= 5; i++ {
		if err := post(slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("again", false)); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	err = post(slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("once too often", false))
	var status slack.StatusCodeError
	if !errors.As(err, &status) || status.Code != http.StatusNotFound {
		t.Errorf("sixth use: %v, want 404", err)
	}
	if got := len(s.Ephemerals("U0ALICE")); got != 4 {
		t.Errorf("%d ephemerals, want 4", got)
	}
}

func TestClick(t *testing.T) {
	tests := []struct {
		name     string
		actionID string
		opts     []ClickOption
		check    func(t *testing.T, action *slack.BlockAction)
		seats    string // the seats select's selected option in state.values
	}{
		{"button", "approve", nil, func(t *testing.T, a *slack.BlockAction) {
			if a.ActionID != "approve" || a.BlockID != "decide" || a.Type != "button" || a.Value != "req-1" || a.Text.Text != "Approve" || a.ActionTs == "" {
				t.Errorf("action %+v", a)
			}
		}, ""},
		{"button after choosing an option", "deny", []ClickOption{Select("seats", "20")}, func(t *testing.T, a *slack.BlockAction) {
			if a.ActionID != "deny" || a.Value != "req-1" {
				t.Errorf("action %+v", a)
			}
		}, "20"},
		{"static select", "seats", []ClickOption{Select("seats", "10")}, func(t *testing.T, a *slack.BlockAction) {
			if a.ActionID != "seats" || a.BlockID != "choose" || a.Type != "static_select" || a.SelectedOption.Value != "10" || a.SelectedOption.Text.Text != "10 seats" {
				t.Errorf("action %+v", a)
			}
		}, "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, api := start(t, Options{})
			ctx := testContext(t)
			app := newBotApp(t, s, nil, nil)
			if _, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("card", false), slack.MsgOptionBlocks(approvalBlocks()...)); err != nil {
				t.Fatal(err)
			}
			card := s.Messages("C0SALES")[0]

			reply, err := s.Click(ctx, "U0BOB", card, tt.actionID, tt.opts...)
			if err != nil || reply.Status != http.StatusOK {
				t.Fatalf("Click: %+v, %v", reply, err)
			}
			ic := receive(t, app.clicks)
			if ic.Type != slack.InteractionTypeBlockActions || ic.User.ID != "U0BOB" || ic.User.Username != "bob" || ic.User.TeamID != DefaultTeamID ||
				ic.Team.ID != DefaultTeamID || ic.APIAppID != AppID || ic.TriggerID == "" || ic.Channel.ID != "C0SALES" {
				t.Errorf("callback %+v", ic)
			}
			if c := ic.Container; c.Type != "message" || c.MessageTs != card.TS || c.ChannelID != "C0SALES" || c.IsEphemeral {
				t.Errorf("container %+v", c)
			}
			if ic.Message.Timestamp != card.TS || ic.Message.Text != "card" || len(ic.Message.Blocks.BlockSet) != 2 {
				t.Errorf("message %+v", ic.Message)
			}
			if !strings.HasPrefix(ic.ResponseURL, s.URL()+"/response/") {
				t.Errorf("response_url %q", ic.ResponseURL)
			}
			if len(ic.ActionCallback.BlockActions) != 1 {
				t.Fatalf("actions %+v", ic.ActionCallback.BlockActions)
			}
			tt.check(t, ic.ActionCallback.BlockActions[0])
			state, found := ic.BlockActionState.Values["choose"]["seats"]
			if !found || state.Type != "static_select" || state.SelectedOption.Value != tt.seats {
				t.Errorf("state.values[choose][seats] = %+v (found %v), want option %q", state, found, tt.seats)
			}
		})
	}
}

func TestClickRefusesWhatSlackCouldNotSend(t *testing.T) {
	s, api := start(t, Options{})
	ctx := testContext(t)
	app := newBotApp(t, s, nil, nil)
	if _, _, err := api.PostMessageContext(ctx, "C0SALES", slack.MsgOptionText("card", false), slack.MsgOptionBlocks(approvalBlocks()...)); err != nil {
		t.Fatal(err)
	}
	card := s.Messages("C0SALES")[0]
	tests := []struct {
		name     string
		msg      Message
		actionID string
		opts     []ClickOption
		want     string
	}{
		{"unknown action", card, "escalate", nil, `no element with action_id "escalate"`},
		{"select without an option", card, "seats", nil, `needs Select("seats", value)`},
		{"option not offered", card, "seats", []ClickOption{Select("seats", "30")}, `no option with value "30"`},
		{"select not in the message", card, "approve", []ClickOption{Select("region", "eu")}, `no static_select with action_id ["region"]`},
		{"message never posted", Message{Text: "card"}, "approve", nil, "needs a recorded message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Click(ctx, "U0BOB", tt.msg, tt.actionID, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
	if len(app.clicks) != 0 {
		t.Errorf("%d clicks reached the app", len(app.clicks))
	}
}

// Signed lets a test send what Slack never would: a stale request must be
// refused by the app's verifier.
func TestSignedStaleRequestIsRefused(t *testing.T) {
	s, _ := start(t, Options{})
	app := newBotApp(t, s, nil, nil)
	body := []byte(url.Values{"command": {"/kaizala"}, "text": {"list"}, "user_id": {"U0ALICE"}}.Encode())
	tests := []struct {
		name string
		at   time.Time
		want int
	}{
		{"fresh", time.Now(), http.StatusOK},
		{"ten minutes old", time.Now().Add(-10 * time.Minute), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := s.Signed(testContext(t), CommandsPath, formContentType, body, tt.at)
			if err != nil || reply.Status != tt.want {
				t.Errorf("reply %d %s, %v; want %d", reply.Status, reply.Body, err, tt.want)
			}
		})
	}
	if len(app.commands) != 1 {
		t.Errorf("%d commands accepted, want 1", len(app.commands))
	}
}

func TestDriverNeedsAnApp(t *testing.T) {
	s, _ := start(t, Options{})
	if _, err := s.Command(context.Background(), "U0ALICE", "C0SALES", "list"); err == nil || !strings.Contains(err.Error(), "AppURL") {
		t.Errorf("error %v, want one naming AppURL", err)
	}
}
