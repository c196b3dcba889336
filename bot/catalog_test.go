package bot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/pcsim"
)

func TestDefaultCatalogHasTheDocumentedReplacements(t *testing.T) {
	c := DefaultCatalog()
	kaizala, ok := c.RetiredFor(Subscription{OfferName: "Kaizala Pro"})
	if !ok {
		t.Fatal("Kaizala Pro is not in the default catalog")
	}
	targets := c.TargetsFor(kaizala)
	if len(targets) != 21 {
		t.Errorf("%d targets; want the 10 commercial plans and 11 education SKUs", len(targets))
	}
	e1, refusal := c.FindTarget(kaizala, "STANDARDPACK")
	if refusal != "" || e1.Name != "Office 365 E1" || e1.SkuID != "18181a46-0d4e-45cd-891e-60aabd171b4e" || e1.OfferID != "91FD106F-4B2C-4938-95AC-F54F74E9A239" {
		t.Errorf("E1 = %+v %q", e1, refusal)
	}
}

func TestFindTarget(t *testing.T) {
	c := DefaultCatalog()
	kaizala := c.Retired[0]
	for _, tc := range []struct {
		typed, want, suggestion string
	}{
		{"STANDARDPACK", "STANDARDPACK", ""},
		{"standardpack", "STANDARDPACK", ""},
		{"office 365 e1", "STANDARDPACK", ""},
		{"Office  365   E1", "STANDARDPACK", ""},
		{"spe_e3", "SPE_E3", ""},
		{"Microsoft 365 Business Premium", "SPB", ""},
		{"STANDARDPAK", "", "STANDARDPACK"},
		{"office 365 e2", "", "Office 365 E1"},
		{"E1", "", "Office 365 E1"},
		{"teams phone", "", ""},
	} {
		t.Run(tc.typed, func(t *testing.T) {
			got, refusal := c.FindTarget(kaizala, tc.typed)
			if got.SkuPartNumber != tc.want {
				t.Errorf("got %q, want %q (refusal %q)", got.SkuPartNumber, tc.want, refusal)
			}
			if tc.want == "" && (refusal == "" || !strings.Contains(refusal, tc.typed)) {
				t.Errorf("refusal %q should name what was typed", refusal)
			}
			if tc.suggestion != "" && !strings.Contains(refusal, "Did you mean") || tc.suggestion != "" && !strings.Contains(refusal, tc.suggestion) {
				t.Errorf("refusal %q should suggest %q", refusal, tc.suggestion)
			}
		})
	}
}

