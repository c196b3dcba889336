package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Modals: views.open, the views people have open, and what they do with
// them (submit, cancel). Limits are Slack's for modal views and input blocks:
// https://docs.slack.dev/reference/views/modal-views,
// https://docs.slack.dev/reference/block-kit/blocks/input-block and
// https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element.
const (
	// A trigger_id "expire[s] in three seconds" and "may only be used once" (slack.md §2.2).
	triggerLifetime = 3 * time.Second

	maxViewTextRunes    = 24     // a modal's title, submit and close texts
	maxViewBlocks       = 100    // blocks in a modal (50 in a message)
	maxPrivateMetadata  = 3000   // private_metadata
	maxCallbackID       = 255    // callback_id and external_id
	maxViewBytes        = 250000 // views.open's view_too_large: "greater than 250kb"
	maxLabelRunes       = 2000   // an input block's label and hint
	maxPlaceholderRunes = 150    // a plain_text_input's placeholder
	maxInputLength      = 3000   // a plain_text_input's min_length and max_length
	maxIDRunes          = 255    // action_id, block_id
)

// View is a modal the bot opened with views.open.
type View struct {
	ID, User, TriggerID, CallbackID, PrivateMetadata, Title string

	Blocks json.RawMessage   // the view's blocks as sent
	Raw    json.RawMessage   // the whole view as sent
	Errors map[string]string // block_id -> error from the bot's last response_action "errors"
}

// clone is a deep copy, so callers can never touch the model.
func (v View) clone() View {
	v.Blocks, v.Raw, v.Errors = bytes.Clone(v.Blocks), bytes.Clone(v.Raw), maps.Clone(v.Errors)
	return v
}

// BlocksWithIDs returns the view's blocks as Slack shows them to the app (in
// the views.open answer and in view_submission payloads) and to the person:
// a block sent without a block_id gets one made up, and so does an input's
// element sent without an action_id. Errors and state.values use these ids.
func (v View) BlocksWithIDs() json.RawMessage {
	blocks, err := withIDs(v.Blocks)
	if err != nil {
		return bytes.Clone(v.Blocks) // not a list of objects: views.open refused such a view
	}
	return blocks
}

// madeUpBlockID is the block_id Slack would generate for the i-th block;
// Slack's own are random, these are stable so tests can name them.
func madeUpBlockID(i int) string { return fmt.Sprintf("fakeslack-block-%d", i) }

// madeUpActionID is the action_id of the i-th block's input element sent without one.
func madeUpActionID(i int) string { return fmt.Sprintf("fakeslack-action-%d", i) }

// withIDs fills in missing block_ids and input action_ids.
func withIDs(blocks json.RawMessage) (json.RawMessage, error) {
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(blocks, &list); err != nil {
		return nil, err
	}
	for i, b := range list {
		if id := b["block_id"]; len(id) == 0 || string(id) == `""` || string(id) == "null" {
			b["block_id"], _ = json.Marshal(madeUpBlockID(i))
		}
		if string(b["type"]) != `"input"` || len(b["element"]) == 0 {
			continue
		}
		var element map[string]json.RawMessage
		if json.Unmarshal(b["element"], &element) != nil {
			continue
		}
		if id := element["action_id"]; len(id) == 0 || string(id) == `""` || string(id) == "null" {
			element["action_id"], _ = json.Marshal(madeUpActionID(i))
			b["element"], _ = json.Marshal(element)
		}
	}
	if list == nil {
		list = []map[string]json.RawMessage{}
	}
	return json.Marshal(list)
}

// openView is a view someone has open, with what Slack keeps beside it.
type openView struct {
	View
	spec viewSpec
	hash string // changes when the view does; the fake never updates a view
}

// trigger is a trigger_id handed to the app with a command, a click or a
// submission: it opens one view for the person who acted.
type trigger struct {
	user   string
	issued time.Time
	used   bool
}

// viewSpec is a modal as the fake reads it; the raw texts are kept as sent.
type viewSpec struct {
	Type            string            `json:"type"`
	Title           json.RawMessage   `json:"title"`
	Submit          json.RawMessage   `json:"submit"`
	Close           json.RawMessage   `json:"close"`
	Blocks          []json.RawMessage `json:"blocks"`
	PrivateMetadata string            `json:"private_metadata"`
	CallbackID      string            `json:"callback_id"`
	ExternalID      string            `json:"external_id"`
	ClearOnClose    bool              `json:"clear_on_close"`
	NotifyOnClose   bool              `json:"notify_on_close"`
}

