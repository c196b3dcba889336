package pcsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// migrationCase is a Kaizala customer without Office 365 E1 and with Kaizala users both with and without
// a usage location.
type migrationCase struct {
	cid, located, unlocated string
}

func findMigrationCase(t *testing.T, sb *sandbox, tok string) migrationCase {
	t.Helper()
	for _, c := range sb.customers(tok) {
		if _, ok := kaizalaSub(sb.subscriptions(tok, c.ID)); !ok {
			continue
		}
		if _, hasE1 := sb.pool(tok, c.ID, e1SkuID); hasE1 {
			continue
		}
		mc := migrationCase{cid: c.ID}
		for _, u := range sb.users(tok, c.ID) {
			if !holds(sb.licenses(tok, c.ID, u.ID), kaizalaSkuID) {
				continue
			}
			if u.UsageLocation == nil {
				mc.unlocated = u.ID
			} else {
				mc.located = u.ID
			}
		}
		if mc.located != "" && mc.unlocated != "" {
			return mc
		}
	}
	t.Fatal("the seeded world has no Kaizala customer fit for a migration")
	return migrationCase{}
}

func holds(skus []string, sku string) bool {
	for _, s := range skus {
		if strings.EqualFold(s, sku) {
			return true
		}
	}
	return false
}

func reassign(to, from string) map[string]any {
	return map[string]any{
		"licensesToAssign": []map[string]any{{"skuId": to, "excludedPlans": nil}},
		"licensesToRemove": []string{from},
	}
}

func assign(sku string) map[string]any {
	return map[string]any{"licensesToAssign": []map[string]any{{"skuId": sku}}}
}

