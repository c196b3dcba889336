package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/kaizalabot/kaizalabot/fakeslack"
)

// commandRequest is POST /api/command: type the slash command with Text as
// User in Channel.
type commandRequest struct {
	User    string `json:"user"`
	Channel string `json:"channel"`
	Text    string `json:"text"` // what follows the command, e.g. "plan <subscription> STANDARDPACK"
}

// clickRequest is POST /api/click: click the element ActionID of the message
// TS as User, with Selections (action_id -> option value) chosen in the
// message's selects beforehand. With Home, the click is on the button
// ActionID with Value of User's Home tab instead, and Channel and TS are
// not used.
type clickRequest struct {
	User       string            `json:"user"`
	Channel    string            `json:"channel"`
	TS         string            `json:"ts"`
	ActionID   string            `json:"actionId"`
	Selections map[string]string `json:"selections"`
	Home       bool              `json:"home,omitempty"`
	Value      string            `json:"value,omitempty"`
}

// homeRequest is POST /api/home: User opens the app's Home tab, which sends
// the bot a signed app_home_opened, as Slack does each time.
type homeRequest struct {
	User string `json:"user"`
}

// homeView is GET /api/home?user=U…: the Home tab the bot last published
// for User (Published false when it never did).
type homeView struct {
	User      string          `json:"user"`
	Published bool            `json:"published"`
	ID        string          `json:"id,omitempty"`
	Blocks    json.RawMessage `json:"blocks"` // as Slack shows them, with their block_ids
}

// submitRequest is POST /api/submit: submit User's open modal View with
// Values (action_id -> what was typed into each plain_text_input).
type submitRequest struct {
	User   string            `json:"user"`
	View   string            `json:"view"`
	Values map[string]string `json:"values"`
}

// closeRequest is POST /api/close: User cancels their open modal View.
type closeRequest struct {
	User string `json:"user"`
	View string `json:"view"`
}

// submitResult is how the bot answered a submission: the modal stays open
// when the bot answered with errors (shown under their inputs) or failed.
type submitResult struct {
	driveResult
	Open   bool              `json:"open"`
	Errors map[string]string `json:"errors,omitempty"` // block_id -> the bot's message
}

// closeResult answers POST /api/close.
type closeResult struct {
	View   string `json:"view"`
	Closed bool   `json:"closed"` // always true: a view that cannot be closed is a 400
}

// driveResult is how the bot answered a command or a click. What it says
// back arrives through the fake Slack (an ephemeral, an update, a reply).
type driveResult struct {
	Status    int   `json:"status"`    // the bot's HTTP status
	LatencyMS int64 `json:"latencyMs"` // from sending to reading its whole answer
}

func (c *console) serveCommand(w http.ResponseWriter, r *http.Request) {
	var req commandRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := c.checkActor(req.User, req.Channel); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), driveTimeout)
	defer cancel()
	reply, err := c.slack.Command(ctx, req.User, req.Channel, req.Text)
	if err != nil {
		writeError(w, http.StatusBadRequest, "sending the command: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, driveResult{Status: reply.Status, LatencyMS: reply.Latency.Milliseconds()})
}

func (c *console) serveClick(w http.ResponseWriter, r *http.Request) {
	var req clickRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Home {
		c.clickHome(w, r, req)
		return
	}
	if err := c.checkActor(req.User, req.Channel); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.TS == "" || req.ActionID == "" {
		writeError(w, http.StatusBadRequest, "a click needs the message's ts and the element's actionId")
		return
	}
	msg, found := c.slack.Message(req.Channel, req.TS)
	switch {
	case !found:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("no message %s in channel %s: it may have been deleted", req.TS, req.Channel))
		return
	case msg.Ephemeral && msg.For != req.User:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("message %s is only visible to %s", req.TS, msg.For))
		return
	}
	var opts []fakeslack.ClickOption
	for _, actionID := range slices.Sorted(maps.Keys(req.Selections)) {
		opts = append(opts, fakeslack.Select(actionID, req.Selections[actionID]))
	}
	ctx, cancel := context.WithTimeout(r.Context(), driveTimeout)
	defer cancel()
	reply, err := c.slack.Click(ctx, req.User, msg, req.ActionID, opts...)
	if err != nil {
		writeError(w, http.StatusBadRequest, "clicking "+strconv.Quote(req.ActionID)+": "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, driveResult{Status: reply.Status, LatencyMS: reply.Latency.Milliseconds()})
}

