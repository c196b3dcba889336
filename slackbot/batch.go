package slackbot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
	"github.com/kaizalabot/kaizalabot/storage"
)

// Bulk plans in Slack. `/kaizala plan all <target>` posts ONE batch message
// to the alert channel, with one Approve; the rest of its lists, and each
// member's own plan message (its Approve, Reject and Retry), go in the
// message's thread, where a progress reply counts the members as they
// finish. A member's routine steps are not posted there one by one (forty
// migrations would bury the thread): its plan message is updated in place,
// and only what needs a person (a failure, a stop for a new approval) is
// posted.

// batchMessages is where batch messages are in Slack; storage.DB keeps them.
//
// batchMessages is where batch messages were posted (part of Store).
type batchMessages interface {
	SetBatchMessage(ctx context.Context, batchID, channel, ts string) error
	SetBatchProgress(ctx context.Context, batchID, progressTS, announced string) error
	GetBatchMessage(ctx context.Context, batchID string) (storage.BatchMessage, bool, error)
}

func (a *App) batchMessages() (batchMessages, error) { return a.Store, nil }

// batchOwners says who owns which customer, for `owner @user`: nil (so a
// batch for an owner is refused, naming KAIZALA_OWNERS) when none are set.
func (a *App) batchOwners() bot.CustomerOwners {
	if a.Owners.Len() == 0 {
		return nil
	}
	return a.Owners
}

const planAllUsage = "Usage: /kaizala plan all <target> [within DAYS] [owner @user], e.g. /kaizala plan all STANDARDPACK within 30. See /kaizala targets for the targets."

// planAll answers /kaizala plan all <target> [within DAYS] [owner @user]:
// the plans are worked out in the background and posted as one batch.
func (a *App) planAll(args []string, actor bot.Actor, responseURL string) *slack.Msg {
	var target []string
	days, owner := 0, ""
	for i := 0; i < len(args); i++ {
		switch word := strings.ToLower(args[i]); {
		case word == "within" && i+1 < len(args):
			i++
			n, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(args[i]), "d"))
			if err != nil || n < 1 || n > 3650 {
				return ephemeral(slackview.Refusal(fmt.Sprintf("%q is not a number of days: say within 30, with a whole number from 1 to 3650, or leave it out for %d.", args[i], bot.DefaultBatchDays)))
			}
			days = n
			if i+1 < len(args) && strings.HasPrefix(strings.ToLower(args[i+1]), "day") {
				i++ // "within 30 days"
			}
		case word == "owner" && i+1 < len(args):
			i++
			id, ok := mentionedUser(args[i])
			if !ok {
				return ephemeral(slackview.Refusal(fmt.Sprintf("I need the owner's Slack user id, not %q: type it (owner U0123ABCD, from their profile's ⋮ menu, Copy member ID).", args[i])))
			}
			owner = id
		case word == "within" || word == "owner":
			return ephemeral(slackview.Refusal(planAllUsage))
		default:
			target = append(target, args[i])
		}
	}
	if len(target) == 0 {
		return ephemeral(slackview.Refusal(planAllUsage))
	}
	req := bot.BatchRequest{Target: strings.Join(target, " "), WithinDays: days, Owner: owner, Owners: a.batchOwners(), Location: a.Location, Requester: actor}
	a.background(responseURL, func(ctx context.Context) slackview.Message {
		st, refusal, err := a.Engine.PlanBatch(ctx, req)
		switch {
		case err != nil:
			return a.failure("working out the batch", err)
		case refusal != "":
			return slackview.Refusal(refusal)
		}
		seats, users := 0, 0
		for _, m := range st.Members {
			seats, users = seats+m.Plan.Seats, users+len(m.Plan.Move)
		}
		note := ""
		if n := len(st.Batch.Unplanned); n > 0 {
			note = fmt.Sprintf(" %d could not be planned; the batch says why.", n)
		}
		return slackview.Info(fmt.Sprintf("Batch %s is posted in %s for approval: %d subscriptions to move to %s, buying %d seats and moving %d users. One Approve approves them all.%s",
			st.Batch.ID, channelMention(a.AlertChannel), len(st.Members), st.Batch.TargetName, seats, users, note))
	})
	return ephemeral(slackview.Info(fmt.Sprintf("Working out a plan for every subscription ending within %d days… Each plan reads its customer's users and licences, so many customers take a while.",
		cmp.Or(days, bot.DefaultBatchDays))))
}

