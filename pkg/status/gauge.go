package status

import (
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/metrics"
)

// routeGauge keeps metrics.Routes equal to the last evaluation of every
// route: each route remembers the series it counted in, so that a new
// evaluation moves it from the old series to the new ones. With tens of
// thousands of routes that memory counts: the labels of a series are kept
// once, and a route keeps the numbers of its series.
type routeGauge struct {
	mu     sync.Mutex
	routes map[routeKey][]uint32
	ids    map[gaugeSeries]uint32
	series []gaugeSeries
}

// routeKey names a route of any kind.
type routeKey struct {
	kind gatewayv1.Kind
	types.NamespacedName
}

// gaugeSeries are the label values of one series of metrics.Routes: the
// parent's kind, namespace and name, accepted and reason.
type gaugeSeries [5]string

func newRouteGauge() *routeGauge {
	return &routeGauge{routes: map[routeKey][]uint32{}, ids: map[gaugeSeries]uint32{}}
}

func (g *routeGauge) set(route routeKey, res attachment.RouteResult) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var buf [4]uint32
	now := buf[:0]
	for i := range res.Parents {
		p := &res.Parents[i]
		if p.Accepted == metav1.ConditionUnknown {
			continue
		}
		now = append(now, g.id(gaugeSeries{string(p.Ref.Kind), p.Ref.Namespace, p.Ref.Name, string(p.Accepted), string(p.Reason)}))
	}
	old := g.routes[route]
	if slices.Equal(old, now) {
		return
	}
	g.move(old, now)
	if len(now) == 0 {
		delete(g.routes, route)
		return
	}
	g.routes[route] = slices.Clone(now)
}

func (g *routeGauge) forget(route routeKey) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.move(g.routes[route], nil)
	delete(g.routes, route)
}

// id numbers a series the first time it is seen.
func (g *routeGauge) id(s gaugeSeries) uint32 {
	if id, ok := g.ids[s]; ok {
		return id
	}
	id := uint32(len(g.series))
	g.ids[s] = id
	g.series = append(g.series, s)
	return id
}

func (g *routeGauge) move(from, to []uint32) {
	for _, id := range from {
		metrics.Routes.WithLabelValues(g.series[id][:]...).Dec()
	}
	for _, id := range to {
		metrics.Routes.WithLabelValues(g.series[id][:]...).Inc()
	}
}
