package bot

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Bulk plans. One request plans every tracked retired-SKU subscription that
// ends within some days; one approval approves them all. Each member is an
// ordinary migration, with its own id, plan, audit rows and Retry, run
// exactly once by the runner like any other. The batch adds two things: an
// approval bound to all of its plans at once (the batch hash covers every
// member's plan hash), and a bound on how many of its migrations run at
// once, so that forty customers do not take every Partner Center call from
// the single migrations approved meanwhile.

// DefaultBatchDays is how far ahead a batch looks when not told.
const DefaultBatchDays = 30

// BatchState is where a batch is in its life. Its members have their own
// states; the batch's says only what its buttons may still do.
type BatchState string

// The states of a batch.
const (
	// BatchPendingApproval: some member still waits for approvals.
	BatchPendingApproval BatchState = "pending_approval"
	// BatchApproved: every member was approved (or decided on its own);
	// they run, each exactly once.
	BatchApproved BatchState = "approved"
	// BatchRejected: rejected as a whole; every member still pending then
	// was rejected with it.
	BatchRejected BatchState = "rejected"
)

// Events about batches. They carry Event.Batch, and no Migration: each
// member's own events are published as for any migration.
const (
	// EventBatchPlanned: a batch was made; its members' EventPlanned follow.
	EventBatchPlanned EventKind = "batch_planned"
	// EventBatchApproved: Actor approved the batch (Done approvals of Total
	// needed); the members that had enough started.
	EventBatchApproved EventKind = "batch_approved"
	// EventBatchRejected: Actor rejected the batch; Message is why.
	EventBatchRejected EventKind = "batch_rejected"
	// EventBatchProgress: a member stopped running (done, failed, or
	// waiting for a new approval); Batch has the counts.
	EventBatchProgress EventKind = "batch_progress"
)

// Audit actions about batches. Each member's plan, approval and rejection
// has its own row too, as for any migration.
const (
	ActionBatchPlanned  = "batch.planned"
	ActionBatchApproved = "batch.approved"
	ActionBatchRejected = "batch.rejected"
)

// BatchStore keeps batches: which migrations a batch holds, with the plan
// hash each had when the batch was made, and the batch's own state.
type BatchStore interface {
	// CreateBatch inserts b and its members (Version becomes 1) with the
	// audit entries, in one transaction. A taken id, or a migration that
	// is already a member of a batch, is ErrConflict.
	CreateBatch(ctx context.Context, b *Batch, audit ...AuditEntry) error
	// GetBatch returns ErrNotFound for an unknown id (ids match
	// case-insensitively).
	GetBatch(ctx context.Context, id string) (*Batch, error)
	// SaveBatch writes b's state and decision (not its members) if
	// b.Version is the stored version, then increments b.Version;
	// otherwise it returns ErrConflict and writes nothing.
	SaveBatch(ctx context.Context, b *Batch, audit ...AuditEntry) error
	// BatchOf returns the id of the batch migrationID is a member of, or
	// ErrNotFound when it is in none.
	BatchOf(ctx context.Context, migrationID string) (string, error)
	// BatchMigrations returns a batch's member migrations as they stand,
	// in the batch's order.
	BatchMigrations(ctx context.Context, batchID string) ([]*Migration, error)
}

// BatchRequest asks for a batch: a plan to move every tracked subscription
// of a retired SKU ending within WithinDays to Target.
type BatchRequest struct {
	Target     string // skuPartNumber or name, as for PlanRequest
	WithinDays int    // 0: DefaultBatchDays
	// Owner, when set (a Slack user id), keeps the customers Owners says
	// are that person's; "" keeps everyone's.
	Owner  string
	Owners CustomerOwners
	// Location is where "today" is, for the days left; default UTC.
	Location  *time.Location
	Requester Actor
}

// CustomerOwners says whether a Slack user owns a customer; *Owners
// (KAIZALA_OWNERS) is one.
type CustomerOwners interface {
	Owns(userID string, c Customer) bool
}

