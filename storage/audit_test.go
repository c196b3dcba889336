package storage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/bot"
)

func auditEntry(action string) bot.AuditEntry { return bot.AuditEntry{Action: action} }

// fillAudit appends n varied entries, one call each.
func fillAudit(t *testing.T, db *DB, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		err := db.AppendAudit(context.Background(), bot.AuditEntry{
			Actor: bot.Actor{ID: "U1", Name: "jane"}, Action: bot.ActionUserMoved,
			CustomerID: contosoID, SubscriptionID: kaizalaID, MigrationID: "M1",
			Detail:      map[string]any{"upn": fmt.Sprintf("user%d@contoso.com", i), "customerDomain": "contoso.onmicrosoft.com"},
			MSRequestID: fmt.Sprintf("req-%d", i), MSCorrelationID: fmt.Sprintf("corr-%d", i),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendAuditFillsDefaultsAndChains(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		c := newClock()
		db, _ := be.open(t, Options{Now: c.Now})
		at := time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC)
		err := db.AppendAudit(ctx,
			bot.AuditEntry{Action: bot.ActionScanFinished},
			bot.AuditEntry{Action: bot.ActionApproved, At: at, Actor: bot.Actor{ID: "U1", Name: "jane"}, Detail: map[string]any{"seats": 21}},
		)
		if err != nil {
			t.Fatal(err)
		}
		es, err := db.Audit(ctx, bot.AuditFilter{})
		if err != nil || len(es) != 2 {
			t.Fatalf("%+v, %v", es, err)
		}
		first, second := es[0], es[1]
		if first.Seq != 1 || first.Actor != bot.System || first.At.IsZero() || len(first.Detail) != 0 || first.PrevHash != genesisHash {
			t.Errorf("defaults not filled: %+v", first)
		}
		if second.Seq != 2 || !second.At.Equal(at) || second.Detail["seats"] != float64(21) || second.PrevHash != first.Hash {
			t.Errorf("second entry %+v does not follow %s", second, first.Hash)
		}
		var detail string
		if err := db.sql.QueryRow(`SELECT detail FROM audit_log WHERE seq = 1`).Scan(&detail); err != nil || detail != "{}" {
			t.Errorf("a nil detail is stored as %q, want {}", detail)
		}
	})
}

func TestConcurrentAppendsKeepTheChain(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{AuditKey: []byte("k")})
		const writers = 50
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				errs <- db.AppendAudit(ctx,
					bot.AuditEntry{Action: "test.first", Detail: map[string]any{"writer": w}},
					bot.AuditEntry{Action: "test.second", Detail: map[string]any{"writer": w}})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		v, err := db.VerifyAudit(ctx)
		if err != nil || !v.OK || v.Rows != 2*writers {
			t.Fatalf("after %d concurrent appends: %+v, %v", writers, v, err)
		}
		es, _ := db.Audit(ctx, bot.AuditFilter{})
		for i := 0; i < len(es); i += 2 {
			if es[i].Action != "test.first" || es[i+1].Action != "test.second" || es[i].Detail["writer"] != es[i+1].Detail["writer"] {
				t.Fatalf("rows %d and %d are not one call's consecutive entries: %+v / %+v", es[i].Seq, es[i+1].Seq, es[i], es[i+1])
			}
		}
	})
}

