package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Message is a message as the fake recorded it: a channel message, a thread
// reply or an ephemeral.
type Message struct {
	Channel, TS, ThreadTS string
	User                  string          // who posted: BotUserID for the app, or the person whose command was echoed
	Text                  string          // the text as sent (already escaped by the sender)
	Blocks                json.RawMessage // as sent (a JSON array), nil if none
	Ephemeral             bool
	For                   string    // ephemeral recipient
	Broadcast             bool      // a thread reply also shown in the channel (reply_broadcast)
	Updates               int       // how many times chat.update or replace_original changed it
	History               []Message // previous versions, oldest first (without their own History)
	Posted, Edited        time.Time
}

// Change kinds sent to subscribers.
const (
	ChangeMessage   = "message"   // a new channel message or thread reply
	ChangeUpdate    = "update"    // a message (or ephemeral) was replaced
	ChangeEphemeral = "ephemeral" // a new ephemeral
	ChangeDelete    = "delete"    // a message (or ephemeral) was deleted; Message is its last version

	ChangeViewOpened  = "view_opened"  // the app opened a modal for View.User (views.open)
	ChangeViewUpdated = "view_updated" // the app answered a submission with errors, now in View.Errors
	ChangeViewClosed  = "view_closed"  // a modal closed: submitted, or cancelled by View.User
)

// Change is one change to the model, as sent to subscribers.
type Change struct {
	Kind    string  // one of the Change* kinds
	Message Message // for the message kinds; zero for the view kinds
	View    View    // for the view kinds; zero for the message kinds
}

// subscriberBuffer is how many changes a subscriber may lag behind before
// changes are dropped for it.
const subscriberBuffer = 256

// pollInterval is how often the Wait methods look at the model.
const pollInterval = 5 * time.Millisecond

// clone is a deep copy, so callers can never touch the model.
func (m Message) clone() Message {
	m.Blocks = bytes.Clone(m.Blocks)
	if m.History != nil {
		history := make([]Message, len(m.History))
		for i, h := range m.History {
			history[i] = h.clone()
		}
		m.History = history
	}
	return m
}

// isTopLevel reports whether the message shows in the channel itself.
func (m *Message) isTopLevel() bool { return m.ThreadTS == "" || m.Broadcast }

// wireMessage is a message as Slack's JSON shows it (API answers, interaction payloads).
type wireMessage struct {
	Type     string          `json:"type"`
	User     string          `json:"user,omitempty"`
	BotID    string          `json:"bot_id,omitempty"`
	AppID    string          `json:"app_id,omitempty"`
	Team     string          `json:"team,omitempty"`
	Text     string          `json:"text"`
	TS       string          `json:"ts"`
	ThreadTS string          `json:"thread_ts,omitempty"`
	Blocks   json.RawMessage `json:"blocks,omitempty"`
}

// wire is m as Slack would show it.
func (s *Server) wire(m *Message) wireMessage {
	w := wireMessage{Type: "message", User: m.User, Team: s.opts.TeamID, Text: m.Text, TS: m.TS, ThreadTS: m.ThreadTS, Blocks: m.Blocks}
	if m.User == BotUserID {
		w.BotID, w.AppID = BotID, AppID
	}
	return w
}

// touchChannelLocked remembers a channel the first time something happens in it.
func (s *Server) touchChannelLocked(channel string) {
	if !slices.Contains(s.channels, channel) {
		s.channels = append(s.channels, channel)
	}
}

// addLocked records a new channel message, thread reply or ephemeral.
func (s *Server) addLocked(m *Message) {
	s.touchChannelLocked(m.Channel)
	if m.Ephemeral {
		s.ephemerals = append(s.ephemerals, m)
		s.emitLocked(ChangeEphemeral, m)
		return
	}
	s.posts[m.Channel] = append(s.posts[m.Channel], m)
	s.emitLocked(ChangeMessage, m)
}

