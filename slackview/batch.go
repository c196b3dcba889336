package slackview

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
)

// The batch message (/kaizala plan all): one message listing every
// subscription a batch migrates, with totals and one Approve for them all.
// What does not fit Slack's limits continues in the message's thread, never
// dropped; each member's own plan message goes in the thread too, where its
// Retry is, and a progress reply there counts the members as they finish.

// Action ids of the batch message's buttons; value = BatchValue.
const (
	ActionBatchApprove = "kaizala_batch_approve" // has a confirmation dialog with the totals
	ActionBatchReject  = "kaizala_batch_reject"  // opens BatchRejectModal
	// CallbackBatchReject is the batch reject modal's callback_id.
	CallbackBatchReject = "kaizala_batch_reject_reason"
)

// What the batch message holds before the rest goes in its thread, well
// inside the message's 50 blocks and maxMessageChars (the header, intro,
// totals, status, context and buttons take about 3,500 characters).
const (
	batchMemberChars    = 4200
	batchMemberBlocks   = 20
	batchUnplannedChars = 1800
	batchUnplannedBlock = 8
	batchStatusChars    = 1500
	// A thread reply holds this much of the rest.
	batchMoreChars  = 9000
	batchMoreBlocks = 45
	maxBatchLine    = 600
)

// BatchValue is the value of a button that decides on a batch: its id and
// hash, so a click binds to the batch its person saw. ParseDecisionValue
// reads it back.
func BatchValue(b bot.Batch) string { return b.ID + ":" + b.Hash }

// BatchView is a batch as it stands.
type BatchView struct {
	Status   *bot.BatchStatus
	Now      time.Time
	Location *time.Location
}

// batchTotals add up the members' plans.
type batchTotals struct {
	subscriptions, seats, users, cannotMove int
	monthly, term                           float64
	currency, target                        string
	priced                                  bool
}

func totalsOf(ms []bot.Migration) batchTotals {
	var t batchTotals
	for _, m := range ms {
		p := m.Plan
		t.subscriptions++
		t.seats += p.Seats
		t.users += len(p.Move)
		t.cannotMove += len(p.CannotMove)
		t.monthly += p.MonthlyPrice()
		t.term += p.TermPrice()
		t.currency = cmp.Or(t.currency, p.Target.Currency)
		t.target = cmp.Or(t.target, p.Target.Name)
		t.priced = t.priced || p.Target.ListPrice > 0
	}
	return t
}

func (t batchTotals) amount(v float64) string {
	return strings.TrimSpace(esc(t.currency, 10) + " " + money(v))
}

// Batch is the batch message, posted once and updated in place, and the
// thread replies that continue its lists when they do not fit (posted once,
// under it). The lists are the same whatever the state, so the replies
// never need updating; where each member is shows in the status line, the
// progress reply and the member's own plan message.
func Batch(v BatchView) (Message, []Message) {
	st := v.Status
	b := st.Batch
	id := esc(b.ID, maxName)
	retired := "Kaizala Pro"
	if len(st.Members) > 0 {
		retired = cmp.Or(st.Members[0].Plan.Retired, retired)
	}
	retired = esc(retired, maxName)
	target := esc(cmp.Or(b.TargetName, b.Target), maxName)
	tot := totalsOf(st.Members)

	whose := ""
	if b.Owner != "" {
		whose = " of the customers of " + who(bot.Actor{ID: b.Owner, Name: b.Owner})
	}
	blocks := []slack.Block{
		header(fmt.Sprintf("Batch %s: %d %s subscriptions → %s", id, len(st.Members), retired, target)),
		section(batchIntro(st, retired, whose)),
		totalsBlock(tot, len(b.Unplanned)),
	}

	members := memberLines(st.Members)
	shown, n := fitLines(members, fmt.Sprintf("*To migrate (%d):*\n", len(members)), batchMemberChars, batchMemberBlocks)
	if left := len(members) - n; left > 0 {
		shown = appendMore(shown, fmt.Sprintf("…and %d more, listed in this thread.", left))
	}
	blocks = append(blocks, shown...)
	unplanned := unplannedLines(b.Unplanned)
	var u int
	if len(unplanned) > 0 {
		var ub []slack.Block
		ub, u = fitLines(unplanned, fmt.Sprintf("*Cannot be planned (%d):* each says why and what to do.\n", len(unplanned)), batchUnplannedChars, batchUnplannedBlock)
		if left := len(unplanned) - u; left > 0 {
			ub = appendMore(ub, fmt.Sprintf("…and %d more, listed in this thread.", left))
		}
		blocks = append(blocks, ub...)
	}
	if s := batchStatusWords(v); s != "" {
		blocks = append(blocks, section(truncate(s, batchStatusChars)))
	}
	blocks = append(blocks, contextBlock(batchDecided(v)...))
	if b.State == bot.BatchPendingApproval && st.Counts().Pending > 0 {
		blocks = append(blocks, batchButtons(st, target))
	}

	text := fmt.Sprintf("Batch %s: migrate %s to %s: buy %s, move %s",
		id, plural(len(st.Members), retired+" subscription", retired+" subscriptions"), target, plural(tot.seats, "seat", "seats"), plural(tot.users, "user", "users"))
	if tot.priced {
		text += " (" + tot.amount(tot.monthly) + " a month at list price)"
	}
	if len(b.Unplanned) > 0 {
		text += fmt.Sprintf("; %d cannot be planned", len(b.Unplanned))
	}
	text += ". " + batchShortState(v) + "."

	var more []Message
	more = append(more, continued(b, "subscriptions to migrate", members[n:], n, len(members))...)
	more = append(more, continued(b, "subscriptions that cannot be planned", unplanned[u:], u, len(unplanned))...)
	return Message{Text: fallback(text), Blocks: blocks}, more
}

