package storage

import (
	"context"
	"errors"
	"testing"

	"github.com/kaizalabot/kaizalabot/bot"
)

func claim(t *testing.T, db *DB, sub string, threshold int) {
	t.Helper()
	if claimed, err := db.ClaimAlert(context.Background(), sub, "CUST", threshold); err != nil || !claimed {
		t.Fatalf("claiming %s at %d: %v %v", sub, threshold, claimed, err)
	}
}

func subscriptionsOf(m AlertMessage) []string {
	var out []string
	for _, l := range m.Lines {
		out = append(out, l.SubscriptionID)
	}
	return out
}

func TestAlertMessagesOfABatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		for _, sub := range []string{"SUB-A", "SUB-B", "SUB-C"} {
			claim(t, db, sub, 30)
		}
		top := AlertMessage{Channel: "C01", TS: "1.000100", Kind: AlertKindBatch, Rendered: "r1",
			Lines: []AlertLine{{SubscriptionID: "SUB-A", CustomerID: "CUST", Threshold: 30, Users: 4}, {SubscriptionID: "SUB-B", CustomerID: "CUST", Threshold: 30, Users: -1}}}
		thread := AlertMessage{Channel: "C01", TS: "1.000200", ThreadTS: "1.000100", Kind: AlertKindBatch,
			Lines: []AlertLine{{SubscriptionID: "SUB-C", CustomerID: "CUST", Threshold: 30, Users: 7}}}
		other := AlertMessage{Channel: "C01", TS: "2.000100", Kind: AlertKindSingle, Lines: []AlertLine{{SubscriptionID: "SUB-D", CustomerID: "CUST", Threshold: 7}}}
		for _, m := range []AlertMessage{top, thread, other} {
			if err := db.RecordAlertMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.RecordAlertMessage(ctx, top); err == nil {
			t.Error("the same message recorded twice")
		}

		// The claims count as posted, on the message that shows them.
		for sub, ts := range map[string]string{"SUB-A": "1.000100", "sub-c": "1.000200"} {
			if alerts, err := db.Alerts(ctx, sub); err != nil || len(alerts) != 1 || alerts[0].Channel != "C01" || alerts[0].TS != ts {
				t.Errorf("alerts of %s: %+v %v, want posted on %s", sub, alerts, err, ts)
			}
		}

		batch, err := db.AlertBatch(ctx, "C01", "1.000100")
		if err != nil || len(batch) != 2 || batch[0].TS != "1.000100" || batch[1].TS != "1.000200" || batch[1].ThreadTS != "1.000100" ||
			batch[0].Root() != "1.000100" || batch[1].Root() != "1.000100" || batch[0].Rendered != "r1" || batch[0].PostedAt.IsZero() {
			t.Fatalf("batch: %+v %v", batch, err)
		}
		if got := subscriptionsOf(batch[0]); len(got) != 2 || got[0] != "SUB-A" || got[1] != "SUB-B" || batch[0].Lines[0].Users != 4 || batch[0].Lines[1].Users != -1 {
			t.Errorf("top-level lines %+v", batch[0].Lines)
		}

		// Found by any of its subscriptions, in any case, with all its lines.
		showing, err := db.AlertMessagesShowing(ctx, "sub-b")
		if err != nil || len(showing) != 1 || showing[0].TS != "1.000100" || len(showing[0].Lines) != 2 {
			t.Errorf("messages showing SUB-B: %+v %v", showing, err)
		}
		if showing, err := db.AlertMessagesShowing(ctx, "SUB-NEVER"); err != nil || len(showing) != 0 {
			t.Errorf("messages showing a subscription never alerted: %+v %v", showing, err)
		}

		// Settling takes a message out of the scans' re-rendering; raising a
		// line puts it back, with the new threshold.
		if err := db.SetAlertRendered(ctx, "C01", "1.000200", "r2", true); err != nil {
			t.Fatal(err)
		}
		if err := db.SetAlertRendered(ctx, "C01", "9.9", "r", true); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("rendering an unknown message: %v, want ErrNotFound", err)
		}
		unsettled, err := db.UnsettledAlertMessages(ctx)
		if err != nil || len(unsettled) != 2 || unsettled[0].TS != "1.000100" || unsettled[1].TS != "2.000100" {
			t.Errorf("unsettled: %+v %v", unsettled, err)
		}
		if err := db.RaiseAlertLine(ctx, "C01", "1.000200", "sub-c", 7); err != nil {
			t.Fatal(err)
		}
		if err := db.RaiseAlertLine(ctx, "C01", "1.000100", "SUB-C", 7); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("raising a line of another message: %v, want ErrNotFound", err)
		}
		if unsettled, _ := db.UnsettledAlertMessages(ctx); len(unsettled) != 3 {
			t.Errorf("after the raise, %d unsettled, want 3", len(unsettled))
		}
		if err := db.SetAlertLineUsers(ctx, "sub-c", 0); err != nil {
			t.Fatal(err)
		}
		batch, _ = db.AlertBatch(ctx, "C01", "1.000100")
		if l := batch[1].Lines[0]; l.Threshold != 7 || l.Users != 0 || batch[1].Rendered != "r2" || batch[1].Settled {
			t.Errorf("the raised line: %+v of %+v", l, batch[1])
		}

		if err := db.ForgetSlackMessages(ctx); err != nil {
			t.Fatal(err)
		}
		if unsettled, err := db.UnsettledAlertMessages(ctx); err != nil || len(unsettled) != 0 {
			t.Errorf("after forgetting: %+v %v", unsettled, err)
		}
	})
}

