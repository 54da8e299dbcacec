package cluster

import (
	"context"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

func scheme(t testing.TB) *runtime.Scheme {
	s := runtime.NewScheme()
	require.NoError(t, corev1.AddToScheme(s))
	require.NoError(t, gatewayv1.Install(s))
	return s
}

func sharedGateway() *gatewayv1.Gateway {
	return &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra-ns", Name: "shared-gateway", UID: "gw-uid"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "example", Listeners: []gatewayv1.Listener{{
			Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType,
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{
				From:     ptr.To(gatewayv1.NamespacesFromSelector),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"access": "true"}},
			}},
		}}},
	}
}

func careersRoute() *attachment.Route {
	return &attachment.Route{Kind: attachment.KindHTTPRoute, Namespace: "careers", Name: "careers",
		ParentRefs: []gatewayv1.ParentReference{{Name: "shared-gateway", Namespace: ptr.To(gatewayv1.Namespace("infra-ns"))}}}
}

// countingLive counts the reads that reach the API server.
func countingLive(t *testing.T, objs ...client.Object) (client.Client, *atomic.Int32) {
	var n atomic.Int32
	c := withNames(fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...)).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			n.Add(1)
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			n.Add(1)
			return c.List(ctx, list, opts...)
		},
	}).Build()
	return c, &n
}

// A cache that has not seen the Namespace's new label yet would reject the
// route; the live read sees the label and accepts it.
func TestObjectsForLiveSeesWhatTheCacheMissed(t *testing.T) {
	stale := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "careers", ResourceVersion: "1"}}
	fresh := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "careers", ResourceVersion: "2", Labels: map[string]string{"access": "true"}}}
	cache := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(sharedGateway(), stale).Build()
	live, reads := countingLive(t, sharedGateway(), fresh)
	r := NewReader(cache, live, Options{GrantV1: true})
	ctx := context.Background()

	objs, err := r.ObjectsFor(ctx, careersRoute(), false)
	require.NoError(t, err)
	assert.Equal(t, metav1.ConditionFalse, attachment.Evaluate(careersRoute(), objs).Parents[0].Accepted, "the cache alone rejects")
	assert.Zero(t, reads.Load(), "an answer from the cache reads nothing live")

	objs, err = r.ObjectsFor(ctx, careersRoute(), true)
	require.NoError(t, err)
	assert.Equal(t, metav1.ConditionTrue, attachment.Evaluate(careersRoute(), objs).Parents[0].Accepted, "the live read accepts")
	assert.Equal(t, int32(3), reads.Load(), "the metadata of the Namespace and the Gateway, and the Namespace whole: its version is not the cache's")

	_, err = r.ObjectsFor(ctx, careersRoute(), true)
	require.NoError(t, err)
	assert.Equal(t, int32(6), reads.Load(), "a second rejection reads again: the first read may predate a write made since")
}

func TestObjectsForCacheMissReadsLive(t *testing.T) {
	cache := fake.NewClientBuilder().WithScheme(scheme(t)).Build()
	live, reads := countingLive(t, sharedGateway())
	r := NewReader(cache, live, Options{GrantV1: true})
	objs, err := r.ObjectsFor(context.Background(), careersRoute(), false)
	require.NoError(t, err)
	assert.NotNil(t, objs.Gateway(types.NamespacedName{Namespace: "infra-ns", Name: "shared-gateway"}),
		"a Gateway the cache has not seen yet is read live")
	assert.Equal(t, int32(2), reads.Load())

	gw, err := r.Gateway(context.Background(), types.NamespacedName{Namespace: "infra-ns", Name: "missing"}, true)
	require.NoError(t, err)
	assert.Nil(t, gw, "a Gateway that does not exist is nil, not an error")
}

func TestPrepareIsMemoizedByResourceVersion(t *testing.T) {
	r := NewReader(nil, nil, Options{GrantV1: true})
	gw := sharedGateway()
	gw.ResourceVersion = "1"
	first := r.Prepare(gw)
	assert.Same(t, first, r.Prepare(gw), "the same version is prepared once")
	gw2 := gw.DeepCopy()
	gw2.ResourceVersion = "2"
	assert.NotSame(t, first, r.Prepare(gw2), "a new version is prepared again")
}

