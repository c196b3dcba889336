package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/pcsim"
)

// quirkyPC answers with the documented shapes and the quirks that break
// naive clients: expires_in as a string, a next link that already starts
// with /v1 and needs its MS-ContinuationToken, upper-case IDs, a status value
// added later, a 429 with Retry-After, and a 403 with a numeric code.
type quirkyPC struct {
	*httptest.Server
	throttledOnce  atomic.Bool
	mu             sync.Mutex
	calls          int
	noCorrelation  []string
	subsRequested  map[string]int
	skusRequested  map[string]int
	continuationOK bool
	gammaReadable  atomic.Bool // else Gamma's subscriptions answer 900309
}

func newQuirkyPC(t *testing.T) *quirkyPC {
	q := &quirkyPC{subsRequested: map[string]int{}, skusRequested: map[string]int{}}
	day := func(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format("2006-01-02") }
	sub := func(id, offer, status string, renew bool, end string) string {
		return fmt.Sprintf(`{"id":%q,"offerId":"X","offerName":%q,"friendlyName":"whatever","quantity":25,"status":%q,"autoRenewEnabled":%v,
			"commitmentEndDate":"%sT00:00:00Z","billingCycle":"annual","futureField":[1],"attributes":{"etag":"e","objectType":"Subscription"}}`,
			id, offer, status, renew, end)
	}
	subscriptions := map[string]string{
		"aaaa": strings.Join([]string{
			sub("KAIZALA-A-10", "Kaizala Pro", "active", false, day(10)),
			sub("KAIZALA-A-RENEWS", "Kaizala Pro", "active", true, day(5)),
			sub("KAIZALA-A-SUSPENDED", "Kaizala Pro", "suspended", false, day(5)),
			sub("KAIZALA-A-DISABLED", "Kaizala Pro", "disabled", false, day(5)),
			sub("KAIZALA-A-LATER", "Kaizala Pro", "active", false, day(200)),
			sub("KAIZALA-A-NEVER", "Kaizala Pro", "active", false, "9999-12-10"),
			sub("E3-A", "Office 365 E3", "active", false, day(4)),
		}, ","),
		// Only commitmentEndDateTime, as newer answers may carry.
		"bbbb": fmt.Sprintf(`{"id":"KAIZALA-B-3","offerName":"Kaizala Pro","quantity":7,"status":"Active","autoRenewEnabled":false,"commitmentEndDateTime":"%sT23:59:59Z"}`, day(3)),
		"dddd": sub("KAIZALA-D-PAST", "Kaizala Pro", "active", false, day(-2)),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /partner/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = r.ParseForm()
		if r.PostForm.Get("client_secret") != "quirky-secret" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
			return
		}
		fmt.Fprint(w, `{"token_type":"Bearer","expires_in":"3599","access_token":"quirky-access","refresh_token":"quirky-refresh-2"}`)
	})
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		q.mu.Lock()
		q.calls++
		if r.Header.Get("MS-CorrelationId") == "" {
			q.noCorrelation = append(q.noCorrelation, r.URL.Path)
		}
		q.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer quirky-access" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		switch {
		case r.URL.Path == "/v1/customers" && r.URL.Query().Get("seekOperation") == "":
			fmt.Fprint(w, `{"totalCount":3,"items":[
				{"id":"AAAA","companyProfile":{"domain":"alpha.onmicrosoft.com","companyName":"Alpha Ltd"}},
				{"id":"BBBB","companyProfile":{"domain":"beta.onmicrosoft.com","companyName":"Beta GmbH"}},
				{"id":"CCCC","companyProfile":{"domain":"gamma.onmicrosoft.com","companyName":"Gamma Inc"}}],
				"links":{"next":{"uri":"/v1/customers?size=500&seekOperation=Next","method":"GET","headers":[{"key":"MS-ContinuationToken","value":"page-2-token"}]}},
				"attributes":{"objectType":"Collection"}}`)
		case r.URL.Path == "/v1/customers":
			if r.Header.Get("MS-ContinuationToken") != "page-2-token" {
				w.WriteHeader(400)
				fmt.Fprint(w, `{"code":"400","description":"continuation token missing"}`)
				return
			}
			q.mu.Lock()
			q.continuationOK = true
			q.mu.Unlock()
			fmt.Fprint(w, `{"totalCount":1,"items":[{"id":"DDDD","companyProfile":{"domain":"delta.onmicrosoft.com","companyName":"Delta SA"}}],"attributes":{"objectType":"Collection"}}`)
		case len(parts) == 4 && parts[3] == "subscriptions":
			id := strings.ToLower(parts[2])
			q.mu.Lock()
			q.subsRequested[id]++
			q.mu.Unlock()
			switch {
			case id == "cccc" && !q.gammaReadable.Load():
				w.WriteHeader(403)
				fmt.Fprint(w, `{"code":900309,"description":"Access has been blocked by Conditional Access policies.","data":[],"source":"PartnerFD"}`)
			case id == "bbbb" && !q.throttledOnce.Swap(true):
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(429)
				fmt.Fprint(w, `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 1 seconds."}`)
			default:
				fmt.Fprintf(w, `{"totalCount":1,"items":[%s],"attributes":{"objectType":"Collection"}}`, subscriptions[id])
			}
		case len(parts) == 4 && parts[3] == "subscribedskus":
			// Subscriptions stay readable when the GDAP relationship lacks
			// a role: Beta's licences are refused, the others' are not.
			id := strings.ToLower(parts[2])
			q.mu.Lock()
			q.skusRequested[id]++
			q.mu.Unlock()
			if id == "bbbb" {
				w.WriteHeader(403)
				fmt.Fprint(w, `{"code":900308,"description":"Insufficient privileges to complete the operation.","data":[],"source":"PartnerFD"}`)
				return
			}
			fmt.Fprint(w, `{"totalCount":0,"items":[],"attributes":{"objectType":"Collection"}}`)
		default:
			w.WriteHeader(404)
			fmt.Fprint(w, `{"code":"404","description":"not found"}`)
		}
	})
	q.Server = httptest.NewServer(mux)
	t.Cleanup(q.Close)
	return q
}