func TestAuditFilters(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		c := newClock()
		db, _ := be.open(t, Options{Now: c.Now})
		m := testMigration("M1")
		m.CustomerID, m.CustomerDomain = "CUST-M", "fabrikam.onmicrosoft.com"
		if err := db.CreateMigration(ctx, m); err != nil {
			t.Fatal(err)
		}
		mid := c.Now()
		err := db.AppendAudit(ctx,
			bot.AuditEntry{Action: "a.contoso", CustomerID: contosoID, SubscriptionID: kaizalaID, MigrationID: "M9"},
			bot.AuditEntry{Action: "b.by-domain", CustomerID: "CUST-D", Detail: map[string]any{"customerDomain": "Northwind.onmicrosoft.com"}},
			bot.AuditEntry{Action: "c.fabrikam", CustomerID: "cust-m", MigrationID: "m1"},
			bot.AuditEntry{Action: "d.scan", At: mid.Add(-time.Hour)},
			bot.AuditEntry{Action: "e.northwind-again", CustomerID: "cust-d"},
		)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			f    bot.AuditFilter
			want string
		}{
			{"everything, by seq", bot.AuditFilter{}, "a.contoso b.by-domain c.fabrikam d.scan e.northwind-again"},
			{"customer id, any case", bot.AuditFilter{Customer: strings.ToLower(contosoID)}, "a.contoso"},
			{"domain in a detail, and the rest of that customer", bot.AuditFilter{Customer: "northwind.onmicrosoft.com"}, "b.by-domain e.northwind-again"},
			{"domain of the migration's customer", bot.AuditFilter{Customer: "FABRIKAM.onmicrosoft.com"}, "c.fabrikam"},
			{"subscription", bot.AuditFilter{SubscriptionID: strings.ToLower(kaizalaID)}, "a.contoso"},
			{"migration", bot.AuditFilter{MigrationID: "M1"}, "c.fabrikam"},
			{"since", bot.AuditFilter{Since: mid}, "a.contoso b.by-domain c.fabrikam e.northwind-again"},
			{"nothing", bot.AuditFilter{Customer: "nobody"}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				es, err := db.Audit(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, e := range es {
					got = append(got, e.Action)
				}
				if strings.Join(got, " ") != tc.want {
					t.Errorf("got %v, want %s", got, tc.want)
				}
			})
		}
	})
}

func TestAuditWithADetailThatIsNotJSON(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, path := be.open(t, Options{})
		fillAudit(t, db, 2)
		exec(t, rawDB(t, path), `UPDATE audit_log SET detail = 'not json' WHERE seq = 2`)
		if es, err := db.Audit(ctx, bot.AuditFilter{Customer: "contoso.onmicrosoft.com"}); err == nil || !strings.Contains(err.Error(), "audit row 2") {
			t.Errorf("reading the edited row: %v, %v; want an error naming row 2", es, err)
		}
		if es, err := db.Audit(ctx, bot.AuditFilter{Customer: "someone-else"}); err != nil || len(es) != 0 {
			t.Errorf("a filter that skips the edited row: %v, %v", es, err)
		}
	})
}

// rehash recomputes every row's hash from seq from on with key, as someone
// who can write the file and knows the (public) algorithm would, and moves
// the head to match.
func rehash(t *testing.T, raw conn, from int64, key []byte) {
	t.Helper()
	rehashAs(t, raw, from, auditHashPrefix, key)
}

