package slackbot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
	"github.com/kaizalabot/kaizalabot/storage"
)

// AlertBook keeps the Slack messages that show alerted subscriptions, one
// line per subscription, so a change re-renders the message in place
// (storage.DB).
type AlertBook interface {
	RecordAlertMessage(ctx context.Context, m storage.AlertMessage) error
	AlertMessagesShowing(ctx context.Context, subscriptionID string) ([]storage.AlertMessage, error)
	AlertBatch(ctx context.Context, channel, root string) ([]storage.AlertMessage, error)
	UnsettledAlertMessages(ctx context.Context) ([]storage.AlertMessage, error)
	SetAlertRendered(ctx context.Context, channel, ts, rendered string, settled bool) error
	RaiseAlertLine(ctx context.Context, channel, ts, subscriptionID string, threshold int) error
	SetAlertLineUsers(ctx context.Context, subscriptionID string, users int) error
}

var _ AlertBook = (*storage.DB)(nil)

// alertBook is the Store as an AlertBook.
func (a *App) alertBook() (AlertBook, error) { return a.Store, nil }

// alertsRedrawnFor is how long scans keep re-rendering an alert message
// whose lines all settled (none counts days any more); one with a line
// still open is re-rendered as long as it is open.
const alertsRedrawnFor = 7 * 24 * time.Hour

// alertClaim is a (subscription, threshold) alert a scan claimed.
type alertClaim struct {
	finding   bot.Finding
	threshold int
	// home is the message already showing the subscription, nil when it
	// was never alerted: it is then a line of this scan's alert.
	home *storage.AlertMessage
}

// alert tells the alert channel about the subscriptions that crossed a
// threshold. Those never alerted before make one message per scan (a
// batch: grouped by urgency, one line each, with what does not fit in
// follow-ups in its thread; one subscription alone gets the single alert);
// one already shown is raised in the message that shows it, with a reply
// in its thread. The database remembers every (subscription, threshold)
// claimed, so a restart or the next scan does not alert again; a claim
// whose post failed is posted again next time. Then the messages still
// counting days are re-rendered, so none shows yesterday's count.
func (a *App) alert(ctx context.Context, r *bot.ScanReport) (posted int, err error) {
	book, err := a.alertBook()
	if err != nil {
		return 0, err
	}
	widest := 0
	for _, d := range a.AlertDays {
		widest = max(widest, d)
	}
	var fresh, raised []alertClaim
	for _, f := range r.Findings {
		if !f.Expiring(widest) {
			continue
		}
		threshold, ok := bot.AlertThreshold(f.DaysLeft, a.AlertDays)
		if !ok {
			continue
		}
		claimed, err := a.Store.ClaimAlert(ctx, f.Subscription.ID, f.Customer.ID, threshold)
		if err != nil {
			return posted, err
		}
		if !claimed {
			if claimed, err = a.unposted(ctx, f.Subscription.ID, threshold); err != nil || !claimed {
				if err != nil {
					return posted, err
				}
				continue
			}
		}
		homes, err := book.AlertMessagesShowing(ctx, f.Subscription.ID)
		if err != nil {
			return posted, err
		}
		c := alertClaim{finding: f, threshold: threshold}
		if len(homes) == 0 {
			fresh = append(fresh, c)
			continue
		}
		c.home = &homes[len(homes)-1]
		raised = append(raised, c)
	}
	n, err := a.postAlerts(ctx, book, fresh)
	posted += n
	if err != nil {
		return posted, err
	}
	for _, c := range raised {
		ok, err := a.raiseAlert(ctx, book, c)
		if err != nil {
			return posted, err
		}
		if ok {
			posted++
		}
	}
	return posted, a.redrawAlerts(ctx, book)
}

// unposted reports whether a claimed alert was never posted.
func (a *App) unposted(ctx context.Context, subscriptionID string, threshold int) (bool, error) {
	alerts, err := a.Store.Alerts(ctx, subscriptionID)
	if err != nil {
		return false, err
	}
	for _, al := range alerts {
		if al.Threshold == threshold && al.TS == "" {
			return true, nil
		}
	}
	return false, nil
}

