package storage

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestFirstDeliveryDedupesAcrossHandles(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a, path := be.open(t, Options{})
		b, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		for _, tc := range []struct {
			db   *DB
			key  string
			want bool
		}{
			{a, "command:13345224609.738474920.8088930838d88f008e0", true},
			{b, "command:13345224609.738474920.8088930838d88f008e0", false}, // the other replica's retry
			{a, "command:13345224609.738474920.8088930838d88f008e0", false},
			{b, "command:13345224609.738474920.8088930838D88F008E0", true}, // identifiers are case-sensitive
			{b, "event:Ev0PV52K25", true},
			{a, "event:Ev0PV52K25", false},
		} {
			first, err := tc.db.FirstDelivery(ctx, tc.key)
			if err != nil || first != tc.want {
				t.Errorf("FirstDelivery(%s) = %v, %v; want %v", tc.key, first, err, tc.want)
			}
		}
	})
}

func TestFirstDeliveryPrunesAfterAnHour(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
		db, _ := be.open(t, Options{Now: func() time.Time { return now }})
		for i := range pruneEvery {
			if first, err := db.FirstDelivery(ctx, fmt.Sprintf("old:%d", i)); err != nil || !first {
				t.Fatalf("old:%d: %v, %v", i, first, err)
			}
		}
		now = now.Add(deliveryTTL + time.Minute)
		for i := range pruneEvery {
			if first, err := db.FirstDelivery(ctx, fmt.Sprintf("new:%d", i)); err != nil || !first {
				t.Fatalf("new:%d: %v, %v", i, first, err)
			}
		}
		var old, recent int
		if err := db.sql.QueryRow(`SELECT count(*) FILTER (WHERE key LIKE 'old:%'), count(*) FILTER (WHERE key LIKE 'new:%') FROM slack_deliveries`).Scan(&old, &recent); err != nil {
			t.Fatal(err)
		}
		if old != 0 || recent != pruneEvery {
			t.Errorf("%d deliveries older than an hour and %d recent ones kept; want 0 and %d", old, recent, pruneEvery)
		}
	})
}
