package fakeslack

// Socket Mode as Slack serves it
// (https://docs.slack.dev/apis/events-api/using-socket-mode,
// https://api.slack.com/apis/connections/socket-implement): the app calls
// apps.connections.open with its app-level token (xapp-…) in the
// Authorization header, dials the WebSocket URL it gets, receives
// {"type":"hello"}, then envelopes; it acknowledges each with
// {"envelope_id", "payload"?}. An envelope not acknowledged in time is sent
// again with retry_attempt+1 and retry_reason "timeout". A
// {"type":"disconnect"} asks the app to open a new connection.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode defaults.
const (
	DefaultAppToken = "xapp-1-A0FAKEAPP-fake" // the app-level token accepted when Options.SocketMode is on and Options.AppToken empty
	// DefaultAckTimeout is how long an envelope waits for its ack before it
	// is sent again. Slack's docs give no number for Socket Mode; 3 s is
	// its deadline everywhere else (slack.md §2.3).
	DefaultAckTimeout = 3 * time.Second
)

// Reasons Slack gives in a disconnect message.
const (
	DisconnectRefreshRequested = "refresh_requested" // the connection is old: open a new one
	DisconnectWarning          = "warning"           // the connection closes in about 10 s
	DisconnectLinkDisabled     = "link_disabled"     // Socket Mode was turned off for the app
)

// Envelope types.
const (
	EnvelopeSlashCommands = "slash_commands"
	EnvelopeInteractive   = "interactive"
	EnvelopeEventsAPI     = "events_api"
)

const (
	appsConnectionsOpen = "apps.connections.open"
	socketPath          = "/link/" // where apps.connections.open's URLs point, as Slack's wss://…/link/?ticket=…
	// maxRetryAttempts is how often an envelope is sent again after a late
	// ack, as the Events API retries three times (slack.md §2.4).
	maxRetryAttempts = 3
	// socketPingInterval paces the WebSocket pings Slack sends; slack-go
	// reconnects when none comes for 30 s.
	socketPingInterval = 10 * time.Second
	// disconnectGrace is how long a connection told to disconnect stays
	// open for the app to move to a new one.
	disconnectGrace    = 5 * time.Second
	socketWriteTimeout = 10 * time.Second
)

// Envelope is one delivery over Socket Mode, as it went on the wire (the
// json fields) and what became of it.
type Envelope struct {
	ID                     string          `json:"envelope_id"` // the same on every retry
	Type                   string          `json:"type"`        // EnvelopeSlashCommands, EnvelopeInteractive or EnvelopeEventsAPI
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"` // "" on the first delivery, "timeout" after a late ack

	Connection int             `json:"-"` // the connection it went to: 1 for the first the app opened
	Acked      bool            `json:"-"` // acknowledged in time
	Ack        json.RawMessage `json:"-"` // the payload of its ack, in time or late (IgnoreNextAck), if it had one
}

func (e Envelope) clone() Envelope {
	e.Payload, e.Ack = slices.Clone(e.Payload), slices.Clone(e.Ack)
	return e
}

// socketHub is the fake's Socket Mode side: tickets, open connections and
// envelopes waiting for their ack. The zero value is ready.
type socketHub struct {
	mu         sync.Mutex
	tickets    map[string]bool // issued by apps.connections.open, each good for one dial
	nextTicket int
	conns      []*socketConn // open, oldest first
	opened     int
	nextEnv    int
	waiting    map[string]chan json.RawMessage // envelope id -> where its ack goes
	ignore     int                             // acks still to treat as late
	envelopes  []Envelope
	changed    chan struct{} // closed at every change of conns or envelopes
	pingEvery  time.Duration // between pings; default socketPingInterval (tests shorten it)
}

// socketConn is one WebSocket the app opened.
type socketConn struct {
	id       int
	ws       *websocket.Conn
	writeMu  sync.Mutex // gorilla/websocket allows one writer at a time
	draining bool       // told to disconnect: gets no new envelopes; guarded by socketHub.mu
	done     chan struct{}
	once     sync.Once
}