// clickHome clicks a button of the persona's Home tab.
func (c *console) clickHome(w http.ResponseWriter, r *http.Request, req clickRequest) {
	if err := c.checkUser(req.User); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.ActionID == "" {
		writeError(w, http.StatusBadRequest, "a click on the Home tab needs the button's actionId")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), driveTimeout)
	defer cancel()
	reply, err := c.slack.ClickHome(ctx, req.User, req.ActionID, req.Value)
	if err != nil {
		writeError(w, http.StatusBadRequest, "clicking "+strconv.Quote(req.ActionID)+" on the Home tab: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, driveResult{Status: reply.Status, LatencyMS: reply.Latency.Milliseconds()})
}

// serveOpenHome opens the persona's Home tab: the bot hears app_home_opened
// and publishes the tab, which GET /api/home then shows.
func (c *console) serveOpenHome(w http.ResponseWriter, r *http.Request) {
	var req homeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := c.checkUser(req.User); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), driveTimeout)
	defer cancel()
	reply, err := c.slack.OpenHome(ctx, req.User)
	if err != nil {
		writeError(w, http.StatusBadRequest, "opening the Home tab: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, driveResult{Status: reply.Status, LatencyMS: reply.Latency.Milliseconds()})
}

// serveHome answers GET /api/home?user=U…: the persona's Home tab as the
// bot last published it.
func (c *console) serveHome(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if err := c.checkUser(user); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	answer := homeView{User: user, Blocks: json.RawMessage("[]")}
	if v, published := c.slack.HomeView(user); published {
		answer.Published, answer.ID, answer.Blocks = true, v.ID, v.BlocksWithIDs()
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, answer)
}

func (c *console) serveSubmit(w http.ResponseWriter, r *http.Request) {
	var req submitRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	view, err := c.openView(req.User, req.View)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), driveTimeout)
	defer cancel()
	reply, err := c.slack.SubmitView(ctx, req.User, view, req.Values)
	if err != nil {
		writeError(w, http.StatusBadRequest, "submitting "+strconv.Quote(view.Title)+": "+err.Error())
		return
	}
	result := submitResult{driveResult: driveResult{Status: reply.Status, LatencyMS: reply.Latency.Milliseconds()}}
	for _, v := range c.slack.Views(req.User) {
		if v.ID == view.ID {
			result.Open, result.Errors = true, v.Errors
		}
	}
	writeJSON(w, http.StatusOK, result)
}

func (c *console) serveClose(w http.ResponseWriter, r *http.Request) {
	var req closeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := c.openView(req.User, req.View); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := c.slack.CloseView(req.User, req.View); err != nil { // closed meanwhile
		writeError(w, http.StatusBadRequest, "closing the view: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, closeResult{View: req.View, Closed: true})
}

// openView finds the modal viewID that user, a persona, has open.
func (c *console) openView(user, viewID string) (fakeslack.View, error) {
	if err := c.checkUser(user); err != nil {
		return fakeslack.View{}, err
	}
	if viewID == "" {
		return fakeslack.View{}, errors.New("name the modal: send its id as view")
	}
	for _, v := range c.slack.Views(user) {
		if v.ID == viewID {
			return v, nil
		}
	}
	return fakeslack.View{}, fmt.Errorf("%s has no open view %q: it may have been submitted or closed already", user, viewID)
}

// checkUser refuses a user who is not a persona.
func (c *console) checkUser(user string) error {
	if _, known := c.persona[user]; !known {
		return fmt.Errorf("unknown user %q: use one of the personas (%s)", user, c.personaIDs())
	}
	return nil
}

// checkActor refuses a user who is not a persona and a channel not in the sidebar.
func (c *console) checkActor(user, channel string) error {
	if err := c.checkUser(user); err != nil {
		return err
	}
	if _, known := c.channel[channel]; !known {
		return fmt.Errorf("unknown channel %q: use one of the console's channels", channel)
	}
	return nil
}

// serveEvents streams a "changed" event for every change to the fake
// Slack, until the visitor goes away. The page then reads /api/state again.
func (c *console) serveEvents(w http.ResponseWriter, r *http.Request) {
	changes, stop := c.slack.Subscribe()
	defer stop()
	rc := http.NewResponseController(w)
	// The stream lives as long as the page; a server-wide write timeout
	// must not cut it. Not every ResponseWriter supports deadlines.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	// A first comment tells the page at once that the stream is up.
	if _, err := io.WriteString(w, ": connected\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	ticker := time.NewTicker(heartbeat)
	defer ticker.Stop()
	for {
		var frame string
		select {
		case <-r.Context().Done():
			return
		case change, open := <-changes:
			if !open {
				return
			}
			event := map[string]string{"kind": change.Kind, "channel": change.Message.Channel}
			if change.View.ID != "" { // a modal opened, changed or closed: it is the user's, in no channel
				event = map[string]string{"kind": change.Kind, "user": change.View.User}
			}
			data, _ := json.Marshal(event) // strings always marshal
			frame = "event: changed\ndata: " + string(data) + "\n\n"
		case <-ticker.C:
			frame = ": heartbeat\n\n"
		}
		if _, err := io.WriteString(w, frame); err != nil || rc.Flush() != nil {
			return
		}
	}
}

// decodeJSON reads exactly one JSON object of at most maxRequestBytes into v,
// refusing fields v does not have; its error is meant for the caller.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return fmt.Errorf("the request body is larger than %d KiB", maxRequestBytes>>10)
	case errors.Is(err, io.EOF):
		return errors.New("the request body is empty: send a JSON object")
	}
	return fmt.Errorf("the request body is not the JSON object expected: %w", err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the visitor went away; nothing to do
}

// writeError answers {"error": message}.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}
