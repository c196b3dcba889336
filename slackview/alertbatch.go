package slackview

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// ActionPlanLine is the menu on a line of a batch alert: choosing a plan in
// it asks for that migration plan at once. Its action_id is ActionPlanLine
// + ":" + the subscription id, so each line's menu is its own within the
// message (ActionKind gives back ActionPlanLine), and each option's value
// is PlanLineValue(subscription, target).
const ActionPlanLine = "kaizala_plan_line"

// ActionKind is the action an action_id stands for: ActionPlanLine for the
// menu of any line of a batch alert, any other action_id itself.
func ActionKind(actionID string) string {
	if strings.HasPrefix(actionID, ActionPlanLine+":") {
		return ActionPlanLine
	}
	return actionID
}

// PlanLineValue is the value of an option of a line's menu: the
// subscription to plan and the target's skuPartNumber. A subscription id
// never holds a colon (Partner Center's are GUIDs); the target may.
func PlanLineValue(subscriptionID, target string) string { return subscriptionID + ":" + target }

// ParsePlanLineValue splits a PlanLineValue; ok is false when either part is missing.
func ParsePlanLineValue(v string) (subscriptionID, target string, ok bool) {
	subscriptionID, target, ok = strings.Cut(v, ":")
	return subscriptionID, target, ok && subscriptionID != "" && target != ""
}

// AlertLine is one subscription of a batch alert.
type AlertLine struct {
	Tracked       bot.TrackedSubscription // customer, subscription (seats = Quantity, EndDate)
	Threshold     int                     // the last threshold it crossed (0 = already ended)
	UsersAssigned int                     // users holding the licence; -1 when unknown
	// Owner is the customer's account owner: a Slack user id (shown as a
	// mention) or a name; empty when unknown.
	Owner     string
	Targets   []bot.Target   // the plans its users may move to, for its menu
	Migration *bot.Migration // its latest migration, nil if none
}

// Settled reports whether nothing on the line changes by itself any more:
// its migration is done, or the subscription no longer needs one (it
// renews by itself, or is no longer active), so the line counts no days.
func (l AlertLine) Settled() bool { return settled(l.Tracked.Subscription, l.Migration) }

func settled(s bot.Subscription, m *bot.Migration) bool {
	return (m != nil && m.State == bot.StateDone) || noLongerDue(s)
}

func noLongerDue(s bot.Subscription) bool { return !s.Active() || s.AutoRenew || !s.HasEnd() }

// AlertBatchView is one message of a batch alert: the top-level message a
// scan posts, or one of the follow-ups in its thread that hold what did
// not fit.
type AlertBatchView struct {
	Lines []AlertLine // the subscriptions this message shows, in any order
	// Threaded, for the top-level message, are the batch's lines shown in
	// its thread: counted in the summary and in "N more in the thread".
	Threaded []AlertLine
	// Part and Parts number a follow-up in the thread (Part ≥ 2 of Parts);
	// Part 0 is the top-level message.
	Part, Parts int
	Now         time.Time
	Location    *time.Location
}

// Limits of a batch alert message, within Slack's (see blocks.go).
const (
	// maxBatchLines: with the header, the summary, six group headings, the
	// thread note and the hint, 38 lines keep a message within 50 blocks.
	maxBatchLines = 38
	// batchRoom is the text the lines of one message may hold: the rest of
	// maxMessageChars is for the header, summary, headings and hint.
	batchRoom = maxMessageChars - 2000
	// lineHeadroom is kept free on each line beyond what it shows when
	// posted: a migration's state (cut to maxLineState), the users or the
	// owner may be added later, and the message must still fit.
	lineHeadroom = 350
	maxLineState = 220
	maxLineName  = 100 // a customer name or domain on a line
	// maxLineOptions bounds a line's menu, so that a big catalog leaves
	// room for the lines.
	maxLineOptions = 25
)

// alertGroup is how urgent a line is, in the order the groups are shown.
type alertGroup int

const (
	groupEnded alertGroup = iota
	groupWeek
	groupMonth
	groupQuarter
	groupLater
	groupSettled
)

