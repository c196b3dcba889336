package pcclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestPagingThatDoesNotEndStops(t *testing.T) {
	// next gives the next link of the page r asks for ("" for the last page).
	// Continuation tokens carry "tok-secret" so the test can see that no
	// error repeats one.
	token := func(r *http.Request) string { return r.Header.Get("MS-ContinuationToken") }
	withToken := func(uri, tok string) string {
		return `{"uri":"` + uri + `","method":"GET","headers":[{"key":"MS-ContinuationToken","value":"` + tok + `"}]}`
	}
	chain := func(links map[string]string) func(*http.Request) string {
		return func(r *http.Request) string {
			if next, ok := links[token(r)]; ok {
				return withToken("/v1/customers?size=2&seekOperation=Next", next)
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name         string
		next         func(r *http.Request) string
		wantRequests int
		wantErr      error // nil: the listing ends well
		want         string
	}{
		{"next link is the first page again",
			func(*http.Request) string { return `{"uri":"customers?size=2"}` },
			1, ErrPagingLoop, "page 1's next link asks again for page 1"},
		{"a token that names its own page",
			chain(map[string]string{"": "tok-secret-A", "tok-secret-A": "tok-secret-A"}),
			2, ErrPagingLoop, "page 2's next link asks again for page 2"},
		{"a loop of two pages",
			chain(map[string]string{"": "tok-secret-A", "tok-secret-A": "tok-secret-B", "tok-secret-B": "tok-secret-A"}),
			3, ErrPagingLoop, "page 3's next link asks again for page 2"},
		{"a loop of three pages",
			chain(map[string]string{"": "tok-secret-A", "tok-secret-A": "tok-secret-B", "tok-secret-B": "tok-secret-C", "tok-secret-C": "tok-secret-A"}),
			4, ErrPagingLoop, "page 4's next link asks again for page 2"},
		{"the same token with another query is no loop",
			func(r *http.Request) string {
				switch {
				case token(r) == "":
					return withToken("/v1/customers?seekOperation=Next", "tok-secret-A")
				case r.URL.Query().Get("page") == "":
					return withToken("/v1/customers?seekOperation=Next&page=3", "tok-secret-A")
				}
				return ""
			},
			3, nil, ""},
		{"a scheme-relative link to another host",
			func(*http.Request) string {
				return withToken("//elsewhere.example/v1/customers?seekOperation=Next", "tok-secret-A")
			},
			1, ErrBadNextLink, "scheme-relative"},
		{"a scheme-relative link to this host",
			func(r *http.Request) string {
				return withToken("//"+r.Host+"/v1/customers?seekOperation=Next", "tok-secret-A")
			},
			1, ErrBadNextLink, "scheme-relative"},
		{"a link to another host",
			func(*http.Request) string {
				return withToken("https://elsewhere.example/v1/customers?seekOperation=Next", "tok-secret-A")
			},
			1, ErrBadNextLink, `another host "elsewhere.example"`},
		{"a link to this host in another scheme",
			func(r *http.Request) string {
				return withToken("https://"+r.Host+"/v1/customers?seekOperation=Next", "tok-secret-A")
			},
			1, ErrBadNextLink, "switches from http to https"},
		{"a link that does not parse",
			func(*http.Request) string { return `{"uri":"/v1/customers?tok-secret-A=%zz\u007f"}` },
			1, ErrBadNextLink, "does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePC(t)
			var requests atomic.Int32
			f.Mux.HandleFunc("GET /v1/customers", func(w http.ResponseWriter, r *http.Request) {
				n := requests.Add(1)
				if n > 20 {
					writeJSON(w, 200, `{"items":[]}`) // the client should have stopped long ago
					return
				}
				links := `{}`
				if next := tc.next(r); next != "" {
					links = `{"next":` + next + `}`
				}
				writeJSON(w, 200, fmt.Sprintf(`{"items":[{"id":"C%d"}],"links":%s}`, n, links))
			})
			c := f.newClient(t, TokenConfig{})
			got, err := c.ListCustomers(context.Background(), 2)
			if n := int(requests.Load()); n != tc.wantRequests {
				t.Errorf("fetched %d pages, want %d", n, tc.wantRequests)
			}
			if tc.wantErr == nil {
				if err != nil || len(got) != tc.wantRequests {
					t.Errorf("got %d customers, %v; want %d", len(got), err, tc.wantRequests)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if Classify(err) != ClassPermanent {
				t.Errorf("Classify = %v, want permanent", Classify(err))
			}
			for _, want := range []string{"listing /v1/customers", tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "tok-secret") {
				t.Errorf("error %q repeats a continuation token", err)
			}
			assertNoSecret(t, err)
		})
	}
}

func TestListingStopsAtMaxPages(t *testing.T) {
	for _, tc := range []struct {
		name         string
		maxPages     int
		pages        int // the service's; each page's next link has a new token
		wantRequests int
		wantErr      bool
	}{
		{"ends on the last page allowed", 5, 5, 5, false},
		{"one page more than allowed", 5, 6, 5, true},
		{"a service that never ends", 5, 1 << 30, 5, true},
		{"a cap of one page", 1, 2, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePC(t)
			var requests atomic.Int32
			f.Mux.HandleFunc("GET /v1/customers", func(w http.ResponseWriter, r *http.Request) {
				n := int(requests.Add(1))
				links := `{}`
				if n < tc.pages {
					links = fmt.Sprintf(`{"next":{"uri":"/v1/customers?seekOperation=Next","headers":[{"key":"MS-ContinuationToken","value":"tok-secret-%d"}]}}`, n)
				}
				writeJSON(w, 200, fmt.Sprintf(`{"items":[{"id":"C%d"}],"links":%s}`, n, links))
			})
			c := f.newClient(t, TokenConfig{})
			if c.maxPages != MaxPages {
				t.Fatalf("a new client allows %d pages, want MaxPages (%d)", c.maxPages, MaxPages)
			}
			c.maxPages = tc.maxPages
			got, err := c.ListCustomers(context.Background(), 2)
			if n := int(requests.Load()); n != tc.wantRequests {
				t.Errorf("fetched %d pages, want %d", n, tc.wantRequests)
			}
			if !tc.wantErr {
				if err != nil || len(got) != tc.pages {
					t.Errorf("got %d customers, %v; want %d", len(got), err, tc.pages)
				}
				return
			}
			if !errors.Is(err, ErrPagingLoop) || Classify(err) != ClassPermanent {
				t.Fatalf("err = %v (%v), want ErrPagingLoop, permanent", err, Classify(err))
			}
			want := fmt.Sprintf("listing /v1/customers: paging does not end: still a next link after %d pages", tc.maxPages)
			if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "tok-secret") {
				t.Errorf("error %q; want it to say %q and no token", err, want)
			}
		})
	}
}
