package pcsim

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
)

type faultKind int

const (
	noFault  faultKind = iota
	fault500           // 500 with the error body
	fault503           // 503 with the error body
	faultCut           // connection dropped; writes are applied first
)

// faultInjector draws faults from its own seeded RNG so that fault injection never shifts the world's draws. It
// also holds the targeted losses of LoseNextAnswers.
type faultInjector struct {
	mu     sync.Mutex // guards all fields
	r      *rand.Rand
	rate   float64
	losses []answerLoss
}

// answerLoss is one LoseNextAnswers call with answers still to drop.
type answerLoss struct {
	method, pathSuffix string
	left               int
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

// LoseNextAnswers makes the next n /v1 requests with this method whose URL path ends with pathSuffix (both
// compared case-insensitively, as the service matches paths) be applied normally and then have their connection
// cut instead of answered: the lost checkout or order answer that MS-RequestId idempotency and per-cart checkout
// idempotency exist for. Requests refused before they reach the API (429, authentication, a random injected
// fault) do not count. Calls add up; n <= 0 does nothing. Safe for concurrent use.
func (s *Server) LoseNextAnswers(method, pathSuffix string, n int) {
	if n <= 0 {
		return
	}
	f := s.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	f.losses = append(f.losses, answerLoss{method: method, pathSuffix: strings.ToLower(pathSuffix), left: n})
}

// loseAnswer reports whether r's answer is to be dropped, using up one LoseNextAnswers drop if so.
func (f *faultInjector) loseAnswer(r *http.Request) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.ToLower(r.URL.Path)
	for i := range f.losses {
		l := &f.losses[i]
		if !strings.EqualFold(l.method, r.Method) || !strings.HasSuffix(path, l.pathSuffix) {
			continue
		}
		if l.left--; l.left == 0 {
			f.losses = append(f.losses[:i], f.losses[i+1:]...)
		}
		return true
	}
	return false
}
