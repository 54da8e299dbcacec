package attachment

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestDetachmentsOnRelabel(t *testing.T) {
	objs := index(sharedGateway(), gateway("careers", "own", listener("http", 80, gatewayv1.HTTPProtocolType)),
		namespace("careers", "shared-gateway-access", "true"))
	attached := route(KindHTTPRoute, "careers", "web", nil, parentRef("", "own"), parentRef("infra-ns", "shared-gateway"))
	neverAttached := route(KindHTTPRoute, "careers", "stray", nil, parentRef("infra-ns", "shared-gateway", section("missing")))
	routes := []*Route{attached, neverAttached}

	dets := Detachments(routes, objs, objs.WithNamespaceLabels("careers", labels.Set{}))
	require.Len(t, dets, 1, "only the parentRef accepted before and not after")
	assert.Same(t, attached, dets[0].Route)
	assert.Equal(t, 1, dets[0].After.Index)
	assert.Equal(t, gatewayv1.RouteReasonNotAllowedByListeners, dets[0].After.Reason)

	assert.Empty(t, Detachments(routes, objs, objs.WithNamespaceLabels("careers", labels.Set{"shared-gateway-access": "true", "x": "y"})),
		"a label change that keeps the match detaches nothing")
}

func TestDetachmentsOnGatewayChange(t *testing.T) {
	objs := index(sharedGateway(hostname("*.example.com")), namespace("careers", "shared-gateway-access", "true"))
	r := route(KindHTTPRoute, "careers", "web", []string{"careers.example.com"}, parentRef("infra-ns", "shared-gateway"))
	key := types.NamespacedName{Namespace: "infra-ns", Name: "shared-gateway"}

	narrowed := objs.WithGateway(key, NewGateway(sharedGateway(hostname("*.internal.example.com"))))
	dets := Detachments([]*Route{r}, objs, narrowed)
	require.Len(t, dets, 1)
	assert.Equal(t, gatewayv1.RouteReasonNoMatchingListenerHostname, dets[0].After.Reason)

	deleted := objs.WithGateway(key, nil)
	dets = Detachments([]*Route{r}, objs, deleted)
	require.Len(t, dets, 1, "a deleted Gateway detaches its routes")
	assert.Equal(t, gatewayv1.RouteReasonPending, dets[0].After.Reason)
}

func TestGrants(t *testing.T) {
	selector := sharedGateway()
	off := sharedGateway()
	off.Name = "unmanaged"
	off.Annotations = map[string]string{EnforcementAnnotation: "off"}
	open := gateway("infra-ns", "open", listener("http", 80, gatewayv1.HTTPProtocolType, from(gatewayv1.NamespacesFromAll)))
	gateways := []*Gateway{NewGateway(selector), NewGateway(off), NewGateway(open)}
	access := labels.Set{"shared-gateway-access": "true"}

	grants := Grants(gateways, "hr", labels.Set{}, access)
	require.Len(t, grants, 1, "only the governed Selector listener that newly matches")
	assert.Equal(t, "Gateway infra-ns/shared-gateway", grants[0].Gateway.String())
	assert.Equal(t, gatewayv1.SectionName("http"), grants[0].Listener.Name)

	assert.Len(t, Grants(gateways, "hr", nil, access), 1, "a new Namespace with the label is a grant")
	assert.Empty(t, Grants(gateways, "hr", nil, labels.Set{}), "a new Namespace without it is not")
	assert.Empty(t, Grants(gateways, "hr", access, labels.Set{}), "removing access is never a grant")
	assert.Empty(t, Grants(gateways, "hr", access, labels.Set{"shared-gateway-access": "true", "team": "hr"}),
		"a namespace that already matched is not granted again")
}

func TestDecideUpdateDeniesOnlyWhatTheUpdateCaused(t *testing.T) {
	objs := index(sharedGateway(), gateway("hr", "own", listener("http", 80, gatewayv1.HTTPProtocolType)), namespace("hr"))
	rejected := route(KindHTTPRoute, "hr", "hr", nil, parentRef("infra-ns", "shared-gateway"))
	own := route(KindHTTPRoute, "hr", "hr", nil, parentRef("", "own"))
	ownPlusShared := route(KindHTTPRoute, "hr", "hr", nil, parentRef("", "own"), parentRef("infra-ns", "shared-gateway"))

	d := DecideUpdate(Evaluate(rejected, objs), Evaluate(rejected, objs), ModeDeny)
	assert.Equal(t, VerdictWarn, d.Verdict, "an unchanged rejected parentRef is not denied")
	require.Len(t, d.Warnings, 1)
	assert.Contains(t, d.Warnings[0], msgPreexisting)

	d = DecideUpdate(Evaluate(own, objs), Evaluate(ownPlusShared, objs), ModeDeny)
	assert.Equal(t, VerdictDeny, d.Verdict, "a parentRef the update adds is denied")
	require.Len(t, d.Denials, 1)
	assert.Equal(t, "spec.parentRefs[1]", d.Denials[0].Field)
}