func TestLoadCatalogExtendsAndReplaces(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `
retired:
  - name: Office 365 E4
    offerNameContains: ["Enterprise E4"]
    targets: [ENTERPRISEPREMIUM, ENTERPRISEPACK]
targets:
  - {name: Office 365 E1, skuPartNumber: STANDARDPACK, skuId: 18181a46-0d4e-45cd-891e-60aabd171b4e, offerId: 91FD106F-4B2C-4938-95AC-F54F74E9A239, listPrice: 9.50, currency: EUR}
  - {name: Microsoft 365 A1, skuPartNumber: M365EDU_A1, skuId: b17653a4-2443-4e8c-a550-18249dda78bb, offerId: 11111111-2222-3333-4444-555555555555, legacy: true}
`)
	c, err := LoadCatalog(good)
	if err != nil {
		t.Fatal(err)
	}
	e4, ok := c.RetiredFor(Subscription{OfferName: "Office 365 Enterprise E4"})
	if !ok || len(c.TargetsFor(e4)) != 2 {
		t.Errorf("the added retired SKU: %+v %v", e4, ok)
	}
	kaizala, _ := c.RetiredFor(Subscription{OfferName: "Kaizala Pro"})
	if e1, _ := c.FindTarget(kaizala, "E1"); e1.SkuPartNumber != "" {
		t.Error(`"E1" alone must not resolve; it is only a suggestion`)
	}
	if e1, _ := c.FindTarget(kaizala, "STANDARDPACK"); e1.ListPrice != 9.50 || e1.Currency != "EUR" {
		t.Errorf("the file's E1 should replace the default: %+v", e1)
	}
	if a1, _ := c.FindTarget(kaizala, "M365EDU_A1"); !a1.Legacy {
		t.Errorf("the file made A1 buyable by its legacy offer: %+v", a1)
	} else if how, ok := a1.HowToBuy(); !ok || how != BuyByLegacyOrder {
		t.Errorf("A1 with offerId and legacy: true: HowToBuy() = %q, %v; want %q", how, ok, BuyByLegacyOrder)
	}

	for name, body := range map[string]string{
		"typo.yaml":       "targets:\n  - {name: X, skuPartNumbr: X, skuId: x}\n",
		"noid.yaml":       "targets:\n  - {name: X, skuPartNumber: X}\n",
		"dangling.yaml":   "retired:\n  - {name: Y, offerNameContains: [Y], targets: [NOPE]}\n",
		"halfnce.yaml":    "targets:\n  - {name: X, skuPartNumber: X, skuId: x, productId: CFQ}\n",
		"nomatcher.yaml":  "retired:\n  - {name: Y, targets: [SPB]}\n",
		"negseats.yaml":   "targets:\n  - {name: X, skuPartNumber: X, skuId: x, productId: P, productSkuId: \"0001\", maxSeats: -1}\n",
		"legacyonly.yaml": "targets:\n  - {name: X, skuPartNumber: X, skuId: x, productId: P, productSkuId: \"0001\", legacy: true}\n",
	} {
		if _, err := LoadCatalog(write(name, body)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := LoadCatalog(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing file must be an error")
	}
}

// catalogFile writes a catalog of that many targets (SKU_0…) and retired
// SKUs moving to SKU_0, and returns its path.
func catalogFile(t *testing.T, targets, retired int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("retired:\n")
	for i := range retired {
		fmt.Fprintf(&b, "  - {name: Retired %d, offerNameContains: [Retired %d], targets: [SKU_0]}\n", i, i)
	}
	b.WriteString("targets:\n")
	for i := range targets {
		fmt.Fprintf(&b, "  - {name: Target %d, skuPartNumber: SKU_%d, skuId: %08d-0000-0000-0000-000000000000}\n", i, i, i)
	}
	p := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCatalogReplacesInPlaceIgnoringCase(t *testing.T) {
	p := filepath.Join(t.TempDir(), "catalog.yaml")
	body := `
retired:
  - {name: kaizala pro, offerNameContains: [Kaizala], targets: [standardpack]}
targets:
  - {name: E1 from the file, skuPartNumber: standardpack, skuId: 18181a46-0d4e-45cd-891e-60aabd171b4e, offerId: X}
  - {name: New, skuPartNumber: NEW_X, skuId: a}
  - {name: New again, skuPartNumber: new_x, skuId: b}
`
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCatalog(p)
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultCatalog()
	if len(c.Retired) != len(def.Retired) || c.Retired[0].Name != "kaizala pro" || len(c.Retired[0].Targets) != 1 {
		t.Errorf("the file's Kaizala Pro should replace the default's in place: %+v", c.Retired)
	}
	if len(c.Targets) != len(def.Targets)+1 {
		t.Fatalf("%d targets, want the %d defaults and one new", len(c.Targets), len(def.Targets))
	}
	for i, d := range def.Targets {
		if strings.EqualFold(d.SkuPartNumber, "STANDARDPACK") && c.Targets[i].Name != "E1 from the file" {
			t.Errorf("target #%d = %+v; the file's E1 should replace it in place", i+1, c.Targets[i])
		}
	}
	if last := c.Targets[len(c.Targets)-1]; last.Name != "New again" {
		t.Errorf("the last of the file's entries with one skuPartNumber wins: %+v", last)
	}
	if got := foldKey("\u212a"); got != foldKey("k") || foldKey("K") != got {
		t.Errorf("the Kelvin sign, K and k must share a key, as strings.EqualFold says")
	}
}

func TestCatalogMergeTakesLinearTime(t *testing.T) {
	catalog := func(n int) *Catalog {
		c := &Catalog{Targets: make([]Target, n), Retired: make([]RetiredSKU, n)}
		for i := range n {
			c.Targets[i] = Target{Name: fmt.Sprint("Target ", i), SkuPartNumber: fmt.Sprint("SKU_", i), SkuID: fmt.Sprint(i)}
			c.Retired[i] = RetiredSKU{Name: fmt.Sprint("Retired ", i), OfferNameContains: []string{"x"}, Targets: []string{"SKU_0"}}
		}
		return c
	}
	// 8 times the entries: linear takes about 8 times as long, quadratic 64
	// times; the threshold sits between with room for a busy machine's noise
	// (a few milliseconds of GC on the small side), and the best of five runs.
	const n, factor = 5_000, 8
	small, large := catalog(n), catalog(factor*n)
	fastest := func(extra *Catalog) time.Duration {
		best := time.Duration(1 << 62)
		for range 5 {
			c := DefaultCatalog()
			start := time.Now()
			c.merge(extra)
			best = min(best, time.Since(start))
		}
		return best
	}
	ts, tl := fastest(small), fastest(large)
	if tl > 4*factor*ts || tl > 2*time.Second {
		t.Errorf("merging %d targets and retired SKUs took %v, %d took %v: the merge is not linear", n, ts, factor*n, tl)
	}
}

func TestLoadCatalogRefusesWhatIsTooLarge(t *testing.T) {
	huge := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(huge, []byte("# "+strings.Repeat("x", int(maxCatalogBytes))+"\ntargets: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"more than 4 MiB", huge, "larger than the limit of 4 MiB"},
		{"too many targets", catalogFile(t, maxCatalogTargets+1, 1), "lists 10001 targets, more than the limit of 10000"},
		{"too many retired SKUs", catalogFile(t, 1, maxCatalogRetired+1), "lists 10001 retired SKUs, more than the limit of 10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadCatalog(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "list only") || strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("error %v; want one line containing %q and what to do", err, tc.want)
			}
		})
	}
	if c, err := LoadCatalog(catalogFile(t, maxCatalogTargets, maxCatalogRetired)); err != nil || len(c.Targets) != maxCatalogTargets+len(DefaultCatalog().Targets) {
		t.Errorf("a catalog at the limits must load: %v", err)
	}
}

// Office 365 E4 is retired the same way as Kaizala Pro, with the options its
// own Partner Center page documents.
func TestDefaultCatalogKnowsOffice365E4(t *testing.T) {
	c := DefaultCatalog()
	for _, tc := range []struct {
		offer   string
		retired string
	}{
		{"Office 365 Enterprise E4", "Office 365 E4"},
		{"OFFICE 365 E4 (Government)", "Office 365 E4"},
		{"Microsoft Kaizala Pro", "Kaizala Pro"},
		{"Office 365 E3", ""},
		{"Office 365 Enterprise E5", ""},
	} {
		r, ok := c.RetiredFor(Subscription{OfferName: tc.offer})
		if got := map[bool]string{true: r.Name}[ok]; got != tc.retired {
			t.Errorf("%q is matched as %q, want %q", tc.offer, got, tc.retired)
		}
	}
	e4, _ := c.RetiredFor(Subscription{OfferName: "Office 365 Enterprise E4"})
	var targets []string
	for _, tg := range c.TargetsFor(e4) {
		targets = append(targets, tg.SkuPartNumber)
	}
	if want := []string{"ENTERPRISEPREMIUM", "SPE_E5", "ENTERPRISEPACK", "SPE_E3"}; !slices.Equal(slices.Sorted(slices.Values(targets)), slices.Sorted(slices.Values(want))) {
		t.Errorf("E4's targets %v, want %v", targets, want)
	}
}

// The default catalog's purchase ids, each checked against its public source
// in catalog.yaml's comments: a change here is a change of what is bought.
var defaultPurchaseIDs = []struct {
	part, productID, skuID string
	maxSeats               int
}{
	{"O365_BUSINESS_ESSENTIALS", "CFQ7TTC0LH18", "0001", 300},
	{"O365_BUSINESS_PREMIUM", "CFQ7TTC0LDPB", "0001", 300},
	{"SPB", "CFQ7TTC0LCHC", "0002", 300},
	{"SPE_F1", "CFQ7TTC0LH05", "0001", 0},
	{"DESKLESSPACK", "CFQ7TTC0LGZW", "0001", 0},
	{"STANDARDPACK", "CFQ7TTC0LF8Q", "0001", 0},
	{"SPE_E3", "CFQ7TTC0LFLX", "0001", 0},
	{"ENTERPRISEPACK", "CFQ7TTC0LF8R", "0001", 0},
	{"SPE_E5", "CFQ7TTC0LFLZ", "0002", 0},
	{"ENTERPRISEPREMIUM", "CFQ7TTC0LF8S", "0002", 0},
}

// Every commercial target is bought through a new-commerce cart (legacy
// offers cannot be bought as new subscriptions since July 2023); the
// education SKUs, whose ids are not public, cannot be bought until a catalog
// file names them.
func TestDefaultCatalogBuysCommercialTargetsByCart(t *testing.T) {
	c := DefaultCatalog()
	commercial := map[string]bool{}
	for _, want := range defaultPurchaseIDs {
		commercial[want.part] = true
		t.Run(want.part, func(t *testing.T) {
			tg, ok := targetByPart(c, want.part)
			if !ok {
				t.Fatal("not in the default catalog")
			}
			if tg.ProductID != want.productID || tg.ProductSkuID != want.skuID || tg.MaxSeats != want.maxSeats {
				t.Errorf("productId %q, productSkuId %q, maxSeats %d; want %q, %q, %d",
					tg.ProductID, tg.ProductSkuID, tg.MaxSeats, want.productID, want.skuID, want.maxSeats)
			}
			if tg.BillingCycle != "annual" || tg.TermDuration != "P1Y" {
				t.Errorf("billingCycle %q, termDuration %q; want annual, P1Y", tg.BillingCycle, tg.TermDuration)
			}
			if tg.ListPrice <= 0 || tg.Currency != "USD" {
				t.Errorf("listPrice %v %s; want a USD list price", tg.ListPrice, tg.Currency)
			}
			if how, ok := tg.HowToBuy(); !ok || how != BuyByCart || tg.Legacy {
				t.Errorf("HowToBuy() = %q, %v (legacy %v); want %q", how, ok, tg.Legacy, BuyByCart)
			}
		})
	}
	for _, tg := range c.Targets {
		if commercial[tg.SkuPartNumber] {
			continue
		}
		if how, ok := tg.HowToBuy(); ok || tg.ProductID != "" || tg.OfferID != "" {
			t.Errorf("%s has no public purchase ids, yet HowToBuy() = %q, %v (%+v)", tg.SkuPartNumber, how, ok, tg)
		}
	}
}

func targetByPart(c *Catalog, part string) (Target, bool) {
	for _, t := range c.Targets {
		if strings.EqualFold(t.SkuPartNumber, part) {
			return t, true
		}
	}
	return Target{}, false
}

func TestHowToBuy(t *testing.T) {
	const offer, product, sku = "91FD106F-4B2C-4938-95AC-F54F74E9A239", "CFQ7TTC0LF8Q", "0001"
	for _, tc := range []struct {
		name   string
		target Target
		want   string // "" = cannot be bought
	}{
		{"new-commerce ids", Target{ProductID: product, ProductSkuID: sku}, BuyByCart},
		{"new-commerce ids and an offerId", Target{OfferID: offer, ProductID: product, ProductSkuID: sku}, BuyByCart},
		{"a legacy offerId alone", Target{OfferID: offer}, ""},
		{"a legacy offerId marked legacy", Target{OfferID: offer, Legacy: true}, BuyByLegacyOrder},
		{"marked legacy, with both", Target{OfferID: offer, ProductID: product, ProductSkuID: sku, Legacy: true}, BuyByLegacyOrder},
		{"marked legacy without an offerId", Target{ProductID: product, ProductSkuID: sku, Legacy: true}, BuyByCart},
		{"a productId without its sku", Target{ProductID: product, OfferID: offer}, ""},
		{"no ids", Target{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			how, ok := tc.target.HowToBuy()
			if how != tc.want || ok != (tc.want != "") {
				t.Errorf("HowToBuy() = %q, %v; want %q, %v", how, ok, tc.want, tc.want != "")
			}
		})
	}
}

func TestCatalogValidatesMaxSeatsAndLegacy(t *testing.T) {
	for _, tc := range []struct {
		name, entry, wantErr string // wantErr "" = valid
	}{
		{"a documented maximum", `maxSeats: 300`, ""},
		{"unknown", `maxSeats: 0`, ""},
		{"negative", `maxSeats: -1`, "maxSeats is -1"},
		{"legacy with an offerId", `offerId: 91FD106F-4B2C-4938-95AC-F54F74E9A239, legacy: true`, ""},
		{"legacy without an offerId", `legacy: true`, "legacy: true needs the legacy offerId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseCatalog([]byte("targets:\n  - {name: X, skuPartNumber: X, skuId: x, productId: P, productSkuId: \"0001\", " + tc.entry + "}\n"))
			if err != nil {
				t.Fatal(err)
			}
			err = c.validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("want it valid: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "target X")):
				t.Errorf("error %v; want one naming target X and containing %q", err, tc.wantErr)
			}
		})
	}
}