// postAlerts posts the alert of the subscriptions never alerted before and
// says how many it showed. A message Slack refused leaves its claims
// unposted, for the next scan.
func (a *App) postAlerts(ctx context.Context, book AlertBook, fresh []alertClaim) (posted int, err error) {
	if len(fresh) == 0 {
		return 0, nil
	}
	lines := make([]slackview.AlertLine, len(fresh))
	for i, c := range fresh {
		if lines[i], err = a.newAlertLine(ctx, c); err != nil {
			return 0, err
		}
	}
	now := a.Now()
	if len(fresh) == 1 {
		msg := slackview.Alert(singleAlertView(lines[0], now, a.Location))
		channel, ts, err := a.post(ctx, a.AlertChannel, msg)
		if err != nil {
			a.Log.WithError(err).WithField("subscription", fresh[0].finding.Subscription.ID).Error("posting an alert failed; it will be tried again after the next scan")
			return 0, nil
		}
		return 1, book.RecordAlertMessage(ctx, storage.AlertMessage{Channel: channel, TS: ts, Kind: storage.AlertKindSingle,
			PostedAt: now, Rendered: renderedDigest(msg), Lines: storedLines(lines)})
	}

	pages := slackview.AlertBatchPages(lines, now, a.Location)
	msg := slackview.AlertBatch(slackview.AlertBatchView{Lines: pages[0], Threaded: slices.Concat(pages[1:]...), Now: now, Location: a.Location})
	channel, root, err := a.post(ctx, a.AlertChannel, msg)
	if err != nil {
		a.Log.WithError(err).WithField("subscriptions", len(fresh)).Error("posting the alert failed; it will be tried again after the next scan")
		return 0, nil
	}
	if err := book.RecordAlertMessage(ctx, storage.AlertMessage{Channel: channel, TS: root, Kind: storage.AlertKindBatch,
		PostedAt: now, Rendered: renderedDigest(msg), Lines: storedLines(pages[0])}); err != nil {
		return 0, err
	}
	posted = len(pages[0])
	for i, page := range pages[1:] {
		msg := slackview.AlertBatch(slackview.AlertBatchView{Lines: page, Part: i + 2, Parts: len(pages), Now: now, Location: a.Location})
		_, ts, err := a.post(ctx, channel, msg, slack.MsgOptionTS(root))
		if err != nil {
			a.Log.WithError(err).WithField("subscriptions", len(page)).Error("posting the rest of the alert in its thread failed; it will be tried again after the next scan")
			continue
		}
		if err := book.RecordAlertMessage(ctx, storage.AlertMessage{Channel: channel, TS: ts, ThreadTS: root, Kind: storage.AlertKindBatch,
			PostedAt: now, Rendered: renderedDigest(msg), Lines: storedLines(page)}); err != nil {
			return posted, err
		}
		posted += len(page)
	}
	if posted < len(fresh) {
		// The top-level message counted a follow-up that is not there:
		// count again what is.
		if err := a.redrawAlertMessage(ctx, book, channel, root); err != nil {
			a.Log.WithError(err).Warn("updating the alert failed")
		}
	}
	return posted, nil
}

// raiseAlert shows that a subscription already alerted crossed a later
// threshold: the message showing it is re-rendered (its line moves up) and
// a reply in its thread says so. ok is false when Slack refused the reply;
// the claim then stays unposted, for the next scan.
func (a *App) raiseAlert(ctx context.Context, book AlertBook, c alertClaim) (ok bool, err error) {
	sub, home := c.finding.Subscription.ID, c.home
	log := a.Log.WithField("subscription", sub)
	line, err := a.alertLine(ctx, storage.AlertLine{SubscriptionID: sub, CustomerID: c.finding.Customer.ID, Threshold: c.threshold, Users: -1})
	if err != nil {
		return false, err
	}
	if line.Settled() {
		// Migrated (or no longer due): crossing a threshold changes nothing
		// anyone must do.
		return false, a.Store.SetAlertMessage(ctx, sub, c.threshold, home.Channel, home.TS)
	}
	if err := book.RaiseAlertLine(ctx, home.Channel, home.TS, sub, c.threshold); err != nil {
		return false, err
	}
	if err := a.redrawAlertMessage(ctx, book, home.Channel, home.TS); err != nil {
		log.WithError(err).Warn("updating the alert failed")
	}
	if _, _, err := a.post(ctx, home.Channel, slackview.AlertRaised(line), slack.MsgOptionTS(home.Root())); err != nil {
		log.WithError(err).Error("posting that an alerted subscription crossed a threshold failed; it will be tried again after the next scan")
		return false, nil
	}
	return true, a.Store.SetAlertMessage(ctx, sub, c.threshold, home.Channel, home.TS)
}

