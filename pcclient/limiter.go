package pcclient

import (
	"context"
	"strings"
	"sync"
	"time"

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

// customerGates hold back the calls for customers Partner Center throttled.
//
// Why: Partner Center throttles per partner and per partner+customer
// (developer/api-throttling-guidance.md). A 429 on a customer's path says
// when that customer may be asked again (Retry-After); every other call for
// the customer made before then would only earn its own 429. Calls for other
// customers are not held: they go on at the pacer's shared pace. A gate is
// waited out before the pacer, so a held call never keeps a slot or the
// non-urgent turn from the others.
type customerGates struct {
	mu    sync.Mutex
	ops   uint64          // the last operation id handed out
	gates map[string]gate // by lower-case customer id; expired ones are dropped
}

// gate is one customer's hold: no call before until. owner is the
// operation whose 429 set it (its own back-off already waits it out); set
// is when, so an answer to a call sent earlier does not lift it.
type gate struct {
	until, set time.Time
	owner      uint64
}

// op returns a new operation id, for hold and heldUntil.
func (g *customerGates) op() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ops++
	return g.ops
}

// hold keeps customer's calls back until until (a later hold wins), and
// drops the gates that have expired, so the map holds only the customers
// throttled within the last Retry-After.
func (g *customerGates) hold(customer string, owner uint64, until, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gates == nil {
		g.gates = map[string]gate{}
	}
	for id, gt := range g.gates {
		if !gt.until.After(now) {
			delete(g.gates, id)
		}
	}
	if gt, ok := g.gates[customer]; !ok || until.After(gt.until) {
		g.gates[customer] = gate{until: until, set: now, owner: owner}
	}
}

// heldUntil returns when customer's calls may go again, if not yet, and
// which operation's 429 said so.
func (g *customerGates) heldUntil(customer string, now time.Time) (until time.Time, owner uint64, held bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gt, ok := g.gates[customer]
	if !ok {
		return time.Time{}, 0, false
	}
	if !gt.until.After(now) {
		delete(g.gates, customer)
		return time.Time{}, 0, false
	}
	return gt.until, gt.owner, true
}

// lift opens customer's gate after a call sent at sent (not before the gate
// was set) was answered without throttling: the customer is readable again.
func (g *customerGates) lift(customer string, sent time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gt, ok := g.gates[customer]; ok && !sent.Before(gt.set) {
		delete(g.gates, customer)
	}
}

// held reports how many customers are held back; tests watch it.
func (g *customerGates) held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.gates)
}

// pathCustomer returns the lower-case customer id a /v1/customers/{id}[/…]
// path names, or "" for any other path.
func pathCustomer(path string) string {
	rest, ok := strings.CutPrefix(strings.ToLower(path), "/v1/customers/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}