func (c *socketConn) writeJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(socketWriteTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

func (c *socketConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// changedLocked returns a channel closed at the next change.
func (h *socketHub) changedLocked() <-chan struct{} {
	if h.changed == nil {
		h.changed = make(chan struct{})
	}
	return h.changed
}

func (h *socketHub) notifyLocked() {
	if h.changed != nil {
		close(h.changed)
		h.changed = nil
	}
}

func (h *socketHub) liveLocked() []*socketConn {
	var live []*socketConn
	for _, c := range h.conns {
		if !c.draining {
			live = append(live, c)
		}
	}
	return live
}

// appToken is the app-level token apps.connections.open accepts, "" for none.
func (s *Server) appToken() string {
	if s.opts.AppToken == "" && s.opts.SocketMode {
		return DefaultAppToken
	}
	return s.opts.AppToken
}

func (s *Server) ackTimeout() time.Duration {
	if s.opts.AckTimeout > 0 {
		return s.opts.AckTimeout
	}
	return DefaultAckTimeout
}

// serveConnectionsOpen answers apps.connections.open: a one-use WebSocket
// URL for the app-level token, which must come in the Authorization header
// ("passing it as a POST parameter will result in an error",
// https://docs.slack.dev/reference/methods/apps.connections.open/).
func (s *Server) serveConnectionsOpen(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls[appsConnectionsOpen]++
	base := s.url
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusOK, failure("insecure_request"))
		return
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	want := s.appToken()
	switch {
	case token == "":
		writeJSON(w, http.StatusOK, failure("not_authed"))
		return
	case want != "" && token == want:
	case !strings.HasPrefix(token, "xapp-"):
		// A bot or user token: this method takes only app-level tokens.
		writeJSON(w, http.StatusOK, failure("not_allowed_token_type"))
		return
	default:
		writeJSON(w, http.StatusOK, failure("invalid_auth"))
		return
	}
	if f, injected := s.takeFault(appsConnectionsOpen, params{}); injected {
		f.write(w)
		return
	}
	u, err := url.Parse(base)
	if err != nil || base == "" {
		writeJSON(w, http.StatusOK, failure("internal_error"))
		return
	}
	u.Scheme = map[string]string{"https": "wss"}[u.Scheme]
	if u.Scheme == "" {
		u.Scheme = "ws"
	}
	u.Path = socketPath
	u.RawQuery = url.Values{"ticket": {s.socket.newTicket()}, "app_id": {AppID}}.Encode()
	writeJSON(w, http.StatusOK, ok(result{"url": u.String()}))
}

func (h *socketHub) newTicket() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tickets == nil {
		h.tickets = map[string]bool{}
	}
	h.nextTicket++
	t := fmt.Sprintf("fake-ticket-%d", h.nextTicket)
	h.tickets[t] = true
	return t
}

func (h *socketHub) takeTicket(t string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.tickets[t] {
		return false
	}
	delete(h.tickets, t)
	return true
}

// Slack's client sends Origin https://api.slack.com, never this host.
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// helloMessage is what Slack sends first on a new connection.
type helloMessage struct {
	Type           string         `json:"type"`
	NumConnections int            `json:"num_connections"`
	DebugInfo      map[string]any `json:"debug_info"`
	ConnectionInfo map[string]any `json:"connection_info"`
}

type disconnectMessage struct {
	Type      string         `json:"type"`
	Reason    string         `json:"reason"`
	DebugInfo map[string]any `json:"debug_info"`
}

// serveSocket upgrades a dial of an apps.connections.open URL, says hello,
// and reads the app's acks until the connection ends.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	if !s.socket.takeTicket(r.URL.Query().Get("ticket")) {
		http.Error(w, "unknown or used ticket: call apps.connections.open for a new URL", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	c := &socketConn{ws: ws, done: make(chan struct{})}
	// The writer is held until hello is out, so no envelope goes before it.
	c.writeMu.Lock()
	s.socket.mu.Lock()
	s.socket.opened++
	c.id = s.socket.opened
	s.socket.conns = append(s.socket.conns, c)
	pingEvery := cmp.Or(s.socket.pingEvery, socketPingInterval)
	hello, _ := json.Marshal(helloMessage{
		Type: "hello", NumConnections: len(s.socket.conns),
		DebugInfo:      map[string]any{"host": "fakeslack", "build_number": 1, "approximate_connection_time": 18060},
		ConnectionInfo: map[string]any{"app_id": AppID},
	})
	s.socket.notifyLocked()
	s.socket.mu.Unlock()
	_ = ws.SetWriteDeadline(time.Now().Add(socketWriteTimeout))
	err = ws.WriteMessage(websocket.TextMessage, hello)
	c.writeMu.Unlock()
	if err != nil {
		s.socket.remove(c)
		return
	}
	go c.ping(pingEvery)
	s.socket.readAcks(c)
}

