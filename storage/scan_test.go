package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

func finding(customer bot.Customer, subID string, quantity int, end time.Time, daysLeft int) bot.Finding {
	return bot.Finding{
		Customer: customer,
		Subscription: bot.Subscription{ID: subID, CustomerID: customer.ID, OfferID: "KP", OfferName: "Kaizala Pro", FriendlyName: "chat",
			Quantity: quantity, Status: "active", BillingCycle: "annual", EndDate: end},
		Retired: "Kaizala Pro", DaysLeft: daysLeft,
	}
}

func TestSaveScanTracksSubscriptions(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		if _, err := db.LastScan(ctx); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("LastScan before any scan: %v, want ErrNotFound", err)
		}
		contoso := bot.Customer{ID: contosoID, Domain: "contoso.onmicrosoft.com", Name: "Contoso"}
		fabrikam := bot.Customer{ID: "CUST-F", Name: "Fabrikam"}
		day := func(n int) time.Time { return time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n) }
		t1, t2 := time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC), time.Date(2025, 3, 2, 6, 0, 0, 0, time.UTC)

		first := &bot.ScanReport{Started: t1.Add(-time.Minute), Finished: t1, Customers: 2, Findings: []bot.Finding{
			finding(contoso, "SUB-A", 10, day(30), 60), finding(fabrikam, "SUB-B", 5, day(10), 40),
		}}
		second := &bot.ScanReport{Started: t2.Add(-time.Minute), Finished: t2, Customers: 3, Findings: []bot.Finding{
			finding(contoso, "sub-a", 12, day(30), 59), finding(fabrikam, "SUB-C", 1, time.Time{}, 0), finding(contoso, "SUB-D", 3, day(10), 39),
		}, Failures: []bot.CustomerFailure{{Customer: bot.Customer{ID: "CUST-G", Domain: "gamma.example"}, Err: errors.New("403 forbidden")}},
			Access: []bot.CustomerAccess{{Customer: fabrikam, Problem: bot.AccessProblem{Code: "900308", Kind: bot.AccessGDAPRole, Role: bot.RoleLicenseAdministrator}}}}
		for _, r := range []*bot.ScanReport{first, second} {
			if err := db.SaveScan(ctx, r); err != nil {
				t.Fatal(err)
			}
		}

		a, err := db.FindSubscription(ctx, "SUB-A")
		if err != nil {
			t.Fatal(err)
		}
		if !a.FirstSeen.Equal(t1) || !a.LastSeen.Equal(t2) || a.Subscription.Quantity != 12 || a.DaysLeft != 59 || !a.Subscription.EndDate.Equal(day(30)) ||
			a.Customer != contoso || a.Subscription.CustomerID != contosoID {
			t.Errorf("SUB-A after two scans: %+v; want first seen %v, last seen %v and the second scan's state", a, t1, t2)
		}
		if b, _ := db.FindSubscription(ctx, "sub-b"); b == nil || !b.LastSeen.Equal(t1) {
			t.Errorf("SUB-B, not seen by the second scan, should be kept as it was: %+v", b)
		}
		if _, err := db.FindSubscription(ctx, "SUB-Z"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("an unknown subscription: %v, want ErrNotFound", err)
		}

		all, err := db.TrackedSubscriptions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range all {
			ids = append(ids, s.Subscription.ID)
		}
		// Ending day 10: contoso.onmicrosoft.com sorts before Fabrikam; no end date last.
		if want := "SUB-D SUB-B SUB-A SUB-C"; strings.Join(ids, " ") != want {
			t.Errorf("tracked %v, want %s", ids, want)
		}

		last, err := db.LastScan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !last.Started.Equal(second.Started) || !last.Finished.Equal(t2) || last.Customers != 3 || last.Findings != 3 ||
			len(last.Failures) != 1 || last.Failures[0] != "gamma.example (CUST-G): 403 forbidden" {
			t.Errorf("last scan %+v", last)
		}
		wantAccess := bot.ScanAccess{CustomerID: "CUST-F", Customer: "Fabrikam", Code: "900308", Fix: "grant the License Administrator GDAP role for Fabrikam"}
		if len(last.Access) != 1 || last.Access[0] != wantAccess {
			t.Errorf("last scan's access problems %+v, want [%+v]", last.Access, wantAccess)
		}
		if err := db.SaveScan(ctx, first); err != nil {
			t.Fatal(err)
		}
		if last, err := db.LastScan(ctx); err != nil || len(last.Access) != 0 {
			t.Errorf("a scan without access problems: %+v, %v; want none", last, err)
		}
	})
}
