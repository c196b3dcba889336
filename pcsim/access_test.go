package pcsim

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDenials(t *testing.T) {
	const g, c = codeInsufficientPrivileges, codeConditionalAccess
	tests := []struct {
		name        string
		gdapMissing int
		n           int
		want        []int
	}{
		{"off", 0, 30, []int{}},
		{"negative is off", -1, 30, []int{}},
		{"default", 2, 30, []int{g, g, c}},
		{"all but one", 2, 3, []int{g, g, c}},
		{"no room for conditional access", 3, 3, []int{g, g, g}},
		{"more than there are", 5, 2, []int{g, g}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := denials(tc.gdapMissing, tc.n); !slices.Equal(got, tc.want) {
				t.Errorf("denials(%d, %d) = %v, want %v", tc.gdapMissing, tc.n, got, tc.want)
			}
		})
	}
}

// TestDeniedCustomers: with the default GDAPMissing the last two customers answer every call into their tenant
// with 403 / 900308 and the very last with 403 / 900309, each with its documented description, while their
// commerce data stays readable and holds a Kaizala Pro subscription a scan must report.
func TestDeniedCustomers(t *testing.T) {
	sb := newSandbox(t, nil)
	app, usr := sb.appToken(), sb.userToken()
	all := sb.customers(app)
	denied := sb.srv.DeniedCustomers()
	if len(denied) != 3 {
		t.Fatalf("%d denied customers, want 3: %+v", len(denied), denied)
	}
	for j, d := range denied {
		if want := all[len(all)-len(denied)+j]; d.ID != want.ID || d.CompanyName != want.CompanyProfile.CompanyName {
			t.Errorf("denied customer %d is %s %q, want the listing's %s %q", j, d.ID, d.CompanyName, want.ID, want.CompanyProfile.CompanyName)
		}
	}
	if codes := []string{denied[0].Code, denied[1].Code, denied[2].Code}; !slices.Equal(codes, []string{"900308", "900308", "900309"}) {
		t.Errorf("codes %v, want 900308, 900308, 900309", codes)
	}
	if m := sb.srv.AccessDenied(); len(m) != 3 || m[denied[2].ID] != "900309" {
		t.Errorf("AccessDenied() = %v", m)
	}
	descriptions := map[string]string{"900308": insufficientPrivileges, "900309": blockedByConditionalAccess}
	today := time.Now().UTC().Truncate(24 * time.Hour)

	for _, d := range denied {
		t.Run(d.CompanyName, func(t *testing.T) {
			base := "/v1/customers/" + d.ID
			k, ok := kaizalaSub(sb.subscriptions(app, d.ID))
			if !ok {
				t.Fatal("no Kaizala Pro subscription")
			}
			end, err := time.Parse(time.RFC3339, k.CommitmentEndDate)
			if days := int(end.Sub(today).Hours() / 24); err != nil || k.Status != "active" || k.AutoRenewEnabled || days < 0 || days > 30 {
				t.Errorf("Kaizala Pro %s: %s, auto-renew %v, ends in %d days (%v); want active, not renewing, within 30 days",
					k.ID, k.Status, k.AutoRenewEnabled, days, err)
			}
			sb.must(http.StatusOK, "GET", base, app, nil, nil)
			sb.must(http.StatusOK, "GET", base+"/subscriptions/"+k.ID, usr, nil, nil)
			sb.must(http.StatusOK, "GET", base+"/orders", usr, nil, nil)

			uid := sb.srv.world.customer(d.ID).users[0].id // the test sees what the partner cannot list
			calls := []struct{ method, path string }{
				{"GET", base + "/users"},
				{"GET", base + "/users/" + uid},
				{"GET", base + "/users/" + uid + "/licenses"},
				{"POST", base + "/users/" + uid + "/licenseupdates"},
				{"GET", base + "/subscribedskus"},
				{"GET", base + "/subscriptions/" + k.ID + "/provisioningstatus"},
			}
			for _, call := range calls {
				var body any
				if call.method == "POST" {
					body = assign(kaizalaSkuID)
				}
				var e apiErr
				a := sb.must(http.StatusForbidden, call.method, call.path, usr, body, &e)
				if code := codeOf(t, a.body); strconv.FormatFloat(code, 'f', -1, 64) != d.Code || e.Description != descriptions[d.Code] {
					t.Errorf("%s %s: %v %q, want %s %q", call.method, call.path, code, e.Description, d.Code, descriptions[d.Code])
				}
				// The token is checked first: an app-only token is refused as such, whoever the customer is.
				if code := codeOf(t, sb.must(http.StatusForbidden, call.method, call.path, app, body, nil).body); code != codeAppOnly {
					t.Errorf("%s %s with an app-only token: %v, want %v", call.method, call.path, code, codeAppOnly)
				}
			}
		})
	}
	t.Run("the customer before them", func(t *testing.T) {
		before := all[len(all)-len(denied)-1]
		sb.must(http.StatusOK, "GET", "/v1/customers/"+before.ID+"/users", usr, nil, nil)
		sb.must(http.StatusOK, "GET", "/v1/customers/"+before.ID+"/subscribedskus", usr, nil, nil)
	})
}

