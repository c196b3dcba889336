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
// it is HMAC-SHA256, which nobody without the key can recompute, and the head
// carries a MAC too (headMAC): the rows and the head are readable, so without
// it anyone could delete the last rows and move the head back to an earlier
// row's seq and hash. What no MAC can show is the whole file replaced by an
// older copy of itself (or a new empty one): only a copy of the head kept
// elsewhere shows that, which is why the digest posts it.

// genesisHash is row 1's prev_hash and the head of an empty history (the
// schema's first migration inserts it too).
var genesisHash = strings.Repeat("0", 64)

// auditHashPrefix names the encoding, so a future change of fields cannot be
// confused with this one. v2 rows have the same fields as v1 rows: v2 marks a
// row written by a kaizalabot that keeps the head's MAC, so a keyed head on a
// v2 row without a MAC had it removed, while one on a v1 row is a head from
// before the upgrade, keyed by the next append (headAuth). Only the key makes
// a row of either version, so nobody without it can pass a head off as old.
const (
	auditHashPrefix   = "kaizalabot-audit-v2\n"
	auditHashPrefixV1 = "kaizalabot-audit-v1\n"
)

// auditHeadPrefix starts what the head's MAC covers, so that no row hash can
// stand in for a head MAC or the other way round.
const auditHeadPrefix = "kaizalabot-audit-head-v1\n"

// detailDomain is an audit row's detail.customerDomain; NULL when the detail
// is not JSON (edited: VerifyAudit reports it) rather than failing the query.
// json_valid and json_extract are SQLite's; PostgreSQL's schema defines the
// two (migrations/postgres/0001_init.sql).
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

// sum returns the row's hash as this version writes it: see sumAs.
func (r *auditRow) sum(key []byte) string { return r.sumAs(auditHashPrefix, key) }

