package status

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/metrics"
)

// routeGauge keeps metrics.Routes equal to the last evaluation of every
// route: each route remembers the series it counted in, so that a new
// evaluation moves it from the old series to the new ones.
type routeGauge struct {
	mu     sync.Mutex
	series map[string][][5]string
}

func newRouteGauge() *routeGauge {
	return &routeGauge{series: map[string][][5]string{}}
}

func (g *routeGauge) set(route string, res attachment.RouteResult) {
	var now [][5]string
	for i := range res.Parents {
		p := &res.Parents[i]
		if p.Accepted == metav1.ConditionUnknown {
			continue
		}
		now = append(now, [5]string{string(p.Ref.Kind), p.Ref.Namespace, p.Ref.Name, string(p.Accepted), string(p.Reason)})
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.move(g.series[route], now)
	if len(now) == 0 {
		delete(g.series, route)
		return
	}
	g.series[route] = now
}

func (g *routeGauge) forget(route string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.move(g.series[route], nil)
	delete(g.series, route)
}

func (g *routeGauge) move(from, to [][5]string) {
	for _, s := range from {
		metrics.Routes.WithLabelValues(s[:]...).Dec()
	}
	for _, s := range to {
		metrics.Routes.WithLabelValues(s[:]...).Inc()
	}
}