func TestTrimRouteKeepsWhatTheEvaluatorReads(t *testing.T) {
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "r", Annotations: map[string]string{"big": "x"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{"shop.example.com"},
			Rules: []gatewayv1.HTTPRouteRule{{
				Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/")}}},
				Filters: []gatewayv1.HTTPRouteFilter{
					{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier, RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{}},
					{Type: gatewayv1.HTTPRouteFilterRequestMirror, RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{
						BackendRef: gatewayv1.BackendObjectReference{Name: "shadow", Namespace: ptr.To(gatewayv1.Namespace("search"))},
						Percent:    ptr.To(int32(10)),
					}},
				},
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
					Name: "checkout", Namespace: ptr.To(gatewayv1.Namespace("payments")),
				}}}},
			}},
		},
		Status: gatewayv1.HTTPRouteStatus{RouteStatus: gatewayv1.RouteStatus{Parents: []gatewayv1.RouteParentStatus{{ControllerName: "x"}}}},
	}
	before := attachment.FromHTTPRoute(route.DeepCopy())
	out, err := TrimRoute(route)
	require.NoError(t, err)
	trimmed := out.(*gatewayv1.HTTPRoute)

	assert.Nil(t, trimmed.ManagedFields)
	assert.Nil(t, trimmed.Annotations)
	assert.Nil(t, trimmed.Spec.Rules[0].Matches)
	require.Len(t, trimmed.Spec.Rules[0].Filters, 2, "filters keep their places, so that field paths stay right")
	assert.Nil(t, trimmed.Spec.Rules[0].Filters[0].RequestHeaderModifier)
	assert.Nil(t, trimmed.Spec.Rules[0].Filters[1].RequestMirror.Percent)
	assert.Len(t, trimmed.Status.Parents, 1, "status stays: the reconciler must see other controllers' entries")
	after := attachment.FromHTTPRoute(trimmed)
	assert.Equal(t, before.ParentRefs, after.ParentRefs)
	assert.Equal(t, before.Hostnames, after.Hostnames)
	assert.Equal(t, before.BackendRefs, after.BackendRefs, "the evaluator sees the same backend references")
}

func TestTrimRouteSharesStrings(t *testing.T) {
	mk := func() *gatewayv1.HTTPRoute {
		return &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "r", Labels: map[string]string{"app": "shop"}},
			Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{
				Group: ptr.To(gatewayv1.Group(gatewayv1.GroupName)), Kind: ptr.To(gatewayv1.Kind("Gateway")),
				Namespace: ptr.To(gatewayv1.Namespace("infra")), Name: "gw",
			}}}},
			Status: gatewayv1.HTTPRouteStatus{RouteStatus: gatewayv1.RouteStatus{Parents: []gatewayv1.RouteParentStatus{{
				ControllerName: "gatewarden.dev/attachment",
				Conditions:     []metav1.Condition{{Type: "Accepted", Status: "True", Reason: "Accepted", Message: "Accepted by Gateway infra/gw"}},
			}}}},
		}
	}
	a, err := TrimRoute(mk())
	require.NoError(t, err)
	b, err := TrimRoute(mk())
	require.NoError(t, err)
	ra, rb := a.(*gatewayv1.HTTPRoute), b.(*gatewayv1.HTTPRoute)
	assert.Same(t, ra.Spec.ParentRefs[0].Group, rb.Spec.ParentRefs[0].Group, "well-known groups share one pointer")
	assert.Same(t, ra.Spec.ParentRefs[0].Kind, rb.Spec.ParentRefs[0].Kind)
	assert.Equal(t, unsafe.StringData(ra.Status.Parents[0].Conditions[0].Message), unsafe.StringData(rb.Status.Parents[0].Conditions[0].Message),
		"identical condition messages share their bytes")
	assert.Nil(t, ra.Labels)
	assert.Equal(t, mk().Spec.ParentRefs, ra.Spec.ParentRefs, "interning keeps every value")
}
