package pcclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// APIError is an HTTP error answer from Partner Center. It understands the
// three documented body shapes: {code, description, data, source}
// (error-codes.md), the newer {code, message, errorName, isRetryable, …}, and
// the throttling body {statusCode, message} (api-throttling-guidance.md).
type APIError struct {
	StatusCode  int
	Code        Code
	Description string
	// Message is the 429 body's message, or the newer services' message.
	Message   string
	Data      []json.RawMessage
	ErrorName string
	Source    string
	// RetryAfter is the Retry-After header, when the answer had one.
	RetryAfter time.Duration

	Method        string
	Path          string
	RequestID     string
	CorrelationID string
}

type errorBody struct {
	Code        Code              `json:"code"`
	Description string            `json:"description"`
	Message     string            `json:"message"`
	Data        []json.RawMessage `json:"data"`
	ErrorName   string            `json:"errorName"`
	Source      string            `json:"source"`
	StatusCode  int               `json:"statusCode"`
}

func newAPIError(resp *http.Response, body []byte, method, path, requestID, correlationID string, now time.Time) *APIError {
	e := &APIError{
		StatusCode:    resp.StatusCode,
		Method:        method,
		Path:          path,
		RequestID:     requestID,
		CorrelationID: correlationID,
		RetryAfter:    parseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
	var b errorBody
	if err := json.Unmarshal(body, &b); err == nil {
		e.Code, e.Description, e.Message = b.Code, b.Description, b.Message
		e.Data, e.ErrorName, e.Source = b.Data, b.ErrorName, b.Source
	} else if text := strings.TrimSpace(string(body)); text != "" {
		e.Description = truncate(text, 300)
	}
	return e
}

func (e *APIError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "partner center: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		fmt.Fprintf(&sb, " (code %s)", e.Code)
	}
	if text := e.Text(); text != "" {
		sb.WriteString(": ")
		sb.WriteString(text)
	}
	return sb.String()
}

// Text is the human explanation the service gave: description, else message.
func (e *APIError) Text() string {
	if e.Description != "" {
		return e.Description
	}
	return e.Message
}

