package slackbot

import (
	"context"
	"fmt"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
)

// alert posts one alert per expiring subscription per threshold crossed.
// The database remembers every (subscription, threshold) claimed, so a
// restart or the next scan does not alert again; a claim whose post failed
// is posted again next time.
func (a *App) alert(ctx context.Context, r *bot.ScanReport) (posted int, err error) {
	widest := 0
	for _, d := range a.AlertDays {
		widest = max(widest, d)
	}
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
		view, err := a.alertView(ctx, bot.TrackedSubscription{Finding: f}, threshold)
		if err != nil {
			return posted, err
		}
		channel, ts, err := a.post(ctx, a.AlertChannel, slackview.Alert(view))
		if err != nil {
			a.Log.WithError(err).WithField("subscription", f.Subscription.ID).Error("posting an alert failed; it will be tried again after the next scan")
			continue
		}
		if err := a.Store.SetAlertMessage(ctx, f.Subscription.ID, threshold, channel, ts); err != nil {
			return posted, err
		}
		posted++
	}
	return posted, nil
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

func (a *App) alertView(ctx context.Context, t bot.TrackedSubscription, threshold int) (slackview.AlertView, error) {
	m, err := a.latestMigration(ctx, t.Subscription.ID)
	if err != nil {
		return slackview.AlertView{}, err
	}
	var targets []bot.Target
	if r, ok := a.Catalog.RetiredFor(t.Subscription); ok {
		targets = a.Catalog.TargetsFor(r)
	}
	return slackview.AlertView{
		Tracked: t, Threshold: threshold, UsersAssigned: a.usersAssigned(ctx, t), Targets: targets,
		Migration: m, Now: a.Now(), Location: a.Location,
	}, nil
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

// refreshAlerts updates every alert of a subscription in place to show its
// migration's state.
func (a *App) refreshAlerts(ctx context.Context, m *bot.Migration) error {
	alerts, err := a.Store.Alerts(ctx, m.SubscriptionID)
	if err != nil || len(alerts) == 0 {
		return err
	}
	if err := a.Store.SetAlertState(ctx, m.SubscriptionID, string(m.State)); err != nil {
		return err
	}
	tracked, err := a.Store.FindSubscription(ctx, m.SubscriptionID)
	if err != nil {
		return fmt.Errorf("alerted subscription %s: %w", m.SubscriptionID, err)
	}
	if tracked.Subscription.HasEnd() {
		tracked.DaysLeft = bot.DaysLeft(tracked.Subscription.EndDate, a.Now(), a.Location)
	}
	// One view for all of the subscription's alerts (they differ only in
	// the threshold), so users assigned is read once, not per alert.
	view, err := a.alertView(ctx, *tracked, 0)
	if err != nil {
		return err
	}
	for _, al := range alerts {
		if al.TS == "" {
			continue
		}
		view.Threshold = al.Threshold
		if err := a.update(ctx, al.Channel, al.TS, slackview.Alert(view)); err != nil {
			a.Log.WithError(err).WithField("subscription", m.SubscriptionID).Warn("updating an alert failed")
		}
	}
	return nil
}
