package pcclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestAnAnswerOverTheLimitSaysSo(t *testing.T) {
	const limit = 1 << 10
	const head = `{"id":"c1","companyProfile":{"companyName":"`
	const tail = `"}}`
	// customer streams a customer whose JSON is size bytes long (size < 0:
	// endless), in small flushed chunks.
	customer := func(status, size int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, head)
			name := size - len(head) - len(tail)
			if size < 0 {
				name = 64 << 20 // far more than the client reads
			}
			for ; name > 0; name -= 100 {
				if _, err := io.WriteString(w, strings.Repeat("x", min(name, 100))); err != nil {
					return // the client hung up
				}
				w.(http.Flusher).Flush()
			}
			_, _ = io.WriteString(w, tail)
		}
	}
	for _, tc := range []struct {
		name     string
		handler  http.HandlerFunc
		wantErr  bool
		class    Class
		attempts int32
	}{
		{"just under the limit", customer(200, limit-1), false, ClassNone, 1},
		{"exactly the limit", customer(200, limit), false, ClassNone, 1},
		{"one byte over", customer(200, limit+1), true, ClassPermanent, 1},
		{"an endless stream", customer(200, -1), true, ClassPermanent, 1},
		// An error answer is still the error it is; only its text is cut.
		{"an error answer over the limit", customer(400, 10*limit), true, ClassBusiness, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePC(t)
			var attempts atomic.Int32
			f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				tc.handler(w, r)
			})
			c := f.newClient(t, TokenConfig{}, func(cfg *Config) { cfg.MaxBodyBytes = limit })
			got, err := c.GetCustomer(context.Background(), "c1")
			if n := attempts.Load(); n != tc.attempts {
				t.Errorf("attempts = %d, want %d", n, tc.attempts)
			}
			if got := Classify(err); got != tc.class {
				t.Errorf("Classify = %v, want %v (%v)", got, tc.class, err)
			}
			if !tc.wantErr {
				if err != nil || !strings.HasPrefix(got.CompanyProfile.CompanyName, "xxx") {
					t.Errorf("got %+v, %v", got, err)
				}
				return
			}
			if tc.class != ClassPermanent {
				if StatusCode(err) != 400 {
					t.Errorf("err = %v, want the 400", err)
				}
				return
			}
			var tooLarge *AnswerTooLargeError
			if !errors.As(err, &tooLarge) {
				t.Fatalf("err = %v, want an *AnswerTooLargeError", err)
			}
			want := "Partner Center's answer to GET /v1/customers/c1 is larger than 1 KiB"
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}

func TestTheAnswerLimitDefaultsTo64MiB(t *testing.T) {
	f := newFakePC(t)
	c := f.newClient(t, TokenConfig{})
	if c.cfg.MaxBodyBytes != 64<<20 {
		t.Errorf("MaxBodyBytes = %d, want 64 MiB", c.cfg.MaxBodyBytes)
	}
	for _, tc := range []struct {
		limit int64
		want  string
	}{
		{DefaultMaxBodyBytes, "GET /v1/customers is larger than 64 MiB"},
		{1 << 10, "larger than 1 KiB"},
		{1500, "larger than 1500 bytes"},
	} {
		err := &AnswerTooLargeError{Method: "GET", Path: "/v1/customers", Limit: tc.limit}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d: %q does not say %q", tc.limit, err, tc.want)
		}
	}
}
