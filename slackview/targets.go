package slackview

import (
	"fmt"
	"strings"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// Targets lists the plans a retired SKU's users may move to: name, the
// skuPartNumber to type, list price when known, and, for a plan the catalog
// does not say how to buy, that it needs ids in KAIZALA_CATALOG.
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
		if _, ok := t.HowToBuy(); !ok {
			lines[i] += ": " + bot.NeedsIDs
		}
		parts[i] = esc(t.SkuPartNumber, maxName)
	}
	// A plan without ids is listed but never offered: say what to add.
	var note string
	switch _, unbuyable := offered(targets); unbuyable {
	case 0:
	case 1:
		note = "1 plan needs ids: it is not offered in pickers" + untilIDs
	default:
		note = fmt.Sprintf("%d plans need ids: they are not offered in pickers", unbuyable) + untilIDs
	}
	room, chars := maxBlocks-1, maxMessageChars-len(title)
	if note != "" {
		room, chars = room-1, chars-len(note)
	}
	more := func(left int) string { return fmt.Sprintf("…and %d more.", left) }
	blocks := append([]slack.Block{section(title)}, packLines(lines, "\n", room, chars, more)...)
	if note != "" {
		blocks = append(blocks, contextBlock(note))
	}
	text := fmt.Sprintf("%s users can move to %s: %s.", name, plural(len(targets), "plan", "plans"), strings.Join(parts, ", "))
	return Message{Text: fallback(text), Blocks: blocks}
}

// untilIDs says what makes a target buyable (bot.Target.HowToBuy).
const untilIDs = " until KAIZALA_CATALOG gives productId and productSkuId (new commerce), or offerId with legacy: true."

// offered returns the targets a picker may offer, in catalog order: those
// the catalog says how to buy (bot.Target.HowToBuy). The others, left out
// counts them, are only listed by Targets, as needing ids.
func offered(targets []bot.Target) (buyable []bot.Target, left int) {
	for _, t := range targets {
		if _, ok := t.HowToBuy(); ok {
			buyable = append(buyable, t)
		} else {
			left++
		}
	}
	return buyable, left
}
