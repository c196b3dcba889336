package storage

import (
	"context"
	"testing"
)

func TestSignals(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		if seq, err := db.SignalSeq(ctx, "work"); err != nil || seq != 0 {
			t.Fatalf("a signal never raised: %d, %v", seq, err)
		}
		for want := int64(1); want <= 3; want++ {
			if err := db.RaiseSignal(ctx, "work"); err != nil {
				t.Fatal(err)
			}
			if seq, err := db.SignalSeq(ctx, "work"); err != nil || seq != want {
				t.Errorf("after %d raises: %d, %v", want, seq, err)
			}
		}
		if seq, err := db.SignalSeq(ctx, "other"); err != nil || seq != 0 {
			t.Errorf("another signal: %d, %v", seq, err)
		}
	})
}
