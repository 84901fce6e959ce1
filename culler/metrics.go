package culler

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names. All are registered on Options.Registerer when it is set.
const (
	// MetricServersCulled counts servers the culler asked the hub to stop
	// (and the hub accepted, including "slow to stop"), by kind
	// ("default", "named") and reason ("inactive", "max_age").
	MetricServersCulled = "hubkit_culler_servers_culled_total"
	// MetricServersSlowToStop counts stops the hub answered with "still
	// stopping" (HTTP 202).
	MetricServersSlowToStop = "hubkit_culler_servers_slow_to_stop_total"
	// MetricUsersCulled counts users deleted, by reason.
	MetricUsersCulled = "hubkit_culler_users_culled_total"
	// MetricErrors counts errors by operation ("list", "stop", "remove",
	// "delete").
	MetricErrors = "hubkit_culler_errors_total"
	// MetricPassDuration is a histogram of the duration of passes.
	MetricPassDuration = "hubkit_culler_pass_duration_seconds"
	// MetricLastPass is the Unix time at which the last pass ended.
	MetricLastPass = "hubkit_culler_last_pass_timestamp_seconds"
)

type metrics struct {
	serversCulled *prometheus.CounterVec
	slowToStop    prometheus.Counter
	usersCulled   *prometheus.CounterVec
	errors        *prometheus.CounterVec
	passDuration  prometheus.Histogram
	lastPass      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		serversCulled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricServersCulled,
			Help: "Servers the idle culler stopped, by kind (default, named) and reason (inactive, max_age).",
		}, []string{"kind", "reason"}),
		slowToStop: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricServersSlowToStop,
			Help: "Stops the hub accepted but had not finished when it answered (HTTP 202).",
		}),
		usersCulled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricUsersCulled,
			Help: "Users the idle culler deleted, by reason (inactive, max_age).",
		}, []string{"reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricErrors,
			Help: "Errors of the idle culler, by operation (list, stop, remove, delete).",
		}, []string{"op"}),
		passDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    MetricPassDuration,
			Help:    "Duration of the idle culler's passes.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricLastPass,
			Help: "Unix time at which the idle culler's last pass ended.",
		}),
	}
	// Pre-create the label values so that the series exist (at zero) from
	// the start, which rate() and alerts need.
	for _, k := range []string{"default", "named"} {
		for _, r := range []Reason{ReasonInactive, ReasonMaxAge} {
			m.serversCulled.WithLabelValues(k, string(r))
		}
	}
	for _, r := range []Reason{ReasonInactive, ReasonMaxAge} {
		m.usersCulled.WithLabelValues(string(r))
	}
	for _, op := range []string{"list", "stop", "remove", "delete"} {
		m.errors.WithLabelValues(op)
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.serversCulled = register(reg, m.serversCulled, &err)
	m.slowToStop = register(reg, m.slowToStop, &err)
	m.usersCulled = register(reg, m.usersCulled, &err)
	m.errors = register(reg, m.errors, &err)
	m.passDuration = register(reg, m.passDuration, &err)
	m.lastPass = register(reg, m.lastPass, &err)
	if err != nil {
		return nil, fmt.Errorf("culler: registering metrics: %w", err)
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// the same description, so that cullers sharing a registry share metrics.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		if *errp == nil {
			*errp = err
		}
	}
	return c
}
