// Package pcclient is a client for the Partner Center REST API
// (https://learn.microsoft.com/en-us/partner-center/developer/).
//
// It sends the documented headers on every call, keeps one MS-RequestId per
// logical operation across its retries (the API's idempotency key), honours
// 429 Retry-After (and holds back that customer's other calls for as long),
// backs off on 5xx and dropped connections, never retries a business
// failure, and paces all calls through one client-side limiter, urgent calls
// first (limiter.go).
package pcclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

// DefaultBaseURL is the Partner Center REST endpoint (global and US Gov).
const DefaultBaseURL = "https://api.partnercenter.microsoft.com"

// DefaultApplication is sent as MS-PartnerCenter-Application.
const DefaultApplication = "kaizalabot"

// DefaultMaxBodyBytes is the default Config.MaxBodyBytes: 64 MiB.
const DefaultMaxBodyBytes = 64 << 20

// MaxPages bounds the pages of one listing: 10,000 pages of 500 is five
// million items, far beyond any partner's customers or a customer's users,
// so a listing that gets there is a service that keeps sending next links.
const MaxPages = 10000

// Config configures a Client. Only TokenSource is required.
type Config struct {
	BaseURL     string             // default DefaultBaseURL
	TokenSource oauth2.TokenSource // from TokenConfig.TokenSource
	HTTPClient  *http.Client       // default: a pooled client without an overall timeout
	// RequestsPerMinute paces every call of this client (and of every
	// goroutine sharing it). 0 disables client-side pacing.
	RequestsPerMinute int
	Application       string        // MS-PartnerCenter-Application; default DefaultApplication
	MaxAttempts       int           // per logical operation, default 6
	AttemptTimeout    time.Duration // per HTTP attempt, default 60s
	MinBackoff        time.Duration // default 500ms
	MaxBackoff        time.Duration // default 30s
	// OnCall, when set, is told about every HTTP attempt (metrics, logs).
	OnCall func(CallInfo)
	// MaxBodyBytes bounds the answer read per call; a longer 2xx answer is an
	// *AnswerTooLargeError. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Urgent tells which calls go ahead of the others in the client-side
	// limiter (e.g. a running migration's, ahead of plans and scans); see
	// limiter.go. nil: nothing is urgent.
	Urgent func(context.Context) bool
}

// CallInfo describes one HTTP attempt.
type CallInfo struct {
	Method        string
	Path          string // without query
	Status        int    // 0 when no answer arrived
	Attempt       int
	RequestID     string
	CorrelationID string
	Duration      time.Duration
	Throttled     bool
	RetryAfter    time.Duration
	Err           error // nil on 2xx
}

// Client calls Partner Center. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	http   *http.Client
	tokens *tokenCache
	pacer  *pacer
	gates  customerGates // per-customer holds after a 429 (limiter.go)
	clock  serverClock   // Partner Center's now, from its answers' Date (adapter_paths.go)
	cfg    Config
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	// maxPages is MaxPages; tests lower it.
	maxPages int
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.TokenSource == nil {
		return nil, errors.New("pcclient: Config.TokenSource is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("pcclient: base URL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: newTransport()}
	}
	if cfg.Application == "" {
		cfg.Application = DefaultApplication
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 60 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	limiter := rate.NewLimiter(rate.Inf, 1)
	if cfg.RequestsPerMinute > 0 {
		// Burst 1: calls are spread evenly, so a fan-out never sends a spike
		// that the partner-wide server limit would answer with 429s.
		limiter = rate.NewLimiter(rate.Limit(float64(cfg.RequestsPerMinute)/60), 1)
	}
	return &Client{
		base:     base,
		http:     cfg.HTTPClient,
		tokens:   &tokenCache{src: cfg.TokenSource},
		pacer:    newPacer(limiter, cfg.Urgent),
		cfg:      cfg,
		now:      time.Now,
		sleep:    sleepContext,
		maxPages: MaxPages,
	}, nil
}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Fan-out keeps many calls in flight to one host.
	t.MaxIdleConnsPerHost = 64
	t.ResponseHeaderTimeout = 90 * time.Second
	return t
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	observerKey
)