// DataText returns the data entries that are strings (the 60012 answer names
// the exhausted SKU there).
func (e *APIError) DataText() []string {
	var out []string
	for _, raw := range e.Data {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}

// AuthError is a failure to obtain an access token from Entra ID (AAD).
type AuthError struct {
	StatusCode  int    // HTTP status of the token endpoint, 0 if it was not reached
	ErrorCode   string // e.g. invalid_client, invalid_grant
	Description string // first line of error_description (AADSTS…)
	// Temporary is set when the endpoint could not be reached or answered
	// 5xx/429: trying again later may work.
	Temporary bool
	Err       error
}

func (e *AuthError) Error() string {
	switch {
	case e.ErrorCode != "":
		return fmt.Sprintf("partner center token: %s: %s", e.ErrorCode, e.Description)
	case e.StatusCode != 0:
		return fmt.Sprintf("partner center token: HTTP %d: %v", e.StatusCode, e.Err)
	default:
		return fmt.Sprintf("partner center token: %v", e.Err)
	}
}

func (e *AuthError) Unwrap() error { return e.Err }

// TransportError is a request that got no HTTP answer: a refused or dropped
// connection, or an attempt that timed out.
type TransportError struct {
	Method, Path string
	Err          error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("partner center: %s %s: %v", e.Method, e.Path, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// AnswerTooLargeError is a 2xx answer longer than Config.MaxBodyBytes. It
// is permanent: asking again gets the same answer. Without it the cut-off
// body surfaced as "unexpected end of JSON input".
type AnswerTooLargeError struct {
	Method, Path string
	Limit        int64 // bytes
}

func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("pcclient: Partner Center's answer to %s %s is larger than %s", e.Method, e.Path, byteSize(e.Limit))
}

// byteSize writes n in the largest binary unit that divides it.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ErrPagingLoop is wrapped by the error of a listing whose next links do not
// end: a link repeats one already followed, or the listing passes MaxPages.
var ErrPagingLoop = errors.New("paging does not end")

// ErrBadNextLink is wrapped by the error of a listing whose next link the
// client will not follow: to another host or scheme, or scheme-relative.
var ErrBadNextLink = errors.New("refused next link")

// RetriesExhaustedError wraps the last failure of an operation whose retries
// were all used up.
type RetriesExhaustedError struct {
	Attempts int
	Err      error
}

func (e *RetriesExhaustedError) Error() string {
	return fmt.Sprintf("gave up after %d attempts: %v", e.Attempts, e.Err)
}

func (e *RetriesExhaustedError) Unwrap() error { return e.Err }

// Class is what a caller should do about an error.
type Class int

// The classes of failure, decided once by Classify.
const (
	ClassNone      Class = iota // no error
	ClassRetryable              // transient: throttling, 5xx, timeouts, dropped connections
	ClassBusiness               // the request is wrong for the current state (4xx); retrying won't help
	ClassConflict               // 409/412: someone else changed the resource; read it again and reconcile
	ClassAuth                   // credentials, consent or permissions (401, 403, token endpoint 4xx)
	ClassCanceled               // the caller's context ended
	ClassUnknown
	// ClassPermanent: the answer cannot be used (too large, paging that does
	// not end, a next link that is refused); asking again gets the same.
	ClassPermanent
)

func (c Class) String() string {
	return [...]string{"none", "retryable", "business", "conflict", "auth", "canceled", "unknown", "permanent"}[c]
}

// Classify puts an error into one Class.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	var apiErr *APIError
	var authErr *AuthError
	var transportErr *TransportError
	var tooLarge *AnswerTooLargeError
	var busy *UpdateBusyError
	var pending *UpdatePendingError
	switch {
	case errors.As(err, &tooLarge), errors.Is(err, ErrPagingLoop), errors.Is(err, ErrBadNextLink):
		return ClassPermanent
	case errors.As(err, &busy), errors.As(err, &pending):
		// Before APIError: the 409 inside is "not now", not someone else's change.
		return ClassRetryable
	case errors.As(err, &apiErr):
		return classifyStatus(apiErr.StatusCode)
	case errors.As(err, &authErr):
		if authErr.Temporary {
			return ClassRetryable
		}
		return ClassAuth
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// Checked after APIError: a call that gave up waiting still reports
		// the failure that made it wait.
		if errors.As(err, &transportErr) {
			return ClassRetryable
		}
		return ClassCanceled
	case errors.As(err, &transportErr):
		return ClassRetryable
	}
	return ClassUnknown
}

func classifyStatus(status int) Class {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return ClassRetryable
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return ClassAuth
	case status == http.StatusConflict, status == http.StatusPreconditionFailed:
		return ClassConflict
	case status >= 400:
		return ClassBusiness
	}
	return ClassUnknown
}

// IsRetryable reports a transient failure (throttling, 5xx, timeouts, dropped
// connections, also when the retries for it are used up).
func IsRetryable(err error) bool { return Classify(err) == ClassRetryable }

// IsBusiness reports a 4xx business failure that a retry cannot fix.
func IsBusiness(err error) bool { return Classify(err) == ClassBusiness }

// IsAuth reports a credentials, consent or permission failure.
func IsAuth(err error) bool { return Classify(err) == ClassAuth }

// IsConflict reports 409 or 412: the caller must re-read and reconcile.
func IsConflict(err error) bool { return Classify(err) == ClassConflict }

// IsThrottled reports a 429 answer.
func IsThrottled(err error) bool { return StatusCode(err) == http.StatusTooManyRequests }

// IsNotFound reports a 404 answer.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// StatusCode returns the HTTP status of an APIError in err's chain, or 0.
func StatusCode(err error) int {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// ErrorCode returns the Partner Center error code in err's chain, or "".
func ErrorCode(err error) string {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return string(apiErr.Code)
	}
	return ""
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). Unparseable or past values give 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var secs int64
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && fmt.Sprint(secs) == v {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
