package slackview

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
)

// CallbackHome is the callback_id of the bot's Home tab view.
const CallbackHome = "kaizala_home"

// Home tab budgets. Slack allows 100 blocks in a Home tab (50 in a message,
// https://docs.slack.dev/reference/views/home-tab-views); the text is kept
// within a message's budget too, since Slack's undocumented total-size
// refusals are not known to spare views.
const (
	maxHomeBlocks   = 100
	homeWaiting     = 10 // plans waiting for approval shown with their buttons (2 blocks each)
	homeListed      = 15 // lines of the own-plans and customers lists
	homeStatusBlock = 2  // blocks of the answer to a click shown on top
	homeRoom        = 600
)

// HomeView is what one person's Home tab shows, as of Now. The tab is
// drawn again each time it is opened, so it may say "5 hours ago".
type HomeView struct {
	User string // whose Home tab it is
	// Approver: the person may approve, so the plans waiting for approval
	// are listed with Approve and Reject.
	Approver bool
	// Status, optional, answers the person's last click on the Home tab:
	// the tab has no channel and no response_url to answer in, so the
	// answer is shown on top of the tab itself.
	Status *Message
	// Waiting are the plans waiting for approval, oldest first, with the
	// decisions made about each so far.
	Waiting []HomePlan
	// Mine are the person's own plans that are not finished, oldest first.
	Mine []*bot.Migration
	// Customers are expiring subscriptions, most urgent first, with
	// DaysLeft as of Now.
	Customers []bot.TrackedSubscription
	// Owned: Customers are those of the person's own customers (by account
	// owner); otherwise they are the ones expiring soonest, whoever owns them.
	Owned    bool
	Scan     *bot.ScanSummary // the last scan; nil when there has been none
	Required int              // approvals a plan needs
	Now      time.Time
	Location *time.Location
}

// HomePlan is a plan waiting for approval and its decisions so far.
type HomePlan struct {
	Migration *bot.Migration
	Decisions []bot.Decision
}

// Home is the Home tab of v.User, for views.publish: the answer to their
// last click, the plans waiting for their approval, their own open plans,
// their customers by urgency and the last scan's health. Lists are cut
// with a count of the rest, within Slack's limits.
func Home(v HomeView) slack.HomeTabViewRequest {
	b := homeBuilder{left: maxHomeBlocks - 4, chars: maxMessageChars - homeRoom} // the scan's divider and context, and room to spare
	b.add(header("Kaizala Pro renewals"))
	if v.Status != nil && len(v.Status.Blocks) > 0 {
		b.add(v.Status.Blocks[:min(len(v.Status.Blocks), homeStatusBlock)]...)
		b.add(slack.NewDividerBlock())
	}
	if v.Approver {
		b.waiting(v)
	}
	b.mine(v)
	b.customers(v)
	b.blocks = append(b.blocks, slack.NewDividerBlock(), contextBlock(homeScan(v.Scan, v.Now, v.Location), "Updated "+stamp(v.Now, v.Location)))
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: b.blocks}, CallbackID: CallbackHome}
}

// HomeNotice is a Home tab that only says m: a refusal to someone the bot
// does not serve (no customer data, no scan), or that the tab could not be
// drawn.
func HomeNotice(m Message) slack.HomeTabViewRequest {
	blocks := []slack.Block{header("Kaizala Pro renewals")}
	blocks = append(blocks, m.Blocks[:min(len(m.Blocks), maxHomeBlocks-1)]...)
	if len(m.Blocks) == 0 {
		blocks = append(blocks, section(esc(m.Text, maxSectionText)))
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}, CallbackID: CallbackHome}
}

// homeBuilder adds blocks while the Home tab's block and text budgets last.
type homeBuilder struct {
	blocks []slack.Block
	left   int // blocks that may still be added
	chars  int // characters of text that may still be added
}

func (b *homeBuilder) add(blocks ...slack.Block) {
	b.blocks = append(b.blocks, blocks...)
	b.left -= len(blocks)
	b.chars -= blockChars(blocks) // alertbatch.go
}