// mentionedUser reads a user as a command carries it: a mention Slack
// escaped (<@U123> or <@U123|name>) or a bare user id, in capitals as Slack
// writes them. A plain @name cannot be resolved without reading every user
// (and the app's manifest does not ask Slack to escape mentions).
func mentionedUser(s string) (string, bool) {
	if inner, ok := strings.CutPrefix(s, "<@"); ok {
		inner, _, _ = strings.Cut(strings.TrimSuffix(inner, ">"), "|")
		s = inner
	}
	if len(s) < 3 || len(s) > 30 || (s[0] != 'U' && s[0] != 'W') {
		return "", false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return "", false
		}
	}
	return s, true
}

// runBatchDecision approves or rejects a batch for actor; batchHash is the
// batch the person saw ("" for the batch as it stands, when typed).
func (a *App) runBatchDecision(ctx context.Context, verb, id, batchHash, reason string, actor bot.Actor) slackview.Message {
	switch verb {
	case "approve":
		res, refusal, err := a.Engine.ApproveBatch(ctx, id, batchHash, actor)
		switch {
		case err != nil:
			return a.failure("approving the batch", err)
		case refusal != "":
			return slackview.Refusal(refusal)
		}
		st := res.Status
		var msg string
		switch {
		case res.Already:
			msg = fmt.Sprintf("You had already approved batch %s (%s); nothing changed.", st.Batch.ID, slackviewCounts(st))
		case res.Started > 0:
			msg = fmt.Sprintf("You approved batch %s: %d migrations are running, at most %d at a time. Progress goes in the batch's thread.",
				st.Batch.ID, res.Started, st.Concurrency)
		default:
			msg = fmt.Sprintf("You approved batch %s: %d of %d approvals for its %d migrations waiting.", st.Batch.ID, len(st.Approvers), st.Required, res.Approved)
		}
		if n := len(res.Refused); n > 0 {
			msg += fmt.Sprintf(" %d could not be approved; the first: %s", n, res.Refused[0])
		}
		return slackview.Info(msg)
	case "reject":
		st, refusal, err := a.Engine.RejectBatch(ctx, id, batchHash, actor, reason)
		switch {
		case err != nil:
			return a.failure("rejecting the batch", err)
		case refusal != "":
			return slackview.Refusal(refusal)
		}
		return slackview.Info(fmt.Sprintf("Batch %s is rejected: %s.", st.Batch.ID, slackviewCounts(st)))
	}
	return slackview.Refusal(fmt.Sprintf("A batch is approved or rejected as a whole; each of its migrations is retried or undone on its own: /kaizala %s <migration id>, e.g. from its plan in the batch's thread.", verb))
}

func slackviewCounts(st *bot.BatchStatus) string { return slackview.BatchCountWords(st.Counts()) }

