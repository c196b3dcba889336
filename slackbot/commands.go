package slackbot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/slackview"
)

// maxCommand is the longest command text worth reading; /kaizala commands
// are a few words.
const maxCommand = 500

// verbs are the /kaizala commands, in help order: read from the help's
// table, so a command cannot be routed without being explained.
var verbs = slackview.Verbs()

// verbNeeds is who may run each verb: the least role that may (access.go).
// Deny by default: a verb missing here needs an approver.
var verbNeeds = map[string]bot.Role{
	"help": bot.RoleNone, // shows no customer data
	"list": bot.RoleViewer, "status": bot.RoleViewer, "targets": bot.RoleViewer, "history": bot.RoleViewer,
	"plan": bot.RoleSales, "reject": bot.RoleSales, "retry": bot.RoleSales, "scan": bot.RoleSales,
	"approve": bot.RoleApprover, "digest": bot.RoleApprover,
	"undo": bot.RoleApprover, // as approving: it moves people and money back
}

// Command answers a /kaizala command. Quick answers come back at once;
// anything that talks to Partner Center or Slack runs in the background and
// reports through the command's response_url.
func (a *App) Command(ctx context.Context, cmd slack.SlashCommand) *slack.Msg {
	if refused := a.gateCommand(ctx, cmd); refused != nil {
		return refused
	}
	text, problem := cleanCommand(cmd.Text)
	if problem != "" {
		return ephemeral(slackview.Refusal(problem))
	}
	words := strings.Fields(text)
	if len(words) == 0 {
		return ephemeral(slackview.Help("", ""))
	}
	actor := bot.Actor{ID: cmd.UserID, Name: cmd.UserName}
	verb, args := strings.ToLower(words[0]), words[1:]
	switch verb {
	case "help":
		return ephemeral(slackview.Help("", ""))
	case "list":
		return a.list(ctx, args)
	case "status":
		return a.status(ctx, args)
	case "targets":
		return a.targets()
	case "history":
		return a.history(ctx, args)
	case "plan":
		return a.planCommand(ctx, args, actor, cmd.ResponseURL)
	case "approve", "reject", "retry", "undo":
		return a.decide(verb, args, actor, cmd.ResponseURL)
	case "digest":
		a.background(cmd.ResponseURL, func(ctx context.Context) slackview.Message { return a.digestNow(ctx, actor) })
		return ephemeral(slackview.Info("Putting the digest together…"))
	case "scan":
		full := false
		switch strings.ToLower(strings.Join(args, " ")) {
		case "":
		case "full":
			full = true
		default:
			return ephemeral(slackview.Refusal(fmt.Sprintf("%q is not a kind of scan: type /kaizala scan (what changed since the last scan, from Partner Center's activity log) or /kaizala scan full (every customer).", strings.Join(args, " "))))
		}
		what := "what changed in Partner Center's activity log since the last scan"
		if full {
			what = "every customer's subscriptions"
		}
		if !a.isWorker() {
			// Another process is the worker: it scans (two scans at once
			// would spend the rate limit twice and alert twice).
			signal := bot.SignalScan
			if full {
				signal = bot.SignalScanFull
			}
			a.background(cmd.ResponseURL, func(ctx context.Context) slackview.Message {
				if err := a.Store.RaiseSignal(ctx, signal); err != nil {
					return a.failure("asking for a scan", err)
				}
				return slackview.Info("The worker is scanning " + what + " now; new alerts appear in the alert channel.")
			})
			return ephemeral(slackview.Info("Asking the worker to scan…"))
		}
		a.background(cmd.ResponseURL, func(ctx context.Context) slackview.Message { return a.scanReply(ctx, full) })
		return ephemeral(slackview.Info("Scanning " + what + "; I'll tell you here when it's done."))
	}
	return ephemeral(slackview.Help(verb, didYouMean(verb, verbs)))
}