// Batch is one request to migrate many subscriptions, approved as one.
type Batch struct {
	ID         string // short and typeable, e.g. "B7K2QX"
	Target     string // the target's skuPartNumber
	TargetName string
	WithinDays int
	Owner      string // "" for every customer
	Requester  Actor
	// Members are the migrations planned, most urgent first, each with the
	// hash of the plan it had when the batch was made.
	Members []BatchMember
	// Unplanned are the subscriptions that could not be planned, with why.
	Unplanned []Unplanned
	// Hash is BatchHash of the members' plan hashes: an approval of the
	// batch binds to it.
	Hash  string
	State BatchState
	// RejectedBy and RejectReason say who rejected the batch and why.
	RejectedBy   Actor
	RejectReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Version increases with every save, as a Migration's.
	Version int
}

// BatchMember is a migration of a batch and the plan it was batched with.
type BatchMember struct {
	MigrationID string
	PlanHash    string
}

// Unplanned is a subscription a batch could not plan, and why (the refusal
// a single plan would have given, which says what to do about it).
type Unplanned struct {
	SubscriptionID string
	Customer       Customer
	Seats          int
	EndDate        time.Time
	Reason         string
}

// BatchHash is the fingerprint a batch approval binds to: the members' plan
// hashes, in any order.
func BatchHash(planHashes []string) string {
	hs := make([]string, len(planHashes))
	for i, h := range planHashes {
		hs[i] = strings.ToLower(h)
	}
	slices.Sort(hs)
	sum := sha256.Sum256([]byte(strings.Join(hs, "\n")))
	return hex.EncodeToString(sum[:])
}

// BatchStatus is a batch and its members as they stand.
type BatchStatus struct {
	Batch   Batch
	Members []Migration // in the batch's order
	// Approvers approved the members' current plans so far (read from the
	// first member still waiting, else the first member); Required are needed.
	Approvers []Actor
	Required  int
	// Concurrency is how many members run at once.
	Concurrency int
}

// BatchCounts counts a batch's members by where they are.
type BatchCounts struct {
	Total, Pending, Running, Done, Failed, NeedsApproval, Rejected int
}

// Finished reports whether nothing of the batch runs or waits for approval:
// what is left (failed, stopped for a new approval) waits for a person.
func (c BatchCounts) Finished() bool { return c.Pending == 0 && c.Running == 0 }

// Counts counts the members by state.
func (s *BatchStatus) Counts() BatchCounts {
	c := BatchCounts{Total: len(s.Members)}
	for _, m := range s.Members {
		switch {
		case m.State == StatePendingApproval:
			c.Pending++
		case m.State.Running():
			c.Running++
		case m.State == StateDone:
			c.Done++
		case m.State == StateFailed:
			c.Failed++
		case m.State == StateNeedsApproval:
			c.NeedsApproval++
		case m.State == StateRejected:
			c.Rejected++
		}
	}
	return c
}

// Changed returns the members whose plan is no longer the one batched.
func (s *BatchStatus) Changed() []Migration {
	batched := map[string]string{}
	for _, bm := range s.Batch.Members {
		batched[strings.ToLower(bm.MigrationID)] = bm.PlanHash
	}
	var out []Migration
	for _, m := range s.Members {
		if !strings.EqualFold(batched[strings.ToLower(m.ID)], m.PlanHash) {
			out = append(out, m)
		}
	}
	return out
}

