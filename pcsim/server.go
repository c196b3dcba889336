package pcsim

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Server is the sandbox; it is an http.Handler and safe for concurrent use.
type Server struct {
	opts      Options
	limiter   *rate.Limiter    // nil when RateLimit is 0
	customers *customerBuckets // nil when CustomerRateLimit is 0
	faults    *faultInjector
	tokens    *tokenStore
	idem      *idempotencyStore
	stats     counters
	ledger    ledger
	activity  activityLog // GET /v1/auditrecords (auditrecords.go)

	mu        sync.Mutex // guards world and settledAt
	world     *world
	settledAt time.Time // sandbox time of the last settleTransitions pass

	clockMu sync.Mutex    // guards offset
	offset  time.Duration // sandbox time runs this far ahead of Options.Now (clock.go)
}

// faultSalt separates the fault RNG stream from the world RNG stream of the same seed.
const faultSalt = 0x6661756c74732121 // "faults!!"

// New builds the seeded world. Zero fields take defaults, except RateLimit, CustomerRateLimit, Latency and
// FaultRate where 0 is off.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:   opts,
		faults: &faultInjector{rate: opts.FaultRate, r: rand.New(rand.NewPCG(uint64(opts.Seed)^faultSalt, uint64(opts.Seed)))},
		tokens: newTokenStore(),
		idem:   &idempotencyStore{replies: map[string]reply{}},
		world:  buildWorld(opts.Seed, opts.Customers, midnight(opts.Now()), opts.KaizalaSeats),
	}
	if opts.RateLimit > 0 {
		// Burst = one minute's worth, so RateLimit quick requests pass and the next one is throttled.
		s.limiter = rate.NewLimiter(rate.Limit(opts.RateLimit)/60, opts.RateLimit)
	}
	if opts.CustomerRateLimit > 0 {
		s.customers = &customerBuckets{rpm: opts.CustomerRateLimit, byID: map[string]*rate.Limiter{}}
	}
	s.checkCommerce()
	s.applyAccess()
	s.applyCommerce() // after applyAccess: it redraws the last customers
	return s
}

// now is sandbox time: Options.Now moved forward by every AdvanceClock (clock.go).
func (s *Server) now() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	return s.opts.Now().Add(s.offset)
}

// ServeHTTP answers AAD token requests, the /v1 API, the sandbox's own /_sandbox/ instruments, and 404 for
// everything else.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	traceHeaders(w.Header(), r.Header)
	if isSandboxPath(r.URL.Path) {
		// The test's instrument, not Microsoft's API: no latency, counting, throttling, faults or token.
		s.settleTransitions()
		s.write(w, r, s.serveSandbox(r), began)
		return
	}
	s.stats.requests.Add(1)
	if !sleep(r.Context(), s.opts.Latency) {
		s.logf("%s %s -> client gone during latency", r.Method, r.URL.Path)
		return
	}

	var rep reply
	cut := false
	switch path := r.URL.Path; {
	case aadVersion(path) != 0:
		rep = s.issueToken(r, aadVersion(path))
	case path == "/v1" || strings.HasPrefix(path, "/v1/"):
		rep, cut = s.serveV1(r)
	default:
		rep = notFound("The requested resource " + path + " was not found.")
	}
	if cut {
		s.logf("%s %s -> connection cut off (%s)", r.Method, r.URL.Path, time.Since(began))
		cutOff(w)
		return
	}
	s.write(w, r, rep, began)
}

// write sends rep as the JSON answer and logs the exchange.
func (s *Server) write(w http.ResponseWriter, r *http.Request, rep reply, began time.Time) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	// net/http would stamp Date from the real clock; a client that takes "now" from Partner Center's answers
	// must see sandbox time.
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body) // a client that hung up has nothing left to tell
	s.logf("%s %s -> %d (%s)", r.Method, r.URL.Path, rep.status, time.Since(began))
}

// serveV1 runs the documented order: rate limit, authentication, fault injection, then the handler.
// It reports cut=true when the connection must be dropped instead of answered.
func (s *Server) serveV1(r *http.Request) (rep reply, cut bool) {
	rt, params, allowed := match(r.Method, r.URL.Path)
	if refusal, ok := s.throttle(r.URL.Path); !ok {
		return refusal, false
	}
	if refusal, ok := s.authorize(r, rt != nil && rt.appUser); !ok {
		return refusal, false
	}
	switch s.faults.pick() {
	case fault500:
		s.stats.faults.Add(1)
		return errorReply(http.StatusInternalServerError, codeServiceError, "Unexpected service error."), false
	case fault503:
		s.stats.faults.Add(1)
		return errorReply(http.StatusServiceUnavailable, 503, "The service is temporarily unavailable. Please retry."), false
	case faultCut:
		s.stats.faults.Add(1)
		if r.Method == http.MethodGet {
			return reply{}, true
		}
		cut = true // a write is applied first; only its answer is lost
	}
	if !cut && s.faults.loseAnswer(r) { // LoseNextAnswers (faults.go): applied first, then cut off
		s.stats.faults.Add(1)
		cut = true
	}
	s.settleTransitions()
	switch {
	case rt != nil:
		rep = s.idem.do(r, func() reply { return rt.handle(s, r, params) })
	case len(allowed) > 0:
		rep = errorReply(http.StatusMethodNotAllowed, 405, "The requested HTTP method "+r.Method+" is not allowed on "+r.URL.Path+".")
		rep.header = http.Header{"Allow": {strings.Join(allowed, ", ")}}
	default:
		rep = notFound("The requested resource " + r.URL.Path + " was not found.")
	}
	return rep, cut
}

// settleTransitions completes the transitions and renewals that are due before any request looks at the world.
//
// A pass looks at every customer: cheap for a demo world, not for 200,000
// customers on every request. What settles is not due to the millisecond (a
// transition after the provisioning delay, a renewal at a day's end), so a
// pass runs at most once per settleEvery of sandbox time; advancing the
// clock past that always settles.
func (s *Server) settleTransitions() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.settledAt.IsZero() && now.After(s.settledAt) && now.Sub(s.settledAt) < settleEvery {
		return
	}
	s.settledAt = now
	s.completeTransitions()
	s.renewDue()
}

// settleEvery bounds how often settleTransitions looks at the whole world.
const settleEvery = 20 * time.Millisecond

// traceHeaders echoes the caller's MS-RequestId and MS-CorrelationId (minting GUIDs when absent) and adds a
// random MS-CV, as the real service's responses do.
func traceHeaders(out, in http.Header) {
	for _, h := range []string{"MS-RequestId", "MS-CorrelationId"} {
		v := in.Get(h)
		if v == "" {
			v = newGUID()
		}
		out.Set(h, v)
	}
	out.Set("MS-CV", correlationVector())
}

// sleep waits d unless the request is cancelled first; it reports whether the request is still wanted.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// cutOff drops the connection without a response, the failure MS-RequestId idempotency exists for.
func cutOff(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close() // closing is the whole point; there is nobody to report an error to
			return
		}
	}
	panic(http.ErrAbortHandler) // HTTP/2 or a wrapping writer: abort the standard way
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf("pcsim: "+format, args...)
	}
}
