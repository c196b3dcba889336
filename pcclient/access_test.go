package pcclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// TestAdapterAccess runs the real adapter against answers with the
// documented codes (error-codes.md, gdap-bulk-migration-tool-faq.md) on the
// calls that get them, and checks which are access problems, of what kind,
// and which role they name.
func TestAdapterAccess(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		code     string // as sent: a number, or a string in quotes
		call     func(context.Context, Adapter) error
		kind     string // "" when it is no access problem
		role     string
		wantCode string
	}{
		{"900308 on subscribed SKUs", 403, "900308", pools, bot.AccessGDAPRole, bot.RoleLicenseAdministrator, "900308"},
		{"900308 on a user's licences", 403, "900308", userLicences, bot.AccessGDAPRole, bot.RoleLicenseAdministrator, "900308"},
		{"900308 on a licence update", 403, "900308", swap, bot.AccessGDAPRole, bot.RoleLicenseAdministrator, "900308"},
		{"900308 on users", 403, "900308", users, bot.AccessGDAPRole, bot.RoleUserAdministrator, "900308"},
		{"900308 as a string", 403, `"900308"`, users, bot.AccessGDAPRole, bot.RoleUserAdministrator, "900308"},
		{"900309 Conditional Access", 403, "900309", pools, bot.AccessConditionalAccess, "", "900309"},
		{"900329 app-only token", 403, "900329", users, bot.AccessTokenSetup, "", "900329"},
		{"900316 partner token in a licence call", 400, "900316", swap, bot.AccessTokenSetup, "", "900316"},
		{"20002 no reseller relationship", 403, "20002", pools, bot.AccessNoRelationship, "", "20002"},
		{"900150 partner-side role", 403, "900150", users, bot.AccessPartnerRole, bot.RoleAdminAgent, "900150"},
		{"another 403", 403, "2032", pools, "", "", ""},
		{"out of seats", 400, "60012", swap, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePC(t)
			f.Mux.HandleFunc("/v1/customers/{id}/", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, tc.status, fmt.Sprintf(`{"code":%s,"description":"refused","data":[],"source":"PartnerFD"}`, tc.code))
			})
			a := Adapter{Client: f.newClient(t, TokenConfig{RefreshToken: testRefreshToken})}
			err := tc.call(context.Background(), a)
			if err == nil {
				t.Fatal("the call succeeded")
			}
			p, ok := a.Access(fmt.Errorf("planning: %w", err))
			if ok != (tc.kind != "") || p.Kind != tc.kind || p.Role != tc.role || p.Code != tc.wantCode {
				t.Errorf("Access = %+v, %v; want kind %q, role %q, code %q", p, ok, tc.kind, tc.role, tc.wantCode)
			}
			if ok && p.Detail != "refused" {
				t.Errorf("Detail = %q, want Partner Center's words", p.Detail)
			}
		})
	}
	if _, ok := (Adapter{}).Access(errors.New("not from Partner Center")); ok {
		t.Error("an error without an answer is an access problem")
	}
}

func pools(ctx context.Context, a Adapter) error {
	_, err := a.LicensePools(ctx, "c1")
	return err
}

func users(ctx context.Context, a Adapter) error {
	_, err := a.ListUsers(ctx, "c1")
	return err
}

func userLicences(ctx context.Context, a Adapter) error {
	_, err := a.UserSkuIDs(ctx, "c1", "u1")
	return err
}

func swap(ctx context.Context, a Adapter) error {
	_, err := a.SwapLicence(ctx, "c1", "u1", "new-sku", "old-sku", "req-1")
	return err
}

// TestScanProbeAgainstTheSandbox scans the sandbox, whose last customers
// refuse the partner their users and licences (a GDAP role missing, one
// blocked by Conditional Access) while their subscriptions stay readable:
// with App+User they are exactly the scan's access problems, with the role to
// grant; with an app-only token every customer probed is a token problem.
func TestScanProbeAgainstTheSandbox(t *testing.T) {
	opts := pcsim.DefaultOptions()
	opts.Customers, opts.RateLimit = 30, 0
	// Only customers with an active Kaizala Pro subscription are probed:
	// find a seed whose refused customers hold one.
	var sim *pcsim.Server
	var denied map[string]string
	for seed := int64(1); seed < 50 && sim == nil; seed++ {
		opts.Seed = seed
		s := pcsim.New(opts)
		srv := httptest.NewServer(s)
		r, err := scanWith(t, srv.URL, true)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		d := s.AccessDenied()
		probed := 0
		for _, f := range r.Findings {
			if _, ok := d[f.Customer.ID]; ok && f.Subscription.Active() {
				probed++
			}
		}
		if probed > 0 && len(d) == 3 {
			sim, denied = pcsim.New(opts), d
		}
	}
	if sim == nil {
		t.Fatal("no seed gives a refused customer an active Kaizala Pro subscription")
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)

	r, err := scanWith(t, srv.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Failures) != 0 {
		t.Errorf("failures: %+v; the refused customers' subscriptions are readable", r.Failures)
	}
	if len(r.Access) == 0 {
		t.Fatal("no access problems")
	}
	for _, a := range r.Access {
		code, ok := denied[a.Customer.ID]
		if !ok || a.Problem.Code != code {
			t.Errorf("%s refused with %q; the sandbox refuses it with %q", a.Customer.ID, a.Problem.Code, code)
		}
		switch a.Problem.Code {
		case "900308":
			if a.Problem.Kind != bot.AccessGDAPRole || a.Problem.Role != bot.RoleLicenseAdministrator {
				t.Errorf("900308 on subscribed SKUs: %+v, want the License Administrator GDAP role", a.Problem)
			}
		case "900309":
			if a.Problem.Kind != bot.AccessConditionalAccess {
				t.Errorf("900309: %+v, want Conditional Access", a.Problem)
			}
		}
	}

	appOnly, err := scanWith(t, srv.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range appOnly.Access {
		if a.Problem.Code != "900329" || a.Problem.Kind != bot.AccessTokenSetup {
			t.Errorf("app-only: %s refused with %+v, want 900329, a token problem", a.Customer.ID, a.Problem)
		}
	}
	if len(appOnly.Access) <= len(r.Access) {
		t.Errorf("app-only: %d access problems, want one per customer probed", len(appOnly.Access))
	}
}

func scanWith(t *testing.T, base string, appUser bool) (*bot.ScanReport, error) {
	t.Helper()
	def := pcsim.DefaultOptions()
	tc := TokenConfig{TokenURL: base + "/partner/oauth2/token", ClientID: def.ClientID, ClientSecret: def.ClientSecret}
	if appUser {
		tc.RefreshToken = def.RefreshToken
	}
	c, err := New(Config{BaseURL: base, TokenSource: tc.TokenSource(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	a := Adapter{Client: c}
	return (&bot.Scanner{Source: a, Probe: a}).Scan(context.Background())
}