// PlanBatch plans a migration of every tracked subscription of a retired
// SKU that ends within req.WithinDays (of req.Owner's customers, when set)
// and records them as one batch for approval. Each is planned as Plan plans
// one; those that cannot be planned are kept with the refusal. A refusal
// of the whole request is a mistake to show the requester.
func (e *Engine) PlanBatch(ctx context.Context, req BatchRequest) (*BatchStatus, string, error) {
	days := cmp.Or(req.WithinDays, DefaultBatchDays)
	if req.WithinDays < 0 || days > 3650 {
		return nil, fmt.Sprintf("%d is not a number of days; give a whole number from 1 to 3650, or leave it out for %d.", req.WithinDays, DefaultBatchDays), nil
	}
	if req.Owner != "" && req.Owners == nil {
		return nil, "I can't tell whose customers are whose: no account owners are configured (KAIZALA_OWNERS). Leave out owner to plan every customer's.", nil
	}
	due, err := e.dueWithin(ctx, days, req)
	if err != nil {
		return nil, "", err
	}
	whose := ""
	if req.Owner != "" {
		whose = " of the customers owned by " + req.Owner
	}
	if len(due) == 0 {
		return nil, fmt.Sprintf("No %s subscription%s ends within %d days, so there is nothing to plan. /kaizala list %d shows what is tracked; a new subscription appears after the next scan (/kaizala scan).",
			e.retiredNames(), whose, days, days), nil
	}
	// The target is checked once: a wrong one would be every member's refusal.
	retired, ok := e.Catalog.RetiredFor(due[0].Subscription)
	if !ok {
		return nil, fmt.Sprintf("Subscription %s (%s) is not a retired SKU this bot migrates.", due[0].Subscription.ID, due[0].Subscription.OfferName), nil
	}
	target, refusal := e.Catalog.FindTarget(retired, req.Target)
	if refusal != "" {
		return nil, refusal + " See /kaizala targets.", nil
	}

	now := e.now()
	b := &Batch{
		Target: target.SkuPartNumber, TargetName: target.Name, WithinDays: days, Owner: req.Owner,
		Requester: req.Requester, State: BatchPendingApproval, CreatedAt: now, UpdatedAt: now,
	}
	// One at a time: each plan reads every user's licences at the client's
	// rate limit anyway, and holds one of the requester's planning claims
	// (PlansPerPerson), not all of them.
	var members []*Migration
	for _, t := range due {
		m, refusal, err := e.Plan(ctx, PlanRequest{SubscriptionID: t.Subscription.ID, Target: target.SkuPartNumber, Requester: req.Requester, inBatch: true})
		if err != nil && ctx.Err() != nil {
			e.abandon(ctx, members, "the batch request ended before every subscription was planned")
			return nil, "", fmt.Errorf("planning the batch: %w", err)
		}
		if err != nil {
			// One customer's trouble is that subscription's, not the batch's.
			e.log().WithError(err).WithField("subscription", t.Subscription.ID).Error("planning a member of a batch failed")
			refusal = fmt.Sprintf("something went wrong on our side while planning it (it was logged); plan it on its own with /kaizala plan %s %s",
				t.Subscription.ID, target.SkuPartNumber)
		}
		if refusal != "" {
			b.Unplanned = append(b.Unplanned, Unplanned{SubscriptionID: t.Subscription.ID, Customer: t.Customer,
				Seats: t.Subscription.Quantity, EndDate: t.Subscription.EndDate, Reason: refusal})
			continue
		}
		members = append(members, m)
	}
	if len(members) == 0 {
		reasons := make([]string, 0, len(b.Unplanned))
		for _, u := range b.Unplanned {
			reasons = append(reasons, u.Customer.Label()+": "+u.Reason)
		}
		return nil, fmt.Sprintf("None of the %d %s subscriptions%s ending within %d days could be planned. %s",
			len(due), e.retiredNames(), whose, days, strings.Join(firstN(reasons, 3), " · ")), nil
	}
	hashes := make([]string, len(members))
	for i, m := range members {
		b.Members = append(b.Members, BatchMember{MigrationID: m.ID, PlanHash: m.PlanHash})
		hashes[i] = m.PlanHash
	}
	b.Hash = BatchHash(hashes)
	if err := e.createBatch(ctx, b); err != nil {
		e.abandon(ctx, members, "the batch they were planned for could not be recorded")
		return nil, "", err
	}
	st, err := e.batchStatus(ctx, b.ID)
	if err != nil {
		return nil, "", err
	}
	// The batch first, then its members: whoever reports them (Slack) puts
	// the members under the batch.
	e.publish(Event{Kind: EventBatchPlanned, Batch: st, Actor: req.Requester})
	for _, m := range st.Members {
		e.publish(Event{Kind: EventPlanned, Migration: m, Actor: req.Requester})
	}
	return st, "", nil
}

