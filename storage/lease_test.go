package storage

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

// settableClock is a test Now that moves only when told.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// A process that lost the lease (it was paused past its TTL and another took
// over) writes nothing when it resumes: every write under its old epoch is
// refused, in two processes sharing the database.
func TestWritesUnderALostLeaseAreFenced(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		clock := &settableClock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
		a, dsn := be.open(t, Options{Now: clock.Now})
		b, err := Open(ctx, dsn, Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()

		la, err := a.AcquireLease(ctx, bot.WorkerLease, "process-a", 15*time.Second)
		if err != nil || !la.Held || la.Epoch != 1 {
			t.Fatalf("a takes the new lease: %+v, %v", la, err)
		}
		if lb, err := b.AcquireLease(ctx, bot.WorkerLease, "process-b", 15*time.Second); err != nil || lb.Held || lb.Holder != "process-a" {
			t.Fatalf("b while a holds it: %+v, %v", lb, err)
		}
		fenceA := bot.WithFence(ctx, bot.Fence{Name: bot.WorkerLease, Holder: "process-a", Epoch: la.Epoch})
		if err := a.AppendAudit(fenceA, auditEntry("test.before")); err != nil {
			t.Fatalf("a writes while it holds the lease: %v", err)
		}

		clock.Add(16 * time.Second) // a is paused past its TTL
		lb, err := b.AcquireLease(ctx, bot.WorkerLease, "process-b", 15*time.Second)
		if err != nil || !lb.Held || lb.Epoch != 2 {
			t.Fatalf("b takes over: %+v, %v", lb, err)
		}

		// a resumes (SIGCONT) and goes on with what it was doing.
		m := testMigration("M-FENCED")
		for name, write := range map[string]func() error{
			"AppendAudit":     func() error { return a.AppendAudit(fenceA, auditEntry("test.after")) },
			"CreateMigration": func() error { return a.CreateMigration(fenceA, m) },
			"ClaimAlert":      func() error { _, err := a.ClaimAlert(fenceA, "SUB-A", "CUST", 30); return err },
		} {
			if err := write(); !errors.Is(err, bot.ErrFenced) {
				t.Errorf("%s under the lost lease: %v, want ErrFenced", name, err)
			}
		}
		if v, err := b.VerifyAudit(ctx); err != nil || !v.OK || v.Rows != 1 {
			t.Errorf("the history after a's fenced writes: %+v, %v; want its one row from before", v, err)
		}
		if _, err := b.GetMigration(ctx, "M-FENCED"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("a's fenced migration: %v, want none", err)
		}
		if la, err := a.AcquireLease(ctx, bot.WorkerLease, "process-a", 15*time.Second); err != nil || la.Held || la.Epoch != 2 {
			t.Errorf("a renewing after the takeover: %+v, %v; want b's lease at epoch 2", la, err)
		}
		fenceB := bot.WithFence(ctx, bot.Fence{Name: bot.WorkerLease, Holder: "process-b", Epoch: lb.Epoch})
		if err := b.AppendAudit(fenceB, auditEntry("test.b")); err != nil {
			t.Errorf("b writes under its lease: %v", err)
		}
	})
}

// Processes racing for a lease nobody holds yet: one takes it, the others
// see it held, and none fails (on PostgreSQL the racing INSERTs would hit the
// primary key without the write lock).
func TestOneOfManyTakesANewLease(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		const racers = 12
		var held atomic.Int32
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				st, err := db.AcquireLease(ctx, bot.WorkerLease, "process-"+string(rune('a'+i)), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if st.Held {
					held.Add(1)
				}
			})
		}
		wg.Wait()
		if n := held.Load(); n != 1 {
			t.Errorf("%d of %d took the lease, want 1", n, racers)
		}
	})
}

// A process paused inside a write transaction, after its fence check, holds
// PostgreSQL's write lock: the server ends its session once it has been idle
// in the transaction for idle_in_transaction_session_timeout, the takeover
// goes on, and what the paused process had written is rolled back, never
// committed, when it resumes.
func TestAProcessPausedInsideAWriteCommitsNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		if !be.d.postgres {
			t.Skip("SQLite has no server to end a paused process's transaction: the others wait for it (busy_timeout)")
		}
		ctx := context.Background()
		clock := &settableClock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
		dsn := be.newDSN(t)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("idle_in_transaction_session_timeout", "300ms")
		u.RawQuery = q.Encode()
		a, err := Open(ctx, u.String(), Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := Open(ctx, dsn, Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()

		la, err := a.AcquireLease(ctx, bot.WorkerLease, "process-a", 15*time.Second)
		if err != nil || !la.Held {
			t.Fatalf("a takes the lease: %+v, %v", la, err)
		}
		fenceA := bot.WithFence(ctx, bot.Fence{Name: bot.WorkerLease, Holder: "process-a", Epoch: la.Epoch})
		inside, resume := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- a.inTx(fenceA, func(tx *txn) error {
				if err := a.appendAudit(ctx, tx, []bot.AuditEntry{auditEntry("test.paused")}); err != nil {
					return err
				}
				close(inside)
				<-resume // SIGSTOP … SIGCONT
				return nil
			})
		}()
		<-inside
		clock.Add(16 * time.Second)
		lb, err := b.AcquireLease(ctx, bot.WorkerLease, "process-b", 15*time.Second)
		if err != nil || !lb.Held || lb.Epoch != 2 {
			t.Fatalf("b takes over while a is paused inside a write: %+v, %v", lb, err)
		}
		close(resume)
		if err := <-done; err == nil {
			t.Error("a's write, paused past the takeover, committed")
		}
		if v, err := b.VerifyAudit(ctx); err != nil || !v.OK || v.Rows != 0 {
			t.Errorf("the history after a's paused write: %+v, %v; want it empty", v, err)
		}
	})
}
