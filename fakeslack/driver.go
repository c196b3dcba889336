package fakeslack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Paths of the bot under test that Slack posts to, under AppURL.
const (
	CommandsPath     = "/slack/commands"
	InteractionsPath = "/slack/interactions"
)

const (
	formContentType = "application/x-www-form-urlencoded"
	maxReplyBytes   = 1 << 20
)

// Reply is the app's HTTP answer to a request the driver sent.
type Reply struct {
	Status  int
	Body    []byte
	Header  http.Header
	Latency time.Duration // from sending the request to reading the whole answer
}

// Sign returns Slack's request signature of body sent at ts:
// "v0=" + hex HMAC-SHA256("v0:<unix ts>:<body>") keyed by secret.
func Sign(secret string, ts time.Time, body []byte) (signature string) {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts.Unix())
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Signed posts an arbitrary body to AppURL+path, signed with the signing
// secret as if sent at `at`: for tests of stale, replayed or tampered requests.
func (s *Server) Signed(ctx context.Context, path, contentType string, body []byte, at time.Time) (Reply, error) {
	return s.post(ctx, path, contentType, body, at)
}

// Command types the slash command with text as userID in channelID: it
// posts a form body like Slack's to AppURL+CommandsPath. The app's immediate
// answer is recorded as Slack would show it: a JSON message (or plain text)
// becomes an ephemeral for userID, an in_channel one a channel message after
// the echoed command line. Its response_url points back at this server.
func (s *Server) Command(ctx context.Context, userID, channelID, text string) (Reply, error) {
	line := s.opts.Command
	if text != "" {
		line += " " + text
	}
	s.mu.Lock()
	id, responseURL, err := s.newResponseURLLocked(&responseURL{user: userID, channel: channelID, command: line})
	trigger := s.triggerIDLocked(userID)
	s.mu.Unlock()
	if err != nil {
		return Reply{}, err
	}
	body := formBody(
		"token", verificationToken,
		// The user's own team: a Slack Connect user's differs from the app's.
		"team_id", s.teamOf(userID),
		"team_domain", TeamDomain,
		"channel_id", channelID,
		"channel_name", s.channelName(channelID),
		"user_id", userID,
		"user_name", s.userName(userID),
		"command", s.opts.Command,
		"text", text,
		"api_app_id", AppID,
		"is_enterprise_install", "false",
		"response_url", responseURL,
		"trigger_id", trigger,
	)
	reply, err := s.send(ctx, CommandsPath, formContentType, body, s.opts.Now())
	if err != nil {
		return reply, err
	}
	if reply.Status == http.StatusOK {
		s.recordCommandReply(id, reply.Body)
	}
	return reply, nil
}

// ClickOption changes what a Click sends.
type ClickOption func(*clickOptions)

type clickOptions struct {
	selected map[string]string // action_id -> value of the chosen option
}

// Select chooses the option with value in the static_select actionID before
// the click: it shows in state.values, and is the action's selected_option
// when the click is on that select.
func Select(actionID, value string) ClickOption {
	return func(o *clickOptions) { o.selected[actionID] = value }
}

// Click clicks the element actionID (a button or a static_select) of msg as
// userID: it posts a signed block_actions payload to AppURL+InteractionsPath.
// msg is sent as given, so clicking an old copy replays what a user saw
// before an update. Its response_url points back at this server and acts on
// msg. It fails if msg has no element actionID.
func (s *Server) Click(ctx context.Context, userID string, msg Message, actionID string, opts ...ClickOption) (Reply, error) {
	co := clickOptions{selected: map[string]string{}}
	for _, opt := range opts {
		opt(&co)
	}
	payload, err := s.blockActions(userID, msg, actionID, co)
	if err != nil {
		return Reply{}, err
	}
	body := []byte("payload=" + url.QueryEscape(string(payload)))
	return s.send(ctx, InteractionsPath, formContentType, body, s.opts.Now())
}