// textObject is a composition text object.
type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// viewBlock is the part of a block the fake checks in a view.
type viewBlock struct {
	Type     string          `json:"type"`
	BlockID  string          `json:"block_id"`
	Text     *textObject     `json:"text"`
	Label    *textObject     `json:"label"`
	Hint     *textObject     `json:"hint"`
	Optional bool            `json:"optional"`
	Element  json.RawMessage `json:"element"`
}

// inputElement is an input block's element.
type inputElement struct {
	Type         string      `json:"type"`
	ActionID     string      `json:"action_id"`
	InitialValue string      `json:"initial_value"`
	Multiline    bool        `json:"multiline"`
	MinLength    *int        `json:"min_length"`
	MaxLength    *int        `json:"max_length"`
	Placeholder  *textObject `json:"placeholder"`
}

// input is one input block of a view, its ids as Slack shows them.
type input struct {
	blockID  string
	optional bool
	element  inputElement
}

// inputs lists the view's input blocks; the view passed views.open's checks.
func (v *openView) inputs() []input {
	var out []input
	for i, raw := range v.spec.Blocks {
		var b viewBlock
		if json.Unmarshal(raw, &b) != nil || b.Type != "input" {
			continue
		}
		in := input{blockID: b.BlockID, optional: b.Optional}
		if in.blockID == "" {
			in.blockID = madeUpBlockID(i)
		}
		_ = json.Unmarshal(b.Element, &in.element) // checked when the view was opened
		if in.element.ActionID == "" {
			in.element.ActionID = madeUpActionID(i)
		}
		out = append(out, in)
	}
	return out
}

// viewsOpen opens a modal for the person whose action issued trigger_id.
func (s *Server) viewsOpen(p params) result {
	id, rawView := p["trigger_id"], p["view"]
	if id == "" {
		return invalidArguments("missing required field: trigger_id [json-pointer:/trigger_id]")
	}
	if rawView == "" {
		return invalidArguments("missing required field: view [json-pointer:/view]")
	}
	if len(rawView) > maxViewBytes {
		return failure("view_too_large")
	}
	spec, problems := checkView([]byte(rawView))
	s.mu.Lock()
	defer s.mu.Unlock()
	t, known := s.triggers[id]
	switch {
	case !known:
		return failure("invalid_trigger_id")
	case t.used:
		// views.open documents exchanged_trigger_id: "The trigger_id was
		// already exchanged in a previous call".
		return failure("exchanged_trigger_id")
	case s.opts.Now().Sub(t.issued) > triggerLifetime:
		return failure("expired_trigger_id")
	case len(problems) > 0:
		// A view Slack refuses leaves the trigger unused: the app may fix
		// the view and try again within the three seconds.
		return invalidArguments(problems...)
	}
	t.used = true
	s.nextID++
	v := &openView{
		View: View{
			ID:              fmt.Sprintf("V%08d", s.nextID),
			User:            t.user,
			TriggerID:       id,
			CallbackID:      spec.CallbackID,
			PrivateMetadata: spec.PrivateMetadata,
			Title:           textOf(spec.Title),
			Blocks:          blocksJSON(spec.Blocks),
			Raw:             json.RawMessage(rawView),
		},
		spec: spec,
		hash: fmt.Sprintf("%d.%d", s.opts.Now().Unix(), s.nextID),
	}
	s.views = append(s.views, v)
	s.emitViewLocked(ChangeViewOpened, &v.View)
	return ok(result{"view": s.wireView(v, map[string]map[string]stateInput{})})
}

// invalidArguments is Slack's answer to a malformed view: the error code,
// and what is wrong in response_metadata.messages.
func invalidArguments(messages ...string) result {
	r := failure("invalid_arguments")
	out := make([]string, len(messages))
	for i, m := range messages {
		out[i] = "[ERROR] " + m
	}
	r["response_metadata"] = result{"messages": out}
	return r
}

