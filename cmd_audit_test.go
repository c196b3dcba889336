package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/internal/pgtest"
	"github.com/kaizalabot/kaizalabot/storage"
)

const auditContoso = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"

// newAuditDB writes a small history (keyed with key, if set) and returns the
// database's path. KAIZALA_* settings are cleared for the test.
func newAuditDB(t *testing.T, key string) string {
	t.Helper()
	return newAuditDBAt(t, key, filepath.Join(t.TempDir(), "kaizalabot.db"))
}

// newAuditDBAt is newAuditDB at path, a SQLite file or a PostgreSQL DSN.
func newAuditDBAt(t *testing.T, key, path string) string {
	t.Helper()
	for _, k := range []string{"KAIZALA_DB", "KAIZALA_AUDIT_KEY", "KAIZALA_AUDIT_KEY_FILE"} {
		t.Setenv(k, "")
	}
	ctx := context.Background()
	db, err := storage.Open(ctx, path, storage.Options{AuditKey: []byte(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	day := func(d int) time.Time { return time.Date(2025, 3, d, 9, 30, 0, 0, time.UTC) }
	jane, omar := bot.Actor{ID: "U024BE7LH", Name: "jane"}, bot.Actor{ID: "U0G9QF9C6", Name: "=HYPERLINK(\"http://evil\")"}
	err = db.AppendAudit(ctx,
		bot.AuditEntry{At: day(10), Actor: jane, Action: bot.ActionPlanned, CustomerID: auditContoso, SubscriptionID: "SUB-K",
			MigrationID: "M7K2QX", Detail: map[string]any{"customerDomain": "contoso.onmicrosoft.com", "seats": 21}},
		bot.AuditEntry{At: day(12), Actor: omar, Action: bot.ActionApproved, CustomerID: auditContoso, SubscriptionID: "SUB-K", MigrationID: "M7K2QX"},
		bot.AuditEntry{At: day(14), Action: bot.ActionBought, CustomerID: "CUST-F", SubscriptionID: "SUB-F", MigrationID: "M2",
			MSRequestID: "req-1", MSCorrelationID: "corr-1", Detail: map[string]any{"orderId": "ORD-9", "note": strings.Repeat("x", 200)}},
		bot.AuditEntry{At: day(15), Action: bot.ActionScanFinished},
	)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func runKaizalabot(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAuditExportJSONWithFilters(t *testing.T) {
	path := newAuditDB(t, "")
	for _, tc := range []struct {
		name string
		args []string
		want []float64
	}{
		{"everything", nil, []float64{1, 2, 3, 4}},
		{"customer by id, any case", []string{"--customer", strings.ToLower(auditContoso)}, []float64{1, 2}},
		{"customer by domain", []string{"--customer", "contoso.onmicrosoft.com"}, []float64{1, 2}},
		{"since a date", []string{"--since", "2025-03-12"}, []float64{2, 3, 4}},
		{"since a time", []string{"--since", "2025-03-14T09:30:00Z"}, []float64{3, 4}},
		{"migration", []string{"--migration", "m7k2qx"}, []float64{1, 2}},
		{"subscription and since", []string{"--subscription", "SUB-K", "--since", "2025-03-11"}, []float64{2}},
		{"nothing matches", []string{"--customer", "nobody"}, []float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runKaizalabot(append([]string{"audit", "--db", path, "--format", "json"}, tc.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			var rows []map[string]any
			if err := json.Unmarshal([]byte(stdout), &rows); err != nil || rows == nil {
				t.Fatalf("stdout is not one JSON array (%v):\n%s", err, stdout)
			}
			seqs := []float64{}
			for _, r := range rows {
				seqs = append(seqs, r["seq"].(float64))
			}
			if !slices.Equal(seqs, tc.want) {
				t.Errorf("seqs %v, want %v", seqs, tc.want)
			}
		})
	}

	_, stdout, _ := runKaizalabot("audit", "--db", path, "--format", "json")
	var rows []map[string]any
	_ = json.Unmarshal([]byte(stdout), &rows)
	wantKeys := []string{"seq", "at", "actorId", "actorName", "action", "customerId", "subscriptionId", "migrationId",
		"detail", "msRequestId", "msCorrelationId", "prevHash", "hash"}
	for _, r := range rows {
		if len(r) != len(wantKeys) {
			t.Errorf("row has keys %v, want exactly %v", r, wantKeys)
		}
		for _, k := range wantKeys {
			if _, ok := r[k]; !ok {
				t.Errorf("row lacks %q: %v", k, r)
			}
		}
		if _, ok := r["detail"].(map[string]any); !ok {
			t.Errorf("detail is %T, want an object", r["detail"])
		}
	}
	if len(rows) == 4 {
		if r := rows[2]; r["at"] != "2025-03-14T09:30:00Z" || r["actorId"] != "system" || r["msRequestId"] != "req-1" ||
			r["detail"].(map[string]any)["orderId"] != "ORD-9" || r["prevHash"] != rows[1]["hash"] {
			t.Errorf("row 3 = %v", r)
		}
	}
}

func TestAuditExportCSVAndTable(t *testing.T) {
	path := newAuditDB(t, "")
	_, stdout, _ := runKaizalabot("audit", "--db", path, "--format", "csv")
	records, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(records) != 5 {
		t.Fatalf("csv (%v):\n%s", err, stdout)
	}
	if got := strings.Join(records[0], ","); got != "seq,at,actorId,actorName,action,customerId,subscriptionId,migrationId,detail,msRequestId,msCorrelationId,prevHash,hash" {
		t.Errorf("header %s", got)
	}
	if records[2][3] != `'=HYPERLINK("http://evil")` {
		t.Errorf("a formula in a cell is not neutralised: %q", records[2][3])
	}
	if records[1][8] != `{"customerDomain":"contoso.onmicrosoft.com","seats":21}` {
		t.Errorf("detail cell %q, want the JSON text", records[1][8])
	}

	code, stdout, _ := runKaizalabot("audit", "--db", path, "--migration", "M2")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != exitOK || len(lines) != 2 || !strings.HasPrefix(lines[0], "SEQ  AT") || !strings.Contains(lines[0], "DETAIL") ||
		!strings.Contains(lines[1], "subscription.bought") || !strings.Contains(lines[1], "…") || len([]rune(lines[1])) > 200 {
		t.Errorf("table (exit %d):\n%s", code, stdout)
	}
}

// Acceptance 4 of the service issue: `audit --verify` catches an edited
// row on SQLite and on PostgreSQL.
func TestAuditVerify(t *testing.T) {
	for name, at := range map[string]func(*testing.T) (string, string){
		"sqlite":   func(t *testing.T) (string, string) { return "sqlite3", filepath.Join(t.TempDir(), "kaizalabot.db") },
		"postgres": func(t *testing.T) (string, string) { return "pgx", pgtest.DSN(t, func(err error) error { return err }) },
	} {
		t.Run(name, func(t *testing.T) {
			driver, dsn := at(t)
			path := newAuditDBAt(t, "", dsn)
			code, stdout, stderr := runKaizalabot("audit", "--verify", "--db", path)
			if code != exitOK || !strings.HasPrefix(stdout, "audit history intact: 4 rows, head ") {
				t.Errorf("an intact history: exit %d\n%s%s", code, stdout, stderr)
			}
			raw, err := sql.Open(driver, path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(`UPDATE audit_log SET actor_name = 'someone else' WHERE seq = 2`); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr = runKaizalabot("audit", "--verify", "--db", path)
			if code != exitFailed || !strings.Contains(stdout, "audit history BROKEN: row 2: its content does not match its hash") {
				t.Errorf("an edited row: exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
}

func TestAuditVerifyWithAKey(t *testing.T) {
	path := newAuditDB(t, "s3cret-audit-key")
	code, stdout, stderr := runKaizalabot("audit", "--verify", "--db", path)
	if code != exitFailed || !strings.Contains(stdout, "row 1") || !strings.Contains(stdout, "audit key") {
		t.Errorf("a keyed history without the key: exit %d\n%s%s", code, stdout, stderr)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("s3cret-audit-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KAIZALA_AUDIT_KEY_FILE", keyFile)
	t.Setenv("KAIZALA_DB", path)
	code, stdout, stderr = runKaizalabot("audit", "--verify")
	if code != exitOK || !strings.Contains(stdout, "intact: 4 rows") || !strings.Contains(stdout, "HMAC-SHA256") {
		t.Errorf("with KAIZALA_AUDIT_KEY_FILE and KAIZALA_DB: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "s3cret") {
		t.Error("the key appears in the output")
	}
}

func TestAuditConfigurationMistakes(t *testing.T) {
	path := newAuditDB(t, "")
	missing := filepath.Join(t.TempDir(), "nope.db")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing database", []string{"--db", missing}, "no database at " + missing},
		{"missing database, verifying", []string{"--verify", "--db", missing}, "no database at " + missing},
		{"bad --since", []string{"--db", path, "--since", "last tuesday"}, `--since "last tuesday"`},
		{"bad --format", []string{"--db", path, "--format", "xml"}, `--format "xml"`},
		{"filters with --verify", []string{"--db", path, "--verify", "--customer", "x"}, "--customer: --verify checks the whole history"},
		{"an argument", []string{"--db", path, "everything"}, `unexpected argument "everything"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runKaizalabot(append([]string{"audit"}, tc.args...)...)
			if code != exitConfig || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", code, exitConfig, tc.want, stderr)
			}
		})
	}
	t.Setenv("KAIZALA_AUDIT_KEY", "a")
	t.Setenv("KAIZALA_AUDIT_KEY_FILE", "/x")
	if code, _, stderr := runKaizalabot("audit", "--verify", "--db", path); code != exitConfig || !strings.Contains(stderr, "KAIZALA_AUDIT_KEY and KAIZALA_AUDIT_KEY_FILE") {
		t.Errorf("both key settings: exit %d\n%s", code, stderr)
	}
}

// cutAuditTail deletes the rows after seq and moves the head back to row
// seq's seq and hash, as anyone who can write the file could: both are
// readable in the table.
func cutAuditTail(t *testing.T, path string, seq int64) {
	t.Helper()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		`DELETE FROM audit_log WHERE seq > ?`,
		`UPDATE audit_head SET seq = ?1, hash = (SELECT hash FROM audit_log WHERE seq = ?1)`,
	} {
		if _, err := raw.Exec(q, seq); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestAuditVerifyAfterTheLastRowsWereCut(t *testing.T) {
	const unkeyed = "unkeyed: proves no accidental damage, not tampering by someone who can write the file"
	const keyed = "keyed: rows and head HMAC-SHA256 with KAIZALA_AUDIT_KEY"
	for _, tc := range []struct {
		name     string
		key      string
		wantCode int
		want     []string
	}{
		{"with a key the cut is found", "s3cret-audit-key", exitFailed,
			[]string{"audit history BROKEN: the audit head (row 2) is not authentic", keyed}},
		{"without a key the cut passes, and verify says what that proves", "", exitOK,
			[]string{"audit history intact: 2 rows, head at row 2, hash ", unkeyed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := newAuditDB(t, tc.key)
			t.Setenv("KAIZALA_AUDIT_KEY", tc.key)
			code, stdout, stderr := runKaizalabot("audit", "--verify", "--db", path)
			wantIntact := keyed
			if tc.key == "" {
				wantIntact = unkeyed
			}
			if code != exitOK || !strings.Contains(stdout, "intact: 4 rows, head at row 4, hash ") || !strings.Contains(stdout, wantIntact) {
				t.Fatalf("before the cut: exit %d\n%s%s", code, stdout, stderr)
			}

			cutAuditTail(t, path, 2)
			code, stdout, stderr = runKaizalabot("audit", "--verify", "--db", path)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.wantCode, stdout, stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(stdout, want) {
					t.Errorf("the output lacks %q:\n%s", want, stdout)
				}
			}
			if tc.key != "" && strings.Contains(stdout+stderr, tc.key) {
				t.Error("the key appears in the output")
			}
		})
	}
}
