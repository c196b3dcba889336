package console

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kaizalabot/kaizalabot/fakeslack"
)

// homeBot answers app_home_opened by publishing a Home tab with an Approve
// button for the user, and records the clicks made on it.
type homeBot struct {
	slack *fakeslack.Server

	mu     sync.Mutex
	opened []string
	clicks []homeClick
}

// homeClick is the part of a Home tab's block_actions the test reads.
type homeClick struct {
	User      struct{ ID string } `json:"user"`
	Container struct {
		Type   string `json:"type"`
		ViewID string `json:"view_id"`
	} `json:"container"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"actions"`
}

const homeBlocks = `[{"type":"section","text":{"type":"mrkdwn","text":"*Waiting for approval (2)*","verbatim":true}},
{"type":"actions","block_id":"plan_M1","elements":[{"type":"button","action_id":"kaizala_approve","value":"M1:h1","text":{"type":"plain_text","text":"Approve"}}]},
{"type":"actions","block_id":"plan_M2","elements":[{"type":"button","action_id":"kaizala_approve","value":"M2:h2","text":{"type":"plain_text","text":"Approve"}}]}]`

// publish calls views.publish as the bot would (slackCall would fail the
// test from the server's goroutine, which only the test's may do).
func (b *homeBot) publish(user string) error {
	body, _ := json.Marshal(map[string]any{"user_id": user, "view": map[string]any{"type": "home", "blocks": json.RawMessage(homeBlocks)}})
	req, _ := http.NewRequest(http.MethodPost, b.slack.APIURL()+"views.publish", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+fakeslack.DefaultBotToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct {
		OK    bool
		Error string
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || !answer.OK {
		return fmt.Errorf("views.publish: %v %s", err, answer.Error)
	}
	return nil
}

// seen returns who opened the Home tab and the clicks, so far.
func (b *homeBot) seen() ([]string, []homeClick) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.opened...), append([]homeClick(nil), b.clicks...)
}

func (b *homeBot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case fakeslack.EventsPath:
		var ev struct {
			Event struct{ Type, User, Tab string }
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &ev); err != nil || ev.Event.Type != "app_home_opened" {
			http.Error(w, "not app_home_opened", http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		b.opened = append(b.opened, ev.Event.User)
		b.mu.Unlock()
		if err := b.publish(ev.Event.User); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	case fakeslack.InteractionsPath:
		_ = r.ParseForm()
		var c homeClick
		if err := json.Unmarshal([]byte(r.PostForm.Get("payload")), &c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		b.clicks = append(b.clicks, c)
		b.mu.Unlock()
	default:
		http.NotFound(w, r)
	}
}

// newHomeFixture is a console over a fake Slack whose bot is a homeBot.
func newHomeFixture(t *testing.T) (*httptest.Server, *homeBot) {
	t.Helper()
	s := fakeslack.New(fakeslack.Options{Users: []fakeslack.User{{ID: sales, Name: "sam"}, {ID: approver, Name: "ada"}}})
	if _, err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	bot := &homeBot{slack: s}
	botServer := httptest.NewServer(bot)
	t.Cleanup(botServer.Close)
	s.SetAppURL(botServer.URL)
	c := httptest.NewServer(New(Options{Slack: s, Personas: testPersonas, Channels: testChannels}))
	t.Cleanup(c.Close)
	return c, bot
}

func TestHomeTabOpensAndClicksAsThePersona(t *testing.T) {
	c, bot := newHomeFixture(t)

	var home homeView
	if code := getJSON(t, c.URL+"/api/home?user="+approver, &home); code != 200 || home.Published {
		t.Fatalf("before opening: HTTP %d %+v", code, home)
	}
	if code, answer := postJSON(t, c.URL+"/api/home", homeRequest{User: approver}); code != 200 || answer["status"] != 200.0 {
		t.Fatalf("opening the Home tab: HTTP %d %v", code, answer)
	}
	if opened, _ := bot.seen(); len(opened) != 1 || opened[0] != approver {
		t.Fatalf("the bot heard app_home_opened from %v", opened)
	}
	if code := getJSON(t, c.URL+"/api/home?user="+approver, &home); code != 200 || !home.Published || home.ID == "" ||
		!strings.Contains(string(home.Blocks), "Waiting for approval") || !strings.Contains(string(home.Blocks), `"block_id":"fakeslack-block-0"`) {
		t.Fatalf("after opening: HTTP %d %+v", code, home)
	}
	// Each persona's Home tab is their own.
	var other homeView
	if getJSON(t, c.URL+"/api/home?user="+sales, &other); other.Published {
		t.Errorf("the salesperson sees the approver's Home tab: %+v", other)
	}

	// The second Approve, by its value: the bot gets a click from the view.
	if code, answer := postJSON(t, c.URL+"/api/click", clickRequest{User: approver, Home: true, ActionID: "kaizala_approve", Value: "M2:h2"}); code != 200 || answer["status"] != 200.0 {
		t.Fatalf("clicking Approve on the Home tab: HTTP %d %v", code, answer)
	}
	_, clicks := bot.seen()
	if len(clicks) != 1 {
		t.Fatalf("the bot got %d clicks", len(clicks))
	}
	if got := clicks[0]; got.User.ID != approver || got.Container.Type != "view" || got.Container.ViewID != home.ID ||
		len(got.Actions) != 1 || got.Actions[0].Value != "M2:h2" {
		t.Errorf("the click arrived as %+v", got)
	}

	for _, tc := range []struct {
		name string
		path string
		body any
		want string
	}{
		{"an unknown persona opens the Home tab", "/api/home", homeRequest{User: "U0NOBODY"}, "unknown user"},
		{"a click on a button the Home tab lacks", "/api/click", clickRequest{User: approver, Home: true, ActionID: "kaizala_approve", Value: "M9:h9"}, "no element"},
		{"a click without an action", "/api/click", clickRequest{User: approver, Home: true}, "actionId"},
		{"a click on a Home tab never published", "/api/click", clickRequest{User: sales, Home: true, ActionID: "kaizala_approve"}, "never published"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, answer := postJSON(t, c.URL+tc.path, tc.body)
			if msg, _ := answer["error"].(string); code != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
				t.Errorf("HTTP %d %v, want 400 saying %q", code, answer, tc.want)
			}
		})
	}
	if code := getJSON(t, c.URL+"/api/home?user=U0NOBODY", &map[string]any{}); code != http.StatusBadRequest {
		t.Errorf("an unknown persona's Home tab: HTTP %d", code)
	}
}