// sumAs returns the row's hash: hex SHA-256 (or HMAC-SHA256 with key) of
// prefix and each field in a fixed order, each written as its length in
// bytes, a colon, the bytes and a comma (a netstring), so no choice of
// contents can move a field boundary.
func (r *auditRow) sumAs(prefix string, key []byte) string {
	var h hash.Hash
	if len(key) > 0 {
		h = hmac.New(sha256.New, key)
	} else {
		h = sha256.New()
	}
	io.WriteString(h, prefix)
	for _, field := range []string{
		strconv.FormatInt(r.seq, 10), r.at, r.actorID, r.actorName, r.action,
		r.customerID, r.subscriptionID, r.migrationID, r.detail, r.msRequestID, r.msCorrelationID, r.prevHash,
	} {
		fmt.Fprintf(h, "%d:%s,", len(field), field)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// matches reports whether the row's hash is its content's, in either version.
func (r *auditRow) matches(key []byte) bool {
	return r.sum(key) == r.hash || r.sumAs(auditHashPrefixV1, key) == r.hash
}

// headMAC is the audit head's MAC with key: hex HMAC-SHA256 of its own
// prefix, the head's seq and its hash.
func headMAC(key []byte, seq int64, hash string) string {
	h := hmac.New(sha256.New, key)
	fmt.Fprintf(h, "%s%d\n%s", auditHeadPrefix, seq, hash)
	return hex.EncodeToString(h.Sum(nil))
}

// auditHead is the audit_head row: the last row's seq and hash, and with an
// audit key their MAC ("" without a key, or before the head was keyed).
type auditHead struct {
	seq       int64
	hash, mac string
}

func readAuditHead(ctx context.Context, q querier) (auditHead, error) {
	return readAuditHeadAs(ctx, q, "")
}

// readAuditHeadAs reads the head with a locking clause (see appendAudit).
func readAuditHeadAs(ctx context.Context, q querier, lock string) (auditHead, error) {
	var h auditHead
	err := q.QueryRowContext(ctx, `SELECT seq, hash, mac FROM audit_head WHERE id = 1`+lock).Scan(&h.seq, &h.hash, &h.mac)
	return h, err
}

func (h auditHead) macOK(key []byte) bool {
	return h.mac != "" && hmac.Equal([]byte(h.mac), []byte(headMAC(key, h.seq, h.hash)))
}

// headAuth is what the audit key says of a head.
type headAuth int

const (
	headAuthentic   headAuth = iota // its MAC is right
	headNew                         // no MAC: the empty history of a new database
	headNotYetKeyed                 // no MAC: its row is a v1 row of the key, from before heads were keyed
	headMACMissing                  // no MAC, and its row is not such a row
	headMACWrong                    // a MAC that is not the key's for this seq and hash
)

// auth checks the head with key; row is the row the head records, nil if
// there is none. The v1 case trusts a head the first time it is keyed: a
// database from before heads had MACs cannot prove its tail was not cut, and
// the next append keys it (verify says so until then).
func (h auditHead) auth(key []byte, row *auditRow) headAuth {
	switch {
	case h.macOK(key):
		return headAuthentic
	case h.mac != "":
		return headMACWrong
	case h.seq == 0:
		return headNew
	case row != nil && row.seq == h.seq && row.hash == h.hash && row.sumAs(auditHashPrefixV1, key) == row.hash:
		return headNotYetKeyed
	}
	return headMACMissing
}

// problem says, naming the head, why a head with this auth is not
// authentic; "" if it is (or is new).
func (h auditHead) problem(a headAuth) string {
	switch a {
	case headMACWrong:
		return fmt.Sprintf("the audit head (row %d) is not authentic: its MAC is not the audit key's for its seq and hash "+
			"(moved back to an earlier row after the last rows were deleted, or rewritten?)", h.seq)
	case headMACMissing:
		return fmt.Sprintf("the audit head (row %d) is not authentic: it has no MAC, though it was written by a kaizalabot "+
			"that keys its head (the MAC removed after the last rows were deleted?)", h.seq)
	case headNotYetKeyed:
		return fmt.Sprintf("the audit head (row %d) is not yet keyed: it was written before kaizalabot kept a MAC of the head, "+
			"so a cut of the last rows cannot be ruled out; the bot keys it with its next append", h.seq)
	}
	return ""
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
	if err := db.inTx(ctx, func(tx *txn) error { return db.appendAudit(ctx, tx, entries) }); err != nil {
		return fmt.Errorf("appending to the audit history: %w", err)
	}
	return nil
}

// appendAudit appends entries after the head, inside tx. The transaction
// holds the write lock from its start (see inTx: SQLite's immediate BEGIN,
// PostgreSQL's advisory lock), so no other append can read the same head
// and link a row to it. On PostgreSQL the head's row is also locked FOR
// UPDATE: under read committed two transactions reading the head unlocked
// would both append after the same row, and the row lock keeps the chain
// whole even if a write path ever came here without the advisory lock. The
// order is always the advisory lock, then the head, so the two cannot
// deadlock.
func (db *DB) appendAudit(ctx context.Context, tx *txn, entries []bot.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	head, err := readAuditHeadAs(ctx, tx, db.d.lockForUpdate())
	if errors.Is(err, sql.ErrNoRows) {
		return errors.New("the audit head is missing (the history was tampered with; check with audit --verify)")
	}
	if err != nil {
		return fmt.Errorf("reading the audit head: %w", err)
	}
	if len(db.auditKey) > 0 {
		if err := db.checkHeadForAppend(ctx, tx, head); err != nil {
			return err
		}
	}
	seq, prev := head.seq, head.hash
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
	mac := ""
	if len(db.auditKey) > 0 {
		mac = headMAC(db.auditKey, seq, prev)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ?, mac = ? WHERE id = 1`, seq, prev, mac); err != nil {
		return fmt.Errorf("moving the audit head: %w", err)
	}
	return nil
}

// checkHeadForAppend refuses to append after a head that records an
// authentic row of this key but whose MAC is missing or wrong: the head was
// moved back after the last rows were deleted, and keying the next head would
// hide that, so fail closed as for a missing head. A head on a row that
// VerifyAudit reports anyway (unkeyed, made with another key, edited) is
// appended after as before: nothing is hidden, and the bot keeps working.
func (db *DB) checkHeadForAppend(ctx context.Context, tx *txn, head auditHead) error {
	if head.mac != "" && head.macOK(db.auditKey) {
		return nil
	}
	var row *auditRow
	if head.seq > 0 {
		var r auditRow
		err := r.scan(tx.QueryRowContext(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq = ?`, head.seq))
		switch {
		case err == nil:
			row = &r
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("reading audit row %d, the head: %w", head.seq, err)
		}
	}
	a := head.auth(db.auditKey, row)
	if (a == headMACMissing || a == headMACWrong) && row != nil && row.hash == head.hash && row.matches(db.auditKey) {
		return fmt.Errorf("%s; check with audit --verify", head.problem(a))
	}
	return nil
}