// dueWithin returns the tracked subscriptions ending within days, as of now,
// of req's owner's customers, most urgent first.
func (e *Engine) dueWithin(ctx context.Context, days int, req BatchRequest) ([]TrackedSubscription, error) {
	tracked, err := e.Store.TrackedSubscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the tracked subscriptions: %w", err)
	}
	loc := req.Location
	if loc == nil {
		loc = time.UTC
	}
	now := e.now()
	var out []TrackedSubscription
	for _, t := range tracked {
		if t.Subscription.HasEnd() {
			// The stored days left are as of the scan.
			t.DaysLeft = DaysLeft(t.Subscription.EndDate, now, loc)
		}
		if !t.Expiring(days) {
			continue
		}
		if req.Owner != "" && !req.Owners.Owns(req.Owner, t.Customer) {
			continue
		}
		out = append(out, t)
	}
	slices.SortStableFunc(out, func(a, b TrackedSubscription) int {
		return cmp.Or(cmp.Compare(a.DaysLeft, b.DaysLeft), strings.Compare(strings.ToLower(a.Customer.Label()), strings.ToLower(b.Customer.Label())))
	})
	return out, nil
}

// retiredNames names the retired SKUs of the catalog, e.g. "Kaizala Pro".
func (e *Engine) retiredNames() string {
	var names []string
	for _, r := range e.Catalog.Retired {
		names = append(names, r.Name)
	}
	return cmp.Or(strings.Join(names, " or "), "retired-SKU")
}

// createBatch stores b under a fresh id.
func (e *Engine) createBatch(ctx context.Context, b *Batch) error {
	ids := make([]string, len(b.Members))
	for i, m := range b.Members {
		ids[i] = m.MigrationID
	}
	for range 20 {
		id, err := newShortID("B")
		if err != nil {
			return err
		}
		b.ID = id
		err = e.Store.CreateBatch(ctx, b, AuditEntry{At: e.now(), Actor: b.Requester, Action: ActionBatchPlanned, Detail: map[string]any{
			"batchId": b.ID, "target": b.Target, "withinDays": b.WithinDays, "owner": b.Owner,
			"members": ids, "unplanned": len(b.Unplanned), "batchHash": b.Hash,
		}})
		if errors.Is(err, ErrConflict) {
			if _, gerr := e.Store.GetBatch(ctx, id); gerr == nil {
				continue // the id is taken: draw another
			}
		}
		if err != nil {
			return fmt.Errorf("recording batch %s: %w", b.ID, err)
		}
		return nil
	}
	return errors.New("could not find a free batch id")
}

// abandon rejects the migrations planned for a batch that was never
// recorded, so no plan waits for an approval nobody is asked for. It runs
// even when ctx has ended.
func (e *Engine) abandon(ctx context.Context, ms []*Migration, why string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, m := range ms {
		_, err := e.update(ctx, m.ID, func(m *Migration) (bool, error) {
			if m.State != StatePendingApproval {
				return false, nil
			}
			m.State, m.Error = StateRejected, "rejected by system: "+why
			return true, nil
		}, e.audit(m, System, ActionRejected, map[string]any{"reason": why}))
		if err != nil {
			e.log().WithError(err).WithField("migration", m.ID).Error("could not reject a migration of an abandoned batch; reject it by hand")
		}
	}
}

// BatchApproveResult says what an approval of a batch did.
type BatchApproveResult struct {
	Status *BatchStatus
	// Approved members got this person's approval now; Started of them
	// had enough approvals with it and run.
	Approved, Started int
	// Already: nothing was left for this person to approve (a second click).
	Already bool
	// Refused are the refusals of members that could not be approved (one
	// started or was rejected meanwhile); the others were approved.
	Refused []string
}

