package fakeslack

import (
	"context"
	"strings"
)

// Direct messages: the app opens its DM with a user (conversations.open,
// answered with DMChannel(user)) and posts there with chat.postMessage;
// tests read what a user was told privately with DMs and WaitDM. Also
// chat.getPermalink, so a DM can link to the message it is about.

func init() {
	apiMethods["chat.getPermalink"] = (*Server).chatGetPermalink
}

// DMChannel is the id of the app's DM with user, as conversations.open
// answers it.
func DMChannel(user string) string { return dmChannel(user) }

// DMs lists the messages posted in the app's DM with user, oldest first.
func (s *Server) DMs(user string) []Message { return s.Messages(dmChannel(user)) }

// WaitDM waits for the oldest message in the app's DM with user that
// matches (nil matches any).
func (s *Server) WaitDM(ctx context.Context, user string, match func(Message) bool) (Message, error) {
	return waitFirst(ctx, "a DM to "+user, func() []Message { return s.DMs(user) }, match, summarize)
}

// Opened reports whether the app opened the conversation id (DMChannel(user)
// for a DM) with conversations.open.
func (s *Server) Opened(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened[id]
}

// Permalink is the link chat.getPermalink gives for a message:
// <server>/archives/<channel>/p<ts without its dot>, as Slack's have the
// shape https://<team>.slack.com/archives/<channel>/p<ts without its dot>.
func (s *Server) Permalink(channel, ts string) string {
	return s.URL() + "/archives/" + channel + "/p" + strings.Replace(ts, ".", "", 1)
}

// chatGetPermalink answers the permalink of a posted message (not an
// ephemeral, which has none).
func (s *Server) chatGetPermalink(p params) result {
	channel, ts := p["channel"], p["message_ts"]
	s.mu.Lock()
	m := s.findPostLocked(channel, ts)
	s.mu.Unlock()
	if channel == "" {
		return failure("channel_not_found")
	}
	if m == nil {
		return failure("message_not_found")
	}
	return ok(result{"channel": channel, "permalink": s.Permalink(channel, ts)})
}
