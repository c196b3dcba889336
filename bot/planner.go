package bot

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// noUsageLocation is why a user without a usage location cannot be moved.
const noUsageLocation = "no usage location: Partner Center cannot license a user without one (set it in the Microsoft 365 admin center, then retry)"

// buildPlan reads the world and works out exactly what a migration of sub to
// target will do. A refusal is a mistake to show the requester.
func (e *Engine) buildPlan(ctx context.Context, tracked *TrackedSubscription, retired RetiredSKU, target Target, seatsRequested int, fate OldFate, asked Strategy) (plan Plan, refusal string, err error) {
	c := tracked.Customer
	sub, err := e.PC.GetSubscription(ctx, c.ID, tracked.Subscription.ID)
	if err != nil {
		return Plan{}, "", fmt.Errorf("reading subscription %s: %w", tracked.Subscription.ID, err)
	}
	if !sub.Active() {
		return Plan{}, fmt.Sprintf("Subscription %s is %s; only an active subscription can be migrated.", sub.ID, sub.Status), nil
	}
	retiredSku, err := e.retiredSkuID(ctx, c.ID, sub, retired)
	if err != nil {
		return Plan{}, "", err
	}
	if retiredSku == "" {
		return Plan{}, fmt.Sprintf("Cannot tell which licence subscription %s grants: Partner Center gave no skuId. Add its skuIds to %s in KAIZALA_CATALOG.", sub.ID, retired.Name), nil
	}
	users, err := e.PC.ListUsers(ctx, c.ID)
	if err != nil {
		return Plan{}, "", fmt.Errorf("listing users of %s: %w", c.Label(), err)
	}
	holders, err := e.holders(ctx, c.ID, users, retiredSku, target.SkuID)
	if err != nil {
		return Plan{}, "", err
	}
	pools, err := e.PC.LicensePools(ctx, c.ID)
	if err != nil {
		return Plan{}, "", fmt.Errorf("reading licences of %s: %w", c.Label(), err)
	}

	now := e.now()
	plan, replaceRefusal := replacePlan(sub, c, retired, retiredSku, target, seatsRequested, fate, holders, pools, now)
	chosen, cases, transitionTo, refusal, err := e.choosePath(ctx, sub, target, len(holders), pathRequest{
		asked: asked, fateAsked: fate, seatsRequested: seatsRequested, replaceRefusal: replaceRefusal, replace: plan,
	}, now)
	if err != nil || refusal != "" {
		return Plan{}, refusal, err
	}
	plan.Strategy, plan.Why, plan.WhyNot = chosen.Strategy, chosen.why, strings.Join(chosen.whyNots, "; ")
	for _, c := range cases {
		plan.Alternatives = append(plan.Alternatives, c.Alternative)
	}
	if chosen.Strategy == StrategyReplace {
		return plan, "", nil
	}
	// Transition and renewal: Microsoft moves every holder's licence with
	// the subscription, nothing is bought, and the old subscription is the
	// one converted or renewed, so there is no step C. Users without a
	// usage location are in the plan too: whether Microsoft's own
	// reassignment needs one is UNCONFIRMED, so verify names anyone left.
	plan.Move = append(plan.Move, plan.CannotMove...)
	plan.CannotMove = nil
	plan.Seats, plan.OldFate, plan.Deprovision = 0, "", time.Time{}
	if chosen.Strategy == StrategyTransition {
		plan.TransitionTo = transitionTo
	} else {
		plan.RenewsOn = sub.EndDate.AddDate(0, 0, 1)
	}
	return plan, "", nil
}

