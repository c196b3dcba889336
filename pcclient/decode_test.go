package pcclient

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestErrorBodiesDecode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		code     string
		text     string
		dataText string
	}{
		{"documented shape, numeric code (licenseupdates 60012 sample)", 400, readSample(t, "licenseupdates.error-60012.json"), "60012",
			"We are sorry, it looks like you have run out of licenses. Buy more licenses, and then try again.",
			"LicenseQuotaExceededException : Subscription with Account 0c39d6d5-c70d-4c55-bc02-f620844f3fd1 and SKU f8a1db68-be16-40ed-86d5-cb42ce701560 does not have any available licenses left."},
		{"documented shape, string code", 404, `{"code":"20003","description":"Subscription with ID x not found","data":[],"source":"PartnerFD"}`, "20003", "Subscription with ID x not found", ""},
		{"throttling body", 429, `{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 57 seconds." }`, "", "Rate limit is exceeded. Try again in 57 seconds.", ""},
		{"newer shape", 400, `{"code": 600061, "message": "Agreement exists", "description": "already accepted", "errorName": "PartnerConfirmedAgreementAlreadyExists", "isRetryable": false, "parameters": {}}`, "600061", "already accepted", ""},
		{"not JSON", 502, `<html>Bad gateway</html>`, "", "<html>Bad gateway</html>", ""},
		{"empty", 500, ``, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{"Retry-After": {"57"}}}
			e := newAPIError(resp, []byte(tc.body), "POST", "/v1/x", "rid", "cid", time.Now())
			if string(e.Code) != tc.code || e.Text() != tc.text {
				t.Errorf("code %q text %q, want %q %q", e.Code, e.Text(), tc.code, tc.text)
			}
			if got := strings.Join(e.DataText(), "|"); got != tc.dataText {
				t.Errorf("data = %q, want %q", got, tc.dataText)
			}
			if e.RetryAfter != 57*time.Second {
				t.Errorf("RetryAfter = %v", e.RetryAfter)
			}
			if !strings.Contains(e.Error(), "POST /v1/x") {
				t.Errorf("Error() = %q should say which call failed", e.Error())
			}
		})
	}
}

func TestRetryAfterForms(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"57": 57 * time.Second, "0": 0, "": 0, "-3": 0, "soon": 0, "1.5": 0,
		"Tue, 24 Nov 2026 10:00:30 GMT": 30 * time.Second,
		"Tue, 24 Nov 2026 09:59:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestTolerantSubscriptionDecoding(t *testing.T) {
	body := `{
		"id": "4A1B2C3D-0000-4000-8000-00000000ABCD",
		"offerName": "Kaizala Pro",
		"quantity": 12,
		"status": "disabled",
		"autoRenewEnabled": false,
		"commitmentEndDate": "2026-12-01T00:00:00Z",
		"commitmentEndDateTime": "2026-12-01T23:59:59Z",
		"creationDate": "2015-11-25T06: 41: 12Z",
		"effectiveStartDate": "2025-12-02T00:00:00.1234567-08:00",
		"brandNewField": {"nested": [1, 2, 3]},
		"productType": {"id": "OnlineServicesNCE"},
		"attributes": {"etag": "e1", "objectType": "Subscription"}
	}`
	var s Subscription
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("decode must tolerate unknown values and fields: %v", err)
	}
	if s.Status != "disabled" || s.Status.Is(StatusActive) {
		t.Errorf("status = %q", s.Status)
	}
	end, ok := s.EndDate()
	if !ok || !end.Equal(time.Date(2026, 12, 1, 23, 59, 59, 0, time.UTC)) {
		t.Errorf("EndDate = %v %v; commitmentEndDateTime takes precedence", end, ok)
	}
	if s.CreationDate.IsZero() || s.CreationDate.Day() != 25 || s.CreationDate.Minute() != 41 {
		t.Errorf("the doc's \"06: 41: 12\" typo should still parse, got %v (raw %q)", s.CreationDate.Time, s.CreationDate.Raw)
	}
	if s.EffectiveStartDate.Hour() != 8 {
		t.Errorf("offsets must be honoured: %v", s.EffectiveStartDate.Time)
	}
	if !SameID(s.ID, "4a1b2c3d-0000-4000-8000-00000000abcd") {
		t.Error("IDs must compare case-insensitively")
	}
	for _, tc := range []struct {
		json string
		ok   bool
	}{
		{`{"commitmentEndDate":"9999-12-10T00:00:00Z"}`, false},
		{`{"commitmentEndDate":"2027-03-13T00:00:00Z"}`, true},
		{`{"commitmentEndDate":"not a date"}`, false},
		{`{}`, false},
	} {
		var s Subscription
		if err := json.Unmarshal([]byte(tc.json), &s); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.EndDate(); ok != tc.ok {
			t.Errorf("%s: EndDate ok = %v, want %v", tc.json, ok, tc.ok)
		}
	}
}

