package pcsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestClockEndpoint: GET reads sandbox time, POST moves it forward, every answer's Date header follows it, and
// bad input is refused with a message that says what to send.
func TestClockEndpoint(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)
	clk := &clock{t: t0}
	sb := newSandbox(t, func(o *Options) { o.Now = clk.Now })

	var got clockJSON
	sb.must(http.StatusOK, "GET", ClockPath, "", nil, &got)
	if got.Now != "2026-03-10T09:30:00Z" || got.Offset != "0s" {
		t.Fatalf("GET clock = %+v", got)
	}
	a := sb.must(http.StatusOK, "POST", ClockPath, "", map[string]any{"advance": "72h"}, &got)
	if got.Now != "2026-03-13T09:30:00Z" || got.Offset != "72h0m0s" {
		t.Fatalf("POST advance 72h = %+v", got)
	}
	if d := a.header.Get("Date"); d != "Fri, 13 Mar 2026 09:30:00 GMT" {
		t.Errorf("Date header %q, want sandbox time", d)
	}
	tok := sb.appToken() // an AAD token is not expired by sandbox time
	a = sb.must(http.StatusOK, "GET", "/v1/customers", tok, nil, nil)
	if d := a.header.Get("Date"); d != "Fri, 13 Mar 2026 09:30:00 GMT" {
		t.Errorf("/v1 Date header %q, want sandbox time", d)
	}
	if err := sb.srv.AdvanceClock(90 * time.Minute); err != nil || sb.srv.ClockOffset() != 73*time.Hour+30*time.Minute {
		t.Errorf("AdvanceClock: %v, offset %s", err, sb.srv.ClockOffset())
	}

	bad := []struct {
		name, body, want string
	}{
		{"empty body", "", "empty"},
		{"not JSON", "72h", "must be"},
		{"missing advance", `{}`, "missing"},
		{"unknown field", `{"advance":"1h","back":true}`, "must be"},
		{"not a duration", `{"advance":"three days"}`, "not a duration"},
		{"negative", `{"advance":"-1h"}`, "positive"},
		{"zero", `{"advance":"0s"}`, "positive"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			a := sb.must(http.StatusBadRequest, "POST", ClockPath, "", tc.body, nil)
			var e apiErr
			_ = json.Unmarshal(a.body, &e)
			if !strings.Contains(e.Description, tc.want) {
				t.Errorf("description %q, want it to say %q", e.Description, tc.want)
			}
		})
	}
	sb.must(http.StatusOK, "GET", ClockPath, "", nil, &got)
	if got.Offset != "73h30m0s" {
		t.Errorf("refused advances moved the clock: %+v", got)
	}
	sb.must(http.StatusMethodNotAllowed, "DELETE", ClockPath, "", nil, nil)
}

// TestClockClosesWindows: advancing sandbox time closes a new-commerce cancellation window (cancel refused
// after) and expires a cart, with no change to Options.Now.
func TestClockClosesWindows(t *testing.T) {
	sb := newSandbox(t, func(o *Options) { o.AsyncPatchRate = 0 })
	tok := sb.appToken()
	cid := sb.customers(tok)[0].ID
	path := subPath(cid, sb.buyNCE(tok, cid, e1CatalogID, 10, "monthly", "P1Y"))
	base := "/v1/customers/" + cid + "/carts"
	var cart cartView
	sb.must(http.StatusCreated, "POST", base, tok, cartOf(lineItem(e1CatalogID, 2, "monthly", "P1M")), &cart)

	sb.must(http.StatusOK, "POST", ClockPath, "", map[string]any{"advance": "169h"}, nil)
	a := sb.must(http.StatusBadRequest, "PATCH", path, tok, map[string]any{"status": "deleted"}, nil)
	if code := codeOf(t, a.body); code != codeCancelWindowHours {
		t.Errorf("cancel after the window: %s", a.body)
	}
	sb.must(http.StatusNotFound, "GET", base+"/"+cart.ID, tok, nil, nil)
	sb.must(http.StatusNotFound, "POST", base+"/"+cart.ID+"/checkout", tok, nil, nil)
}