// findLocked finds a message, thread reply or ephemeral by channel and ts.
func (s *Server) findLocked(channel, ts string) *Message {
	if m := s.findPostLocked(channel, ts); m != nil {
		return m
	}
	for _, m := range s.ephemerals {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// findPostLocked finds a channel message or thread reply (never an ephemeral).
func (s *Server) findPostLocked(channel, ts string) *Message {
	for _, m := range s.posts[channel] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// reviseLocked replaces a message's content, keeping the old version in History.
func (s *Server) reviseLocked(m *Message, text string, blocks json.RawMessage) {
	previous := m.clone()
	previous.History = nil
	m.History = append(m.History, previous)
	m.Text, m.Blocks = text, blocks
	m.Updates++
	m.Edited = s.opts.Now()
	s.emitLocked(ChangeUpdate, m)
}

// deleteLocked removes a message or ephemeral; replies to a deleted parent stay.
func (s *Server) deleteLocked(channel, ts string) bool {
	posts := s.posts[channel]
	if i := slices.IndexFunc(posts, func(m *Message) bool { return m.TS == ts }); i >= 0 {
		m := posts[i]
		s.posts[channel] = slices.Delete(posts, i, i+1)
		s.emitLocked(ChangeDelete, m)
		return true
	}
	if i := slices.IndexFunc(s.ephemerals, func(m *Message) bool { return m.Channel == channel && m.TS == ts }); i >= 0 {
		m := s.ephemerals[i]
		s.ephemerals = slices.Delete(s.ephemerals, i, i+1)
		s.emitLocked(ChangeDelete, m)
		return true
	}
	return false
}

// emitLocked tells every subscriber, dropping the change for one that lags.
func (s *Server) emitLocked(kind string, m *Message) {
	for _, ch := range s.subscribers {
		select {
		case ch <- Change{Kind: kind, Message: m.clone()}:
		default:
		}
	}
}

// Subscribe sends every later change to the model on events, without ever
// blocking the server: a subscriber more than a few hundred changes behind
// misses changes. cancel stops the events and closes the channel.
func (s *Server) Subscribe() (events <-chan Change, cancel func()) {
	ch := make(chan Change, subscriberBuffer)
	s.mu.Lock()
	id := s.nextSub
	s.nextSub++
	s.subscribers[id] = ch
	s.mu.Unlock()
	var done bool
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !done {
			done = true
			delete(s.subscribers, id)
			close(ch)
		}
	}
}

// Channels lists the channels where anything was posted, in order of first activity.
func (s *Server) Channels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.channels)
}

// Messages lists a channel's top-level messages (and broadcast replies), oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.posts[channel] {
		if m.isTopLevel() {
			out = append(out, m.clone())
		}
	}
	return out
}

// Thread lists the replies to the message ts, oldest first.
func (s *Server) Thread(channel, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.posts[channel] {
		if m.ThreadTS == ts {
			out = append(out, m.clone())
		}
	}
	return out
}

// Message finds a message, thread reply or ephemeral by channel and ts.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findLocked(channel, ts); m != nil {
		return m.clone(), true
	}
	return Message{}, false
}

// Ephemerals lists every ephemeral shown to user, oldest first: from
// chat.postEphemeral, from response_url replies and from the immediate
// answer to a command.
func (s *Server) Ephemerals(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.ephemerals {
		if m.For == user {
			out = append(out, m.clone())
		}
	}
	return out
}

// Calls counts the calls of a Web API method, whatever their outcome;
// "response_url" counts the posts to response URLs.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// WaitMessage waits for the oldest top-level message of channel that
// matches (nil matches any).
func (s *Server) WaitMessage(ctx context.Context, channel string, match func(Message) bool) (Message, error) {
	return waitFirst(ctx, "a message in "+channel, func() []Message { return s.Messages(channel) }, match, summarize)
}

// WaitThreadReply waits for the oldest reply to ts that matches (nil matches any).
func (s *Server) WaitThreadReply(ctx context.Context, channel, ts string, match func(Message) bool) (Message, error) {
	return waitFirst(ctx, "a reply to "+channel+"/"+ts, func() []Message { return s.Thread(channel, ts) }, match, summarize)
}

// WaitEphemeral waits for the oldest ephemeral shown to user that matches (nil matches any).
func (s *Server) WaitEphemeral(ctx context.Context, user string, match func(Message) bool) (Message, error) {
	return waitFirst(ctx, "an ephemeral for "+user, func() []Message { return s.Ephemerals(user) }, match, summarize)
}

// WaitUpdate waits until the message ts has been changed at least minUpdates times.
func (s *Server) WaitUpdate(ctx context.Context, channel, ts string, minUpdates int) (Message, error) {
	what := fmt.Sprintf("%d updates of %s/%s", minUpdates, channel, ts)
	return waitFirst(ctx, what, func() []Message {
		if m, ok := s.Message(channel, ts); ok {
			return []Message{m}
		}
		return nil
	}, func(m Message) bool { return m.Updates >= minUpdates }, summarize)
}

// waitFirst polls list until one of its items matches or ctx ends; the
// error then describes what was there, to make a failing test readable.
func waitFirst[T any](ctx context.Context, what string, list func() []T, match func(T) bool, describe func([]T) string) (T, error) {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		seen := list()
		for _, item := range seen {
			if match == nil || match(item) {
				return item, nil
			}
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, fmt.Errorf("fakeslack: waiting for %s (seen: %s): %w", what, describe(seen), ctx.Err())
		case <-ticker.C:
		}
	}
}

// summarize lists the last few messages briefly.
func summarize(msgs []Message) string {
	if len(msgs) == 0 {
		return "nothing"
	}
	const keep, width = 5, 60
	var parts []string
	if len(msgs) > keep {
		parts = append(parts, fmt.Sprintf("%d older", len(msgs)-keep))
		msgs = msgs[len(msgs)-keep:]
	}
	for _, m := range msgs {
		parts = append(parts, fmt.Sprintf("%s %q (%d updates)", m.TS, clip(m.Text, width), m.Updates))
	}
	return strings.Join(parts, "; ")
}