// batchIntro says what the batch is, and while it waits what Approve does.
func batchIntro(st *bot.BatchStatus, retired, whose string) string {
	s := fmt.Sprintf("Every %s subscription ending within %s%s, planned as one batch. Each line is a migration of its own, "+
		"with its own plan (posted in this thread), history and Retry, and runs exactly once.", retired, plural(st.Batch.WithinDays, "day", "days"), whose)
	if st.Batch.State == bot.BatchPendingApproval {
		s += fmt.Sprintf(" *Approve* approves them all; they then run at most %d at a time.", max(1, st.Concurrency))
	}
	return s
}

func totalsBlock(t batchTotals, unplanned int) slack.Block {
	subs := fmt.Sprintf("%d to migrate", t.subscriptions)
	if unplanned > 0 {
		subs += fmt.Sprintf(" · %d cannot be planned", unplanned)
	}
	users := fmt.Sprint(t.users)
	if t.cannotMove > 0 {
		users += fmt.Sprintf(" (%d more cannot be moved)", t.cannotMove)
	}
	price := "no list price in the catalog"
	if t.priced {
		price = fmt.Sprintf("%s a month · %s for the term", t.amount(t.monthly), t.amount(t.term))
	}
	return fieldsSection(
		"Subscriptions", subs,
		"Seats to buy", fmt.Sprintf("%d of %s", t.seats, esc(cmp.Or(t.target, "the target"), maxName)),
		"Users to move", users,
		"At list price", price,
	)
}

// memberLines is one line per member: customer, end date, seats bought,
// users moved, monthly price and the path it takes.
func memberLines(ms []bot.Migration) []string {
	lines := make([]string, len(ms))
	for i, m := range ms {
		p := m.Plan
		customer := truncate(customerLabel(cmp.Or(p.CustomerName, m.CustomerName), cmp.Or(p.CustomerDomain, m.CustomerDomain), m.CustomerID), maxName)
		users := plural(len(p.Move), "user", "users")
		if n := len(p.CannotMove); n > 0 {
			users += fmt.Sprintf(" (%d cannot move)", n)
		}
		line := fmt.Sprintf("• %s *%s* · ends %s · %s · %s", code(m.ID), customer, endISO(p.Subscription.EndDate), plural(p.BilledSeats(), "seat", "seats"), users)
		if p.Target.ListPrice > 0 {
			line += " · " + strings.TrimSpace(esc(p.Target.Currency, 10)+" "+money(p.MonthlyPrice())) + "/month"
		}
		line += " · " + pathWords(p)
		if len(p.Unusual()) > 0 {
			line += " · :warning: unusual seat count (see its plan)"
		}
		lines[i] = truncate(line, maxBatchLine)
	}
	return lines
}

// pathWords says how a plan migrates: "replace (buy, move, suspend)",
// "transition (converted in one call)", "at renewal (Sun 3 Jan 2027)".
func pathWords(p bot.Plan) string {
	switch p.Path() {
	case bot.StrategyTransition:
		return "transition (converted in one call)"
	case bot.StrategyRenewal:
		return "at renewal (" + endDay(p.RenewsOn) + ")"
	}
	var steps []string
	if p.Seats > 0 {
		steps = append(steps, "buy")
	}
	steps = append(steps, "move", fateVerb(p))
	return "replace (" + strings.Join(steps, ", ") + ")"
}

