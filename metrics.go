package cleantalk

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// The collectors live for the whole process and are registered again with
// each config's registry, because Caddy makes a new registry on every load.
var (
	checksTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "checks_total",
		Help: "Form submissions checked, by form type, verdict (allow, spam, unchecked) and source (local, cloud, error).",
	}, []string{"type", "verdict", "source"})

	checkDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "cloud_check_duration_seconds",
		Help:    "Time taken by CleanTalk cloud checks, by form type.",
		Buckets: []float64{.025, .05, .1, .2, .35, .5, .75, 1, 1.5, 2, 3, 5},
	}, []string{"type"})

	cloudErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "cloud_errors_total",
		Help: "Calls to the CleanTalk cloud that failed, by kind.",
	}, []string{"kind"})

	firewallRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "firewall_requests_total",
		Help: "Requests from blacklisted addresses, by result: blocked, or passed with a valid pass cookie.",
	}, []string{"result"})

	crawlerRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "anticrawler_requests_total",
		Help: "Page views AntiCrawler decided, by result: blocked_ua, challenged, passed_challenge (right after the challenge), first_view.",
	}, []string{"result"})

	floodRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "antiflood_requests_total",
		Help: "Page views AntiFlood decided, by result: blocked (over the limit), passed (with the pass its page gives).",
	}, []string{"result"})

	firewallEntries = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "firewall_entries",
		Help: "Networks in the firewall table, by address family, source (common, personal, private) and list (black, white).",
	}, []string{"family", "source", "list"})

	firewallLastUpdate = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "firewall_last_update_timestamp_seconds",
		Help: "Unix time of the firewall data in use (when it was downloaded).",
	})

	firewallUpdateFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "firewall_update_failures_total",
		Help: "Firewall data downloads that failed; the last good table stayed in use.",
	})

	firewallStale = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "firewall_stale",
		Help: "1 when the firewall data is older than three update intervals and is not enforced.",
	})

	// A vector without labels, so that the series is absent until the key
	// has been checked (a plain gauge would read 0 from the start).
	keyValid = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "key_valid",
		Help: "1 when CleanTalk confirmed the access key and its service, 0 when it refused them; absent until checked.",
	}, nil)

	feedbackQueued = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "cleantalk", Name: "feedback_queued",
		Help: "Feedback items waiting to be sent to CleanTalk.",
	}, func() float64 {
		if a, err := runningApp(); err == nil && a.account != nil {
			return float64(a.account.pendingFeedback())
		}
		return 0
	})
)

var allCollectors = []prometheus.Collector{
	checksTotal, checkDuration, cloudErrors,
	firewallRequests, crawlerRequests, floodRequests, firewallEntries, firewallLastUpdate, firewallUpdateFailures, firewallStale,
	keyValid, feedbackQueued,
}

// metrics records what the module does; its methods are safe on a nil
// receiver-free zero value.
type metrics struct{}

func newMetrics(reg *prometheus.Registry, logger *zap.Logger) *metrics {
	if reg != nil {
		for _, c := range allCollectors {
			if err := reg.Register(c); err != nil {
				if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok {
					logger.Warn("registering metrics", zap.Error(err))
				}
			}
		}
	}
	return &metrics{}
}

func (*metrics) observeCheck(formType string, d time.Duration) {
	checkDuration.WithLabelValues(formType).Observe(d.Seconds())
}

func (*metrics) cloudError(kind string) { cloudErrors.WithLabelValues(kind).Inc() }

func (*metrics) countCheck(formType string, v *verdict) {
	result := "allow"
	switch {
	case v.failed():
		result = "unchecked"
	case !v.allow:
		result = "spam"
	}
	checksTotal.WithLabelValues(formType, result, v.source).Inc()
	counts.add(result)
}
