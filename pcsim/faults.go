package pcsim

import (
	"math/rand/v2"
	"sync"
)

type faultKind int

const (
	noFault  faultKind = iota
	fault500           // 500 with the error body
	fault503           // 503 with the error body
	faultCut           // connection dropped; writes are applied first
)

// faultInjector draws faults from its own seeded RNG so that fault injection never shifts the world's draws.
type faultInjector struct {
	mu   sync.Mutex
	r    *rand.Rand
	rate float64
}

// pick decides the fate of one /v1 request: with probability rate one of the three faults, equally likely.
func (f *faultInjector) pick() faultKind {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rate <= 0 || f.r.Float64() >= f.rate {
		return noFault
	}
	return faultKind(1 + f.r.IntN(3))
}
