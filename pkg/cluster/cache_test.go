package cluster

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// storedMeta is the metadata the API server stores on every object, and
// what of it the cache keeps: name, namespace, uid, resourceVersion,
// generation.
func storedMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace: ns, Name: name, UID: types.UID("uid-" + name), ResourceVersion: "42", Generation: 3,
		GenerateName:    "gen-",
		Labels:          map[string]string{"app": name},
		Annotations:     map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "owner-uid"}},
		Finalizers:      []string{"example.com/cleanup"},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}
}

func assertKeptMeta(t *testing.T, o metav1.Object) {
	t.Helper()
	assert.Equal(t, "uid-"+o.GetName(), string(o.GetUID()), "events name the object by its uid")
	assert.Equal(t, "42", o.GetResourceVersion(), "status patches are conditional on it")
	assert.Equal(t, int64(3), o.GetGeneration(), "observedGeneration")
	assert.Empty(t, o.GetGenerateName())
	assert.Nil(t, o.GetOwnerReferences())
	assert.Nil(t, o.GetFinalizers())
	assert.Nil(t, o.GetManagedFields())
}

func TestTrimRouteDropsRulesWithoutReferencesIntoOtherNamespaces(t *testing.T) {
	route := routeNamed("careers", "jobs")
	route.ObjectMeta = storedMeta("careers", "jobs")
	route.Spec.Rules = append(route.Spec.Rules, gatewayv1.HTTPRouteRule{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{Name: "same", Namespace: ptr.To(gatewayv1.Namespace("careers"))},
	}}}})
	before := attachment.FromHTTPRoute(route.DeepCopy())
	require.False(t, before.RefersToOtherNamespaces())

	_, err := TrimRoute(route)
	require.NoError(t, err)
	assert.Nil(t, route.Spec.Rules, "no ReferenceGrant decides anything of this route: its rules are not read")
	assertKeptMeta(t, route)
	assert.Nil(t, route.Labels)
	assert.Nil(t, route.Annotations)
	assert.Len(t, route.Status.Parents, 1, "other controllers' entries stay")
	after := attachment.FromHTTPRoute(route)
	assert.Equal(t, before.ParentRefs, after.ParentRefs)
	assert.Equal(t, before.Hostnames, after.Hostnames)
}

func TestTrimRouteKeepsEveryRuleInPlaceForAReferenceIntoAnotherNamespace(t *testing.T) {
	route := routeNamed("careers", "jobs")
	route.Spec.Rules = append(route.Spec.Rules, gatewayv1.HTTPRouteRule{
		Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/search")}}},
		BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: "search", Namespace: ptr.To(gatewayv1.Namespace("search"))},
		}}},
	})
	before := attachment.FromHTTPRoute(route.DeepCopy())

	_, err := TrimRoute(route)
	require.NoError(t, err)
	require.Len(t, route.Spec.Rules, 2, "field paths count rules: they all stay")
	assert.Nil(t, route.Spec.Rules[1].Matches)
	after := attachment.FromHTTPRoute(route)
	assert.Equal(t, before.BackendRefs, after.BackendRefs, "the same references at the same paths")
	assert.Equal(t, "spec.rules[1].backendRefs[0]", after.BackendRefs[1].Path.String())
}