// cleanCommand removes what has no business in a command (NUL and other
// control characters, bidirectional overrides that can disguise text) and
// refuses what is too long to be one.
func cleanCommand(s string) (string, string) {
	if !utf8.ValidString(s) {
		return "", "That command is not valid text. Type /kaizala help to see what I understand."
	}
	if n := utf8.RuneCountInString(s); n > maxCommand {
		return "", fmt.Sprintf("That command is %d characters long; /kaizala commands are a few words. Type /kaizala help to see them.", n)
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == '\u200b' || r == '\ufeff':
			return -1
		}
		return r
	}, s), ""
}

func (a *App) list(ctx context.Context, args []string) *slack.Msg {
	days := 90
	if len(args) > 0 {
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 0 || n > 3650 || len(args) > 1 {
			return ephemeral(slackview.Refusal("Usage: /kaizala list [days], with days a whole number from 0 to 3650, e.g. /kaizala list 30."))
		}
		days = n
	}
	tracked, err := a.trackedNow(ctx)
	if err != nil {
		return a.internal(err)
	}
	var expiring []bot.TrackedSubscription
	for _, t := range tracked {
		if t.Expiring(days) {
			expiring = append(expiring, t)
		}
	}
	if len(tracked) == 0 {
		return ephemeral(slackview.Info("No scan has found anything yet. Run /kaizala scan to read every customer's subscriptions now."))
	}
	open, err := a.Store.ListMigrations(ctx, bot.MigrationFilter{States: append([]bot.State{bot.StatePendingApproval}, bot.RunningStates...)})
	if err != nil {
		return a.internal(err)
	}
	extra := slackview.ListExtra{Open: map[string]*bot.Migration{}, Owner: func(c bot.Customer) string {
		o, _ := a.Owners.OwnerOf(c)
		return o.UserID
	}}
	for _, m := range open {
		extra.Open[strings.ToLower(m.SubscriptionID)] = m
	}
	return ephemeral(slackview.List(expiring, days, a.Now(), a.Location, extra))
}

func (a *App) status(ctx context.Context, args []string) *slack.Msg {
	if len(args) == 0 {
		return ephemeral(slackview.Refusal("Usage: /kaizala status <subscription-id | customer domain | customer name>, e.g. /kaizala status contoso.onmicrosoft.com or /kaizala status Contoso Ltd."))
	}
	key := strings.Join(args, " ") // a customer's name may have spaces
	tracked, err := a.trackedNow(ctx)
	if err != nil {
		return a.internal(err)
	}
	var found []bot.TrackedSubscription
	for _, t := range tracked {
		c := t.Customer
		if bot.SameID(t.Subscription.ID, key) || bot.SameID(c.ID, key) || strings.EqualFold(c.Domain, key) || strings.EqualFold(c.Name, key) {
			found = append(found, t)
		}
	}
	// A migration id shows its subscription.
	if m, err := a.Store.GetMigration(ctx, key); err == nil {
		for _, t := range tracked {
			if bot.SameID(t.Subscription.ID, m.SubscriptionID) && !slices.ContainsFunc(found, func(f bot.TrackedSubscription) bool { return f.Subscription.ID == t.Subscription.ID }) {
				found = append(found, t)
			}
		}
	}
	if len(found) == 0 {
		return ephemeral(slackview.Refusal(fmt.Sprintf("No Kaizala Pro subscription or customer matches “%s”. Check the id or domain with /kaizala list 400.", key)))
	}
	var migrations []*bot.Migration
	for _, t := range found {
		ms, err := a.Store.ListMigrations(ctx, bot.MigrationFilter{SubscriptionID: t.Subscription.ID})
		if err != nil {
			return a.internal(err)
		}
		migrations = append(migrations, ms...)
	}
	return ephemeral(slackview.Status(found, migrations, a.Now(), a.Location))
}

