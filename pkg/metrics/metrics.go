// Package metrics holds gatewarden's Prometheus metrics, registered with
// controller-runtime's registry so that the manager's /metrics serves them.
// It only counts; it decides nothing.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

var (
	// AdmissionDecisions counts admissions of routes and ListenerSets by
	// kind, verdict and the Gateway API reason of the first parentRef that
	// was not accepted ("Accepted" when all were), or of a ListenerSet's
	// Accepted condition.
	AdmissionDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatewarden_admission_decisions_total",
		Help: "Admissions of routes and ListenerSets, by kind, verdict (allow, warn, deny) and reason.",
	}, []string{"kind", "verdict", "reason"})

	// EvaluationDuration is the time an admission took to decide, reads
	// included.
	EvaluationDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatewarden_admission_evaluation_duration_seconds",
		Help:    "Time to decide a route admission, reading the objects it needs included.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"kind"})

	// ConfirmationReads counts the reads of a Gateway's or a ListenerSet's
	// metadata before a denial by kind and by what answered: "list", a list
	// by name in time; "list-late", one that answered after a GET was sent
	// to race it; "hedge", the GET that won the race; "get", a GET alone,
	// made while lists keep losing (pkg/cluster, readByName). Many hedges
	// and GETs mean the API server's watch cache keeps confirmations waiting
	// on etcd.
	ConfirmationReads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatewarden_confirmation_reads_total",
		Help: "Reads of a Gateway's or ListenerSet's metadata before a denial, by kind and by what answered (list, list-late, hedge, get).",
	}, []string{"kind", "answer"})

	// Routes is the number of route parentRefs to each parent (a Gateway or
	// a ListenerSet) by whether it accepts them, as the status reconciler
	// last evaluated them.
	Routes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gatewarden_routes",
		Help: "Route parentRefs per parent (Gateway or ListenerSet), by accepted (True, False) and reason, as last evaluated by the status reconciler.",
	}, []string{"parent_kind", "parent_namespace", "parent", "accepted", "reason"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(AdmissionDecisions, EvaluationDuration, ConfirmationReads, Routes)
}

// ObserveAdmission records one route or ListenerSet admission.
func ObserveAdmission(kind gatewayv1.Kind, d attachment.Decision, elapsed time.Duration) {
	AdmissionDecisions.WithLabelValues(string(kind), string(d.Verdict), d.Reason).Inc()
	EvaluationDuration.WithLabelValues(string(kind)).Observe(elapsed.Seconds())
}
