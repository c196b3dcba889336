package fakeslack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// sampleHome is a Home tab like the bot's: a header, a plan with Approve and
// Reject, and a context line.
func sampleHome(text string) slack.HomeTabViewRequest {
	return slack.HomeTabViewRequest{
		Type:       slack.VTHomeTab,
		CallbackID: "kaizala_home",
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewHeaderBlock(plain("Kaizala Pro renewals")),
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, true), nil, nil),
			slack.NewActionBlock("plan_M1",
				slack.NewButtonBlockElement("approve", "M1:h1", plain("Approve")),
				slack.NewButtonBlockElement("reject", "M1:h1", plain("Reject"))),
			slack.NewActionBlock("plan_M2", slack.NewButtonBlockElement("approve", "M2:h2", plain("Approve"))),
		}},
	}
}

func publish(t *testing.T, api *slack.Client, user string, v slack.HomeTabViewRequest, hash string) (*slack.ViewResponse, error) {
	t.Helper()
	req := slack.PublishViewContextRequest{UserID: user, View: v}
	if hash != "" {
		req.Hash = &hash
	}
	return api.PublishViewContext(testContext(t), req)
}

func TestViewsPublish(t *testing.T) {
	s, api := start(t, Options{})
	events, stop := s.Subscribe()
	defer stop()
	resp, err := publish(t, api, "U0ALICE", sampleHome("*2 plans* wait"), "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.View.Type != slack.VTHomeTab || resp.View.ID == "" || resp.View.Hash == "" || resp.View.CallbackID != "kaizala_home" || len(resp.View.Blocks.BlockSet) != 4 {
		t.Errorf("views.publish answered %+v", resp.View)
	}
	got, ok := s.HomeView("U0ALICE")
	if !ok || got.ID != resp.View.ID || got.User != "U0ALICE" || !strings.Contains(string(got.Blocks), "*2 plans* wait") {
		t.Fatalf("HomeView = %+v, %v", got, ok)
	}
	if _, ok := s.HomeView("U0BOB"); ok {
		t.Error("Bob has a Home tab nobody published")
	}
	if change := receive(t, events); change.Kind != ChangeHomePublished || change.View.User != "U0ALICE" {
		t.Errorf("subscribers were told %+v", change)
	}

	// Publishing again replaces the tab and keeps its id; the hash changes.
	again, err := publish(t, api, "U0ALICE", sampleHome("nothing waits"), resp.View.Hash)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.HomeView("U0ALICE")
	if again.View.ID != resp.View.ID || again.View.Hash == resp.View.Hash || !strings.Contains(string(got.Blocks), "nothing waits") || s.HomePublished("U0ALICE") != 2 {
		t.Errorf("the second publish: id %s (was %s), hash %s (was %s), blocks %s, %d publishes",
			again.View.ID, resp.View.ID, again.View.Hash, resp.View.Hash, got.Blocks, s.HomePublished("U0ALICE"))
	}
	// A hash from before the last publish is a race lost.
	if _, err := publish(t, api, "U0ALICE", sampleHome("stale"), resp.View.Hash); !isSlackError(err, "hash_conflict") {
		t.Errorf("a stale hash: %v, want hash_conflict", err)
	}
}

func isSlackError(err error, code string) bool {
	var resp slack.SlackErrorResponse
	return errors.As(err, &resp) && resp.Err == code
}

