package storage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/kaizalabot/kaizalabot/bot"
)

// The audit history is a hash chain. Row n's hash covers every stored field
// of row n (as stored, text for text) and row n-1's hash (prev_hash); row 1's
// prev_hash is genesisHash. audit_head holds the last row's seq and hash and
// is updated in the same transaction as each append, so deleting the last
// rows is detected as well as editing or deleting any other row.
//
// Without an audit key the hash is SHA-256: it detects edits and deletions,
// but whoever can write the file could recompute the whole chain. With a key
// it is HMAC-SHA256, which nobody without the key can recompute.

// genesisHash is row 1's prev_hash and the head of an empty history (the
// schema's first migration inserts it too).
var genesisHash = strings.Repeat("0", 64)

// auditHashPrefix names the encoding, so a future change of fields cannot be
// confused with this one.
const auditHashPrefix = "kaizalabot-audit-v1\n"

// detailDomain is an audit row's detail.customerDomain; NULL when the detail
// is not JSON (edited: VerifyAudit reports it) rather than failing the query.
const detailDomain = `(CASE WHEN json_valid(detail) THEN json_extract(detail, '$.customerDomain') END)`

const auditColumns = `seq, at, actor_id, actor_name, action, customer_id, subscription_id, migration_id,
	detail, ms_request_id, ms_correlation_id, prev_hash, hash`

// auditRow is an audit_log row exactly as stored: the hash is computed over
// these texts, not over values decoded from them.
type auditRow struct {
	seq                                     int64
	at, actorID, actorName, action          string
	customerID, subscriptionID, migrationID string
	detail, msRequestID, msCorrelationID    string
	prevHash, hash                          string
}

// sum returns the row's hash: hex SHA-256 (or HMAC-SHA256 with key) of a
// prefix and each field in a fixed order, each written as its length in
// bytes, a colon, the bytes and a comma (a netstring), so no choice of
// contents can move a field boundary.
func (r *auditRow) sum(key []byte) string {
	var h hash.Hash
	if len(key) > 0 {
		h = hmac.New(sha256.New, key)
	} else {
		h = sha256.New()
	}
	io.WriteString(h, auditHashPrefix)
	for _, field := range []string{
		strconv.FormatInt(r.seq, 10), r.at, r.actorID, r.actorName, r.action,
		r.customerID, r.subscriptionID, r.migrationID, r.detail, r.msRequestID, r.msCorrelationID, r.prevHash,
	} {
		fmt.Fprintf(h, "%d:%s,", len(field), field)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (r *auditRow) scan(rs rowScanner) error {
	return rs.Scan(&r.seq, &r.at, &r.actorID, &r.actorName, &r.action, &r.customerID, &r.subscriptionID, &r.migrationID,
		&r.detail, &r.msRequestID, &r.msCorrelationID, &r.prevHash, &r.hash)
}

func (r *auditRow) entry() (bot.AuditEntry, error) {
	e := bot.AuditEntry{
		Seq: r.seq, Actor: bot.Actor{ID: r.actorID, Name: r.actorName}, Action: r.action,
		CustomerID: r.customerID, SubscriptionID: r.subscriptionID, MigrationID: r.migrationID,
		MSRequestID: r.msRequestID, MSCorrelationID: r.msCorrelationID, PrevHash: r.prevHash, Hash: r.hash,
	}
	if err := (timeColumn{&e.At}).Scan(r.at); err != nil {
		return e, fmt.Errorf("audit row %d: %w", r.seq, err)
	}
	if err := (jsonColumn{&e.Detail}).Scan(r.detail); err != nil {
		return e, fmt.Errorf("audit row %d: its detail is not a JSON object (edited? check with audit --verify): %w", r.seq, err)
	}
	return e, nil
}

// AppendAudit appends entries to the audit history, with consecutive seqs.
// A zero At is now, a zero Actor is bot.System, a nil Detail is {}.
func (db *DB) AppendAudit(ctx context.Context, entries ...bot.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := db.inTx(ctx, func(tx *sql.Tx) error { return db.appendAudit(ctx, tx, entries) }); err != nil {
		return fmt.Errorf("appending to the audit history: %w", err)
	}
	return nil
}

// appendAudit appends entries after the head, inside tx. The transaction
// holds the write lock from BEGIN (readWriteParams), so no other append can
// read the same head.
func (db *DB) appendAudit(ctx context.Context, tx *sql.Tx, entries []bot.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var seq int64
	var prev string
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		return errors.New("the audit head is missing (the history was tampered with; check with audit --verify)")
	}
	if err != nil {
		return fmt.Errorf("reading the audit head: %w", err)
	}
	for _, e := range entries {
		r, err := db.newAuditRow(seq+1, prev, e)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.seq, r.at, r.actorID, r.actorName, r.action, r.customerID, r.subscriptionID, r.migrationID,
			r.detail, r.msRequestID, r.msCorrelationID, r.prevHash, r.hash); err != nil {
			return fmt.Errorf("appending audit row %d (%s): %w", r.seq, e.Action, err)
		}
		seq, prev = r.seq, r.hash
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, seq, prev); err != nil {
		return fmt.Errorf("moving the audit head: %w", err)
	}
	return nil
}

