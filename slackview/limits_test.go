package slackview

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kaizalabot/kaizalabot/bot"
)

// Slack's documented Block Kit limits (reference slack.md §2.6), written out
// here rather than taken from the code, so a wrong constant there fails.
const (
	slackBlocks         = 50
	slackTextObject     = 3000
	slackFields         = 10
	slackField          = 2000
	slackHeader         = 150
	slackActionElems    = 25
	slackButtonText     = 75
	slackButtonValue    = 2000
	slackActionID       = 255
	slackOptions        = 100
	slackOptionText     = 75
	slackOptionValue    = 150
	slackPlaceholder    = 150
	slackConfirmTitle   = 100
	slackConfirmText    = 300
	slackConfirmButton  = 30
	slackContextElems   = 10
	slackBlockID        = 255
	slackUpdateTextSize = 4000
)

// limitChecker walks a message's JSON, as Slack would receive it, and reports
// every limit it breaks.
type limitChecker struct {
	t     *testing.T
	chars int // text of all text objects together
}

func checkLimits(t *testing.T, m Message) {
	t.Helper()
	if strings.TrimSpace(m.Text) == "" {
		t.Error("Text is empty")
	}
	if n := utf8.RuneCountInString(m.Text); n > slackUpdateTextSize {
		t.Errorf("Text has %d characters, more than %d", n, slackUpdateTextSize)
	}
	if p := markupProblem(m.Text); p != "" {
		t.Errorf("Text: %s", p)
	}
	raw, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatalf("marshalling blocks: %v", err)
	}
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatalf("decoding blocks: %v", err)
	}
	if len(blocks) == 0 || len(blocks) > slackBlocks {
		t.Errorf("%d blocks, want 1 to %d", len(blocks), slackBlocks)
	}
	c := &limitChecker{t: t}
	for i, b := range blocks {
		c.block(fmt.Sprintf("block %d (%v)", i, b["type"]), b)
	}
	if c.chars > maxMessageChars {
		t.Errorf("the blocks hold %d characters of text, more than %d (Slack answers msg_blocks_too_long)", c.chars, maxMessageChars)
	}
}

func (c *limitChecker) errorf(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf(format, args...)
}

// max checks that s has at most n characters.
func (c *limitChecker) max(where, s string, n int) {
	c.t.Helper()
	if got := utf8.RuneCountInString(s); got > n {
		c.errorf("%s: %d characters, more than %d", where, got, n)
	}
}

// text checks a text object: its type, length, and that mrkdwn is sent verbatim.
func (c *limitChecker) text(where string, v any, n int, plainOnly bool) {
	c.t.Helper()
	obj, ok := v.(map[string]any)
	if !ok {
		c.errorf("%s: not a text object: %v", where, v)
		return
	}
	s, _ := obj["text"].(string)
	switch obj["type"] {
	case "plain_text":
	case "mrkdwn":
		if plainOnly {
			c.errorf("%s: mrkdwn where Slack takes only plain_text", where)
		}
		if obj["verbatim"] != true {
			c.errorf("%s: mrkdwn not verbatim, so Slack would parse a bare @here from outside", where)
		}
	default:
		c.errorf("%s: text type %v", where, obj["type"])
	}
	if s == "" {
		c.errorf("%s: empty text", where)
	}
	if p := markupProblem(s); p != "" {
		c.errorf("%s: %s", where, p)
	}
	c.max(where, s, min(n, slackTextObject))
	c.chars += utf8.RuneCountInString(s)
}