// TestAlertsFromBeforeBatchesBecomeSingleMessages: migration 0007 keeps
// the alerts posted one per (subscription, threshold) up to date, as
// single messages of one line each.
func TestAlertsFromBeforeBatchesBecomeSingleMessages(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		path := be.newDSN(t)
		raw := rawDB(t, path)
		all, err := schemaMigrations(be.d)
		if err != nil {
			t.Fatal(err)
		}
		exec(t, raw, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
		for _, m := range all[:6] {
			exec(t, raw, m.sql)
			exec(t, raw, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, '2025-01-01T00:00:00.000000000Z')`, m.version, m.name)
		}
		for _, a := range []struct {
			sub         string
			threshold   int
			channel, ts string
			sent        string
		}{
			{"SUB-A", 90, "C01", "1.1", "2025-01-01"},
			{"SUB-A", 30, "C01", "2.2", "2025-01-02"},
			{"SUB-B", 30, "C01", "3.3", "2025-01-03"},
			{"SUB-C", 30, "", "", "2025-01-04"}, // claimed, never posted
		} {
			exec(t, raw, `INSERT INTO alerts (subscription_id, threshold, customer_id, channel, ts, sent_at, updated_at) VALUES (?, ?, 'CUST', ?, ?, ?, ?)`,
				a.sub, a.threshold, a.channel, a.ts, a.sent+"T00:00:00.000000000Z", "2025-01-05T00:00:00.000000000Z")
		}
		raw.Close()

		db, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		showing, err := db.AlertMessagesShowing(ctx, "SUB-A")
		if err != nil || len(showing) != 2 || showing[0].TS != "1.1" || showing[1].TS != "2.2" || showing[1].Kind != AlertKindSingle ||
			len(showing[1].Lines) != 1 || showing[1].Lines[0].Threshold != 30 || showing[1].Lines[0].Users != -1 || showing[1].Settled {
			t.Errorf("SUB-A's alerts from before: %+v %v", showing, err)
		}
		if showing, err := db.AlertMessagesShowing(ctx, "SUB-C"); err != nil || len(showing) != 0 {
			t.Errorf("an alert claimed but never posted shows nowhere: %+v %v", showing, err)
		}
		if unsettled, err := db.UnsettledAlertMessages(ctx); err != nil || len(unsettled) != 3 {
			t.Errorf("%d alert messages to re-render, want 3: %v", len(unsettled), err)
		}
	})
}
