// Command kaizalabot finds customers whose Kaizala Pro subscriptions are
// about to expire and, with a person's approval in Slack, moves them to a
// Microsoft 365 / Office 365 plan through the Partner Center API.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses, the same for every subcommand.
const (
	exitOK      = 0
	exitFailed  = 1 // the command could not do its work
	exitConfig  = 2 // bad flags or configuration
	exitPartial = 3 // done, but some parts could not be read (see stderr)
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"scan", "list expiring Kaizala Pro subscriptions across all customers", runScan},
		{"serve", "run the Slack bot", runServe},
		{"demo", "run the whole product locally: sandbox, bot and a Slack console in the browser", runDemo},
		{"pcsim", "run the offline Partner Center sandbox", runPCSim},
		{"audit", "export or verify the audit history", runAudit},
		{"healthcheck", "ask a running serve for /healthz (for container health checks)", runHealthcheck},
		{"help", "show this help", nil},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitConfig
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "kaizalabot: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitConfig
}

func usage(w io.Writer) {
	fmt.Fprint(w, `kaizalabot moves customers off retired Microsoft SKUs (Kaizala Pro first)
through the Partner Center API, with approvals in Slack.

Usage: kaizalabot <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "kaizalabot <command> -h" for a command's flags and settings.
Exit status: 0 ok, 1 failed, 2 bad flags or configuration, 3 partly done (see stderr).
`)
}