func (c *limitChecker) block(where string, b map[string]any) {
	c.t.Helper()
	if id, ok := b["block_id"].(string); ok {
		c.max(where+" block_id", id, slackBlockID)
	}
	switch b["type"] {
	case "header":
		c.text(where+" text", b["text"], slackHeader, true)
	case "section":
		if b["text"] == nil && b["fields"] == nil {
			c.errorf("%s: neither text nor fields", where)
		}
		if b["text"] != nil {
			c.text(where+" text", b["text"], slackTextObject, false)
		}
		fields, _ := b["fields"].([]any)
		if len(fields) > slackFields {
			c.errorf("%s: %d fields, more than %d", where, len(fields), slackFields)
		}
		for i, f := range fields {
			c.text(fmt.Sprintf("%s field %d", where, i), f, slackField, false)
		}
		if a, ok := b["accessory"].(map[string]any); ok {
			c.element(where+" accessory", a)
		}
	case "actions":
		elems, _ := b["elements"].([]any)
		if len(elems) == 0 || len(elems) > slackActionElems {
			c.errorf("%s: %d elements, want 1 to %d", where, len(elems), slackActionElems)
		}
		ids := map[string]bool{}
		for i, e := range elems {
			el, _ := e.(map[string]any)
			id, _ := el["action_id"].(string)
			if ids[id] {
				c.errorf("%s: action_id %q twice in one block", where, id)
			}
			ids[id] = true
			c.element(fmt.Sprintf("%s element %d", where, i), el)
		}
	case "context":
		elems, _ := b["elements"].([]any)
		if len(elems) == 0 || len(elems) > slackContextElems {
			c.errorf("%s: %d elements, want 1 to %d", where, len(elems), slackContextElems)
		}
		for i, e := range elems {
			c.text(fmt.Sprintf("%s element %d", where, i), e, slackTextObject, false)
		}
	case "divider":
	default:
		c.errorf("%s: unexpected block type", where)
	}
}

func (c *limitChecker) element(where string, el map[string]any) {
	c.t.Helper()
	id, _ := el["action_id"].(string)
	c.max(where+" action_id", id, slackActionID)
	switch el["type"] {
	case "button":
		c.text(where+" text", el["text"], slackButtonText, true)
		value, _ := el["value"].(string)
		c.max(where+" value", value, slackButtonValue)
	case "static_select":
		c.text(where+" placeholder", el["placeholder"], slackPlaceholder, true)
		options, _ := el["options"].([]any)
		if len(options) == 0 || len(options) > slackOptions {
			c.errorf("%s: %d options, want 1 to %d", where, len(options), slackOptions)
		}
		for i, o := range options {
			c.option(fmt.Sprintf("%s option %d", where, i), o)
		}
		if initial, ok := el["initial_option"]; ok {
			found := false
			for _, o := range options {
				found = found || reflect.DeepEqual(o, initial)
			}
			if !found {
				c.errorf("%s: initial_option is not one of the options", where)
			}
		}
	default:
		c.errorf("%s: unexpected element type %v", where, el["type"])
	}
	if conf, ok := el["confirm"].(map[string]any); ok {
		c.text(where+" confirm title", conf["title"], slackConfirmTitle, true)
		c.text(where+" confirm text", conf["text"], slackConfirmText, false)
		c.text(where+" confirm button", conf["confirm"], slackConfirmButton, true)
		c.text(where+" deny button", conf["deny"], slackConfirmButton, true)
	}
}

func (c *limitChecker) option(where string, v any) {
	c.t.Helper()
	o, _ := v.(map[string]any)
	c.text(where+" text", o["text"], slackOptionText, true)
	if o["description"] != nil {
		c.text(where+" description", o["description"], slackOptionText, true)
	}
	value, _ := o["value"].(string)
	c.max(where+" value", value, slackOptionValue)
}

// mentionToken is markup the views make themselves: a user, user group or
// channel mention, or a link to a permalink Slack gave.
var mentionToken = regexp.MustCompile(`^<(@[UW][A-Z0-9]+|!subteam\^S[A-Z0-9]+|#[CGD][A-Z0-9]+|https?://[^<>|\s]+\|[^<>|]+)>`)