// ApproveBatch records actor's approval of every member of the batch still
// waiting, under the same rules as Approve: not the requester, approvers
// only, and bound to the plans shown. batchHash is the batch's hash as the
// button showed it ("" for a typed approval of the batch as it stands); when
// any member's plan changed since the batch was made, nothing is approved.
func (e *Engine) ApproveBatch(ctx context.Context, id, batchHash string, actor Actor) (BatchApproveResult, string, error) {
	st, refusal, err := e.findBatch(ctx, id)
	if st == nil {
		return BatchApproveResult{}, refusal, err
	}
	res := BatchApproveResult{Status: st}
	b := &st.Batch
	if refusal := batchChanged(st, batchHash); refusal != "" {
		return res, refusal, nil
	}
	if b.State == BatchRejected {
		return res, fmt.Sprintf("Batch %s was rejected by %s; ask for a new one with /kaizala plan all %s.", b.ID, b.RejectedBy.Name, b.Target), nil
	}
	if strings.EqualFold(actor.ID, b.Requester.ID) {
		return res, fmt.Sprintf("You asked for batch %s, so someone else must approve it.", b.ID), nil
	}
	// The policy's own rules, as for each member (which Approve checks again).
	if refusal, err := e.Policy.MayApprove(ctx, actor, &Migration{ID: "batch " + b.ID, Requester: b.Requester}); refusal != "" || err != nil {
		return res, refusal, err
	}
	for _, m := range st.Members {
		if m.State != StatePendingApproval {
			continue // decided on its own, or approved by an earlier click
		}
		r, refusal, err := e.Approve(ctx, m.ID, m.PlanHash, actor)
		if err != nil {
			return res, "", fmt.Errorf("approving migration %s of batch %s: %w", m.ID, b.ID, err)
		}
		if refusal != "" {
			res.Refused = append(res.Refused, refusal)
			continue
		}
		if !r.Already {
			res.Approved++
		}
		if r.Started {
			res.Started++
		}
	}
	res.Already = res.Approved == 0 && len(res.Refused) == 0
	if st, err = e.batchStatus(ctx, b.ID); err != nil {
		return res, "", err
	}
	res.Status = st
	if res.Already {
		return res, "", nil
	}
	entry := AuditEntry{At: e.now(), Actor: actor, Action: ActionBatchApproved, Detail: map[string]any{
		"batchId": st.Batch.ID, "batchHash": st.Batch.Hash, "approved": res.Approved, "started": res.Started,
		"approvals": len(st.Approvers), "required": st.Required,
	}}
	if st.Counts().Pending == 0 {
		b, err := e.updateBatch(ctx, st.Batch.ID, func(b *Batch) bool {
			if b.State != BatchPendingApproval {
				return false
			}
			b.State = BatchApproved
			return true
		}, entry)
		if err != nil {
			return res, "", err
		}
		st.Batch = *b
	} else if err := e.Store.AppendAudit(ctx, entry); err != nil {
		return res, "", err
	}
	e.publish(Event{Kind: EventBatchApproved, Batch: st, Actor: actor, Done: len(st.Approvers), Total: st.Required})
	return res, "", nil
}

// batchChanged refuses a decision on a batch that is no longer the one
// shown: a button of another batch hash, or a member whose plan changed
// since the batch was made ("" when neither).
func batchChanged(st *BatchStatus, batchHash string) string {
	b := st.Batch
	if batchHash != "" && !strings.EqualFold(batchHash, b.Hash) {
		return fmt.Sprintf("This batch changed since that button was shown: batch %s is %s now. Nothing was done; use the buttons on the batch as it is now.", b.ID, ShortHash(b.Hash))
	}
	changed := st.Changed()
	if len(changed) == 0 {
		return ""
	}
	var words []string
	for _, m := range changed {
		words = append(words, fmt.Sprintf("%s (%s) now has plan %s: %s", m.ID, Customer{ID: m.CustomerID, Domain: m.CustomerDomain, Name: m.CustomerName}.Label(), ShortHash(m.PlanHash), m.Plan.Summary()))
	}
	return fmt.Sprintf("This batch changed since it was planned: %s. Nothing was approved. Decide on the changed migrations on their own plans, and approve the others one by one or ask for a new batch with /kaizala plan all %s within %d.",
		strings.Join(firstN(words, 3), "; "), b.Target, b.WithinDays)
}

