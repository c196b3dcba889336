package slackbot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
	"github.com/kaizalabot/kaizalabot/storage"
)

// Account owners (KAIZALA_OWNERS) hear of their customers' alerts
// privately: one DM per owner per scan listing the subscriptions newly
// alerted, each pointing at its alert, and the same note in the owner's
// channel when the file names one.

// directMessages is what telling people privately needs of Slack beyond
// SlackAPI; slack-go's client has it.
type directMessages interface {
	OpenConversationContext(ctx context.Context, params *slack.OpenConversationParameters) (*slack.Channel, bool, bool, error)
	GetPermalinkContext(ctx context.Context, params *slack.PermalinkParameters) (string, error)
}

// toldForever is how long an owner-note claim holds: for good, as an
// alert's own claim does (one note per subscription and threshold).
const toldForever = 100 * 365 * 24 * time.Hour

// ownerToldSlot names the claim that an alert's owner was told.
func ownerToldSlot(subscriptionID string, threshold int) string {
	return fmt.Sprintf("owner_told.%s.%d", strings.ToLower(subscriptionID), threshold)
}

// tellOwners tells the account owners of the findings' customers about the
// alerts the findings raised: once per (subscription, threshold), like the
// alert itself, through a claim of its own, so it may be given every
// finding of every scan (findings that do not alert, or whose owner was
// told already, are skipped). Call it after the alerts are posted: a note
// points at its alert, and a finding whose alert post failed is told after
// the scan that posts it. Failures are logged; the scan goes on.
func (a *App) tellOwners(ctx context.Context, findings []bot.Finding) {
	if a.Owners.Len() == 0 {
		return
	}
	widest := slices.Max(append([]int{0}, a.AlertDays...))
	type note struct {
		owner bot.Owner
		items []slackview.OwnerAlertItem
	}
	var dms, channels []*note // by user; by (channel, user)
	find := func(notes *[]*note, owner bot.Owner) *note {
		for _, n := range *notes {
			if strings.EqualFold(n.owner.UserID, owner.UserID) && n.owner.Channel == owner.Channel {
				return n
			}
		}
		n := &note{owner: owner}
		*notes = append(*notes, n)
		return n
	}
	links := map[string]string{} // "channel ts" -> permalink: a batch alert serves many lines
	for _, f := range findings {
		owner, ok := a.Owners.OwnerOf(f.Customer)
		if !ok || !f.Expiring(widest) {
			continue
		}
		threshold, ok := bot.AlertThreshold(f.DaysLeft, a.AlertDays)
		if !ok {
			continue
		}
		log := a.Log.WithFields(logrus.Fields{"customer": f.Customer.Label(), "subscription": f.Subscription.ID, "slack_user": owner.UserID})
		item, posted, err := a.ownerItem(ctx, f, threshold, links)
		if err != nil {
			log.WithError(err).Error("reading the alert to tell its owner failed")
			continue
		}
		if !posted {
			continue // the alert post failed: its owner is told once the next scan posts it
		}
		claimed, _, err := a.Store.ClaimSlot(ctx, ownerToldSlot(f.Subscription.ID, threshold), toldForever)
		if err != nil {
			log.WithError(err).Error("claiming the owner's note failed")
			continue
		}
		if !claimed {
			continue
		}
		dm := find(&dms, bot.Owner{UserID: owner.UserID})
		dm.items = append(dm.items, item)
		if owner.Channel != "" {
			ch := find(&channels, owner)
			ch.items = append(ch.items, item)
		}
	}
	view := func(n *note, inChannel bool) slackview.Message {
		slices.SortStableFunc(n.items, func(x, y slackview.OwnerAlertItem) int { return cmp.Compare(x.Tracked.DaysLeft, y.Tracked.DaysLeft) })
		return slackview.OwnerAlert(slackview.OwnerAlertView{Owner: n.owner.UserID, InChannel: inChannel, Items: n.items, Now: a.Now(), Location: a.Location})
	}
	// Claimed before sending, so a note is never sent twice; one whose post
	// fails is logged and not tried again (where the alert itself is: it is
	// the record, the note only a pointer to it).
	for _, n := range dms {
		if err := a.dm(ctx, n.owner.UserID, view(n, false)); err != nil {
			a.Log.WithError(err).WithFields(logrus.Fields{"slack_user": n.owner.UserID, "subscriptions": len(n.items)}).Error("telling an account owner of their customers' alerts failed")
		}
	}
	for _, n := range channels {
		if _, _, err := a.post(ctx, n.owner.Channel, view(n, true)); err != nil {
			a.Log.WithError(err).WithFields(logrus.Fields{"channel": n.owner.Channel, "subscriptions": len(n.items)}).Error("telling an account's channel of its alerts failed")
		}
	}
}

// ownerItem is what an owner's note says about an alerting finding: where
// its alert is and the subscription's latest migration. posted is false
// while the alert is claimed but its post failed.
func (a *App) ownerItem(ctx context.Context, f bot.Finding, threshold int, links map[string]string) (item slackview.OwnerAlertItem, posted bool, err error) {
	item = slackview.OwnerAlertItem{Tracked: bot.TrackedSubscription{Finding: f}, AlertChannel: a.AlertChannel}
	alerts, err := a.Store.Alerts(ctx, f.Subscription.ID)
	if err != nil {
		return item, false, err
	}
	// The alert's own claim says whether it was raised and posted: no
	// claim, no alert (and no note); a claim without a message is an
	// alert whose post failed.
	i := slices.IndexFunc(alerts, func(al storage.Alert) bool { return al.Threshold == threshold })
	if i < 0 || alerts[i].TS == "" {
		return item, false, nil
	}
	item.AlertChannel = cmp.Or(alerts[i].Channel, a.AlertChannel)
	item.AlertLink = a.permalink(ctx, item.AlertChannel, alerts[i].TS, links)
	if item.Migration, err = a.latestMigration(ctx, f.Subscription.ID); err != nil {
		return item, false, err
	}
	return item, true, nil
}

// permalink is a message's link (chat.getPermalink), "" when Slack cannot
// give one; the note then names the channel instead.
func (a *App) permalink(ctx context.Context, channel, ts string, cache map[string]string) string {
	key := channel + " " + ts
	if link, ok := cache[key]; ok {
		return link
	}
	api, ok := a.Slack.(directMessages)
	if !ok {
		return ""
	}
	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
	a.slackFailed("chat.getPermalink", err)
	cache[key] = link
	return link
}

// dm posts m in the app's DM with a user: conversations.open (scope
// im:write), then chat.postMessage to the DM's channel.
func (a *App) dm(ctx context.Context, user string, m slackview.Message) error {
	api, ok := a.Slack.(directMessages)
	if !ok {
		return errors.New("this Slack client cannot open direct messages")
	}
	ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	a.slackFailed("conversations.open", err)
	if err != nil {
		return fmt.Errorf("opening the DM with %s: %w", user, err)
	}
	_, _, err = a.post(ctx, ch.ID, m)
	return err
}
