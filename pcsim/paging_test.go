package pcsim

import (
	"net/http"
	"strings"
	"testing"
)

// walk follows links.next (uri as given, headers copied) the way the SDK's enumerator does.
func walk[T any](t *testing.T, sb *sandbox, token, first string) (pages []page[T]) {
	t.Helper()
	uri, headers := first, []string(nil)
	for range 100 {
		var p page[T]
		sb.must(http.StatusOK, "GET", uri, token, nil, &p, headers...)
		pages = append(pages, p)
		next, ok := p.Links["next"]
		if !ok {
			return pages
		}
		if !strings.HasPrefix(next.URI, "/v1/") || !strings.Contains(next.URI, "seekOperation=Next") {
			t.Fatalf("next uri %q: want /v1/…&seekOperation=Next", next.URI)
		}
		uri, headers = next.URI, nil
		for _, h := range next.Headers {
			headers = append(headers, h.Key, h.Value)
		}
	}
	t.Fatal("paging never ended")
	return nil
}

func TestCustomerSeekPaging(t *testing.T) {
	sb := newSandbox(t, nil)
	pages := walk[customerView](t, sb, sb.appToken(), "/v1/customers?size=10")
	if len(pages) != 3 {
		t.Fatalf("%d pages, want 3", len(pages))
	}
	seen := map[string]bool{}
	for i, p := range pages {
		if p.TotalCount != len(p.Items) || len(p.Items) != 10 {
			t.Errorf("page %d: totalCount %d, %d items; want 10 and 10", i, p.TotalCount, len(p.Items))
		}
		if p.Links["self"].URI == "" || p.Attributes.ObjectType != "Collection" {
			t.Errorf("page %d lacks links.self or objectType Collection", i)
		}
		if i < 2 && p.Links["next"].Headers[0].Key != "MS-ContinuationToken" {
			t.Errorf("page %d next link headers %v", i, p.Links["next"].Headers)
		}
		for _, c := range p.Items {
			seen[c.ID] = true
		}
	}
	if len(seen) != 30 {
		t.Errorf("%d distinct customers, want 30", len(seen))
	}
}

func TestUserSeekPaging(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.userToken()
	cid := sb.customers(tok)[0].ID
	all := sb.users(tok, cid)
	seen := map[string]bool{}
	for _, p := range walk[userView](t, sb, tok, "/v1/customers/"+cid+"/users?size=3") {
		for _, u := range p.Items {
			seen[u.ID] = true
		}
	}
	if len(seen) != len(all) {
		t.Errorf("paging saw %d users, the full list has %d", len(seen), len(all))
	}
}

func TestSeekNextNeedsValidToken(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.userToken()
	cid := sb.customers(tok)[0].ID
	var usersPage page[userView]
	sb.must(http.StatusOK, "GET", "/v1/customers/"+cid+"/users?size=1", tok, nil, &usersPage)
	userToken := usersPage.Links["next"].Headers[0].Value

	tests := []struct {
		name    string
		path    string
		headers []string
	}{
		{"no header", "/v1/customers?size=10&seekOperation=Next", nil},
		{"garbage token", "/v1/customers?size=10&seekOperation=Next", []string{"MS-ContinuationToken", "AQAAAA=="}},
		{"a user list's token", "/v1/customers?size=10&seekOperation=Next", []string{"MS-ContinuationToken", userToken}},
		{"unknown seek operation", "/v1/customers?size=10&seekOperation=Sideways", nil},
		{"bad size", "/v1/customers?size=ten", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := sb.must(http.StatusBadRequest, "GET", tc.path, tok, nil, nil, tc.headers...)
			codeOf(t, a.body)
		})
	}
}
