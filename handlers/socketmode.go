package handlers

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// SocketMode serves the same bot over Socket Mode, for teams without a
// public URL: Slack's envelopes come over a WebSocket the client opens, so
// no signature check is needed ("pre-authenticated"). It returns when ctx
// ends. Slack sends an envelope again when its acknowledgement is late
// (retry_attempt): deliveries, optional, is shared with the HTTP routes and
// the other replicas, so a command or click runs once whichever way it came.
func SocketMode(ctx context.Context, client *socketmode.Client, bot Bot, log logrus.FieldLogger, deliveries Deliveries) error {
	gate := deliveryGate{memory: NewMemoryDeliveries(DeliveryTTL), shared: deliveries, log: log}
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case evt := <-client.Events:
			dispatchSocketEvent(ctx, client, bot, log, gate, evt)
		}
	}
}

func dispatchSocketEvent(ctx context.Context, client *socketmode.Client, bot Bot, log logrus.FieldLogger, gate deliveryGate, evt socketmode.Event) {
	if evt.Request == nil {
		// Connection lifecycle events carry nothing to acknowledge; the log
		// says whether the connection is up, and why not.
		switch evt.Type {
		case socketmode.EventTypeConnected:
			log.Info("Socket Mode: connected to Slack; commands, clicks and events come over the WebSocket")
		case socketmode.EventTypeConnectionError:
			log.WithField("error", fmt.Sprint(evt.Data)).Warn("Socket Mode: could not connect to Slack; retrying")
		case socketmode.EventTypeInvalidAuth:
			log.Error("Socket Mode: Slack refused the app-level token (SLACK_APP_TOKEN): check it is an xapp- token with connections:write")
		case socketmode.EventTypeDisconnect:
			log.Info("Socket Mode: Slack asked to reconnect; reconnecting")
		}
		return
	}
	retry := fmt.Sprint(evt.Request.RetryAttempt)
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || !gate.first(ctx, "command", cmd.TriggerID, retry, evt.Request.RetryReason) {
			_ = client.Ack(*evt.Request)
			return
		}
		if msg := bot.Command(ctx, cmd); msg != nil {
			_ = client.Ack(*evt.Request, msg)
		} else {
			_ = client.Ack(*evt.Request)
		}
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(slack.InteractionCallback)
		if !ok || !gate.first(ctx, "interaction", ic.TriggerID, retry, evt.Request.RetryReason) {
			_ = client.Ack(*evt.Request)
			return
		}
		// The answer to a dialog's submission travels in the ack.
		if answer := bot.Interaction(ctx, ic); answer != nil {
			_ = client.Ack(*evt.Request, answer)
		} else {
			_ = client.Ack(*evt.Request)
		}
	case socketmode.EventTypeEventsAPI:
		// Events carry nothing back in the ack: acknowledge first, as Slack
		// wants within 3 seconds, then hand the event over.
		_ = client.Ack(*evt.Request)
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok || ev.Type != slackevents.CallbackEvent {
			return
		}
		var eventID string
		if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
			eventID = cb.EventID
		}
		if !gate.first(ctx, "event", eventID, retry, evt.Request.RetryReason) {
			return
		}
		if home, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok {
			dispatchEvent(ctx, bot, ev.TeamID, innerEvent{Type: home.Type, User: home.User, Tab: home.Tab})
		}
	default:
		if err := client.Ack(*evt.Request); err != nil {
			log.WithError(err).Warn("socket mode: acknowledging an envelope failed")
		}
	}
}