// RejectBatch rejects every member of the batch still waiting for approval,
// and the batch with them. Approvers may reject; the requester may withdraw
// their own batch. Members already running or finished are not touched.
func (e *Engine) RejectBatch(ctx context.Context, id, batchHash string, actor Actor, reason string) (*BatchStatus, string, error) {
	st, refusal, err := e.findRejectableBatch(ctx, id, batchHash, actor)
	if st == nil || refusal != "" || err != nil {
		return st, refusal, err
	}
	if st.Batch.State == BatchRejected {
		return st, "", nil // a second click, or two people at once: harmless
	}
	reason = cmp.Or(strings.TrimSpace(reason), "no reason given")
	var refused []string
	for _, m := range st.Members {
		if m.State != StatePendingApproval {
			continue
		}
		if _, refusal, err := e.Reject(ctx, m.ID, m.PlanHash, actor, reason); err != nil {
			return st, "", fmt.Errorf("rejecting migration %s of batch %s: %w", m.ID, st.Batch.ID, err)
		} else if refusal != "" {
			refused = append(refused, refusal)
		}
	}
	b, err := e.updateBatch(ctx, st.Batch.ID, func(b *Batch) bool {
		if b.State == BatchRejected {
			return false
		}
		b.State, b.RejectedBy, b.RejectReason = BatchRejected, actor, reason
		return true
	}, AuditEntry{At: e.now(), Actor: actor, Action: ActionBatchRejected, Detail: map[string]any{
		"batchId": st.Batch.ID, "batchHash": st.Batch.Hash, "reason": reason, "notRejected": refused,
	}})
	if err != nil {
		return nil, "", err
	}
	if st, err = e.batchStatus(ctx, b.ID); err != nil {
		return nil, "", err
	}
	e.publish(Event{Kind: EventBatchRejected, Batch: st, Actor: actor, Message: reason})
	return st, "", nil
}

// MayRejectBatch says, without changing anything, why actor could not
// reject the batch now ("" when they could), so Slack asks for a reason
// only when the rejection would count.
func (e *Engine) MayRejectBatch(ctx context.Context, id, batchHash string, actor Actor) (*BatchStatus, string, error) {
	st, refusal, err := e.findRejectableBatch(ctx, id, batchHash, actor)
	if st == nil || refusal != "" || err != nil {
		return st, refusal, err
	}
	if st.Batch.State == BatchRejected {
		return st, fmt.Sprintf("Batch %s was already rejected by %s: %s", st.Batch.ID, st.Batch.RejectedBy.Name, st.Batch.RejectReason), nil
	}
	return st, "", nil
}

// findRejectableBatch finds batch id and refuses when actor may not reject
// it, or nothing of it waits for approval any more.
func (e *Engine) findRejectableBatch(ctx context.Context, id, batchHash string, actor Actor) (*BatchStatus, string, error) {
	st, refusal, err := e.findBatch(ctx, id)
	if st == nil {
		return nil, refusal, err
	}
	b := st.Batch
	// Only the stale button is refused: rejecting what still waits is safe
	// whatever changed, and is what stops a batch.
	if batchHash != "" && !strings.EqualFold(batchHash, b.Hash) {
		return st, batchChanged(st, batchHash), nil
	}
	if !strings.EqualFold(actor.ID, b.Requester.ID) {
		ok, err := e.Policy.IsApprover(ctx, actor)
		if err != nil {
			return st, "", err
		}
		if !ok {
			return st, fmt.Sprintf("Only approvers or the requester (%s) can reject batch %s.", b.Requester.Name, b.ID), nil
		}
	}
	if b.State != BatchRejected && st.Counts().Pending == 0 {
		return st, fmt.Sprintf("Every migration of batch %s has started or been decided on; there is nothing left to reject. A migration that has not finished can be rejected on its own plan.", b.ID), nil
	}
	return st, "", nil
}

// Batch returns a batch and its members as they stand; an unknown id is a
// refusal, not an error.
func (e *Engine) Batch(ctx context.Context, id string) (*BatchStatus, string, error) {
	return e.findBatch(ctx, id)
}

func (e *Engine) findBatch(ctx context.Context, id string) (*BatchStatus, string, error) {
	st, err := e.batchStatus(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Sprintf("There is no batch %q. Batch ids look like B7K2QX; /kaizala plan all <target> makes one.", id), nil
	}
	return st, "", err
}