// markupProblem finds a control character that is not ours: every < must
// open a mentionToken, every > close one, every & start one of the three
// entities Escape makes. Anything else means some text skipped Escape.
func markupProblem(s string) string {
	for i := 0; i < len(s); i++ {
		ok := true
		switch s[i] {
		case '<':
			m := mentionToken.FindString(s[i:])
			ok = m != ""
			i += max(0, len(m)-1)
		case '>':
			ok = false
		case '&':
			ok = strings.HasPrefix(s[i:], "&amp;") || strings.HasPrefix(s[i:], "&lt;") || strings.HasPrefix(s[i:], "&gt;")
		}
		if !ok {
			return fmt.Sprintf("unescaped %q in …%s…", s[i], s[max(0, i-30):min(len(s), i+30)])
		}
	}
	return ""
}

// everyMessage renders every kind of message from the same inputs, with a
// migration in every state, for the limit and hostile-text tests.
func everyMessage(customer bot.Customer, errText string, move, findings int) map[string]Message {
	sub := tracked()
	sub.Customer = customer
	states := []bot.State{bot.StatePendingApproval, bot.StateMovingUsers, bot.StateDone, bot.StateFailed, bot.StateNeedsApproval, bot.StateRejected}
	var ms []*bot.Migration
	var decisions []bot.Decision
	for i, s := range states {
		m := migration(s)
		m.ID = fmt.Sprintf("M%d", i)
		m.CustomerName, m.CustomerDomain = customer.Name, customer.Domain
		m.Plan.CustomerName, m.Plan.CustomerDomain = customer.Name, customer.Domain
		m.Plan.Move = users(move, "user%04d@"+customer.Domain)
		m.Plan.CannotMove = users(move, "nolocation%04d@"+customer.Domain)
		for j := range m.Plan.CannotMove {
			m.Plan.CannotMove[j].Reason = errText
		}
		m.FailedStep, m.Error = bot.StepVerify, errText
		ms = append(ms, m)
		decisions = append(decisions,
			approval(bot.Actor{ID: "U0APR000" + fmt.Sprint(i), Name: customer.Name}, now),
			bot.Decision{MigrationID: m.ID, Actor: bot.Actor{ID: "not-a-user-id", Name: customer.Name}, Kind: bot.DecisionReject, Reason: errText, At: now},
			bot.Decision{MigrationID: m.ID, Actor: approver2, Kind: bot.DecisionOverride, At: now},
		)
	}
	var found []bot.TrackedSubscription
	var entries []bot.AuditEntry
	for i := range findings {
		f := sub
		f.Subscription.ID = fmt.Sprintf("%08X-0000-4000-8000-%012X", i, i)
		f.Subscription.EndDate = day0(2026, 11, 20).AddDate(0, 0, i%95)
		found = append(found, f)
		entries = append(entries, bot.AuditEntry{At: now.Add(time.Duration(i) * time.Minute), Actor: bot.Actor{ID: "x", Name: customer.Name},
			Action: bot.ActionUserFailed, MigrationID: "M0", Detail: map[string]any{"upn": "user@" + customer.Domain, "error": errText}})
	}
	targets := kaizalaTargets()
	for range 6 { // more than a select can hold
		targets = append(targets, targets...)
	}
	d := fullDigest()
	d.MostUrgent, d.MostUrgentMore = found, 7
	d.Waiting, d.Running, d.Completed, d.Failed, d.Rejected = ms, ms, ms, ms, ms
	d.Scan.Failures = []string{}
	d.Scan.Access = nil
	for range findings {
		d.Scan.Failures = append(d.Scan.Failures, customer.Name+": "+errText)
		d.Scan.Access = append(d.Scan.Access, bot.ScanAccess{CustomerID: customer.Name, Customer: customer.Name, Code: errText, Fix: errText})
	}

	out := map[string]Message{
		"digest":   Digest(d, cet),
		"help":     Help(customer.Name, customer.Name),
		"refusal":  Refusal(errText),
		"info":     Info(customer.Name),
		"list":     List(found, 90, now, cet),
		"status":   Status(found, ms, now, cet),
		"targets":  Targets(bot.RetiredSKU{Name: customer.Name}, targets),
		"history":  History(customer.Name, entries, cet),
		"no alert": Alert(AlertView{Tracked: sub, Threshold: 0, UsersAssigned: -1, Targets: targets, Now: now, Location: cet}),
	}
	// A batch alert of every finding, its lines in every migration state
	// (and none), owned by someone named like the customer.
	var batch []AlertLine
	for i, f := range found {
		l := AlertLine{Tracked: f, Threshold: 7, UsersAssigned: move, Owner: customer.Name, Targets: targets}
		if i%(len(ms)+1) < len(ms) {
			l.Migration = ms[i%(len(ms)+1)]
		}
		batch = append(batch, l)
	}
	if pages := AlertBatchPages(batch, now, cet); len(pages) > 0 {
		out["alert batch"] = AlertBatch(AlertBatchView{Lines: pages[0], Threaded: slices.Concat(pages[1:]...), Now: now, Location: cet})
		out["alert batch follow-up"] = AlertBatch(AlertBatchView{Lines: pages[len(pages)-1], Part: len(pages), Parts: len(pages), Now: now, Location: cet})
		out["alert raised"] = AlertRaised(batch[0])
	}
	var owned []OwnerAlertItem
	for i, f := range found {
		owned = append(owned, OwnerAlertItem{Tracked: f, AlertChannel: "C0ALERTS", AlertLink: "https://x.slack.com/archives/C0ALERTS/p1", Migration: ms[i%len(ms)]})
	}
	out["owner alert"] = OwnerAlert(OwnerAlertView{Owner: "U0OWN", InChannel: true, Items: owned, Now: now, Location: cet})
	out["owner alert, one"] = OwnerAlert(OwnerAlertView{Owner: "U0OWN", Items: owned[:1], Now: now, Location: cet})
	for _, m := range ms {
		out["alert "+string(m.State)] = Alert(AlertView{Tracked: sub, Threshold: 7, UsersAssigned: move, Targets: targets, Migration: m, Now: now, Location: cet})
		out["plan "+string(m.State)] = Plan(PlanView{Migration: m, Decisions: decisions, Required: 3, Now: now, Location: cet, Owner: "U0OWN"})
		waiting := WaitingView{Migration: m, Approvers: []string{"U0APR0001", "not-a-user-id", customer.Name}, Group: customer.Name, Required: 3, Now: now}
		out["approval asked "+string(m.State)] = ApprovalAsked(waiting)
		out["approval reminder "+string(m.State)] = ApprovalReminder(waiting)
		for _, e := range progressEvents(*m, errText) {
			text, ok := Progress(e, cet)
			if ok {
				out["progress "+string(e.Kind)+" "+string(m.State)] = Message{Text: text, Blocks: Info(text).Blocks}
			}
		}
	}
	return out
}