// checkView reads a view and lists what Slack would refuse in it, each as
// "<what is wrong> [json-pointer:<where>]" like Slack's messages.
func checkView(raw []byte) (viewSpec, []string) {
	var spec viewSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return spec, []string{"failed to parse the view as a JSON object (" + err.Error() + ") [json-pointer:/view]"}
	}
	var problems viewProblems
	if spec.Type != "modal" {
		problems.add("/type", "must be \"modal\" for views.open, not %q", spec.Type)
	}
	problems.plain("/title", spec.Title, true, maxViewTextRunes)
	problems.plain("/submit", spec.Submit, false, maxViewTextRunes)
	problems.plain("/close", spec.Close, false, maxViewTextRunes)
	hasInput := problems.common(spec)
	if hasInput && (len(spec.Submit) == 0 || string(spec.Submit) == "null") {
		problems.add("/submit", "must provide a submit button when the view has an input block")
	}
	return spec, problems
}

// viewProblems lists what Slack would refuse in a view (a modal or a Home
// tab), each as "<what is wrong> [json-pointer:/view<where>]".
type viewProblems []string

func (p *viewProblems) add(pointer, format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...)+" [json-pointer:/view"+pointer+"]")
}

// plain checks a plain_text object.
func (p *viewProblems) plain(pointer string, raw json.RawMessage, required bool, maxRunes int) {
	if len(raw) == 0 || string(raw) == "null" {
		if required {
			p.add(pointer, "missing required field")
		}
		return
	}
	var t textObject
	switch {
	case json.Unmarshal(raw, &t) != nil || t.Type != "plain_text":
		p.add(pointer+"/type", "must be a plain_text text object")
	case t.Text == "":
		p.add(pointer+"/text", "must be at least 1 character")
	case utf8.RuneCountInString(t.Text) > maxRunes:
		p.add(pointer+"/text", "must be less than %d characters", maxRunes+1)
	}
}

// common checks what modals and Home tabs share: the metadata and ids, and
// the blocks. It reports whether the view has an input block.
func (p *viewProblems) common(spec viewSpec) (hasInput bool) {
	if utf8.RuneCountInString(spec.PrivateMetadata) > maxPrivateMetadata {
		p.add("/private_metadata", "must be less than %d characters", maxPrivateMetadata+1)
	}
	if utf8.RuneCountInString(spec.CallbackID) > maxCallbackID {
		p.add("/callback_id", "must be less than %d characters", maxCallbackID+1)
	}
	if utf8.RuneCountInString(spec.ExternalID) > maxCallbackID {
		p.add("/external_id", "must be less than %d characters", maxCallbackID+1)
	}
	if len(spec.Blocks) > maxViewBlocks {
		p.add("/blocks", "must have no more than %d items", maxViewBlocks)
	}
	blockIDs := map[string]bool{}
	for i, raw := range spec.Blocks {
		at := fmt.Sprintf("/blocks/%d", i)
		var b viewBlock
		if err := json.Unmarshal(raw, &b); err != nil || b.Type == "" {
			p.add(at, "must be a block object with a type")
			continue
		}
		if b.BlockID != "" {
			if blockIDs[b.BlockID] {
				p.add(at+"/block_id", "duplicate block_id %q", b.BlockID)
			}
			blockIDs[b.BlockID] = true
			if utf8.RuneCountInString(b.BlockID) > maxIDRunes {
				p.add(at+"/block_id", "must be less than %d characters", maxIDRunes+1)
			}
		}
		switch b.Type {
		case "section":
			if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > maxSectionTextRunes {
				p.add(at+"/text/text", "must be less than %d characters", maxSectionTextRunes+1)
			}
		case "input":
			hasInput = true
			labelRaw, _ := json.Marshal(b.Label)
			p.plain(at+"/label", labelRaw, true, maxLabelRunes)
			if b.Hint != nil {
				hintRaw, _ := json.Marshal(b.Hint)
				p.plain(at+"/hint", hintRaw, false, maxLabelRunes)
			}
			*p = append(*p, checkInputElement(at+"/element", b.Element)...)
		}
	}
	return hasInput
}

