package hub

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the hub's Prometheus metrics, under JupyterHub's names where
// JupyterHub has one, so that existing dashboards keep working.
type metrics struct {
	registry     *prometheus.Registry // nil when the caller gave a Registerer
	users        prometheus.Gauge
	running      prometheus.Gauge
	spawn        *prometheus.HistogramVec
	stop         *prometheus.HistogramVec
	poll         prometheus.Histogram
	requests     *prometheus.HistogramVec
	startup      prometheus.Gauge
	spawnRefused *prometheus.CounterVec
}

// The buckets of JupyterHub's spawn and stop histograms.
var opBuckets = []float64{0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 180, 300, 600}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		users: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jupyterhub_total_users", Help: "Total number of users"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jupyterhub_running_servers", Help: "The number of user servers currently running"}),
		spawn: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "jupyterhub_server_spawn_duration_seconds", Help: "Time taken for server spawning operation",
			Buckets: opBuckets}, []string{"status"}),
		stop: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "jupyterhub_server_stop_seconds", Help: "Time taken for server stopping operation",
			Buckets: opBuckets}, []string{"status"}),
		poll: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "jupyterhub_server_poll_duration_seconds", Help: "Time taken to poll if server is running"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "jupyterhub_request_duration_seconds", Help: "Request duration for all HTTP requests"},
			[]string{"method", "handler", "code"}),
		startup: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hubkit_hub_startup_duration_seconds", Help: "Time the hub's start-up checks took"}),
		spawnRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hubkit_spawns_refused_total", Help: "Starts refused by a limit"}, []string{"reason"}),
	}
	if reg == nil {
		m.registry = prometheus.NewRegistry()
		reg = m.registry
	}
	for _, c := range []prometheus.Collector{m.users, m.running, m.spawn, m.stop, m.poll, m.requests, m.startup, m.spawnRefused} {
		if err := reg.Register(c); err != nil {
			return nil, errors.New("hub: registering metrics: " + err.Error())
		}
	}
	return m, nil
}

func status(err error) string {
	if err != nil {
		return "failure"
	}
	return "success"
}

func (m *metrics) observeSpawn(err error, d time.Duration) {
	m.spawn.WithLabelValues(status(err)).Observe(d.Seconds())
}

func (m *metrics) observeStop(err error, d time.Duration) {
	m.stop.WithLabelValues(status(err)).Observe(d.Seconds())
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withMetrics times every request to the hub's own handler, labelled by
// the route pattern that served it (never the raw path: user names would
// make the label set unbounded).
func (h *Hub) withMetrics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		pattern := r.Pattern
		if _, p, ok := strings.Cut(pattern, " "); ok {
			pattern = p
		}
		if pattern == "" {
			pattern = "other"
		}
		h.metrics.requests.WithLabelValues(r.Method, pattern, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}
