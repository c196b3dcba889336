package pcsim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokenEndpoint(t *testing.T) {
	sb := newSandbox(t, nil)
	with := func(grant string, change func(url.Values)) url.Values {
		f := tokenForm(grant)
		change(f)
		return f
	}
	v2 := func(grant string) url.Values {
		return with(grant, func(f url.Values) {
			f.Del("resource")
			f.Set("scope", "https://api.partnercenter.microsoft.com/.default")
		})
	}
	tests := []struct {
		name       string
		path       string
		form       url.Values
		basic      [2]string
		wantStatus int
		wantError  string
		wantCode   float64
	}{
		{"app only", "/common/oauth2/token", tokenForm("client_credentials"), [2]string{}, 200, "", 0},
		{"app+user", "/contoso.onmicrosoft.com/oauth2/token", tokenForm("refresh_token"), [2]string{}, 200, "", 0},
		{"v2 app only", "/common/oauth2/v2.0/token", v2("client_credentials"), [2]string{}, 200, "", 0},
		{"v2 app+user", "/common/oauth2/v2.0/token", v2("refresh_token"), [2]string{}, 200, "", 0},
		{"basic auth", "/common/oauth2/token",
			with("client_credentials", func(f url.Values) { f.Del("client_id"); f.Del("client_secret") }),
			[2]string{"sandbox-client", "sandbox-secret"}, 200, "", 0},
		{"wrong secret", "/common/oauth2/token",
			with("client_credentials", func(f url.Values) { f.Set("client_secret", "nope") }), [2]string{}, 401, "invalid_client", 7000215},
		{"wrong secret by basic auth", "/common/oauth2/token",
			with("client_credentials", func(f url.Values) { f.Del("client_id"); f.Del("client_secret") }),
			[2]string{"sandbox-client", "nope"}, 401, "invalid_client", 7000215},
		{"wrong client id", "/common/oauth2/token",
			with("client_credentials", func(f url.Values) { f.Set("client_id", "other") }), [2]string{}, 401, "invalid_client", 700016},
		{"wrong refresh token", "/common/oauth2/token",
			with("refresh_token", func(f url.Values) { f.Set("refresh_token", "stolen") }), [2]string{}, 401, "invalid_grant", 70000},
		{"unknown grant", "/common/oauth2/token", tokenForm("password"), [2]string{}, 401, "unsupported_grant_type", 70003},
		{"missing resource", "/common/oauth2/token",
			with("client_credentials", func(f url.Values) { f.Del("resource") }), [2]string{}, 400, "invalid_request", 900144},
		{"graph resource", "/common/oauth2/token",
			with("client_credentials", func(f url.Values) { f.Set("resource", "https://graph.windows.net") }), [2]string{}, 400, "invalid_resource", 500011},
		{"v2 without scope", "/common/oauth2/v2.0/token",
			with("client_credentials", func(f url.Values) { f.Del("resource") }), [2]string{}, 400, "invalid_request", 900144},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := sb.postForm(tc.path, tc.form, tc.basic[0], tc.basic[1])
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tc.wantStatus, body)
			}
			if tc.wantError == "" {
				if _, ok := body["expires_in"].(string); !ok {
					t.Errorf("expires_in = %#v, want a JSON string (AAD v1 quirk)", body["expires_in"])
				}
				if tok, _ := body["access_token"].(string); tok == "" || body["token_type"] != "Bearer" {
					t.Errorf("no bearer access token in %v", body)
				}
				_, hasRefresh := body["refresh_token"]
				if want := tc.form.Get("grant_type") == "refresh_token"; hasRefresh != want {
					t.Errorf("refresh_token present = %v, want %v", hasRefresh, want)
				}
				return
			}
			desc, _ := body["error_description"].(string)
			codes, _ := body["error_codes"].([]any)
			if body["error"] != tc.wantError || len(codes) != 1 || codes[0] != tc.wantCode {
				t.Errorf("error %v codes %v, want %s [%v]", body["error"], codes, tc.wantError, tc.wantCode)
			}
			if !strings.HasPrefix(desc, "AADSTS") || !strings.Contains(desc, "\r\nTrace ID: ") || body["trace_id"] == "" {
				t.Errorf("description %q is not AAD-shaped", desc)
			}
		})
	}
}

