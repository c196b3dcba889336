package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/config"
	"github.com/kaizalabot/kaizalabot/storage"
)

const auditHelp = `Usage: kaizalabot audit [--db PATH] [--format table|csv|json] [--customer X] [--since DATE]
                        [--migration ID] [--subscription ID]
       kaizalabot audit --verify [--db PATH]

Exports the audit history: who did what and when, to which customer,
subscription and migration, with the Partner Center request ids. --customer
matches a customer id or domain; --since takes a date (YYYY-MM-DD, midnight
UTC) or an RFC 3339 time.

--verify checks that no row was edited or deleted since it was written: each
row's hash covers its content and the row before it, and the head records the
last row. Without an audit key that proves no accidental damage, not
tampering: anyone who can write the file could recompute the chain. With one,
rows and head are HMAC-SHA256 with the key, which only its holders can
recompute; but an older copy of the whole file would pass too, so compare the
head it prints with a copy kept elsewhere (the daily digest posts it).

Settings (environment):
  KAIZALA_DB          the database: a SQLite file or a postgres://… URL (default ./kaizalabot.db); --db overrides it
  KAIZALA_AUDIT_KEY   the key the history's hashes are made with, if one is set
                      (or KAIZALA_AUDIT_KEY_FILE); --verify needs it

Exit status: 0 ok (--verify: intact), 1 failed (--verify: broken), 2 bad flags or configuration.

Flags:
`

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, auditHelp); fs.PrintDefaults() }
	env := config.OS()
	dbPath := fs.String("db", env.String("KAIZALA_DB", "kaizalabot.db"), "the database file (or set KAIZALA_DB)")
	format := fs.String("format", "table", "output format: table, json or csv")
	customer := fs.String("customer", "", "only this customer (id or domain)")
	sinceText := fs.String("since", "", "only entries at or after this date (YYYY-MM-DD) or RFC 3339 time")
	migration := fs.String("migration", "", "only this migration")
	subscription := fs.String("subscription", "", "only this subscription")
	verify := fs.Bool("verify", false, "check that the history is intact instead of exporting it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitConfig
	}
	var problems config.Problems
	var since time.Time
	switch {
	case fs.NArg() > 0:
		problems.Addf("unexpected argument %q", fs.Arg(0))
	case *format != "table" && *format != "json" && *format != "csv":
		problems.Addf("--format %q: want table, json or csv", *format)
	case *sinceText != "":
		var err error
		if since, err = parseSince(*sinceText); err != nil {
			problems.Addf("--since %q: want a date (YYYY-MM-DD) or an RFC 3339 time (2025-03-14T09:00:00Z)", *sinceText)
		}
	}
	var key string
	if *verify {
		fs.Visit(func(f *flag.Flag) {
			if f.Name != "verify" && f.Name != "db" {
				problems.Addf("--%s: --verify checks the whole history and takes only --db", f.Name)
			}
		})
		key = env.Secret("KAIZALA_AUDIT_KEY", false, &problems)
	}
	if err := problems.Err(); err != nil {
		fmt.Fprintln(stderr, prefixLines("kaizalabot audit: ", err.Error()))
		return exitConfig
	}

	db, err := storage.OpenReadOnly(ctx, *dbPath, storage.Options{AuditKey: []byte(key)})
	if errors.Is(err, os.ErrNotExist) {
		where := *dbPath
		if abs, err := filepath.Abs(where); err == nil && abs != where {
			where += " (" + abs + ")"
		}
		fmt.Fprintf(stderr, "kaizalabot audit: no database at %s; set --db or KAIZALA_DB\n", where)
		return exitConfig
	}
	if err != nil {
		fmt.Fprintf(stderr, "kaizalabot audit: %v\n", err)
		return exitFailed
	}
	defer db.Close()

	if *verify {
		return verifyAudit(ctx, db, key != "", stdout, stderr)
	}
	entries, err := db.Audit(ctx, bot.AuditFilter{Customer: *customer, SubscriptionID: *subscription, MigrationID: *migration, Since: since})
	if err != nil {
		fmt.Fprintf(stderr, "kaizalabot audit: %v\n", err)
		return exitFailed
	}
	if err := writeAudit(stdout, *format, entries); err != nil {
		fmt.Fprintf(stderr, "kaizalabot audit: writing the history: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// parseSince reads a date (midnight UTC) or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

func verifyAudit(ctx context.Context, db *storage.DB, keyed bool, stdout, stderr io.Writer) int {
	v, err := db.VerifyAudit(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "kaizalabot audit: %v\n", err)
		return exitFailed
	}
	if !v.OK {
		fmt.Fprintf(stdout, "audit history BROKEN: %s\n%d rows checked; the first problem is shown\n%s\n", v.Problem, v.Rows, verifyScope(keyed))
		return exitFailed
	}
	fmt.Fprintf(stdout, "audit history intact: %d rows, head at row %d, hash %s\n%s\n"+
		"an older copy of the whole file passes too: compare the head with a copy kept elsewhere (the daily digest posts it)\n",
		v.Rows, v.HeadSeq, v.Head, verifyScope(keyed))
	return exitOK
}

// verifyScope says what --verify checked and what that proves.
func verifyScope(keyed bool) string {
	if keyed {
		return "keyed: rows and head HMAC-SHA256 with KAIZALA_AUDIT_KEY; proves nobody without the key edited, deleted or cut rows"
	}
	return "unkeyed: proves no accidental damage, not tampering by someone who can write the file"
}

// auditLine is one entry of audit output; its JSON keys (and the CSV header)
// are a public contract.
type auditLine struct {
	Seq             int64          `json:"seq"`
	At              string         `json:"at"`
	ActorID         string         `json:"actorId"`
	ActorName       string         `json:"actorName"`
	Action          string         `json:"action"`
	CustomerID      string         `json:"customerId"`
	SubscriptionID  string         `json:"subscriptionId"`
	MigrationID     string         `json:"migrationId"`
	Detail          map[string]any `json:"detail"`
	MSRequestID     string         `json:"msRequestId"`
	MSCorrelationID string         `json:"msCorrelationId"`
	PrevHash        string         `json:"prevHash"`
	Hash            string         `json:"hash"`
}

// auditDetailWidth is how much of an entry's detail the table shows.
const auditDetailWidth = 60

func writeAudit(w io.Writer, format string, entries []bot.AuditEntry) error {
	lines := make([]auditLine, len(entries))
	for i, e := range entries {
		detail := e.Detail
		if detail == nil {
			detail = map[string]any{}
		}
		lines[i] = auditLine{
			Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339Nano), ActorID: e.Actor.ID, ActorName: e.Actor.Name, Action: e.Action,
			CustomerID: e.CustomerID, SubscriptionID: e.SubscriptionID, MigrationID: e.MigrationID, Detail: detail,
			MSRequestID: e.MSRequestID, MSCorrelationID: e.MSCorrelationID, PrevHash: e.PrevHash, Hash: e.Hash,
		}
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(lines)
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"seq", "at", "actorId", "actorName", "action", "customerId", "subscriptionId", "migrationId",
			"detail", "msRequestId", "msCorrelationId", "prevHash", "hash"})
		for _, l := range lines {
			detail, err := json.Marshal(l.Detail)
			if err != nil {
				return err
			}
			row := []string{l.At, l.ActorID, l.ActorName, l.Action, l.CustomerID, l.SubscriptionID, l.MigrationID,
				string(detail), l.MSRequestID, l.MSCorrelationID, l.PrevHash, l.Hash}
			for i := range row {
				row[i] = csvSafe(row[i])
			}
			_ = cw.Write(append([]string{strconv.FormatInt(l.Seq, 10)}, row...))
		}
		cw.Flush()
		return cw.Error()
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tAT\tACTOR\tACTION\tCUSTOMER\tSUBSCRIPTION\tMIGRATION\tDETAIL")
		for i, l := range lines {
			actor := l.ActorName
			if actor == "" {
				actor = l.ActorID
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Seq, entries[i].At.UTC().Format(time.RFC3339), oneLine(actor),
				oneLine(l.Action), oneLine(l.CustomerID), oneLine(l.SubscriptionID), oneLine(l.MigrationID), shortDetail(l.Detail))
		}
		return tw.Flush()
	}
}

// shortDetail is the detail as compact JSON on one line, cut to fit the table.
func shortDetail(detail map[string]any) string {
	if len(detail) == 0 {
		return ""
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return "?"
	}
	s := []rune(oneLine(string(b)))
	if len(s) > auditDetailWidth {
		return string(s[:auditDetailWidth-1]) + "…"
	}
	return string(s)
}