var groupTitles = [...]string{
	groupEnded:   ":rotating_light: *Ended*",
	groupWeek:    ":red_circle: *Ends within 7 days*",
	groupMonth:   ":large_orange_circle: *Ends within 30 days*",
	groupQuarter: ":large_yellow_circle: *Ends within 90 days*",
	groupLater:   ":white_circle: *Ends in more than 90 days*",
	groupSettled: ":white_check_mark: *Migrated or no longer due*",
}

var groupCounts = [...]string{
	groupEnded: "ended", groupWeek: "within 7 days", groupMonth: "within 30 days", groupQuarter: "within 90 days",
	groupLater: "in more than 90 days", groupSettled: "migrated or no longer due",
}

func groupOf(l AlertLine, now time.Time, loc *time.Location) alertGroup {
	if l.Settled() {
		return groupSettled
	}
	switch days := daysLeft(l.Tracked.Finding, now, loc); {
	case days < 0:
		return groupEnded
	case days <= 7:
		return groupWeek
	case days <= 30:
		return groupMonth
	case days <= 90:
		return groupQuarter
	}
	return groupLater
}

// sortedLines orders lines by group, then days left, then customer and id.
func sortedLines(lines []AlertLine, now time.Time, loc *time.Location) []AlertLine {
	out := slices.Clone(lines)
	slices.SortStableFunc(out, func(x, y AlertLine) int {
		return cmp.Or(
			cmp.Compare(groupOf(x, now, loc), groupOf(y, now, loc)),
			cmp.Compare(daysLeft(x.Tracked.Finding, now, loc), daysLeft(y.Tracked.Finding, now, loc)),
			strings.Compare(strings.ToLower(x.Tracked.Customer.Label()), strings.ToLower(y.Tracked.Customer.Label())),
			strings.Compare(x.Tracked.Subscription.ID, y.Tracked.Subscription.ID))
	})
	return out
}

// AlertBatchPages splits a scan's newly alerted subscriptions, most urgent
// first, into the messages of a batch: the first for the top-level
// message, the others for follow-ups in its thread. Each leaves room on
// every line for what may be added later (a migration's state, the owner),
// so a message re-rendered as its lines change still fits Slack's limits.
func AlertBatchPages(lines []AlertLine, now time.Time, loc *time.Location) [][]AlertLine {
	var pages [][]AlertLine
	var cur []AlertLine
	used := 0
	for _, l := range sortedLines(lines, now, loc) {
		cost := blockChars([]slack.Block{lineBlock(l, now, loc, true)}) + lineHeadroom
		if len(cur) > 0 && (len(cur) >= maxBatchLines || used+cost > batchRoom) {
			pages = append(pages, cur)
			cur, used = nil, 0
		}
		cur = append(cur, l)
		used += cost
	}
	if len(cur) > 0 {
		pages = append(pages, cur)
	}
	return pages
}

// AlertBatch is one message of a batch alert: the subscriptions grouped by
// urgency (ended, within 7, 30 and 90 days, then those migrated or no
// longer due), one line each with its end date, days left counted at now,
// seats, users and owner when known, its migration's state, and a menu of
// plans: choosing one asks for the plan. The top-level message adds a
// summary of the whole batch and says how many more are in the thread.
func AlertBatch(v AlertBatchView) Message {
	loc := orUTC(v.Location)
	lines := sortedLines(v.Lines, v.Now, loc)
	menus := make([]bool, len(lines))
	for i := range lines {
		menus[i] = true
	}
	blocks := batchBlocks(v, lines, menus)
	// A catalog grown since the message was packed could push it over
	// Slack's limits: the last lines then lose their menus (they say what
	// to type instead) rather than the message failing or lines vanishing.
	for i := len(lines) - 1; i >= 0 && blockChars(blocks) > maxMessageChars; i-- {
		if lineMenu(lines[i]) != nil {
			menus[i] = false
			blocks = batchBlocks(v, lines, menus)
		}
	}
	return Message{Text: fallback(batchText(v, lines)), Blocks: blocks}
}