// checkInputElement checks an input block's element; plain_text_input is
// checked in full, other elements only for a type.
func checkInputElement(at string, raw json.RawMessage) []string {
	var problems []string
	problem := func(pointer, format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...)+" [json-pointer:/view"+at+pointer+"]")
	}
	var e inputElement
	if len(raw) == 0 || string(raw) == "null" {
		problem("", "missing required field")
		return problems
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Type == "" {
		problem("", "must be an element object with a type")
		return problems
	}
	if e.Type != "plain_text_input" {
		return nil
	}
	if utf8.RuneCountInString(e.ActionID) > maxIDRunes {
		problem("/action_id", "must be less than %d characters", maxIDRunes+1)
	}
	if e.Placeholder != nil && utf8.RuneCountInString(e.Placeholder.Text) > maxPlaceholderRunes {
		problem("/placeholder/text", "must be less than %d characters", maxPlaceholderRunes+1)
	}
	if e.MinLength != nil && (*e.MinLength < 0 || *e.MinLength > maxInputLength) {
		problem("/min_length", "must be between 0 and %d", maxInputLength)
	}
	if e.MaxLength != nil && (*e.MaxLength < 1 || *e.MaxLength > maxInputLength) {
		problem("/max_length", "must be between 1 and %d", maxInputLength)
	}
	if e.MinLength != nil && e.MaxLength != nil && *e.MinLength > *e.MaxLength {
		problem("/min_length", "must not be more than max_length")
	}
	if e.MaxLength != nil && utf8.RuneCountInString(e.InitialValue) > *e.MaxLength {
		problem("/initial_value", "must be less than %d characters", *e.MaxLength+1)
	}
	return problems
}

// textOf is a text object's text, "" if there is none.
func textOf(raw json.RawMessage) string {
	var t textObject
	_ = json.Unmarshal(raw, &t) // absent or checked by checkView
	return t.Text
}

// blocksJSON is the blocks as sent, as one JSON array.
func blocksJSON(blocks []json.RawMessage) json.RawMessage {
	if blocks == nil {
		return json.RawMessage("[]")
	}
	out, _ := json.Marshal(blocks) // raw JSON values that decoded: cannot fail
	return out
}

// wireView is a view as Slack's JSON shows it to the app: in the views.open
// answer (slack.ViewResponse) and in view_submission payloads.
type wireView struct {
	ID                 string          `json:"id"`
	TeamID             string          `json:"team_id"`
	Type               string          `json:"type"`
	Blocks             json.RawMessage `json:"blocks"`
	PrivateMetadata    string          `json:"private_metadata"`
	CallbackID         string          `json:"callback_id"`
	State              viewState       `json:"state"`
	Hash               string          `json:"hash"`
	Title              json.RawMessage `json:"title"`
	ClearOnClose       bool            `json:"clear_on_close"`
	NotifyOnClose      bool            `json:"notify_on_close"`
	Close              json.RawMessage `json:"close"`            // null without one
	Submit             json.RawMessage `json:"submit"`           // null without one
	PreviousViewID     *string         `json:"previous_view_id"` // null: a root view
	RootViewID         string          `json:"root_view_id"`
	AppID              string          `json:"app_id"`
	ExternalID         string          `json:"external_id"`
	AppInstalledTeamID string          `json:"app_installed_team_id"`
	BotID              string          `json:"bot_id"`
}

type viewState struct {
	Values map[string]map[string]stateInput `json:"values"`
}

// stateInput is a plain_text_input's value in state.values; null when empty.
type stateInput struct {
	Type  string  `json:"type"`
	Value *string `json:"value"`
}

func (s *Server) wireView(v *openView, values map[string]map[string]stateInput) wireView {
	orNull := func(raw json.RawMessage) json.RawMessage {
		if len(raw) == 0 {
			return json.RawMessage("null")
		}
		return raw
	}
	return wireView{
		ID:                 v.ID,
		TeamID:             s.opts.TeamID,
		Type:               "modal",
		Blocks:             v.BlocksWithIDs(),
		PrivateMetadata:    v.PrivateMetadata,
		CallbackID:         v.CallbackID,
		State:              viewState{Values: values},
		Hash:               v.hash,
		Title:              orNull(v.spec.Title),
		ClearOnClose:       v.spec.ClearOnClose,
		NotifyOnClose:      v.spec.NotifyOnClose,
		Close:              orNull(v.spec.Close),
		Submit:             orNull(v.spec.Submit),
		RootViewID:         v.ID,
		AppID:              AppID,
		ExternalID:         v.spec.ExternalID,
		AppInstalledTeamID: s.opts.TeamID,
		BotID:              BotID,
	}
}

// emitViewLocked tells every subscriber about a view, dropping the change
// for one that lags.
func (s *Server) emitViewLocked(kind string, v *View) {
	for _, ch := range s.subscribers {
		select {
		case ch <- Change{Kind: kind, View: v.clone()}:
		default:
		}
	}
}