func unplannedLines(us []bot.Unplanned) []string {
	lines := make([]string, len(us))
	for i, u := range us {
		c := u.Customer
		lines[i] = truncate(fmt.Sprintf("• *%s* · %s · %s · ends %s — %s", truncate(customerLabel(c.Name, c.Domain, c.ID), maxName), code(u.SubscriptionID),
			plural(u.Seats, "seat", "seats"), endISO(u.EndDate), sentence(esc(cmp.Or(u.Reason, "no reason given"), maxReason))), maxBatchLine)
	}
	return lines
}

// fitLines packs the first lines that fit into sections (the first starting
// with title), at most chars characters and sections blocks in all, keeping
// room for an "and N more"; n is how many fit.
func fitLines(lines []string, title string, chars, sections int) (blocks []slack.Block, n int) {
	limit := maxSectionText - moreRoom
	var cur strings.Builder
	cur.WriteString(title)
	curRunes := utf8.RuneCountInString(title)
	total := curRunes
	for _, line := range lines {
		l := utf8.RuneCountInString(line) + 1
		if total+l > chars-moreRoom {
			break
		}
		if curRunes+l > limit {
			if len(blocks)+2 > sections {
				break
			}
			blocks = append(blocks, section(strings.TrimSuffix(cur.String(), "\n")))
			cur.Reset()
			curRunes = 0
		}
		cur.WriteString(line + "\n")
		curRunes += l
		total += l
		n++
	}
	if cur.Len() > 0 {
		blocks = append(blocks, section(strings.TrimSuffix(cur.String(), "\n")))
	}
	return blocks, n
}

// appendMore ends the last section of blocks with a line.
func appendMore(blocks []slack.Block, line string) []slack.Block {
	last, ok := blocks[len(blocks)-1].(*slack.SectionBlock)
	if !ok || last.Text == nil {
		return append(blocks, section(line))
	}
	blocks[len(blocks)-1] = section(last.Text.Text + "\n" + line)
	return blocks
}

// continued are the thread replies listing lines that did not fit in the
// batch message; the first of them is number from+1 of total.
func continued(b bot.Batch, what string, lines []string, from, total int) []Message {
	var out []Message
	for len(lines) > 0 {
		title := func(last int) string {
			return fmt.Sprintf("*Batch %s, continued:* %s %d–%d of %d.\n", esc(b.ID, maxName), what, from+1, last, total)
		}
		// Packed under the longest title it can have, then titled with the
		// last line that fit (as long or shorter, so all of them still fit).
		_, n := fitLines(lines, title(total), batchMoreChars, batchMoreBlocks)
		n = max(n, 1) // lines are cut to maxBatchLine: one always fits
		blocks, _ := fitLines(lines[:n], title(from+n), batchMoreChars, batchMoreBlocks)
		out = append(out, Message{Text: fallback(fmt.Sprintf("Batch %s, continued: %s %d–%d of %d.", esc(b.ID, maxName), what, from+1, from+n, total)), Blocks: blocks})
		lines, from = lines[n:], from+n
	}
	return out
}

// BatchCountWords says where a batch's members are: "12 of 40 done, 1
// failed, 27 running or waiting their turn".
func BatchCountWords(c bot.BatchCounts) string {
	s := fmt.Sprintf("%d of %d done", c.Done, c.Total)
	for _, part := range []struct {
		n    int
		what string
	}{
		{c.Failed, "failed"},
		{c.NeedsApproval, "stopped for a new approval"},
		{c.Rejected, "rejected"},
		{c.Running, "running or waiting their turn"},
		{c.Pending, "waiting for approval"},
	} {
		if part.n > 0 {
			s += fmt.Sprintf(", %d %s", part.n, part.what)
		}
	}
	return s
}

