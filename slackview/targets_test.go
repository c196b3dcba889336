package slackview

import (
	"strings"
	"testing"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// A target the catalog does not say how to buy is listed as needing ids and
// never offered in the alert's picker; one marked legacy with an offerId is.
func TestTargetsWithoutIDsAreListedNotOffered(t *testing.T) {
	targets := kaizalaTargets()
	var unbuyable []string
	for _, tg := range targets {
		if _, ok := tg.HowToBuy(); !ok {
			unbuyable = append(unbuyable, tg.SkuPartNumber)
		}
	}
	if len(unbuyable) == 0 {
		t.Fatal("the default catalog has no target without ids; this test needs one")
	}

	list := string(payload(t, Targets(bot.DefaultCatalog().Retired[0], targets)))
	for _, part := range unbuyable {
		if !strings.Contains(list, "`"+part+"`: "+bot.NeedsIDs) {
			t.Errorf("the targets list does not say %s %s", part, bot.NeedsIDs)
		}
	}
	if strings.Count(list, bot.NeedsIDs) != len(unbuyable) {
		t.Errorf("%d targets need ids, the list says so %d times", len(unbuyable), strings.Count(list, bot.NeedsIDs))
	}

	view := AlertView{Tracked: tracked(), Threshold: 14, UsersAssigned: 23, Targets: targets, Now: now, Location: cet}
	picker := targetPicker(t, Alert(view))
	if len(picker.Options) != len(targets)-len(unbuyable) {
		t.Errorf("the picker offers %d plans, want the %d buyable ones", len(picker.Options), len(targets)-len(unbuyable))
	}
	for _, o := range picker.Options {
		for _, part := range unbuyable {
			if o.Value == part {
				t.Errorf("the picker offers %s, which needs ids", part)
			}
		}
	}

	// The same education SKU, named with a legacy offer the partner can still buy.
	legacy := append([]bot.Target(nil), targets...)
	for i := range legacy {
		if legacy[i].SkuPartNumber == unbuyable[0] {
			legacy[i].OfferID, legacy[i].Legacy = "11111111-2222-3333-4444-555555555555", true
		}
	}
	view.Targets = legacy
	if !pickerOffers(targetPicker(t, Alert(view)), unbuyable[0]) {
		t.Errorf("a target with offerId and legacy: true should be offered")
	}

	// Nothing buyable: no picker and no button, but what to do.
	view.Targets = []bot.Target{target(unbuyable[0])}
	msg := Alert(view)
	if len(buttons(msg)) != 0 || hasPicker(msg) {
		t.Errorf("an alert whose plans all need ids offers a picker or button: %s", payload(t, msg))
	}
	if !strings.Contains(string(payload(t, msg)), bot.NeedsIDs) {
		t.Errorf("an alert whose plans all need ids should say so: %s", payload(t, msg))
	}
}

func pickerOffers(sel *slack.SelectBlockElement, part string) bool {
	for _, o := range sel.Options {
		if o.Value == part {
			return true
		}
	}
	return false
}

func hasPicker(m Message) bool {
	for _, b := range m.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if _, ok := e.(*slack.SelectBlockElement); ok {
					return true
				}
			}
		}
	}
	return false
}
