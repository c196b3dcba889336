// Package handlers turns Slack's HTTP requests (and Socket Mode envelopes)
// into calls on the bot, after checking that they really come from Slack.
// It stays thin: verify, limit, parse, dispatch, acknowledge.
package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/metrics"
)

// MaxBody is the largest request body accepted from Slack.
const MaxBody = 1 << 20

// Bot answers what Slack sends. Its methods must return well within
// Slack's 3-second acknowledgement budget and leave slow work running in
// the background.
type Bot interface {
	// Command answers a slash command; the result (a *slack.Msg, usually
	// ephemeral) becomes the HTTP reply body, nil an empty 200.
	Command(ctx context.Context, cmd slack.SlashCommand) *slack.Msg
	// Interaction handles a click in a message or a submitted dialog. A
	// non-nil result answers a dialog's submission (e.g. errors to show
	// under its fields, keeping it open); nil is an empty 200, which acks a
	// click and closes a dialog.
	Interaction(ctx context.Context, ic slack.InteractionCallback) *slack.ViewSubmissionResponse
	// AppHomeOpened publishes the Home tab of userID, who opened it in the
	// workspace teamID (the event app_home_opened, tab "home").
	AppHomeOpened(ctx context.Context, userID, teamID string)
}

// Handler serves /slack/commands, /slack/interactions, /slack/events,
// /healthz and /metrics.
type Handler struct {
	Bot           Bot
	SigningSecret string
	Health        func(ctx context.Context) Health
	Metrics       *metrics.Metrics   // optional
	Log           logrus.FieldLogger // optional
	Now           func() time.Time   // optional, for tests
	// Deliveries, shared by the replicas, answers a request Slack sends
	// again without running it twice. Optional: this process's memory
	// always remembers too.
	Deliveries Deliveries

	memory *MemoryDeliveries // set by Routes
}