// The sandbox sells what the default catalog buys: the same new-commerce
// product and sku for each target (with the target's name), the documented
// maximum seats where the catalog knows one, the same legacy offers tied to
// the same Entra skuId, and no other product.
func TestDefaultCatalogMatchesTheSandbox(t *testing.T) {
	opts := pcsim.DefaultOptions()
	opts.Customers, opts.RateLimit, opts.GDAPMissing = 1, 0, 0
	srv := httptest.NewServer(pcsim.New(opts))
	t.Cleanup(srv.Close)
	token := sandboxToken(t, srv.URL, opts)
	get := func(path string, into any) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
		}
		return resp.StatusCode
	}

	var products struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if code := get("/v1/products?country=US&targetView=OnlineServices", &products); code != http.StatusOK {
		t.Fatalf("listing the sandbox's products: HTTP %d", code)
	}
	var sold, bought []string
	for _, p := range products.Items {
		sold = append(sold, strings.ToUpper(p.ID))
	}
	for _, tg := range DefaultCatalog().Targets {
		if tg.ProductID != "" {
			bought = append(bought, strings.ToUpper(tg.ProductID))
		}
		t.Run(tg.SkuPartNumber, func(t *testing.T) {
			if tg.ProductID != "" {
				var sku struct {
					ID              string `json:"id"`
					ProductID       string `json:"productId"`
					Title           string `json:"title"`
					MaximumQuantity int    `json:"maximumQuantity"`
				}
				path := "/v1/products/" + url.PathEscape(tg.ProductID) + "/skus/" + url.PathEscape(tg.ProductSkuID) + "?country=US"
				if code := get(path, &sku); code != http.StatusOK {
					t.Fatalf("the sandbox has no %s:%s (HTTP %d)", tg.ProductID, tg.ProductSkuID, code)
				}
				if sku.Title != tg.Name {
					t.Errorf("the sandbox sells %s:%s as %q, the catalog as %q", tg.ProductID, tg.ProductSkuID, sku.Title, tg.Name)
				}
				if tg.MaxSeats > 0 && sku.MaximumQuantity != tg.MaxSeats {
					t.Errorf("the sandbox's maximumQuantity is %d, the catalog's maxSeats %d", sku.MaximumQuantity, tg.MaxSeats)
				}
			}
			if tg.OfferID != "" {
				var offer struct {
					Product struct {
						ID string `json:"id"`
					} `json:"product"`
				}
				if code := get("/v1/offers/"+url.PathEscape(tg.OfferID)+"?country=US", &offer); code != http.StatusOK {
					t.Fatalf("the sandbox has no legacy offer %s (HTTP %d)", tg.OfferID, code)
				}
				if !strings.EqualFold(offer.Product.ID, tg.SkuID) {
					t.Errorf("the sandbox's offer %s is for sku %s, the catalog's target %s", tg.OfferID, offer.Product.ID, tg.SkuID)
				}
			}
		})
	}
	slices.Sort(sold)
	slices.Sort(bought)
	if !slices.Equal(sold, bought) {
		t.Errorf("the sandbox sells products %v, the catalog buys %v", sold, bought)
	}
}