// blockActionsPayload is a block_actions interaction, shaped like
// slack-samples/block-actions-message.json.
type blockActionsPayload struct {
	Type                string           `json:"type"`
	User                payloadUser      `json:"user"`
	APIAppID            string           `json:"api_app_id"`
	Token               string           `json:"token"`
	Container           payloadContainer `json:"container"`
	TriggerID           string           `json:"trigger_id"`
	Team                payloadTeam      `json:"team"`
	Enterprise          *payloadTeam     `json:"enterprise"` // always null: not an Enterprise Grid workspace
	IsEnterpriseInstall bool             `json:"is_enterprise_install"`
	Channel             payloadChannel   `json:"channel"`
	Message             *wireMessage     `json:"message,omitempty"` // absent for an ephemeral, as from Slack
	State               payloadState     `json:"state"`
	ResponseURL         string           `json:"response_url"`
	Actions             []payloadAction  `json:"actions"`
}

type payloadUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	TeamID   string `json:"team_id"`
}

type payloadContainer struct {
	Type        string `json:"type"`
	MessageTS   string `json:"message_ts"`
	ThreadTS    string `json:"thread_ts,omitempty"`
	ChannelID   string `json:"channel_id"`
	IsEphemeral bool   `json:"is_ephemeral"`
}

type payloadTeam struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`
}

type payloadChannel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type payloadState struct {
	Values map[string]map[string]stateValue `json:"values"`
}

type stateValue struct {
	Type           string          `json:"type"`
	SelectedOption json.RawMessage `json:"selected_option"` // null when nothing is chosen
}

type payloadAction struct {
	ActionID       string          `json:"action_id"`
	BlockID        string          `json:"block_id"`
	Text           json.RawMessage `json:"text,omitempty"`
	Value          string          `json:"value,omitempty"`
	Style          string          `json:"style,omitempty"`
	Type           string          `json:"type"`
	SelectedOption json.RawMessage `json:"selected_option,omitempty"`
	Placeholder    json.RawMessage `json:"placeholder,omitempty"`
	ActionTS       string          `json:"action_ts"`
}

// blockActions builds the JSON payload of a click and registers its response_url.
func (s *Server) blockActions(userID string, msg Message, actionID string, co clickOptions) ([]byte, error) {
	if msg.Channel == "" || msg.TS == "" {
		return nil, errors.New("fakeslack: Click needs a recorded message (channel and ts)")
	}
	elems, err := interactiveElements(msg.Blocks)
	if err != nil {
		return nil, err
	}
	// state.values holds every static_select of the message: the option
	// chosen with Select, else its initial option, else null.
	state := payloadState{Values: map[string]map[string]stateValue{}}
	unused := maps.Clone(co.selected)
	var clicked *element
	for i, e := range elems {
		if e.ActionID == actionID && clicked == nil {
			clicked = &elems[i]
		}
		if e.Type != "static_select" {
			continue
		}
		selected := e.InitialOption
		if value, chosen := co.selected[e.ActionID]; chosen {
			if selected = e.option(value); selected == nil {
				return nil, fmt.Errorf("fakeslack: static_select %q has no option with value %q", e.ActionID, value)
			}
			delete(unused, e.ActionID)
		}
		if state.Values[e.blockID] == nil {
			state.Values[e.blockID] = map[string]stateValue{}
		}
		state.Values[e.blockID][e.ActionID] = stateValue{Type: e.Type, SelectedOption: selected}
	}
	if clicked == nil {
		return nil, fmt.Errorf("fakeslack: message %s/%s has no element with action_id %q", msg.Channel, msg.TS, actionID)
	}
	if len(unused) > 0 {
		return nil, fmt.Errorf("fakeslack: message %s/%s has no static_select with action_id %q", msg.Channel, msg.TS, slices.Sorted(maps.Keys(unused)))
	}

	now := s.opts.Now()
	action := payloadAction{
		ActionID: clicked.ActionID,
		BlockID:  clicked.blockID,
		Type:     clicked.Type,
		ActionTS: fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000),
	}
	switch clicked.Type {
	case "button":
		action.Text, action.Value, action.Style = clicked.Text, clicked.Value, clicked.Style
	case "static_select":
		// Choosing an option is what fires a select's action.
		if _, chosen := co.selected[actionID]; !chosen {
			return nil, fmt.Errorf("fakeslack: clicking static_select %q needs Select(%q, value)", actionID, actionID)
		}
		action.SelectedOption = state.Values[clicked.blockID][actionID].SelectedOption
		action.Placeholder = clicked.Placeholder
	default:
		return nil, fmt.Errorf("fakeslack: clicking a %s (action_id %q) is not supported", clicked.Type, actionID)
	}

	s.mu.Lock()
	_, responseURL, err := s.newResponseURLLocked(&responseURL{user: userID, channel: msg.Channel, origin: msg.TS})
	trigger := s.triggerIDLocked(userID)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	payload := blockActionsPayload{
		Type:        "block_actions",
		User:        payloadUser{ID: userID, Username: s.userName(userID), Name: s.userName(userID), TeamID: s.teamOf(userID)},
		APIAppID:    AppID,
		Token:       verificationToken,
		Container:   payloadContainer{Type: "message", MessageTS: msg.TS, ThreadTS: msg.ThreadTS, ChannelID: msg.Channel, IsEphemeral: msg.Ephemeral},
		TriggerID:   trigger,
		Team:        payloadTeam{ID: s.opts.TeamID, Domain: TeamDomain},
		Channel:     payloadChannel{ID: msg.Channel, Name: s.channelName(msg.Channel)},
		State:       state,
		ResponseURL: responseURL,
		Actions:     []payloadAction{action},
	}
	if !msg.Ephemeral {
		m := s.wire(&msg)
		payload.Message = &m
	}
	return json.Marshal(payload)
}

// triggerIDLocked returns a fresh trigger_id for an action of userID: it
// opens one view for userID with views.open, within triggerLifetime.
func (s *Server) triggerIDLocked(userID string) string {
	s.nextID++
	now := s.opts.Now()
	// Unique across fake servers too (as Slack's are): a bot that remembers
	// deliveries in its database sees a new fake Slack after a restart.
	id := fmt.Sprintf("%d.%d.%s.faketrigger", s.nextID, now.Unix(), s.instance)
	s.triggers[id] = &trigger{user: userID, issued: now}
	return id
}

// formBody encodes key/value pairs in the given order, as Slack orders a
// slash command's fields (url.Values.Encode would sort them).
func formBody(kv ...string) []byte {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return []byte(b.String())
}

// send delivers what Slack sends to the app's path: over the app's Socket
// Mode connection when Options.SocketMode is on (a command, an interaction,
// or a JSON Events API body; the ack's payload is the Reply's Body), else as
// a signed POST.
func (s *Server) send(ctx context.Context, path, contentType string, body []byte, at time.Time) (Reply, error) {
	if s.opts.SocketMode {
		return s.deliver(ctx, path, contentType, body)
	}
	return s.post(ctx, path, contentType, body, at)
}

// post posts a signed request to the app and reads its whole answer.
func (s *Server) post(ctx context.Context, path, contentType string, body []byte, at time.Time) (Reply, error) {
	s.mu.Lock()
	app := s.appURL
	s.mu.Unlock()
	if app == "" {
		return Reply{}, errors.New("fakeslack: no app to send to: set Options.AppURL or call SetAppURL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, app+path, bytes.NewReader(body))
	if err != nil {
		return Reply{}, fmt.Errorf("fakeslack: building request to %s: %w", path, err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("X-Slack-Signature", Sign(s.opts.SigningSecret, at, body))

	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return Reply{}, fmt.Errorf("fakeslack: posting to %s: %w", path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return Reply{}, fmt.Errorf("fakeslack: reading the answer from %s: %w", path, err)
	}
	return Reply{Status: resp.StatusCode, Body: answer, Header: resp.Header, Latency: time.Since(start)}, nil
}