func TestViewsPublishRefusesWhatSlackRefuses(t *testing.T) {
	s, api := start(t, Options{})
	many := sampleHome("x")
	for len(many.Blocks.BlockSet) <= 100 {
		many.Blocks.BlockSet = append(many.Blocks.BlockSet, slack.NewDividerBlock())
	}
	longSection := sampleHome(strings.Repeat("x", 3001))
	dupIDs := sampleHome("x")
	dupIDs.Blocks.BlockSet = append(dupIDs.Blocks.BlockSet, slack.NewActionBlock("plan_M1", slack.NewButtonBlockElement("retry", "M1", plain("Retry"))))
	huge := sampleHome("x")
	for range 100 {
		huge.Blocks.BlockSet = append(huge.Blocks.BlockSet, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("y", 2900), false, true), nil, nil))
	}
	modal := sampleHome("x")
	modal.Type = slack.VTModal
	for _, tc := range []struct {
		name, user string
		view       slack.HomeTabViewRequest
		code, says string
	}{
		{"a modal", "U0ALICE", modal, "invalid_arguments", `must be "home" for views.publish, not "modal" [json-pointer:/view/type]`},
		{"101 blocks", "U0ALICE", many, "invalid_arguments", "must have no more than 100 items [json-pointer:/view/blocks]"},
		{"a long section", "U0ALICE", longSection, "invalid_arguments", "[json-pointer:/view/blocks/1/text/text]"},
		{"a block_id twice", "U0ALICE", dupIDs, "invalid_arguments", `duplicate block_id "plan_M1"`},
		{"a long callback_id", "U0ALICE", func() slack.HomeTabViewRequest {
			v := sampleHome("x")
			v.CallbackID = strings.Repeat("c", 256)
			return v
		}(), "invalid_arguments", "[json-pointer:/view/callback_id]"},
		{"over 250 kB", "U0ALICE", huge, "view_too_large", ""},
		{"an unknown user", "U0NOBODY", sampleHome("x"), "invalid_arguments", "invalid `user_id`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := publish(t, api, tc.user, tc.view, "")
			var resp slack.SlackErrorResponse
			if !errors.As(err, &resp) || resp.Err != tc.code || !strings.Contains(strings.Join(resp.ResponseMetadata.Messages, "\n"), tc.says) {
				t.Errorf("got %v (%+v), want %s saying %q", err, resp.ResponseMetadata, tc.code, tc.says)
			}
			if _, ok := s.HomeView(tc.user); ok {
				t.Error("a refused view was published")
			}
		})
	}

	t.Run("without user_id or view", func(t *testing.T) {
		for body, want := range map[string]string{
			`{"view":{"type":"home","blocks":[]}}`: "missing required field: user_id",
			`{"user_id":"U0ALICE"}`:                "missing required field: view",
		} {
			req, _ := http.NewRequest(http.MethodPost, s.APIURL()+"views.publish", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+DefaultBotToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(raw), `"invalid_arguments"`) || !strings.Contains(string(raw), want) {
				t.Errorf("%s: %s, want invalid_arguments saying %q", body, raw, want)
			}
		}
	})

	t.Run("an external_id another view has", func(t *testing.T) {
		v := sampleHome("x")
		v.ExternalID = "home-1"
		if _, err := publish(t, api, "U0ALICE", v, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := publish(t, api, "U0ALICE", v, ""); err != nil {
			t.Errorf("the same user's tab keeps its external_id: %v", err)
		}
		if _, err := publish(t, api, "U0BOB", v, ""); !isSlackError(err, "duplicate_external_id") {
			t.Errorf("another user's tab with the same external_id: %v, want duplicate_external_id", err)
		}
	})

	t.Run("the Home tab turned off", func(t *testing.T) {
		s.DisableHomeTab()
		if _, err := publish(t, api, "U0BOB", sampleHome("x"), ""); !isSlackError(err, "not_enabled") {
			t.Errorf("got %v, want not_enabled", err)
		}
		if _, err := s.OpenHome(testContext(t), "U0BOB"); err == nil {
			t.Error("a disabled Home tab could be opened")
		}
	})
}

// homeApp is an app with a Home tab: it verifies what arrives with
// slack-go's verifier and parses it with slack-go.
type homeApp struct {
	events chan slackevents.EventsAPIEvent
	clicks chan slack.InteractionCallback
}

