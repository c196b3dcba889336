package storage

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

const (
	contosoID = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
	kaizalaID = "A1B2C3D4-0000-4E5F-8899-AABBCCDDEEFF"
)

func testPlan() bot.Plan {
	day := time.Date(2025, 4, 30, 0, 0, 0, 0, time.UTC)
	return bot.Plan{
		CustomerID: contosoID, CustomerDomain: "contoso.onmicrosoft.com", CustomerName: "Contoso Ltd",
		Subscription: bot.PlanSubscription{ID: kaizalaID, OfferName: "Kaizala Pro", Quantity: 25, Status: "active", EndDate: day},
		Retired:      "Kaizala Pro", RetiredSkuID: "0898bdbb-73b0-471a-81e5-20f1fe4dd66e",
		Target: bot.Target{
			Name: "Office 365 E1", SkuPartNumber: "STANDARDPACK", SkuID: "18181a46-0d4e-45cd-891e-60aabd171b4e",
			OfferID: "91FD106F-4B2C-4938-95AC-F54F74E9A239", BillingCycle: "monthly", ListPrice: 10, Currency: "USD",
		},
		FreeTargetSeats: 2, Seats: 21,
		Move: []bot.PlanUser{
			{ID: "u-1", UPN: "adele@contoso.onmicrosoft.com", DisplayName: "Adele Vance"},
			{ID: "u-2", UPN: "alex@contoso.onmicrosoft.com", DisplayName: "Alex Wilber", HasTarget: true},
		},
		CannotMove:  []bot.PlanUser{{ID: "u-3", UPN: "lynne@contoso.onmicrosoft.com", DisplayName: "Lynne Robbins", Reason: "no usage location"}},
		Deprovision: day.Add(bot.DeprovisionAfter),
		CreatedAt:   time.Date(2025, 3, 14, 8, 59, 0, 0, time.UTC),
	}
}

func testMigration(id string) *bot.Migration {
	p := testPlan()
	return &bot.Migration{
		ID: id, CustomerID: p.CustomerID, CustomerDomain: p.CustomerDomain, CustomerName: p.CustomerName,
		SubscriptionID: p.Subscription.ID, Plan: p, PlanHash: "sha256:plan-1",
		Requester: bot.Actor{ID: "U024BE7LH", Name: "jane"}, State: bot.StatePendingApproval,
	}
}

