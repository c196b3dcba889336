package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxSkew is how far a request's timestamp may be from now, either way
// (Slack: "more than five minutes … could be a replay attack").
const MaxSkew = 5 * time.Minute

// Reasons a request is refused as not from Slack.
var (
	ErrMissingSignature = errors.New("missing X-Slack-Signature or X-Slack-Request-Timestamp")
	ErrBadTimestamp     = errors.New("unreadable X-Slack-Request-Timestamp")
	ErrStale            = errors.New("request timestamp is more than five minutes away")
	ErrBadSignature     = errors.New("signature does not match")
)

// Verify checks Slack's v0 request signature over the raw body at now:
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)).
// now is a parameter (slack-go's verifier uses the wall clock) so Slack's
// official test vector, from 2018, stays a unit test.
func Verify(header http.Header, body []byte, secret string, now time.Time) error {
	sig, ts := header.Get("X-Slack-Signature"), header.Get("X-Slack-Request-Timestamp")
	if sig == "" || ts == "" {
		return ErrMissingSignature
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil || secs <= 0 {
		return ErrBadTimestamp
	}
	// Compare in seconds: a timestamp far in the future must not overflow
	// a time.Duration into looking recent.
	if diff := now.Unix() - secs; diff > int64(MaxSkew/time.Second) || diff < -int64(MaxSkew/time.Second) {
		return fmt.Errorf("%w (%d s)", ErrStale, diff)
	}
	got, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return ErrBadSignature
	}
	gotMAC, err := hex.DecodeString(got)
	if err != nil || len(gotMAC) != sha256.Size {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	if !hmac.Equal(gotMAC, mac.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}