// WithRequestID sets the MS-RequestId for the write calls made with ctx. A
// caller that saves the id before calling, and calls again with the same id
// after a crash, can never buy twice: Partner Center answers a repeated
// request id with the first result. Reads always get a fresh id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// WithCallObserver makes every HTTP attempt made with ctx known to fn, e.g.
// to put the MS-RequestId and MS-CorrelationId of a step in an audit record.
func WithCallObserver(ctx context.Context, fn func(CallInfo)) context.Context {
	return context.WithValue(ctx, observerKey, fn)
}

// request is one logical operation.
type request struct {
	method string
	path   string // "/v1/…", or a resolved next link
	query  url.Values
	header http.Header
	body   any
}

// do runs req with retries and decodes a 2xx answer into out (unless nil).
func (c *Client) do(ctx context.Context, req request, out any) (http.Header, error) {
	var body []byte
	if req.body != nil {
		var err error
		if body, err = json.Marshal(req.body); err != nil {
			return nil, fmt.Errorf("pcclient: encode %s %s: %w", req.method, req.path, err)
		}
	}
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + req.path
	u.RawQuery = req.query.Encode()

	requestID, _ := ctx.Value(requestIDKey).(string)
	if requestID == "" || req.method == http.MethodGet {
		requestID = uuid.NewString()
	}
	var lastErr error
	throttledInARow := 0
	customer, op := pathCustomer(req.path), uint64(0)
	if customer != "" {
		op = c.gates.op()
	}
	for attempt := 1; ; attempt++ {
		if err := c.waitCustomer(ctx, customer, op); err != nil {
			return nil, c.giveUp(ctx, lastErr, err)
		}
		if err := c.pacer.wait(ctx); err != nil {
			return nil, c.giveUp(ctx, lastErr, err)
		}
		sent := c.now()
		header, wait, err := c.attempt(ctx, req, &u, body, requestID, attempt, out)
		if customer != "" && !IsThrottled(err) {
			c.gates.lift(customer, sent)
		}
		if err == nil {
			return header, nil
		}
		if Classify(err) != ClassRetryable || ctx.Err() != nil {
			if lastErr != nil && ctx.Err() != nil {
				return nil, c.giveUp(ctx, lastErr, ctx.Err())
			}
			return nil, err
		}
		lastErr = err
		if attempt >= c.cfg.MaxAttempts {
			return nil, &RetriesExhaustedError{Attempts: attempt, Err: err}
		}
		// Throttling guide: wait Retry-After; if throttled again, back off
		// exponentially on top of it.
		backoff := c.backoff(attempt)
		if IsThrottled(err) {
			throttledInARow++
			if throttledInARow == 1 && wait > 0 {
				backoff = wait
			} else {
				backoff = max(wait, backoff)
			}
			if customer != "" {
				// The customer's other calls wait as long as this one.
				now := c.now()
				c.gates.hold(customer, op, now.Add(backoff), now)
			}
		} else {
			throttledInARow = 0
			backoff = max(wait, backoff)
		}
		if err := c.sleep(ctx, backoff); err != nil {
			return nil, c.giveUp(ctx, lastErr, err)
		}
	}
}

// waitCustomer waits until customer's gate opens (customerGates), unless
// operation op set it: its own back-off waited that out already. A hold
// extended meanwhile by another call's 429 is waited out too; each distinct
// hold is slept once, so a test's instant sleep cannot spin here.
func (c *Client) waitCustomer(ctx context.Context, customer string, op uint64) error {
	if customer == "" {
		return nil
	}
	var slept time.Time
	for {
		until, owner, held := c.gates.heldUntil(customer, c.now())
		if !held || owner == op || !until.After(slept) {
			return ctx.Err()
		}
		if err := c.sleep(ctx, until.Sub(c.now())); err != nil {
			return err
		}
		slept = until
	}
}

// giveUp reports that the caller's context ended while an operation was
// failing: both the context's error and the failure are kept for errors.Is/As.
func (c *Client) giveUp(_ context.Context, last, ctxErr error) error {
	if last == nil {
		return ctxErr
	}
	return fmt.Errorf("%w (while retrying: %w)", ctxErr, last)
}

