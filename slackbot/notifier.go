package slackbot

import (
	"cmp"
	"context"
	"sync"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
)

// notifier reports the engine's events in Slack: the plan message (posted
// when planned, then updated in place), its thread (one reply per step), and
// the subscription's alerts. Publish never blocks the engine: events queue,
// and one worker posts them in order, paced per channel.
type notifier struct {
	app  *App
	mu   sync.Mutex
	q    []bot.Event
	wake chan struct{}
}

// Publish queues an event.
func (n *notifier) Publish(e bot.Event) {
	n.mu.Lock()
	n.q = append(n.q, e)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) run(ctx context.Context) {
	for {
		e, newer, ok := n.next()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-n.wake:
				continue
			}
		}
		n.handle(ctx, e, newer)
	}
}

// next pops the oldest event and says whether a newer event of the same
// migration is queued (then redrawing the plan now would be wasted: the
// newer one redraws it; and a progress count is superseded by a newer one).
func (n *notifier) next() (e bot.Event, newer bool, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.q) == 0 {
		return bot.Event{}, false, false
	}
	e, n.q = n.q[0], n.q[1:]
	for _, later := range n.q {
		if later.Migration.ID == e.Migration.ID {
			newer = true
			break
		}
	}
	return e, newer, true
}

func (n *notifier) handle(ctx context.Context, e bot.Event, newer bool) {
	a := n.app
	if e.Batch != nil {
		n.handleBatch(ctx, e) // batch.go
		return
	}
	log := a.Log.WithField("migration", e.Migration.ID).WithField("event", string(e.Kind))
	if e.Kind == bot.EventPlanned {
		if _, _, err := n.postPlan(ctx, &e.Migration); err != nil {
			log.WithError(err).Error("posting the plan failed")
		}
		return
	}
	m, err := a.Store.GetMigration(ctx, e.Migration.ID)
	if err != nil {
		if ctx.Err() == nil {
			log.WithError(err).Error("reading the migration failed")
		}
		return // shutting down: the start redraws what a stop dropped
	}
	channel, ts, ok, err := a.Store.MigrationMessage(ctx, m.ID)
	if err != nil {
		log.WithError(err).Error("finding the plan message failed")
		return
	}
	if !ok && !m.State.Final() {
		// The plan was never posted (Slack failed, or the process stopped
		// in between): post it now, as it stands, so there is something to
		// approve and a thread for the progress.
		if channel, ts, err = n.postPlan(ctx, m); err != nil {
			log.WithError(err).Error("posting the missing plan failed")
			return
		}
		ok, newer = true, true // just drawn as it stands
	}
	if ok && !newer {
		if err := n.redraw(ctx, m, channel, ts); err != nil {
			log.WithError(err).Warn("updating the plan message failed")
		}
	}
	progressSuperseded := newer && e.Kind == bot.EventUserMoved && e.Done < e.Total
	if text, post := slackview.Progress(e, a.Location); ok && post && !progressSuperseded && !n.quietInBatch(ctx, e) {
		if _, _, err := a.post(ctx, channel, slackview.Message{Text: text, Blocks: nil}, slack.MsgOptionTS(ts)); err != nil {
			log.WithError(err).Warn("posting progress failed")
		}
	}
	if e.Kind == bot.EventReplanned && ok && m.State == bot.StatePendingApproval {
		a.askApprovers(ctx, m, channel, ts) // a new plan: they must approve again
	}
	switch e.Kind {
	case bot.EventStarted, bot.EventDone, bot.EventFailed, bot.EventNeedsApproval, bot.EventReplanned, bot.EventRejected, eventRedraw,
		bot.EventUndoing, bot.EventUndone:
		if err := a.refreshAlerts(ctx, m); err != nil {
			log.WithError(err).Warn("updating the alerts failed")
		}
	}
}

// postPlan posts a plan for approval and remembers where it went; a plan
// already posted is redrawn instead, so posting twice cannot happen. It
// returns where the plan message is.
func (n *notifier) postPlan(ctx context.Context, m *bot.Migration) (channel, ts string, err error) {
	a := n.app
	if channel, ts, ok, err := a.Store.MigrationMessage(ctx, m.ID); err != nil {
		return "", "", err
	} else if ok {
		return channel, ts, n.redraw(ctx, m, channel, ts)
	}
	if channel, ts, inBatch, err := n.postInBatch(ctx, m); inBatch || err != nil {
		return channel, ts, err // a batch member's plan goes in its batch's thread (batch.go)
	}
	view, err := n.planView(ctx, m)
	if err != nil {
		return "", "", err
	}
	if channel, ts, err = a.post(ctx, a.AlertChannel, slackview.Plan(view)); err != nil {
		return "", "", err
	}
	if err := a.Store.SetMigrationMessage(ctx, m.ID, channel, ts); err != nil {
		return "", "", err
	}
	if m.State == bot.StatePendingApproval {
		a.askApprovers(ctx, m, channel, ts)
	}
	return channel, ts, a.refreshAlerts(ctx, m)
}

func (n *notifier) redraw(ctx context.Context, m *bot.Migration, channel, ts string) error {
	view, err := n.planView(ctx, m)
	if err != nil {
		return err
	}
	return n.app.update(ctx, channel, ts, slackview.Plan(view))
}

func (n *notifier) planView(ctx context.Context, m *bot.Migration) (slackview.PlanView, error) {
	ds, err := n.app.Store.Decisions(ctx, m.ID)
	if err != nil {
		return slackview.PlanView{}, err
	}
	owner, _ := n.app.Owners.OwnerOf(bot.Customer{ID: m.CustomerID, Domain: cmp.Or(m.CustomerDomain, m.Plan.CustomerDomain)})
	return slackview.PlanView{Migration: m, Decisions: ds, Required: max(1, n.app.Engine.Policy.Required), Now: n.app.Now(), Location: n.app.Location,
		Owner: owner.UserID}, nil
}
