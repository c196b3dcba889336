package pcsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// sandbox is a Server behind a real loopback HTTP listener, driven with plain net/http.
type sandbox struct {
	t   *testing.T
	srv *Server
	url string
}

// newSandbox starts a 30-customer sandbox without rate limiting and with a short provisioning delay;
// tweak adjusts the options first.
func newSandbox(t *testing.T, tweak func(*Options)) *sandbox {
	t.Helper()
	opts := DefaultOptions()
	opts.Customers = 30
	opts.RateLimit = 0
	opts.ProvisioningDelay = 150 * time.Millisecond
	if tweak != nil {
		tweak(&opts)
	}
	srv := New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &sandbox{t: t, srv: srv, url: ts.URL}
}

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// postForm sends a token request and returns the status and decoded JSON body.
func (sb *sandbox) postForm(path string, form url.Values, basicUser, basicPass string) (int, map[string]any) {
	sb.t.Helper()
	req, err := http.NewRequest(http.MethodPost, sb.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		sb.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		sb.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		sb.t.Fatalf("token answer is not JSON: %v", err)
	}
	return resp.StatusCode, body
}

func tokenForm(grant string) url.Values {
	f := url.Values{
		"grant_type":    {grant},
		"resource":      {"https://api.partnercenter.microsoft.com"},
		"client_id":     {"sandbox-client"},
		"client_secret": {"sandbox-secret"},
	}
	if grant == "refresh_token" {
		f.Set("refresh_token", "sandbox-refresh-token")
	}
	return f
}

// appToken and userToken mint app-only and App+User access tokens.
func (sb *sandbox) appToken() string  { return sb.token("client_credentials") }
func (sb *sandbox) userToken() string { return sb.token("refresh_token") }

func (sb *sandbox) token(grant string) string {
	sb.t.Helper()
	status, body := sb.postForm("/common/oauth2/token", tokenForm(grant), "", "")
	if status != http.StatusOK {
		sb.t.Fatalf("token: status %d %v", status, body)
	}
	return body["access_token"].(string)
}

// answer is one HTTP exchange.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request; body may be nil, a string (sent as is) or a value to encode as JSON.
func (sb *sandbox) call(method, path, token string, body any, headers ...string) (answer, error) {
	sb.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			sb.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, sb.url+path, rd)
	if err != nil {
		sb.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: raw}, err
}

// must sends a request that has to be answered with want, and decodes the answer into into (when non-nil).
func (sb *sandbox) must(want int, method, path, token string, body, into any, headers ...string) answer {
	sb.t.Helper()
	a, err := sb.call(method, path, token, body, headers...)
	if err != nil {
		sb.t.Fatalf("%s %s: %v", method, path, err)
	}
	if a.status != want {
		sb.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, a.status, want, a.body)
	}
	if into != nil {
		if err := json.Unmarshal(a.body, into); err != nil {
			sb.t.Fatalf("%s %s: decode: %v; body %s", method, path, err, a.body)
		}
	}
	return a
}

// Minimal client-side views of the resources, decoded independently of the server's own types.

type page[T any] struct {
	TotalCount int `json:"totalCount"`
	Items      []T `json:"items"`
	Links      map[string]struct {
		URI     string `json:"uri"`
		Method  string `json:"method"`
		Headers []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"headers"`
	} `json:"links"`
	Attributes struct {
		ObjectType string `json:"objectType"`
	} `json:"attributes"`
}

type apiErr struct {
	Code        any      `json:"code"`
	Description string   `json:"description"`
	Data        []string `json:"data"`
	Source      string   `json:"source"`
}

type customerView struct {
	ID             string `json:"id"`
	CompanyProfile struct {
		Domain      string `json:"domain"`
		CompanyName string `json:"companyName"`
	} `json:"companyProfile"`
}

type subscriptionView struct {
	ID                string `json:"id"`
	OfferID           string `json:"offerId"`
	OfferName         string `json:"offerName"`
	Quantity          int    `json:"quantity"`
	Status            string `json:"status"`
	AutoRenewEnabled  bool   `json:"autoRenewEnabled"`
	CommitmentEndDate string `json:"commitmentEndDate"`
	Attributes        struct {
		Etag string `json:"etag"`
	} `json:"attributes"`
}

type poolView struct {
	AvailableUnits int `json:"availableUnits"`
	ConsumedUnits  int `json:"consumedUnits"`
	SuspendedUnits int `json:"suspendedUnits"`
	TotalUnits     int `json:"totalUnits"`
	ProductSku     struct {
		ID            string `json:"id"`
		SkuPartNumber string `json:"skuPartNumber"`
	} `json:"productSku"`
}

type userView struct {
	ID            string  `json:"id"`
	UsageLocation *string `json:"usageLocation"`
}

type licenseView struct {
	ProductSku struct {
		ID string `json:"id"`
	} `json:"productSku"`
}

const (
	e1SkuID      = "18181a46-0d4e-45cd-891e-60aabd171b4e"
	e1CatalogID  = "CFQ7TTC0LF8Q:0001:CFQ7TTC0K39X"
	kaizalaOffer = "E2B4C9A1-7F3D-4B6E-8A5C-2D1F0E9B8C7A"
)

func (sb *sandbox) customers(token string) []customerView {
	var p page[customerView]
	sb.must(http.StatusOK, "GET", "/v1/customers?size=500", token, nil, &p)
	return p.Items
}

func (sb *sandbox) subscriptions(token, cid string) []subscriptionView {
	var p page[subscriptionView]
	sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/subscriptions", token, nil, &p)
	return p.Items
}

func (sb *sandbox) pool(token, cid, skuID string) (poolView, bool) {
	var p page[poolView]
	sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/subscribedskus", token, nil, &p)
	for _, it := range p.Items {
		if strings.EqualFold(it.ProductSku.ID, skuID) {
			return it, true
		}
	}
	return poolView{}, false
}

func (sb *sandbox) users(token, cid string) []userView {
	var p page[userView]
	sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/users?size=500", token, nil, &p)
	return p.Items
}

func (sb *sandbox) licenses(token, cid, uid string) []string {
	var p page[licenseView]
	sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/users/"+uid+"/licenses", token, nil, &p)
	var ids []string
	for _, l := range p.Items {
		ids = append(ids, strings.ToLower(l.ProductSku.ID))
	}
	return ids
}

// kaizalaSub returns a customer's Kaizala Pro subscription, if any.
func kaizalaSub(subs []subscriptionView) (subscriptionView, bool) {
	for _, s := range subs {
		if strings.Contains(s.OfferName, "Kaizala Pro") {
			return s, true
		}
	}
	return subscriptionView{}, false
}

func codeOf(t *testing.T, body []byte) float64 {
	t.Helper()
	var e apiErr
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, body)
	}
	if e.Source != "PartnerFD" || e.Description == "" || e.Data == nil {
		t.Fatalf("error body lacks the documented fields: %s", body)
	}
	code, ok := e.Code.(float64)
	if !ok {
		t.Fatalf("error code %v is not a number: %s", e.Code, body)
	}
	return code
}