func batchBlocks(v AlertBatchView, lines []AlertLine, menus []bool) []slack.Block {
	loc := orUTC(v.Location)
	all := append(slices.Clone(v.Lines), v.Threaded...)
	var blocks []slack.Block
	if v.Part == 0 {
		blocks = append(blocks, header(batchIcon(all, v.Now, loc)+" "+batchTitle(all)), contextBlock(batchSummary(all, v.Now, loc)))
	} else {
		name, _ := retiredName(all)
		blocks = append(blocks, section(fmt.Sprintf("*%s alert, continued* (part %d of %d)", name, v.Part, max(v.Part, v.Parts))))
	}
	for i := 0; i < len(lines); {
		g := groupOf(lines[i], v.Now, loc)
		j := i
		for j < len(lines) && groupOf(lines[j], v.Now, loc) == g {
			j++
		}
		blocks = append(blocks, section(fmt.Sprintf("%s · %d", groupTitles[g], j-i)))
		for k := i; k < j; k++ {
			blocks = append(blocks, lineBlock(lines[k], v.Now, loc, menus[k]))
		}
		i = j
	}
	if v.Part == 0 && len(v.Threaded) > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf(":speech_balloon: *%d more in the thread.*", len(v.Threaded))))
	}
	if hint := batchHint(lines, menus); hint != "" {
		blocks = append(blocks, contextBlock(hint))
	}
	return blocks
}

// retiredName is the retired plan the lines are about, escaped; shared is
// false when they are about several (or none is named).
func retiredName(lines []AlertLine) (name string, shared bool) {
	for _, l := range lines {
		n := cmp.Or(l.Tracked.Retired, l.Tracked.Subscription.OfferName)
		if n == "" || (name != "" && n != name) {
			return "Retired plan", false
		}
		name = n
	}
	if name == "" {
		return "Retired plan", false
	}
	return esc(name, maxLineName), true
}

func batchTitle(all []AlertLine) string {
	name, shared := retiredName(all)
	if !shared {
		return plural(len(all), "subscription of a retired plan ends soon", "subscriptions of retired plans end soon")
	}
	return plural(len(all), name+" subscription ends soon", name+" subscriptions end soon")
}

// batchIcon sets the tone by the most urgent line.
func batchIcon(all []AlertLine, now time.Time, loc *time.Location) string {
	most := groupSettled
	for _, l := range all {
		most = min(most, groupOf(l, now, loc))
	}
	switch most {
	case groupEnded, groupWeek:
		return ":rotating_light:"
	case groupSettled:
		return ":white_check_mark:"
	}
	return ":warning:"
}

// batchSummary counts the batch's lines by group, as of today: a message
// a scan did not re-render says which day its counts are of.
func batchSummary(all []AlertLine, now time.Time, loc *time.Location) string {
	var counts [len(groupTitles)]int
	for _, l := range all {
		counts[groupOf(l, now, loc)]++
	}
	var parts []string
	for g, n := range counts {
		if n > 0 {
			parts = append(parts, strconv.Itoa(n)+" "+groupCounts[g])
		}
	}
	return strings.Join(parts, " · ") + " · as of " + day(now, loc)
}

// batchHint says how to plan, and what the menus leave out.
func batchHint(lines []AlertLine, menus []bool) string {
	anyMenu, offeredMost, notOffered := false, 0, 0
	for i, l := range lines {
		if !menus[i] || lineMenu(l) == nil {
			continue
		}
		anyMenu = true
		buyable, needIDs := offered(l.Targets)
		offeredMost, notOffered = max(offeredMost, len(buyable)), max(notOffered, needIDs)
	}
	if !anyMenu {
		return ""
	}
	hint := "Choose a plan in a line's menu to ask for its migration plan; an approver approves it before anything is bought. " +
		"Or type `/kaizala plan " + Escape("<subscription> <target> [seats]") + "`."
	if offeredMost > maxLineOptions {
		hint += fmt.Sprintf(" The menus show the first %d of %d plans; `/kaizala targets` lists them all.", maxLineOptions, offeredMost)
	}
	if notOffered > 0 {
		hint += fmt.Sprintf(" %s not offered here: no ids in KAIZALA_CATALOG yet (`/kaizala targets` lists them).", plural(notOffered, "plan", "plans"))
	}
	return hint
}

