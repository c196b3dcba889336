package pcclient

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
)

func TestTokenRequestsCarryThePartnerCenterAudience(t *testing.T) {
	for _, tc := range []struct {
		name      string
		path      string
		refresh   string
		wantForm  map[string]string
		wantGrant string
	}{
		{"v1 app+user", "/t/oauth2/token", testRefreshToken, map[string]string{"resource": Resource, "refresh_token": testRefreshToken}, "refresh_token"},
		{"v1 app-only", "/t/oauth2/token", "", map[string]string{"resource": Resource}, "client_credentials"},
		{"v2 app+user", "/t/oauth2/v2.0/token", testRefreshToken, map[string]string{"scope": Scope, "refresh_token": testRefreshToken}, "refresh_token"},
		{"v2 app-only", "/t/oauth2/v2.0/token", "", map[string]string{"scope": Scope}, "client_credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePC(t)
			f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"id":"c1"}`) })
			c := f.newClient(t, TokenConfig{TokenURL: f.URL + tc.path, RefreshToken: tc.refresh})
			if _, err := c.GetCustomer(context.Background(), "c1"); err != nil {
				t.Fatal(err)
			}
			form := f.tokenForms[0]
			if form["grant_type"] != tc.wantGrant {
				t.Errorf("grant_type = %q, want %q", form["grant_type"], tc.wantGrant)
			}
			for k, v := range tc.wantForm {
				if form[k] != v {
					t.Errorf("%s = %q, want %q", k, form[k], v)
				}
			}
		})
	}
}

func TestARotatedRefreshTokenIsHandedToTheHookAndUsedNext(t *testing.T) {
	f := newFakePC(t)
	var unauthorizedOnce atomic.Bool
	f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		// Reject the first access token once, as if revoked: the client must
		// drop it and mint another with the rotated refresh token.
		if !unauthorizedOnce.Swap(true) {
			writeJSON(w, 401, `{"code":"401","description":"token revoked"}`)
			return
		}
		writeJSON(w, 200, `{"id":"c1"}`)
	})
	var rotated []string
	c := f.newClient(t, TokenConfig{RefreshToken: testRefreshToken, OnRefreshTokenRotated: func(rt string) { rotated = append(rotated, rt) }})
	if _, err := c.GetCustomer(context.Background(), "c1"); StatusCode(err) != 401 || !IsAuth(err) {
		t.Fatalf("first call: want the 401 as an auth failure, got %v", err)
	}
	if _, err := c.GetCustomer(context.Background(), "c1"); err != nil {
		t.Fatalf("second call should use a fresh token: %v", err)
	}
	if len(rotated) != 2 || rotated[0] != testRefreshToken+"-rotated-b" {
		t.Fatalf("rotations = %v", rotated)
	}
	if got := f.tokenForms[1]["refresh_token"]; got != rotated[0] {
		t.Errorf("second token request used refresh token %q, want the rotated %q", got, rotated[0])
	}
}

func TestRefusedCredentialsAreAnAuthErrorWithoutSecrets(t *testing.T) {
	f := newFakePC(t)
	var apiCalls atomic.Int32
	f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) { apiCalls.Add(1) })
	c := f.newClient(t, TokenConfig{ClientID: testClientID, ClientSecret: "wrong-" + testClientSecret, RefreshToken: testRefreshToken})
	_, err := c.GetCustomer(context.Background(), "c1")
	var authErr *AuthError
	if !asAuthError(err, &authErr) || authErr.StatusCode != 401 || authErr.ErrorCode != "invalid_client" {
		t.Fatalf("want an AuthError 401 invalid_client, got %#v", err)
	}
	if !IsAuth(err) || IsRetryable(err) {
		t.Errorf("refused credentials must be ClassAuth and not retried, got %v", Classify(err))
	}
	if len(f.tokenForms) != 1 || apiCalls.Load() != 0 {
		t.Errorf("token requests = %d, API calls = %d; want 1 and 0", len(f.tokenForms), apiCalls.Load())
	}
	assertNoSecret(t, err)
	if want := "AADSTS7000215: Invalid client secret provided."; authErr.Description != want {
		t.Errorf("description = %q, want the first line %q", authErr.Description, want)
	}
}

func asAuthError(err error, target **AuthError) bool {
	for err != nil {
		if a, ok := err.(*AuthError); ok {
			*target = a
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestTokenFailuresAreClassified(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		class   Class
	}{
		{"5xx is temporary", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 503, `{"error":"temporarily_unavailable"}`) }, ClassRetryable},
		{"an answer without a token is not", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"token_type":"Bearer"}`) }, ClassAuth},
		{"invalid_grant is auth", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 400, `{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity."}`)
		}, ClassAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePC(t)
			f.Mux.HandleFunc("POST /bad/oauth2/token", tc.handler)
			c := f.newClient(t, TokenConfig{TokenURL: f.URL + "/bad/oauth2/token", RefreshToken: testRefreshToken})
			_, err := c.GetCustomer(context.Background(), "c1")
			if got := Classify(err); got != tc.class {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tc.class)
			}
			assertNoSecret(t, err)
		})
	}
	t.Run("unreachable endpoint is temporary", func(t *testing.T) {
		f := newFakePC(t)
		c := f.newClient(t, TokenConfig{TokenURL: "http://127.0.0.1:1/t/oauth2/token"}, func(cfg *Config) { cfg.MaxAttempts = 2 })
		_, err := c.GetCustomer(context.Background(), "c1")
		if !IsRetryable(err) {
			t.Errorf("want retryable, got %v (%v)", Classify(err), err)
		}
	})
}

func TestARefusedStoredRefreshTokenFallsBackToTheConfiguredOne(t *testing.T) {
	f := newFakePC(t)
	f.Mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"id":"c1"}`) })
	// The fake accepts refresh tokens starting with testRefreshToken only.
	c := f.newClient(t, TokenConfig{RefreshToken: "revoked-rotated-token", FallbackRefreshToken: testRefreshToken})
	if _, err := c.GetCustomer(context.Background(), "c1"); err != nil {
		t.Fatalf("want the fallback to work: %v", err)
	}
	if len(f.tokenForms) != 2 || f.tokenForms[0]["refresh_token"] != "revoked-rotated-token" || f.tokenForms[1]["refresh_token"] != testRefreshToken {
		t.Errorf("token requests: %v", f.tokenForms)
	}
}