// rehashAs is rehash with the hash prefix of a given version; the head's MAC
// is left as it was.
func rehashAs(t *testing.T, raw conn, from int64, prefix string, key []byte) {
	t.Helper()
	rows, err := raw.Query(`SELECT ` + auditColumns + ` FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var all []auditRow
	for rows.Next() {
		var r auditRow
		if err := r.scan(rows); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	rows.Close()
	prev := genesisHash
	for _, r := range all {
		if r.seq >= from {
			r.prevHash = prev
			r.hash = r.sumAs(prefix, key)
			exec(t, raw, `UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?`, r.prevHash, r.hash, r.seq)
		}
		prev = r.hash
	}
	exec(t, raw, `UPDATE audit_head SET seq = ?, hash = ?`, all[len(all)-1].seq, prev)
}

func TestVerifyAuditDetectsEveryEdit(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		columns := []string{"at", "actor_id", "actor_name", "action", "customer_id", "subscription_id", "migration_id",
			"detail", "ms_request_id", "ms_correlation_id", "prev_hash", "hash"}
		for _, seq := range []int64{1, 4, 8} {
			for _, col := range columns {
				t.Run(fmt.Sprintf("row %d %s", seq, col), func(t *testing.T) {
					db, path := be.open(t, Options{})
					fillAudit(t, db, 8)
					value := "1"
					if col == "detail" {
						value = `{"upn":"mallory@contoso.com"}`
					}
					exec(t, rawDB(t, path), `UPDATE audit_log SET `+col+` = ? WHERE seq = ?`, value, seq)
					v, err := db.VerifyAudit(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if v.OK || v.FirstBadSeq != seq || !strings.HasPrefix(v.Problem, fmt.Sprintf("row %d:", seq)) {
						t.Errorf("%+v, want row %d reported", v, seq)
					}
				})
			}
		}
	})
}

func TestVerifyAuditDetectsStructuralTampering(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		for _, tc := range []struct {
			name    string
			tamper  func(t *testing.T, raw conn)
			wantSeq int64
			want    string
		}{
			{"a middle row deleted", func(t *testing.T, raw conn) {
				exec(t, raw, `DELETE FROM audit_log WHERE seq = 5`)
			}, 5, "row 5 is missing (deleted?)"},
			{"middle rows deleted", func(t *testing.T, raw conn) {
				exec(t, raw, `DELETE FROM audit_log WHERE seq IN (3, 4)`)
			}, 3, "rows 3 to 4 are missing (deleted?)"},
			{"the last row deleted", func(t *testing.T, raw conn) {
				exec(t, raw, `DELETE FROM audit_log WHERE seq = 8`)
			}, 8, "row 8, the last, is missing (deleted?): the head records 8 rows, the table ends at row 7"},
			{"every row deleted", func(t *testing.T, raw conn) {
				exec(t, raw, `DELETE FROM audit_log`)
			}, 1, "rows 1 to 8, the last, are missing (deleted?): the head records 8 rows, the table is empty"},
			{"the head deleted", func(t *testing.T, raw conn) {
				exec(t, raw, `DELETE FROM audit_head`)
			}, 8, "the audit head is missing"},
			{"the head moved back", func(t *testing.T, raw conn) {
				exec(t, raw, `UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit_log WHERE seq = 6)`)
			}, 7, "row 7 was not appended by kaizalabot"},
			{"the head's hash edited", func(t *testing.T, raw conn) {
				exec(t, raw, `UPDATE audit_head SET hash = ?`, strings.Repeat("a", 64))
			}, 8, "the audit head's hash does not match row 8"},
			{"prev_hash changed and the row rehashed", func(t *testing.T, raw conn) {
				var r auditRow
				if err := r.scan(raw.QueryRow(`SELECT ` + auditColumns + ` FROM audit_log WHERE seq = 6`)); err != nil {
					t.Fatal(err)
				}
				r.prevHash = strings.Repeat("b", 64)
				exec(t, raw, `UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = 6`, r.prevHash, r.sum(nil))
			}, 6, "row 6: prev_hash does not link to row 5"},
			{"a row edited and rehashed without the rest", func(t *testing.T, raw conn) {
				var r auditRow
				if err := r.scan(raw.QueryRow(`SELECT ` + auditColumns + ` FROM audit_log WHERE seq = 3`)); err != nil {
					t.Fatal(err)
				}
				r.actorName = "mallory"
				exec(t, raw, `UPDATE audit_log SET actor_name = ?, hash = ? WHERE seq = 3`, r.actorName, r.sum(nil))
			}, 4, "row 4: prev_hash does not link to row 3"},
			{"a row deleted and the rest renumbered", func(t *testing.T, raw conn) {
				exec(t, raw, `DELETE FROM audit_log WHERE seq = 2`)
				exec(t, raw, `UPDATE audit_log SET seq = seq - 1 WHERE seq > 2`)
			}, 2, "row 2: its content does not match its hash"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				db, path := be.open(t, Options{})
				fillAudit(t, db, 8)
				tc.tamper(t, rawDB(t, path))
				v, err := db.VerifyAudit(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if v.OK || v.FirstBadSeq != tc.wantSeq || !strings.Contains(v.Problem, tc.want) {
					t.Errorf("%+v\nwant row %d and %q", v, tc.wantSeq, tc.want)
				}
			})
		}
	})
}

func TestAppendAfterTheLastRowWasDeletedStillShowsTheGap(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, path := be.open(t, Options{})
		fillAudit(t, db, 3)
		exec(t, rawDB(t, path), `DELETE FROM audit_log WHERE seq = 3`)
		fillAudit(t, db, 1)
		if v, _ := db.VerifyAudit(ctx); v.OK || v.FirstBadSeq != 3 {
			t.Errorf("%+v, want row 3 missing", v)
		}
	})
}

func TestVerifyAuditWithAKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		key := []byte("the partner's audit key")
		db, path := be.open(t, Options{AuditKey: key})
		fillAudit(t, db, 5)
		if v, err := db.VerifyAudit(ctx); err != nil || !v.OK || v.Rows != 5 {
			t.Fatalf("an intact keyed history: %+v, %v", v, err)
		}
		verify := func(key []byte) AuditVerification {
			t.Helper()
			db, err := OpenReadOnly(ctx, path, Options{AuditKey: key})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			v, err := db.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if v := verify(nil); v.OK || v.FirstBadSeq != 1 || !strings.Contains(v.Problem, "needs its audit key") {
			t.Errorf("a keyed history checked without the key: %+v", v)
		}

		raw := rawDB(t, path)
		exec(t, raw, `UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 3`)
		rehash(t, raw, 3, nil)
		if v := verify(key); v.OK || v.FirstBadSeq != 3 || !strings.Contains(v.Problem, "computed without the audit key") {
			t.Errorf("a chain recomputed without the key, checked with it: %+v", v)
		}
		rehash(t, raw, 1, []byte("a guessed key"))
		if v := verify(key); v.OK || v.FirstBadSeq != 1 || !strings.Contains(v.Problem, "does not match its hash") {
			t.Errorf("a chain recomputed with another key: %+v", v)
		}
	})
}

// cutTail deletes the rows after seq and moves the head back to row seq's
// seq and hash, as anyone who can write the file could: both are readable.
func cutTail(t *testing.T, raw conn, seq int64) {
	t.Helper()
	exec(t, raw, `DELETE FROM audit_log WHERE seq > ?`, seq)
	exec(t, raw, `UPDATE audit_head SET seq = ?, hash = (SELECT hash FROM audit_log WHERE seq = ?)`, seq, seq)
}

func TestVerifyAuditChecksTheKeyedHead(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		key := []byte("the partner's audit key")
		for _, tc := range []struct {
			name    string
			tamper  func(t *testing.T, raw conn)
			wantSeq int64
			want    string
		}{
			{"the last rows deleted and the head moved back, keeping its MAC", func(t *testing.T, raw conn) {
				cutTail(t, raw, 6)
			}, 6, "the audit head (row 6) is not authentic: its MAC is not the audit key's"},
			{"the last rows deleted, the head moved back and its MAC removed", func(t *testing.T, raw conn) {
				cutTail(t, raw, 6)
				exec(t, raw, `UPDATE audit_head SET mac = ''`)
			}, 6, "the audit head (row 6) is not authentic: it has no MAC"},
			{"every row deleted and the head moved to the genesis", func(t *testing.T, raw conn) {
				exec(t, raw, `DELETE FROM audit_log`)
				exec(t, raw, `UPDATE audit_head SET seq = 0, hash = ?`, genesisHash)
			}, 0, "the audit head (row 0) is not authentic"},
			{"the head's MAC removed", func(t *testing.T, raw conn) {
				exec(t, raw, `UPDATE audit_head SET mac = ''`)
			}, 8, "the audit head (row 8) is not authentic: it has no MAC"},
			{"the head's MAC edited", func(t *testing.T, raw conn) {
				exec(t, raw, `UPDATE audit_head SET mac = ?`, strings.Repeat("a", 64))
			}, 8, "the audit head (row 8) is not authentic"},
			{"the head moved back with a MAC made with another key", func(t *testing.T, raw conn) {
				cutTail(t, raw, 6)
				var hash string
				if err := raw.QueryRow(`SELECT hash FROM audit_head`).Scan(&hash); err != nil {
					t.Fatal(err)
				}
				exec(t, raw, `UPDATE audit_head SET mac = ?`, headMAC([]byte("a guessed key"), 6, hash))
			}, 6, "the audit head (row 6) is not authentic"},
			{"the head moved back with its row's hash as the MAC", func(t *testing.T, raw conn) {
				cutTail(t, raw, 6)
				exec(t, raw, `UPDATE audit_head SET mac = hash`)
			}, 6, "the audit head (row 6) is not authentic"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				db, path := be.open(t, Options{AuditKey: key})
				fillAudit(t, db, 8)
				if v, err := db.VerifyAudit(ctx); err != nil || !v.OK || v.HeadSeq != 8 {
					t.Fatalf("before tampering: %+v, %v", v, err)
				}
				tc.tamper(t, rawDB(t, path))
				v, err := db.VerifyAudit(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if v.OK || v.FirstBadSeq != tc.wantSeq || !strings.Contains(v.Problem, tc.want) {
					t.Errorf("%+v\nwant row %d and %q", v, tc.wantSeq, tc.want)
				}
			})
		}
	})
}

func TestAppendingAfterAHeadThatIsNotAuthenticIsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		for _, tc := range []struct {
			name   string
			tamper func(t *testing.T, raw conn)
		}{
			{"the head moved back", func(t *testing.T, raw conn) { cutTail(t, raw, 2) }},
			{"the head moved back and its MAC removed", func(t *testing.T, raw conn) {
				cutTail(t, raw, 2)
				exec(t, raw, `UPDATE audit_head SET mac = ''`)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				db, path := be.open(t, Options{AuditKey: []byte("k")})
				fillAudit(t, db, 4)
				tc.tamper(t, rawDB(t, path))
				// Row 3 appended after the moved head would link to row 2, and a
				// head keyed by the bot would hide that rows 3 and 4 were cut.
				err := db.AppendAudit(ctx, auditEntry(bot.ActionScanFinished))
				if err == nil || !strings.Contains(err.Error(), "the audit head (row 2) is not authentic") {
					t.Errorf("appending: %v, want a refusal naming the head", err)
				}
				if seq, _, err := db.AuditHead(ctx); err != nil || seq != 2 {
					t.Errorf("the head is at row %d (%v) after the refusal, want 2", seq, err)
				}
			})
		}
	})
}

func TestAppendingGoesOnAfterRowsVerifyReportsAnyway(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		for _, tc := range []struct {
			name     string
			before   []byte // the key the first rows were written with
			tamper   func(t *testing.T, raw conn)
			wantSeq  int64
			wantText string
		}{
			{"a key set on a history written without one", nil, nil, 1, "row 1: its hash was computed without the audit key"},
			{"the key changed", []byte("the old key"), nil, 1, "row 1: its content does not match its hash"},
			{"the last row edited", []byte("k"), func(t *testing.T, raw conn) {
				exec(t, raw, `UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 2`)
			}, 2, "row 2: its content does not match its hash"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				db, path := be.open(t, Options{AuditKey: tc.before})
				fillAudit(t, db, 2)
				db.Close()
				if tc.tamper != nil {
					tc.tamper(t, rawDB(t, path))
				}
				db, err := Open(ctx, path, Options{AuditKey: []byte("k")})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if err := db.AppendAudit(ctx, auditEntry(bot.ActionScanFinished)); err != nil {
					t.Fatalf("appending: %v; nothing would be hidden by it, so the bot must keep working", err)
				}
				if v, err := db.VerifyAudit(ctx); err != nil || v.OK || v.Rows != 3 || v.FirstBadSeq != tc.wantSeq || !strings.Contains(v.Problem, tc.wantText) {
					t.Errorf("%+v, %v; want row %d reported: %q", v, err, tc.wantSeq, tc.wantText)
				}
			})
		}
	})
}

// olderDatabase writes the file a kaizalabot from before head MACs wrote:
// schema version 2, n rows hashed as v1 rows with key, and the head.
func olderDatabase(t *testing.T, be backend, path string, key []byte, n int) {
	t.Helper()
	all, err := schemaMigrations(be.d)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, path)
	exec(t, raw, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
	for _, m := range all[:2] {
		exec(t, raw, m.sql)
		exec(t, raw, `INSERT INTO schema_migrations VALUES (?, ?, '')`, m.version, m.name)
	}
	older := &DB{auditKey: key, now: newClock().Now}
	prev := genesisHash
	for seq := int64(1); seq <= int64(n); seq++ {
		r, err := older.newAuditRow(seq, prev, auditEntry(bot.ActionScanFinished))
		if err != nil {
			t.Fatal(err)
		}
		r.hash = r.sumAs(auditHashPrefixV1, key)
		exec(t, raw, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.seq, r.at, r.actorID, r.actorName, r.action, r.customerID, r.subscriptionID, r.migrationID,
			r.detail, r.msRequestID, r.msCorrelationID, r.prevHash, r.hash)
		prev = r.hash
	}
	exec(t, raw, `UPDATE audit_head SET seq = ?, hash = ?`, n, prev)
	raw.Close()
}

func TestAHeadFromBeforeHeadMACsIsKeyedByTheNextAppend(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		key := []byte("the partner's audit key")
		path := be.newDSN(t)
		olderDatabase(t, be, path, key, 3)

		db, err := Open(ctx, path, Options{AuditKey: key})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		v, err := db.VerifyAudit(ctx)
		if err != nil || v.OK || v.FirstBadSeq != 3 || !strings.Contains(v.Problem, "the audit head (row 3) is not yet keyed") {
			t.Errorf("an upgraded history before its next append: %+v, %v; want the head reported as not yet keyed", v, err)
		}
		fillAudit(t, db, 1)
		if v, err := db.VerifyAudit(ctx); err != nil || !v.OK || v.Rows != 4 || v.HeadSeq != 4 {
			t.Errorf("after the next append: %+v, %v; want 4 rows intact", v, err)
		}
		// From now on the head must carry its MAC.
		exec(t, rawDB(t, path), `UPDATE audit_head SET mac = ''`)
		if v, _ := db.VerifyAudit(ctx); v.OK || !strings.Contains(v.Problem, "the audit head (row 4) is not authentic: it has no MAC") {
			t.Errorf("the MAC removed after the upgrade: %+v", v)
		}
	})
}

func TestAuditHead(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.open(t, Options{AuditKey: []byte("k")})
		if seq, hash, err := db.AuditHead(ctx); err != nil || seq != 0 || hash != genesisHash {
			t.Errorf("a new history's head: %d %s %v; want 0 and the genesis hash", seq, hash, err)
		}
		fillAudit(t, db, 3)
		es, err := db.Audit(ctx, bot.AuditFilter{})
		if err != nil || len(es) != 3 {
			t.Fatalf("%v, %v", es, err)
		}
		if seq, hash, err := db.AuditHead(ctx); err != nil || seq != 3 || hash != es[2].Hash {
			t.Errorf("after 3 rows: %d %s %v; want 3 and %s", seq, hash, err, es[2].Hash)
		}

		d, err := bot.BuildDigest(ctx, db, time.Now(), time.Now().Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if want := (bot.AuditHead{Seq: 3, Hash: es[2].Hash[:16]}); d.AuditHead == nil || *d.AuditHead != want {
			t.Errorf("the digest's audit head is %+v, want %+v", d.AuditHead, want)
		}
	})
}