// replacePlan works out the replace strategy's plan — what is bought, who
// moves and who cannot, the old subscription's fate — or why it cannot be
// made (the plan is then still filled in as far as it goes).
func replacePlan(sub Subscription, c Customer, retired RetiredSKU, retiredSku string, target Target, seatsRequested int, fate OldFate, holders []holder, pools []LicensePool, now time.Time) (Plan, string) {
	fate, fateRefusal := oldFate(sub, fate, now)
	plan := Plan{
		CustomerID: c.ID, CustomerDomain: c.Domain, CustomerName: c.Name,
		Subscription: PlanSubscription{ID: sub.ID, OfferName: sub.OfferName, Quantity: sub.Quantity, Status: sub.Status, EndDate: sub.EndDate,
			NewCommerce: sub.NewCommerce, AutoRenew: sub.AutoRenew, CancellableUntil: sub.CancellableUntil},
		Retired:        retired.Name,
		RetiredSkuID:   strings.ToLower(retiredSku),
		Target:         target,
		SeatsRequested: seatsRequested,
		OldFate:        fate,
		CreatedAt:      now,
	}
	if fate == FateSuspend && !sub.NewCommerce {
		plan.Deprovision = DeletionDate(now, sub.EndDate)
	}
	held := 0
	if pool, ok := findPool(pools, target.SkuID); ok {
		plan.FreeTargetSeats, held = pool.Available, pool.Total
	}
	for _, h := range holders {
		if h.UsageLocation == "" {
			plan.CannotMove = append(plan.CannotMove, PlanUser{ID: h.ID, UPN: h.UPN, DisplayName: h.DisplayName, Reason: noUsageLocation})
		} else {
			plan.Move = append(plan.Move, PlanUser{ID: h.ID, UPN: h.UPN, DisplayName: h.DisplayName, HasTarget: h.hasTarget})
		}
	}
	if fateRefusal != "" {
		return plan, fateRefusal
	}
	need := plan.SeatsNeeded()
	if seatsRequested > 0 && seatsRequested < need {
		return plan, fmt.Sprintf("%d seats are fewer than the %d users who need a %s licence; ask for at least %d, or leave the number out.", seatsRequested, need, target.Name, need)
	}
	// Buy as many as the old subscription had (or as asked), never fewer
	// than the users who need one, less the free seats already there.
	plan.Seats = max(0, max(cmp.Or(seatsRequested, sub.Quantity), need)-plan.FreeTargetSeats)
	if _, ok := target.HowToBuy(); plan.Seats > 0 && !ok {
		return plan, fmt.Sprintf("%s %s: the catalog has no new-commerce productId and productSkuId for it (a legacy offerId is used only with legacy: true, since Microsoft no longer sells legacy M365/O365 subscriptions). Add them in KAIZALA_CATALOG.", target.Name, NeedsIDs)
	}
	if limit := target.MaxSeats; limit > 0 && plan.Seats+held > limit {
		most := max(0, limit-held)
		return plan, fmt.Sprintf("%d seats of %s is more than Microsoft allows: at most %d seats per customer, and the customer already has %d. Ask for at most %d, or choose a plan without that limit.",
			plan.Seats, target.Name, limit, held, most)
	}
	return plan, ""
}

// oldFate decides what step C does to sub: the asked-for fate if it is
// possible, else a refusal saying why; "" is the default for its commerce
// type (legacy: suspend, which stops billing; new commerce: leave it to end,
// since suspending does not stop billing).
func oldFate(sub Subscription, asked OldFate, now time.Time) (OldFate, string) {
	switch {
	case asked == "" && sub.NewCommerce:
		return FateLeave, ""
	case asked == "":
		return FateSuspend, ""
	case asked == FateCancel && !sub.NewCommerce:
		return "", fmt.Sprintf("Subscription %s is a legacy subscription: it cannot be cancelled, only suspended (billing stops; the default) or left to end on its end date (old=leave).", sub.ID)
	case asked == FateCancel && !sub.Cancellable(now):
		return "", fmt.Sprintf("Subscription %s can no longer be cancelled: its cancellation window ended on %s. Leave it to end (the default) or suspend it (old=suspend; billing continues).", sub.ID, sub.CancellableUntil.UTC().Format("2006-01-02 15:04 MST"))
	}
	return asked, ""
}

// SeatsNeeded is how many users need a seat of the target.
func (p Plan) SeatsNeeded() int {
	n := 0
	for _, u := range p.Move {
		if !u.HasTarget {
			n++
		}
	}
	return n
}