func (db *DB) newAuditRow(seq int64, prev string, e bot.AuditEntry) (auditRow, error) {
	at := e.At
	if at.IsZero() {
		at = db.now()
	}
	actor := e.Actor
	if actor == (bot.Actor{}) {
		actor = bot.System
	}
	detail := "{}"
	if e.Detail != nil {
		var err error
		if detail, err = jsonText(e.Detail); err != nil {
			return auditRow{}, fmt.Errorf("audit entry %s: encoding its detail: %w", e.Action, err)
		}
	}
	r := auditRow{
		seq: seq, at: formatTime(at), actorID: actor.ID, actorName: actor.Name, action: e.Action,
		customerID: e.CustomerID, subscriptionID: e.SubscriptionID, migrationID: e.MigrationID,
		detail: detail, msRequestID: e.MSRequestID, msCorrelationID: e.MSCorrelationID, prevHash: prev,
	}
	r.hash = r.sum(db.auditKey)
	return r, nil
}

// Audit returns the entries matching f, by seq. f.Customer matches a row's
// customer id, or a customer domain. Audit rows keep only the customer id as
// a column (so nothing outside the hash decides a match); a domain matches
// the rows whose detail.customerDomain is that domain, and every row of a
// customer id that a migration, a scan or any audit row's detail ties to it.
func (db *DB) Audit(ctx context.Context, f bot.AuditFilter) ([]bot.AuditEntry, error) {
	var where []string
	var args []any
	if f.Customer != "" {
		where = append(where, `(customer_id = ?
			OR `+detailDomain+` = ? COLLATE NOCASE
			OR customer_id IN (SELECT customer_id FROM migrations WHERE customer_domain = ?
				UNION SELECT customer_id FROM tracked_subscriptions WHERE customer_domain = ?
				UNION SELECT customer_id FROM audit_log WHERE customer_id != '' AND `+detailDomain+` = ? COLLATE NOCASE))`)
		args = append(args, f.Customer, f.Customer, f.Customer, f.Customer, f.Customer)
	}
	if f.SubscriptionID != "" {
		where, args = append(where, "subscription_id = ?"), append(args, f.SubscriptionID)
	}
	if f.MigrationID != "" {
		where, args = append(where, "migration_id = ?"), append(args, f.MigrationID)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, formatTime(f.Since))
	}
	query := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := db.sql.QueryContext(ctx, query+" ORDER BY seq", args...)
	if err != nil {
		return nil, fmt.Errorf("reading the audit history: %w", err)
	}
	defer rows.Close()
	var out []bot.AuditEntry
	for rows.Next() {
		var r auditRow
		if err := r.scan(rows); err != nil {
			return nil, fmt.Errorf("reading the audit history: %w", err)
		}
		e, err := r.entry()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the audit history: %w", err)
	}
	return out, nil
}