// redrawAlerts re-renders the alert messages a scan keeps up to date: those
// with a line still counting days, and any posted in the last
// alertsRedrawnFor. An unchanged message is not sent again.
func (a *App) redrawAlerts(ctx context.Context, book AlertBook) error {
	msgs, err := book.UnsettledAlertMessages(ctx)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := a.redrawAlertMessage(ctx, book, m.Channel, m.TS); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			a.Log.WithError(err).WithField("ts", m.TS).Warn("updating an alert failed; the next scan tries again")
		}
	}
	return nil
}

// refreshAlerts re-renders the messages that show a migration's
// subscription, so its line says where the migration is.
func (a *App) refreshAlerts(ctx context.Context, m *bot.Migration) error {
	book, err := a.alertBook()
	if err != nil {
		return err
	}
	homes, err := book.AlertMessagesShowing(ctx, m.SubscriptionID)
	if err != nil || len(homes) == 0 {
		return err
	}
	if err := a.Store.SetAlertState(ctx, m.SubscriptionID, string(m.State)); err != nil {
		return err
	}
	// Users assigned change as a migration moves them: read once per
	// change, not per message; a failed read keeps the last count.
	tracked, err := a.Store.FindSubscription(ctx, m.SubscriptionID)
	if err != nil {
		return fmt.Errorf("alerted subscription %s: %w", m.SubscriptionID, err)
	}
	if users := a.usersAssigned(ctx, *tracked); users >= 0 {
		if err := book.SetAlertLineUsers(ctx, m.SubscriptionID, users); err != nil {
			return err
		}
	}
	for _, h := range homes {
		if err := a.redrawAlertMessage(ctx, book, h.Channel, h.TS); err != nil {
			a.Log.WithError(err).WithField("subscription", m.SubscriptionID).Warn("updating an alert failed")
		}
	}
	return nil
}

// alertLocks serialises the redraws of each alert message in this process:
// a scan and the notifier may redraw the same one at once, and the state
// read first must not be sent last.
var alertLocks = struct {
	sync.Mutex
	m map[string]*sync.Mutex
}{m: map[string]*sync.Mutex{}}

func lockAlertMessage(channel, ts string) (unlock func()) {
	alertLocks.Lock()
	l := alertLocks.m[channel+"/"+ts]
	if l == nil {
		l = new(sync.Mutex)
		alertLocks.m[channel+"/"+ts] = l
	}
	alertLocks.Unlock()
	l.Lock()
	return l.Unlock
}

// redrawAlertMessage re-renders the alert message (channel, ts) from the
// stored state, and updates it in Slack unless it shows that already.
func (a *App) redrawAlertMessage(ctx context.Context, book AlertBook, channel, ts string) error {
	defer lockAlertMessage(channel, ts)()
	// Read under the lock: the message and its batch as they are now.
	msg, batch, err := a.alertMessage(ctx, book, channel, ts)
	if err != nil {
		return err
	}
	view, settled, err := a.renderAlertMessage(ctx, msg, batch)
	if err != nil {
		return err
	}
	settled = settled && a.Now().Sub(msg.PostedAt) > alertsRedrawnFor
	digest := renderedDigest(view)
	if digest != msg.Rendered {
		if err := a.update(ctx, channel, ts, view); err != nil {
			return err
		}
	} else if settled == msg.Settled {
		return nil
	}
	return book.SetAlertRendered(ctx, channel, ts, digest, settled)
}

// alertMessage reads the alert message (channel, ts) and the batch it is
// part of, top-level message first.
func (a *App) alertMessage(ctx context.Context, book AlertBook, channel, ts string) (storage.AlertMessage, []storage.AlertMessage, error) {
	// As a root, ts gives its whole batch; a follow-up gives itself, and
	// names its root.
	batch, err := book.AlertBatch(ctx, channel, ts)
	if err != nil {
		return storage.AlertMessage{}, nil, err
	}
	for _, m := range batch {
		if m.TS != ts {
			continue
		}
		if m.ThreadTS != "" {
			batch, err = book.AlertBatch(ctx, channel, m.ThreadTS)
		}
		return m, batch, err
	}
	return storage.AlertMessage{}, nil, fmt.Errorf("alert message %s/%s: %w", channel, ts, bot.ErrNotFound)
}