func TestTrimGatewayKeepsWhatTheEvaluatorReads(t *testing.T) {
	gw := sharedGateway()
	gw.ObjectMeta = storedMeta("infra-ns", "shared-gateway")
	gw.Annotations[attachment.EnforcementAnnotation] = "warn"
	gw.Spec.Addresses = []gatewayv1.GatewaySpecAddress{{Value: "10.0.0.1"}}
	gw.Spec.Listeners = append(gw.Spec.Listeners,
		gatewayv1.Listener{Name: "tls", Port: 443, Protocol: gatewayv1.TLSProtocolType, Hostname: ptr.To(gatewayv1.Hostname("*.example.com")),
			TLS: &gatewayv1.ListenerTLSConfig{
				Mode:            ptr.To(gatewayv1.TLSModeTerminate),
				CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "cert"}},
				Options:         map[gatewayv1.AnnotationKey]gatewayv1.AnnotationValue{"example.com/cipher": "x"},
			}},
		gatewayv1.Listener{Name: "passthrough", Port: 8443, Protocol: gatewayv1.TLSProtocolType,
			TLS: &gatewayv1.ListenerTLSConfig{Mode: ptr.To(gatewayv1.TLSModePassthrough)},
			AllowedRoutes: &gatewayv1.AllowedRoutes{
				Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromSelector), Selector: &metav1.LabelSelector{
					MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"gold"}}},
				}},
				Kinds: []gatewayv1.RouteGroupKind{{Kind: "TLSRoute"}},
			}})
	gw.Spec.AllowedListeners = &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}
	gw.Status.Conditions = []metav1.Condition{{Type: "Programmed", Status: metav1.ConditionTrue}}
	before := gw.DeepCopy()

	_, err := trimGateway(gw)
	require.NoError(t, err)
	assertKeptMeta(t, gw)
	assert.Equal(t, map[string]string{attachment.EnforcementAnnotation: "warn"}, gw.Annotations, "the one annotation the evaluator reads")
	assert.Nil(t, gw.Labels)
	assert.Empty(t, gw.Spec.Addresses)
	assert.Empty(t, gw.Spec.GatewayClassName)
	assert.Empty(t, gw.Status.Conditions, "the implementation's status is not read")
	assert.Equal(t, &gatewayv1.ListenerTLSConfig{Mode: ptr.To(gatewayv1.TLSModeTerminate)}, gw.Spec.Listeners[1].TLS,
		"the TLS mode decides the route kinds; a Gateway's certificates are its implementation's business")
	assert.Equal(t, before.Spec.AllowedListeners, gw.Spec.AllowedListeners)

	// The evaluator decides the same: listener by listener, and for
	// ListenerSets.
	want, got := attachment.NewGateway(before), attachment.NewGateway(gw)
	assert.Equal(t, want.Enforcement, got.Enforcement)
	assert.Equal(t, want.AllowedListeners.From, got.AllowedListeners.From)
	require.Len(t, got.Listeners, len(want.Listeners))
	for i := range want.Listeners {
		w, g := &want.Listeners[i], &got.Listeners[i]
		assert.Equal(t, w.Name, g.Name)
		assert.Equal(t, w.Hostname, g.Hostname)
		for _, kind := range []gatewayv1.Kind{attachment.KindHTTPRoute, attachment.KindTLSRoute, attachment.KindTCPRoute} {
			assert.Equal(t, w.AdmitsKind(kind), g.AdmitsKind(kind), "listener %s, kind %s", w.Name, kind)
		}
		for _, nsLabels := range []labels.Set{{"access": "true"}, {"tier": "gold"}, {}} {
			assert.Equal(t, w.AdmitsNamespace("team", nsLabels), g.AdmitsNamespace("team", nsLabels), "listener %s, labels %v", w.Name, nsLabels)
		}
	}
}

func TestTrimNamespaceKeepsItsLabels(t *testing.T) {
	ns := &corev1.Namespace{
		ObjectMeta: storedMeta("", "careers"),
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
	ns.Labels = map[string]string{corev1.LabelMetadataName: "careers", "shared-gateway-access": "true"}
	other := ns.DeepCopy()

	_, err := trimNamespace(ns)
	require.NoError(t, err)
	_, err = trimNamespace(other)
	require.NoError(t, err)
	assertKeptMeta(t, ns)
	assert.Equal(t, map[string]string{corev1.LabelMetadataName: "careers", "shared-gateway-access": "true"}, ns.Labels)
	assert.Nil(t, ns.Annotations)
	assert.Equal(t, corev1.NamespaceSpec{}, ns.Spec)
	assert.Equal(t, corev1.NamespaceStatus{}, ns.Status)
	assert.Equal(t, unsafe.StringData(ns.Name), unsafe.StringData(ns.Labels[corev1.LabelMetadataName]),
		"the name label shares the name's bytes")
	assert.Equal(t, unsafe.StringData(ns.Labels["shared-gateway-access"]), unsafe.StringData(other.Labels["shared-gateway-access"]),
		"label values repeat from one Namespace to the next: they are interned")
}
