package fakeslack

import (
	"encoding/json"
	"fmt"
)

// element is an interactive element of a message's blocks, as sent.
type element struct {
	blockID string // the block's block_id, or the one the fake made up for it

	Type          string            `json:"type"`
	ActionID      string            `json:"action_id"`
	Text          json.RawMessage   `json:"text"`
	Value         string            `json:"value"`
	Style         string            `json:"style"`
	Placeholder   json.RawMessage   `json:"placeholder"`
	InitialOption json.RawMessage   `json:"initial_option"`
	Options       []json.RawMessage `json:"options"`
	OptionGroups  []struct {
		Options []json.RawMessage `json:"options"`
	} `json:"option_groups"`
}

// interactiveElements lists the elements with an action_id in actions blocks
// and section accessories, in order.
func interactiveElements(blocks json.RawMessage) ([]element, error) {
	if len(blocks) == 0 {
		return nil, nil
	}
	var list []struct {
		Type      string            `json:"type"`
		BlockID   string            `json:"block_id"`
		Elements  []json.RawMessage `json:"elements"`
		Accessory json.RawMessage   `json:"accessory"`
	}
	if err := json.Unmarshal(blocks, &list); err != nil {
		return nil, fmt.Errorf("fakeslack: reading blocks: %w", err)
	}
	var out []element
	for i, b := range list {
		blockID := b.BlockID
		if blockID == "" {
			// Slack makes up a block_id for a block sent without one.
			blockID = fmt.Sprintf("fakeslack-block-%d", i)
		}
		var raws []json.RawMessage
		switch b.Type {
		case "actions":
			raws = b.Elements
		case "section":
			if len(b.Accessory) > 0 {
				raws = []json.RawMessage{b.Accessory}
			}
		}
		for _, raw := range raws {
			e := element{blockID: blockID}
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("fakeslack: reading an element of block %q: %w", blockID, err)
			}
			if string(e.InitialOption) == "null" {
				e.InitialOption = nil
			}
			if e.ActionID != "" {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// option returns the select's option with value, as sent, or nil.
func (e *element) option(value string) json.RawMessage {
	lists := [][]json.RawMessage{e.Options}
	for _, g := range e.OptionGroups {
		lists = append(lists, g.Options)
	}
	for _, options := range lists {
		for _, raw := range options {
			var o struct {
				Value string `json:"value"`
			}
			if json.Unmarshal(raw, &o) == nil && o.Value == value {
				return raw
			}
		}
	}
	return nil
}
