package attachment

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
)

func grant(ns string, from []gatewayv1.ReferenceGrantFrom, to []gatewayv1.ReferenceGrantTo) *gatewayv1.ReferenceGrant {
	return &gatewayv1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "grant"},
		Spec:       gatewayv1.ReferenceGrantSpec{From: from, To: to},
	}
}

func fromRoute(kind gatewayv1.Kind, ns string) []gatewayv1.ReferenceGrantFrom {
	return []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: kind, Namespace: gatewayv1.Namespace(ns)}}
}

func toServices(name string) []gatewayv1.ReferenceGrantTo {
	to := gatewayv1.ReferenceGrantTo{Group: "", Kind: "Service"}
	if name != "" {
		to.Name = ptr.To(gatewayv1.ObjectName(name))
	}
	return []gatewayv1.ReferenceGrantTo{to}
}

func httpRouteTo(ns string, backendNS *string, filters ...gatewayv1.HTTPRouteFilter) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "r"},
		Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{{
			Filters: filters,
			BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
				Name: "api", Port: ptr.To(gatewayv1.PortNumber(8080)), Namespace: (*gatewayv1.Namespace)(backendNS),
			}}}},
		}}},
	}
}

func TestReferenceGrants(t *testing.T) {
	billing := ptr.To("billing")
	tests := []struct {
		name     string
		route    *gatewayv1.HTTPRoute
		grants   []*gatewayv1.ReferenceGrant
		problems []string // field paths of the problems
	}{
		{name: "same namespace needs no grant", route: httpRouteTo("careers", nil)},
		{name: "explicit same namespace needs no grant", route: httpRouteTo("careers", ptr.To("careers"))},
		{name: "cross namespace without grant", route: httpRouteTo("careers", billing), problems: []string{"spec.rules[0].backendRefs[0]"}},
		{
			name: "grant for the route's kind and namespace, any Service", route: httpRouteTo("careers", billing),
			grants: []*gatewayv1.ReferenceGrant{grant("billing", fromRoute(KindHTTPRoute, "careers"), toServices(""))},
		},
		{
			name: "grant naming the Service", route: httpRouteTo("careers", billing),
			grants: []*gatewayv1.ReferenceGrant{grant("billing", fromRoute(KindHTTPRoute, "careers"), toServices("api"))},
		},
		{
			name: "grant naming another Service", route: httpRouteTo("careers", billing),
			grants:   []*gatewayv1.ReferenceGrant{grant("billing", fromRoute(KindHTTPRoute, "careers"), toServices("db"))},
			problems: []string{"spec.rules[0].backendRefs[0]"},
		},
		{
			name: "grant from another namespace", route: httpRouteTo("careers", billing),
			grants:   []*gatewayv1.ReferenceGrant{grant("billing", fromRoute(KindHTTPRoute, "hr"), toServices(""))},
			problems: []string{"spec.rules[0].backendRefs[0]"},
		},
		{
			name: "grant from another route kind", route: httpRouteTo("careers", billing),
			grants:   []*gatewayv1.ReferenceGrant{grant("billing", fromRoute(KindGRPCRoute, "careers"), toServices(""))},
			problems: []string{"spec.rules[0].backendRefs[0]"},
		},
		{
			name: "grant in the wrong namespace (the route's, not the target's)", route: httpRouteTo("careers", billing),
			grants:   []*gatewayv1.ReferenceGrant{grant("careers", fromRoute(KindHTTPRoute, "careers"), toServices(""))},
			problems: []string{"spec.rules[0].backendRefs[0]"},
		},
		{
			name: "grant to another kind", route: httpRouteTo("careers", billing),
			grants: []*gatewayv1.ReferenceGrant{grant("billing", fromRoute(KindHTTPRoute, "careers"),
				[]gatewayv1.ReferenceGrantTo{{Group: "", Kind: "Secret"}})},
			problems: []string{"spec.rules[0].backendRefs[0]"},
		},
		{
			name: "request mirror to another namespace is checked too",
			route: httpRouteTo("careers", nil, gatewayv1.HTTPRouteFilter{
				Type: gatewayv1.HTTPRouteFilterRequestMirror,
				RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{BackendRef: gatewayv1.BackendObjectReference{
					Name: "shadow", Namespace: ptr.To(gatewayv1.Namespace("billing")),
				}},
			}),
			problems: []string{"spec.rules[0].filters[0].requestMirror.backendRef"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := NewIndex()
			for _, g := range tt.grants {
				ix.AddReferenceGrant(g)
			}
			res := Evaluate(FromHTTPRoute(tt.route), ix)
			var paths []string
			for _, p := range res.RefProblems {
				paths = append(paths, p.Path.String())
				assert.Equal(t, gatewayv1.RouteReasonRefNotPermitted, p.Reason)
			}
			assert.Equal(t, tt.problems, paths)
		})
	}
}

func TestReferenceGrantV1beta1(t *testing.T) {
	beta := &gatewayv1beta1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: "billing", Name: "g"},
		Spec:       gatewayv1beta1.ReferenceGrantSpec{From: fromRoute(KindHTTPRoute, "careers"), To: toServices("")},
	}
	ix := NewIndex()
	ix.AddReferenceGrant((*gatewayv1.ReferenceGrant)(beta))
	res := Evaluate(FromHTTPRoute(httpRouteTo("careers", ptr.To("billing"))), ix)
	assert.Empty(t, res.RefProblems)
}

func TestRefNotPermittedNeverRejectsTheParent(t *testing.T) {
	r := httpRouteTo("careers", ptr.To("billing"))
	r.Spec.ParentRefs = []gatewayv1.ParentReference{parentRef("infra-ns", "shared-gateway")}
	objs := index(sharedGateway(), namespace("careers", "shared-gateway-access", "true"))
	res := Evaluate(FromHTTPRoute(r), objs)
	require.Len(t, res.RefProblems, 1)
	assert.Equal(t, metav1.ConditionTrue, res.Parents[0].Accepted)
	assert.Equal(t, `Service billing/api is in another namespace and no ReferenceGrant in "billing" allows HTTPRoute from "careers" to use it, `+
		`so it gets no traffic. Ask the owners of "billing" to create one.`, res.RefProblems[0].Message)

	d := Decide(res, ModeDeny)
	assert.Equal(t, VerdictWarn, d.Verdict)
	assert.Empty(t, d.Denials)
	assert.Equal(t, []string{"spec.rules[0].backendRefs[0]: " + res.RefProblems[0].Message}, d.Warnings)
}