// ping sends WebSocket pings, as Slack does, until the connection ends.
func (c *socketConn) ping(every time.Duration) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-ticker.C:
			if c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(socketWriteTimeout)) != nil {
				c.close()
				return
			}
		}
	}
}

// readAcks hands each ack to the envelope waiting for it; anything else
// (slack-go acks hello with an empty envelope_id) is ignored, as by Slack.
func (h *socketHub) readAcks(c *socketConn) {
	defer h.remove(c)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		if string(ack.Payload) == "null" {
			ack.Payload = nil
		}
		h.ack(ack.EnvelopeID, ack.Payload)
	}
}

func (h *socketHub) remove(c *socketConn) {
	c.close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if i := slices.Index(h.conns, c); i >= 0 {
		h.conns = slices.Delete(h.conns, i, i+1)
		h.notifyLocked()
	}
}

func (h *socketHub) ack(id string, payload json.RawMessage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, waiting := h.waiting[id]
	if !waiting {
		return // unknown, or after its envelope was given up
	}
	late := h.ignore > 0
	if late {
		h.ignore--
	}
	for i := len(h.envelopes) - 1; i >= 0; i-- {
		if e := &h.envelopes[i]; e.ID == id {
			e.Acked, e.Ack = !late, slices.Clone(payload)
			break
		}
	}
	h.notifyLocked()
	if late {
		return
	}
	select {
	case ch <- payload:
	default: // acked already
	}
}

// pick returns the newest connection not told to disconnect, waiting up to
// wait for one (the app may be reconnecting).
func (h *socketHub) pick(ctx context.Context, wait time.Duration) (*socketConn, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		h.mu.Lock()
		live := h.liveLocked()
		changed := h.changedLocked()
		h.mu.Unlock()
		if len(live) > 0 {
			return live[len(live)-1], nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("fakeslack: waiting for a Socket Mode connection: %w", ctx.Err())
		case <-timer.C:
			return nil, errors.New("fakeslack: Socket Mode is on but the app has no open connection (Slack would tell the user dispatch_failed): " +
				"is it running with an app-level token and this server's API URL?")
		}
	}
}

// deliver sends one request of the driver as an envelope and waits for its
// ack, sending it again after each late one: the ack's payload is the
// Reply's Body, as the HTTP answer's body would be.
func (s *Server) deliver(ctx context.Context, path, contentType string, body []byte) (Reply, error) {
	kind, payload, err := envelopeOf(path, contentType, body)
	if err != nil {
		return Reply{}, err
	}
	h := &s.socket
	h.mu.Lock()
	h.nextEnv++
	id := fmt.Sprintf("fake-envelope-%s-%d", s.instance, h.nextEnv)
	acks := make(chan json.RawMessage, 1)
	if h.waiting == nil {
		h.waiting = map[string]chan json.RawMessage{}
	}
	h.waiting[id] = acks
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.waiting, id)
		h.mu.Unlock()
	}()

	timeout := s.ackTimeout()
	start := time.Now()
	for attempt := 0; attempt <= maxRetryAttempts; attempt++ {
		env := Envelope{ID: id, Type: kind, Payload: payload, AcceptsResponsePayload: kind != EnvelopeEventsAPI, RetryAttempt: attempt}
		if attempt > 0 {
			env.RetryReason = "timeout"
		}
		c, err := h.pick(ctx, timeout)
		if err != nil {
			return Reply{}, err
		}
		env.Connection = c.id
		h.mu.Lock()
		h.envelopes = append(h.envelopes, env.clone())
		h.notifyLocked()
		h.mu.Unlock()
		// A failed write counts as a lost envelope: the connection is
		// going, and the retry goes to another one.
		_ = c.writeJSON(env)

		timer := time.NewTimer(timeout)
		select {
		case ack := <-acks:
			timer.Stop()
			return Reply{Status: http.StatusOK, Body: ack, Latency: time.Since(start)}, nil
		case <-ctx.Done():
			timer.Stop()
			return Reply{}, fmt.Errorf("fakeslack: waiting for the ack of envelope %s (%s): %w", id, kind, ctx.Err())
		case <-timer.C:
		}
	}
	return Reply{}, fmt.Errorf("fakeslack: the app acknowledged none of the %d deliveries of envelope %s (%s) within %v",
		maxRetryAttempts+1, id, kind, timeout)
}

