package fakeslack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// A response_url may be used 5 times within 30 minutes (slack.md §2.2).
const (
	responseURLUses     = 5
	responseURLLifetime = 30 * time.Minute
)

// responseURL is one response_url handed to the app with a command or a click.
type responseURL struct {
	user, channel string
	// origin is the ts of the message replace_original and delete_original
	// act on: the clicked message, or a command's latest ephemeral answer.
	origin  string
	command string // the command line, echoed in the channel by an in_channel answer; "" for clicks
	echoed  bool
	uses    int
	created time.Time
}

// responsePayload is what an app sends to a response_url, or answers a
// command with (slack-samples/response-url-replace-original.json).
type responsePayload struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal looseBool       `json:"replace_original"`
	DeleteOriginal  looseBool       `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

// looseBool accepts true and "true": Slack's docs send the string, slack-go the boolean.
type looseBool bool

func (b *looseBool) UnmarshalJSON(data []byte) error {
	*b = looseBool(string(bytes.Trim(data, `"`)) == "true")
	return nil
}

// newResponseURLLocked registers rec and returns its id and its URL on this server.
func (s *Server) newResponseURLLocked(rec *responseURL) (id, u string, err error) {
	if s.url == "" {
		return "", "", errors.New("fakeslack: no URL for response_url: call Start or SetURL first")
	}
	s.nextID++
	id = fmt.Sprintf("R%06d", s.nextID)
	rec.created = s.opts.Now()
	s.responses[id] = rec
	return id, s.url + "/response/" + id, nil
}

// serveResponseURL answers POST /response/{id}.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	var payload responsePayload
	decodeErr := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&payload)

	s.mu.Lock()
	status, code := func() (int, string) {
		s.calls["response_url"]++
		rec, known := s.responses[r.PathValue("id")]
		switch {
		case !known:
			return http.StatusNotFound, "invalid_url"
		case s.opts.Now().Sub(rec.created) > responseURLLifetime:
			return http.StatusNotFound, "expired_url"
		case rec.uses >= responseURLUses:
			return http.StatusNotFound, "used_url"
		case decodeErr != nil:
			return http.StatusBadRequest, "invalid_json"
		}
		status, code := s.respondLocked(rec, payload)
		if code == "" {
			rec.uses++
		}
		return status, code
	}()
	s.mu.Unlock()

	if code != "" {
		writeJSON(w, status, failure(code))
		return
	}
	writeJSON(w, http.StatusOK, result{"ok": true})
}

// respondLocked applies a response to the model: replace or delete the
// original message, post in the channel, or show an ephemeral to the user.
// A non-empty code is an error, with its HTTP status.
func (s *Server) respondLocked(rec *responseURL, p responsePayload) (int, string) {
	if p.DeleteOriginal {
		if !s.deleteLocked(rec.channel, rec.origin) {
			return http.StatusNotFound, "message_not_found"
		}
		return http.StatusOK, ""
	}
	blocks, code := content(p.Text, string(p.Blocks))
	if code != "" {
		return http.StatusBadRequest, code
	}
	switch {
	case bool(p.ReplaceOriginal):
		m := s.findLocked(rec.channel, rec.origin)
		if m == nil {
			return http.StatusNotFound, "message_not_found"
		}
		s.reviseLocked(m, p.Text, blocks)
	case p.ResponseType == "in_channel":
		threadTS := p.ThreadTS
		if threadTS != "" {
			parent := s.findPostLocked(rec.channel, threadTS)
			if parent == nil {
				return http.StatusNotFound, "thread_not_found"
			}
			if parent.ThreadTS != "" {
				threadTS = parent.ThreadTS
			}
		}
		s.echoCommandLocked(rec)
		s.addLocked(&Message{Channel: rec.channel, TS: s.nextTSLocked(), ThreadTS: threadTS, User: BotUserID, Text: p.Text, Blocks: blocks, Posted: s.opts.Now()})
	default:
		m := &Message{Channel: rec.channel, TS: s.nextTSLocked(), ThreadTS: p.ThreadTS, User: BotUserID, Text: p.Text, Blocks: blocks, Ephemeral: true, For: rec.user, Posted: s.opts.Now()}
		s.addLocked(m)
		if rec.command != "" {
			rec.origin = m.TS
		}
	}
	return http.StatusOK, ""
}

// echoCommandLocked shows the user's command line in the channel, once, as
// Slack does when the app first answers it in_channel.
func (s *Server) echoCommandLocked(rec *responseURL) {
	if rec.command == "" || rec.echoed {
		return
	}
	rec.echoed = true
	s.addLocked(&Message{Channel: rec.channel, TS: s.nextTSLocked(), User: rec.user, Text: rec.command, Posted: s.opts.Now()})
}

// recordCommandReply shows the app's immediate answer to a command: a JSON
// message becomes an ephemeral (or, in_channel, a channel message after the
// echoed command); a plain-text body becomes an ephemeral, as Slack shows it.
// An answer Slack would reject (bad blocks) is not recorded; the caller has
// the Reply to inspect.
func (s *Server) recordCommandReply(responseURLID string, body []byte) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return
	}
	var p responsePayload
	if json.Unmarshal(body, &p) != nil {
		p = responsePayload{Text: string(body)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.responses[responseURLID]
	if p.ResponseType == "in_channel" {
		s.echoCommandLocked(rec) // even with nothing else to show
	}
	if p.Text == "" && (len(p.Blocks) == 0 || string(p.Blocks) == "null") {
		return
	}
	s.respondLocked(rec, p)
}