func (a *App) targets() *slack.Msg {
	var out slackview.Message
	for _, r := range a.Catalog.Retired {
		m := slackview.Targets(r, a.Catalog.TargetsFor(r))
		out.Text = strings.TrimSpace(out.Text + "\n" + m.Text)
		out.Blocks = append(out.Blocks, m.Blocks...)
	}
	if len(out.Blocks) > 50 {
		out.Blocks = out.Blocks[:50]
	}
	return ephemeral(out)
}

func (a *App) history(ctx context.Context, args []string) *slack.Msg {
	f, title := bot.AuditFilter{}, "Recent history"
	if len(args) > 0 {
		key := strings.Join(args, " ") // a customer's name may have spaces
		switch {
		case a.isMigration(ctx, key):
			f.MigrationID, title = key, "History of migration "+strings.ToUpper(key)
		case a.isSubscription(ctx, key):
			f.SubscriptionID, title = key, "History of subscription "+key
		default:
			f.Customer, title = a.customerByName(ctx, key), "History of customer "+key
		}
	}
	entries, err := a.Store.Audit(ctx, f)
	if err != nil {
		return a.internal(err)
	}
	if len(entries) == 0 {
		return ephemeral(slackview.Info(fmt.Sprintf("%s: nothing recorded yet.", title)))
	}
	return ephemeral(slackview.History(title, entries, a.Location))
}

// customerByName returns the id of the customer whose name is key, so
// history finds it (the audit knows customers by id and domain); otherwise
// key itself.
func (a *App) customerByName(ctx context.Context, key string) string {
	tracked, err := a.Store.TrackedSubscriptions(ctx)
	if err != nil {
		return key
	}
	for _, t := range tracked {
		if strings.EqualFold(strings.TrimSpace(t.Customer.Name), strings.TrimSpace(key)) {
			return t.Customer.ID
		}
	}
	return key
}

func (a *App) isMigration(ctx context.Context, id string) bool {
	_, err := a.Store.GetMigration(ctx, id)
	return err == nil
}

func (a *App) isSubscription(ctx context.Context, id string) bool {
	_, err := a.Store.FindSubscription(ctx, id)
	return err == nil
}

func (a *App) planCommand(ctx context.Context, args []string, actor bot.Actor, responseURL string) *slack.Msg {
	if len(args) > 0 && strings.EqualFold(args[0], "all") {
		return a.planAll(args[1:], actor, responseURL) // batch.go
	}
	if len(args) < 2 {
		return ephemeral(slackview.Refusal(planUsage))
	}
	sub, rest := args[0], args[1:]
	strategy, rest, problem := cutStrategy(rest)
	if problem != "" {
		return ephemeral(slackview.Refusal(problem))
	}
	if len(rest) == 0 {
		return ephemeral(slackview.Refusal(planUsage))
	}
	var fate bot.OldFate
	if last := rest[len(rest)-1]; len(rest) > 1 && strings.HasPrefix(strings.ToLower(last), "old=") {
		f, ok := bot.ParseOldFate(last[len("old="):])
		if !ok || f == "" {
			return ephemeral(slackview.Refusal(fmt.Sprintf("%q is not something I can do with the old subscription: say old=suspend, old=leave (let it end on its end date) or old=cancel (new commerce, inside its cancellation window), or leave it out for the default.", last)))
		}
		fate, rest = f, rest[:len(rest)-1]
	}
	seats := 0
	if n, err := strconv.Atoi(rest[len(rest)-1]); err == nil && len(rest) > 1 {
		seats, rest = n, rest[:len(rest)-1]
		if seats <= 0 {
			return ephemeral(slackview.Refusal(fmt.Sprintf("%d is not a number of seats; give a whole number of at least 1, or leave it out to buy as many as the old subscription has.", n)))
		}
	}
	target := strings.Join(rest, " ")
	req := bot.PlanRequest{SubscriptionID: sub, Target: target, Seats: seats, OldFate: fate, Strategy: strategy, Requester: actor}
	// The quick checks answer at once, so a mistake never arrives after
	// (or above) "working on it".
	if refusal, err := a.Engine.CheckPlanRequest(ctx, req); err != nil {
		return a.internal(err)
	} else if refusal != "" {
		return ephemeral(slackview.Refusal(refusal))
	}
	a.startPlan(req, responseURL)
	how := ""
	if strategy != "" {
		how = " " + strategy.Words()
	}
	return ephemeral(slackview.Info(fmt.Sprintf("Working on a plan to move subscription %s to %s%s…", sub, target, how)))
}

