package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// The Home tab: views.publish stores one view per user, with Slack's rules
// (https://docs.slack.dev/reference/methods/views.publish and
// https://docs.slack.dev/reference/views/home-tab-views): user_id and view
// are required, the view's type is "home", it holds at most 100 blocks, its
// private_metadata 3,000 characters, its callback_id and external_id 255;
// an external_id is unique across the team's views; a hash that is not the
// current view's is a hash_conflict; a view over 250 kB is view_too_large;
// with the Home tab disabled the answer is not_enabled. The driver sends
// app_home_opened as Slack does when a person opens the tab (OpenHome) and
// clicks a button on it (ClickHome).

// EventsPath is the path of the bot under test that Slack posts Events API
// events to, under AppURL.
const EventsPath = "/slack/events"

// ChangeHomePublished: the app published View.User's Home tab (views.publish).
const ChangeHomePublished = "home_published"

// homeTabs are the Home tabs the app published.
type homeTabs struct {
	disabled bool                // the app's Home tab is turned off (DisableHomeTab)
	byUser   map[string]*homeTab // user -> their Home tab
	events   int                 // event_ids handed out
}

// homeTab is a published Home tab and what Slack keeps beside it.
type homeTab struct {
	View
	spec      viewSpec
	hash      string // changes with every publish
	published int    // how many times it was published
}

// DisableHomeTab turns the app's Home tab off, as unticking "Home Tab" in
// the app's settings does: views.publish then answers not_enabled, and
// nobody can open the tab.
func (s *Server) DisableHomeTab() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.home.disabled = true
}

// viewsPublish publishes user_id's Home tab.
func (s *Server) viewsPublish(p params) result {
	user, rawView := p["user_id"], p["view"]
	switch {
	case user == "":
		return invalidArguments("missing required field: user_id [json-pointer:/user_id]")
	case rawView == "":
		return invalidArguments("missing required field: view [json-pointer:/view]")
	case len(rawView) > maxViewBytes:
		return failure("view_too_large")
	}
	spec, problems := checkHomeView([]byte(rawView))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.home.disabled {
		return failure("not_enabled")
	}
	if _, known := s.users[user]; !known || user == BotUserID {
		// What views.publish documents for a user_id it cannot publish to.
		return invalidArguments("invalid `user_id`")
	}
	if len(problems) > 0 {
		return invalidArguments(problems...)
	}
	current := s.home.byUser[user]
	if hash := p["hash"]; hash != "" && current != nil && hash != current.hash {
		return failure("hash_conflict")
	}
	if id := spec.ExternalID; id != "" && s.externalIDTakenLocked(id, user) {
		return failure("duplicate_external_id")
	}
	if s.home.byUser == nil {
		s.home.byUser = map[string]*homeTab{}
	}
	if current == nil {
		// A person's Home tab keeps its view id from one publish to the next.
		s.nextID++
		current = &homeTab{View: View{ID: fmt.Sprintf("V%08d", s.nextID), User: user}}
		s.home.byUser[user] = current
	}
	s.nextID++
	current.spec, current.published = spec, current.published+1
	current.hash = fmt.Sprintf("%d.%d", s.opts.Now().Unix(), s.nextID)
	current.CallbackID, current.PrivateMetadata = spec.CallbackID, spec.PrivateMetadata
	current.Blocks, current.Raw = blocksJSON(spec.Blocks), json.RawMessage(rawView)
	s.emitViewLocked(ChangeHomePublished, &current.View)
	return ok(result{"view": s.wireHome(current)})
}

// checkHomeView reads a Home tab's view and lists what Slack would refuse.
func checkHomeView(raw []byte) (viewSpec, []string) {
	var spec viewSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return spec, []string{"failed to parse the view as a JSON object (" + err.Error() + ") [json-pointer:/view]"}
	}
	var problems viewProblems
	if spec.Type != "home" {
		problems.add("/type", "must be \"home\" for views.publish, not %q", spec.Type)
	}
	if spec.Blocks == nil {
		problems.add("/blocks", "missing required field")
	}
	problems.common(spec)
	return spec, problems
}

// externalIDTakenLocked reports whether another view of the team (a modal,
// or someone else's Home tab) has external_id id.
func (s *Server) externalIDTakenLocked(id, user string) bool {
	for _, v := range s.views {
		if v.spec.ExternalID == id {
			return true
		}
	}
	for u, h := range s.home.byUser {
		if u != user && h.spec.ExternalID == id {
			return true
		}
	}
	return false
}