// fits reports whether n more blocks holding chars characters fit, keeping
// room for a last line that counts what was left out.
func (b *homeBuilder) fits(n, chars int) bool { return n < b.left && chars < b.chars-moreRoom }

// title adds a list's bold title, with its count.
func (b *homeBuilder) title(s string) { b.add(section("*" + s + "*")) }

func (b *homeBuilder) waiting(v HomeView) {
	b.title(fmt.Sprintf("Waiting for approval (%d)", len(v.Waiting)))
	if len(v.Waiting) == 0 {
		b.add(section("Nothing is waiting for approval."))
		return
	}
	shown := 0
	for _, hp := range v.Waiting {
		if shown == homeWaiting {
			break
		}
		blocks := homePlan(hp, v)
		if !b.fits(len(blocks), blockChars(blocks)) {
			break
		}
		b.add(blocks...)
		shown++
	}
	if left := len(v.Waiting) - shown; left > 0 {
		b.add(contextBlock(fmt.Sprintf("…and %d more waiting for approval: each has its plan message with Approve and Reject in the alert channel, and the digest lists them all.", left)))
	}
}

// homePlan is one plan waiting for approval: what is bought for whom at
// what price, who asked and how long ago, and Approve and Reject carrying
// the same values as on the plan message, so a click works the same.
func homePlan(hp HomePlan, v HomeView) []slack.Block {
	m := hp.Migration
	p := m.Plan
	required := max(1, v.Required)
	pv := PlanView{Migration: m, Decisions: hp.Decisions}
	ok := approvers(pv)
	customer := customerName(cmp.Or(p.CustomerName, m.CustomerName), cmp.Or(p.CustomerDomain, m.CustomerDomain), m.CustomerID)
	target := esc(p.Target.Name, maxName)

	var line strings.Builder
	fmt.Fprintf(&line, "*%s* · %s\n%s", customer, code(m.ID), esc(capitalize(p.Summary()), maxLine))
	// What the customer pays for once done: the seats bought, or those a
	// transition or renewal carries over.
	if p.BilledSeats() > 0 && p.Target.ListPrice > 0 {
		cur := esc(p.Target.Currency, 10)
		fmt.Fprintf(&line, ": about %s a month", strings.TrimSpace(cur+" "+money(p.MonthlyPrice())))
		if term := p.TermPrice(); term > 0 {
			fmt.Fprintf(&line, ", %s for the whole term", strings.TrimSpace(cur+" "+money(term)))
		}
		line.WriteString(" at list price")
	}
	line.WriteString(".")
	if odd := p.Unusual(); len(odd) > 0 {
		line.WriteString("\n:warning: Unusual seat count: " + esc(strings.Join(odd, "; "), maxReason) + ".")
	}
	fmt.Fprintf(&line, "\nRequested by %s %s ago · %d of %d approvals", who(m.Requester), since(m.CreatedAt, v.Now), len(ok), required)
	if m.PlanHash != "" {
		line.WriteString(" · plan " + code(bot.ShortHash(m.PlanHash)))
	}
	blocks := []slack.Block{section(line.String())}

	switch {
	case strings.EqualFold(m.Requester.ID, v.User):
		return append(blocks, contextBlock("You asked for this plan, so another approver must approve it."))
	case approvedBy(ok, v.User):
		more := required - len(ok)
		word := map[bool]string{true: "approval", false: "approvals"}[more == 1]
		return append(blocks, contextBlock(fmt.Sprintf("You approved this plan; it waits for %d more %s.", more, word)))
	}
	// As on the plan message: the dialog holds the terms, the prices and the
	// old subscription's fate within 300 characters.
	what := approveWords(p, truncate(target, 40), truncate(customer, 40), esc(m.SubscriptionID, maxConfirmName), v.Location)
	approve := button(ActionApprove, DecisionValue(m), "Approve").WithStyle(slack.StylePrimary).
		WithConfirm(confirm("Approve migration?", what, "Approve", "Cancel"))
	reject := button(ActionReject, DecisionValue(m), "Reject").WithStyle(slack.StyleDanger)
	return append(blocks, actions("kaizala_home_plan:"+m.ID+":"+bot.ShortHash(m.PlanHash), approve, reject))
}

