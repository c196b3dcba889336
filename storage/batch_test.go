package storage

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// testBatch stores migrations ids (one subscription each) and returns a
// batch of them, not yet stored.
func testBatch(t *testing.T, db *DB, ids ...string) *bot.Batch {
	t.Helper()
	b := &bot.Batch{
		ID: "B7K2QX", Target: "STANDARDPACK", TargetName: "Office 365 E1", WithinDays: 30, Owner: "U0OWNER",
		Requester: bot.Actor{ID: "U024BE7LH", Name: "jane"}, State: bot.BatchPendingApproval,
		Unplanned: []bot.Unplanned{{SubscriptionID: "SUB-DENIED", Customer: bot.Customer{ID: "c-9", Domain: "denied.example", Name: "Denied Ltd"},
			Seats: 7, EndDate: time.Date(2025, 4, 2, 0, 0, 0, 0, time.UTC), Reason: "Partner Center refused access (GDAP); ask an admin to add the role"}},
	}
	var hashes []string
	for _, id := range ids {
		m := testMigration(id)
		m.SubscriptionID = "SUB-" + id
		m.PlanHash = "plan-" + id
		if err := db.CreateMigration(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		b.Members = append(b.Members, bot.BatchMember{MigrationID: id, PlanHash: m.PlanHash})
		hashes = append(hashes, m.PlanHash)
	}
	b.Hash = bot.BatchHash(hashes)
	return b
}

func TestBatchRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		// Stored out of id order: the batch keeps its own (most urgent first).
		b := testBatch(t, db, "M3", "M1", "M2")
		before := auditRows(t, db)
		if err := db.CreateBatch(ctx, b, bot.AuditEntry{Action: bot.ActionBatchPlanned, Actor: b.Requester, Detail: map[string]any{"batchId": b.ID}}); err != nil {
			t.Fatal(err)
		}
		if b.Version != 1 || b.CreatedAt.IsZero() || auditRows(t, db) != before+1 {
			t.Errorf("after create: version %d, created %v, %d audit rows added", b.Version, b.CreatedAt, auditRows(t, db)-before)
		}
		got, err := db.GetBatch(ctx, "b7k2qx")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Errorf("read back\n%+v\nwant\n%+v", got, b)
		}
		ms, err := db.BatchMigrations(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, m := range ms {
			order = append(order, m.ID)
		}
		if !reflect.DeepEqual(order, []string{"M3", "M1", "M2"}) || ms[0].Plan.Target.Name != "Office 365 E1" {
			t.Errorf("members %v (first %+v)", order, ms[0])
		}
		for _, id := range []string{"M1", "m2"} {
			if batch, err := db.BatchOf(ctx, id); err != nil || batch != b.ID {
				t.Errorf("BatchOf(%s) = %q, %v", id, batch, err)
			}
		}

		got.State, got.RejectedBy, got.RejectReason = bot.BatchRejected, bot.Actor{ID: "U0BOSS", Name: "bea"}, "renewing by phone"
		if err := db.SaveBatch(ctx, got, bot.AuditEntry{Action: bot.ActionBatchRejected}); err != nil {
			t.Fatal(err)
		}
		again, err := db.GetBatch(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if again.Version != 2 || again.State != bot.BatchRejected || again.RejectedBy.Name != "bea" || again.RejectReason != "renewing by phone" || len(again.Members) != 3 {
			t.Errorf("after save: %+v", again)
		}
	})
}

func TestBatchErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		b := testBatch(t, db, "M1", "M2")
		if err := db.CreateBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			err  func() error
			want error
		}{
			{"unknown batch", func() error { _, err := db.GetBatch(ctx, "BNOPE1"); return err }, bot.ErrNotFound},
			{"migration in no batch", func() error {
				m := testMigration("M9")
				m.SubscriptionID = "SUB-M9"
				if err := db.CreateMigration(ctx, m); err != nil {
					return err
				}
				_, err := db.BatchOf(ctx, "M9")
				return err
			}, bot.ErrNotFound},
			{"taken id", func() error {
				again := *b
				again.Members = nil
				return db.CreateBatch(ctx, &again)
			}, bot.ErrConflict},
			{"member of another batch", func() error {
				other := *b
				other.ID = "B2ND22"
				return db.CreateBatch(ctx, &other)
			}, bot.ErrConflict},
			{"unknown member", func() error {
				other := *b
				other.ID = "B3RD33"
				other.Members = []bot.BatchMember{{MigrationID: "MNOPE1", PlanHash: "x"}}
				return db.CreateBatch(ctx, &other)
			}, bot.ErrNotFound},
			{"stale version", func() error {
				stale := *b
				stale.Version = 0
				return db.SaveBatch(ctx, &stale)
			}, bot.ErrConflict},
			{"saving an unknown batch", func() error {
				unknown := *b
				unknown.ID = "BNOPE1"
				return db.SaveBatch(ctx, &unknown)
			}, bot.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.err(); !errors.Is(err, tt.want) {
					t.Errorf("got %v, want %v", err, tt.want)
				}
			})
		}
		// A batch refused for a member of another batch left nothing behind.
		if _, err := db.GetBatch(ctx, "B2ND22"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("the refused batch was stored: %v", err)
		}
	})
}

func TestSaveBatchConflictWritesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		b := testBatch(t, db, "M1")
		if err := db.CreateBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		first, _ := db.GetBatch(ctx, b.ID)
		second, _ := db.GetBatch(ctx, b.ID)
		first.State = bot.BatchApproved
		if err := db.SaveBatch(ctx, first, bot.AuditEntry{Action: bot.ActionBatchApproved}); err != nil {
			t.Fatal(err)
		}
		rows := auditRows(t, db)
		second.State = bot.BatchRejected
		if err := db.SaveBatch(ctx, second, bot.AuditEntry{Action: bot.ActionBatchRejected}); !errors.Is(err, bot.ErrConflict) {
			t.Fatalf("the second save: %v, want a conflict", err)
		}
		if got, _ := db.GetBatch(ctx, b.ID); got.State != bot.BatchApproved || auditRows(t, db) != rows || second.Version != 1 {
			t.Errorf("after a conflict: state %s, %d audit rows more, version %d", got.State, auditRows(t, db)-rows, second.Version)
		}
	})
}

// TestBatchWritesAreFenced: a worker that lost its lease records no batch
// decision, like every other write of the engine.
func TestBatchWritesAreFenced(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		if _, err := db.AcquireLease(ctx, bot.WorkerLease, "process-a", time.Minute); err != nil {
			t.Fatal(err)
		}
		stale := bot.WithFence(ctx, bot.Fence{Name: bot.WorkerLease, Holder: "process-a", Epoch: 0})
		b := testBatch(t, db, "M1")
		if err := db.CreateBatch(stale, b); !errors.Is(err, bot.ErrFenced) {
			t.Errorf("create under a stale fence: %v", err)
		}
		if err := db.CreateBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		b.State = bot.BatchApproved
		if err := db.SaveBatch(stale, b); !errors.Is(err, bot.ErrFenced) {
			t.Errorf("save under a stale fence: %v", err)
		}
		if got, _ := db.GetBatch(ctx, b.ID); got.State != bot.BatchPendingApproval {
			t.Errorf("a fenced save changed the state to %s", got.State)
		}
	})
}

func TestBatchMessages(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		b := testBatch(t, db, "M1")
		if err := db.CreateBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := db.GetBatchMessage(ctx, b.ID); ok || err != nil {
			t.Fatalf("before posting: %v %v", ok, err)
		}
		if err := db.SetBatchProgress(ctx, b.ID, "2.0", "x"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("progress of a message never recorded: %v", err)
		}
		if err := db.SetBatchMessage(ctx, b.ID, "C0ALERTS", "1.0"); err != nil {
			t.Fatal(err)
		}
		if err := db.SetBatchProgress(ctx, b.ID, "2.0", "1 of 1 done"); err != nil {
			t.Fatal(err)
		}
		// Moving the message keeps its progress reply and announcement.
		if err := db.SetBatchMessage(ctx, b.ID, "C0ALERTS", "1.5"); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.GetBatchMessage(ctx, "b7k2qx")
		if want := (BatchMessage{Channel: "C0ALERTS", TS: "1.5", ProgressTS: "2.0", Announced: "1 of 1 done"}); !ok || err != nil || got != want {
			t.Errorf("got %+v %v %v, want %+v", got, ok, err, want)
		}
		if err := db.SetBatchMessage(ctx, "BNOPE1", "C", "1"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("message of an unknown batch: %v", err)
		}
	})
}