const planUsage = "Usage: /kaizala plan <subscription-id> <target> [seats] [old=suspend|leave|cancel] [via transition|replace|renewal], e.g. /kaizala plan 4A1B2C3D-… STANDARDPACK. See /kaizala targets for the targets."

// cutStrategy takes "via <strategy>" out of a plan command's words after
// the subscription, wherever it is, so the rest parse as before (no
// target's name holds the word "via"); problem is set when what follows
// "via" is no strategy.
func cutStrategy(words []string) (s bot.Strategy, rest []string, problem string) {
	i := slices.IndexFunc(words, func(w string) bool { return strings.EqualFold(w, "via") })
	if i < 0 {
		return "", words, ""
	}
	allowed := "say via transition (convert the subscription in one call), via renewal (change it at its renewal) or via replace (buy the target and move each user), or leave it out for the best path possible"
	if i+1 >= len(words) {
		return "", nil, "“via” needs a path after it: " + allowed + "."
	}
	s, ok := bot.ParseStrategy(words[i+1])
	if !ok || s == "" {
		return "", nil, fmt.Sprintf("%q is not a path I know: %s.", words[i+1], allowed)
	}
	return s, slices.Concat(words[:i], words[i+2:]), ""
}

// startPlan works out a plan in the background; the notifier posts it.
func (a *App) startPlan(req bot.PlanRequest, responseURL string) {
	a.background(responseURL, func(ctx context.Context) slackview.Message {
		m, refusal, err := a.Engine.Plan(ctx, req)
		switch {
		case err != nil:
			return a.failure("working out the plan", err)
		case refusal != "":
			return slackview.Refusal(refusal)
		}
		return slackview.Info(fmt.Sprintf("Plan %s is posted in %s for approval, %s: %s.",
			m.ID, channelMention(a.AlertChannel), m.Plan.Path().Words(), m.Plan.Summary()))
	})
}

// takesReason are the decisions typed with a reason after the id.
var takesReason = map[string]bool{"reject": true, "undo": true}

func (a *App) decide(verb string, args []string, actor bot.Actor, responseURL string) *slack.Msg {
	if len(args) == 0 || (!takesReason[verb] && len(args) > 1) {
		usage := map[string]string{
			"approve": "Usage: /kaizala approve <request-id>, e.g. /kaizala approve M7K2QX.",
			"reject":  "Usage: /kaizala reject <request-id> <reason>, e.g. /kaizala reject M7K2QX customer wants E3.",
			"retry":   "Usage: /kaizala retry <request-id>, e.g. /kaizala retry M7K2QX.",
			"undo":    "Usage: /kaizala undo <request-id> [reason], e.g. /kaizala undo M7K2QX customer changed their mind.",
		}
		return ephemeral(slackview.Refusal(usage[verb]))
	}
	id, reason := strings.ToUpper(args[0]), strings.Join(args[1:], " ")
	if verb == "reject" && len([]rune(strings.TrimSpace(reason))) < slackview.MinReason {
		// As the dialog does: the requester reads the reason.
		return ephemeral(slackview.Refusal(fmt.Sprintf("Say why, in at least %d characters: /kaizala reject %s <reason>, e.g. /kaizala reject %s customer wants E3. The requester will read it.", slackview.MinReason, id, id)))
	}
	// Typed, the decision is on the plan as it stands (no hash): the answer
	// names that plan, so the person knows what they decided on.
	a.background(responseURL, func(ctx context.Context) slackview.Message { return a.runDecision(ctx, verb, id, "", reason, actor) })
	return nil
}