// renderAlertMessage renders a stored alert message as things stand now;
// settled is whether all of its lines are.
func (a *App) renderAlertMessage(ctx context.Context, m storage.AlertMessage, batch []storage.AlertMessage) (slackview.Message, bool, error) {
	views := func(stored []storage.AlertLine) ([]slackview.AlertLine, error) {
		out := make([]slackview.AlertLine, len(stored))
		for i, l := range stored {
			v, err := a.alertLine(ctx, l)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	lines, err := views(m.Lines)
	if err != nil {
		return slackview.Message{}, false, err
	}
	settled := true
	for _, l := range lines {
		settled = settled && l.Settled()
	}
	now := a.Now()
	if m.Kind == storage.AlertKindSingle && len(lines) == 1 {
		return slackview.Alert(singleAlertView(lines[0], now, a.Location)), settled, nil
	}
	v := slackview.AlertBatchView{Lines: lines, Now: now, Location: a.Location}
	for i, other := range batch {
		switch {
		case other.TS == m.TS && m.ThreadTS != "":
			v.Part, v.Parts = i+1, len(batch)
		case m.ThreadTS == "" && other.ThreadTS == m.TS:
			threaded, err := views(other.Lines)
			if err != nil {
				return slackview.Message{}, false, err
			}
			v.Threaded = append(v.Threaded, threaded...)
		}
	}
	return slackview.AlertBatch(v), settled, nil
}

// newAlertLine is the line of a subscription alerted for the first time.
func (a *App) newAlertLine(ctx context.Context, c alertClaim) (slackview.AlertLine, error) {
	t := bot.TrackedSubscription{Finding: c.finding}
	l, err := a.alertLine(ctx, storage.AlertLine{SubscriptionID: t.Subscription.ID, CustomerID: t.Customer.ID, Threshold: c.threshold, Users: -1})
	if err != nil {
		return l, err
	}
	l.Tracked = t
	l.UsersAssigned = a.usersAssigned(ctx, t)
	return l, nil
}

// alertLine is a stored line as things stand: the subscription as last
// scanned, its latest migration, the plans it may move to.
func (a *App) alertLine(ctx context.Context, l storage.AlertLine) (slackview.AlertLine, error) {
	tracked, err := a.Store.FindSubscription(ctx, l.SubscriptionID)
	if errors.Is(err, bot.ErrNotFound) {
		// Only alerted subscriptions have lines, and only scanned ones are
		// alerted: this is a database from elsewhere. Show the id.
		tracked, err = &bot.TrackedSubscription{Finding: bot.Finding{Subscription: bot.Subscription{ID: l.SubscriptionID, CustomerID: l.CustomerID},
			Customer: bot.Customer{ID: l.CustomerID}}}, nil
	}
	if err != nil {
		return slackview.AlertLine{}, err
	}
	m, err := a.latestMigration(ctx, l.SubscriptionID)
	if err != nil {
		return slackview.AlertLine{}, err
	}
	var targets []bot.Target
	if r, ok := a.Catalog.RetiredFor(tracked.Subscription); ok {
		targets = a.Catalog.TargetsFor(r)
	}
	return slackview.AlertLine{Tracked: *tracked, Threshold: l.Threshold, UsersAssigned: l.Users, Owner: a.alertOwner(tracked.Customer),
		Targets: targets, Migration: m}, nil
}

// alertOwner is the customer's account owner shown on its alert line: a
// Slack user id or a name; "" when not known.
func (a *App) alertOwner(c bot.Customer) string {
	if o, ok := a.Owners.OwnerOf(c); ok {
		return o.UserID
	}
	return ""
}

func singleAlertView(l slackview.AlertLine, now time.Time, loc *time.Location) slackview.AlertView {
	return slackview.AlertView{Tracked: l.Tracked, Threshold: l.Threshold, UsersAssigned: l.UsersAssigned, Targets: l.Targets,
		Migration: l.Migration, Now: now, Location: loc}
}

func storedLines(lines []slackview.AlertLine) []storage.AlertLine {
	out := make([]storage.AlertLine, len(lines))
	for i, l := range lines {
		out[i] = storage.AlertLine{SubscriptionID: l.Tracked.Subscription.ID, CustomerID: l.Tracked.Customer.ID, Threshold: l.Threshold, Users: l.UsersAssigned}
	}
	return out
}

// renderedDigest identifies a message's content, to tell whether Slack
// shows it already.
func renderedDigest(m slackview.Message) string {
	raw, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:16])
}

// usersAssigned counts the users holding the subscription's licence, or -1
// when Partner Center cannot say (an app-only token cannot read licences).
func (a *App) usersAssigned(ctx context.Context, t bot.TrackedSubscription) int {
	sku, err := a.PC.SubscriptionSkuID(ctx, t.Customer.ID, t.Subscription.ID)
	if err != nil || sku == "" {
		return -1
	}
	pools, err := a.PC.LicensePools(ctx, t.Customer.ID)
	if err != nil {
		return -1
	}
	for _, p := range pools {
		if bot.SameID(p.SkuID, sku) {
			return p.Consumed
		}
	}
	return 0
}
