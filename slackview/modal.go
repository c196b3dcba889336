package slackview

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
)

// The reject modal: Reject asks for a reason before anything changes, since
// the requester and the history deserve to know why.
const (
	CallbackReject = "kaizala_reject_reason" // the modal's callback_id
	BlockReason    = "kaizala_reason"        // its input block
	ActionReason   = "kaizala_reason"        // the input's action_id
	MinReason      = 3                       // characters, not counting blanks around them
	maxModalTitle  = 24                      // title, submit and close texts (Slack's view limits)
)

// RejectMeta rides in the modal's private_metadata: which migration, and
// where the click was, so that a refusal at submit time (the plan started
// meanwhile) can be told to the person in the same channel.
type RejectMeta struct {
	MigrationID string `json:"migration"`
	// PlanHash is the plan the Reject button was pressed on: a rejection
	// of a plan that changed meanwhile is refused.
	PlanHash string `json:"plan,omitempty"`
	Channel  string `json:"channel,omitempty"`
}

// ParseRejectMeta reads private_metadata back; the view comes from Slack
// signed, but a malformed one must be an error, not a panic or a guess.
func ParseRejectMeta(s string) (RejectMeta, error) {
	var meta RejectMeta
	if err := json.Unmarshal([]byte(s), &meta); err != nil {
		return RejectMeta{}, fmt.Errorf("reading the reject dialog's metadata: %w", err)
	}
	if meta.MigrationID == "" {
		return RejectMeta{}, errors.New("the reject dialog's metadata names no migration")
	}
	return meta, nil
}

// RejectModal asks for the reason to reject m. It says plainly what a
// rejection does and, when seats were already bought, what it does not undo.
func RejectModal(m *bot.Migration, meta RejectMeta) slack.ModalViewRequest {
	customer := customerName(m.Plan.CustomerName, m.Plan.CustomerDomain, m.CustomerID)
	what := fmt.Sprintf("*Reject migration %s?* It would move %s's %s subscription %s to %s.",
		esc(m.ID, maxName), customer, esc(cmp.Or(m.Plan.Retired, "Kaizala Pro"), maxName), code(m.SubscriptionID), esc(m.Plan.Target.Name, maxName))
	effect := "Nothing has been bought or changed yet; rejecting closes the request for good."
	if m.NewSubscriptionID != "" {
		effect = fmt.Sprintf("Seats were already bought (subscription %s): rejecting stops the migration here but does not cancel them.", code(m.NewSubscriptionID))
	}
	reason := reasonInput("e.g. the customer renews by phone", "The requester sees it on the plan, and the audit history keeps it.")
	// Two ids, far below private_metadata's 3,000 characters.
	metadata, _ := json.Marshal(meta) // two strings: cannot fail
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain("Reject "+m.ID, maxModalTitle),
		Submit:          plain("Reject", maxModalTitle),
		Close:           plain("Cancel", maxModalTitle),
		CallbackID:      CallbackReject,
		PrivateMetadata: string(metadata),
		Blocks:          slack.Blocks{BlockSet: []slack.Block{section(what + "\n" + effect), reason}},
	}
}

// RejectReason reads the reason typed into a submitted reject modal.
func RejectReason(state *slack.ViewState) string {
	if state == nil {
		return ""
	}
	return strings.TrimSpace(state.Values[BlockReason][ActionReason].Value)
}

// reasonInput is a reject dialog's reason field, with the length bounds
// the submission is checked against.
func reasonInput(placeholder, hint string) *slack.InputBlock {
	input := slack.NewPlainTextInputBlockElement(plain(placeholder, maxPlaceholder), ActionReason)
	input.Multiline = true
	input.MinLength, input.MaxLength = MinReason, maxReason
	return slack.NewInputBlock(BlockReason, plain("Reason", maxName), plain(hint, maxSectionText), input)
}
