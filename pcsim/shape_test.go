package pcsim

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestSampleShapes checks the sandbox's answers against the verbatim Partner Center samples: every key a
// sample item has (in all of its items) must be present in every sandbox item, recursively. Under links only
// "self" is required, because which other links a resource carries depends on its kind.
func TestSampleShapes(t *testing.T) {
	sb := newSandbox(t, legacyWorld)
	tok := sb.userToken()
	mc := findMigrationCase(t, sb, tok)
	base := "/v1/customers/" + mc.cid
	var ord map[string]any
	order := e1Order(3)
	order["lineItems"].([]map[string]any)[0]["partnerIdOnRecord"] = "4847383"
	sb.must(http.StatusCreated, "POST", base+"/orders", tok, order, &ord)
	orderJSON, _ := json.Marshal(ord)

	tests := []struct {
		sample string
		answer []byte
		list   bool
	}{
		{"customers-list.json", sb.must(200, "GET", "/v1/customers?size=5", tok, nil, nil).body, true},
		{"customer-subscriptions-list.json", sb.must(200, "GET", base+"/subscriptions", tok, nil, nil).body, true},
		{"customer-subscribedskus.json", sb.must(200, "GET", base+"/subscribedskus", tok, nil, nil).body, true},
		{"customer-users-list.json", sb.must(200, "GET", base+"/users", tok, nil, nil).body, true},
		{"user-licenses.json", sb.must(200, "GET", base+"/users/"+mc.located+"/licenses", tok, nil, nil).body, true},
		{"offer-get.json", sb.must(200, "GET", "/v1/offers/91FD106F-4B2C-4938-95AC-F54F74E9A239?country=US", tok, nil, nil).body, false},
		{"order-create.response.json", orderJSON, false},
	}
	for _, tc := range tests {
		t.Run(tc.sample, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "shared", "reference", "pc-samples", tc.sample))
			if err != nil {
				t.Skipf("sample not available: %v", err)
			}
			var sample, got map[string]any
			if err := json.Unmarshal(raw, &sample); err != nil {
				t.Fatalf("sample: %v", err)
			}
			if err := json.Unmarshal(tc.answer, &got); err != nil {
				t.Fatalf("answer: %v", err)
			}
			if !tc.list {
				requireKeys(t, tc.sample, sample, got)
				return
			}
			requireKeys(t, "collection", withoutItems(sample), withoutItems(got))
			items := got["items"].([]any)
			if len(items) == 0 {
				t.Fatal("sandbox answered an empty collection")
			}
			common := commonKeys(sample["items"].([]any))
			for i, it := range items {
				requireKeys(t, "items["+strconv.Itoa(i)+"]", common, it)
			}
		})
	}
}

func withoutItems(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != "items" && k != "links" {
			out[k] = v
		}
	}
	return out
}

// commonKeys keeps the keys (with the first item's values) that every sample item has.
func commonKeys(items []any) map[string]any {
	out := map[string]any{}
	for k, v := range items[0].(map[string]any) {
		inAll := true
		for _, it := range items[1:] {
			if _, ok := it.(map[string]any)[k]; !ok {
				inAll = false
			}
		}
		if inAll {
			out[k] = v
		}
	}
	return out
}

func requireKeys(t *testing.T, at string, sample map[string]any, got any) {
	t.Helper()
	g, ok := got.(map[string]any)
	if !ok {
		t.Errorf("%s: got %T, want an object", at, got)
		return
	}
	for k, sv := range sample {
		gv, ok := g[k]
		if !ok {
			t.Errorf("%s: missing key %q", at, k)
			continue
		}
		switch sv := sv.(type) {
		case map[string]any:
			if k == "links" { // which links exist depends on the resource's kind; self is universal
				self, ok := sv["self"]
				if !ok {
					continue
				}
				sv = map[string]any{"self": self}
			}
			requireKeys(t, at+"."+k, sv, gv)
		case []any:
			ga, ok := gv.([]any)
			if !ok {
				t.Errorf("%s.%s: got %T, want an array", at, k, gv)
				continue
			}
			if first, ok := firstObject(sv); ok && len(ga) > 0 {
				requireKeys(t, at+"."+k+"[0]", first, ga[0])
			}
		}
	}
}

func firstObject(a []any) (map[string]any, bool) {
	if len(a) == 0 {
		return nil, false
	}
	m, ok := a[0].(map[string]any)
	return m, ok
}