// attempt makes one HTTP attempt. wait is the Retry-After the answer asked for.
func (c *Client) attempt(ctx context.Context, req request, u *url.URL, body []byte, requestID string, n int, out any) (http.Header, time.Duration, error) {
	correlationID := uuid.NewString()
	start := c.now()
	info := CallInfo{Method: req.method, Path: u.Path, Attempt: n, RequestID: requestID, CorrelationID: correlationID}
	report := func(err error) {
		info.Err, info.Duration = err, c.now().Sub(start)
		if c.cfg.OnCall != nil {
			c.cfg.OnCall(info)
		}
		if fn, ok := ctx.Value(observerKey).(func(CallInfo)); ok {
			fn(info)
		}
	}

	token, err := c.tokens.Token()
	if err != nil {
		err = tokenError(err)
		report(err)
		return nil, 0, err
	}

	actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(actx, req.method, u.String(), reader)
	if err != nil {
		return nil, 0, fmt.Errorf("pcclient: build %s %s: %w", req.method, u.Path, err)
	}
	for k, vs := range req.header {
		hreq.Header[k] = vs
	}
	hreq.Header.Set("Authorization", "Bearer "+token.AccessToken)
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("MS-RequestId", requestID)
	hreq.Header.Set("MS-CorrelationId", correlationID)
	hreq.Header.Set("MS-Contract-Version", "v1")
	hreq.Header.Set("MS-PartnerCenter-Application", c.cfg.Application)
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(hreq)
	if err != nil {
		err = &TransportError{Method: req.method, Path: u.Path, Err: scrubURLError(err)}
		report(err)
		return nil, 0, err
	}
	defer resp.Body.Close()
	c.clock.observe(resp.Header.Get("Date"), c.now())
	info.Status = resp.StatusCode
	// One byte past the limit tells a body that is exactly the limit from
	// one that is longer.
	limit := c.cfg.MaxBodyBytes
	data, err := io.ReadAll(io.LimitReader(resp.Body, min(limit, math.MaxInt64-1)+1))
	if err != nil {
		err = &TransportError{Method: req.method, Path: u.Path, Err: fmt.Errorf("reading the answer: %w", scrubURLError(err))}
		report(err)
		return nil, 0, err
	}
	// An error answer keeps its status, which is what it means; only its
	// text is cut.
	tooLarge := int64(len(data)) > limit
	if tooLarge {
		data = data[:limit]
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if tooLarge && out != nil {
			err := &AnswerTooLargeError{Method: req.method, Path: u.Path, Limit: limit}
			report(err)
			return nil, 0, err
		}
		if out != nil && len(bytes.TrimSpace(data)) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				err = fmt.Errorf("pcclient: decode %s %s answer: %w", req.method, u.Path, err)
				report(err)
				return nil, 0, err
			}
		}
		report(nil)
		return resp.Header, 0, nil
	}
	apiErr := newAPIError(resp, data, req.method, u.Path, requestID, correlationID, c.now())
	info.Throttled = resp.StatusCode == http.StatusTooManyRequests
	info.RetryAfter = apiErr.RetryAfter
	if resp.StatusCode == http.StatusUnauthorized {
		// The cached access token may have been revoked early; the next
		// call fetches a new one instead of failing with it again.
		c.tokens.invalidate(token.AccessToken)
	}
	report(apiErr)
	return nil, apiErr.RetryAfter, apiErr
}

// backoff is exponential with full jitter, between MinBackoff and MaxBackoff.
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.cfg.MinBackoff << min(attempt-1, 16)
	if ceiling <= 0 || ceiling > c.cfg.MaxBackoff {
		ceiling = c.cfg.MaxBackoff
	}
	return c.cfg.MinBackoff/2 + time.Duration(rand.Int64N(int64(ceiling)))
}

