package pcclient

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// pacer puts every call of a Client through one rate.Limiter, urgent calls
// first.
//
// Why: rate.Limiter.Wait reserves future slots in arrival order, so 50 reads
// queued by people asking for plans and scans would each hold a slot ahead of
// a running migration's next write, which then waits behind all of them.
// Instead, urgent callers (Config.Urgent) reserve directly, while non-urgent
// callers take turns: at most one non-urgent reservation is outstanding in the
// limiter at a time, and the caller whose turn it is lets every urgent caller
// that is waiting go first. An urgent call so waits at most about one slot
// behind the non-urgent ones, however many are queued. The priority is
// strict: while urgent callers keep the limiter busy, non-urgent ones wait.
//
// A caller whose context ends gives up its turn, and rate.Limiter.Wait
// cancels its reservation, so the slot goes to the next caller.
type pacer struct {
	limiter *rate.Limiter
	urgent  func(context.Context) bool // nil: nothing is urgent
	turn    chan struct{}              // full while a non-urgent caller has its turn

	mu        sync.Mutex
	urgentN   int           // urgent callers waiting in the limiter
	noUrgent  chan struct{} // closed while urgentN is 0
	nonUrgent int           // non-urgent callers in wait; tests watch it
}

func newPacer(limiter *rate.Limiter, urgent func(context.Context) bool) *pacer {
	noUrgent := make(chan struct{})
	close(noUrgent)
	return &pacer{limiter: limiter, urgent: urgent, turn: make(chan struct{}, 1), noUrgent: noUrgent}
}

// wait blocks until the caller may send one request, or ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	if p.limiter.Limit() == rate.Inf {
		return p.limiter.Wait(ctx) // no pacing: nothing to queue for
	}
	if p.urgent != nil && p.urgent(ctx) {
		return p.waitUrgent(ctx)
	}
	return p.waitTurn(ctx)
}

func (p *pacer) waitUrgent(ctx context.Context) error {
	p.mu.Lock()
	if p.urgentN == 0 {
		p.noUrgent = make(chan struct{})
	}
	p.urgentN++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.urgentN--
		if p.urgentN == 0 {
			close(p.noUrgent)
		}
		p.mu.Unlock()
	}()
	return p.limiter.Wait(ctx)
}

func (p *pacer) waitTurn(ctx context.Context) error {
	p.mu.Lock()
	p.nonUrgent++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.nonUrgent--
		p.mu.Unlock()
	}()

	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.turn }()

	for {
		p.mu.Lock()
		n, noUrgent := p.urgentN, p.noUrgent
		p.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-noUrgent:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return p.limiter.Wait(ctx)
}

// waiting reports how many urgent and non-urgent callers are in wait.
func (p *pacer) waiting() (urgent, nonUrgent int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.urgentN, p.nonUrgent
}