// Routes returns the HTTP routes.
func (h *Handler) Routes() http.Handler {
	if h.memory == nil {
		h.memory = NewMemoryDeliveries(DeliveryTTL)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", h.commands)
	mux.HandleFunc("POST /slack/interactions", h.interactions)
	mux.HandleFunc("POST /slack/events", h.events)
	mux.HandleFunc("GET /healthz", h.healthz)
	if h.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(h.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	return mux
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() logrus.FieldLogger {
	if h.Log != nil {
		return h.Log
	}
	return logrus.StandardLogger()
}

// verified reads the body (at most MaxBody) and checks Slack's signature
// before anything is parsed. It answers 413 or 401 itself and reports false.
func (h *Handler) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	case err != nil:
		http.Error(w, "cannot read the request body", http.StatusBadRequest)
		return nil, false
	}
	if h.SigningSecret == "" {
		// Socket Mode needs no signing secret; without one, nothing that
		// arrives over HTTP can be verified (an empty key would let anyone
		// sign), so the Slack routes refuse everything.
		http.Error(w, "Slack requests are not accepted over HTTP here (Socket Mode)", http.StatusUnauthorized)
		return nil, false
	}
	if err := Verify(r.Header, body, h.SigningSecret, h.now()); err != nil {
		h.log().WithError(err).WithField("path", r.URL.Path).Warn("refused a request not signed by Slack")
		http.Error(w, "invalid Slack signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// withBody gives r a fresh copy of body, for slack-go's form parsers.
func withBody(r *http.Request, body []byte) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Form, r2.PostForm = nil, nil
	return r2
}

func (h *Handler) commands(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	body, ok := h.verified(w, r)
	if !ok {
		return
	}
	cmd, err := slack.SlashCommandParse(withBody(r, body))
	if err != nil || cmd.UserID == "" || cmd.Command == "" {
		http.Error(w, "malformed slash command", http.StatusBadRequest)
		return
	}
	if !h.firstDelivery(r.Context(), r, "command", cmd.TriggerID) {
		w.WriteHeader(http.StatusOK)
		return
	}
	msg := h.safely(r.Context(), "command", func(ctx context.Context) *slack.Msg { return h.Bot.Command(ctx, cmd) })
	h.reply(w, msg)
	h.observe("command", start)
}

func (h *Handler) interactions(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	body, ok := h.verified(w, r)
	if !ok {
		return
	}
	ic, err := slack.InteractionCallbackParse(withBody(r, body))
	if err != nil || ic.User.ID == "" {
		http.Error(w, "malformed interaction payload", http.StatusBadRequest)
		return
	}
	if !h.firstDelivery(r.Context(), r, "interaction", ic.TriggerID) {
		w.WriteHeader(http.StatusOK)
		return
	}
	var answer *slack.ViewSubmissionResponse
	if msg := h.safely(r.Context(), "interaction", func(ctx context.Context) *slack.Msg { answer = h.Bot.Interaction(ctx, ic); return nil }); msg != nil {
		answer = nil // it panicked; the log has it, and an empty 200 at least closes a dialog
	}
	if answer == nil {
		w.WriteHeader(http.StatusOK)
	} else {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}
	h.observe("interaction", start)
}

func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	body, ok := h.verified(w, r)
	if !ok {
		return
	}
	var ev struct {
		Type      string     `json:"type"`
		Challenge string     `json:"challenge"`
		EventID   string     `json:"event_id"`
		TeamID    string     `json:"team_id"`
		Event     innerEvent `json:"event"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.Type == "" {
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	if ev.Type == "url_verification" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"challenge": ev.Challenge})
		h.observe("event", start)
		return
	}
	if !h.firstDelivery(r.Context(), r, "event", ev.EventID) {
		w.WriteHeader(http.StatusOK)
		return
	}
	if ev.Type == "event_callback" {
		h.safely(r.Context(), "event", func(ctx context.Context) *slack.Msg { dispatchEvent(ctx, h.Bot, ev.TeamID, ev.Event); return nil })
	}
	// Events the bot does not act on are acknowledged too, so Slack does
	// not retry them.
	w.WriteHeader(http.StatusOK)
	h.observe("event", start)
}

// innerEvent is the part of an event_callback's event the bot reads.
type innerEvent struct {
	Type string `json:"type"`
	User string `json:"user"`
	Tab  string `json:"tab"` // app_home_opened: "home" or "messages"
}

// dispatchEvent hands an Events API event to the bot, over HTTP and Socket
// Mode alike. Only app_home_opened on the Home tab is acted on; opening
// the Messages tab, and every other event, is not.
func dispatchEvent(ctx context.Context, bot Bot, teamID string, ev innerEvent) {
	if ev.Type == "app_home_opened" && ev.Tab == "home" && ev.User != "" {
		bot.AppHomeOpened(ctx, ev.User, teamID)
	}
}

// Health is what /healthz answers, as JSON: 200 when Status is "ok", 503
// otherwise ("degraded": the database refuses writes; "unhealthy": it does
// not answer).
type Health struct {
	Status string `json:"status"`
	// Worker: this process is the worker (it scans, alerts and runs migrations).
	Worker bool `json:"worker"`
	// Holder names this process in the worker lease; WorkerHolder the
	// process that holds it, as last seen.
	Holder       string     `json:"holder,omitempty"`
	WorkerHolder string     `json:"workerHolder,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	Since        *time.Time `json:"since,omitempty"`
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	health := Health{Status: "ok", Worker: true}
	if h.Health != nil {
		health = h.Health(ctx)
	}
	w.Header().Set("Content-Type", "application/json")
	if health.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(health)
}

// safely runs fn, turning a panic into a logged error and an apology: a
// person in Slack sees what to do, never a stack or a 500.
func (h *Handler) safely(ctx context.Context, kind string, fn func(context.Context) *slack.Msg) (msg *slack.Msg) {
	defer func() {
		if p := recover(); p != nil {
			h.log().WithField("panic", p).WithField("stack", string(debug.Stack())).Errorf("%s handler panicked", kind)
			msg = &slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: "Something went wrong on our side and it was logged. Please try again in a minute."}
		}
	}()
	return fn(ctx)
}

func (h *Handler) reply(w http.ResponseWriter, msg *slack.Msg) {
	if msg == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(msg)
}

func (h *Handler) observe(kind string, start time.Time) {
	if h.Metrics != nil {
		h.Metrics.Ack.WithLabelValues(kind).Observe(h.now().Sub(start).Seconds())
	}
}
