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

// benchListenerSet has 16 HTTPS listeners of its own, each admitting routes
// from namespaces by label, on hostnames the Gateway's listeners do not use.
func benchListenerSet(ns, name string, age int) *gatewayv1.ListenerSet {
	var ls []gatewayv1.Listener
	for i := range 16 {
		ls = append(ls, listener(fmt.Sprintf("l%d", i), int32(9000+i), gatewayv1.HTTPSProtocolType,
			hostname(fmt.Sprintf("*.%s-%d.%s.example.com", name, i, ns)),
			selector(matchLabels("shared-gateway-access", "true"))))
	}
	return listenerSet(ns, name, age, "infra-ns", "gw-0", ls...)
}

// BenchmarkEvaluateThroughListenerSet: one route with a parentRef to the
// last of a ListenerSet's 16 listeners and one to its Gateway of 16.
// Target: under 5µs and 20 allocations, as through a Gateway.
func BenchmarkEvaluateThroughListenerSet(b *testing.B) {
	ix := NewIndex()
	gw := benchGateway("infra-ns", "gw-0")
	allowListeners(gatewayv1.NamespacesFromAll, nil)(gw)
	ix.AddGateway(gw)
	ix.AddListenerSet(benchListenerSet("team15", "set", 0))
	ix.AddNamespace(namespace("team15", "shared-gateway-access", "true", "tier", "gold"))
	r := route(KindHTTPRoute, "team15", "r", []string{"app.set-15.team15.example.com"},
		listenerSetRef("", "set", section("l15")),
		parentRef("infra-ns", "gw-0", section("l15")),
	)
	r.Hostnames = append(r.Hostnames, "www.team15.example.com")
	res := Evaluate(r, ix)
	for i := range res.Parents {
		if p := &res.Parents[i]; p.Accepted != metav1.ConditionTrue {
			b.Fatalf("the benchmark route must be accepted: %s", p.Message)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(r, ix)
	}
}

// BenchmarkJudgeListenerSet judges one ListenerSet of 16 listeners against
// the merged table of a Gateway that already has n ListenerSets, built once
// beforehand as pkg/cluster keeps it per Gateway version. Target: the same
// cost for 10 and for 1,000 ListenerSets.
func BenchmarkJudgeListenerSet(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("listenersets=%d", n), func(b *testing.B) {
			gw := benchGateway("infra-ns", "gw-0")
			allowListeners(gatewayv1.NamespacesFromSelector, matchLabels("listener-sets", "true"))(gw)
			g := NewGateway(gw)
			ix := NewIndex()
			var sets []*ListenerSet
			for i := range n {
				ns := fmt.Sprintf("team%d", i)
				ix.SetNamespaceLabels(ns, map[string]string{"listener-sets": "true"})
				sets = append(sets, NewListenerSet(benchListenerSet(ns, "set", i)))
			}
			table := NewListenerTable(g, sets, ix)
			ix.SetNamespaceLabels("new", map[string]string{"listener-sets": "true"})
			candidate := NewListenerSet(benchListenerSet("new", "set", n+1))
			if j := table.Judge(candidate, ix); j.Attachment.Accepted != metav1.ConditionTrue {
				b.Fatalf("the benchmark ListenerSet must be accepted: %s", j.Attachment.Message)
			}
			b.ReportAllocs()
			for b.Loop() {
				table.Judge(candidate, ix)
			}
		})
	}
}