// waitForSeats polls subscribedskus until the pool has at least n total units.
func waitForSeats(t *testing.T, sb *sandbox, tok, cid, sku string, n int) poolView {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if p, ok := sb.pool(tok, cid, sku); ok && p.TotalUnits >= n {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d seats of %s never showed up", n, sku)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestOutOfSeats: assigning a sku to more users than it has free units fails with the documented 60012 body.
func TestOutOfSeats(t *testing.T) {
	sb := newSandbox(t, legacyWorld)
	tok := sb.userToken()
	mc := findMigrationCase(t, sb, tok)
	sb.must(http.StatusCreated, "POST", "/v1/customers/"+mc.cid+"/orders", tok, e1Order(2), nil)
	waitForSeats(t, sb, tok, mc.cid, e1SkuID, 2)

	var located []string
	for _, u := range sb.users(tok, mc.cid) {
		if u.UsageLocation != nil {
			located = append(located, u.ID)
		}
	}
	for i, uid := range located[:3] {
		want := http.StatusCreated
		if i == 2 {
			want = http.StatusBadRequest
		}
		a := sb.must(want, "POST", "/v1/customers/"+mc.cid+"/users/"+uid+"/licenseupdates", tok, assign(e1SkuID), nil)
		if want == http.StatusCreated {
			continue
		}
		var e apiErr
		if code := codeOf(t, a.body); code != codeNoLicenses {
			t.Fatalf("code %v, want 60012", code)
		}
		if err := json.Unmarshal(a.body, &e); err != nil || len(e.Data) != 1 || !strings.Contains(e.Data[0], e1SkuID) ||
			!strings.HasPrefix(e.Data[0], "LicenseQuotaExceededException : ") {
			t.Errorf("60012 data does not name the sku: %s", a.body)
		}
	}
	if p, _ := sb.pool(tok, mc.cid, e1SkuID); p.AvailableUnits != 0 || p.ConsumedUnits != 2 {
		t.Errorf("E1 pool after two assignments: %+v", p)
	}

	t.Run("sku the customer has no subscription for", func(t *testing.T) {
		a := sb.must(http.StatusBadRequest, "POST", "/v1/customers/"+mc.cid+"/users/"+located[0]+"/licenseupdates", tok,
			assign("06ebc4ee-1bb5-47dd-8120-11324bc54e06"), nil)
		if code := codeOf(t, a.body); code != codeNoLicenses {
			t.Errorf("code %v, want 60012", code)
		}
	})
}

// TestMigrateKaizalaUserToE1 walks steps A and B of the Kaizala migration doc against the sandbox.
func TestMigrateKaizalaUserToE1(t *testing.T) {
	sb := newSandbox(t, func(o *Options) { o.ProvisioningDelay, o.LegacyPurchases = 300*time.Millisecond, true })
	tok := sb.userToken()
	mc := findMigrationCase(t, sb, tok)
	base := "/v1/customers/" + mc.cid
	update := func(uid string) string { return base + "/users/" + uid + "/licenseupdates" }

	var o struct {
		LineItems []struct {
			SubscriptionID string `json:"subscriptionId"`
		} `json:"lineItems"`
	}
	sb.must(http.StatusCreated, "POST", base+"/orders", tok, e1Order(10), &o)
	var status struct {
		SkuID  string `json:"skuId"`
		Status string `json:"status"`
	}
	statusPath := base + "/subscriptions/" + o.LineItems[0].SubscriptionID + "/provisioningstatus"

	t.Run("before provisioning", func(t *testing.T) {
		sb.must(http.StatusOK, "GET", statusPath, tok, nil, &status)
		if status.Status != "pending" {
			t.Errorf("provisioning status %q, want pending", status.Status)
		}
		if p, ok := sb.pool(tok, mc.cid, e1SkuID); !ok || p.TotalUnits != 0 || p.AvailableUnits != 0 {
			t.Errorf("E1 pool right after buying: %+v (listed %v), want no seats yet", p, ok)
		}
		a := sb.must(http.StatusBadRequest, "POST", update(mc.located), tok, reassign(e1SkuID, kaizalaSkuID), nil)
		if code := codeOf(t, a.body); code != codeNoLicenses {
			t.Errorf("code %v, want 60012", code)
		}
	})

	t.Run("after provisioning", func(t *testing.T) {
		p := waitForSeats(t, sb, tok, mc.cid, e1SkuID, 10)
		if p.ProductSku.ID != e1SkuID || p.ProductSku.SkuPartNumber != "STANDARDPACK" || p.AvailableUnits != 10 {
			t.Errorf("E1 pool %+v", p)
		}
		sb.must(http.StatusOK, "GET", statusPath, tok, nil, &status)
		if status.Status != "success" || status.SkuID != strings.ToUpper(e1SkuID) {
			t.Errorf("provisioning status %+v", status)
		}
		sb.must(http.StatusCreated, "POST", update(mc.located), tok, reassign(e1SkuID, kaizalaSkuID), nil)
		got := sb.licenses(tok, mc.cid, mc.located)
		if !holds(got, e1SkuID) || holds(got, kaizalaSkuID) {
			t.Errorf("licences after reassignment: %v", got)
		}
	})

	t.Run("user without usage location", func(t *testing.T) {
		a := sb.must(http.StatusBadRequest, "POST", update(mc.unlocated), tok, reassign(e1SkuID, kaizalaSkuID), nil)
		codeOf(t, a.body)
		if !strings.Contains(string(a.body), "invalid usage location") {
			t.Errorf("refusal does not explain the usage location: %s", a.body)
		}
		if got := sb.licenses(tok, mc.cid, mc.unlocated); !holds(got, kaizalaSkuID) || holds(got, e1SkuID) {
			t.Errorf("refused update changed licences: %v", got)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			name   string
			path   string
			body   any
			status int
			code   float64
		}{
			{"unknown user", update("00000000-0000-4000-8000-000000000000"), reassign(e1SkuID, kaizalaSkuID), 404, codeUserNotFound},
			{"remove a licence the user lacks", update(mc.located), map[string]any{"licensesToRemove": []string{kaizalaSkuID}}, 400, codeInvalidInput},
			{"PascalCase body, unknown excluded plan", update(mc.located),
				map[string]any{"LicensesToAssign": []map[string]any{{"SkuId": e1SkuID, "ExcludedPlans": []string{"nope"}}}}, 400, codeInvalidInput},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				a := sb.must(tc.status, "POST", tc.path, tok, tc.body, nil)
				if got := codeOf(t, a.body); got != tc.code {
					t.Errorf("code %v, want %v", got, tc.code)
				}
			})
		}
	})
}
