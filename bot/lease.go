package bot

import (
	"context"
	"errors"
	"sync"
	"time"
)

// One process at a time is the worker: it scans, alerts, runs and resumes
// migrations and posts the scheduled digest. Every process serves Slack and
// records what people ask for in the database; the worker picks it up.
//
// The worker holds a lease in the database (holder, epoch, expiry), renews
// it every TTL/3 and loses it when another process finds it expired and takes
// it over, which increases the epoch. Every write the worker makes carries
// its fence (the epoch it holds) in its context, and the store refuses a
// write whose epoch is no longer the lease's, inside the write's own
// transaction: a worker paused past its lease (a long GC, SIGSTOP, a frozen
// VM) that wakes after a takeover cannot record anything. Every Partner
// Center write is preceded by a fenced claim in the database and by
// Fence.Check, so it starts no new purchase, move or suspension either. A
// write it had already let through (paused between Fence.Check and the
// send) still goes out when it wakes, but with the MS-RequestId journaled
// before it, which the new worker reuses and Partner Center answers as a
// repeat; and the new worker looks for what such a write did before writing.
//
// With SQLite, a worker paused while it holds the database's write lock
// blocks everyone's writes, the takeover included, until it wakes or dies:
// nothing is done twice, but nothing fails over meanwhile either.

// WorkerLease is the name of the lease the worker holds.
const WorkerLease = "worker"

// ErrFenced is returned by a store write whose fence (lease epoch) is not
// the lease's current one: another process took over as the worker.
var ErrFenced = errors.New("another process took over as the worker")

// ErrLeaseLapsed is returned by Fence.Check when this process has not
// renewed its lease for longer than the lease lasts: another process may
// have taken over, so nothing may be sent to Partner Center until a renewal
// succeeds again.
var ErrLeaseLapsed = errors.New("the worker lease could not be renewed in time")

// LeaseState is a lease as the store holds it.
type LeaseState struct {
	Name    string
	Holder  string
	Epoch   int64
	Expires time.Time
	// Held: the caller holds the lease (it took it, or renewed it).
	Held bool
}

// Leases is what the worker needs of the store.
type Leases interface {
	// AcquireLease takes the lease name for holder until now+ttl when it is
	// free or expired (a new epoch), or renews it when holder already holds
	// it (the same epoch). Otherwise it returns the current holder's lease
	// with Held false.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (LeaseState, error)
	// ReleaseLease lets the lease expire now if holder holds it at epoch, so
	// another process can take over at once (a rolling deploy).
	ReleaseLease(ctx context.Context, name, holder string, epoch int64) error
}

// Fence is the lease a write is made under. The store compares Name, Holder
// and Epoch with the stored lease in the write's transaction.
type Fence struct {
	Name   string
	Holder string
	Epoch  int64
	held   *heldLease
}

// Check reports whether this process still knows it holds the lease: it
// renewed it less than two thirds of a TTL ago (by the monotonic clock, so a
// pause of the process counts). Callers check it right before sending a
// write to Partner Center; the last third is the margin for that write to be
// answered before anyone may take over. A write still being retried inside
// the client after that carries the MS-RequestId the next worker reuses, and
// the next worker looks for what it did before writing again.
func (f Fence) Check() error {
	if f.held == nil {
		return nil
	}
	return f.held.check()
}

type fenceKey struct{}

// WithFence returns ctx carrying f: the store checks it on every write.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceFrom returns the fence ctx carries, if any.
func FenceFrom(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}

// checkFence is Fence.Check for the fence ctx carries (none: nothing to check,
// as in a single-process test of the engine).
func checkFence(ctx context.Context) error {
	if f, ok := FenceFrom(ctx); ok {
		return f.Check()
	}
	return nil
}

// heldLease is the holder's own view of its lease.
type heldLease struct {
	mu      sync.Mutex
	renewed time.Time // monotonic reading of the last successful renewal
	ttl     time.Duration
	lost    bool
}

func (h *heldLease) check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.lost:
		return ErrFenced
	case time.Since(h.renewed) >= h.ttl*2/3:
		return ErrLeaseLapsed
	}
	return nil
}

func (h *heldLease) renewedAt(t time.Time) {
	h.mu.Lock()
	h.renewed = t
	h.mu.Unlock()
}

func (h *heldLease) markLost() {
	h.mu.Lock()
	h.lost = true
	h.mu.Unlock()
}