// batchText is the fallback: the summary and the customers shown.
func batchText(v AlertBatchView, lines []AlertLine) string {
	loc := orUTC(v.Location)
	all := append(slices.Clone(v.Lines), v.Threaded...)
	var b strings.Builder
	if v.Part == 0 {
		b.WriteString(batchTitle(all) + ": " + strings.ReplaceAll(batchSummary(all, v.Now, loc), " · ", ", "))
		if len(v.Threaded) > 0 {
			fmt.Fprintf(&b, "; %d more in the thread", len(v.Threaded))
		}
	} else {
		name, _ := retiredName(all)
		fmt.Fprintf(&b, "%s alert, continued (part %d of %d): %s", name, v.Part, max(v.Part, v.Parts), plural(len(lines), "subscription", "subscriptions"))
	}
	const named = 10
	var names []string
	for _, l := range lines[:min(len(lines), named)] {
		c := l.Tracked.Customer
		names = append(names, truncate(customerName(c.Name, c.Domain, c.ID), maxLineName))
	}
	if len(names) > 0 {
		b.WriteString(". " + strings.Join(names, ", "))
		if len(lines) > named {
			fmt.Fprintf(&b, " and %d more", len(lines)-named)
		}
	}
	return b.String() + "."
}

// lineBlock is a line: a section whose accessory, when menu is set and the
// subscription may be planned, is its menu of plans.
func lineBlock(l AlertLine, now time.Time, loc *time.Location, menu bool) slack.Block {
	var accessory *slack.Accessory
	sel := lineMenu(l)
	if menu && sel != nil {
		accessory = slack.NewAccessory(sel)
	}
	return slack.NewSectionBlock(mrkdwn(lineText(l, now, loc, menu && sel != nil), maxSectionText), nil, accessory,
		slack.SectionBlockOptionBlockID(truncate(lineBlockID(l), maxBlockID)))
}

// lineBlockID changes with the line's migration, since Slack asks for a new
// block_id when a menu's block is updated.
func lineBlockID(l AlertLine) string {
	state := "open"
	if m := l.Migration; m != nil {
		state = m.ID + ":" + string(m.State)
	}
	return "kaizala_line:" + l.Tracked.Subscription.ID + ":" + state
}

func lineText(l AlertLine, now time.Time, loc *time.Location, hasMenu bool) string {
	t, sub := l.Tracked, l.Tracked.Subscription
	who := "*" + esc(cmp.Or(t.Customer.Name, t.Customer.Domain, t.Customer.ID, "unknown customer"), maxLineName) + "*"
	if t.Customer.Name != "" && t.Customer.Domain != "" {
		who += " (" + esc(t.Customer.Domain, maxLineName) + ")"
	}
	parts := []string{who, plural(sub.Quantity, "seat", "seats")}
	if l.UsersAssigned >= 0 {
		parts = append(parts, plural(l.UsersAssigned, "user", "users"))
	}
	parts = append(parts, lineEnd(l, now, loc))
	if l.Owner != "" {
		parts = append(parts, "owner "+truncate(ownerName(l.Owner), maxLineName))
	}
	second := code(sub.ID) + " " + esc(cmp.Or(t.Retired, sub.OfferName, "subscription"), maxLineName)
	switch m := l.Migration; {
	case m != nil:
		second += " · Migration " + esc(m.ID, maxName) + " " + truncate(stateWords(m, loc), maxLineState)
		if m.State == bot.StateRejected && !hasMenu {
			second += planByCommand(sub.ID)
		}
	case noLongerDue(sub):
		second += " · no longer needs a plan: " + notDue(sub)
	case lineMenu(l) == nil:
		if buyable, _ := offered(l.Targets); len(buyable) == 0 {
			second += " · no plan for it can be bought yet (`/kaizala targets` lists them)"
		} else {
			second += planByCommand(sub.ID)
		}
	case !hasMenu:
		second += planByCommand(sub.ID)
	}
	return strings.Join(parts, " · ") + "\n" + second
}