func setPCEnv(t *testing.T, base, secret string) {
	t.Setenv("PC_API_URL", base)
	t.Setenv("PC_TOKEN_URL", base+"/partner/oauth2/token")
	t.Setenv("PC_TENANT_ID", "partner")
	t.Setenv("PC_CLIENT_ID", "quirky-client")
	t.Setenv("PC_CLIENT_SECRET", secret)
	t.Setenv("PC_REFRESH_TOKEN", "quirky-refresh")
	t.Setenv("PC_RATE_LIMIT", "6000")
}

func TestScanJSONAgainstADocumentedQuirkyServer(t *testing.T) {
	q := newQuirkyPC(t)
	setPCEnv(t, q.URL, "quirky-secret")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"scan", "--format", "json"}, &stdout, &stderr)

	if code != exitPartial {
		t.Errorf("exit = %d, want %d (a customer could not be read); stderr:\n%s", code, exitPartial, stderr.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		t.Fatalf("stdout is not one JSON array: %v\n%s", err, stdout.String())
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s/%v", r["subscriptionId"], r["daysLeft"]))
	}
	want := []string{"KAIZALA-D-PAST/-2", "KAIZALA-B-3/3", "KAIZALA-A-10/10"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("listed %v, want exactly %v sorted by daysLeft", got, want)
	}
	wantKeys := []string{"customerId", "customerDomain", "customerName", "subscriptionId", "offerName", "quantity", "commitmentEndDate", "daysLeft", "autoRenewEnabled", "status"}
	for _, r := range rows {
		if len(r) != len(wantKeys) {
			t.Errorf("row has keys %v, want exactly %v", r, wantKeys)
		}
		for _, k := range wantKeys {
			if _, ok := r[k]; !ok {
				t.Errorf("row lacks %q: %v", k, r)
			}
		}
	}
	if len(rows) == 3 {
		b := rows[1]
		if b["customerDomain"] != "beta.onmicrosoft.com" || b["customerName"] != "Beta GmbH" || b["quantity"] != float64(7) ||
			b["autoRenewEnabled"] != false || b["commitmentEndDate"] != time.Now().UTC().AddDate(0, 0, 3).Format("2006-01-02") {
			t.Errorf("row = %v", b)
		}
	}
	if q.subsRequested["bbbb"] != 2 {
		t.Errorf("the throttled customer was asked %d times, want 2 (429 then retry)", q.subsRequested["bbbb"])
	}
	if !q.continuationOK {
		t.Error("the second page was never requested with its MS-ContinuationToken")
	}
	if len(q.noCorrelation) > 0 {
		t.Errorf("calls without MS-CorrelationId: %v", q.noCorrelation)
	}
	errText := stderr.String()
	if !strings.Contains(errText, "gamma.onmicrosoft.com") || !strings.Contains(errText, "900309") || !strings.Contains(errText, "403") {
		t.Errorf("stderr should name the 403 customer and why:\n%s", errText)
	}
	for _, secret := range []string{"quirky-secret", "quirky-refresh", "quirky-access"} {
		if strings.Contains(errText+stdout.String(), secret) {
			t.Errorf("output leaks %q", secret)
		}
	}
	// Beta's licences were refused: one line naming it, the code and the
	// role to grant.
	var betaLines []string
	for _, line := range strings.Split(errText, "\n") {
		if strings.Contains(line, "Beta GmbH") {
			betaLines = append(betaLines, line)
		}
	}
	if len(betaLines) != 1 || !strings.Contains(betaLines[0], "900308") || !strings.Contains(betaLines[0], "grant the License Administrator GDAP role for Beta GmbH") {
		t.Errorf("stderr should name Beta once with the role to grant, got %q:\n%s", betaLines, errText)
	}
	if strings.Contains(errText, "could not read customer alpha") || strings.Contains(errText, "could not read customer delta") {
		t.Errorf("customers whose licences were read are reported:\n%s", errText)
	}
	// Only customers with an active Kaizala Pro subscription are probed, once.
	if want := map[string]int{"aaaa": 1, "bbbb": 1, "dddd": 1}; fmt.Sprint(q.skusRequested) != fmt.Sprint(want) {
		t.Errorf("licences read for %v, want %v", q.skusRequested, want)
	}
}

