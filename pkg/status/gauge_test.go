package status

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/metrics"
)

func result(parents ...attachment.ParentResult) attachment.RouteResult {
	return attachment.RouteResult{Parents: parents}
}

func parent(gw string, accepted metav1.ConditionStatus, reason gatewayv1.RouteConditionReason) attachment.ParentResult {
	return attachment.ParentResult{
		Ref:      attachment.ParentRef{Kind: attachment.KindGateway, Namespace: "gauge-test", Name: gw},
		Accepted: accepted, Reason: reason,
	}
}

func series(t *testing.T, gw, accepted, reason string) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, metrics.Routes.WithLabelValues("Gateway", "gauge-test", gw, accepted, reason).Write(&m))
	return m.GetGauge().GetValue()
}

func TestRouteGaugeMovesEachRouteBetweenSeries(t *testing.T) {
	g := newRouteGauge()
	a := routeKey{kind: attachment.KindHTTPRoute, NamespacedName: types.NamespacedName{Namespace: "team", Name: "a"}}
	b := routeKey{kind: attachment.KindGRPCRoute, NamespacedName: types.NamespacedName{Namespace: "team", Name: "a"}}

	g.set(a, result(parent("one", metav1.ConditionTrue, "Accepted"), parent("two", metav1.ConditionTrue, "Accepted")))
	g.set(b, result(parent("one", metav1.ConditionTrue, "Accepted")))
	assert.InDelta(t, 2, series(t, "one", "True", "Accepted"), 0, "routes of two kinds with the same name count apart")
	assert.InDelta(t, 1, series(t, "two", "True", "Accepted"), 0)

	g.set(a, result(parent("one", metav1.ConditionFalse, "NotAllowedByListeners"), parent("two", metav1.ConditionTrue, "Accepted")))
	g.set(a, result(parent("one", metav1.ConditionFalse, "NotAllowedByListeners"), parent("two", metav1.ConditionTrue, "Accepted")))
	assert.InDelta(t, 1, series(t, "one", "True", "Accepted"), 0)
	assert.InDelta(t, 1, series(t, "one", "False", "NotAllowedByListeners"), 0, "the same result twice counts once")
	assert.InDelta(t, 1, series(t, "two", "True", "Accepted"), 0)

	g.set(b, result(parent("one", metav1.ConditionUnknown, "NoMatchingParent")))
	assert.InDelta(t, 0, series(t, "one", "True", "Accepted"), 0, "an unknown parent is not counted")
	assert.NotContains(t, g.routes, b)

	g.forget(a)
	assert.InDelta(t, 0, series(t, "one", "False", "NotAllowedByListeners"), 0)
	assert.InDelta(t, 0, series(t, "two", "True", "Accepted"), 0)
	assert.Empty(t, g.routes)
}
