package pcsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Sandbox time: the clock every part of pcsim reads (s.now) is Options.Now plus an offset that only moves
// forward, so a test or the demo can let days pass in a second: carts expire, cancellation windows close,
// pending orders and changes complete, all because they compare against s.now(). Like the ledger it is the
// tests' instrument, served outside /v1 with no token, throttling or faults. AAD tokens are not Partner
// Center's and keep the unshifted clock (auth.go), so a jump does not log every client out.

// ClockPath is where GET reads the sandbox clock and POST {"advance": "72h"} moves it forward.
const ClockPath = "/_sandbox/clock"

// clockJSON is the answer of GET and POST ClockPath.
type clockJSON struct {
	Now    string `json:"now"`    // RFC 3339, UTC
	Offset string `json:"offset"` // how far the sandbox runs ahead of Options.Now, as time.Duration prints it
}

// AdvanceClock moves the sandbox's clock forward by d; d must be positive.
func (s *Server) AdvanceClock(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("pcsim: advance the clock by a positive duration, not %s", d)
	}
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	s.offset += d
	return nil
}

// ClockOffset is how far the sandbox's clock runs ahead of Options.Now.
func (s *Server) ClockOffset() time.Duration {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	return s.offset
}

func (s *Server) clockAnswer() reply {
	return jsonReply(http.StatusOK, clockJSON{Now: s.now().UTC().Format(time.RFC3339), Offset: s.ClockOffset().String()})
}

// serveClock answers GET and POST ClockPath. A POST is not idempotent: each one moves the clock again.
func (s *Server) serveClock(r *http.Request) reply {
	switch r.Method {
	case http.MethodGet:
		return s.clockAnswer()
	case http.MethodPost:
	default:
		rep := errorReply(http.StatusMethodNotAllowed, 405, "The requested HTTP method "+r.Method+" is not allowed on "+r.URL.Path+".")
		rep.header = http.Header{"Allow": {"GET, POST"}}
		return rep
	}
	var body struct {
		Advance *string `json:"advance"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		if errors.Is(err, io.EOF) {
			return badInput(`The request body is empty: send {"advance": "72h"}.`)
		}
		return badInput(`The request body must be {"advance": "<duration>"}, e.g. {"advance": "72h"}: ` + err.Error())
	}
	if body.Advance == nil || strings.TrimSpace(*body.Advance) == "" {
		return badInput(`"advance" is missing: send {"advance": "72h"}.`)
	}
	d, err := time.ParseDuration(strings.TrimSpace(*body.Advance))
	if err != nil {
		return badInput(fmt.Sprintf(`"advance" %q is not a duration such as "72h" or "90m".`, *body.Advance))
	}
	if err := s.AdvanceClock(d); err != nil {
		return badInput(fmt.Sprintf(`"advance" must be positive (the sandbox clock never goes back), not %q.`, *body.Advance))
	}
	s.logf("clock advanced by %s, now %s", d, s.now().UTC().Format(time.RFC3339))
	return s.clockAnswer()
}
