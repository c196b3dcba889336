package fakeslack

import (
	"encoding/json"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits Slack enforces on what is posted (slack.md §2.6).
const (
	maxTextRunes        = 40000 // message text: msg_too_long above
	maxBlocks           = 50    // blocks per message
	maxSectionTextRunes = 3000  // a section block's text
	maxBodyBytes        = 1 << 20
)

// params are a Web API call's arguments, from a form or a JSON body.
type params map[string]string

// result is a Web API answer; Slack answers errors with HTTP 200 too.
type result map[string]any

func ok(fields result) result {
	fields["ok"] = true
	return fields
}

func failure(code string) result { return result{"ok": false, "error": code} }

// apiMethods are the Web API methods the fake implements.
var apiMethods = map[string]func(*Server, params) result{
	"chat.postMessage":      (*Server).chatPostMessage,
	"chat.update":           (*Server).chatUpdate,
	"chat.postEphemeral":    (*Server).chatPostEphemeral,
	"chat.delete":           (*Server).chatDelete,
	"users.info":            (*Server).usersInfo,
	"usergroups.users.list": (*Server).usergroupsUsersList,
	"auth.test":             (*Server).authTest,
	"conversations.open":    (*Server).conversationsOpen,
	"conversations.info":    (*Server).conversationsInfo,
	"views.open":            (*Server).viewsOpen,
	"views.publish":         (*Server).viewsPublish,
}

// fault is an injected failure of a method's next call.
type fault struct {
	slackError string                            // answer {"ok":false,"error":slackError}, unless rateLimit
	rateLimit  bool                              // answer HTTP 429
	retryAfter time.Duration                     // the 429's Retry-After
	match      func(args map[string]string) bool // nil: any call of the method
}

// FailNext makes the next call of method answer {"ok":false,"error":slackError}.
// Faults queue up: two calls fail the next two calls.
func (s *Server) FailNext(method, slackError string) {
	s.addFault(method, fault{slackError: slackError})
}

// FailNextWhere makes the next call of method whose arguments (form or
// JSON fields, JSON values as their text) satisfy match answer
// {"ok":false,"error":slackError}; other calls pass. It aims a failure at
// one message when other posts may come first.
func (s *Server) FailNextWhere(method, slackError string, match func(args map[string]string) bool) {
	s.addFault(method, fault{slackError: slackError, match: match})
}

// RateLimitNext makes the next call of method answer HTTP 429 with
// Retry-After in whole seconds (rounded up).
func (s *Server) RateLimitNext(method string, retryAfter time.Duration) {
	s.addFault(method, fault{rateLimit: true, retryAfter: retryAfter})
}

func (s *Server) addFault(method string, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], f)
}

func (s *Server) takeFault(method string, p params) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	queue := s.faults[method]
	for i, f := range queue {
		if f.match == nil || f.match(p) {
			s.faults[method] = slices.Delete(queue, i, i+1)
			return f, true
		}
	}
	return fault{}, false
}

// serveAPI answers POST (or GET) /api/{method}.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()

	handle, known := apiMethods[method]
	if !known {
		http.NotFound(w, r) // slack-go reports "slack server error: 404 Not Found"
		return
	}
	p, token, code := readParams(w, r)
	switch {
	case code != "":
		writeJSON(w, http.StatusOK, failure(code))
		return
	case token != s.opts.BotToken:
		writeJSON(w, http.StatusOK, failure("invalid_auth"))
		return
	}
	if f, injected := s.takeFault(method, p); injected {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusOK, handle(s, p))
}

// write answers with the injected fault: 429 with Retry-After, or Slack's
// ok:false with the fault's error.
func (f fault) write(w http.ResponseWriter) {
	if f.rateLimit {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.retryAfter.Seconds()))))
		writeJSON(w, http.StatusTooManyRequests, failure("ratelimited"))
		return
	}
	writeJSON(w, http.StatusOK, failure(f.slackError))
}

