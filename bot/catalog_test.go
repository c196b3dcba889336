package bot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
  - {name: Microsoft 365 A1, skuPartNumber: M365EDU_A1, skuId: b17653a4-2443-4e8c-a550-18249dda78bb, offerId: 11111111-2222-3333-4444-555555555555}
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
	if a1, _ := c.FindTarget(kaizala, "M365EDU_A1"); !a1.Purchasable() {
		t.Errorf("the file made A1 purchasable: %+v", a1)
	}

	for name, body := range map[string]string{
		"typo.yaml":      "targets:\n  - {name: X, skuPartNumbr: X, skuId: x}\n",
		"noid.yaml":      "targets:\n  - {name: X, skuPartNumber: X}\n",
		"dangling.yaml":  "retired:\n  - {name: Y, offerNameContains: [Y], targets: [NOPE]}\n",
		"halfnce.yaml":   "targets:\n  - {name: X, skuPartNumber: X, skuId: x, productId: CFQ}\n",
		"nomatcher.yaml": "retired:\n  - {name: Y, targets: [SPB]}\n",
	} {
		if _, err := LoadCatalog(write(name, body)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := LoadCatalog(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing file must be an error")
	}
}
