// Package metrics holds kaizalabot's Prometheus metrics.
package metrics

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kaizalabot/kaizalabot/bot"
)

// Metrics are the counters the bot keeps.
type Metrics struct {
	Registry *prometheus.Registry
	// Scans by result: ok, partial (some customers unreadable), failed.
	Scans *prometheus.CounterVec
	// ScanRequests is what each scan cost in Partner Center requests, by
	// kind (full, incremental): the activity log is what keeps it small.
	ScanRequests *prometheus.HistogramVec
	// PCCalls are Partner Center HTTP attempts by status code ("0" when no
	// answer arrived).
	PCCalls *prometheus.CounterVec
	// PCThrottled counts 429 answers from Partner Center.
	PCThrottled prometheus.Counter
	// SlackErrors are failed Slack Web API calls by method and error code.
	SlackErrors *prometheus.CounterVec
	// Ack is how long the bot took to answer Slack's requests, by kind.
	Ack *prometheus.HistogramVec
	// Worker is 1 while this process is the worker, 0 otherwise.
	Worker prometheus.Gauge
	// DBDegraded is 1 while the database refuses this process's writes.
	DBDegraded prometheus.Gauge
}

// New registers the metrics. store, when set, is read at each scrape for
// the number of migrations in each state.
func New(store bot.Store) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kaizalabot_scans_total", Help: "Scans of all customers' subscriptions, by result.",
		}, []string{"result"}),
		ScanRequests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kaizalabot_scan_partner_center_requests", Help: "Partner Center requests per scan, by kind (full, incremental).",
			Buckets: []float64{1, 5, 20, 100, 500, 2000, 10000, 50000},
		}, []string{"kind"}),
		PCCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kaizalabot_partner_center_calls_total", Help: "Partner Center HTTP attempts, by status code (0: no answer).",
		}, []string{"status"}),
		PCThrottled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kaizalabot_partner_center_throttled_total", Help: "Partner Center answers 429 Too Many Requests.",
		}),
		SlackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kaizalabot_slack_api_errors_total", Help: "Failed Slack Web API calls, by method and error.",
		}, []string{"method", "error"}),
		Ack: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kaizalabot_slack_ack_seconds", Help: "Time to acknowledge a Slack request, by kind.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5},
		}, []string{"kind"}),
		Worker: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kaizalabot_worker", Help: "1 while this process is the worker (scans, alerts, runs migrations), 0 otherwise.",
		}),
		DBDegraded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kaizalabot_database_degraded", Help: "1 while the database refuses this process's writes.",
		}),
	}
	// Series exist from the start (at zero), so dashboards and alerts on
	// them work before the first event.
	for _, r := range []string{"ok", "partial", "failed"} {
		m.Scans.WithLabelValues(r)
	}
	for _, method := range []string{"chat.postMessage", "chat.update", "response_url"} {
		m.SlackErrors.WithLabelValues(method, "ratelimited")
	}
	for _, k := range []string{"full", "incremental"} {
		m.ScanRequests.WithLabelValues(k)
	}
	m.Registry.MustRegister(m.Scans, m.ScanRequests, m.PCCalls, m.PCThrottled, m.SlackErrors, m.Ack, m.Worker, m.DBDegraded,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if store != nil {
		m.Registry.MustRegister(&migrationStates{store: store})
	}
	return m
}

// SetWorker records whether this process is the worker.
func (m *Metrics) SetWorker(isWorker bool) {
	if isWorker {
		m.Worker.Set(1)
	} else {
		m.Worker.Set(0)
	}
}

// SetDegraded records whether the database refuses this process's writes.
func (m *Metrics) SetDegraded(degraded bool) {
	if degraded {
		m.DBDegraded.Set(1)
	} else {
		m.DBDegraded.Set(0)
	}
}

// PartnerCenterCall counts one Partner Center attempt.
func (m *Metrics) PartnerCenterCall(status int, throttled bool) {
	m.PCCalls.WithLabelValues(strconv.Itoa(status)).Inc()
	if throttled {
		m.PCThrottled.Inc()
	}
}

// migrationStates reports how many migrations are in each state, read from
// the store when scraped so it is right after a restart too.
type migrationStates struct{ store bot.Store }

var migrationsDesc = prometheus.NewDesc("kaizalabot_migrations", "Migrations by state.", []string{"state"}, nil)

func (c *migrationStates) Describe(ch chan<- *prometheus.Desc) { ch <- migrationsDesc }

func (c *migrationStates) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ms, err := c.store.ListMigrations(ctx, bot.MigrationFilter{})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(migrationsDesc, err)
		return
	}
	counts := map[bot.State]int{}
	for _, s := range bot.States() {
		counts[s] = 0
	}
	for _, m := range ms {
		counts[m.State]++
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(migrationsDesc, prometheus.GaugeValue, float64(n), string(s))
	}
}