// progressEvents are one event of every kind about m.
func progressEvents(m bot.Migration, errText string) []bot.Event {
	mv := &bot.UserMove{MigrationID: m.ID, UPN: m.Plan.Move[0].UPN, Error: errText}
	return []bot.Event{
		{Kind: bot.EventStarted, Migration: m, Actor: approver1},
		{Kind: bot.EventStarted, Migration: m, Actor: approver1, Message: "resumed at move_users"},
		{Kind: bot.EventBought, Migration: m, Total: m.Plan.Seats},
		{Kind: bot.EventSeatsReady, Migration: m, Done: 25, Total: 25},
		{Kind: bot.EventUserMoved, Migration: m, Move: mv, Done: len(m.Plan.Move), Total: len(m.Plan.Move)},
		{Kind: bot.EventUserFailed, Migration: m, Move: mv},
		{Kind: bot.EventSuspended, Migration: m, Deprovision: now.Add(bot.DeprovisionAfter)},
		{Kind: bot.EventDone, Migration: m},
		{Kind: bot.EventFailed, Migration: m, Message: errText},
		{Kind: bot.EventNeedsApproval, Migration: m, Message: errText},
		{Kind: bot.EventReplanned, Migration: m, Message: errText},
		{Kind: bot.EventRejected, Migration: m, Decision: &bot.Decision{Actor: bot.Actor{ID: "bad id", Name: m.CustomerName}, Reason: errText}},
	}
}