// readParams reads a call's arguments from a JSON body or a form (body and
// query), and its token from the Authorization header or, as slack-go sends
// it for form calls, the `token` argument. A non-empty code is a Slack error.
func readParams(w http.ResponseWriter, r *http.Request) (p params, token, code string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	p = params{}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		var raw map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
			return nil, "", "invalid_json"
		}
		for k, v := range raw {
			// Strings are taken as they are; blocks, booleans and numbers as their JSON text.
			var str string
			if json.Unmarshal(v, &str) == nil {
				p[k] = str
			} else if string(v) != "null" {
				p[k] = string(v)
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return nil, "", "invalid_form_data"
		}
		for k, vs := range r.Form {
			p[k] = vs[0]
		}
	}
	token = p["token"]
	if bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
		token = bearer
	}
	return p, token, ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// content validates a message's text and blocks; a non-empty code is a Slack
// error. An empty blocks array means no blocks.
func content(text, blocks string) (json.RawMessage, string) {
	if utf8.RuneCountInString(text) > maxTextRunes {
		return nil, "msg_too_long"
	}
	var raw json.RawMessage
	if blocks != "" && blocks != "null" {
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(blocks), &list); err != nil || len(list) > maxBlocks {
			return nil, "invalid_blocks"
		}
		for _, b := range list {
			var block struct {
				Type string `json:"type"`
				Text *struct {
					Text string `json:"text"`
				} `json:"text"`
			}
			if json.Unmarshal(b, &block) != nil || block.Type == "" {
				return nil, "invalid_blocks"
			}
			if block.Type == "section" && block.Text != nil && utf8.RuneCountInString(block.Text.Text) > maxSectionTextRunes {
				return nil, "invalid_blocks"
			}
		}
		if len(list) > 0 {
			raw = json.RawMessage(blocks)
		}
	}
	if text == "" && raw == nil {
		return nil, "no_text"
	}
	return raw, ""
}

