package api

import (
	"runtime"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, on a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// newMetrics registers the HTTP series, the Go runtime's and
// hyperlieu_build_info, a constant 1 whose labels say what is running.
func newMetrics(version string) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hyperlieu_http_requests_total", Help: "HTTP requests by method, route (from the route table, or unmatched) and status class (2xx, 4xx…).",
		}, []string{"method", "route", "status_class"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hyperlieu_http_request_duration_seconds", Help: "HTTP request latency by method, route and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route", "status_class"}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hyperlieu_build_info", Help: "Always 1; the labels say which version runs, built with which Go.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	m.reg.MustRegister(m.requests, m.latency, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	s := strconv.Itoa(status/100) + "xx" // status × route would multiply the series
	m.requests.WithLabelValues(method, route, s).Inc()
	m.latency.WithLabelValues(method, route, s).Observe(d.Seconds())
}

// Register adds collectors (outbox, location engine) to the /metrics registry.
func (s *Server) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.metrics.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// getMetrics handles GET /metrics.
func (s *Server) getMetrics() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
}
