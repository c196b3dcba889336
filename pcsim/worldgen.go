package pcsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
	"unicode"
)

// worldSalt makes the world RNG stream differ from the fault RNG stream built from the same seed.
const worldSalt = 0x6b61697a616c6121 // "kaizala!"

// kaizalaBands are the end-date bands, in days from today, that the Kaizala Pro subscriptions are spread over:
// just ended but still active, ending within a week, a month, a quarter, and later.
var kaizalaBands = [][2]int{{-5, -1}, {0, 7}, {8, 30}, {31, 90}, {91, 400}}

// generator builds a world from one RNG; every draw happens in a fixed order so a seed fixes the world.
type generator struct {
	r            *rand.Rand
	today        time.Time
	kaizalaSeats int // when > 0, every Kaizala Pro subscription has this many seats, all assigned
}

// seeded pairs a subscription with how many of its seats are assigned to users.
type seeded struct {
	sub      *subscription
	assigned int
}

// Plans the seeded world uses, by AAD sku id.
var (
	planKaizala         = mustPlan(kaizalaSkuID)
	planO365E1          = mustPlan("18181a46-0d4e-45cd-891e-60aabd171b4e")
	planO365E3          = mustPlan("6fd2c87f-b296-42f0-b197-1e91e994b900")
	planO365F3          = mustPlan("4b585984-651b-448a-9e53-3b10f069cf7f")
	planBusinessBasic   = mustPlan("3b555118-da6a-4418-894f-7df1e2096870")
	planBusinessStd     = mustPlan("f245ecc8-75af-4f8e-b61f-27d8114de5f3")
	planBusinessPremium = mustPlan("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46")
	planM365E3          = mustPlan("05e9a617-0261-4cee-bb44-138d3ef5d965") // not seeded: the retired O365 E3's successor
	planM365E5          = mustPlan("06ebc4ee-1bb5-47dd-8120-11324bc54e06") // not seeded: NCE O365 E3's immediate upgrade
)

// worldDraws keeps what drawing the customers needs, so that the last ones can be drawn again (redrawLast).
type worldDraws struct {
	src        *rand.PCG
	today      time.Time
	seats      int // Options.KaizalaSeats
	kaizalaEnd map[int]int
	odd        []int
	before     []rand.PCG // the RNG state before each customer was drawn
}

func buildWorld(seed int64, n int, today time.Time, kaizalaSeats int) *world {
	src := rand.NewPCG(uint64(seed), uint64(seed)^worldSalt)
	g := &generator{r: rand.New(src), today: today, kaizalaSeats: kaizalaSeats}
	names, domains := g.companies(n)
	d := &worldDraws{src: src, today: today, seats: kaizalaSeats, kaizalaEnd: g.kaizalaEnds(n)}
	d.odd = g.r.Perm(n) // the first two get a "disabled" subscription, the third a suspended one
	d.before = make([]rand.PCG, n)

	w := &world{byID: map[string]*customer{}, draws: d}
	for i := range n {
		d.before[i] = *src
		c := g.customer(d, i, n, names[i], domains[i], false)
		w.customers = append(w.customers, c)
		w.byID[c.id] = c
	}
	return w
}

// deniedKaizalaEnd is where the Kaizala Pro subscription of a customer reserved for an access failure ends, in
// days from today: inside the 30-day alert window, so a scan reports it and a person plans for it, but late in
// it, so that tests and the demo, which take the soonest-ending subscription, meet reachable customers first.
const deniedKaizalaEnd = 29

// customer draws customer i of n. A reserved customer holds an active, non-renewing Kaizala Pro subscription
// ending deniedKaizalaEnd days from today, whatever the seed gave it.
func (g *generator) customer(d *worldDraws, i, n int, name, domain string, reserved bool) *customer {
	c := &customer{id: seededGUID(g.r), commerceID: seededGUID(g.r), companyName: name, domain: domain}
	end, hasKaizala := d.kaizalaEnd[i]
	if reserved {
		end, hasKaizala = deniedKaizalaEnd, true
	}
	seats := g.subscriptions(c, hasKaizala, end, i == d.odd[0] || (n > 1 && i == d.odd[1]), n > 2 && i == d.odd[2])
	g.users(c, seats)
	if hasKaizala {
		g.placeKaizalaHolders(c, end > cleanKaizalaWithin)
	}
	return c
}