// batchClick handles a click on the batch message's Approve or Reject.
func (a *App) batchClick(ic slack.InteractionCallback, action *slack.BlockAction, actor bot.Actor) {
	id, batchHash := slackview.ParseDecisionValue(action.Value)
	if batchHash == "" {
		a.background(ic.ResponseURL, func(context.Context) slackview.Message {
			return slackview.Refusal("That button does not say which batch it was for; nothing was done. Use the buttons on the batch message as it is now.")
		})
		return
	}
	if action.ActionID == slackview.ActionBatchApprove {
		a.background(ic.ResponseURL, func(ctx context.Context) slackview.Message {
			return a.runBatchDecision(ctx, "approve", id, batchHash, "", actor)
		})
		return
	}
	// Reject asks why first, but only when the rejection would count.
	a.background(ic.ResponseURL, func(ctx context.Context) slackview.Message {
		st, refusal, err := a.Engine.MayRejectBatch(ctx, id, batchHash, actor)
		switch {
		case err != nil:
			return a.failure("rejecting the batch", err)
		case refusal != "":
			return slackview.Refusal(refusal)
		}
		meta := slackview.RejectMeta{MigrationID: st.Batch.ID, PlanHash: st.Batch.Hash, Channel: cmp.Or(ic.Channel.ID, ic.Container.ChannelID)}
		if _, err := a.Slack.OpenViewContext(ctx, ic.TriggerID, slackview.BatchRejectModal(st, meta)); err != nil {
			a.slackFailed("views.open", err)
			return slackview.Refusal(fmt.Sprintf("The dialog asking for a reason did not open (%s). Type `/kaizala reject %s <reason>` instead.", slackErrorCode(err), st.Batch.ID))
		}
		return slackview.Message{} // the dialog is the answer
	})
}

// rejectBatchWithReason acts on the submitted batch reject dialog, as
// rejectWithReason does for one migration.
func (a *App) rejectBatchWithReason(ic slack.InteractionCallback, actor bot.Actor) *slack.ViewSubmissionResponse {
	meta, reason, back := a.readRejectDialog(ic, "batch id")
	if back != nil {
		return back
	}
	a.goBackground(func() {
		ctx, cancel := context.WithTimeout(a.base, time.Minute)
		defer cancel()
		a.tell(ctx, meta.Channel, actor.ID, a.runBatchDecision(ctx, "reject", meta.MigrationID, meta.PlanHash, reason, actor))
	})
	return nil
}

// handleBatch reports a batch event: the batch message (posted once, then
// redrawn in place), the progress reply in its thread from the approval on,
// and the outcome, announced once to the requester.
func (n *notifier) handleBatch(ctx context.Context, e bot.Event) {
	a := n.app
	log := a.Log.WithField("batch", e.Batch.Batch.ID).WithField("event", string(e.Kind))
	bm, err := a.batchMessages()
	if err != nil {
		log.WithError(err).Error("cannot report batches")
		return
	}
	// As it stands now: the event's copy may be older.
	st, _, err := a.Engine.Batch(ctx, e.Batch.Batch.ID)
	if err != nil || st == nil {
		if ctx.Err() == nil {
			log.WithError(err).Error("reading the batch failed")
		}
		return
	}
	msg, posted, err := n.ensureBatchMessage(ctx, st)
	if err != nil {
		log.WithError(err).Error("posting the batch failed")
		return
	}
	view := n.batchView(st)
	if !posted {
		top, _ := slackview.Batch(view)
		if err := a.update(ctx, msg.Channel, msg.TS, top); err != nil {
			log.WithError(err).Warn("updating the batch message failed")
		}
	}
	thread := slack.MsgOptionTS(msg.TS)
	// The progress reply counts from the first member that moved on (a
	// first approval of two starts nothing yet).
	if c := st.Counts(); (e.Kind == bot.EventBatchApproved || e.Kind == bot.EventBatchProgress) && c.Pending < c.Total {
		progress := slackview.BatchProgress(view)
		if msg.ProgressTS == "" {
			_, ts, err := a.post(ctx, msg.Channel, progress, thread)
			if err == nil {
				msg.ProgressTS = ts
				err = bm.SetBatchProgress(ctx, st.Batch.ID, ts, msg.Announced)
			}
			if err != nil {
				log.WithError(err).Warn("posting the batch's progress failed")
			}
		} else if err := a.update(ctx, msg.Channel, msg.ProgressTS, progress); err != nil {
			log.WithError(err).Warn("updating the batch's progress failed")
		}
	}
	if outcome, key, ok := slackview.BatchOutcome(view); ok && key != msg.Announced {
		// Recorded before it is posted: a lost post is better than the
		// same announcement twice after a restart.
		if err := bm.SetBatchProgress(ctx, st.Batch.ID, msg.ProgressTS, key); err != nil {
			log.WithError(err).Warn("recording the batch's outcome failed")
			return
		}
		if _, _, err := a.post(ctx, msg.Channel, outcome, thread); err != nil {
			log.WithError(err).Warn("announcing the batch's outcome failed")
		}
	}
}

