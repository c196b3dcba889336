package slackbot

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/kaizalabot/kaizalabot/slackview"
)

// SlackAPI is the part of slack-go's client the bot uses.
type SlackAPI interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
	GetUserGroupMembersContext(ctx context.Context, userGroup string, options ...slack.GetUserGroupMembersOption) ([]string, error)
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
	PublishViewContext(ctx context.Context, req slack.PublishViewContextRequest) (*slack.ViewResponse, error)
}

// options turns a view into message options: blocks and the text fallback
// (already escaped by the view).
func options(m slackview.Message) []slack.MsgOption {
	return []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...), slack.MsgOptionDisableLinkUnfurl()}
}

// ephemeral is a view as an HTTP reply body or response_url message.
func ephemeral(m slackview.Message) *slack.Msg {
	return &slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: m.Text, Blocks: slack.Blocks{BlockSet: m.Blocks}}
}

// slackErrorCode names a Slack failure for logs and metrics: the "error"
// of an ok:false answer, "ratelimited", or "transport".
func slackErrorCode(err error) string {
	var resp slack.SlackErrorResponse
	var limited *slack.RateLimitedError
	switch {
	case errors.As(err, &resp):
		return resp.Err
	case errors.As(err, &limited):
		return "ratelimited"
	}
	return "transport"
}

// pacer keeps to Slack's "no more than one message per second per channel".
type pacer struct {
	mu       sync.Mutex
	channels map[string]*rate.Limiter
}

func (p *pacer) wait(ctx context.Context, channel string) error {
	p.mu.Lock()
	if p.channels == nil {
		p.channels = map[string]*rate.Limiter{}
	}
	l := p.channels[channel]
	if l == nil {
		l = rate.NewLimiter(rate.Every(time.Second), 1)
		p.channels[channel] = l
	}
	p.mu.Unlock()
	return l.Wait(ctx)
}

// groupCache answers who is in the approver group. usergroups.users.list is
// Tier 2 (20+/min), so members are cached for a few minutes, not read per click.
type groupCache struct {
	api SlackAPI
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	members map[string][]string
	read    map[string]time.Time
}

// GroupMembers returns the members of a Slack user group.
func (g *groupCache) GroupMembers(ctx context.Context, group string) ([]string, error) {
	g.mu.Lock()
	if at, ok := g.read[group]; ok && g.now().Sub(at) < g.ttl {
		m := g.members[group]
		g.mu.Unlock()
		return m, nil
	}
	g.mu.Unlock()
	members, err := g.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members == nil {
		g.members, g.read = map[string][]string{}, map[string]time.Time{}
	}
	g.members[group], g.read[group] = members, g.now()
	return members, nil
}
