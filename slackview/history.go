package slackview

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// maxHistoryLine bounds one audit entry's line.
const maxHistoryLine = 400

// History shows audit entries, newest last. When they do not all fit, the
// oldest are left out and counted: the latest are what people ask about.
func History(title string, entries []bot.AuditEntry, loc *time.Location) Message {
	heading := "*" + esc(title, maxName) + "*"
	if len(entries) == 0 {
		return Message{Text: fallback(esc(title, maxName) + ": nothing recorded yet."), Blocks: []slack.Block{section(heading + "\nNothing recorded yet.")}}
	}
	heading += " (times in " + entries[len(entries)-1].At.In(orUTC(loc)).Format("MST") + ")"
	lines := make([]string, len(entries))
	for i, e := range entries {
		lines[i] = truncate(historyLine(e, loc), maxHistoryLine)
	}
	// Keep the newest lines that fit, leaving room for the heading and the
	// line counting the rest; packLines then has nothing left to cut.
	budget := maxMessageChars - 2*moreRoom - utf8.RuneCountInString(heading)
	start := len(lines)
	for used := 0; start > 0; start-- {
		n := utf8.RuneCountInString(lines[start-1]) + 1
		if used+n > budget {
			break
		}
		used += n
	}
	shown := lines[start:]
	if start > 0 {
		earlier := plural(start, "earlier entry is", "earlier entries are")
		shown = append([]string{"…" + earlier + " not shown; `kaizalabot audit` exports them all."}, shown...)
	}
	blocks := append([]slack.Block{section(heading)}, packLines(shown, "\n", maxBlocks-1, maxMessageChars-utf8.RuneCountInString(heading),
		func(left int) string { return fmt.Sprintf("…and %d more.", left) })...)

	last := entries[len(entries)-1]
	text := fmt.Sprintf("%s: %s; the latest, %s: %s %s.", esc(title, maxName), plural(len(entries), "entry", "entries"),
		last.At.In(orUTC(loc)).Format(tableLayout), actorName(last.Actor), actionWords(last))
	return Message{Text: fallback(text), Blocks: blocks}
}

// historyLine is "`2026-11-02 14:05` · `M7K2QX` · Jane Doe approved".
func historyLine(e bot.AuditEntry, loc *time.Location) string {
	s := "`" + e.At.In(orUTC(loc)).Format(tableLayout) + "` · "
	if e.MigrationID != "" {
		s += code(e.MigrationID) + " · "
	}
	return s + actorName(e.Actor) + " " + actionWords(e)
}

// actorName is who acted, by name: the history is read later, when a
// mention would only add noise.
func actorName(a bot.Actor) string { return esc(cmp.Or(a.Name, a.ID, "someone"), maxName) }

// actionWords says what an audit entry records, with the detail that matters.
func actionWords(e bot.AuditEntry) string {
	d := func(key string) string { return esc(detail(e.Detail, key), maxLine) }
	with := func(s, key, sep string) string {
		if v := d(key); v != "" {
			return s + sep + v
		}
		return s
	}
	step := stepWords(bot.StepName(detail(e.Detail, "step")))
	switch e.Action {
	case bot.ActionPlanned:
		s := "planned a move to " + cmp.Or(d("target"), "a new plan") + ": buy " + cmp.Or(d("seats"), "?") + ", move " + cmp.Or(d("usersToMove"), "?") + " users"
		if n := d("cannotMove"); n != "" && n != "0" {
			s += ", " + n + " cannot move"
		}
		return s
	case bot.ActionApproved:
		return "approved"
	case bot.ActionRejected:
		return with("rejected", "reason", ": ")
	case bot.ActionOverridden:
		return "chose to suspend although some users still hold the retired licence"
	case bot.ActionStarted:
		if n := d("approvals"); n != "" {
			return "started it with " + n + " approval(s)"
		}
		return "started it"
	case bot.ActionResumed:
		return "resumed it after a restart"
	case bot.ActionStepStarted:
		s := "started " + step
		if a := d("attempt"); a != "" && a != "1" {
			s += " (attempt " + a + ")"
		}
		return s
	case bot.ActionStepDone:
		return "finished " + step
	case bot.ActionStepFailed:
		return with(step+" failed", "error", ": ")
	case bot.ActionBought:
		s := "bought subscription"
		if id := d("newSubscriptionId"); id != "" {
			s += " `" + id + "`"
		}
		if n := d("seats"); n != "" {
			s += " for " + n + " seats"
		}
		return s
	case bot.ActionUserMoved:
		return with("moved", "upn", " ")
	case bot.ActionUserFailed:
		return with(with("could not move", "upn", " "), "error", ": ")
	case bot.ActionSuspended:
		if _, ok := e.Detail["fate"]; ok {
			return with(with(with("old subscription", "fate", ": "), "billing", "; "), "endsOn", "; until ")
		}
		return with("suspended the old subscription; de-provisioned on", "deprovisionOn", " ")
	case bot.ActionCartCreated:
		return with("created cart", "cartId", " ")
	case bot.ActionOrdered:
		return with("checked out; order placed", "orderIds", ": ")
	case bot.ActionDone:
		return "finished the migration"
	case bot.ActionFailed:
		return with("stopped: failed at "+step, "error", ": ")
	case bot.ActionStale:
		return with("stopped for a new approval before "+step, "error", ": ")
	case bot.ActionRetried:
		return "retried from " + step
	case bot.ActionReplanned:
		return with("made a new plan", "changes", ": ")
	case bot.ActionScanFinished:
		return "finished a scan"
	case bot.ActionBatchPlanned:
		return with(with("planned batch", "batchId", " "), "members", ": ")
	case bot.ActionBatchApproved:
		return with("approved batch", "batchId", " ")
	case bot.ActionBatchRejected:
		return with(with("rejected batch", "batchId", " "), "reason", ": ")
	}
	return esc(e.Action, maxName)
}

// detail reads one value of an entry's detail as text. Stored entries come
// back from JSON, so numbers are float64 and lists []any.
func detail(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []string:
		return strings.Join(v, "; ")
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, "; ")
	default:
		return fmt.Sprint(v)
	}
}