// wireHome is a Home tab as Slack's JSON shows it to the app: in the
// views.publish answer, in app_home_opened and in a click's payload.
func (s *Server) wireHome(h *homeTab) wireView {
	null := json.RawMessage("null")
	return wireView{
		ID:                 h.ID,
		TeamID:             s.opts.TeamID,
		Type:               "home",
		Blocks:             h.BlocksWithIDs(),
		PrivateMetadata:    h.PrivateMetadata,
		CallbackID:         h.CallbackID,
		State:              viewState{Values: map[string]map[string]stateInput{}},
		Hash:               h.hash,
		Title:              null,
		Close:              null,
		Submit:             null,
		RootViewID:         h.ID,
		AppID:              AppID,
		ExternalID:         h.spec.ExternalID,
		AppInstalledTeamID: s.opts.TeamID,
		BotID:              BotID,
	}
}

// HomeView returns the Home tab the app last published for user, if any.
func (s *Server) HomeView(user string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.home.byUser[user]; h != nil {
		return h.View.clone(), true
	}
	return View{}, false
}

// HomePublished counts the times the app published user's Home tab.
func (s *Server) HomePublished(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.home.byUser[user]; h != nil {
		return h.published
	}
	return 0
}

// WaitHomeView waits until user's Home tab, as last published, matches
// match (nil: any published tab).
func (s *Server) WaitHomeView(ctx context.Context, user string, match func(View) bool) (View, error) {
	return waitFirst(ctx, "a Home tab published for "+user, func() []View {
		if v, ok := s.HomeView(user); ok {
			return []View{v}
		}
		return nil
	}, match, summarizeHome)
}

// summarizeHome says briefly what Home tab there is, for a failing wait.
func summarizeHome(views []View) string {
	if len(views) == 0 {
		return "no Home tab published"
	}
	return fmt.Sprintf("%s (%d bytes of blocks): %s", views[0].ID, len(views[0].Blocks), clip(string(views[0].Blocks), 200))
}

// eventCallback is an Events API event as Slack posts it
// (https://docs.slack.dev/apis/events-api/#callback-field).
type eventCallback struct {
	Token              string            `json:"token"`
	TeamID             string            `json:"team_id"`
	APIAppID           string            `json:"api_app_id"`
	Event              appHomeOpened     `json:"event"`
	Type               string            `json:"type"`
	EventID            string            `json:"event_id"`
	EventTime          int64             `json:"event_time"`
	Authorizations     []eventAuthorized `json:"authorizations"`
	IsExtSharedChannel bool              `json:"is_ext_shared_channel"`
	EventContext       string            `json:"event_context"`
}

// appHomeOpened is the event of https://docs.slack.dev/reference/events/app_home_opened.
type appHomeOpened struct {
	Type    string    `json:"type"`
	User    string    `json:"user"`
	Channel string    `json:"channel"` // the app's DM with the user
	Tab     string    `json:"tab"`
	EventTS string    `json:"event_ts"`
	View    *wireView `json:"view,omitempty"` // the tab as last published; absent before the first publish
}

type eventAuthorized struct {
	EnterpriseID        *string `json:"enterprise_id"`
	TeamID              string  `json:"team_id"`
	UserID              string  `json:"user_id"`
	IsBot               bool    `json:"is_bot"`
	IsEnterpriseInstall bool    `json:"is_enterprise_install"`
}