// redrawLast draws the last k customers again as reserved ones, from the RNG state the first of them was drawn
// with, and puts them in place of the seeded ones (same names and domains; the first keeps its ids). No other
// customer changes. It returns the new customers in listing order.
func (w *world) redrawLast(k int) []*customer {
	d, n := w.draws, len(w.customers)
	k = min(k, n)
	if k <= 0 {
		return nil
	}
	src := d.before[n-k]
	g := &generator{r: rand.New(&src), today: d.today, kaizalaSeats: d.seats}
	var out []*customer
	for i := n - k; i < n; i++ {
		old := w.customers[i]
		c := g.customer(d, i, n, old.companyName, old.domain, true)
		delete(w.byID, old.id)
		w.customers[i], w.byID[c.id] = c, c
		out = append(out, c)
	}
	return out
}

// subscriptions gives a customer its seeded subscriptions: Kaizala Pro (non-renewing) when chosen, and with
// some probability the decoys a discovery scan has to skip.
func (g *generator) subscriptions(c *customer, kaizala bool, kaizalaEnd int, disabled, suspended bool) []seeded {
	var seats []seeded
	add := func(s *subscription, assigned int) { seats = append(seats, seeded{s, assigned}) }
	if kaizala {
		q := 3 + g.r.IntN(58)
		assigned := g.share(q, 60, 100)
		if g.kaizalaSeats > 0 { // drawn above all the same, so the rest of the world does not change
			q, assigned = g.kaizalaSeats, g.kaizalaSeats
		}
		add(g.subscription(c, planKaizala, q, kaizalaEnd, false, "annual", "active", legacy), assigned)
		if g.r.IntN(4) == 0 { // already holds a replacement plan with free seats
			q := 10 + g.r.IntN(31)
			add(g.subscription(c, planO365E1, q, 30+g.r.IntN(300), true, "monthly", "active", legacy), q-5-g.r.IntN(6))
		}
	}
	if g.r.IntN(10) < 6 {
		q, off := 5+g.r.IntN(76), 31+g.r.IntN(335)
		if g.r.IntN(10) < 3 { // auto-renewing and ending soon: not a migration candidate
			off = g.r.IntN(31)
		}
		add(g.subscription(c, planO365E3, q, off, true, "monthly", "active", legacy), g.share(q, 70, 100))
	}
	if g.r.IntN(100) < 15 { // non-renewing and ending soon, but not Kaizala
		q := 2 + g.r.IntN(24)
		add(g.subscription(c, planBusinessBasic, q, 1+g.r.IntN(30), false, "annual", "active", legacy), g.share(q, 50, 100))
	}
	if g.r.IntN(100) < 15 {
		q := 3 + g.r.IntN(40)
		add(g.subscription(c, planBusinessPremium, q, 31+g.r.IntN(335), true, "monthly", "active", newCommerce), g.share(q, 70, 100))
	}
	if disabled { // a newer status value that old clients choked on (Partner-Center-PowerShell#403)
		add(g.subscription(c, planBusinessStd, 5+g.r.IntN(11), -100-g.r.IntN(100), false, "annual", "disabled", legacy), 0)
	}
	if suspended {
		add(g.subscription(c, planO365F3, 5+g.r.IntN(16), 60+g.r.IntN(140), false, "monthly", "suspended", legacy), 0)
	}
	return seats
}

// companies draws n distinct company names and matching unique onmicrosoft.com domains.
func (g *generator) companies(n int) (names, domains []string) {
	combos := len(companyWords) * len(companySuffixes)
	perm := g.r.Perm(combos)
	for i := range n {
		k := perm[i%combos]
		name := companyWords[k/len(companySuffixes)] + " " + companySuffixes[k%len(companySuffixes)]
		if i >= combos { // more customers than word pairs: number the repeats
			name += fmt.Sprintf(" %d", i/combos+1)
		}
		names = append(names, name)
		domains = append(domains, domainOf(name))
	}
	return names, domains
}

func domainOf(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		}
	}
	return b.String() + ".onmicrosoft.com"
}

