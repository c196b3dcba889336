package bot

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

//go:embed catalog.yaml
var defaultCatalogYAML []byte

// Catalog lists retired SKUs and the targets their users may move to.
type Catalog struct {
	Retired []RetiredSKU `yaml:"retired"`
	Targets []Target     `yaml:"targets"`
}

// DefaultCatalog is the embedded catalog: Kaizala Pro and the documented
// replacement plans.
func DefaultCatalog() *Catalog {
	c, err := parseCatalog(defaultCatalogYAML)
	if err == nil {
		err = c.validate()
	}
	if err != nil {
		panic("bot: the embedded catalog is invalid: " + err.Error())
	}
	return c
}

// Limits of a KAIZALA_CATALOG file. A real catalog lists a few retired SKUs
// and a few dozen targets; these leave room for generated files while
// keeping start-up to well under a second.
const (
	maxCatalogBytes   = 4 << 20 // 4 MiB
	maxCatalogRetired = 10_000
	maxCatalogTargets = 10_000
)

// LoadCatalog returns the default catalog extended by the YAML file at path
// (same shape as the default): a retired SKU with the same name or a target
// with the same skuPartNumber (compared case-insensitively) replaces the
// default one; others are added. An empty path returns the default catalog.
// A file larger than 4 MiB, or listing more than 10,000 retired SKUs or
// 10,000 targets, is refused.
func LoadCatalog(path string) (*Catalog, error) {
	c := DefaultCatalog()
	if path == "" {
		return c, nil
	}
	data, err := readCatalogFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	extra, err := parseCatalog(data)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	switch {
	case len(extra.Retired) > maxCatalogRetired:
		return nil, fmt.Errorf("catalog %s lists %d retired SKUs, more than the limit of %d: list only the retired SKUs you migrate", path, len(extra.Retired), maxCatalogRetired)
	case len(extra.Targets) > maxCatalogTargets:
		return nil, fmt.Errorf("catalog %s lists %d targets, more than the limit of %d: list only the targets your retired SKUs move to", path, len(extra.Targets), maxCatalogTargets)
	}
	c.merge(extra)
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

// readCatalogFile reads at most maxCatalogBytes, so a huge (or endless)
// file is refused before it is parsed.
func readCatalogFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCatalogBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxCatalogBytes {
		return nil, fmt.Errorf("the file is larger than the limit of %d MiB: list only the retired SKUs you migrate and their targets", maxCatalogBytes>>20)
	}
	return data, nil
}

// merge replaces c's entries by extra's of the same name or skuPartNumber
// (the first match, as strings.EqualFold decides) and appends the others,
// in one pass over each list.
func (c *Catalog) merge(extra *Catalog) {
	targets := make(map[string]int, len(c.Targets)+len(extra.Targets))
	for i := len(c.Targets) - 1; i >= 0; i-- { // backwards: the first match wins
		targets[foldKey(c.Targets[i].SkuPartNumber)] = i
	}
	for _, t := range extra.Targets {
		k := foldKey(t.SkuPartNumber)
		if i, ok := targets[k]; ok {
			c.Targets[i] = t
		} else {
			targets[k] = len(c.Targets)
			c.Targets = append(c.Targets, t)
		}
	}
	retired := make(map[string]int, len(c.Retired)+len(extra.Retired))
	for i := len(c.Retired) - 1; i >= 0; i-- {
		retired[foldKey(c.Retired[i].Name)] = i
	}
	for _, r := range extra.Retired {
		k := foldKey(r.Name)
		if i, ok := retired[k]; ok {
			c.Retired[i] = r
		} else {
			retired[k] = len(c.Retired)
			c.Retired = append(c.Retired, r)
		}
	}
}

// foldKey maps s to a key that two strings share exactly when
// strings.EqualFold says they are equal: each rune becomes the smallest rune
// of its case-folding orbit (so "K", "k" and the Kelvin sign share one).
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		lowest := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			lowest = min(lowest, f)
		}
		b.WriteRune(lowest)
	}
	return b.String()
}

func parseCatalog(data []byte) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt key is a mistake, not an ignored line
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	// Validated after merging: a file may refer to the default's targets.
	return &c, nil
}