// TestDeniedCustomersAreDetermined: the seed fixes which customers are denied and what they hold, and reserving
// them changes no other customer.
func TestDeniedCustomersAreDetermined(t *testing.T) {
	at := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	start := func(gdapMissing int) *sandbox {
		return newSandbox(t, func(o *Options) {
			o.Seed, o.Customers, o.GDAPMissing = 7, 12, gdapMissing
			o.Now = func() time.Time { return at }
		})
	}
	dump := func(sb *sandbox, skip int) []byte {
		tok := sb.userToken()
		cs := sb.customers(tok)
		var out bytes.Buffer
		for _, c := range cs[:len(cs)-skip] {
			base := "/v1/customers/" + c.ID
			for _, path := range []string{base, base + "/subscriptions", base + "/orders", base + "/users?size=500", base + "/subscribedskus"} {
				out.Write(sb.must(http.StatusOK, "GET", path, tok, nil, nil).body)
			}
		}
		return out.Bytes()
	}
	subs := func(sb *sandbox) []byte {
		tok := sb.appToken()
		var out bytes.Buffer
		for _, d := range sb.srv.DeniedCustomers() {
			out.WriteString(d.ID + d.CompanyName + d.Code)
			out.Write(sb.must(http.StatusOK, "GET", "/v1/customers/"+d.ID+"/subscriptions", tok, nil, nil).body)
		}
		return out.Bytes()
	}
	one, two, seeded := start(2), start(2), start(0)
	if a, b := subs(one), subs(two); len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("two sandboxes of the same seed deny different customers, or hold different subscriptions for them")
	}
	if len(seeded.srv.DeniedCustomers()) != 0 {
		t.Errorf("GDAPMissing 0 denies %+v", seeded.srv.DeniedCustomers())
	}
	if !bytes.Equal(dump(one, 3), dump(seeded, 3)) {
		t.Error("reserving the last 3 customers changed the customers before them")
	}
	// Drawn again from the state they were first drawn with: the first keeps its seeded ids, all their names.
	for _, n := range []int{3, 12, 40} {
		w := buildWorld(7, n, midnight(at), 0)
		seeded := slices.Clone(w.customers)
		for j, c := range w.redrawLast(3) {
			was := seeded[n-3+j]
			if c.companyName != was.companyName || c.domain != was.domain || j == 0 && (c.id != was.id || c.commerceID != was.commerceID) {
				t.Errorf("%d customers: redrawn %d is %s %q, was %s %q", n, j, c.id, c.companyName, was.id, was.companyName)
			}
		}
		if !slices.Equal(w.customers[:n-3], seeded[:n-3]) {
			t.Errorf("%d customers: redrawing the last 3 changed the others", n)
		}
	}
}

// TestRefuseLicencesFor: a refused user keeps its usage location, yet its licence assignments fail exactly as a
// user's without one (Partner-Center-DotNet-Samples#131); removals and other users are not affected.
func TestRefuseLicencesFor(t *testing.T) {
	sb := newSandbox(t, nil)
	tok := sb.userToken()
	mc := findMigrationCase(t, sb, tok)
	base := "/v1/customers/" + mc.cid + "/users/"
	// Assigning a sku the user already holds needs no free unit, so it succeeds unless the user is refused.
	again := assign(kaizalaSkuID)
	sb.must(http.StatusCreated, "POST", base+mc.located+"/licenseupdates", tok, again, nil)
	unlocated := sb.must(http.StatusBadRequest, "POST", base+mc.unlocated+"/licenseupdates", tok, again, nil)

	if err := sb.srv.RefuseLicencesFor(mc.cid, mc.located); err != nil {
		t.Fatal(err)
	}
	refused := sb.must(http.StatusBadRequest, "POST", base+mc.located+"/licenseupdates", tok, again, nil)
	if !bytes.Equal(refused.body, unlocated.body) {
		t.Errorf("refused user's answer %s, want the missing-usage-location answer %s", refused.body, unlocated.body)
	}
	var u userView
	sb.must(http.StatusOK, "GET", base+mc.located, tok, nil, &u)
	if u.UsageLocation == nil || *u.UsageLocation == "" {
		t.Error("the refused user lost its usage location")
	}
	sb.must(http.StatusCreated, "POST", base+mc.located+"/licenseupdates", tok,
		map[string]any{"licensesToRemove": []string{kaizalaSkuID}}, nil)

	others := 0
	for _, other := range sb.users(tok, mc.cid) {
		if other.ID != mc.located && other.UsageLocation != nil && holds(sb.licenses(tok, mc.cid, other.ID), kaizalaSkuID) {
			sb.must(http.StatusCreated, "POST", base+other.ID+"/licenseupdates", tok, again, nil)
			others++
		}
	}
	if others == 0 {
		t.Fatal("no other located Kaizala Pro holder to check the refusal is per user")
	}

	for _, ids := range [][2]string{{"no-such-customer", mc.located}, {mc.cid, "no-such-user"}} {
		if err := sb.srv.RefuseLicencesFor(ids[0], ids[1]); err == nil || !strings.Contains(err.Error(), "no-such") {
			t.Errorf("RefuseLicencesFor(%q, %q) = %v, want an error naming what is missing", ids[0], ids[1], err)
		}
	}
}