// findViewLocked finds userID's open view viewID.
func (s *Server) findViewLocked(userID, viewID string) (*openView, error) {
	i := slices.IndexFunc(s.views, func(v *openView) bool { return v.ID == viewID })
	switch {
	case i < 0:
		return nil, fmt.Errorf("fakeslack: no open view %q: it was never opened, or is closed", viewID)
	case s.views[i].User != userID:
		return nil, fmt.Errorf("fakeslack: view %s is open for %s, not %s", viewID, s.views[i].User, userID)
	}
	return s.views[i], nil
}

// closeViewLocked closes v, if it is still open.
func (s *Server) closeViewLocked(v *openView) {
	if i := slices.Index(s.views, v); i >= 0 {
		s.views = slices.Delete(s.views, i, i+1)
		s.emitViewLocked(ChangeViewClosed, &v.View)
	}
}

// Views returns userID's open views, oldest first.
func (s *Server) Views(userID string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, v := range s.views {
		if v.User == userID {
			out = append(out, v.View.clone())
		}
	}
	return out
}

// WaitView waits until userID has an open view matching match (nil: any).
func (s *Server) WaitView(ctx context.Context, userID string, match func(View) bool) (View, error) {
	return waitFirst(ctx, "a view open for "+userID, func() []View { return s.Views(userID) }, match, summarizeViews)
}

// summarizeViews lists views briefly for a failing wait.
func summarizeViews(views []View) string {
	if len(views) == 0 {
		return "no open view"
	}
	parts := make([]string, len(views))
	for i, v := range views {
		parts[i] = fmt.Sprintf("%s %q (callback_id %q)", v.ID, v.Title, v.CallbackID)
	}
	return strings.Join(parts, "; ")
}

// CloseView closes v as userID pressed Cancel. It sends nothing to the
// app, even for a view that asked notify_on_close: the bot does not ask it.
func (s *Server) CloseView(userID, viewID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.findViewLocked(userID, viewID)
	if err != nil {
		return err
	}
	s.closeViewLocked(v)
	return nil
}

// viewSubmissionPayload is a view_submission interaction, shaped like the
// one documented at https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload
// (sample: testdata/view-submission.golden.json).
type viewSubmissionPayload struct {
	Type                string       `json:"type"`
	Team                payloadTeam  `json:"team"`
	User                payloadUser  `json:"user"`
	APIAppID            string       `json:"api_app_id"`
	Token               string       `json:"token"`
	TriggerID           string       `json:"trigger_id"`
	View                wireView     `json:"view"`
	ResponseURLs        []struct{}   `json:"response_urls"` // empty: the fake's views have no response_url_enabled input
	IsEnterpriseInstall bool         `json:"is_enterprise_install"`
	Enterprise          *payloadTeam `json:"enterprise"` // always null: not an Enterprise Grid workspace
}

// viewAnswer is the app's answer to a view_submission.
type viewAnswer struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors"`
}

// SubmitView submits v as userID with the given plain_text_input values
// (action_id -> value): it posts a signed view_submission payload to
// AppURL+InteractionsPath. An empty 200 answer (or response_action "clear")
// closes the view; response_action "errors" keeps it open with Errors set;
// any other status keeps it open, as Slack shows an error in the modal then.
// It fails without sending anything where Slack's client would not send: v
// is not userID's open view, a value names no input of v, a required input
// is empty, or a value breaks its input's min_length or max_length. It also
// fails, after sending, when the app answers what Slack would refuse
// (response_action "update" and "push" are beyond the fake).
func (s *Server) SubmitView(ctx context.Context, userID string, v View, values map[string]string) (Reply, error) {
	s.mu.Lock()
	payload, open, err := s.viewSubmissionLocked(userID, v.ID, values)
	s.mu.Unlock()
	if err != nil {
		return Reply{}, err
	}
	body := []byte("payload=" + url.QueryEscape(string(payload)))
	reply, err := s.send(ctx, InteractionsPath, formContentType, body, s.opts.Now())
	if err != nil || reply.Status != http.StatusOK {
		return reply, err
	}
	return reply, s.applyViewAnswer(open, reply.Body)
}

