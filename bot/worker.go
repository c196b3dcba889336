package bot

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"
)

// DefaultLeaseTTL is how long the worker lease lasts without a renewal: a
// worker that stops renewing (killed, paused, cut off from the database) is
// replaced by another process this long after its last renewal.
const DefaultLeaseTTL = 15 * time.Second

// Worker competes for the worker lease and runs Work while it holds it.
// Every process runs one; at most one of them is the worker at a time.
type Worker struct {
	Leases Leases
	// Holder names this process in the lease; default a new UUID, so a
	// restarted process never mistakes the lease of its predecessor for its own.
	Holder string
	TTL    time.Duration // default DefaultLeaseTTL
	// Work runs while this process holds the lease, with a context that
	// carries the fence and ends when the lease is lost or the worker stops.
	// It must return soon after its context ends.
	Work func(ctx context.Context)
	// OnChange, optional, is told when this process becomes or stops being the worker.
	OnChange func(isWorker bool)
	// OnDegraded, optional, is told when the database starts or stops
	// refusing the lease's writes.
	OnDegraded func(degraded bool)
	Log        logrus.FieldLogger // optional

	once      sync.Once
	ready     chan struct{}
	readyOnce sync.Once
	mu        sync.Mutex
	current   LeaseState
	worker    bool
	problem   string
	since     time.Time
}

// WorkerStatus is what /healthz says about the lease.
type WorkerStatus struct {
	IsWorker bool
	Holder   string // this process
	Lease    LeaseState
	// Degraded says why the database refused the last lease write ("" when
	// it did not), and since when.
	Degraded      string
	DegradedSince time.Time
}

func (w *Worker) init() {
	w.once.Do(func() {
		if w.Holder == "" {
			w.Holder = uuid.NewString()
		}
		w.TTL = cmp.Or(w.TTL, DefaultLeaseTTL)
		if w.Log == nil {
			w.Log = logrus.StandardLogger()
		}
		w.ready = make(chan struct{})
	})
}

// Ready is closed once this process has taken part in its first election:
// from then on Status says whether it is the worker.
func (w *Worker) Ready() <-chan struct{} { w.init(); return w.ready }

func (w *Worker) markReady() { w.readyOnce.Do(func() { close(w.ready) }) }

// Status reports whether this process is the worker, and any trouble
// writing the lease.
func (w *Worker) Status() WorkerStatus {
	w.init()
	w.mu.Lock()
	defer w.mu.Unlock()
	return WorkerStatus{IsWorker: w.worker, Holder: w.Holder, Lease: w.current, Degraded: w.problem, DegradedSince: w.since}
}

// HolderID names this process in the lease.
func (w *Worker) HolderID() string { w.init(); return w.Holder }

// Run takes part in the election until ctx ends. When it ends while this
// process is the worker, Work is stopped and the lease released, so another
// process takes over at once.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	period := w.TTL / 3
	for ctx.Err() == nil {
		asked := time.Now()
		st, err := w.Leases.AcquireLease(ctx, WorkerLease, w.Holder, w.TTL)
		if w.note(st, err) && st.Held {
			w.hold(ctx, st, asked, period)
		}
		w.markReady()
		sleep(ctx, period)
	}
}