func (s *Server) chatPostMessage(p params) result {
	channel := resolveChannel(p["channel"])
	if code := s.mayPost(channel); code != "" {
		return failure(code)
	}
	blocks, code := content(p["text"], p["blocks"])
	if code != "" {
		return failure(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	threadTS := p["thread_ts"]
	if threadTS != "" {
		parent := s.findPostLocked(channel, threadTS)
		if parent == nil {
			return failure("thread_not_found")
		}
		if parent.ThreadTS != "" {
			threadTS = parent.ThreadTS // a reply's ts threads under its parent
		}
	}
	m := &Message{
		Channel:   channel,
		TS:        s.nextTSLocked(),
		ThreadTS:  threadTS,
		User:      BotUserID,
		Text:      p["text"],
		Blocks:    blocks,
		Broadcast: threadTS != "" && p["reply_broadcast"] == "true",
		Posted:    s.opts.Now(),
	}
	s.addLocked(m)
	return ok(result{"channel": channel, "ts": m.TS, "message": s.wire(m)})
}

// chatUpdate replaces text and blocks: text without blocks removes the
// blocks, as chat.update documents.
func (s *Server) chatUpdate(p params) result {
	channel, ts := p["channel"], p["ts"]
	if channel == "" {
		return failure("channel_not_found")
	}
	blocks, code := content(p["text"], p["blocks"])
	if code != "" {
		return failure(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.findPostLocked(channel, ts) // ephemerals cannot be updated with chat.update
	switch {
	case m == nil:
		return failure("message_not_found")
	case m.User != BotUserID:
		return failure("cant_update_message")
	}
	s.reviseLocked(m, p["text"], blocks)
	return ok(result{"channel": channel, "ts": ts, "text": m.Text, "message": s.wire(m)})
}

func (s *Server) chatPostEphemeral(p params) result {
	channel, user := resolveChannel(p["channel"]), p["user"]
	switch {
	case channel == "":
		return failure("channel_not_found")
	case user == "":
		return failure("user_not_found")
	}
	blocks, code := content(p["text"], p["blocks"])
	if code != "" {
		return failure(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Message{
		Channel:   channel,
		TS:        s.nextTSLocked(),
		ThreadTS:  p["thread_ts"],
		User:      BotUserID,
		Text:      p["text"],
		Blocks:    blocks,
		Ephemeral: true,
		For:       user,
		Posted:    s.opts.Now(),
	}
	s.addLocked(m)
	return ok(result{"message_ts": m.TS})
}

func (s *Server) chatDelete(p params) result {
	channel, ts := p["channel"], p["ts"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findPostLocked(channel, ts); m == nil {
		return failure("message_not_found")
	}
	s.deleteLocked(channel, ts)
	return ok(result{"channel": channel, "ts": ts})
}

func (s *Server) usersInfo(p params) result {
	u, known := s.users[p["user"]]
	if !known {
		return failure("user_not_found")
	}
	return ok(result{"user": result{
		"id":        u.ID,
		"team_id":   s.teamOf(u.ID),
		"name":      u.Name,
		"real_name": u.RealName,
		"is_bot":    u.IsBot,
		"deleted":   false,
		"tz":        "UTC",
		"tz_label":  "Coordinated Universal Time",
		"tz_offset": 0,
		"profile":   result{"real_name": u.RealName, "display_name": u.Name},
	}})
}

func (s *Server) usergroupsUsersList(p params) result {
	members, known := s.groups[p["usergroup"]]
	if !known {
		return failure("no_such_subteam")
	}
	return ok(result{"users": append([]string{}, members...)})
}

func (s *Server) authTest(params) result {
	return ok(result{
		"url":                   s.URL() + "/",
		"team":                  TeamDomain,
		"user":                  BotName,
		"team_id":               s.opts.TeamID,
		"user_id":               BotUserID,
		"bot_id":                BotID,
		"is_enterprise_install": false,
	})
}

// conversationsOpen opens the DM with one user (a stable "D"+user id) or a
// group DM with several.
func (s *Server) conversationsOpen(p params) result {
	id := p["channel"]
	if id == "" {
		var users []string
		for u := range strings.SplitSeq(p["users"], ",") {
			if u = strings.TrimSpace(u); u != "" {
				users = append(users, u)
			}
		}
		switch len(users) {
		case 0:
			return failure("users_list_not_supplied")
		case 1:
			id = dmChannel(users[0])
		default:
			slices.Sort(users)
			id = "G" + strings.Join(users, "")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	already := s.opened[id]
	s.opened[id] = true
	return ok(result{"channel": result{"id": id}, "already_open": already, "no_op": already})
}

// Channel is how a channel looks to the bot. The zero value is a public
// channel the bot is in; a public channel the bot is not in still takes its
// posts (the manifest's chat:write.public), a private one it is not in is
// invisible to it, as Slack answers channel_not_found for it.
type Channel struct {
	Private  bool // is_private (a G… id is private whatever this says)
	Outside  bool // the bot is not a member (is_member false)
	Archived bool // is_archived: posts fail with is_archived
}

// channel is how id looks to the bot, and whether the bot can see it.
func (s *Server) channel(id string) (c Channel, visible bool) {
	c = s.opts.Channels[id]
	c.Private = c.Private || strings.HasPrefix(id, "G")
	return c, id != "" && !(c.Private && c.Outside)
}

// mayPost is the Slack error of a post to channel, "" when it may.
func (s *Server) mayPost(channel string) string {
	c, visible := s.channel(channel)
	switch {
	case !visible:
		return "channel_not_found"
	case c.Archived:
		return "is_archived"
	}
	return ""
}

// conversationsInfo describes a channel as the bot sees it, in the shape of
// the method's documented examples (docs.slack.dev/reference/methods/conversations.info):
// a DM has is_im and the user but no is_member; a private channel the bot
// is not in is channel_not_found.
func (s *Server) conversationsInfo(p params) result {
	id := p["channel"]
	c, visible := s.channel(id)
	if !visible {
		return failure("channel_not_found")
	}
	created := s.opts.Now().Add(-24 * time.Hour).Unix()
	if user, dm := strings.CutPrefix(id, "D"); dm {
		return ok(result{"channel": result{
			"id": id, "created": created, "is_im": true, "is_org_shared": false, "user": user,
			"is_open": true, "unread_count": 0, "unread_count_display": 0,
		}})
	}
	name := s.channelName(id)
	return ok(result{"channel": result{
		"id": id, "name": name, "name_normalized": name, "created": created, "creator": BotUserID,
		"is_channel": true, "is_group": strings.HasPrefix(id, "G"), "is_im": false, "is_mpim": false,
		"is_private": c.Private, "is_archived": c.Archived, "is_general": false, "unlinked": 0,
		"is_shared": false, "is_ext_shared": false, "is_org_shared": false, "pending_shared": []string{}, "is_pending_ext_shared": false,
		"is_member": !c.Outside, "is_read_only": false,
		"topic":          result{"value": "", "creator": "", "last_set": 0},
		"purpose":        result{"value": "", "creator": "", "last_set": 0},
		"previous_names": []string{},
	}})
}