// batchStatusWords is the status line of the batch message: what has
// happened since it was planned ("" while it simply waits).
func batchStatusWords(v BatchView) string {
	st := v.Status
	b := st.Batch
	c := st.Counts()
	switch {
	case b.State == bot.BatchRejected:
		return fmt.Sprintf(":no_entry_sign: *Rejected by %s* on %s: %s The migrations that were waiting were rejected with it; %s.",
			who(b.RejectedBy), stamp(b.UpdatedAt, v.Location), sentence(esc(cmp.Or(b.RejectReason, "no reason given"), maxReason)), BatchCountWords(c))
	case b.State == bot.BatchPendingApproval:
		var out []string
		if changed := st.Changed(); len(changed) > 0 {
			ids := make([]string, 0, len(changed))
			for _, m := range changed[:min(len(changed), 5)] {
				ids = append(ids, code(m.ID))
			}
			if len(changed) > 5 {
				ids = append(ids, fmt.Sprintf("%d more", len(changed)-5))
			}
			out = append(out, fmt.Sprintf(":warning: The plans of %s changed since the batch was planned, so it can no longer be approved as one: decide on each migration on its plan in this thread.",
				strings.Join(ids, ", ")))
		}
		if c.Pending < c.Total {
			out = append(out, capitalize(BatchCountWords(c))+".")
		}
		return strings.Join(out, "\n")
	case !c.Finished():
		line := fmt.Sprintf(":hourglass_flowing_sand: *Approved* by %s on %s: %s (at most %d at a time). Progress is posted in this thread.",
			actorNames(st.Approvers), stamp(b.UpdatedAt, v.Location), BatchCountWords(c), max(1, st.Concurrency))
		return line + stuckWords(st)
	case c.Done == c.Total:
		return fmt.Sprintf(":white_check_mark: *Done:* all %d migrations finished.", c.Total)
	}
	return fmt.Sprintf(":warning: *Finished:* %s.", BatchCountWords(c)) + stuckWords(st)
}

// stuckWords names the members that wait for a person, and what to do.
func stuckWords(st *bot.BatchStatus) string {
	var stuck []string
	first := ""
	for _, m := range st.Members {
		if first == "" && (m.State == bot.StateFailed || m.State == bot.StateNeedsApproval) {
			first = esc(m.ID, maxName)
		}
		switch m.State {
		case bot.StateFailed:
			stuck = append(stuck, fmt.Sprintf("%s %s failed at %s", code(m.ID), customerName(m.CustomerName, m.CustomerDomain, m.CustomerID), stepWords(m.FailedStep)))
		case bot.StateNeedsApproval:
			stuck = append(stuck, fmt.Sprintf("%s %s stopped for a new approval", code(m.ID), customerName(m.CustomerName, m.CustomerDomain, m.CustomerID)))
		}
	}
	if len(stuck) == 0 {
		return ""
	}
	return "\n" + bullets(stuck, 5, 0) + "\nEach has its own *Retry* on its plan in this thread, or type `/kaizala retry " + first + "` (and so on)."
}

// batchShortState is the batch's state in a few words, for fallback texts.
func batchShortState(v BatchView) string {
	st := v.Status
	c := st.Counts()
	switch {
	case st.Batch.State == bot.BatchRejected:
		return "Rejected"
	case st.Batch.State == bot.BatchPendingApproval:
		return fmt.Sprintf("Waiting for approval (%d of %d)", len(st.Approvers), max(1, st.Required))
	}
	return capitalize(BatchCountWords(c))
}

// batchDecided is the context line: who asked and when, the batch's hash,
// and who approved so far.
func batchDecided(v BatchView) []string {
	st := v.Status
	b := st.Batch
	out := []string{"Requested by " + who(b.Requester) + " on " + stamp(b.CreatedAt, v.Location), "Batch " + code(bot.ShortHash(b.Hash))}
	required := max(1, st.Required)
	switch {
	case len(st.Approvers) > 0:
		out = append(out, fmt.Sprintf("Approved by %s (%d of %d)", actorNames(st.Approvers), len(st.Approvers), required))
	case b.State == bot.BatchPendingApproval:
		out = append(out, fmt.Sprintf("Approvals: none yet (0 of %d)", required))
	}
	return out
}

// actorNames lists people: "<@U1>", "<@U1> and <@U2>", …
func actorNames(as []bot.Actor) string {
	ds := make([]bot.Decision, len(as))
	for i, a := range as {
		ds[i] = bot.Decision{Actor: a}
	}
	return cmp.Or(names(ds), "an approver")
}

