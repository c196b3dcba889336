package console

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kaizalabot/kaizalabot/fakeslack"
)

// stateView is what GET /api/state answers: everything the page shows, as
// one persona sees it.
type stateView struct {
	Title    string        `json:"title"`
	Command  string        `json:"command"` // the slash command the composer sends, e.g. "/kaizala"
	User     string        `json:"user"`    // the persona this view is for
	Bot      personaView   `json:"bot"`     // the app's bot user, the author of what the bot posts
	Personas []personaView `json:"personas"`
	Channels []channelView `json:"channels"`
	View     *modalView    `json:"view,omitempty"` // the persona's open modal, the newest if several; Slack shows one at a time
}

// modalView is an open modal, for the page to draw over everything.
type modalView struct {
	ID     string          `json:"id"`
	Title  json.RawMessage `json:"title"`            // plain_text objects, as the bot sent them
	Submit json.RawMessage `json:"submit,omitempty"` // absent: the modal has no submit button
	Close  json.RawMessage `json:"close,omitempty"`  // absent: Slack's "Cancel"
	// Blocks are as Slack shows them: every block has its block_id and every
	// input its action_id, made up where the bot sent none, so that errors
	// and submitted values name the same ones the bot sees.
	Blocks json.RawMessage   `json:"blocks"`
	Errors map[string]string `json:"errors,omitempty"` // block_id -> the bot's message from its last answer
}

type personaView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role,omitempty"`
}

type channelView struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Messages []messageView `json:"messages"` // top-level messages and the persona's ephemerals, oldest first
}

// messageView is a message, a thread reply or an ephemeral.
type messageView struct {
	TS        string          `json:"ts"`
	User      string          `json:"user"`
	Text      string          `json:"text"`
	Blocks    json.RawMessage `json:"blocks,omitempty"`
	Time      int64           `json:"time"` // when it was posted, in Unix milliseconds
	Updates   int             `json:"updates"`
	Edited    bool            `json:"edited"`
	Ephemeral bool            `json:"ephemeral,omitempty"` // only visible to the persona
	// ReplyCount counts the thread's replies, as Slack does: not the
	// ephemerals among Replies.
	ReplyCount int           `json:"replyCount"`
	Replies    []messageView `json:"replies,omitempty"`
}

// serveState answers GET /api/state?user=U…; without user it shows the
// first persona's view.
func (c *console) serveState(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if user == "" {
		user = c.personas[0].ID
	}
	if _, known := c.persona[user]; !known {
		writeError(w, http.StatusBadRequest, "unknown user "+strconv.Quote(user)+": use one of the personas ("+c.personaIDs()+")")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, c.state(user))
}

// state reads the fake Slack as user sees it. Each channel is read on its
// own, not in one snapshot: a change made meanwhile triggers another read.
func (c *console) state(user string) stateView {
	v := stateView{
		Title:   c.title,
		Command: fakeslack.DefaultCommand,
		User:    user,
		Bot:     personaView{ID: fakeslack.BotUserID, Name: fakeslack.BotName},
	}
	for _, p := range c.personas {
		v.Personas = append(v.Personas, personaView(p))
	}
	ephemerals := map[string][]fakeslack.Message{}
	for _, m := range c.slack.Ephemerals(user) {
		ephemerals[m.Channel] = append(ephemerals[m.Channel], m)
	}
	for _, ch := range c.channels {
		v.Channels = append(v.Channels, c.channelState(ch, ephemerals[ch.ID]))
	}
	if views := c.slack.Views(user); len(views) > 0 {
		v.View = newModalView(views[len(views)-1])
	}
	return v
}

func newModalView(v fakeslack.View) *modalView {
	var texts struct {
		Title, Submit, Close json.RawMessage
	}
	_ = json.Unmarshal(v.Raw, &texts) // views.open checked the view; a text missing stays absent
	return &modalView{ID: v.ID, Title: texts.Title, Submit: texts.Submit, Close: texts.Close, Blocks: v.BlocksWithIDs(), Errors: v.Errors}
}

// channelState is one channel with its threads; an ephemeral sent into a
// thread shows in that thread, any other in the channel.
func (c *console) channelState(ch ChannelInfo, ephemerals []fakeslack.Message) channelView {
	view := channelView{ID: ch.ID, Name: ch.Name, Messages: []messageView{}}
	threads := map[string]int{} // parent ts -> index in view.Messages
	for _, m := range c.slack.Messages(ch.ID) {
		mv := newMessageView(m)
		if m.ThreadTS == "" { // a broadcast reply shows in the channel but has no thread of its own
			for _, reply := range c.slack.Thread(ch.ID, m.TS) {
				mv.Replies = append(mv.Replies, newMessageView(reply))
			}
			mv.ReplyCount = len(mv.Replies)
			threads[m.TS] = len(view.Messages)
		}
		view.Messages = append(view.Messages, mv)
	}
	for _, e := range ephemerals {
		if i, inThread := threads[e.ThreadTS]; inThread {
			parent := &view.Messages[i]
			parent.Replies = append(parent.Replies, newMessageView(e))
			slices.SortStableFunc(parent.Replies, byTS)
			continue
		}
		view.Messages = append(view.Messages, newMessageView(e))
	}
	slices.SortStableFunc(view.Messages, byTS)
	return view
}

func newMessageView(m fakeslack.Message) messageView {
	return messageView{
		TS:        m.TS,
		User:      m.User,
		Text:      m.Text,
		Blocks:    m.Blocks,
		Time:      m.Posted.UnixMilli(),
		Updates:   m.Updates,
		Edited:    m.Updates > 0,
		Ephemeral: m.Ephemeral,
	}
}

// byTS orders messages by their ts, "<seconds>.<sequence>", compared as
// numbers: both parts may grow a digit.
func byTS(a, b messageView) int {
	aSec, aSeq, _ := strings.Cut(a.TS, ".")
	bSec, bSeq, _ := strings.Cut(b.TS, ".")
	return cmp.Or(compareDigits(aSec, bSec), compareDigits(aSeq, bSeq))
}

// compareDigits compares two decimal numbers of any length.
func compareDigits(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
}

// personaIDs lists the personas' ids for error messages.
func (c *console) personaIDs() string {
	ids := make([]string, len(c.personas))
	for i, p := range c.personas {
		ids[i] = p.ID
	}
	return strings.Join(ids, ", ")
}