// hold runs Work under the lease st and renews it until it is lost or ctx ends.
func (w *Worker) hold(ctx context.Context, st LeaseState, asked time.Time, period time.Duration) {
	held := &heldLease{renewed: asked, ttl: w.TTL}
	fence := Fence{Name: st.Name, Holder: st.Holder, Epoch: st.Epoch, held: held}
	wctx, cancel := context.WithCancel(WithFence(ctx, fence))
	done := make(chan struct{})
	go func() { defer close(done); w.Work(wctx) }()
	w.setWorker(true)
	w.markReady()
	w.Log.WithFields(logrus.Fields{"holder": w.Holder, "epoch": st.Epoch}).Info("this process is the worker: it scans, alerts and runs migrations")
	stop := func(why string) {
		held.markLost()
		cancel()
		<-done
		w.setWorker(false)
		w.Log.WithField("epoch", st.Epoch).Warn("this process is no longer the worker: " + why)
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			stop("shutting down")
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer rcancel()
			if err := w.Leases.ReleaseLease(rctx, WorkerLease, w.Holder, st.Epoch); err != nil {
				w.Log.WithError(err).Warn("could not release the worker lease; another process takes over when it expires")
			}
			return
		case <-done:
			// Work returned by itself: give the lease up rather than hold it idle.
			stop("its work ended")
			return
		case <-t.C:
		}
		asked := time.Now()
		now, err := w.Leases.AcquireLease(ctx, WorkerLease, w.Holder, w.TTL)
		if !w.note(now, err) {
			continue // the database refuses: keep going; Fence.Check lapses after a TTL
		}
		if !now.Held || now.Epoch != st.Epoch {
			stop(fmt.Sprintf("the lease is held by %s (epoch %d)", now.Holder, now.Epoch))
			return
		}
		held.renewedAt(asked)
	}
}

// note records the outcome of a lease write; false when it failed.
func (w *Worker) note(st LeaseState, err error) bool {
	w.mu.Lock()
	was := w.problem != ""
	if err != nil {
		if !was {
			w.since = time.Now()
			w.Log.WithError(err).Error("the database refuses writes; retrying")
		}
		w.problem = "the database refuses writes: " + err.Error()
	} else {
		if was {
			w.Log.Info("the database accepts writes again")
		}
		w.problem, w.since, w.current = "", time.Time{}, st
	}
	now := w.problem != ""
	w.mu.Unlock()
	if was != now && w.OnDegraded != nil {
		w.OnDegraded(now)
	}
	return err == nil
}

func (w *Worker) setWorker(v bool) {
	w.mu.Lock()
	w.worker = v
	w.mu.Unlock()
	if w.OnChange != nil {
		w.OnChange(v)
	}
}

// RetryUntil calls fn until it succeeds or ctx ends, waiting first between
// the first tries and doubling the wait up to most; onErr, optional, hears
// each failure. It returns nil, or fn's last error once ctx has ended.
func RetryUntil(ctx context.Context, first, most time.Duration, fn func(context.Context) error, onErr func(error)) error {
	for wait := first; ; wait = min(2*wait, most) {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if onErr != nil {
			onErr(err)
		}
		if sleep(ctx, wait); ctx.Err() != nil {
			return err
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// WatchSignal calls fn whenever the named signal is raised (by any process,
// through SignalStore.RaiseSignal), checking every `every`, until ctx ends.
// It is how a process that serves Slack wakes the worker: polling one small
// row a few times a second is cheap, and no slower for a person than a push.
func WatchSignal(ctx context.Context, s SignalStore, name string, every time.Duration, fn func(context.Context)) {
	last, err := s.SignalSeq(ctx, name)
	watchSignalFrom(ctx, s, name, every, last, err, fn)
}

// watchSignalFrom is WatchSignal from a count read earlier, so that a signal
// raised between that read and the watch's start is not missed.
func watchSignalFrom(ctx context.Context, s SignalStore, name string, every time.Duration, last int64, err error, fn func(context.Context)) {
	for ctx.Err() == nil {
		sleep(ctx, every)
		seq, serr := s.SignalSeq(ctx, name)
		if serr != nil {
			continue // the store's trouble shows in the worker's status
		}
		if err != nil || seq != last {
			last, err = seq, nil
			fn(ctx)
		}
	}
}

// SignalStore raises and reads named counters in the database.
type SignalStore interface {
	// RaiseSignal increments the named signal.
	RaiseSignal(ctx context.Context, name string) error
	// SignalSeq returns the named signal's count (0 when never raised).
	SignalSeq(ctx context.Context, name string) (int64, error)
}

// Signals the worker watches.
const (
	SignalMigrations = "migrations" // a migration was approved, retried or overridden: run it
	SignalScan       = "scan"       // a person asked for a scan
	SignalScanFull   = "scan.full"  // a person asked for a full scan
)
