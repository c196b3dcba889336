package slackview

import (
	"fmt"
	"strings"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// Targets lists the plans a retired SKU's users may move to: name, the
// skuPartNumber to type, list price when known, and whether the catalog says
// how to buy it.
func Targets(retired bot.RetiredSKU, targets []bot.Target) Message {
	name := esc(retired.Name, maxName)
	if len(targets) == 0 {
		line := "The catalog lists no plans " + name + " users can move to; add them in KAIZALA_CATALOG."
		return Message{Text: fallback(line), Blocks: []slack.Block{section(line)}}
	}
	title := fmt.Sprintf("*%s users can move to %s.* Type the part in code after `/kaizala plan %s`:",
		name, plural(len(targets), "plan", "plans"), Escape("<subscription-id>"))
	lines := make([]string, len(targets))
	parts := make([]string, len(targets))
	for i, t := range targets {
		lines[i] = "• *" + esc(t.Name, maxName) + "* " + code(t.SkuPartNumber)
		if p := price(t); p != "" {
			lines[i] += ", " + p + " a seat a month at list price"
		}
		if !t.Purchasable() {
			lines[i] += " (not purchasable: add ids in KAIZALA_CATALOG)"
		}
		parts[i] = esc(t.SkuPartNumber, maxName)
	}
	more := func(left int) string { return fmt.Sprintf("…and %d more.", left) }
	blocks := append([]slack.Block{section(title)}, packLines(lines, "\n", maxBlocks-1, maxMessageChars-len(title), more)...)
	text := fmt.Sprintf("%s users can move to %s: %s.", name, plural(len(targets), "plan", "plans"), strings.Join(parts, ", "))
	return Message{Text: fallback(text), Blocks: blocks}
}