// runDecision approves, rejects, retries, overrides or undoes a migration for
// actor; planHash is the plan the person saw ("" for the current one).
func (a *App) runDecision(ctx context.Context, verb, id, planHash, reason string, actor bot.Actor) slackview.Message {
	if bot.IsBatchID(id) {
		return a.runBatchDecision(ctx, verb, id, planHash, reason, actor) // batch.go
	}
	switch verb {
	case "approve":
		res, refusal, err := a.Engine.Approve(ctx, id, planHash, actor)
		switch {
		case err != nil:
			return a.failure("approving", err)
		case refusal != "":
			return slackview.Refusal(refusal)
		case res.Already:
			return slackview.Info(fmt.Sprintf("Migration %s is already approved (%s); nothing changed.", res.Migration.ID, strings.ReplaceAll(string(res.Migration.State), "_", " ")))
		case res.Started:
			return slackview.Info(fmt.Sprintf("You approved plan %s of migration %s (%s); it is running now. Progress goes in the plan's thread.",
				bot.ShortHash(res.Migration.PlanHash), res.Migration.ID, res.Migration.Plan.Summary()))
		}
		return slackview.Info(fmt.Sprintf("You approved plan %s of migration %s (%s): %d of %d approvals.",
			bot.ShortHash(res.Migration.PlanHash), res.Migration.ID, res.Migration.Plan.Summary(), res.Approvals, res.Required))
	case "reject":
		m, refusal, err := a.Engine.Reject(ctx, id, planHash, actor, reason)
		switch {
		case err != nil:
			return a.failure("rejecting", err)
		case refusal != "":
			return slackview.Refusal(refusal)
		}
		return slackview.Info(fmt.Sprintf("Migration %s is rejected.", m.ID))
	case "undo":
		// Undo binds to no plan hash: it takes back what was done, whichever
		// plan that was; the engine asks Partner Center whether it still can.
		m, refusal, err := a.Engine.Undo(ctx, id, actor, reason)
		switch {
		case err != nil:
			return a.failure("undoing", err)
		case refusal != "":
			return slackview.Refusal(refusal)
		}
		return slackview.Info(fmt.Sprintf("Undoing migration %s (%s); progress goes in the plan's thread.", m.ID, m.State.Words()))
	case "override":
		m, refusal, err := a.Engine.Override(ctx, id, planHash, actor)
		switch {
		case err != nil:
			return a.failure("overriding", err)
		case refusal != "":
			return slackview.Refusal(refusal)
		}
		return slackview.Info(fmt.Sprintf("Override recorded for %s: the old subscription will be suspended although some users still hold Kaizala Pro.", m.ID))
	}
	m, refusal, err := a.Engine.Retry(ctx, id, planHash, actor)
	switch {
	case err != nil:
		return a.failure("retrying", err)
	case refusal != "":
		return slackview.Refusal(refusal)
	case m.State == bot.StatePendingApproval:
		return slackview.Info(fmt.Sprintf("Migration %s has a new plan; it needs approving again.", m.ID))
	}
	return slackview.Info(fmt.Sprintf("Migration %s is running again.", m.ID))
}

// digestEvery is how often a person may post the digest: it goes to a
// channel many read, so it is not for repeating.
const digestEvery = 5 * time.Minute