func TestRefreshTokensRotate(t *testing.T) {
	sb := newSandbox(t, nil)
	_, first := sb.postForm("/common/oauth2/token", tokenForm("refresh_token"), "", "")
	rotated := first["refresh_token"].(string)
	if rotated == "" || rotated == "sandbox-refresh-token" {
		t.Fatalf("refresh token not rotated: %q", rotated)
	}
	for _, rt := range []string{rotated, "sandbox-refresh-token", rotated} {
		f := tokenForm("refresh_token")
		f.Set("refresh_token", rt)
		if status, body := sb.postForm("/common/oauth2/token", f, "", ""); status != http.StatusOK {
			t.Fatalf("refresh with %q: %d %v", rt, status, body)
		}
	}
}

func TestV1NeedsValidBearer(t *testing.T) {
	clk := &clock{t: time.Now()}
	sb := newSandbox(t, func(o *Options) { o.Now = clk.Now })
	tok := sb.appToken()
	tests := []struct {
		name     string
		token    string
		advance  time.Duration
		wantCode float64
	}{
		{"no token", "", 0, codeTokenMissing},
		{"unknown token", "forged", 0, codeAccessDenied},
		{"expired token", tok, 61 * time.Minute, codeAccessDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk.Advance(tc.advance)
			a := sb.must(http.StatusUnauthorized, "GET", "/v1/customers", tc.token, nil, nil)
			if got := codeOf(t, a.body); got != tc.wantCode {
				t.Errorf("code %v, want %v", got, tc.wantCode)
			}
		})
	}
}

// TestAppUserOnlyOperations: the operations partner-center.md §4 lists as App+User-only refuse app-only
// tokens with 403 / 900329 and work with an App+User token.
func TestAppUserOnlyOperations(t *testing.T) {
	sb := newSandbox(t, nil)
	app, usr := sb.appToken(), sb.userToken()
	cid, sub, uid := "", subscriptionView{}, ""
	for _, c := range sb.customers(app) {
		if k, ok := kaizalaSub(sb.subscriptions(app, c.ID)); ok {
			cid, sub = c.ID, k
			break
		}
	}
	for _, u := range sb.users(usr, cid) {
		if len(sb.licenses(usr, cid, u.ID)) > 0 {
			uid = u.ID
			break
		}
	}
	held := sb.licenses(usr, cid, uid)[0]
	remove := map[string]any{"licensesToAssign": nil, "licensesToRemove": []string{held}}

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		want   int
	}{
		{"users", "GET", "/v1/customers/" + cid + "/users", nil, 200},
		{"user", "GET", "/v1/customers/" + cid + "/users/" + uid, nil, 200},
		{"user licences", "GET", "/v1/customers/" + cid + "/users/" + uid + "/licenses", nil, 200},
		{"subscribedskus", "GET", "/v1/customers/" + cid + "/subscribedskus", nil, 200},
		{"provisioning status", "GET", "/v1/customers/" + cid + "/subscriptions/" + sub.ID + "/provisioningstatus", nil, 200},
		{"licence update", "POST", "/v1/customers/" + cid + "/users/" + uid + "/licenseupdates", remove, 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			a := sb.must(http.StatusForbidden, tc.method, tc.path, app, tc.body, &e)
			if code := codeOf(t, a.body); code != codeAppOnly || e.Description != appOnlyRefused {
				t.Errorf("403 code %v %q, want %v %q (error-codes.md)", code, e.Description, codeAppOnly, appOnlyRefused)
			}
			sb.must(tc.want, tc.method, tc.path, usr, tc.body, nil)
		})
	}
	t.Run("app-only is enough for subscriptions", func(t *testing.T) {
		sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/subscriptions", app, nil, nil)
	})
}

// TestLatencyRespectsCancellation: the added latency ends as soon as the client gives up.
func TestLatencyRespectsCancellation(t *testing.T) {
	gone := make(chan string, 1)
	sb := newSandbox(t, func(o *Options) {
		o.Latency = 5 * time.Second
		o.Logf = func(format string, args ...any) {
			if strings.Contains(format, "client gone") {
				gone <- format
			}
		}
	})
	client := &http.Client{Timeout: 100 * time.Millisecond}
	if _, err := client.Get(sb.url + "/v1/customers"); err == nil {
		t.Fatal("request finished despite 5s latency and a 100ms client timeout")
	}
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
		t.Fatal("handler still sleeping 2s after the client gave up")
	}
}
