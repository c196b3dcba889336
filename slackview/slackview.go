// Package slackview renders the bot's domain (package bot) as Slack Block Kit
// messages: alerts, migration plans, progress lines, the daily digest and the
// replies to /kaizala. Its functions are pure: no I/O, no clock (the caller
// passes now), no map iteration, so the same input always gives the same
// message and golden files can pin them.
//
// Two rules hold for every message:
//   - it stays within Slack's Block Kit limits (reference slack.md §2.6):
//     long lists and texts are cut with "…" and a count, never refused;
//   - text from outside (customer names, UPNs, errors, what people typed)
//     goes through Escape, so it can never ping a channel or forge a link,
//     and mrkdwn is sent verbatim, so a literal "@here" is never parsed
//     into a mention either.
package slackview

import (
	"strings"

	"github.com/slack-go/slack"
)

// Action ids of the interactive elements (the glue routes clicks by these).
const (
	ActionTarget   = "kaizala_target"   // static_select on an alert; option value = target skuPartNumber
	ActionPlan     = "kaizala_plan"     // button on an alert; value = subscription id
	ActionApprove  = "kaizala_approve"  // button on a plan; value = migration id; has a confirmation dialog
	ActionReject   = "kaizala_reject"   // button on a plan; value = migration id
	ActionRetry    = "kaizala_retry"    // button on a failed plan; value = migration id
	ActionOverride = "kaizala_override" // button on a plan failed at move_users/verify; value = migration id; confirmation dialog (danger)
	ActionUndo     = "kaizala_undo"     // button on a done (or scheduled) plan while it can be undone; value = migration id; confirmation dialog (danger)
)

// Message is a Slack message: blocks plus the plain-text fallback every
// message must carry (mobile notifications and screen readers use only Text).
// Its JSON is the {"text", "blocks"} body of a response_url reply.
type Message struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks"`
}

// escaper replaces Slack's three control characters with the entities Slack
// decodes for display (https://api.slack.com/reference/surfaces/formatting#escaping).
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes text safe inside mrkdwn: & < > become &amp; &lt; &gt; (so
// "<!channel>" in a customer name can never ping anyone). Every string that
// came from outside goes through it.
func Escape(s string) string { return escaper.Replace(s) }

// Refusal is an ephemeral reply saying no; text is a full sentence saying what
// was wrong and what to type instead.
func Refusal(text string) Message {
	line := ":no_entry: " + esc(text, maxSectionText)
	return Message{Text: fallback(line), Blocks: []slack.Block{section(line)}}
}

// Info is an ephemeral plain note.
func Info(text string) Message {
	line := esc(text, maxSectionText)
	return Message{Text: fallback(line), Blocks: []slack.Block{section(line)}}
}