func TestCodeDecodesStringsAndNumbers(t *testing.T) {
	for in, want := range map[string]string{`60012`: "60012", `"800060"`: "800060", `"InvalidInput"`: "InvalidInput", `null`: "", `1e3`: "1e3", `{"x":1}`: `{"x":1}`} {
		var c Code
		if err := json.Unmarshal([]byte(in), &c); err != nil || string(c) != want {
			t.Errorf("Code(%s) = %q, %v; want %q", in, c, err, want)
		}
	}
}

// The verbatim documented payloads in ../shared/reference/pc-samples must
// decode into the client's types with the values they hold.
func TestReferenceSamplesDecode(t *testing.T) {
	t.Run("customers", func(t *testing.T) {
		var c Collection[Customer]
		mustDecode(t, "customers-list.json", &c)
		if len(c.Items) != 2 || c.Items[0].ID != "b44bb1fb-c595-45b0-9e09-d657365580bf" || c.Items[0].RelationshipToPartner != "reseller" || c.Links.Next != nil {
			t.Errorf("%+v", c)
		}
	})
	t.Run("subscriptions", func(t *testing.T) {
		var c Collection[Subscription]
		mustDecode(t, "customer-subscriptions-list.json", &c)
		s := c.Items[0]
		if s.OfferName != "Intune Device" || s.Quantity != 5 || !s.AutoRenewEnabled || !s.Status.Is(StatusActive) || s.Attributes.Etag == "" {
			t.Errorf("%+v", s)
		}
		if end, ok := s.EndDate(); !ok || end.Format("2006-01-02") != "2018-05-07" {
			t.Errorf("end = %v", end)
		}
	})
	t.Run("subscription", func(t *testing.T) {
		var s Subscription
		mustDecode(t, "subscription-get.json", &s)
		if s.ParentSubscriptionID != "1C2B75C1-74A5-472A-A729-7F8CEFC477F9" || s.Attributes.Etag != "eyJpZCI6Ijk2OGJhMWNmLWMxNDYtNGFkZi1hMzAwLTMwOGRjZjcxOGVlZSIsInZlcnNpb24iOjF9" {
			t.Errorf("%+v", s)
		}
	})
	t.Run("PascalCase PATCH body", func(t *testing.T) {
		var s Subscription
		mustDecode(t, "subscription-patch-suspend.request.json", &s)
		if !s.Status.Is(StatusSuspended) || s.Quantity != 2 || s.Attributes.Etag != "<etag>" {
			t.Errorf("%+v", s)
		}
	})
	t.Run("order", func(t *testing.T) {
		var o Order
		mustDecode(t, "order-create.response.json", &o)
		if len(o.LineItems) != 1 || o.LineItems[0].SubscriptionID != "42226ED6-070A-4E0F-B80C-4CDFB3E97AA7" || o.LineItems[0].Links.Subscription == nil {
			t.Errorf("%+v", o)
		}
	})
	t.Run("subscribed skus", func(t *testing.T) {
		var c Collection[SubscribedSKU]
		mustDecode(t, "customer-subscribedskus.json", &c)
		pbi := c.Items[1]
		if len(c.Items) != 2 || pbi.ProductSKU.SkuPartNumber != "POWER_BI_PRO" || pbi.AvailableUnits != 0 || pbi.TotalUnits != 1 || len(pbi.ServicePlans) != 2 {
			t.Errorf("%+v", c.Items)
		}
	})
	t.Run("users", func(t *testing.T) {
		var c Collection[User]
		mustDecode(t, "customer-users-list.json", &c)
		if len(c.Items) != 2 || c.Items[0].UsageLocation != "US" || c.Items[1].UsageLocation != "" {
			t.Errorf("%+v", c.Items)
		}
	})
	t.Run("user licenses", func(t *testing.T) {
		var c Collection[License]
		mustDecode(t, "user-licenses.json", &c)
		if len(c.Items) != 1 || c.Items[0].ProductSKU.ID != "efccb6f7-5641-4e0e-bd10-b4976e1bf68e" || len(c.Items[0].ServicePlans) != 5 {
			t.Errorf("%+v", c.Items)
		}
	})
	t.Run("offer", func(t *testing.T) {
		var o Offer
		mustDecode(t, "offer-get.json", &o)
		if o.Product.ID != "06EBC4EE-1BB5-47DD-8120-11324BC54E06" || !o.IsAvailableForPurchase || o.MaximumQuantity != 10000000 || o.Category.ID != "Enterprise_Key" {
			t.Errorf("%+v", o)
		}
	})
}

func readSample(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "shared", "reference", "pc-samples", name))
	if err != nil {
		t.Skipf("reference sample not available: %v", err)
	}
	return string(data)
}

func mustDecode(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(readSample(t, name)), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