// kaizalaEnds picks round(0.4*n) customers by a seeded permutation and gives each an end-date offset in days,
// cycling through kaizalaBands before shuffling so that every band is populated.
func (g *generator) kaizalaEnds(n int) map[int]int {
	k := int(math.Round(0.4 * float64(n)))
	chosen := g.r.Perm(n)[:k]
	bands := make([]int, k)
	for j := range bands {
		bands[j] = j % len(kaizalaBands)
	}
	g.r.Shuffle(k, func(a, b int) { bands[a], bands[b] = bands[b], bands[a] })
	ends := map[int]int{}
	for j, ci := range chosen {
		b := kaizalaBands[bands[j]]
		ends[ci] = b[0] + g.r.IntN(b[1]-b[0]+1)
	}
	return ends
}

// share returns between lo% and hi% of q, rounded up.
func (g *generator) share(q, lo, hi int) int {
	pct := lo + g.r.IntN(hi-lo+1)
	return min(q, (q*pct+99)/100)
}

const (
	legacy      = false
	newCommerce = true
)

// subscription adds a one-year subscription ending endOffset days from today, with the order that bought it.
func (g *generator) subscription(c *customer, p *plan, qty, endOffset int, autoRenew bool, cycle, status string, nce bool) *subscription {
	offerID := p.OfferID
	if nce {
		offerID = p.catalogItemID()
	}
	end := g.today.AddDate(0, 0, endOffset)
	start := end.AddDate(-1, 0, 1)
	created := start.Add(time.Duration(g.r.IntN(86_400_000)) * time.Millisecond)
	s := &subscription{
		id: strings.ToUpper(seededGUID(g.r)), plan: p, offerID: offerID, friendlyName: p.Name, quantity: qty,
		created: created, start: start, end: end, status: status, autoRenew: autoRenew,
		billingCycle: cycle, termDuration: "P1Y", nce: nce, version: 1,
	}
	o := &order{id: seededGUID(g.r), created: created, billingCycle: cycle, nce: nce, lines: []orderLine{{
		offerID: offerID, subscriptionID: s.id, friendlyName: p.Name, quantity: qty, termDuration: "P1Y", plan: p,
	}}}
	s.orderID = strings.ToUpper(o.id)
	c.subs = append(c.subs, s)
	c.orders = append(c.orders, o)
	return s
}

// cleanKaizalaWithin: Kaizala Pro holders of subscriptions ending within this many days all have a usage location,
// so the migrations people are alerted about can finish; in each subscription ending later exactly one holder has
// none, so plans that show "cannot be moved, and why" are there to be seen (and tested) too.
const cleanKaizalaWithin = 90

// placeKaizalaHolders gives every Kaizala Pro holder a usage location, then (withOneMissing) takes it away from one.
func (g *generator) placeKaizalaHolders(c *customer, withOneMissing bool) {
	var holders []*user
	for _, u := range c.users {
		for _, l := range u.licenses {
			if strings.EqualFold(l.skuID, kaizalaSkuID) {
				holders = append(holders, u)
			}
		}
	}
	for _, u := range holders {
		if u.usageLocation == "" {
			u.usageLocation = usageLocations[g.r.IntN(len(usageLocations))]
		}
	}
	if withOneMissing && len(holders) > 0 {
		holders[g.r.IntN(len(holders))].usageLocation = ""
	}
}

// users creates enough users for the most-assigned subscription plus 2–5 who stay unlicensed, then hands out
// each subscription's assigned seats to a random subset of the others. About one user in ten has no usage
// location.
func (g *generator) users(c *customer, seats []seeded) {
	most := 0
	for _, s := range seats {
		most = max(most, s.assigned)
	}
	n := most + 2 + g.r.IntN(4)
	taken := map[string]bool{}
	for j := range n {
		first, last := firstNames[g.r.IntN(len(firstNames))], lastNames[g.r.IntN(len(lastNames))]
		local := strings.ToLower(first + "." + last)
		if taken[local] {
			local += fmt.Sprint(j)
		}
		taken[local] = true
		u := &user{
			id: seededGUID(g.r), firstName: first, lastName: last, displayName: first + " " + last,
			upn: local + "@" + c.domain,
		}
		if g.r.IntN(10) != 0 {
			u.usageLocation = usageLocations[g.r.IntN(len(usageLocations))]
		}
		c.users = append(c.users, u)
	}
	licensable := g.r.Perm(n)[:most]
	for _, s := range seats {
		for _, k := range g.r.Perm(most)[:s.assigned] {
			u := c.users[licensable[k]]
			u.licenses = append(u.licenses, heldLicense{skuID: s.sub.plan.SkuID})
		}
	}
}
