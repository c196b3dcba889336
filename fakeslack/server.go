// Package fakeslack is a recording fake Slack for tests and demos.
//
// A Server is a real HTTP server implementing the few Web API methods the bot
// uses (chat.postMessage, chat.update, chat.postEphemeral, chat.delete,
// users.info, usergroups.users.list, auth.test, conversations.open,
// conversations.info, views.open) and the response_url endpoint. It records every message,
// update, thread reply, ephemeral and open modal in a small model (channels,
// messages, threads, ephemerals, views, users) that tests read, wait on and
// subscribe to. It also drives the bot like Slack would: Command, Click and
// SubmitView send correctly signed slash commands, block_actions and
// view_submission payloads as a given user. With Options.SocketMode it
// serves apps.connections.open and Socket Mode WebSockets too, and the
// driver delivers all that as envelopes over the app's connection instead.
//
// Point the real client at it with slack.OptionAPIURL(s.APIURL()).
package fakeslack

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Identities of the app under test, as this fake Slack reports them.
const (
	BotUserID  = "U0FAKEBOT"  // the app's bot user: the author of everything posted through the Web API
	BotID      = "B0FAKEBOT"  // the app's bot id (bot_id on its messages, auth.test)
	BotName    = "kaizalabot" // the bot user's name
	AppID      = "A0FAKEAPP"  // api_app_id of commands and interactions
	TeamDomain = "fake"       // the workspace's domain and name
)

// Defaults for the zero Options.
const (
	DefaultBotToken      = "xoxb-fake"
	DefaultSigningSecret = "fake-signing-secret-0123456789abcdef"
	DefaultTeamID        = "T0FAKE"
	DefaultCommand       = "/kaizala"
)

// verificationToken fills the deprecated `token` field of commands and
// interactions; apps verify signatures instead, so its value does not matter.
const verificationToken = "fake-verification-token"

// Options configures a Server; the zero value works.
type Options struct {
	BotToken      string              // the only accepted token (Authorization: Bearer, or the token argument slack-go sends); default DefaultBotToken
	SigningSecret string              // signs what the driver sends; default DefaultSigningSecret
	AppURL        string              // base URL of the bot under test (commands go to AppURL+"/slack/commands", clicks to AppURL+"/slack/interactions"); settable later with SetAppURL
	TeamID        string              // default DefaultTeamID
	Command       string              // the slash command the driver types; default DefaultCommand
	Users         []User              // known users (users.info); unknown ids get user_not_found
	Groups        map[string][]string // user group id -> member user ids (usergroups.users.list)
	ChannelNames  map[string]string   // channel id -> name, sent as channel_name and channel.name; default: the id in lower case
	// Channels says how channels look to the bot (conversations.info, and
	// whether it may post); a channel not listed is public, with the bot in it.
	Channels map[string]Channel
	// Now is the clock for ts values, Posted/Edited, response_url and
	// trigger_id expiry and the X-Slack-Request-Timestamp of what the driver
	// sends; default time.Now.
	Now func() time.Time
	// SocketMode turns Socket Mode on, as the app's settings do in Slack:
	// the driver then delivers commands, clicks, submissions and events as
	// envelopes over the app's WebSocket (socketmode.go), not as signed POSTs.
	SocketMode bool
	AppToken   string        // the app-level token apps.connections.open accepts; default DefaultAppToken when SocketMode is on
	AckTimeout time.Duration // how long an envelope waits for its ack before it is sent again; default DefaultAckTimeout
}

// User is a person (or bot) of the fake workspace.
type User struct {
	ID, Name, RealName string
	IsBot              bool
	// TeamID is the user's own team: a user of another organisation in a
	// Slack Connect channel has another team's id. Default Options.TeamID.
	TeamID string
}

// Server is the fake Slack. It is safe for concurrent use.
type Server struct {
	opts   Options
	users  map[string]User
	groups map[string][]string
	mux    *http.ServeMux
	client *http.Client // sends the driver's requests to the app

	mu          sync.Mutex
	url         string
	appURL      string
	httpServer  *http.Server
	lastSec     int64 // ts = lastSec.lastSeq of the newest message
	lastSeq     int
	channels    []string              // in order of first activity
	posts       map[string][]*Message // channel -> messages and thread replies, in ts order
	ephemerals  []*Message            // in ts order
	opened      map[string]bool       // conversations.open ids already opened
	calls       map[string]int
	faults      map[string][]fault
	responses   map[string]*responseURL
	triggers    map[string]*trigger // trigger_id -> who it opens a view for
	views       []*openView         // open modals, oldest first
	home        homeTabs            // Home tabs published with views.publish (home.go)
	nextID      int                 // for response_url, trigger and view ids
	instance    string              // tells this server's trigger ids from another's
	subscribers map[int]chan Change
	nextSub     int

	socket socketHub // Socket Mode connections and envelopes
}