// scrubURLError drops the URL from net/http errors: next links can carry
// continuation tokens, and errors end up in logs and Slack.
func scrubURLError(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return fmt.Errorf("timed out: %w", err)
	}
	return err
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// resolveLink turns a links.next URI into a path under the base URL. The
// service's URIs sometimes start with /v1 and sometimes don't; joining them
// blindly gave /v1//v1/customers (Partner-Center-PowerShell#379).
func (c *Client) resolveLink(uri string) (string, url.Values, error) {
	parsed, err := url.Parse(uri)
	if err != nil {
		// Scrubbed: the link's query may carry a continuation token.
		return "", nil, fmt.Errorf("%w: it does not parse: %w", ErrBadNextLink, scrubURLError(err))
	}
	// Never send the bearer token to another host, nor in clear text.
	switch {
	case parsed.Scheme == "" && parsed.Host != "":
		// //host/path has no scheme, so IsAbs is false; taken as a path it
		// would drop the host and ask our host for whatever it names.
		return "", nil, fmt.Errorf("%w: it is scheme-relative (//%s/…)", ErrBadNextLink, parsed.Host)
	case parsed.IsAbs() && !strings.EqualFold(parsed.Host, c.base.Host):
		return "", nil, fmt.Errorf("%w: it points to another host %q", ErrBadNextLink, parsed.Host)
	case parsed.IsAbs() && !strings.EqualFold(parsed.Scheme, c.base.Scheme):
		return "", nil, fmt.Errorf("%w: it switches from %s to %s", ErrBadNextLink, c.base.Scheme, parsed.Scheme)
	}
	p := parsed.Path
	if basePath := strings.TrimRight(c.base.Path, "/"); basePath != "" {
		p = strings.TrimPrefix(p, basePath)
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if p != "/v1" && !strings.HasPrefix(strings.ToLower(p), "/v1/") {
		p = "/v1" + p
	}
	return p, parsed.Query(), nil
}

// list fetches every page of a collection, following links.next with its
// headers (MS-ContinuationToken). It stops with ErrPagingLoop when a next
// link asks again for a page already fetched (same URI and headers), however
// long the loop, or when the listing passes MaxPages.
func list[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, error) {
	var all []T
	req := request{method: http.MethodGet, path: path, query: query}
	// Which page each request fetched; hashed, so no token is kept.
	seen := map[[sha256.Size]byte]int{pageKey(req): 1}
	for page := 1; ; page++ {
		var coll Collection[T]
		if _, err := c.do(ctx, req, &coll); err != nil {
			if page > 1 {
				return nil, fmt.Errorf("page %d: %w", page, err)
			}
			return nil, err
		}
		all = append(all, coll.Items...)
		next := coll.Links.Next
		if next == nil || next.URI == "" {
			return all, nil
		}
		if page >= c.maxPages {
			return nil, fmt.Errorf("pcclient: listing %s: %w: still a next link after %d pages", path, ErrPagingLoop, page)
		}
		p, q, err := c.resolveLink(next.URI)
		if err != nil {
			return nil, fmt.Errorf("pcclient: listing %s: page %d's next link: %w", path, page, err)
		}
		h := http.Header{}
		for _, kv := range next.Headers {
			h.Set(kv.Key, kv.Value)
		}
		req = request{method: http.MethodGet, path: p, query: q, header: h}
		key := pageKey(req)
		if fetched, ok := seen[key]; ok {
			return nil, fmt.Errorf("pcclient: listing %s: %w: page %d's next link asks again for page %d", path, ErrPagingLoop, page, fetched)
		}
		seen[key] = page + 1
	}
}

// pageKey identifies the page a request asks for: its resolved URI and its
// headers (the continuation token).
func pageKey(req request) [sha256.Size]byte {
	var b strings.Builder
	b.WriteString(req.path)
	b.WriteString("?")
	b.WriteString(req.query.Encode()) // sorted by key
	for _, k := range slices.Sorted(maps.Keys(req.header)) {
		b.WriteString("\x01" + k)
		for _, v := range req.header[k] {
			b.WriteString("\x00" + v)
		}
	}
	return sha256.Sum256([]byte(b.String()))
}

// get fetches one resource.
func get[T any](ctx context.Context, c *Client, path string, query url.Values) (*T, error) {
	var out T
	if _, err := c.do(ctx, request{method: http.MethodGet, path: path, query: query}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// send writes body with method and decodes the answer.
func send[T any](ctx context.Context, c *Client, method, path string, body any, header http.Header) (*T, error) {
	var out T
	if _, err := c.do(ctx, request{method: method, path: path, body: body, header: header}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// segment escapes one path segment (IDs come from the service and from users).
func segment(s string) string { return url.PathEscape(s) }
