package handlers

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Deliveries remembers the Slack deliveries already handled, so a request
// Slack sends again (with X-Slack-Retry-Num, when the first answer was slow
// or lost) is acknowledged without running twice.
type Deliveries interface {
	// FirstDelivery records key and reports whether it had not been seen.
	FirstDelivery(ctx context.Context, key string) (bool, error)
}

// DeliveryTTL is how long a delivery is remembered. Slack retries within
// minutes (https://api.slack.com/apis/events-api#retries); a signature is
// refused after five minutes anyway.
const DeliveryTTL = time.Hour

// MemoryDeliveries remembers deliveries in this process for a TTL: the
// default when Handler.Deliveries is not set, and the fallback when it fails.
type MemoryDeliveries struct {
	ttl time.Duration
	now func() time.Time

	mu     sync.Mutex
	seen   map[string]time.Time
	pruned time.Time
}

// NewMemoryDeliveries returns an empty MemoryDeliveries forgetting keys
// after ttl.
func NewMemoryDeliveries(ttl time.Duration) *MemoryDeliveries {
	return &MemoryDeliveries{ttl: ttl, now: time.Now, seen: map[string]time.Time{}}
}

// FirstDelivery implements Deliveries; it never fails.
func (m *MemoryDeliveries) FirstDelivery(_ context.Context, key string) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.pruned) >= m.ttl/10 {
		for k, at := range m.seen {
			if now.Sub(at) >= m.ttl {
				delete(m.seen, k)
			}
		}
		m.pruned = now
	}
	if at, ok := m.seen[key]; ok && now.Sub(at) < m.ttl {
		return false, nil
	}
	m.seen[key] = now
	return true, nil
}

// firstDelivery reports whether the request with this delivery identity
// (kind and a trigger_id or event_id) should run. One without an identity
// always runs. This process's memory answers first, so its own retries are
// caught even while h.Deliveries (shared by the replicas) is failing.
func (h *Handler) firstDelivery(ctx context.Context, r *http.Request, kind, id string) bool {
	return deliveryGate{memory: h.memory, shared: h.Deliveries, log: h.log()}.first(ctx, kind, id,
		r.Header.Get("X-Slack-Retry-Num"), r.Header.Get("X-Slack-Retry-Reason"))
}

// deliveryGate decides whether a delivery runs, over HTTP and Socket Mode alike.
type deliveryGate struct {
	memory *MemoryDeliveries
	shared Deliveries // optional
	log    logrus.FieldLogger
}

func (g deliveryGate) first(ctx context.Context, kind, id, retry, reason string) bool {
	if id == "" || g.memory == nil {
		return true
	}
	key := kind + ":" + id
	first, _ := g.memory.FirstDelivery(ctx, key)
	if first && g.shared != nil {
		shared, err := g.shared.FirstDelivery(ctx, key)
		if err != nil {
			g.log.WithError(err).WithField("kind", kind).Warn("the shared record of Slack deliveries failed; this process's memory decides")
		} else {
			first = shared
		}
	}
	if !first {
		g.log.WithField("kind", kind).WithField("delivery", key).WithField("retry", retry).WithField("retry_reason", reason).
			Debug("Slack sent a request again; acknowledged without running it twice")
	}
	return first
}
