package pcsim

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The AAD look-alike: POST /{tenant}/oauth2/token (v1, resource=) and /{tenant}/oauth2/v2.0/token (v2, scope=),
// answering like AAD v1 including its quirk of sending expires_in as a string (partner-center.md §4).

const (
	partnerCenterResource = "https://api.partnercenter.microsoft.com"
	tokenLifetime         = time.Hour
	maxRememberedTokens   = 4096 // above this, expired access tokens are forgotten when a new one is issued
)

type tokenKind int

const (
	appOnly tokenKind = iota + 1 // client_credentials
	appUser                      // refresh_token grant: Secure Application Model
)

type accessGrant struct {
	kind    tokenKind
	expires time.Time
}

// tokenStore remembers issued access tokens and rotated refresh tokens; rotated refresh tokens stay valid.
type tokenStore struct {
	mu      sync.Mutex
	access  map[string]accessGrant
	refresh map[string]bool
}

func newTokenStore() *tokenStore {
	return &tokenStore{access: map[string]accessGrant{}, refresh: map[string]bool{}}
}

// aadVersion tells a token path apart: 1 for /{tenant}/oauth2/token, 2 for /{tenant}/oauth2/v2.0/token, else 0.
func aadVersion(path string) int {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(segs) == 3 && segs[1] == "oauth2" && segs[2] == "token":
		return 1
	case len(segs) == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "token":
		return 2
	}
	return 0
}

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