// viewSubmissionLocked checks values as Slack's client would and builds the
// JSON payload of the submission.
func (s *Server) viewSubmissionLocked(userID, viewID string, values map[string]string) ([]byte, *openView, error) {
	v, err := s.findViewLocked(userID, viewID)
	if err != nil {
		return nil, nil, err
	}
	inputs := v.inputs()
	unused := maps.Clone(values)
	state := map[string]map[string]stateInput{}
	for _, in := range inputs {
		e := in.element
		if e.Type != "plain_text_input" {
			return nil, nil, fmt.Errorf("fakeslack: view %s has a %s input (block %q): the fake submits only plain_text_input", viewID, e.Type, in.blockID)
		}
		value, given := values[e.ActionID]
		if !given {
			value = e.InitialValue // what the person saw in the field
		}
		delete(unused, e.ActionID)
		n := utf8.RuneCountInString(value)
		switch {
		case n == 0 && !in.optional:
			return nil, nil, fmt.Errorf("fakeslack: the input %q (block %q) is required: Slack's client would not send the view empty", e.ActionID, in.blockID)
		case n > 0 && e.MinLength != nil && n < *e.MinLength:
			return nil, nil, fmt.Errorf("fakeslack: the input %q (block %q) needs at least %d characters, not %d: Slack's client would not send it", e.ActionID, in.blockID, *e.MinLength, n)
		case e.MaxLength != nil && n > *e.MaxLength:
			return nil, nil, fmt.Errorf("fakeslack: the input %q (block %q) takes at most %d characters, not %d: Slack's client would not send it", e.ActionID, in.blockID, *e.MaxLength, n)
		}
		si := stateInput{Type: e.Type}
		if n > 0 {
			si.Value = &value
		}
		if state[in.blockID] == nil {
			state[in.blockID] = map[string]stateInput{}
		}
		state[in.blockID][e.ActionID] = si
	}
	if len(unused) > 0 {
		return nil, nil, fmt.Errorf("fakeslack: view %s has no input with action_id %q", viewID, slices.Sorted(maps.Keys(unused)))
	}
	payload := viewSubmissionPayload{
		Type:         "view_submission",
		Team:         payloadTeam{ID: s.opts.TeamID, Domain: TeamDomain},
		User:         payloadUser{ID: userID, Username: s.userName(userID), Name: s.userName(userID), TeamID: s.teamOf(userID)},
		APIAppID:     AppID,
		Token:        verificationToken,
		TriggerID:    s.triggerIDLocked(userID),
		View:         s.wireView(v, state),
		ResponseURLs: []struct{}{},
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("fakeslack: encoding the view_submission: %w", err)
	}
	return data, v, nil
}

// applyViewAnswer does what Slack does with the app's 200 answer to a
// submission: close the view, or show the errors under its inputs.
func (s *Server) applyViewAnswer(v *openView, body []byte) error {
	body = bytes.TrimSpace(body)
	var answer viewAnswer
	if len(body) > 0 {
		if err := json.Unmarshal(body, &answer); err != nil {
			return fmt.Errorf("fakeslack: the app answered the view_submission with %q, not JSON: Slack would show an error in the modal", clip(string(body), 80))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch answer.ResponseAction {
	case "", "clear":
		s.closeViewLocked(v)
		return nil
	case "errors":
		inputs := map[string]bool{}
		for _, in := range v.inputs() {
			inputs[in.blockID] = true
		}
		if len(answer.Errors) == 0 {
			return errors.New("fakeslack: the app answered response_action \"errors\" without errors: Slack would show an error in the modal")
		}
		for blockID := range answer.Errors {
			// Slack ignores an error for a block that is not an input and
			// shows a generic "trouble connecting" instead (slack-go's
			// NewErrorsViewSubmissionResponse says so).
			if !inputs[blockID] {
				return fmt.Errorf("fakeslack: the app answered an error for block %q, which is not an input block of view %s", blockID, v.ID)
			}
		}
		if !slices.Contains(s.views, v) {
			return nil // closed meanwhile: nothing to show the errors on
		}
		v.Errors = maps.Clone(answer.Errors)
		s.emitViewLocked(ChangeViewUpdated, &v.View)
		return nil
	}
	return fmt.Errorf("fakeslack: the app answered response_action %q, which the fake does not support", answer.ResponseAction)
}

// clip cuts s to width characters, marking the cut with "…", for text
// quoted in errors and summaries.
func clip(s string, width int) string {
	if r := []rune(s); len(r) > width {
		return string(r[:width]) + "…"
	}
	return s
}
