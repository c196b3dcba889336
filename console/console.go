// Package console is a local Slack console: one web page that looks and
// behaves enough like Slack to try the bot with no Slack workspace.
//
// It shows what the recording fake Slack (package fakeslack) holds —
// channels, messages rendered from their Block Kit, threads, and the
// ephemerals and open modals of whoever the visitor is acting as — and drives
// the bot through the fake's driver: slash commands, button clicks and modal
// submissions are sent exactly as Slack would send them, signed, as the
// chosen persona. The page follows the fake's changes live over Server-Sent
// Events.
//
// Everything is same-origin: the page carries its CSS and JavaScript inline
// and loads nothing from anywhere else.
package console

import (
	_ "embed"
	"net/http"
	"time"

	"github.com/kaizalabot/kaizalabot/fakeslack"
)

// Persona is someone the visitor can act as.
type Persona struct {
	ID, Name, Role string // e.g. {"U0SALES", "Sam Sales", "Salesperson"}
}

// ChannelInfo is a channel shown in the sidebar.
type ChannelInfo struct{ ID, Name string }

// Options configures the console.
type Options struct {
	Slack    *fakeslack.Server // required
	Personas []Persona         // the persona switcher, at least one; the first is the default
	Channels []ChannelInfo     // the sidebar, in order, at least one; only these channels are shown and usable
	Title    string            // the workspace's name in the sidebar and the page title; default "kaizalabot"
}

// Limits and timings of the API.
const (
	maxRequestBytes = 64 << 10 // the largest JSON body the API reads
	// driveTimeout bounds one command, click or submission sent to the bot.
	// Slack itself gives up after 3 seconds; a demo on a slow laptop deserves
	// more room.
	driveTimeout = 10 * time.Second
	heartbeat    = 15 * time.Second // an SSE comment keeps idle proxies from closing the stream
)

// contentSecurityPolicy allows nothing but this origin: no CDN, no fonts, no
// third-party anything. Inline style and script are the page's own.
const contentSecurityPolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'"

//go:embed page.html
var page []byte

// console serves the page and its API.
type console struct {
	slack    *fakeslack.Server
	personas []Persona
	persona  map[string]Persona // by ID
	channels []ChannelInfo
	channel  map[string]ChannelInfo // by ID
	title    string
}

// New returns the console's handler: the page at "/" and its JSON API under
// "/api/". It panics when opts lacks the fake Slack, a persona or a channel,
// which are wiring mistakes.
func New(opts Options) http.Handler {
	switch {
	case opts.Slack == nil:
		panic("console: Options.Slack is nil")
	case len(opts.Personas) == 0:
		panic("console: Options.Personas is empty: the console needs someone to act as")
	case len(opts.Channels) == 0:
		panic("console: Options.Channels is empty: the console needs a channel to show")
	}
	c := &console{
		slack:    opts.Slack,
		personas: append([]Persona(nil), opts.Personas...),
		persona:  make(map[string]Persona, len(opts.Personas)),
		channels: append([]ChannelInfo(nil), opts.Channels...),
		channel:  make(map[string]ChannelInfo, len(opts.Channels)),
		title:    opts.Title,
	}
	if c.title == "" {
		c.title = "kaizalabot"
	}
	for _, p := range c.personas {
		c.persona[p.ID] = p
	}
	for _, ch := range c.channels {
		c.channel[ch.ID] = ch
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.servePage)
	mux.HandleFunc("GET /api/state", c.serveState)
	mux.HandleFunc("GET /api/events", c.serveEvents)
	mux.HandleFunc("POST /api/command", c.serveCommand)
	mux.HandleFunc("POST /api/click", c.serveClick)
	mux.HandleFunc("POST /api/submit", c.serveSubmit)
	mux.HandleFunc("POST /api/close", c.serveClose)
	mux.HandleFunc("GET /api/home", c.serveHome)
	mux.HandleFunc("POST /api/home", c.serveOpenHome)

	// The API acts as people who may approve purchases: a page on another
	// site must not be able to post to it through the visitor's browser.
	crossOrigin := http.NewCrossOriginProtection()
	crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin requests are refused: use the console's own page")
	}))
	return withSecurityHeaders(crossOrigin.Handler(mux))
}

// withSecurityHeaders sets the headers every answer carries.
func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func (c *console) servePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(page) // the visitor went away; nothing to do
}