// AuditVerification is the outcome of checking the audit history.
type AuditVerification struct {
	Rows int    // rows in the history
	Head string // the hash the head records
	OK   bool
	// FirstBadSeq is the row of the first problem found, and Problem says
	// what it is in a sentence that names the row.
	FirstBadSeq int64
	Problem     string
}

// VerifyAudit walks the history by seq, recomputing each hash and checking
// that seqs run 1..N without gaps, that each prev_hash links to the row
// before, and that the head records the last row. A broken history is
// OK=false with the first problem; err is only for failing to read it.
func (db *DB) VerifyAudit(ctx context.Context) (AuditVerification, error) {
	w := chainWalk{key: db.auditKey, next: 1, prev: genesisHash}
	// One transaction, so the rows and the head are one snapshot.
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r auditRow
			if err := r.scan(rows); err != nil {
				return err
			}
			w.row(&r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		var headSeq int64
		var headHash string
		err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash)
		if errors.Is(err, sql.ErrNoRows) {
			w.fail(w.next-1, "the audit head is missing (deleted?)")
			return nil
		}
		if err != nil {
			return err
		}
		w.head(headSeq, headHash)
		return nil
	})
	if err != nil {
		return AuditVerification{}, fmt.Errorf("verifying the audit history: %w", err)
	}
	w.v.OK = w.v.Problem == ""
	return w.v, nil
}

// chainWalk checks audit rows one by one, in seq order, keeping the first problem.
type chainWalk struct {
	key  []byte
	v    AuditVerification
	next int64  // the seq the next row should have
	prev string // the hash of the row before it
}

func (w *chainWalk) fail(seq int64, format string, args ...any) {
	if w.v.Problem == "" {
		w.v.FirstBadSeq, w.v.Problem = seq, fmt.Sprintf(format, args...)
	}
}

func (w *chainWalk) row(r *auditRow) {
	w.v.Rows++
	switch {
	case r.seq < w.next:
		w.fail(r.seq, "row %d is out of sequence (rows are numbered from 1)", r.seq)
	case r.seq == w.next+1:
		w.fail(w.next, "row %d is missing (deleted?)", w.next)
	case r.seq > w.next:
		w.fail(w.next, "rows %d to %d are missing (deleted?)", w.next, r.seq-1)
	}
	switch {
	case r.sum(w.key) == r.hash:
	case len(w.key) > 0 && r.sum(nil) == r.hash:
		w.fail(r.seq, "row %d: its hash was computed without the audit key (rewritten by someone without the key?)", r.seq)
	case len(w.key) == 0 && w.v.Rows == 1:
		// Nothing has matched yet: the history may be keyed rather than edited.
		w.fail(r.seq, "row %d: its content does not match its hash (edited? or the history is keyed and needs its audit key)", r.seq)
	default:
		w.fail(r.seq, "row %d: its content does not match its hash (edited?)", r.seq)
	}
	switch {
	case r.prevHash == w.prev:
	case r.seq == 1:
		w.fail(r.seq, "row 1: prev_hash is not the genesis value")
	default:
		w.fail(r.seq, "row %d: prev_hash does not link to row %d", r.seq, r.seq-1)
	}
	w.next, w.prev = r.seq+1, r.hash
}

// head checks the head against the last row walked.
func (w *chainWalk) head(seq int64, hash string) {
	w.v.Head = hash
	last := w.next - 1
	switch {
	case seq == last+1:
		w.fail(seq, "row %d, the last, is missing (deleted?): the head records %d rows, %s", seq, seq, tableEnd(last))
	case seq > last:
		w.fail(last+1, "rows %d to %d, the last, are missing (deleted?): the head records %d rows, %s", last+1, seq, seq, tableEnd(last))
	case seq < last:
		w.fail(seq+1, "row %d was not appended by kaizalabot: the head records %d rows", seq+1, seq)
	case hash != w.prev && last == 0:
		w.fail(0, "the audit head's hash is not the genesis value of an empty history (edited?)")
	case hash != w.prev:
		w.fail(last, "the audit head's hash does not match row %d (edited?)", last)
	}
}

func tableEnd(last int64) string {
	if last == 0 {
		return "the table is empty"
	}
	return fmt.Sprintf("the table ends at row %d", last)
}
