package slackview

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/slack-go/slack"
)

// digestListed is how many items each list of the digest names; seven lists
// of five lines stay well within a message's total text.
const digestListed = 5

// Digest is the daily summary: how many subscriptions end soon and which are
// most urgent, migrations waiting, running and finished since the last
// digest, and whether the scans are healthy. d must not be nil.
func Digest(d *bot.Digest, loc *time.Location) Message {
	sinceWhen := stamp(d.Since, loc)
	within7, ended := fmt.Sprint(d.Within7), ""
	if d.Ended > 0 {
		ended = fmt.Sprintf(" (%d already ended)", d.Ended)
	}
	blocks := []slack.Block{
		header(digestTitle(d) + " — " + day(d.At, loc)),
		fieldsSection(
			"Ending within 7 days", within7+ended,
			"Within 30 days", fmt.Sprint(d.Within30),
			"Within 90 days", fmt.Sprint(d.Within90),
		),
		listSection("Most urgent", urgentLines(d.MostUrgent), d.MostUrgentMore),
		listSection("Waiting for approval", migrationLines(d.Waiting, func(m *bot.Migration) string {
			if m.State == bot.StateNeedsApproval {
				return "needs a new approval (stopped " + since(m.UpdatedAt, d.At) + " ago)"
			}
			return "waits on " + waitsOn(d.Approvers, d.ApproverGroup, m.Requester.ID) + " for " + since(m.Plan.CreatedAt, d.At) +
				" (asked by " + who(m.Requester) + ")"
		}), 0),
		listSection("Running", migrationLines(d.Running, func(m *bot.Migration) string { return runningWords(m.State) }), 0),
		listSection("Completed since "+sinceWhen, migrationLines(d.Completed, func(m *bot.Migration) string {
			return esc(m.Plan.Target.Name, maxName) + ", " + newSubscription(m)
		}), 0),
		listSection("Failed, waiting for a retry", migrationLines(d.Failed, func(m *bot.Migration) string {
			return "failed at " + stepWords(m.FailedStep) + ": " + esc(m.Error, maxLine)
		}), 0),
		listSection("Rejected since "+sinceWhen, migrationLines(d.Rejected, func(m *bot.Migration) string {
			return stateWords(m, loc)
		}), 0),
	}
	if len(d.Undone) > 0 { // rare: listed only when there are some
		blocks = append(blocks, listSection("Undone since "+sinceWhen, migrationLines(d.Undone, func(m *bot.Migration) string {
			return stateWords(m, loc)
		}), 0))
	}
	blocks = append(blocks, section("*Scan health*\n"+scanHealth(d, sinceWhen, loc)))
	if h := d.AuditHead; h != nil {
		blocks = append(blocks, contextBlock("Audit head: row "+thousands(h.Seq)+" · "+code(h.Hash),
			"Keep this to prove later that no history was cut: `kaizalabot audit --verify` prints the head it checked."))
	}
	text := fmt.Sprintf(digestTitle(d)+", %s: %s ending within 7 days%s, %d within 30, %d within 90; "+
		"%d waiting for approval, %d running, %d completed, %d failed, %d rejected.",
		day(d.At, loc), within7, ended, d.Within30, d.Within90,
		len(d.Waiting), len(d.Running), len(d.Completed), len(d.Failed), len(d.Rejected))
	return Message{Text: fallback(text), Blocks: blocks}
}

// thousands writes n with a comma every three digits: 1,234.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	start := 0
	if n < 0 {
		start = 1
	}
	for i := len(s) - 3; i > start; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// listSection is a titled bulleted list, or "none".
func listSection(title string, lines []string, unseen int) slack.Block {
	if len(lines) == 0 && unseen == 0 {
		return section("*" + title + "*\nnone")
	}
	return section("*" + title + "*\n" + bullets(lines, digestListed, unseen))
}

func urgentLines(ts []bot.TrackedSubscription) []string {
	lines := make([]string, len(ts))
	for i, t := range ts {
		lines[i] = fmt.Sprintf("%s — %s, %s, %s", customerName(t.Customer.Name, t.Customer.Domain, t.Customer.ID),
			endsIn(t.DaysLeft), plural(t.Subscription.Quantity, "seat", "seats"), code(t.Subscription.ID))
	}
	return lines
}

// migrationLines are "`M7K2QX` Contoso Ltd — <what>" lines.
func migrationLines(ms []*bot.Migration, what func(*bot.Migration) string) []string {
	lines := make([]string, len(ms))
	for i, m := range ms {
		lines[i] = code(m.ID) + " " + customerName(m.CustomerName, m.CustomerDomain, m.CustomerID) + " — " + what(m)
	}
	return lines
}

// scanHealth says when the last scan ran, how long it took, what it read
// and could not read, and how often Partner Center throttled us.
func scanHealth(d *bot.Digest, sinceWhen string, loc *time.Location) string {
	throttled := "Partner Center did not throttle us since " + sinceWhen + "."
	if d.Throttled > 0 {
		throttled = fmt.Sprintf("Partner Center throttled us %s since %s.", plural(d.Throttled, "time", "times"), sinceWhen)
	}
	s := d.Scan
	if s == nil {
		return "No scan yet. " + throttled
	}
	took := "under a second"
	if dur := s.Finished.Sub(s.Started); dur >= time.Second {
		took = dur.Round(time.Second).String()
	}
	out := fmt.Sprintf("Last scan %s, took %s: %s read, %s of retired products found.",
		stamp(s.Started, loc), took, plural(s.Customers, "customer", "customers"), plural(s.Findings, "subscription", "subscriptions"))
	if s.Requests > 0 {
		kind := "a full scan"
		if s.Incremental {
			kind = "an incremental scan, from the activity log"
		}
		out += fmt.Sprintf(" It cost %s (%s).", plural(s.Requests, "Partner Center request", "Partner Center requests"), kind)
	}
	if len(s.Failures) == 0 && len(s.Access) == 0 {
		out += " Every customer could be read."
	}
	if len(s.Failures) > 0 {
		fails := make([]string, len(s.Failures))
		for i, f := range s.Failures {
			fails[i] = esc(f, maxLine)
		}
		out += fmt.Sprintf(" Could not read %s:\n", plural(len(s.Failures), "customer", "customers")) + bullets(fails, digestListed, 0)
	}
	if len(s.Access) > 0 {
		// Subscriptions were read, licences refused: nothing can be planned
		// for these customers until someone fixes access.
		lines := make([]string, len(s.Access))
		for i, a := range s.Access {
			lines[i] = fmt.Sprintf("%s — %s (%s)", customerName(a.Customer, "", a.CustomerID), esc(a.Fix, maxLine), esc(a.Code, maxName))
		}
		out += fmt.Sprintf("\nCannot read the licences of %s, so no migration can be planned for them:\n", plural(len(s.Access), "customer", "customers")) +
			bullets(lines, digestListed, 0)
	}
	return out + "\n" + throttled
}

// digestTitle names the digest after its schedule: "Kaizala Pro weekday
// digest", or "Kaizala Pro digest" when the schedule has no simple name.
func digestTitle(d *bot.Digest) string {
	return strings.Join(strings.Fields("Kaizala Pro "+d.Cadence+" digest"), " ")
}