func TestLimits(t *testing.T) {
	huge := strings.Repeat("Partner Center said no & then <more>. ", 10000/38+1)[:10000]
	longName := strings.Repeat("Contoso & Söhne GmbH ", 5000/21+1)[:5000]
	tests := []struct {
		name     string
		customer bot.Customer
		errText  string
		move     int
		findings int
	}{
		{"500 users in a plan", contoso, "licence update failed", 500, 3},
		{"300 findings in a list", contoso, "licence update failed", 23, 300},
		{"10,000-character error", contoso, huge, 23, 3},
		{"5,000-character customer name", bot.Customer{ID: "c", Name: longName, Domain: "contoso.onmicrosoft.com"}, "licence update failed", 23, 3},
		{"everything at once", bot.Customer{ID: "c", Name: longName, Domain: longName}, huge, 500, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for kind, m := range everyMessage(tt.customer, tt.errText, tt.move, tt.findings) {
				t.Run(kind, func(t *testing.T) { checkLimits(t, m) })
			}
		})
	}
}

func TestLimitsCutWithCount(t *testing.T) {
	msgs := everyMessage(contoso, "licence update failed", 500, 300)
	tests := []struct{ kind, want string }{
		{"plan pending_approval", "…and 490 more."},
		{"list", "more. Narrow the list with"},
		{"history", "earlier entries are not shown"},
		{"status", "…and "},
		{"digest", "…and 302 more."}, // 300 urgent, 5 shown, 7 the digest left out
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			if got := string(payload(t, msgs[tt.kind])); !strings.Contains(got, tt.want) {
				t.Errorf("%s does not say %q", tt.kind, tt.want)
			}
		})
	}
	if got := targetPicker(t, msgs["no alert"]); len(got.Options) != slackOptions {
		t.Errorf("alert with %d targets: %d options, want %d", 21*64, len(got.Options), slackOptions)
	}
}

// TestHostileText: text from outside never reaches Slack unescaped.
func TestHostileText(t *testing.T) {
	const name = "<!channel> & <@U123>|x"
	const errText = "failed: see <https://evil|click> now"
	forbidden := []string{"<!channel>", "<@U123>", "<https://evil"}
	for kind, m := range everyMessage(bot.Customer{ID: "c", Name: name, Domain: "<!here>.example"}, errText, 12, 12) {
		t.Run(kind, func(t *testing.T) {
			var all []string
			collectStrings(t, m, &all)
			joined := strings.Join(all, "\n")
			for _, bad := range append(forbidden, "<!here>") {
				if strings.Contains(joined, bad) {
					t.Errorf("%q appears unescaped", bad)
				}
			}
		})
	}
	// The escaped forms are there: the test looked at text that carries them.
	m := everyMessage(bot.Customer{ID: "c", Name: name, Domain: "x.example"}, errText, 12, 12)
	for kind, want := range map[string]string{
		"plan failed":  "&lt;https://evil|click&gt;",
		"alert failed": "&lt;!channel&gt; &amp; &lt;@U123&gt;|x",
		"alert batch":  "&lt;!channel&gt; &amp; &lt;@U123&gt;|x",
		"list":         "&lt;!channel&gt;",
	} {
		var all []string
		collectStrings(t, m[kind], &all)
		if !strings.Contains(strings.Join(all, "\n"), want) {
			t.Errorf("%s: does not show %q", kind, want)
		}
	}
}

// collectStrings gathers Text and every string value in the blocks' JSON,
// decoded, so no JSON escaping can hide a control sequence from the search.
func collectStrings(t *testing.T, m Message, out *[]string) {
	t.Helper()
	*out = append(*out, m.Text)
	raw, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			*out = append(*out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}
