package slackview

import (
	"slices"
	"strings"

	"github.com/slack-go/slack"
)

// command is one /kaizala command as the help explains it.
type command struct {
	usage, explains, example string
}

// commands are every /kaizala command, in the order people need them.
var commands = []command{
	{"help", "this list", "/kaizala help"},
	{"list [days]", "subscriptions that end within days (default 90), most urgent first", "/kaizala list 30"},
	{"status <subscription-id | customer domain | customer name>", "a subscription, or all of a customer's, and their migrations", "/kaizala status contoso.onmicrosoft.com"},
	{"targets", "the plans Kaizala Pro users can move to, and what to type for each", "/kaizala targets"},
	{"plan <subscription-id> <target> [seats] [old=suspend|leave|cancel] [via transition|replace|renewal]", "works out exactly what a migration buys, what it costs, who moves and what happens to the old subscription, and posts it for approval; nothing changes before it is approved. The plan takes the best path Partner Center allows (a transition, a change at renewal, or buying the target and moving each user) and says why; `via` asks for one", "/kaizala plan 4A1B2C3D-5E6F-4A7B-8C9D-0E1F2A3B4C5D STANDARDPACK via renewal"},
	{"plan all <target> [within DAYS] [owner <@user>]", "plans every subscription ending within DAYS (default 30), or an owner's, as one batch with one Approve; each migration still runs once with its own history and Retry", "/kaizala plan all STANDARDPACK within 30"},
	{"approve <request-id>", "approves a plan (approvers only, never your own request)", "/kaizala approve M7K2QX"},
	{"reject <request-id> <reason>", "rejects a plan that has not started, saying why; the requester may withdraw their own", "/kaizala reject M7K2QX renewing by phone instead"},
	{"retry <request-id>", "after a failure, runs the failed step again; after a stop for a new approval, makes a new plan", "/kaizala retry M7K2QX"},
	{"undo <request-id> [reason]", "takes a finished migration back while Partner Center allows it: the users move back and the new subscription is cancelled for a refund, or a scheduled change at renewal is removed (approvers other than the requester)", "/kaizala undo M7K2QX customer changed their mind"},
	{"history [subscription-id | customer | request-id]", "who did what and when", "/kaizala history M7K2QX"},
	{"digest", "posts the daily digest now", "/kaizala digest"},
	{"scan [full]", "reads what changed since the last scan now (the customers Partner Center's activity log names); `full` reads every customer", "/kaizala scan full"},
}

// Verbs are the first words of the commands, each once, in help order:
// what /kaizala understands (the glue routes and gates by them).
func Verbs() []string {
	var verbs []string
	for _, c := range commands {
		if v := strings.Fields(c.usage)[0]; !slices.Contains(verbs, v) {
			verbs = append(verbs, v) // "plan" and "plan all" are one verb
		}
	}
	return verbs
}

// approvalSteps says how a migration gets approved and run.
const approvalSteps = "1. Someone asks for a plan: a plan chosen in an alert line's menu (or *Plan migration* on a single alert), or `/kaizala plan <subscription-id> <target>`. " +
	"The plan shows exactly what will be bought, which users move and what is suspended.\n" +
	"2. An approver clicks *Approve* on the plan, or types `/kaizala approve <id>`; you cannot approve your own request.\n" +
	"3. Once enough approvers agree, the bot takes the plan's path, reporting in the plan's thread: a transition converts the subscription in one call; " +
	"a change at renewal is scheduled for the end of its term; a replace buys the new subscription, moves each user's licence and suspends the old subscription. " +
	"A suspended legacy subscription is deleted at the end of its term or 90 days later, whichever comes first.\n" +
	"4. An approver other than the requester can *Undo* a replace while the new subscription can still be cancelled, or a change at renewal until it happens."

// Help is the ephemeral help for /kaizala: every command with a one-line
// explanation and an example, and how a migration gets approved. When
// unknownWord is set it starts by saying so, with the suggestion if any.
func Help(unknownWord, suggestion string) Message {
	var blocks []slack.Block
	var text []string
	if unknownWord != "" {
		line := "I don't know “" + esc(unknownWord, maxName) + "”."
		plainLine := line
		if suggestion != "" {
			line += " Did you mean `" + esc(suggestion, maxName) + "`?"
			plainLine += " Did you mean " + esc(suggestion, maxName) + "?"
		}
		blocks = append(blocks, section(line))
		text = append(text, plainLine)
	}
	lines := make([]string, len(commands))
	for i, c := range commands {
		lines[i] = "`/kaizala " + Escape(c.usage) + "`: " + c.explains + ". For example `" + Escape(c.example) + "`."
	}
	verbs := Verbs()
	approval := Escape(approvalSteps)
	blocks = append(blocks,
		section("*/kaizala commands*\n"+strings.Join(lines, "\n")),
		section("*How a migration gets approved*\n"+approval),
	)
	text = append(text, "/kaizala commands: "+strings.Join(verbs, ", ")+". "+
		"To migrate, ask for a plan with /kaizala plan; an approver clicks Approve on the plan, or types /kaizala approve "+Escape("<id>")+"; you cannot approve your own request.")
	return Message{Text: fallback(strings.Join(text, " ")), Blocks: blocks}
}