// batchButtons are Approve (its dialog says the totals of what still
// waits) and Reject.
func batchButtons(st *bot.BatchStatus, target string) slack.Block {
	var waiting []bot.Migration
	for _, m := range st.Members {
		if m.State == bot.StatePendingApproval {
			waiting = append(waiting, m)
		}
	}
	t := totalsOf(waiting)
	what := fmt.Sprintf("Approves %s: buys %d seats of %s", plural(len(waiting), "migration", "migrations"), t.seats, truncate(target, 40))
	if t.priced {
		what += fmt.Sprintf(", %s/month, %s/term at list price", t.amount(t.monthly), t.amount(t.term))
	}
	what += fmt.Sprintf("; moves %s; then suspends or leaves to end each old subscription as its plan says. At most %d run at a time.",
		plural(t.users, "user", "users"), max(1, st.Concurrency))
	value := BatchValue(st.Batch)
	approve := button(ActionBatchApprove, value, fmt.Sprintf("Approve all %d", len(waiting))).WithStyle(slack.StylePrimary).
		WithConfirm(confirm(fmt.Sprintf("Approve %s?", plural(len(waiting), "migration", "migrations")), what, "Approve all", "Cancel"))
	reject := button(ActionBatchReject, value, "Reject").WithStyle(slack.StyleDanger)
	return actions("kaizala_batch:"+st.Batch.ID+":"+string(st.Batch.State), approve, reject)
}

// BatchProgress is the progress reply in the batch's thread, posted when the
// batch is approved and updated in place as its members finish.
func BatchProgress(v BatchView) Message {
	st := v.Status
	c := st.Counts()
	line := fmt.Sprintf("*Progress of batch %s:* %s.", esc(st.Batch.ID, maxName), BatchCountWords(c))
	if c.Finished() {
		line = fmt.Sprintf("*Batch %s finished:* %s.", esc(st.Batch.ID, maxName), BatchCountWords(c))
	}
	line += stuckWords(st)
	return Message{Text: fallback(line), Blocks: []slack.Block{section(truncate(line, maxSectionText))}}
}

// BatchOutcome is the reply that tells the requester a batch was rejected,
// or finished; key names the outcome, so the same one is announced once (a
// member retried later finishes the batch again, with another key). ok is
// false while members still run or wait for approval.
func BatchOutcome(v BatchView) (m Message, key string, ok bool) {
	st := v.Status
	c := st.Counts()
	b := st.Batch
	if b.State == bot.BatchRejected {
		line := fmt.Sprintf(":no_entry_sign: %s batch %s was rejected by %s: %s The migrations that were waiting are rejected with it.",
			who(b.Requester), esc(b.ID, maxName), who(b.RejectedBy), sentence(esc(cmp.Or(b.RejectReason, "no reason given"), maxReason)))
		return Message{Text: fallback(line), Blocks: []slack.Block{section(truncate(line, maxSectionText))}}, "rejected", true
	}
	if b.State != bot.BatchApproved || !c.Finished() {
		return Message{}, "", false
	}
	key = BatchCountWords(c)
	line := fmt.Sprintf("%s batch %s finished: %s.", who(b.Requester), esc(b.ID, maxName), key)
	if c.Done == c.Total {
		line = ":white_check_mark: " + line
	} else {
		line = ":warning: " + line + stuckWords(st)
	}
	return Message{Text: fallback(line), Blocks: []slack.Block{section(truncate(line, maxSectionText))}}, key, true
}

// BatchRejectModal asks for the reason to reject a batch; meta's
// MigrationID carries the batch id and PlanHash its hash.
func BatchRejectModal(st *bot.BatchStatus, meta RejectMeta) slack.ModalViewRequest {
	c := st.Counts()
	what := fmt.Sprintf("*Reject batch %s?* The %s of it still waiting for approval are rejected with it; nothing has been bought for them.",
		esc(st.Batch.ID, maxName), plural(c.Pending, "migration", "migrations"))
	if started := c.Total - c.Pending - c.Rejected; started > 0 {
		what += fmt.Sprintf(" The %d already approved on their own go on; reject them on their own plans if need be.", started)
	}
	reason := reasonInput("e.g. these customers renew by phone", "The requester sees it on the batch and each plan; the audit history keeps it.")
	metadata, _ := json.Marshal(meta) // three strings: cannot fail
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain("Reject "+st.Batch.ID, maxModalTitle),
		Submit:          plain("Reject", maxModalTitle),
		Close:           plain("Cancel", maxModalTitle),
		CallbackID:      CallbackBatchReject,
		PrivateMetadata: string(metadata),
		Blocks:          slack.Blocks{BlockSet: []slack.Block{section(what), reason}},
	}
}
