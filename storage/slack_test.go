package storage

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

func TestAlertsAreClaimedOnceEver(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, path := be.open(t, Options{})
		for _, tc := range []struct {
			name      string
			sub       string
			threshold int
			want      bool
		}{
			{"first 30-day alert", "SUB-A", 30, true},
			{"same again", "SUB-A", 30, false},
			{"same, id in other case", "sub-a", 30, false},
			{"next threshold", "SUB-A", 7, true},
			{"another subscription", "SUB-B", 30, true},
		} {
			if claimed, err := db.ClaimAlert(ctx, tc.sub, "CUST", tc.threshold); err != nil || claimed != tc.want {
				t.Errorf("%s: claimed = %v, %v; want %v", tc.name, claimed, err, tc.want)
			}
		}
		db.Close()

		db, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if claimed, err := db.ClaimAlert(ctx, "SUB-A", "CUST", 30); err != nil || claimed {
			t.Errorf("after a restart: claimed = %v, %v; want false", claimed, err)
		}
		if err := db.SetAlertMessage(ctx, "sub-a", 30, "C01", "1710400000.000100"); err != nil {
			t.Fatal(err)
		}
		if err := db.SetAlertMessage(ctx, "SUB-A", 90, "C01", "1"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("the message of an unclaimed alert: %v, want ErrNotFound", err)
		}
		if err := db.SetAlertState(ctx, "SUB-A", "migrating"); err != nil {
			t.Fatal(err)
		}
		if err := db.SetAlertState(ctx, "SUB-NEVER-ALERTED", "done"); err != nil {
			t.Errorf("setting the state of a subscription without alerts: %v", err)
		}
		alerts, err := db.Alerts(ctx, "sub-a")
		if err != nil {
			t.Fatal(err)
		}
		if len(alerts) != 2 || alerts[0].Threshold != 30 || alerts[0].Channel != "C01" || alerts[0].TS != "1710400000.000100" ||
			alerts[1].Threshold != 7 || alerts[1].TS != "" || alerts[0].State != "migrating" || alerts[1].State != "migrating" ||
			alerts[0].SentAt.IsZero() || !alerts[0].UpdatedAt.After(alerts[0].SentAt) || alerts[0].CustomerID != "CUST" {
			t.Errorf("alerts %+v", alerts)
		}
	})
}

func TestSettings(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		if _, ok, err := db.Setting(ctx, "pc_refresh_token"); ok || err != nil {
			t.Errorf("an unset setting: ok = %v, %v", ok, err)
		}
		for _, v := range []string{"token-1", "token-2"} {
			if err := db.SetSetting(ctx, "pc_refresh_token", v); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := db.Setting(ctx, "pc_refresh_token"); got != v || !ok || err != nil {
				t.Errorf("setting = %q, %v, %v; want %q", got, ok, err, v)
			}
		}
	})
}

func TestMigrationMessages(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		if err := db.CreateMigration(ctx, testMigration("M7K2QX")); err != nil {
			t.Fatal(err)
		}
		if _, _, ok, err := db.MigrationMessage(ctx, "M7K2QX"); ok || err != nil {
			t.Errorf("before any message: ok = %v, %v", ok, err)
		}
		for _, ts := range []string{"1.1", "2.2"} {
			if err := db.SetMigrationMessage(ctx, "m7k2qx", "C01", ts); err != nil {
				t.Fatal(err)
			}
		}
		if ch, ts, ok, err := db.MigrationMessage(ctx, "M7K2QX"); ch != "C01" || ts != "2.2" || !ok || err != nil {
			t.Errorf("message = %q %q %v %v, want the latest", ch, ts, ok, err)
		}
		if err := db.SetMigrationMessage(ctx, "NOPE", "C01", "1"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("the message of an unknown migration: %v, want ErrNotFound", err)
		}
	})
}

func TestDigests(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		if _, ok, err := db.LastDigest(ctx); ok || err != nil {
			t.Errorf("before any digest: ok = %v, %v", ok, err)
		}
		monday := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
		for _, at := range []time.Time{monday.AddDate(0, 0, 7), monday} {
			if err := db.RecordDigest(ctx, "C01", "1.1", at); err != nil {
				t.Fatal(err)
			}
		}
		if at, ok, err := db.LastDigest(ctx); !at.Equal(monday.AddDate(0, 0, 7)) || !ok || err != nil {
			t.Errorf("last digest = %v, %v, %v; want the latest time", at, ok, err)
		}
	})
}

func TestForgetSlackMessages(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		if claimed, err := db.ClaimAlert(ctx, "SUB-1", "C1", 30); err != nil || !claimed {
			t.Fatal(claimed, err)
		}
		if err := db.ForgetSlackMessages(ctx); err != nil {
			t.Fatal(err)
		}
		if claimed, err := db.ClaimAlert(ctx, "SUB-1", "C1", 30); err != nil || !claimed {
			t.Errorf("after forgetting, the alert can be claimed again: %v %v", claimed, err)
		}
	})
}