// digestNow posts the digest for actor: approvers only (the digest names
// every customer in trouble), at most once every digestEvery.
func (a *App) digestNow(ctx context.Context, actor bot.Actor) slackview.Message {
	ok, err := a.Engine.Policy.IsApprover(ctx, actor)
	switch {
	case err != nil:
		return a.failure("checking who may post the digest", err)
	case !ok:
		return slackview.Refusal("Only approvers may post the digest now; it is posted by itself on schedule in the digest channel.")
	}
	last, posted, err := a.Store.LastDigest(ctx)
	if err != nil {
		return a.failure("reading when the last digest was posted", err)
	}
	tooSoon := func(last time.Time) slackview.Message {
		ago := a.Now().Sub(last)
		return slackview.Refusal(fmt.Sprintf("A digest was posted %s ago; the next one can be asked for in %s.",
			ago.Round(time.Second), (digestEvery - ago).Round(time.Second)))
	}
	if posted && a.Now().Sub(last) < digestEvery {
		return tooSoon(last) // the scheduled digest counts too
	}
	// Taken atomically, so two people asking at the same moment, through any
	// process, post one digest (the first may not be recorded as posted yet).
	claimed, taken, err := a.Store.ClaimSlot(ctx, "digest.asked", digestEvery)
	switch {
	case err != nil:
		return a.failure("reserving the digest", err)
	case !claimed:
		return tooSoon(taken)
	}
	channel, err := a.PostDigest(ctx)
	if err != nil {
		return slackview.Refusal("The digest could not be posted: " + err.Error())
	}
	return slackview.Info("The digest is posted in the digest channel (" + channel + ").")
}

func (a *App) scanReply(ctx context.Context, full bool) slackview.Message {
	res, err := a.ScanNow(ctx, full)
	switch {
	case err != nil:
		return a.failure("scanning", err)
	case res.Report == nil:
		return slackview.Info("The scan that was running did not finish; try again in a minute.")
	}
	r := res.Report
	read := fmt.Sprintf("%d customers read", r.Customers)
	if r.Incremental {
		read = fmt.Sprintf("%d of %d customers read again (the activity log named them)", r.Rescanned, r.Customers)
	}
	msg := fmt.Sprintf("Scan done: %s with %d Partner Center requests, %d expiring subscriptions of retired products within 90 days, %d new alerts in %s.",
		read, r.Requests, len(r.Expiring(90)), res.Alerts, channelMention(a.AlertChannel))
	if r.FullReason != "" {
		msg += " Every customer was read: " + r.FullReason + "."
	}
	if n := len(r.Failures); n > 0 {
		msg += fmt.Sprintf(" %d customers could not be read (first: %s: %v).", n, r.Failures[0].Customer.Label(), r.Failures[0].Err)
	}
	if n := len(r.Access); n > 0 {
		first := r.Access[0].Summary()
		msg += fmt.Sprintf(" Partner Center refused access to %d customers, so no migration can be planned for them (first: %s: %s).", n, first.Customer, first.Fix)
	}
	if res.Joined {
		msg = "A scan was already running; here is what it found. " + msg
	}
	return slackview.Info(msg)
}

// background runs fn detached from the request (which Slack ends after the
// acknowledgement) and sends its answer to the response_url.
func (a *App) background(responseURL string, fn func(ctx context.Context) slackview.Message) {
	a.goBackground(func() {
		ctx, cancel := context.WithTimeout(a.base, 10*time.Minute)
		defer cancel()
		a.respond(ctx, responseURL, fn(ctx))
	})
}

// failure answers an internal error: the person gets a reference to quote,
// the log gets the error under it. A raw Go error says nothing useful to a
// salesperson and may carry what they should not see (paths, ids, SQL).
func (a *App) failure(doing string, err error) slackview.Message {
	ref := errorRef()
	a.Log.WithError(err).WithField("ref", ref).Error(doing + " failed")
	return slackview.Refusal(fmt.Sprintf("Something went wrong on our side while %s (ref %s). It was logged; try again in a minute, and quote the ref if it keeps happening.", doing, ref))
}

// errorRef is a short reference that ties a person's error message to its
// log line.
func errorRef() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

func (a *App) internal(err error) *slack.Msg {
	return ephemeral(a.failure("answering", err))
}

// channelMention names a channel in a note. Notes are escaped text, so a
// <#C…> link would show literally: the channel is named in words.
func channelMention(string) string {
	return "the alert channel"
}

// didYouMean suggests the verb nearest to what was typed, or "".
func didYouMean(typed string, options []string) string {
	if best := bot.Closest(typed, options, 1); len(best) > 0 {
		return best[0]
	}
	return ""
}
