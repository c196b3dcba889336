package pcsim

import (
	"net/http"
	"strings"
	"testing"
)

func TestUnknownRoutesAndMethods(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.appToken()
	tests := []struct {
		name   string
		method string
		path   string
		status int
	}{
		{"unknown /v1 route", "GET", "/v1/invoices", http.StatusNotFound},
		{"path outside /v1", "GET", "/customers", http.StatusNotFound},
		{"doubled /v1 prefix", "GET", "/v1//v1/customers?size=10", http.StatusNotFound},
		{"unknown customer", "GET", "/v1/customers/00000000-0000-4000-8000-000000000000", http.StatusNotFound},
		{"wrong method", "DELETE", "/v1/customers", http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := sb.must(tc.status, tc.method, tc.path, tok, nil, nil)
			codeOf(t, a.body)
			if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestIdsMatchCaseInsensitively(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.appToken()
	for _, c := range sb.customers(tok) {
		if k, ok := kaizalaSub(sb.subscriptions(tok, c.ID)); ok {
			sb.must(http.StatusOK, "GET", "/v1/Customers/"+strings.ToUpper(c.ID)+"/subscriptions/"+strings.ToLower(k.ID), tok, nil, nil)
			return
		}
	}
	t.Fatal("no Kaizala customer")
}