// AuditHead returns the audit history's head as the database records it:
// the last row's seq and hash (0 and the genesis hash for an empty history).
// A copy of it kept outside the database (the digest posts it) shows later
// whether rows were cut since.
func (db *DB) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	h, err := readAuditHead(ctx, db.sql)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", errors.New("the audit head is missing (the history was tampered with; check with audit --verify)")
	}
	if err != nil {
		return 0, "", fmt.Errorf("reading the audit head: %w", err)
	}
	return h.seq, h.hash, nil
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
		// lower(x) = lower(?) rather than COLLATE NOCASE, which PostgreSQL
		// lacks: SQLite's lower() folds ASCII letters only, so in SQLite it
		// is the same comparison. The id and domain columns are case-insensitive
		// themselves (NOCASE, citext).
		where = append(where, `(customer_id = ?
			OR lower(`+detailDomain+`) = lower(?)
			OR customer_id IN (SELECT customer_id FROM migrations WHERE customer_domain = ?
				UNION SELECT customer_id FROM tracked_subscriptions WHERE customer_domain = ?
				UNION SELECT customer_id FROM audit_log WHERE customer_id != '' AND lower(`+detailDomain+`) = lower(?)))`)
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
	Rows    int    // rows in the history
	Head    string // the hash the head records
	HeadSeq int64  // the row the head records
	OK      bool
	// FirstBadSeq is the row of the first problem found, and Problem says
	// what it is in a sentence that names the row.
	FirstBadSeq int64
	Problem     string
}

// VerifyAudit walks the history by seq, recomputing each hash and checking
// that seqs run 1..N without gaps, that each prev_hash links to the row
// before, and that the head records the last row; with an audit key, also
// that the head's MAC is the key's (a head not yet keyed is a problem too).
// A broken history is OK=false with the first problem; err is only for
// failing to read it.
func (db *DB) VerifyAudit(ctx context.Context) (AuditVerification, error) {
	w := chainWalk{key: db.auditKey, next: 1, prev: genesisHash}
	// One transaction, so the rows and the head are one snapshot.
	err := db.inTx(ctx, func(tx *txn) error {
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
		head, err := readAuditHead(ctx, tx)
		if errors.Is(err, sql.ErrNoRows) {
			w.fail(w.next-1, "the audit head is missing (deleted?)")
			return nil
		}
		if err != nil {
			return err
		}
		w.head(head)
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
	next int64    // the seq the next row should have
	prev string   // the hash of the row before it
	last auditRow // the row before it
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
	case r.matches(w.key):
	case len(w.key) > 0 && r.matches(nil):
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
	w.next, w.prev, w.last = r.seq+1, r.hash, *r
}

// head checks the head against the last row walked, and with a key its MAC.
func (w *chainWalk) head(h auditHead) {
	seq, hash := h.seq, h.hash
	w.v.Head, w.v.HeadSeq = hash, seq
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
	if len(w.key) == 0 {
		return
	}
	var row *auditRow
	if w.v.Rows > 0 {
		row = &w.last
	}
	if problem := h.problem(h.auth(w.key, row)); problem != "" {
		w.fail(seq, "%s", problem)
	}
}

func tableEnd(last int64) string {
	if last == 0 {
		return "the table is empty"
	}
	return fmt.Sprintf("the table ends at row %d", last)
}