// OpenHome opens the app's Home tab as userID: it posts a signed
// app_home_opened event (tab "home", with the tab as last published) to
// AppURL+EventsPath, as Slack does each time a person opens the tab. What
// the app publishes in answer shows in HomeView.
func (s *Server) OpenHome(ctx context.Context, userID string) (Reply, error) {
	s.mu.Lock()
	if s.home.disabled {
		s.mu.Unlock()
		return Reply{}, errors.New("fakeslack: the app's Home tab is not enabled: nobody can open it")
	}
	if _, known := s.users[userID]; !known {
		s.mu.Unlock()
		return Reply{}, fmt.Errorf("fakeslack: unknown user %q cannot open the Home tab", userID)
	}
	now := s.opts.Now()
	s.home.events++
	ev := eventCallback{
		Token:    verificationToken,
		TeamID:   s.opts.TeamID,
		APIAppID: AppID,
		Event: appHomeOpened{
			Type: "app_home_opened", User: userID, Channel: dmChannel(userID), Tab: "home",
			EventTS: fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000),
		},
		Type: "event_callback",
		// Unique across fake servers too, as Slack's are: a bot remembering
		// deliveries in its database sees a new fake Slack after a restart.
		EventID:        fmt.Sprintf("Ev%d%s", s.home.events, strings.ToUpper(s.instance)),
		EventTime:      now.Unix(),
		Authorizations: []eventAuthorized{{TeamID: s.opts.TeamID, UserID: BotUserID, IsBot: true}},
		EventContext:   fmt.Sprintf("4-fake-%d", s.home.events),
	}
	if h := s.home.byUser[userID]; h != nil {
		v := s.wireHome(h)
		ev.Event.View = &v
	}
	s.mu.Unlock()
	body, err := json.Marshal(ev)
	if err != nil {
		return Reply{}, fmt.Errorf("fakeslack: encoding app_home_opened: %w", err)
	}
	return s.send(ctx, EventsPath, "application/json", body, now)
}

// homeActionsPayload is a block_actions from a Home tab: its container is
// the view, the view comes along, and there is no channel, message or
// response_url (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload).
type homeActionsPayload struct {
	Type                string          `json:"type"`
	User                payloadUser     `json:"user"`
	APIAppID            string          `json:"api_app_id"`
	Token               string          `json:"token"`
	Container           homeContainer   `json:"container"`
	TriggerID           string          `json:"trigger_id"`
	Team                payloadTeam     `json:"team"`
	Enterprise          *payloadTeam    `json:"enterprise"` // always null: not an Enterprise Grid workspace
	IsEnterpriseInstall bool            `json:"is_enterprise_install"`
	View                wireView        `json:"view"`
	Actions             []payloadAction `json:"actions"`
}

type homeContainer struct {
	Type   string `json:"type"` // "view"
	ViewID string `json:"view_id"`
}

// ClickHome clicks the button actionID on userID's Home tab, as last
// published: the first one whose value is value, or the first one at all
// when value is "". It posts a signed block_actions payload to
// AppURL+InteractionsPath, with a trigger_id for a dialog. It fails if the
// tab has no such button.
func (s *Server) ClickHome(ctx context.Context, userID, actionID, value string) (Reply, error) {
	s.mu.Lock()
	h := s.home.byUser[userID]
	if h == nil {
		s.mu.Unlock()
		return Reply{}, fmt.Errorf("fakeslack: %s has no Home tab to click in: the app never published one", userID)
	}
	elems, err := interactiveElements(h.Blocks)
	if err != nil {
		s.mu.Unlock()
		return Reply{}, err
	}
	var clicked *element
	for i, e := range elems {
		if e.ActionID == actionID && (value == "" || e.Value == value) {
			clicked = &elems[i]
			break
		}
	}
	switch {
	case clicked == nil:
		s.mu.Unlock()
		return Reply{}, fmt.Errorf("fakeslack: %s's Home tab has no element with action_id %q and value %q", userID, actionID, value)
	case clicked.Type != "button":
		s.mu.Unlock()
		return Reply{}, fmt.Errorf("fakeslack: clicking a %s (action_id %q) on a Home tab is not supported", clicked.Type, actionID)
	}
	now := s.opts.Now()
	payload := homeActionsPayload{
		Type:      "block_actions",
		User:      payloadUser{ID: userID, Username: s.userName(userID), Name: s.userName(userID), TeamID: s.teamOf(userID)},
		APIAppID:  AppID,
		Token:     verificationToken,
		Container: homeContainer{Type: "view", ViewID: h.ID},
		TriggerID: s.triggerIDLocked(userID),
		Team:      payloadTeam{ID: s.opts.TeamID, Domain: TeamDomain},
		View:      s.wireHome(h),
		Actions: []payloadAction{{
			ActionID: clicked.ActionID, BlockID: clicked.blockID, Type: clicked.Type,
			Text: clicked.Text, Value: clicked.Value, Style: clicked.Style,
			ActionTS: fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000),
		}},
	}
	s.mu.Unlock()
	data, err := json.Marshal(payload)
	if err != nil {
		return Reply{}, fmt.Errorf("fakeslack: encoding the click: %w", err)
	}
	return s.send(ctx, InteractionsPath, formContentType, []byte("payload="+url.QueryEscape(string(data))), now)
}