// ensureBatchMessage returns where the batch message is, posting it (with
// the thread replies that continue its lists) when it was never posted;
// posted says it was just drawn as it stands.
func (n *notifier) ensureBatchMessage(ctx context.Context, st *bot.BatchStatus) (msg storage.BatchMessage, posted bool, err error) {
	a := n.app
	bm, err := a.batchMessages()
	if err != nil {
		return msg, false, err
	}
	if msg, ok, err := bm.GetBatchMessage(ctx, st.Batch.ID); err != nil || ok {
		return msg, false, err
	}
	top, more := slackview.Batch(n.batchView(st))
	channel, ts, err := a.post(ctx, a.AlertChannel, top)
	if err != nil {
		return msg, false, err
	}
	if err := bm.SetBatchMessage(ctx, st.Batch.ID, channel, ts); err != nil {
		return msg, false, err
	}
	// The approvers are asked once for the batch; its members' plans
	// (posted in the thread) do not ask one by one.
	if len(st.Members) > 0 {
		p := a.Engine.Policy
		if _, _, err := a.post(ctx, channel, slackview.BatchApprovalAsked(p.Approvers, p.Group, st), slack.MsgOptionTS(ts)); err != nil {
			a.Log.WithError(err).WithField("batch", st.Batch.ID).Warn("asking the approvers in the batch's thread failed")
		}
	}
	for _, m := range more {
		if _, _, err := a.post(ctx, channel, m, slack.MsgOptionTS(ts)); err != nil {
			a.Log.WithError(err).WithField("batch", st.Batch.ID).Error("posting the rest of the batch's list in its thread failed; /kaizala status shows each migration")
		}
	}
	return storage.BatchMessage{Channel: channel, TS: ts}, true, nil
}

func (n *notifier) batchView(st *bot.BatchStatus) slackview.BatchView {
	return slackview.BatchView{Status: st, Now: n.app.Now(), Location: n.app.Location}
}

// postInBatch posts the plan of a batch member in its batch's thread (the
// batch message first, if it was never posted); handled is false for a
// migration of no batch.
func (n *notifier) postInBatch(ctx context.Context, m *bot.Migration) (channel, ts string, handled bool, err error) {
	a := n.app
	batchID, err := a.Store.BatchOf(ctx, m.ID)
	if errors.Is(err, bot.ErrNotFound) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", true, err
	}
	st, refusal, err := a.Engine.Batch(ctx, batchID)
	if err != nil || st == nil {
		return "", "", true, cmp.Or(err, errors.New(refusal))
	}
	msg, _, err := n.ensureBatchMessage(ctx, st)
	if err != nil {
		return "", "", true, err
	}
	view, err := n.planView(ctx, m)
	if err != nil {
		return "", "", true, err
	}
	if channel, ts, err = a.post(ctx, msg.Channel, slackview.Plan(view), slack.MsgOptionTS(msg.TS)); err != nil {
		return "", "", true, err
	}
	if err := a.Store.SetMigrationMessage(ctx, m.ID, channel, ts); err != nil {
		return "", "", true, err
	}
	return channel, ts, true, a.refreshAlerts(ctx, m)
}

// quietInBatch reports whether e is a routine step of a batch member, not
// posted in the batch's thread: the member's plan message there shows it,
// and the progress reply counts the member when it finishes.
func (n *notifier) quietInBatch(ctx context.Context, e bot.Event) bool {
	switch e.Kind {
	case bot.EventFailed, bot.EventNeedsApproval, bot.EventReplanned, bot.EventRejected, bot.EventWaiting, bot.EventGoingOn,
		bot.EventUndoing, bot.EventUndone: // an undo is one migration's, asked for by a person
		return false // a person should know
	}
	_, err := n.app.Store.BatchOf(ctx, e.Migration.ID)
	return err == nil
}
