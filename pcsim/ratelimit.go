package pcsim

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
)

// throttle applies the partner-wide token bucket. A throttled request gets the documented 429 answer
// ([PC-2023] developer/api-throttling-guidance.md): a Retry-After header in whole seconds and a
// {statusCode, message} body that is not the usual error shape.
func (s *Server) throttle() (reply, bool) {
	if s.limiter == nil {
		return reply{}, true
	}
	now := s.now()
	res := s.limiter.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	if wait <= 0 {
		return reply{}, true
	}
	res.CancelAt(now) // a refused request must not use up a future token
	s.stats.throttled.Add(1)
	secs := max(1, int(math.Ceil(wait.Seconds())))
	body := fmt.Sprintf(`{"statusCode": 429, "message": "Rate limit is exceeded. Try again in %d seconds."}`, secs)
	return reply{
		status: http.StatusTooManyRequests,
		body:   []byte(body),
		header: http.Header{"Retry-After": {strconv.Itoa(secs)}},
	}, false
}