// Hash is the fingerprint an approval binds to: everything the plan depends
// on, but not when it was made.
func (p Plan) Hash() string {
	type user struct {
		ID        string
		HasTarget bool
		Reason    string `json:",omitempty"`
	}
	ids := func(us []PlanUser) []user {
		out := make([]user, len(us))
		for i, u := range us {
			out[i] = user{strings.ToLower(u.ID), u.HasTarget, u.Reason}
		}
		slices.SortFunc(out, func(a, b user) int { return cmp.Compare(a.ID, b.ID) })
		return out
	}
	// Fields added later are omitted when empty, so the hash of a plan
	// saved before them is unchanged.
	data, _ := json.Marshal(struct {
		Customer, Subscription, Status, RetiredSku, TargetSku, Offer, Product string
		Quantity, SeatsRequested, FreeTargetSeats, Seats                      int
		Move, CannotMove                                                      []user
		OldFate                                                               OldFate  `json:",omitempty"`
		Term                                                                  string   `json:",omitempty"`
		Legacy                                                                bool     `json:",omitempty"`
		Strategy                                                              Strategy `json:",omitempty"`
		TransitionTo                                                          string   `json:",omitempty"`
		RenewsOn                                                              string   `json:",omitempty"`
	}{
		strings.ToLower(p.CustomerID), strings.ToLower(p.Subscription.ID), strings.ToLower(p.Subscription.Status),
		strings.ToLower(p.RetiredSkuID), strings.ToLower(p.Target.SkuID), p.Target.OfferID, p.Target.ProductID + ":" + p.Target.ProductSkuID,
		p.Subscription.Quantity, p.SeatsRequested, p.FreeTargetSeats, p.Seats,
		ids(p.Move), ids(p.CannotMove), p.OldFate, termAndCycle(p.Target), p.Target.Legacy,
		p.Strategy, strings.ToLower(p.TransitionTo), dateOrEmpty(p.RenewsOn),
	})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

func termAndCycle(t Target) string {
	if t.TermDuration == "" && t.BillingCycle == "" {
		return ""
	}
	return t.Term() + "/" + t.Cycle()
}

// Changes explains in words how next differs from p.
func (p Plan) Changes(next Plan) []string {
	var out []string
	if !strings.EqualFold(p.Subscription.Status, next.Subscription.Status) {
		out = append(out, fmt.Sprintf("the subscription is now %s (was %s)", next.Subscription.Status, p.Subscription.Status))
	}
	if p.Subscription.Quantity != next.Subscription.Quantity {
		out = append(out, fmt.Sprintf("the subscription's quantity changed from %d to %d", p.Subscription.Quantity, next.Subscription.Quantity))
	}
	if p.FreeTargetSeats != next.FreeTargetSeats {
		out = append(out, fmt.Sprintf("free %s seats changed from %d to %d", p.Target.Name, p.FreeTargetSeats, next.FreeTargetSeats))
	}
	before := map[string]bool{}
	for _, u := range append(slices.Clone(p.Move), p.CannotMove...) {
		before[strings.ToLower(u.ID)] = true
	}
	var added []string
	for _, u := range append(slices.Clone(next.Move), next.CannotMove...) {
		if !before[strings.ToLower(u.ID)] {
			added = append(added, u.UPN)
		}
		delete(before, strings.ToLower(u.ID))
	}
	if len(added) > 0 {
		out = append(out, fmt.Sprintf("%d user(s) now hold %s who were not in the plan (%s)", len(added), p.Retired, strings.Join(firstN(added, 5), ", ")))
	}
	if len(before) > 0 {
		out = append(out, fmt.Sprintf("%d user(s) in the plan no longer hold %s", len(before), p.Retired))
	}
	if len(out) == 0 && p.Hash() != next.Hash() {
		out = append(out, "the users' licences or usage locations changed")
	}
	return out
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

// retiredSkuID finds the skuId of the retired licence: from the catalog when
// it names one, else from the subscription's provisioning status.
func (e *Engine) retiredSkuID(ctx context.Context, customerID string, sub Subscription, retired RetiredSKU) (string, error) {
	if len(retired.SkuIDs) == 1 {
		return retired.SkuIDs[0], nil
	}
	sku, err := e.PC.SubscriptionSkuID(ctx, customerID, sub.ID)
	if err != nil {
		return "", fmt.Errorf("reading which licence subscription %s grants: %w", sub.ID, err)
	}
	return sku, nil
}

type holder struct {
	User
	hasTarget bool
}

// holders returns the users holding retiredSku.
func (e *Engine) holders(ctx context.Context, customerID string, users []User, retiredSku, targetSku string) ([]holder, error) {
	var out []holder
	var firstErr error
	err := readLicences(ctx, e, customerID, users, func(u User) string { return u.ID }, func(u User, skus []string, err error) {
		switch {
		case err != nil && firstErr == nil:
			firstErr = fmt.Errorf("reading the licences of %s: %w", u.UPN, err)
		case err == nil && containsID(skus, retiredSku):
			out = append(out, holder{User: u, hasTarget: containsID(skus, targetSku)})
		}
	})
	if err = cmp.Or(err, firstErr); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b holder) int { return cmp.Compare(strings.ToLower(a.UPN), strings.ToLower(b.UPN)) })
	return out, nil
}

// readLicences reads the licences of each of users concurrently and hands
// each answer to each, one at a time; ctx's error when it ended first (some
// users then unread).
func readLicences[T any](ctx context.Context, e *Engine, customerID string, users []T, id func(T) string, each func(T, []string, error)) error {
	var mu sync.Mutex
	inParallel(ctx, e.concurrency(), users, func(u T) {
		skus, err := e.PC.UserSkuIDs(ctx, customerID, id(u))
		mu.Lock()
		defer mu.Unlock()
		each(u, skus, err)
	})
	return ctx.Err()
}

// inParallel calls fn for each item, n at a time (the client's rate limiter
// sets the pace of their calls), until the items run out or ctx ends. fn
// does its own locking.
func inParallel[T any](ctx context.Context, n int, items []T, fn func(T)) {
	var wg sync.WaitGroup
	work := make(chan T)
	for range max(1, min(n, len(items))) {
		wg.Go(func() {
			for it := range work {
				fn(it)
			}
		})
	}
feed:
	for _, it := range items {
		select {
		case work <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
}

func containsID(ids []string, id string) bool {
	return slices.ContainsFunc(ids, func(s string) bool { return SameID(s, id) })
}

func findPool(pools []LicensePool, skuID string) (LicensePool, bool) {
	for _, p := range pools {
		if SameID(p.SkuID, skuID) {
			return p, true
		}
	}
	return LicensePool{}, false
}
