package pcclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Secrets the fake token endpoint accepts; tests assert they never leak.
const (
	testClientID     = "test-client"
	testClientSecret = "s3cret-client-value"
	testRefreshToken = "r3fresh-token-value"
)

// fakePC is a loopback Partner Center: a token endpoint plus whatever /v1
// routes a test registers on Mux.
type fakePC struct {
	*httptest.Server
	Mux *http.ServeMux

	mu           sync.Mutex
	tokenForms   []map[string]string
	tokensIssued int
	sleeps       []time.Duration
}

func newFakePC(t *testing.T) *fakePC {
	t.Helper()
	f := &fakePC{Mux: http.NewServeMux()}
	f.Mux.HandleFunc("POST /{tenant}/oauth2/token", f.token)
	f.Mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", f.token)
	f.Server = httptest.NewServer(f.Mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakePC) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = r.PostForm.Get(k)
	}
	f.mu.Lock()
	f.tokenForms = append(f.tokenForms, form)
	f.tokensIssued++
	n := f.tokensIssued
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if form["client_id"] != testClientID || form["client_secret"] != testClientSecret ||
		(form["grant_type"] == "refresh_token" && !strings.HasPrefix(form["refresh_token"], testRefreshToken)) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[7000215]}`))
		return
	}
	// expires_in as a string, as Entra ID's v1 endpoint sends it.
	_ = json.NewEncoder(w).Encode(map[string]string{
		"token_type": "Bearer", "expires_in": "3600", "access_token": "access-" + string(rune('a'+n)),
		"refresh_token": testRefreshToken + "-rotated-" + string(rune('a'+n)),
	})
}

func (f *fakePC) newClient(t *testing.T, tc TokenConfig, mutate ...func(*Config)) *Client {
	t.Helper()
	if tc.TokenURL == "" {
		tc.TokenURL = f.URL + "/partner-tenant/oauth2/token"
	}
	if tc.ClientID == "" {
		tc.ClientID, tc.ClientSecret = testClientID, testClientSecret
	}
	cfg := Config{BaseURL: f.URL, TokenSource: tc.TokenSource(), MaxAttempts: 5, AttemptTimeout: 2 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Record back-offs instead of sleeping them, so tests are fast and can
	// check what the client decided to wait.
	c.sleep = func(ctx context.Context, d time.Duration) error {
		f.mu.Lock()
		f.sleeps = append(f.sleeps, d)
		f.mu.Unlock()
		return ctx.Err()
	}
	return c
}

func (f *fakePC) recordedSleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// assertNoSecret fails when err's text carries any credential.
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{testClientSecret, testRefreshToken, "access-"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q leaks a secret (%q)", err, s)
		}
	}
}
