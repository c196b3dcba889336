package pcclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Resource is the Partner Center audience for v1 token requests. A token
// minted without it is for another audience and gets 401s (reference §4).
const Resource = "https://api.partnercenter.microsoft.com"

// Scope is the Partner Center scope for v2.0 token requests.
const Scope = "https://api.partnercenter.microsoft.com/.default"

// TokenURL returns the v1 token endpoint of an Entra ID tenant.
func TokenURL(tenant string) string {
	return "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/token"
}

// TokenConfig describes how to get Partner Center access tokens.
//
// With RefreshToken set the tokens are App+User (the Secure Application
// Model), which users, licences and subscribed SKUs require; without it they
// are app-only (client credentials).
type TokenConfig struct {
	// TokenURL is …/{tenant}/oauth2/token (v1, sends resource=) or
	// …/{tenant}/oauth2/v2.0/token (v2, sends scope=).
	TokenURL     string
	ClientID     string
	ClientSecret string
	RefreshToken string
	// FallbackRefreshToken is tried when Entra ID refuses RefreshToken: a
	// rotated token kept from an earlier run may be revoked, or unknown to a
	// restarted sandbox, while the configured one still works.
	FallbackRefreshToken string
	// OnRefreshTokenRotated receives each new refresh token Entra ID hands
	// out, so the 90-day chain survives restarts. Store it; don't log it.
	OnRefreshTokenRotated func(refreshToken string)
	HTTPClient            *http.Client // default: 30s timeout
}

// IsV2 reports whether TokenURL is a v2.0 endpoint.
func (tc TokenConfig) IsV2() bool { return strings.Contains(tc.TokenURL, "/oauth2/v2.0/token") }

// AppUser reports whether the tokens will carry a user (App+User).
func (tc TokenConfig) AppUser() bool { return tc.RefreshToken != "" }

// TokenSource returns a source of access tokens for the Client. It fetches
// lazily; the Client caches the tokens until shortly before they expire.
func (tc TokenConfig) TokenSource() oauth2.TokenSource {
	hc := tc.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &tokenFetcher{cfg: tc, refresh: tc.RefreshToken, ctx: context.WithValue(context.Background(), oauth2.HTTPClient, hc)}
}

type tokenFetcher struct {
	cfg     TokenConfig
	ctx     context.Context
	mu      sync.Mutex
	refresh string
}

// Token asks the token endpoint for a new access token. The exchange itself
// is golang.org/x/oauth2's (it also copes with expires_in sent as a string);
// the refresh_token grant goes through clientcredentials because it is the
// one place x/oauth2 lets a caller add Entra ID's resource parameter.
func (f *tokenFetcher) Token() (*oauth2.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cc := clientcredentials.Config{
		ClientID:       f.cfg.ClientID,
		ClientSecret:   f.cfg.ClientSecret,
		TokenURL:       f.cfg.TokenURL,
		AuthStyle:      oauth2.AuthStyleInParams,
		EndpointParams: url.Values{},
	}
	if f.cfg.IsV2() {
		cc.Scopes = []string{Scope}
	} else {
		cc.EndpointParams.Set("resource", Resource)
	}
	if f.refresh != "" {
		cc.EndpointParams.Set("grant_type", "refresh_token")
		cc.EndpointParams.Set("refresh_token", f.refresh)
	}
	tok, err := cc.Token(f.ctx)
	var re *oauth2.RetrieveError
	if fb := f.cfg.FallbackRefreshToken; err != nil && fb != "" && f.refresh != fb && errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		f.refresh = fb
		cc.EndpointParams.Set("refresh_token", fb)
		tok, err = cc.Token(f.ctx)
	}
	if err != nil {
		return nil, err
	}
	if f.refresh != "" && tok.RefreshToken != "" && tok.RefreshToken != f.refresh {
		f.refresh = tok.RefreshToken
		if f.cfg.OnRefreshTokenRotated != nil {
			f.cfg.OnRefreshTokenRotated(tok.RefreshToken)
		}
	}
	return tok, nil
}

// tokenCache hands out a valid token, fetching a new one when it is about to
// expire or after the service rejected it.
type tokenCache struct {
	mu  sync.Mutex
	src oauth2.TokenSource
	tok *oauth2.Token
}

func (t *tokenCache) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok.Valid() {
		return t.tok, nil
	}
	tok, err := t.src.Token()
	if err != nil {
		return nil, err
	}
	t.tok = tok
	return tok, nil
}

func (t *tokenCache) invalidate(accessToken string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.AccessToken == accessToken {
		t.tok = nil
	}
}

// tokenError turns a token failure into an *AuthError without the response
// body verbatim: the body is Entra ID's, but errors reach logs and Slack.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		ae := &AuthError{ErrorCode: re.ErrorCode, Description: firstLine(re.ErrorDescription), Err: errors.New("token request refused")}
		if ae.ErrorCode == "" {
			// x/oauth2 reads the error fields only when the answer says it
			// is JSON; proxies and older endpoints don't always say so.
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(re.Body, &body) == nil {
				ae.ErrorCode, ae.Description = body.Error, firstLine(body.Description)
			}
		}
		if re.Response != nil {
			ae.StatusCode = re.Response.StatusCode
		}
		ae.Temporary = ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode >= 500
		return ae
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// The token endpoint was not reached.
		return &AuthError{Temporary: true, Err: scrubURLError(err)}
	}
	// An answer that is not a token (no access_token, not JSON): retrying
	// the same request gets the same answer.
	return &AuthError{Err: err}
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return truncate(strings.TrimSpace(s), 300)
}