func (s *Server) issueToken(r *http.Request, version int) reply {
	if r.Method != http.MethodPost {
		return s.aadError(http.StatusMethodNotAllowed, "invalid_request", 900561,
			"The endpoint only accepts POST requests. Received a "+r.Method+" request.")
	}
	if err := r.ParseForm(); err != nil {
		return s.aadError(http.StatusBadRequest, "invalid_request", 900144, "The request body must be form-encoded: "+err.Error())
	}
	form := r.PostForm
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok { // RFC 6749 §2.3.1: form-urlencoded inside Basic, as golang.org/x/oauth2 sends it
		clientID, secret = formUnescape(u), formUnescape(p)
	}
	grant := form.Get("grant_type")

	if grant != "client_credentials" && grant != "refresh_token" {
		return s.aadError(http.StatusUnauthorized, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", grant))
	}
	scope := "user_impersonation"
	if version == 1 {
		res := form.Get("resource")
		if res == "" {
			return s.aadError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'resource'.")
		}
		if strings.TrimSuffix(res, "/") != partnerCenterResource {
			return s.aadError(http.StatusBadRequest, "invalid_resource", 500011, "The resource principal named "+res+" was not found in the tenant.")
		}
	} else {
		scope = form.Get("scope")
		if scope == "" {
			return s.aadError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		}
		if !hasPartnerCenterScope(scope) {
			return s.aadError(http.StatusBadRequest, "invalid_resource", 500011, "The resource principal named in scope '"+scope+"' was not found in the tenant.")
		}
	}
	if clientID == "" {
		return s.aadError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	if !same(clientID, s.opts.ClientID) {
		return s.aadError(http.StatusUnauthorized, "invalid_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory.", clientID))
	}
	if !same(secret, s.opts.ClientSecret) {
		return s.aadError(http.StatusUnauthorized, "invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+clientID+"'.")
	}

	now := s.opts.Now() // AAD's clock, not sandbox time: AdvanceClock does not expire tokens (clock.go)
	kind := appOnly
	var rotated string
	if grant == "refresh_token" {
		rt := form.Get("refresh_token")
		if rt == "" {
			return s.aadError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
		}
		if !s.tokens.refreshValid(rt, s.opts.RefreshToken) {
			return s.aadError(http.StatusUnauthorized, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
		}
		kind, rotated = appUser, s.tokens.rotate()
	}
	access := s.tokens.issue(kind, now)
	lifetime := strconv.Itoa(int(tokenLifetime.Seconds()))
	return jsonReply(http.StatusOK, tokenResponse{
		TokenType:    "Bearer",
		Scope:        scope,
		ExpiresIn:    lifetime,
		ExtExpiresIn: lifetime,
		ExpiresOn:    strconv.FormatInt(now.Add(tokenLifetime).Unix(), 10),
		NotBefore:    strconv.FormatInt(now.Unix(), 10),
		Resource:     partnerCenterResource,
		AccessToken:  access,
		RefreshToken: rotated,
	})
}

func hasPartnerCenterScope(scope string) bool {
	for _, sc := range strings.Fields(scope) {
		if strings.HasPrefix(sc, partnerCenterResource+"/") {
			return true
		}
	}
	return false
}

func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (t *tokenStore) issue(kind tokenKind, now time.Time) string {
	tok := rand.Text()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.access) >= maxRememberedTokens {
		for k, g := range t.access {
			if !now.Before(g.expires) {
				delete(t.access, k)
			}
		}
	}
	t.access[tok] = accessGrant{kind: kind, expires: now.Add(tokenLifetime)}
	return tok
}

func (t *tokenStore) rotate() string {
	tok := rand.Text() + rand.Text()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refresh[tok] = true
	return tok
}

func (t *tokenStore) refreshValid(tok, configured string) bool {
	if same(tok, configured) {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.refresh[tok]
}

func (t *tokenStore) lookup(tok string, now time.Time) (accessGrant, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.access[tok]
	return g, ok && now.Before(g.expires)
}

// codeAppOnly refuses an app-only token on an App+User API: 403 / 900329 "This resource does not support
// application-only authentication." ([PC-2023] developer/error-codes.md). 400 / 900316 "Partner token is not
// allowed in license management calls" is another case: the legacy partner token of /generatetoken, from which
// "we can't generate the MS Graph exchange token" ([PC-2023] gdap-bulk-migration-tool-faq.md,
// developer/assign-licenses-to-a-user.md); the sandbox issues no such token, so it never answers 900316.
const (
	codeAppOnly    = 900329
	appOnlyRefused = "This resource does not support application-only authentication."
)

// authorize checks the bearer token of a /v1 request; needUser demands an App+User token and, for a call into
// a customer's tenant, access to that tenant (access.go).
func (s *Server) authorize(r *http.Request, needUser bool) (reply, bool) {
	s.applyAccess()
	h := r.Header.Get("Authorization")
	if h == "" {
		rep := errorReply(http.StatusUnauthorized, codeTokenMissing, "Partner Token missing in request context.")
		rep.header = http.Header{"Www-Authenticate": {"Bearer"}}
		return rep, false
	}
	scheme, tok, _ := strings.Cut(h, " ")
	g, ok := s.tokens.lookup(strings.TrimSpace(tok), s.opts.Now()) // AAD's clock (clock.go)
	if !strings.EqualFold(scheme, "Bearer") || !ok {
		rep := errorReply(http.StatusUnauthorized, codeAccessDenied, "Access denied: the bearer token is invalid or has expired.")
		rep.header = http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}
		return rep, false
	}
	if !needUser {
		return reply{}, true
	}
	if g.kind != appUser {
		return errorReply(http.StatusForbidden, codeAppOnly, appOnlyRefused), false
	}
	return s.tenantAccess(r.URL.Path)
}

// aadError is AAD's error body, with the trace/correlation/timestamp trailer AAD appends to the description.
func (s *Server) aadError(status int, kind string, code int, message string) reply {
	trace, corr := newGUID(), newGUID()
	ts := s.now().UTC().Format("2006-01-02 15:04:05Z")
	return jsonReply(status, struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorCodes       []int  `json:"error_codes"`
		Timestamp        string `json:"timestamp"`
		TraceID          string `json:"trace_id"`
		CorrelationID    string `json:"correlation_id"`
		ErrorURI         string `json:"error_uri"`
	}{
		Error:            kind,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", code, message, trace, corr, ts),
		ErrorCodes:       []int{code},
		Timestamp:        ts,
		TraceID:          trace,
		CorrelationID:    corr,
		ErrorURI:         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", code),
	})
}
