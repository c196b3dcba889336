package pcsim

import (
	"bytes"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKaizalaCandidates: the seeded world holds the subscriptions the bot has to find, spread over the
// look-ahead windows it cares about, plus renewing and non-Kaizala subscriptions it must skip.
func TestKaizalaCandidates(t *testing.T) {
	// As seeded: the customers GDAPMissing reserves get a Kaizala Pro subscription of their own (access_test.go).
	sb := newSandbox(t, func(o *Options) { o.GDAPMissing = 0 })
	tok := sb.appToken()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var candidates, within7, within30, within90, renewingSoon, otherNonRenewing, disabled, suspended int
	for _, c := range sb.customers(tok) {
		for _, s := range sb.subscriptions(tok, c.ID) {
			end, err := time.Parse(time.RFC3339, s.CommitmentEndDate)
			if err != nil {
				t.Fatalf("commitmentEndDate %q: %v", s.CommitmentEndDate, err)
			}
			days := int(end.Sub(today).Hours() / 24)
			switch {
			case s.Status == "disabled":
				disabled++
			case s.Status == "suspended":
				suspended++
			case strings.Contains(s.OfferName, "Kaizala Pro") && !s.AutoRenewEnabled && s.Status == "active":
				candidates++
				if days <= 7 {
					within7++
				}
				if days <= 30 {
					within30++
				}
				if days <= 90 {
					within90++
				}
			case s.AutoRenewEnabled && days <= 30:
				renewingSoon++
			case !s.AutoRenewEnabled && days <= 30:
				otherNonRenewing++
			}
		}
	}
	if want := int(math.Round(0.4 * 30)); candidates != want {
		t.Errorf("%d Kaizala Pro candidates, want %d", candidates, want)
	}
	if within7 < 2 || within30-within7 < 2 || within90-within30 < 2 {
		t.Errorf("end dates not spread: %d within 7 days, %d within 30, %d within 90", within7, within30, within90)
	}
	if renewingSoon == 0 || otherNonRenewing == 0 || disabled != 2 || suspended != 1 {
		t.Errorf("decoys: %d renewing soon, %d other non-renewing, %d disabled, %d suspended",
			renewingSoon, otherNonRenewing, disabled, suspended)
	}
}

// dumpWorld concatenates every GET answer that describes the world.
func dumpWorld(t *testing.T, sb *sandbox) []byte {
	t.Helper()
	tok := sb.userToken()
	var out bytes.Buffer
	out.Write(sb.must(http.StatusOK, "GET", "/v1/customers?size=500", tok, nil, nil).body)
	for _, c := range sb.customers(tok) {
		base := "/v1/customers/" + c.ID
		for _, path := range []string{base, base + "/subscriptions", base + "/orders", base + "/users?size=500", base + "/subscribedskus"} {
			out.Write(sb.must(http.StatusOK, "GET", path, tok, nil, nil).body)
		}
		for _, u := range sb.users(tok, c.ID) {
			out.Write(sb.must(http.StatusOK, "GET", base+"/users/"+u.ID+"/licenses", tok, nil, nil).body)
		}
	}
	return out.Bytes()
}

func TestSeedDeterminesWorld(t *testing.T) {
	at := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	world := func(seed int64, now time.Time) []byte {
		return dumpWorld(t, newSandbox(t, func(o *Options) {
			o.Seed, o.Customers = seed, 12
			o.GDAPMissing = 0 // dumpWorld reads every tenant; TestDeniedCustomersAreDetermined covers the others
			o.Now = func() time.Time { return now }
		}))
	}
	base := world(7, at)
	tests := []struct {
		name string
		seed int64
		now  time.Time
		same bool
	}{
		{"same seed", 7, at, true},
		{"same seed later the same day", 7, at.Add(10 * time.Hour), true},
		{"other seed", 8, at, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := world(tc.seed, tc.now); bytes.Equal(got, base) != tc.same {
				t.Errorf("world equal = %v, want %v", !tc.same, tc.same)
			}
		})
	}
}

func TestWorldSizes(t *testing.T) {
	for _, n := range []int{1, 10, 40, 401} {
		t.Run("", func(t *testing.T) {
			w := buildWorld(3, n, midnight(time.Now()), 0)
			domains, kaizala := map[string]bool{}, 0
			for _, c := range w.customers {
				domains[c.domain] = true
				unlicensed := 0
				for _, u := range c.users {
					if len(u.licenses) == 0 {
						unlicensed++
					}
				}
				if unlicensed < 2 {
					t.Errorf("%s: %d unlicensed users, want at least 2", c.companyName, unlicensed)
				}
				for _, s := range c.subs {
					if s.plan.SkuID == kaizalaSkuID {
						kaizala++
					}
				}
				for _, p := range c.pools(time.Now()) {
					if p.consumed > p.total+p.suspended {
						t.Errorf("%s: %d users hold %s but only %d seats exist", c.companyName, p.consumed, p.plan.Name, p.total)
					}
				}
			}
			if len(w.customers) != n || len(domains) != n {
				t.Errorf("%d customers with %d distinct domains, want %d", len(w.customers), len(domains), n)
			}
			if want := int(math.Round(0.4 * float64(n))); kaizala != want {
				t.Errorf("%d Kaizala Pro subscriptions, want %d", kaizala, want)
			}
		})
	}
}

// Kaizala Pro holders of subscriptions ending within 90 days can all be
// licensed (so alerted migrations can finish); each later subscription has
// exactly one holder without a usage location (the "cannot be moved" case).
func TestKaizalaHoldersUsageLocations(t *testing.T) {
	today := midnight(time.Now())
	w := buildWorld(7, 200, today, 0)
	var clean, withOne int
	for _, c := range w.customers {
		for _, s := range c.subs {
			if !strings.EqualFold(s.plan.SkuID, kaizalaSkuID) {
				continue
			}
			missing := 0
			for _, u := range c.users {
				for _, l := range u.licenses {
					if strings.EqualFold(l.skuID, kaizalaSkuID) && u.usageLocation == "" {
						missing++
					}
				}
			}
			days := int(s.end.Sub(today).Hours() / 24)
			switch {
			case days <= cleanKaizalaWithin && missing != 0:
				t.Errorf("%s ends in %d days but %d holders lack a usage location", c.domain, days, missing)
			case days > cleanKaizalaWithin && missing != 1:
				t.Errorf("%s ends in %d days; want exactly one holder without a usage location, got %d", c.domain, days, missing)
			case days <= cleanKaizalaWithin:
				clean++
			default:
				withOne++
			}
		}
	}
	if clean == 0 || withOne == 0 {
		t.Errorf("clean %d, with one missing %d: both kinds should exist", clean, withOne)
	}
}
