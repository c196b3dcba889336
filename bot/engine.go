package bot

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"
)

// Engine plans, approves and runs migrations. Each migration is a persisted
// state machine: approved → buying → waiting for seats → moving users →
// verifying → suspending → done, or failed at a named step, or waiting for a
// new approval because the world changed. Every Partner Center write gets
// its MS-RequestId saved before it is sent, so after a crash the engine
// resumes, reconciles, and never buys or suspends twice.
type Engine struct {
	PC      PartnerCenter
	Store   Store
	Catalog *Catalog
	Policy  Policy
	Events  EventSink          // optional
	Log     logrus.FieldLogger // optional
	Now     func() time.Time   // optional
	// Concurrency is how many Partner Center calls one migration keeps in
	// flight (reading licences, moving users); the client's rate limiter
	// sets the pace. Default 8.
	Concurrency int
	// SeatTimeout bounds the wait for bought seats to become usable
	// (Partner Center updates provisioning "every 15 minutes"). Default 45m.
	SeatTimeout time.Duration
	// SeatPoll is the first wait between looks at the seats; it doubles up
	// to 30s. Default 2s.
	SeatPoll time.Duration
	// ProvisionTimeout bounds the wait for Microsoft to provision a
	// checked-out order (its subscription named); then the step fails for a
	// person, nothing bought again. Default 30m.
	ProvisionTimeout time.Duration
	// ProvisionPoll is the first wait between looks at a pending order; it
	// doubles up to 30s. Default 2s.
	ProvisionPoll time.Duration
	// WaitNotice is how long transient trouble (the database refusing
	// writes, Partner Center down) lasts before the migration's thread is
	// told. Default 10s.
	WaitNotice time.Duration
	// GiveUpAfter is how long transient trouble may last before the
	// migration fails for a person to look at. Default 24h.
	GiveUpAfter time.Duration
	// RetryBackoff and MaxRetryBackoff bound the waits between tries while
	// trouble lasts. Defaults 500ms and 5s.
	RetryBackoff, MaxRetryBackoff time.Duration
	// WakePoll is how often the worker looks for migrations approved in
	// other processes. Default 200ms.
	WakePoll time.Duration
	// PlansPerPerson is how many plans one person may have in the works at
	// once (each reads every user's licences). Default 2.
	PlansPerPerson int
	// BatchConcurrency is how many migrations of one batch run at once
	// (batch.go); the rest wait their turn, approved. Default 4.
	BatchConcurrency int

	// RenewalLead is how far ahead a new-commerce term must end for the
	// planner to propose a change at renewal (KAIZALA_RENEWAL_LEAD).
	// Default 14 days.
	RenewalLead time.Duration
	// RenewalPoll is how often a migration waiting for its renewal looks at
	// the subscription (a deleted scheduled change is noticed then, or at the
	// next scan). Default 1h.
	RenewalPoll time.Duration

	mu      sync.Mutex
	locks   map[string]*sync.Mutex
	running map[string]bool
	again   map[string]bool        // running, to run once more (launch)
	parked  map[string]*time.Timer // when a parked migration looks again (park)
	slots   map[string]*batchSlots // by batch id (batch.go)
	wg      sync.WaitGroup
	base    context.Context
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) concurrency() int { return max(1, cmp.Or(e.Concurrency, 8)) }

func (e *Engine) log() logrus.FieldLogger {
	if e.Log != nil {
		return e.Log
	}
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	return l
}

func (e *Engine) publish(ev Event) {
	if e.Events == nil {
		return
	}
	ev.At = e.now()
	e.Events.Publish(ev)
}

// update re-reads migration id, applies change and saves it, retrying when
// someone else saved it meanwhile. change reports whether to save; the
// audit entries are written only with a save.
func (e *Engine) update(ctx context.Context, id string, change func(*Migration) (bool, error), audit ...AuditEntry) (*Migration, error) {
	for range 10 {
		m, err := e.Store.GetMigration(ctx, id)
		if err != nil {
			return nil, err
		}
		save, err := change(m)
		if err != nil || !save {
			return m, err
		}
		m.UpdatedAt = e.now()
		err = e.Store.SaveMigration(ctx, m, audit...)
		if errors.Is(err, ErrConflict) {
			continue
		}
		return m, err
	}
	return nil, fmt.Errorf("migration %s: %w ten times in a row", id, ErrConflict)
}

// audit makes an audit entry about m.
func (e *Engine) audit(m *Migration, actor Actor, action string, detail map[string]any) AuditEntry {
	if detail == nil {
		detail = map[string]any{}
	}
	if _, ok := detail["customerDomain"]; !ok && m.CustomerDomain != "" {
		detail["customerDomain"] = m.CustomerDomain
	}
	return AuditEntry{At: e.now(), Actor: actor, Action: action, CustomerID: m.CustomerID, SubscriptionID: m.SubscriptionID, MigrationID: m.ID, Detail: detail}
}

const idAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ" // no 0/O, 1/I/L: ids are read and typed

// newID makes a short migration id people can type, e.g. "M7K2QX".
func (e *Engine) newID(ctx context.Context) (string, error) {
	for range 20 {
		b := make([]byte, 5)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		id := []byte("M")
		for _, c := range b {
			id = append(id, idAlphabet[int(c)%len(idAlphabet)])
		}
		if _, err := e.Store.GetMigration(ctx, string(id)); errors.Is(err, ErrNotFound) {
			return string(id), nil
		} else if err != nil {
			return "", err
		}
	}
	return "", errors.New("could not find a free migration id")
}

// find loads a migration by id; an unknown id is a refusal, not an error.
func (e *Engine) find(ctx context.Context, id string) (*Migration, string, error) {
	m, err := e.Store.GetMigration(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Sprintf("There is no migration %q. Migration ids look like M7K2QX; see /kaizala history.", id), nil
	}
	return m, "", err
}

// humanState says a state in words.
func humanState(s State) string { return strings.ReplaceAll(string(s), "_", " ") }

// newRequestID makes an MS-RequestId.
func newRequestID() string { return uuid.NewString() }
