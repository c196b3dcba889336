package slackview

import (
	"cmp"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// Block Kit limits (reference slack.md §2.6), in characters counted as runes,
// as slack-go's TextBlockObject.Validate counts them.
const (
	maxBlocks        = 50
	maxSectionText   = 3000 // also any text object, e.g. a context element
	maxFields        = 10
	maxFieldText     = 2000
	maxHeaderText    = 150
	maxButtonText    = 75
	maxButtonValue   = 2000
	maxOptions       = 100
	maxOptionText    = 75
	maxOptionValue   = 150
	maxPlaceholder   = 150
	maxConfirmTitle  = 100
	maxConfirmText   = 300
	maxConfirmButton = 30
	maxContextElems  = 10
	maxBlockID       = 255
	// maxFallback: chat.update answers msg_too_long above 4,000 characters of text.
	maxFallback = 4000
	// maxMessageChars bounds the text of all blocks of a message together.
	// Slack rejects messages with msg_blocks_too_long at 11,000-13,000
	// characters of block text, below every documented limit (bolt-js
	// issues 2509 and 2867; undocumented), so long lists are cut well before.
	maxMessageChars = 10000
)

// Clip lengths for text from outside, so that one absurd value cannot crowd
// everything else out of a message.
const (
	maxName   = 200  // customer names and domains, user names, UPNs, ids, offer and plan names
	maxReason = 300  // why a user cannot be moved, why a migration was rejected
	maxError  = 1000 // an error as the engine recorded it
	maxLine   = 200  // one item of a bulleted list: ten of them and a count fit a section
)

// moreRoom is the room kept at the end of a packed list for its "and K more".
const moreRoom = 200

// truncate cuts s to at most n runes, ending with "…" when it cut. It never
// splits a rune, an entity made by Escape ("&amp;") or a <…> token such as a
// mention: half of one would show as debris or swallow the text after it.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	cut := 0
	for range n - 1 {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	kept := s[:cut]
	if i := strings.LastIndexByte(kept, '<'); i >= 0 && !strings.Contains(kept[i:], ">") {
		kept = kept[:i]
	}
	if i := strings.LastIndexByte(kept, '&'); i >= 0 && !strings.Contains(kept[i:], ";") {
		kept = kept[:i]
	}
	return kept + "…"
}

// esc escapes text from outside and cuts it to n runes.
func esc(s string, n int) string { return truncate(Escape(s), n) }

// fallback makes a message's Text: never empty, within chat.update's limit.
func fallback(s string) string { return truncate(nonEmpty(strings.TrimSpace(s)), maxFallback) }

// nonEmpty keeps a text object valid: Slack refuses empty text.
func nonEmpty(s string) string { return cmp.Or(s, "—") }

// mrkdwn is a mrkdwn text object sent verbatim: Slack then parses only the
// <…> tokens we wrote ourselves, not a bare "@here" or "#channel" that came
// from outside.
func mrkdwn(s string, n int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, truncate(nonEmpty(s), n), false, true)
}

// plain is a plain_text object (emoji codes shown as emoji).
func plain(s string, n int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, truncate(nonEmpty(s), n), true, false)
}

func header(s string) slack.Block { return slack.NewHeaderBlock(plain(s, maxHeaderText)) }

func section(s string) slack.Block {
	return slack.NewSectionBlock(mrkdwn(s, maxSectionText), nil, nil)
}

// fieldsSection shows up to ten label/value pairs side by side; pairs holds
// labels and values alternately.
func fieldsSection(pairs ...string) slack.Block {
	var fields []*slack.TextBlockObject
	for i := 0; i+1 < len(pairs) && len(fields) < maxFields; i += 2 {
		fields = append(fields, mrkdwn("*"+pairs[i]+"*\n"+pairs[i+1], maxFieldText))
	}
	return slack.NewSectionBlock(nil, fields, nil)
}

func contextBlock(texts ...string) slack.Block {
	var elems []slack.MixedElement
	for _, t := range texts[:min(len(texts), maxContextElems)] {
		elems = append(elems, mrkdwn(t, maxSectionText))
	}
	return slack.NewContextBlock("", elems...)
}

// actions is an actions block whose id changes with what it is about (and
// its state): Slack asks for a new block_id when a message is updated.
func actions(id string, elems ...slack.BlockElement) slack.Block {
	return slack.NewActionBlock(truncate(id, maxBlockID), elems...)
}

// DecisionValue is the value of a button that decides on a migration: its
// id and the hash of the plan shown, so a click binds to the plan its
// person saw (a replayed click on an old plan is refused).
func DecisionValue(m *bot.Migration) string { return m.ID + ":" + m.PlanHash }

// ParseDecisionValue splits a DecisionValue; a bare id (a message posted
// before buttons carried the plan) has no hash.
func ParseDecisionValue(v string) (id, planHash string) {
	id, planHash, _ = strings.Cut(v, ":")
	return id, planHash
}

func button(actionID, value, label string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, truncate(value, maxButtonValue), plain(label, maxButtonText))
}

func confirm(title, text, yes, no string) *slack.ConfirmationBlockObject {
	return slack.NewConfirmationBlockObject(plain(title, maxConfirmTitle), plain(text, maxConfirmText),
		plain(yes, maxConfirmButton), plain(no, maxConfirmButton))
}