func TestScanExitsPartialWhenOnlyAccessIsRefused(t *testing.T) {
	q := newQuirkyPC(t)
	q.gammaReadable.Store(true)
	setPCEnv(t, q.URL, "quirky-secret")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"scan"}, &stdout, &stderr)
	if code != exitPartial {
		t.Errorf("exit = %d, want %d (Beta refused access to its licences); stderr:\n%s", code, exitPartial, stderr.String())
	}
	if !strings.Contains(stderr.String(), "1 refused access to their licences") || strings.Contains(stderr.String(), "could not be read") {
		t.Errorf("stderr's summary:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "KAIZALA-B-3") {
		t.Errorf("Beta's subscription is still listed on stdout:\n%s", stdout.String())
	}
}

func TestScanTableAndCSV(t *testing.T) {
	q := newQuirkyPC(t)
	setPCEnv(t, q.URL, "quirky-secret")
	for format, want := range map[string]string{
		"table": "DAYS LEFT",
		"csv":   "customerId,customerDomain,customerName,subscriptionId,offerName,quantity,commitmentEndDate,daysLeft,autoRenewEnabled,status",
	} {
		var stdout, stderr bytes.Buffer
		run(context.Background(), []string{"scan", "--format", format, "--within", "30"}, &stdout, &stderr)
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		if !strings.HasPrefix(lines[0], want) || len(lines) != 4 || !strings.Contains(lines[1], "KAIZALA-D-PAST") {
			t.Errorf("%s output:\n%s", format, stdout.String())
		}
	}
}

func TestScanConfigurationMistakesNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"nothing set", map[string]string{}, nil, []string{"PC_TENANT_ID is not set", "PC_CLIENT_ID is not set", "PC_CLIENT_SECRET is not set"}},
		{"bad rate", map[string]string{"PC_TENANT_ID": "t", "PC_CLIENT_ID": "c", "PC_CLIENT_SECRET": "s", "PC_RATE_LIMIT": "fast"}, nil, []string{`PC_RATE_LIMIT="fast"`}},
		{"bad url", map[string]string{"PC_TENANT_ID": "t", "PC_CLIENT_ID": "c", "PC_CLIENT_SECRET": "s", "PC_API_URL": "ftp://x"}, nil, []string{"PC_API_URL"}},
		{"missing secret file", map[string]string{"PC_TENANT_ID": "t", "PC_CLIENT_ID": "c", "PC_CLIENT_SECRET_FILE": "/nonexistent/secret"}, nil, []string{"PC_CLIENT_SECRET_FILE", "no such file"}},
		{"both secret forms", map[string]string{"PC_TENANT_ID": "t", "PC_CLIENT_ID": "c", "PC_CLIENT_SECRET": "s", "PC_CLIENT_SECRET_FILE": "/x"}, nil, []string{"set only one"}},
		{"bad format", map[string]string{"PC_TENANT_ID": "t", "PC_CLIENT_ID": "c", "PC_CLIENT_SECRET": "s"}, []string{"--format", "xml"}, []string{`--format "xml"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"PC_API_URL", "PC_TOKEN_URL", "PC_TENANT_ID", "PC_CLIENT_ID", "PC_CLIENT_SECRET", "PC_CLIENT_SECRET_FILE", "PC_REFRESH_TOKEN", "PC_REFRESH_TOKEN_FILE", "PC_RATE_LIMIT"} {
				t.Setenv(k, tc.env[k])
			}
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append([]string{"scan"}, tc.args...), &stdout, &stderr); code != exitConfig {
				t.Errorf("exit = %d, want %d", code, exitConfig)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

func TestScanWithRefusedCredentialsFails(t *testing.T) {
	q := newQuirkyPC(t)
	setPCEnv(t, q.URL, "wrong-secret")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"scan"}, &stdout, &stderr); code != exitFailed {
		t.Errorf("exit = %d, want %d", code, exitFailed)
	}
	if !strings.Contains(stderr.String(), "invalid_client") || !strings.Contains(stderr.String(), "PC_CLIENT_SECRET") || strings.Contains(stderr.String(), "wrong-secret") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

func TestHelpListsTheCommands(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{arg}, &stdout, &stderr); code != exitOK {
			t.Errorf("%s: exit %d", arg, code)
		}
		for _, cmd := range []string{"scan", "pcsim"} {
			if !strings.Contains(stdout.String(), cmd) {
				t.Errorf("%s: help lacks %q", arg, cmd)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, &stdout, &stderr); code != exitConfig || !strings.Contains(stderr.String(), "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", code, stderr.String())
	}
}

// Acceptance 5 of the new-commerce issue: `kaizalabot scan` against the
// sandbox with --gdap-missing 2 names both customers and the role to grant
// (and the Conditional Access one with its fix), and exits 3.
func TestScanAgainstTheSandboxNamesTheCustomersRefusedAccess(t *testing.T) {
	opts := pcsim.DefaultOptions()
	opts.RateLimit, opts.GDAPMissing = 0, 2
	sim := pcsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	setPCEnv(t, srv.URL, opts.ClientSecret)
	t.Setenv("PC_CLIENT_ID", opts.ClientID)
	t.Setenv("PC_REFRESH_TOKEN", opts.RefreshToken)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"scan"}, &stdout, &stderr); code != exitPartial {
		t.Errorf("exit = %d, want %d; stderr:\n%s", code, exitPartial, stderr.String())
	}
	denied := sim.DeniedCustomers()
	if len(denied) != 3 {
		t.Fatalf("the sandbox denies %d customers, want 2 without a GDAP role and 1 behind Conditional Access", len(denied))
	}
	lines := strings.Split(stderr.String(), "\n")
	for _, d := range denied {
		want := map[string]string{"900308": "GDAP role", "900309": "Conditional Access"}[d.Code]
		found := false
		for _, l := range lines {
			found = found || (strings.Contains(l, d.CompanyName) && strings.Contains(l, d.Code) && strings.Contains(l, want))
		}
		if !found {
			t.Errorf("stderr does not name %s (%s) with %q:\n%s", d.CompanyName, d.Code, want, stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "License Administrator") {
		t.Errorf("stderr does not name the role to grant:\n%s", stderr.String())
	}
}