// sandboxToken gets an app-only token from the sandbox at base.
func sandboxToken(t *testing.T, base string, opts pcsim.Options) string {
	t.Helper()
	resp, err := http.PostForm(base+"/sandbox-tenant/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {opts.ClientID}, "client_secret": {opts.ClientSecret},
		"resource": {"https://api.partnercenter.microsoft.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("sandbox token: HTTP %d, %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// A partner can name an end-of-sale new-commerce product by its productId:
// a new-commerce subscription's offerId is its catalog item id.
func TestRetiredNewCommerceProductsMatchByProductID(t *testing.T) {
	r := RetiredSKU{Name: "Old NCE thing", ProductIDs: []string{"CFQ7TTC0LH18"}, Targets: []string{"SPB"}}
	for offer, want := range map[string]bool{
		"CFQ7TTC0LH18:0001:CFQ7TTC0K971": true, "cfq7ttc0lh18:0001:x": true,
		"CFQ7TTC0LH180:0001:X": false, "CFQ7TTC0LH18": false, "91FD106F-4B2C-4938-95AC-F54F74E9A239": false,
	} {
		if got := r.Matches(Subscription{OfferID: offer, OfferName: "Microsoft 365 Business Basic"}); got != want {
			t.Errorf("offerId %q: Matches = %v, want %v", offer, got, want)
		}
	}
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(path, []byte("retired:\n  - {name: Old NCE thing, productIds: [CFQ7TTC0LH18], targets: [SPB]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCatalog(path); err != nil {
		t.Errorf("a retired product named by productIds only is refused: %v", err)
	}
}