// envelopeOf turns what the driver would post to path into an envelope's
// type and payload: a slash command's form fields become a JSON object
// (slack-samples/socket-mode-slash-commands-envelope.json), an
// interaction's payload field its JSON, an Events API body stays as it is.
func envelopeOf(path, contentType string, body []byte) (string, json.RawMessage, error) {
	switch path {
	case CommandsPath:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", nil, fmt.Errorf("fakeslack: a slash command that is not a form: %w", err)
		}
		fields := make(map[string]string, len(form))
		for k, vs := range form {
			fields[k] = vs[0]
		}
		payload, err := json.Marshal(fields)
		return EnvelopeSlashCommands, payload, err
	case InteractionsPath:
		form, err := url.ParseQuery(string(body))
		if err != nil || !json.Valid([]byte(form.Get("payload"))) {
			return "", nil, errors.New("fakeslack: an interaction without a JSON payload field")
		}
		return EnvelopeInteractive, json.RawMessage(form.Get("payload")), nil
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/json" && json.Valid(body) {
		return EnvelopeEventsAPI, slices.Clone(body), nil
	}
	return "", nil, fmt.Errorf("fakeslack: cannot send a %s body for %s over Socket Mode", contentType, path)
}

// IgnoreNextAck treats the next ack the app sends as late: it is dropped,
// so its envelope is sent again after Options.AckTimeout with
// retry_attempt+1 and retry_reason "timeout". Calls add up.
func (s *Server) IgnoreNextAck() {
	s.socket.mu.Lock()
	defer s.socket.mu.Unlock()
	s.socket.ignore++
}

// DisconnectSockets sends {"type":"disconnect","reason":reason} on every
// open Socket Mode connection, which then gets no new envelopes and is
// closed a few seconds later; it returns how many it told. slack-go answers
// by calling apps.connections.open and dialing anew.
func (s *Server) DisconnectSockets(reason string) int {
	s.socket.mu.Lock()
	live := s.socket.liveLocked()
	for _, c := range live {
		c.draining = true
	}
	s.socket.notifyLocked()
	s.socket.mu.Unlock()
	for _, c := range live {
		if c.writeJSON(disconnectMessage{Type: "disconnect", Reason: reason, DebugInfo: map[string]any{"host": "fakeslack"}}) != nil {
			c.close()
			continue
		}
		time.AfterFunc(disconnectGrace, c.close)
	}
	return len(live)
}

// WaitSocket waits until the app has opened at least n Socket Mode
// connections since the server started and one of them is open and not
// told to disconnect: WaitSocket(ctx, 1) waits for the app to connect,
// WaitSocket(ctx, 2) after a disconnect for it to reconnect.
func (s *Server) WaitSocket(ctx context.Context, n int) error {
	for {
		s.socket.mu.Lock()
		opened, live := s.socket.opened, len(s.socket.liveLocked())
		changed := s.socket.changedLocked()
		s.socket.mu.Unlock()
		if opened >= n && live > 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("fakeslack: waiting for Socket Mode connection %d (opened %d, %d usable, apps.connections.open called %d times): %w",
				n, opened, live, s.Calls(appsConnectionsOpen), ctx.Err())
		}
	}
}

// Envelopes lists every envelope sent over Socket Mode, retries included,
// oldest first.
func (s *Server) Envelopes() []Envelope {
	s.socket.mu.Lock()
	defer s.socket.mu.Unlock()
	out := make([]Envelope, len(s.socket.envelopes))
	for i, e := range s.socket.envelopes {
		out[i] = e.clone()
	}
	return out
}

// closeSockets ends every connection: http.Server.Close does not close a
// hijacked one.
func (h *socketHub) closeSockets() {
	h.mu.Lock()
	conns := slices.Clone(h.conns)
	h.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}