func newHomeApp(t *testing.T, s *Server) *homeApp {
	t.Helper()
	a := &homeApp{events: make(chan slackevents.EventsAPIEvent, 10), clicks: make(chan slack.InteractionCallback, 10)}
	verified := func(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
		sv, err := slack.NewSecretsVerifier(r.Header, s.opts.SigningSecret)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return nil, false
		}
		body, _ := io.ReadAll(io.TeeReader(r.Body, &sv))
		if err := sv.Ensure(); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return nil, false
		}
		return body, true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+EventsPath, func(w http.ResponseWriter, r *http.Request) {
		body, ok := verified(w, r)
		if !ok {
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			http.Error(w, "content type "+ct, http.StatusBadRequest)
			return
		}
		ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.events <- ev
	})
	mux.HandleFunc("POST "+InteractionsPath, func(w http.ResponseWriter, r *http.Request) {
		body, ok := verified(w, r)
		if !ok {
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		ic, err := slack.InteractionCallbackParse(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.clicks <- ic
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.SetAppURL(srv.URL)
	return a
}

func TestOpenHomeSendsASignedEvent(t *testing.T) {
	s, api := start(t, Options{})
	app := newHomeApp(t, s)

	reply, err := s.OpenHome(testContext(t), "U0ALICE")
	if err != nil || reply.Status != http.StatusOK {
		t.Fatalf("OpenHome: %v, HTTP %d %s", err, reply.Status, reply.Body)
	}
	first := receive(t, app.events)
	home, ok := first.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	cb, _ := first.Data.(*slackevents.EventsAPICallbackEvent)
	if first.Type != slackevents.CallbackEvent || first.TeamID != DefaultTeamID || !ok || home.User != "U0ALICE" || home.Tab != "home" || home.Channel != "DU0ALICE" || cb == nil || cb.EventID == "" {
		t.Fatalf("the app received %+v (inner %+v)", first, first.InnerEvent.Data)
	}
	if home.View != nil {
		t.Errorf("the first opening carries a view %+v, but none was published", home.View)
	}

	// Once published, the tab comes with the event, and each opening is a new event.
	if _, err := publish(t, api, "U0ALICE", sampleHome("hello"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenHome(testContext(t), "U0ALICE"); err != nil {
		t.Fatal(err)
	}
	second := receive(t, app.events)
	home = second.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if home.View == nil || home.View.Type != slack.VTHomeTab || len(home.View.Blocks.BlockSet) != 4 {
		t.Errorf("the second opening carries %+v", home.View)
	}
	if id := second.Data.(*slackevents.EventsAPICallbackEvent).EventID; id == cb.EventID {
		t.Errorf("two openings share event_id %s", id)
	}
	if _, err := s.OpenHome(testContext(t), "U0NOBODY"); err == nil {
		t.Error("an unknown user opened the Home tab")
	}
}

func TestClickHome(t *testing.T) {
	s, api := start(t, Options{})
	app := newHomeApp(t, s)
	if _, err := s.ClickHome(testContext(t), "U0ALICE", "approve", ""); err == nil {
		t.Error("a click on a Home tab never published went through")
	}
	resp, err := publish(t, api, "U0ALICE", sampleHome("two plans"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ action, value, wantValue, wantBlock string }{
		{"approve", "", "M1:h1", "plan_M1"},
		{"approve", "M2:h2", "M2:h2", "plan_M2"},
		{"reject", "M1:h1", "M1:h1", "plan_M1"},
	} {
		t.Run(fmt.Sprintf("%s %s", tc.action, tc.value), func(t *testing.T) {
			reply, err := s.ClickHome(testContext(t), "U0ALICE", tc.action, tc.value)
			if err != nil || reply.Status != http.StatusOK {
				t.Fatalf("ClickHome: %v, HTTP %d %s", err, reply.Status, reply.Body)
			}
			ic := receive(t, app.clicks)
			a := ic.ActionCallback.BlockActions
			switch {
			case ic.Type != slack.InteractionTypeBlockActions || ic.User.ID != "U0ALICE" || ic.TriggerID == "":
				t.Errorf("payload %+v", ic)
			case ic.Container.Type != "view" || ic.Container.ViewID != resp.View.ID || ic.View.ID != resp.View.ID || ic.View.Type != slack.VTHomeTab:
				t.Errorf("container %+v, view %s %s: want the Home tab", ic.Container, ic.View.ID, ic.View.Type)
			case ic.Channel.ID != "" || ic.ResponseURL != "":
				t.Errorf("a Home tab click has channel %q and response_url %q; Slack sends neither", ic.Channel.ID, ic.ResponseURL)
			case len(a) != 1 || a[0].ActionID != tc.action || a[0].Value != tc.wantValue || a[0].BlockID != tc.wantBlock:
				t.Errorf("actions %+v", a)
			}
		})
	}
	if _, err := s.ClickHome(testContext(t), "U0ALICE", "approve", "M9:h9"); err == nil {
		t.Error("a click on a button the tab does not have went through")
	}
	raw, _ := json.Marshal(resp.View.Blocks)
	if !strings.Contains(string(raw), "two plans") {
		t.Errorf("views.publish answered blocks %s", raw)
	}
}