// packLines packs items, joined by sep, into as few sections as the section
// limit allows, at most maxBlocks sections and maxChars characters in all.
// Items that do not fit are counted in a last line more(left) makes.
func packLines(lines []string, sep string, maxBlocks, maxChars int, more func(left int) string) []slack.Block {
	limit := maxSectionText - moreRoom
	var texts []string
	var cur strings.Builder
	curRunes, total, shown := 0, 0, 0
	for _, line := range lines {
		line = truncate(line, limit)
		n := utf8.RuneCountInString(line)
		if total+len(sep)+n > maxChars-moreRoom {
			break
		}
		if curRunes > 0 && curRunes+len(sep)+n > limit {
			if len(texts)+2 > maxBlocks {
				break
			}
			texts = append(texts, cur.String())
			cur.Reset()
			curRunes = 0
		}
		if curRunes > 0 {
			cur.WriteString(sep)
			curRunes += len(sep)
			total += len(sep)
		}
		cur.WriteString(line)
		curRunes += n
		total += n
		shown++
	}
	if left := len(lines) - shown; left > 0 {
		if curRunes > 0 {
			cur.WriteString(sep)
		}
		cur.WriteString(truncate(more(left), moreRoom-len(sep)))
	}
	if cur.Len() > 0 {
		texts = append(texts, cur.String())
	}
	blocks := make([]slack.Block, len(texts))
	for i, t := range texts {
		blocks[i] = section(t)
	}
	return blocks
}

// bullets lists the first n items, one per line, then how many more there
// are: those cut here plus unseen ones the caller never had.
func bullets(items []string, n, unseen int) string {
	var b strings.Builder
	for i, it := range items[:min(n, len(items))] {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("• " + truncate(it, maxLine))
	}
	if more := max(0, len(items)-n) + unseen; more > 0 {
		fmt.Fprintf(&b, "\n…and %d more.", more)
	}
	return b.String()
}

// slackUserID is what a Slack user id looks like; only such ids are put in
// a <@…> mention (anything else could be a forged control sequence).
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{1,30}$`)

// who names an actor: a mention for a Slack user, else their escaped name.
func who(a bot.Actor) string {
	if slackUserID.MatchString(a.ID) {
		return "<@" + a.ID + ">"
	}
	return esc(cmp.Or(a.Name, a.ID, "someone"), maxName)
}

// customerLabel is "Name (domain)", or whichever of them is known, escaped.
func customerLabel(name, domain, id string) string {
	switch {
	case name != "" && domain != "":
		return esc(name, maxName) + " (" + esc(domain, maxName) + ")"
	case name != "" || domain != "":
		return esc(name+domain, maxName)
	}
	return esc(cmp.Or(id, "unknown customer"), maxName)
}

// customerName is the shortest name people know a customer by, escaped.
func customerName(name, domain, id string) string {
	return esc(cmp.Or(name, domain, id, "unknown customer"), maxName)
}

// code shows an identifier people may copy or type.
func code(id string) string { return "`" + esc(id, maxName) + "`" }

func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// Date formats. An instant (a plan made, a digest sent) is shown in the
// team's location; an end date is a calendar date Partner Center gives in
// UTC, so it is shown as that date wherever the team is (converting midnight
// UTC to New York would show the day before).
const (
	dayLayout   = "Mon 2 Jan 2006"
	isoLayout   = "2006-01-02"
	stampLayout = "Mon 2 Jan 2006 15:04 MST"
	tableLayout = "2006-01-02 15:04"
)

func day(t time.Time, loc *time.Location) string   { return t.In(orUTC(loc)).Format(dayLayout) }
func stamp(t time.Time, loc *time.Location) string { return t.In(orUTC(loc)).Format(stampLayout) }

func endDay(t time.Time) string {
	if t.IsZero() {
		return "no end date"
	}
	return t.UTC().Format(dayLayout)
}

func endISO(t time.Time) string {
	if t.IsZero() {
		return "no end date"
	}
	return t.UTC().Format(isoLayout)
}

// plural says "1 seat" or "25 seats".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// endsIn says when a subscription ends relative to today.
func endsIn(days int) string {
	switch {
	case days > 1:
		return fmt.Sprintf("ends in %d days", days)
	case days == 1:
		return "ends tomorrow"
	case days == 0:
		return "ends today"
	case days == -1:
		return "ended yesterday"
	}
	return fmt.Sprintf("ended %d days ago", -days)
}

// daysLeft is the days left at now, from the end date when there is one (a
// stored finding's DaysLeft is as of its scan).
func daysLeft(f bot.Finding, now time.Time, loc *time.Location) int {
	if !f.Subscription.HasEnd() {
		return f.DaysLeft
	}
	return bot.DaysLeft(f.Subscription.EndDate, now, orUTC(loc))
}

// since says how long ago from then to now, coarsely: "5 hours", "2 days".
func since(then, now time.Time) string {
	d := now.Sub(then)
	switch {
	case d < time.Hour:
		return "less than an hour"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour", "hours")
	}
	return plural(int(d/(24*time.Hour)), "day", "days")
}

// sentence ends s with a full stop unless it already ends a sentence.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "…") {
		return s
	}
	return s + "."
}

// capitalize starts s with a capital letter.
func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}

// money formats an amount with two decimals and thousands separators.
func money(v float64) string { return bot.Amount(v) }

// price is a target's list price per seat and month, or "" when unknown.
func price(t bot.Target) string {
	if t.ListPrice <= 0 {
		return ""
	}
	return strings.TrimSpace(esc(t.Currency, 10) + " " + money(t.ListPrice))
}