func planByCommand(subscriptionID string) string {
	return " · plan it with `/kaizala plan " + esc(subscriptionID, maxName) + " " + Escape("<target>") + "`"
}

// ownerName names an owner: a mention for a Slack user id, else the name.
func ownerName(owner string) string { return who(bot.Actor{ID: owner, Name: owner}) }

// notDue says why a subscription no longer needs a plan.
func notDue(s bot.Subscription) string {
	switch {
	case !s.Active():
		return "it is " + esc(cmp.Or(s.Status, "no longer active"), maxName)
	case s.AutoRenew:
		return "it renews by itself now"
	}
	return "it has no end date any more"
}

// lineEnd is the end date, with the days left counted at now; a settled
// line shows the date alone, since it is no longer re-rendered as days go by.
func lineEnd(l AlertLine, now time.Time, loc *time.Location) string {
	end := endDay(l.Tracked.Subscription.EndDate)
	if l.Settled() {
		return "end date " + end
	}
	switch days := daysLeft(l.Tracked.Finding, now, loc); {
	case days > 1:
		return fmt.Sprintf("ends %s, in %d days", end, days)
	case days == 1:
		return "ends tomorrow, " + end
	case days == 0:
		return "ends today, " + end
	case days == -1:
		return "ended yesterday, " + end
	default:
		return fmt.Sprintf("ended %s, %d days ago", end, -days)
	}
}

// lineMenu is the line's menu of plans, or nil when the subscription is not
// to be planned from it: a migration is under way or done, it no longer
// needs one, or no plan can be bought.
func lineMenu(l AlertLine) *slack.SelectBlockElement {
	if (l.Migration != nil && l.Migration.State != bot.StateRejected) || l.Settled() {
		return nil
	}
	sub := l.Tracked.Subscription.ID
	actionID := ActionPlanLine + ":" + sub
	if utf8.RuneCountInString(actionID) > maxBlockID {
		return nil
	}
	buyable, _ := offered(l.Targets)
	var options []*slack.OptionBlockObject
	for _, t := range buyable[:min(len(buyable), maxLineOptions)] {
		v := PlanLineValue(sub, t.SkuPartNumber)
		if utf8.RuneCountInString(v) > maxOptionValue {
			continue // cut short, it would plan something else
		}
		options = append(options, slack.NewOptionBlockObject(v, plain(esc(t.Name, maxName), maxOptionText), nil))
	}
	if len(options) == 0 {
		return nil
	}
	return slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Plan a migration to…", maxPlaceholder), actionID, options...)
}

// AlertRaised is the reply in an alert's thread when a subscription it
// shows crosses a later threshold: the alert itself is re-rendered, not
// posted again.
func AlertRaised(l AlertLine) Message {
	t, sub := l.Tracked, l.Tracked.Subscription
	icon := ":warning:"
	if l.Threshold <= 7 {
		icon = ":rotating_light:"
	}
	what := fmt.Sprintf("now ends within %s, on %s", plural(l.Threshold, "day", "days"), endDay(sub.EndDate))
	if l.Threshold == 0 {
		what = "has ended: its end date was " + endDay(sub.EndDate)
	}
	text := fmt.Sprintf("%s *%s*: %s %s %s. The alert is up to date.", icon,
		customerLabel(t.Customer.Name, t.Customer.Domain, t.Customer.ID), esc(cmp.Or(t.Retired, sub.OfferName, "the subscription"), maxName),
		code(sub.ID), what)
	return Message{Text: fallback(text), Blocks: []slack.Block{section(text)}}
}

// blockChars counts the text of blocks as Slack would (every text object),
// to keep a message below maxMessageChars.
func blockChars(blocks []slack.Block) int {
	raw, err := json.Marshal(blocks)
	if err != nil {
		return 0
	}
	var v any
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&v); err != nil {
		return 0
	}
	n := 0
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if typ, _ := x["type"].(string); typ == slack.PlainTextType || typ == slack.MarkdownType {
				if s, ok := x["text"].(string); ok {
					n += utf8.RuneCountInString(s)
					return
				}
			}
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return n
}