// approvedBy reports whether user is among the approvers.
func approvedBy(ds []bot.Decision, user string) bool {
	for _, d := range ds {
		if strings.EqualFold(d.Actor.ID, user) {
			return true
		}
	}
	return false
}

func (b *homeBuilder) mine(v HomeView) {
	b.title(fmt.Sprintf("Your open plans (%d)", len(v.Mine)))
	if len(v.Mine) == 0 {
		b.add(section("You have no open plans. Plan a migration from an alert, or type `/kaizala plan " + Escape("<subscription> <target>") + "`."))
		return
	}
	lines := make([]string, len(v.Mine))
	for i, m := range v.Mine {
		lines[i] = fmt.Sprintf("• %s %s — %s — %s, asked %s ago", code(m.ID),
			customerName(cmp.Or(m.Plan.CustomerName, m.CustomerName), cmp.Or(m.Plan.CustomerDomain, m.CustomerDomain), m.CustomerID),
			esc(m.Plan.Summary(), maxLine), shortState(m), since(m.CreatedAt, v.Now))
	}
	b.list(lines, func(left int) string {
		return fmt.Sprintf("…and %d more. Type `/kaizala status %s` for one of them.", left, Escape("<id>"))
	})
}

func (b *homeBuilder) customers(v HomeView) {
	title := "Expiring soonest"
	if v.Owned {
		title = "Your customers, most urgent first"
	}
	b.title(fmt.Sprintf("%s (%d)", title, len(v.Customers)))
	if len(v.Customers) == 0 {
		b.add(section("Nothing expires within 90 days."))
	} else {
		lines := make([]string, len(v.Customers))
		for i, t := range v.Customers {
			lines[i] = fmt.Sprintf("• *%s* · %s · %s · %s · %s", daysColumn(t.DaysLeft), endISO(t.Subscription.EndDate),
				customerLabel(t.Customer.Name, t.Customer.Domain, t.Customer.ID), code(t.Subscription.ID),
				plural(t.Subscription.Quantity, "seat", "seats"))
		}
		b.list(lines, func(left int) string {
			return fmt.Sprintf("…and %d more. Type `/kaizala list` to see them.", left)
		})
	}
	if !v.Owned {
		b.add(contextBlock("These are the subscriptions expiring soonest, whoever their account owner is."))
	}
}

// list adds at most homeListed lines, packed into sections within the
// budgets, with a count of the rest.
func (b *homeBuilder) list(lines []string, more func(left int) string) {
	shown := lines[:min(len(lines), homeListed)]
	unseen := len(lines) - len(shown)
	cut := false
	blocks := packLines(shown, "\n", max(1, b.left-1), max(2*moreRoom, b.chars), func(left int) string {
		cut = true
		return more(left + unseen)
	})
	if unseen > 0 && !cut {
		// Every line offered fitted: the count of the others gets its own line.
		blocks = append(blocks, contextBlock(more(unseen)))
	}
	b.add(blocks...)
}

// homeScan says when the last scan ran and whether it read everything.
func homeScan(s *bot.ScanSummary, now time.Time, loc *time.Location) string {
	if s == nil {
		return "No scan yet: the bot scans at start and on schedule, or type `/kaizala scan`."
	}
	out := fmt.Sprintf("Last scan %s ago (%s): %s read, %s of retired products found.", since(s.Started, now), stamp(s.Started, loc),
		plural(s.Customers, "customer", "customers"), plural(s.Findings, "subscription", "subscriptions"))
	if len(s.Failures) == 0 && len(s.Access) == 0 {
		return ":white_check_mark: " + out + " Every customer could be read."
	}
	out = ":warning: " + out
	if len(s.Failures) > 0 {
		out += fmt.Sprintf(" Could not read %s.", plural(len(s.Failures), "customer", "customers"))
	}
	if len(s.Access) > 0 {
		out += fmt.Sprintf(" Cannot read the licences of %s, so nothing can be planned for them.", plural(len(s.Access), "customer", "customers"))
	}
	return out + " The digest names them and says what to fix."
}