// New returns a Server, not yet listening: call Start, or serve it yourself
// and tell it its URL with SetURL.
func New(opts Options) *Server {
	if opts.BotToken == "" {
		opts.BotToken = DefaultBotToken
	}
	if opts.SigningSecret == "" {
		opts.SigningSecret = DefaultSigningSecret
	}
	if opts.TeamID == "" {
		opts.TeamID = DefaultTeamID
	}
	if opts.Command == "" {
		opts.Command = DefaultCommand
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// Copies, so the caller changing its maps later cannot race with requests.
	opts.ChannelNames = maps.Clone(opts.ChannelNames)
	opts.Channels = maps.Clone(opts.Channels)
	s := &Server{
		opts:      opts,
		users:     map[string]User{BotUserID: {ID: BotUserID, Name: BotName, RealName: BotName, IsBot: true}},
		groups:    make(map[string][]string, len(opts.Groups)),
		client:    &http.Client{},
		appURL:    strings.TrimSuffix(opts.AppURL, "/"),
		posts:     map[string][]*Message{},
		opened:    map[string]bool{},
		calls:     map[string]int{},
		faults:    map[string][]fault{},
		responses: map[string]*responseURL{},
		triggers:  map[string]*trigger{},
		// From the clock, so a frozen clock gives the same ids every run.
		instance:    strconv.FormatInt(opts.Now().UnixNano(), 36),
		subscribers: map[int]chan Change{},
	}
	for _, u := range opts.Users {
		if u.TeamID == "" {
			u.TeamID = opts.TeamID
		}
		s.users[u.ID] = u
	}
	for id, members := range opts.Groups {
		s.groups[id] = slices.Clone(members)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/api/{method}", s.serveAPI)
	s.mux.HandleFunc("POST /response/{id}", s.serveResponseURL)
	s.mux.HandleFunc("/api/"+appsConnectionsOpen, s.serveConnectionsOpen)
	s.mux.HandleFunc("GET "+socketPath, s.serveSocket)
	return s
}

// ServeHTTP serves the Web API under /api/, response URLs under /response/
// and Socket Mode connections under /link/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Start listens on 127.0.0.1 on a free port with its own http.Server and
// returns the base URL; Close stops it.
func (s *Server) Start() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpServer != nil {
		return "", errors.New("fakeslack: already started")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("fakeslack: listening: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	// Serve returns http.ErrServerClosed after Close; any other failure shows
	// up as failed requests in the test that uses the server.
	go func() { _ = srv.Serve(ln) }()
	s.httpServer = srv
	s.url = "http://" + ln.Addr().String()
	return s.url, nil
}

// Close stops the server started by Start; it is a no-op otherwise.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.httpServer
	s.httpServer = nil
	s.mu.Unlock()
	s.client.CloseIdleConnections() // the driver's keep-alive connections to the app
	s.socket.closeSockets()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// URL is the server's base URL, without a trailing slash.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// SetURL tells the server its base URL when the caller serves it.
func (s *Server) SetURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.url = strings.TrimSuffix(u, "/")
}

// SetAppURL sets the base URL of the bot under test.
func (s *Server) SetAppURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appURL = strings.TrimSuffix(u, "/")
}

// APIURL is the Web API base for slack.OptionAPIURL; it ends with "/"
// because slack-go appends the method name to it.
func (s *Server) APIURL() string { return s.URL() + "/api/" }

// nextTSLocked returns a message ts, unique and increasing across the whole
// server: "<unix seconds>.<6-digit counter>". Slack's own ts are unique per
// channel; a single sequence is stricter and lets ephemerals share it.
func (s *Server) nextTSLocked() string {
	if sec := s.opts.Now().Unix(); sec > s.lastSec {
		s.lastSec, s.lastSeq = sec, 0
	}
	s.lastSeq++
	if s.lastSeq > 999999 {
		s.lastSec, s.lastSeq = s.lastSec+1, 1
	}
	return fmt.Sprintf("%d.%06d", s.lastSec, s.lastSeq)
}

// channelName is what Slack would send as the channel's name.
func (s *Server) channelName(id string) string {
	if name, ok := s.opts.ChannelNames[id]; ok {
		return name
	}
	if strings.HasPrefix(id, "D") {
		return "directmessage" // what Slack sends for a DM
	}
	return strings.ToLower(id)
}

// teamOf is the user's own team id; an unknown user is of the fake's team.
func (s *Server) teamOf(id string) string {
	if u, ok := s.users[id]; ok && u.TeamID != "" {
		return u.TeamID
	}
	return s.opts.TeamID
}

// userName is the user's handle, or the id for an unknown user.
func (s *Server) userName(id string) string {
	if u, ok := s.users[id]; ok && u.Name != "" {
		return u.Name
	}
	return id
}

// dmChannel is the stable id of the app's DM with a user.
func dmChannel(user string) string { return "D" + user }

// resolveChannel maps a user id to the DM with that user, as chat.postMessage
// and chat.postEphemeral do when given a user id as channel.
func resolveChannel(channel string) string {
	if strings.HasPrefix(channel, "U") || strings.HasPrefix(channel, "W") {
		return dmChannel(channel)
	}
	return channel
}