// auditRows counts the audit rows.
func auditRows(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.sql.QueryRow(`SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrationRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		m := testMigration("M7K2QX")
		if err := db.CreateMigration(ctx, m, bot.AuditEntry{Action: bot.ActionPlanned, MigrationID: m.ID, Actor: m.Requester}); err != nil {
			t.Fatal(err)
		}
		if m.Version != 1 || m.CreatedAt.IsZero() || !m.UpdatedAt.Equal(m.CreatedAt) {
			t.Errorf("after create: version %d, created %v, updated %v", m.Version, m.CreatedAt, m.UpdatedAt)
		}
		got, err := db.GetMigration(ctx, "m7k2qx")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("read back\n%+v\nwant\n%+v", got, m)
		}

		m.State, m.FailedStep, m.Error, m.Override, m.NewSubscriptionID = bot.StateFailed, bot.StepMoveUsers, "2 users failed", true, "NEW-SUB"
		m.Plan.Seats = 22
		if err := db.SaveMigration(ctx, m); err != nil {
			t.Fatal(err)
		}
		if m.Version != 2 || !m.UpdatedAt.After(m.CreatedAt) {
			t.Errorf("after save: version %d, updated %v (created %v)", m.Version, m.UpdatedAt, m.CreatedAt)
		}
		if got, err = db.GetMigration(ctx, "M7K2QX"); err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("read back after save (%v)\n%+v\nwant\n%+v", err, got, m)
		}
		if entries, err := db.Audit(ctx, bot.AuditFilter{MigrationID: "m7k2qx"}); err != nil || len(entries) != 1 || entries[0].Actor != m.Requester {
			t.Errorf("audit of the creation: %+v, %v", entries, err)
		}
	})
}

func TestMigrationErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		if err := db.CreateMigration(ctx, testMigration("M1")); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			err  error
			want error
		}{
			{"get unknown", func() error { _, err := db.GetMigration(ctx, "NOPE"); return err }(), bot.ErrNotFound},
			{"save unknown", db.SaveMigration(ctx, testMigration("NOPE")), bot.ErrNotFound},
			{"create taken id, other case", db.CreateMigration(ctx, testMigration("m1")), bot.ErrConflict},
		} {
			if !errors.Is(tc.err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
			}
		}
	})
}

func TestSaveMigrationConflictWritesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		if err := db.CreateMigration(ctx, testMigration("M1")); err != nil {
			t.Fatal(err)
		}
		first, _ := db.GetMigration(ctx, "M1")
		second, _ := db.GetMigration(ctx, "M1")

		first.State = bot.StateApproved
		if err := db.SaveMigration(ctx, first, bot.AuditEntry{Action: bot.ActionApproved, MigrationID: "M1"}); err != nil {
			t.Fatal(err)
		}
		before, _ := db.VerifyAudit(ctx)

		second.State = bot.StateRejected
		err := db.SaveMigration(ctx, second, bot.AuditEntry{Action: bot.ActionRejected, MigrationID: "M1"})
		if !errors.Is(err, bot.ErrConflict) {
			t.Fatalf("the stale save: %v, want ErrConflict", err)
		}
		if second.Version != 1 {
			t.Errorf("a failed save changed Version to %d", second.Version)
		}
		after, _ := db.VerifyAudit(ctx)
		if after.Rows != 1 || after.Head != before.Head || !after.OK {
			t.Errorf("the rejected save's audit entry was written: %+v (before %+v)", after, before)
		}
		if got, _ := db.GetMigration(ctx, "M1"); got.State != bot.StateApproved || got.Version != 2 {
			t.Errorf("stored %s v%d, want the first save's approved v2", got.State, got.Version)
		}
	})
}

func TestListMigrations(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		for _, m := range []struct{ id, customer, sub string }{
			{"M1", "CUST-A", "SUB-1"}, {"M2", "CUST-B", "SUB-2"}, {"M3", "CUST-A", "SUB-3"}, {"M4", "CUST-A", "SUB-1"},
		} {
			mg := testMigration(m.id)
			mg.CustomerID, mg.SubscriptionID = m.customer, m.sub
			if err := db.CreateMigration(ctx, mg); err != nil {
				t.Fatal(err)
			}
			if m.id == "M1" { // rejected, so SUB-1 may get another (M4)
				mg.State = bot.StateRejected
				if err := db.SaveMigration(ctx, mg); err != nil {
					t.Fatal(err)
				}
			}
		}
		for id, s := range map[string]bot.State{"M2": bot.StateBuying, "M3": bot.StateDone, "M4": bot.StateMovingUsers} {
			m, _ := db.GetMigration(ctx, id)
			m.State = s
			if err := db.SaveMigration(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name string
			f    bot.MigrationFilter
			want string
		}{
			{"all, oldest first", bot.MigrationFilter{}, "M1 M2 M3 M4"},
			{"running states", bot.MigrationFilter{States: []bot.State{bot.StateBuying, bot.StateMovingUsers}}, "M2 M4"},
			{"customer, any case", bot.MigrationFilter{CustomerID: "cust-a"}, "M1 M3 M4"},
			{"subscription, any case", bot.MigrationFilter{SubscriptionID: "sub-1"}, "M1 M4"},
			{"all together", bot.MigrationFilter{CustomerID: "CUST-A", SubscriptionID: "SUB-1", States: []bot.State{bot.StateMovingUsers}}, "M4"},
			{"nothing", bot.MigrationFilter{CustomerID: "CUST-Z"}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ms, err := db.ListMigrations(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, m := range ms {
					ids = append(ids, m.ID)
				}
				if got := strings.Join(ids, " "); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
	})
}

func TestAddDecisionDeduplicates(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		if err := db.CreateMigration(ctx, testMigration("M1")); err != nil {
			t.Fatal(err)
		}
		jane, omar := bot.Actor{ID: "U1", Name: "jane"}, bot.Actor{ID: "U2", Name: "omar"}
		for _, tc := range []struct {
			name      string
			d         bot.Decision
			wantAdded bool
		}{
			{"first approval", bot.Decision{MigrationID: "M1", Actor: jane, Kind: bot.DecisionApprove, PlanHash: "h1"}, true},
			{"same click again, id in other case", bot.Decision{MigrationID: "m1", Actor: jane, Kind: bot.DecisionApprove, PlanHash: "h1"}, false},
			{"same person, new plan", bot.Decision{MigrationID: "M1", Actor: jane, Kind: bot.DecisionApprove, PlanHash: "h2"}, true},
			{"same person, other kind", bot.Decision{MigrationID: "M1", Actor: jane, Kind: bot.DecisionOverride, PlanHash: "h2", Reason: "users left"}, true},
			{"another person", bot.Decision{MigrationID: "M1", Actor: omar, Kind: bot.DecisionApprove, PlanHash: "h2"}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rows := auditRows(t, db)
				added, err := db.AddDecision(ctx, tc.d, bot.AuditEntry{Action: bot.ActionApproved, MigrationID: "M1", Actor: tc.d.Actor})
				if err != nil || added != tc.wantAdded {
					t.Fatalf("added = %v, %v; want %v", added, err, tc.wantAdded)
				}
				if wantRows := rows + map[bool]int{true: 1}[tc.wantAdded]; auditRows(t, db) != wantRows {
					t.Errorf("%d audit rows, want %d (only an added decision is audited)", auditRows(t, db), wantRows)
				}
			})
		}
		ds, err := db.Decisions(ctx, "m1")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range ds {
			got = append(got, fmt.Sprintf("%s/%s/%s", d.Actor.Name, d.Kind, d.PlanHash))
			if d.At.IsZero() {
				t.Errorf("decision %+v has no time", d)
			}
		}
		if want := "jane/approve/h1 jane/approve/h2 jane/override/h2 omar/approve/h2"; strings.Join(got, " ") != want {
			t.Errorf("decisions %v, want %s", got, want)
		}
		if _, err := db.AddDecision(ctx, bot.Decision{MigrationID: "NOPE", Actor: jane, Kind: bot.DecisionApprove}); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("a decision on an unknown migration: %v, want ErrNotFound", err)
		}
	})
}

func TestStepsAndMovesUpsert(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		if err := db.CreateMigration(ctx, testMigration("M1")); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2025, 3, 14, 10, 0, 0, 123456789, time.UTC)
		for _, s := range []bot.Step{
			{MigrationID: "M1", Name: bot.StepSuspend, State: bot.StepPending},
			{MigrationID: "M1", Name: bot.StepBuy, State: bot.StepRunning, MSRequestID: "req-1", Attempts: 1, StartedAt: start},
			{MigrationID: "M1", Name: bot.StepWaitSeats, State: bot.StepPending},
			{MigrationID: "m1", Name: bot.StepBuy, State: bot.StepDone, MSRequestID: "req-1", Attempts: 2, StartedAt: start,
				FinishedAt: start.Add(time.Minute), Result: map[string]string{"subscriptionId": "NEW-SUB", "orderId": "ORD-9"}, Version: 1},
		} {
			if err := db.SaveStep(ctx, &s, bot.AuditEntry{Action: bot.ActionStepDone, MigrationID: "M1"}); err != nil {
				t.Fatal(err)
			}
		}
		// Claiming a step is a compare-and-set: a second writer that read the
		// same version, or one that thinks the step is new, changes nothing.
		for _, stale := range []bot.Step{
			{MigrationID: "M1", Name: bot.StepBuy, State: bot.StepRunning, MSRequestID: "req-other", Version: 1},
			{MigrationID: "M1", Name: bot.StepBuy, State: bot.StepRunning, MSRequestID: "req-other"},
		} {
			if err := db.SaveStep(ctx, &stale); !errors.Is(err, bot.ErrConflict) {
				t.Errorf("saving step version %d over version 2: %v, want ErrConflict", stale.Version, err)
			}
		}
		steps, err := db.Steps(ctx, "M1")
		if err != nil {
			t.Fatal(err)
		}
		want := []bot.Step{
			{MigrationID: "M1", Name: bot.StepBuy, State: bot.StepDone, MSRequestID: "req-1", Attempts: 2, StartedAt: start,
				FinishedAt: start.Add(time.Minute), Result: map[string]string{"subscriptionId": "NEW-SUB", "orderId": "ORD-9"}, Version: 2},
			{MigrationID: "M1", Name: bot.StepWaitSeats, State: bot.StepPending, Version: 1},
			{MigrationID: "M1", Name: bot.StepSuspend, State: bot.StepPending, Version: 1},
		}
		if !reflect.DeepEqual(steps, want) {
			t.Errorf("steps\n%+v\nwant (in bot.Steps order, buy replaced)\n%+v", steps, want)
		}
		if err := db.SaveStep(ctx, &bot.Step{MigrationID: "NOPE", Name: bot.StepBuy, State: bot.StepPending}); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("a step of an unknown migration: %v, want ErrNotFound", err)
		}

		for _, mv := range []bot.UserMove{
			{MigrationID: "M1", UserID: "u-2", UPN: "Zoe@contoso.com", State: bot.MovePending},
			{MigrationID: "M1", UserID: "u-1", UPN: "adele@contoso.com", DisplayName: "Adele", State: bot.MovePending},
			{MigrationID: "M1", UserID: "U-2", UPN: "Zoe@contoso.com", State: bot.MoveFailed, MSRequestID: "r", MSCorrelationID: "c", Error: "60012"},
		} {
			if err := db.SaveUserMove(ctx, mv); err != nil {
				t.Fatal(err)
			}
		}
		moves, err := db.UserMoves(ctx, "M1")
		if err != nil {
			t.Fatal(err)
		}
		if len(moves) != 2 || moves[0].UPN != "adele@contoso.com" || moves[1].State != bot.MoveFailed || moves[1].Error != "60012" ||
			moves[1].MSCorrelationID != "c" || moves[1].UpdatedAt.IsZero() {
			t.Errorf("moves %+v, want adele then Zoe's failed move replacing her pending one", moves)
		}
		if err := db.SaveUserMove(ctx, bot.UserMove{MigrationID: "NOPE", UserID: "u", State: bot.MovePending}); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("a move of an unknown migration: %v, want ErrNotFound", err)
		}
		if n := auditRows(t, db); n != 4 {
			t.Errorf("%d audit rows, want the 4 saved with the steps", n)
		}
	})
}

func TestOneMigrationPerSubscriptionUnlessRejected(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{})
		first := testMigration("M1")
		if err := db.CreateMigration(ctx, first); err != nil {
			t.Fatal(err)
		}
		second := testMigration("M2")
		second.SubscriptionID = strings.ToLower(first.SubscriptionID) // ids match in any case
		if err := db.CreateMigration(ctx, second); !errors.Is(err, bot.ErrConflict) {
			t.Fatalf("a second open migration of one subscription: %v, want ErrConflict", err)
		}
		first.State = bot.StateRejected
		if err := db.SaveMigration(ctx, first); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateMigration(ctx, second); err != nil {
			t.Errorf("after a rejection a new migration is allowed: %v", err)
		}
	})
}