// batchStatus reads a batch, its members and who approved them so far.
func (e *Engine) batchStatus(ctx context.Context, id string) (*BatchStatus, error) {
	b, err := e.Store.GetBatch(ctx, id)
	if err != nil {
		return nil, err
	}
	ms, err := e.Store.BatchMigrations(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	st := &BatchStatus{Batch: *b, Required: e.Policy.required(), Concurrency: e.batchConcurrency()}
	for _, m := range ms {
		st.Members = append(st.Members, *m)
	}
	// Every click on the batch approves each waiting member alike, so the
	// first one waiting tells who approved so far.
	if len(ms) > 0 {
		first := ms[0]
		if i := slices.IndexFunc(ms, func(m *Migration) bool { return m.State == StatePendingApproval }); i >= 0 {
			first = ms[i]
		}
		ds, err := e.Store.Decisions(ctx, first.ID)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if d.Kind == DecisionApprove && d.PlanHash == first.PlanHash && !strings.EqualFold(d.Actor.ID, first.Requester.ID) &&
				!slices.ContainsFunc(st.Approvers, func(a Actor) bool { return strings.EqualFold(a.ID, d.Actor.ID) }) {
				st.Approvers = append(st.Approvers, d.Actor)
			}
		}
	}
	return st, nil
}

// updateBatch re-reads batch id, applies change and saves it, retrying when
// someone else saved it meanwhile; the audit entries are written only with
// a save.
func (e *Engine) updateBatch(ctx context.Context, id string, change func(*Batch) bool, audit ...AuditEntry) (*Batch, error) {
	for range 10 {
		b, err := e.Store.GetBatch(ctx, id)
		if err != nil {
			return nil, err
		}
		if !change(b) {
			return b, nil
		}
		b.UpdatedAt = e.now()
		err = e.Store.SaveBatch(ctx, b, audit...)
		if errors.Is(err, ErrConflict) {
			continue
		}
		return b, err
	}
	return nil, fmt.Errorf("batch %s: %w ten times in a row", id, ErrConflict)
}

func (e *Engine) batchConcurrency() int { return max(1, cmp.Or(e.BatchConcurrency, 4)) }

// batchSlots are the turns of one batch's migrations: a member runs while
// it holds one.
type batchSlots struct {
	turns chan struct{}
	users int // members holding or waiting for a turn
}

// batchSlot waits, when m is a member of a batch, until fewer than
// BatchConcurrency of its batch's migrations run in this engine, so a
// batch's approval starts its members in turn rather than all at once. The
// returned func gives the turn back and reports the batch's progress.
// Only the worker runs migrations, so a turn needs no lock in the database.
func (e *Engine) batchSlot(ctx context.Context, m *Migration, trouble *waitState) (release func(), err error) {
	var batchID string
	for {
		id, err := e.Store.BatchOf(ctx, m.ID)
		if errors.Is(err, ErrNotFound) {
			return func() {}, nil
		}
		if err == nil {
			batchID = id
			break
		}
		if err = e.waitOut(ctx, m, trouble, err); err != nil {
			return nil, err
		}
	}
	key := strings.ToLower(batchID)
	e.mu.Lock()
	if e.slots == nil {
		e.slots = map[string]*batchSlots{}
	}
	s := e.slots[key]
	if s == nil {
		s = &batchSlots{turns: make(chan struct{}, e.batchConcurrency())}
		e.slots[key] = s
	}
	s.users++
	e.mu.Unlock()
	leave := func() {
		e.mu.Lock()
		if s.users--; s.users == 0 {
			delete(e.slots, key)
		}
		e.mu.Unlock()
	}
	select {
	case s.turns <- struct{}{}:
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
	return func() {
		<-s.turns
		leave()
		if ctx.Err() == nil {
			e.publishBatchProgress(ctx, batchID)
		}
	}, nil
}

// publishBatchProgress tells whoever reports progress how batch id stands.
func (e *Engine) publishBatchProgress(ctx context.Context, id string) {
	st, err := e.batchStatus(ctx, id)
	if err != nil {
		e.log().WithError(err).WithField("batch", id).Warn("could not read the batch to report its progress")
		return
	}
	e.publish(Event{Kind: EventBatchProgress, Batch: st})
}

// newShortID makes an id people can type: prefix and five characters.
func newShortID(prefix string) (string, error) {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id := []byte(prefix)
	for _, c := range b {
		id = append(id, idAlphabet[int(c)%len(idAlphabet)])
	}
	return string(id), nil
}

// IsBatchID reports whether id looks like a batch id (B and five characters)
// rather than a migration id (M…).
func IsBatchID(id string) bool {
	return len(id) == 6 && (id[0] == 'B' || id[0] == 'b')
}