func (c *Catalog) validate() error {
	var errs []error
	parts := map[string]bool{}
	for i, t := range c.Targets {
		switch {
		case t.Name == "" || t.SkuPartNumber == "" || t.SkuID == "":
			errs = append(errs, fmt.Errorf("target #%d (%q) needs name, skuPartNumber and skuId", i+1, t.Name))
		case parts[strings.ToUpper(t.SkuPartNumber)]:
			errs = append(errs, fmt.Errorf("target %s is listed twice", t.SkuPartNumber))
		case (t.ProductID == "") != (t.ProductSkuID == ""):
			errs = append(errs, fmt.Errorf("target %s: productId and productSkuId go together", t.SkuPartNumber))
		case t.MaxSeats < 0:
			errs = append(errs, fmt.Errorf("target %s: maxSeats is %d; give the most seats a customer may hold, or leave it out (0: unknown)", t.SkuPartNumber, t.MaxSeats))
		case t.Legacy && t.OfferID == "":
			errs = append(errs, fmt.Errorf("target %s: legacy: true needs the legacy offerId to buy", t.SkuPartNumber))
		}
		parts[strings.ToUpper(t.SkuPartNumber)] = true
	}
	for _, r := range c.Retired {
		if r.Name == "" || (len(r.OfferNameContains) == 0 && len(r.OfferIDs) == 0 && len(r.ProductIDs) == 0) {
			errs = append(errs, fmt.Errorf("retired SKU %q needs a name and offerNameContains, offerIds or productIds", r.Name))
		}
		if len(r.Targets) == 0 {
			errs = append(errs, fmt.Errorf("retired SKU %q lists no targets", r.Name))
		}
		for _, p := range r.Targets {
			if !parts[strings.ToUpper(p)] {
				errs = append(errs, fmt.Errorf("retired SKU %q: target %s is not in targets", r.Name, p))
			}
		}
	}
	return errors.Join(errs...)
}

// How a target is bought, as Target.HowToBuy answers.
const (
	// BuyByCart: a new-commerce cart of productId:productSkuId:<availability
	// resolved at run time>, the only way to buy Microsoft 365 / Office 365
	// today.
	BuyByCart = "cart"
	// BuyByLegacyOrder: a legacy order of offerId, for a catalog entry that
	// says legacy: true (the 2020 world, or a sandbox run with
	// --legacy-purchases).
	BuyByLegacyOrder = "legacy order"
)

// NeedsIDs is what a person is shown for a target that cannot be bought
// until a KAIZALA_CATALOG file names its ids.
const NeedsIDs = "needs ids in KAIZALA_CATALOG"

// HowToBuy says how the target can be bought today: BuyByLegacyOrder when
// its catalog entry says legacy: true and names an offerId, else BuyByCart
// when it names productId and productSkuId. An offerId alone is not enough:
// legacy offers are "no longer purchasable … as new subscriptions" since
// July 2023 ([PC] announcements/includes/june-2023/deprecate-migration-offers.md,
// new-commerce.md §1). ok is false when there is no way; how is then "" and
// views say NeedsIDs.
func (t Target) HowToBuy() (how string, ok bool) {
	switch {
	case t.Legacy && t.OfferID != "":
		return BuyByLegacyOrder, true
	case t.NewCommerce():
		return BuyByCart, true
	}
	return "", false
}

// RetiredFor returns the retired SKU sub belongs to.
func (c *Catalog) RetiredFor(sub Subscription) (RetiredSKU, bool) {
	for _, r := range c.Retired {
		if r.Matches(sub) {
			return r, true
		}
	}
	return RetiredSKU{}, false
}

// TargetsFor returns the targets a retired SKU's users may move to, in
// catalog order.
func (c *Catalog) TargetsFor(r RetiredSKU) []Target {
	listed := make(map[string]bool, len(r.Targets))
	for _, p := range r.Targets {
		listed[foldKey(p)] = true
	}
	var out []Target
	for _, t := range c.Targets {
		if listed[foldKey(t.SkuPartNumber)] {
			out = append(out, t)
		}
	}
	return out
}

// FindTarget resolves what a person typed (a skuPartNumber or a display
// name, any case) to one of r's targets. On a miss, refusal says what was
// wrong and suggests the closest names.
func (c *Catalog) FindTarget(r RetiredSKU, typed string) (t Target, refusal string) {
	want := normalizeName(typed)
	targets := c.TargetsFor(r)
	for _, t := range targets {
		if want == normalizeName(t.SkuPartNumber) || want == normalizeName(t.Name) {
			return t, ""
		}
	}
	var names []string
	for _, t := range targets {
		names = append(names, t.SkuPartNumber, t.Name)
	}
	suggestions := Closest(typed, names, 3)
	msg := fmt.Sprintf("%q is not a target for %s.", typed, r.Name)
	if len(suggestions) > 0 {
		msg += " Did you mean " + orList(suggestions) + "?"
	}
	return Target{}, msg
}

func normalizeName(s string) string {
	return strings.Join(strings.Fields(strings.ToUpper(strings.ReplaceAll(s, "_", " "))), " ")
}

// Closest returns up to n candidates nearest to s by edit distance, nearest
// first, leaving out those so far away that suggesting them would confuse:
// the "did you mean" of commands and targets.
func Closest(s string, candidates []string, n int) []string {
	type scored struct {
		name string
		d    int
	}
	norm := normalizeName(s)
	var all []scored
	for _, c := range candidates {
		nc := normalizeName(c)
		d := levenshtein(norm, nc)
		if strings.Contains(nc, norm) && norm != "" {
			d = min(d, 1) // "e1" in "OFFICE 365 E1"
		}
		if d <= max(2, len(nc)/3) {
			all = append(all, scored{c, d})
		}
	}
	slices.SortStableFunc(all, func(a, b scored) int { return a.d - b.d })
	var out []string
	for _, a := range all {
		if !slices.Contains(out, a.name) && len(out) < n {
			out = append(out, a.name)
		}
	}
	return out
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func orList(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
