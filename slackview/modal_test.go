package slackview

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
)

func TestRejectModal(t *testing.T) {
	hostile := migration(bot.StatePendingApproval)
	hostile.Plan.CustomerName = "<!channel> & " + strings.Repeat("x", 400)
	for _, tc := range []struct {
		name   string
		m      *bot.Migration
		golden string
		want   string
	}{
		{"nothing bought", migration(bot.StatePendingApproval), "reject_modal_pending", "Nothing has been bought"},
		{"seats bought", failedAtVerify(), "reject_modal_failed", "does not cancel them"},
		{"hostile customer name", hostile, "", "&lt;!channel&gt; &amp; xxx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := RejectModal(tc.m, RejectMeta{MigrationID: tc.m.ID, Channel: "C0ALERTS"})
			checkModalLimits(t, v)
			raw := modalPayload(t, v)
			if !strings.Contains(string(raw), tc.want) {
				t.Errorf("the modal should say %q:\n%s", tc.want, raw)
			}
			if tc.golden != "" {
				golden(t, tc.golden, raw)
			}
			meta, err := ParseRejectMeta(v.PrivateMetadata)
			if err != nil || meta.MigrationID != tc.m.ID || meta.Channel != "C0ALERTS" {
				t.Errorf("metadata %q reads back as %+v, %v", v.PrivateMetadata, meta, err)
			}
		})
	}
}

func TestParseRejectMetaRefusesNonsense(t *testing.T) {
	for _, s := range []string{"", "{", `{"channel":"C1"}`, `"M7K2QX"`} {
		if _, err := ParseRejectMeta(s); err == nil {
			t.Errorf("ParseRejectMeta(%q) accepted it", s)
		}
	}
}

func TestRejectReasonReadsTheInput(t *testing.T) {
	state := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{BlockReason: {ActionReason: {Value: "  renews by phone \n"}}}}
	if got := RejectReason(state); got != "renews by phone" {
		t.Errorf("got %q", got)
	}
	if got := RejectReason(nil); got != "" {
		t.Errorf("nil state gave %q", got)
	}
}

// checkModalLimits holds a view to Slack's documented view limits.
func checkModalLimits(t *testing.T, v slack.ModalViewRequest) {
	t.Helper()
	for name, text := range map[string]*slack.TextBlockObject{"title": v.Title, "submit": v.Submit, "close": v.Close} {
		if text == nil || text.Type != slack.PlainTextType || utf8.RuneCountInString(text.Text) > maxModalTitle {
			t.Errorf("%s %+v: a plain_text of at most %d characters is required", name, text, maxModalTitle)
		}
	}
	if len(v.Blocks.BlockSet) > 100 || len(v.PrivateMetadata) > 3000 || len(v.CallbackID) > 255 {
		t.Errorf("view over a limit: %d blocks, metadata %d, callback_id %d", len(v.Blocks.BlockSet), len(v.PrivateMetadata), len(v.CallbackID))
	}
	for _, b := range v.Blocks.BlockSet {
		if s, ok := b.(*slack.SectionBlock); ok && utf8.RuneCountInString(s.Text.Text) > maxSectionText {
			t.Errorf("section of %d characters", utf8.RuneCountInString(s.Text.Text))
		}
	}
}

// modalPayload is the view as views.open sends it, readable (see payload).
func modalPayload(t *testing.T, v slack.ModalViewRequest) []byte {
	t.Helper()
	return indented(t, generic(t, v))
}
