package attachment

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// benchGateway has 16 listeners: the route's sectionName picks the last one,
// and every listener selects on the namespace's labels, so the evaluator
// walks all of them and runs a selector on each selected one.
func benchGateway(ns, name string) *gatewayv1.Gateway {
	var ls []gatewayv1.Listener
	for i := range 16 {
		ls = append(ls, listener(fmt.Sprintf("l%d", i), int32(8000+i), gatewayv1.HTTPSProtocolType,
			hostname(fmt.Sprintf("*.team%d.example.com", i)),
			selector(&metav1.LabelSelector{
				MatchLabels: map[string]string{"shared-gateway-access": "true"},
				MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"gold", "silver"},
				}},
			})))
	}
	return gateway(ns, name, ls...)
}

func benchRoute() *Route {
	return route(KindHTTPRoute, "team15", "r", []string{"app.team15.example.com", "www.team15.example.com"},
		parentRef("infra-ns", "gw-0"),
		parentRef("infra-ns", "gw-1", section("l15")),
	)
}

func benchEvaluate(b *testing.B, ix *Index) {
	r := benchRoute()
	res := Evaluate(r, ix)
	for i := range res.Parents {
		p := &res.Parents[i]
		if p.Accepted != metav1.ConditionTrue {
			b.Fatalf("the benchmark route must be accepted: %s", p.Message)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(r, ix)
	}
}

// BenchmarkEvaluate: one route with 2 parentRefs, Gateways of 16 listeners.
// Target: under 5µs and 20 allocations on 2 cores.
func BenchmarkEvaluate(b *testing.B) {
	ix := NewIndex()
	ix.AddGateway(benchGateway("infra-ns", "gw-0"))
	ix.AddGateway(benchGateway("infra-ns", "gw-1"))
	ix.AddNamespace(namespace("team15", "shared-gateway-access", "true", "tier", "gold"))
	benchEvaluate(b, ix)
}

// BenchmarkEvaluateLargeCluster is the same route with 10,000 Namespaces and
// 1,000 Gateways in the input: lookups are by key, so it must cost the same.
func BenchmarkEvaluateLargeCluster(b *testing.B) {
	ix := NewIndex()
	for i := range 1000 {
		ix.AddGateway(benchGateway("infra-ns", fmt.Sprintf("gw-%d", i)))
	}
	for i := range 10000 {
		ix.AddNamespace(namespace(fmt.Sprintf("team%d", i), "shared-gateway-access", "true", "tier", "gold"))
	}
	benchEvaluate(b, ix)
}
