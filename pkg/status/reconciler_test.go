package status

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// countingLimiter lets every write through at once, and counts them.
type countingLimiter struct {
	flowcontrol.RateLimiter
	waits atomic.Int32
}

func (l *countingLimiter) Wait(context.Context) error {
	l.waits.Add(1)
	return nil
}

func TestReconcilePacesOnlyTheWrites(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, corev1.AddToScheme(scheme))
	require.NoError(t, gatewayv1.Install(scheme))
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web", Generation: 1},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{
			ParentRefs: []gatewayv1.ParentReference{{Name: "gw", Namespace: ptr.To(gatewayv1.Namespace("infra"))}},
		}},
	}
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"},
		Spec: gatewayv1.GatewaySpec{Listeners: []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType,
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}}}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(route).
		WithObjects(route, gw, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}).Build()
	writes := &countingLimiter{}
	r := &Reconciler{
		Client: c, Reader: cluster.NewReader(c, c, cluster.Options{RouteTypes: attachment.RouteTypes, GrantV1: true}),
		Type: attachment.RouteTypes[0], ControllerName: me, Recorder: &events.FakeRecorder{},
		Writes: writes, gauge: newRouteGauge(), now: func() time.Time { return time.Unix(1000, 0) },
	}
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "team", Name: "web"}}

	_, err := r.Reconcile(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, int32(1), writes.waits.Load(), "the first status is a write")
	got := &gatewayv1.HTTPRoute{}
	require.NoError(t, c.Get(context.Background(), req.NamespacedName, got))
	require.NotNil(t, Accepted(got.Status.Parents, me, &route.Spec.ParentRefs[0]))

	_, err = r.Reconcile(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, int32(1), writes.waits.Load(), "nothing changed: nothing written, nothing paced")
}

// Past the event budget, a transition is written to the status but not
// recorded as an event: client-go's recorder keeps every event it sent in
// memory for minutes.
func TestReconcileBoundsTheEvents(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, corev1.AddToScheme(scheme))
	require.NoError(t, gatewayv1.Install(scheme))
	ref := gatewayv1.ParentReference{Name: "gw", Namespace: ptr.To(gatewayv1.Namespace("infra"))}
	detached := func(name string) *gatewayv1.HTTPRoute {
		return &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name, Generation: 1},
			Spec:       gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{ref}}},
			Status: gatewayv1.HTTPRouteStatus{RouteStatus: gatewayv1.RouteStatus{Parents: []gatewayv1.RouteParentStatus{{
				ParentRef: ref, ControllerName: me,
				Conditions: []metav1.Condition{{
					Type: string(gatewayv1.RouteConditionAccepted), Status: metav1.ConditionFalse, Reason: string(gatewayv1.RouteReasonNotAllowedByListeners),
					ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(time.Unix(500, 0)),
				}},
			}}}},
		}
	}
	one, two := detached("one"), detached("two")
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"},
		Spec: gatewayv1.GatewaySpec{Listeners: []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType,
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}}}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(one, two).
		WithObjects(one, two, gw, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}).Build()
	recorder := &events.FakeRecorder{Events: make(chan string, 10)}
	r := &Reconciler{
		Client: c, Reader: cluster.NewReader(c, c, cluster.Options{RouteTypes: attachment.RouteTypes, GrantV1: true}),
		Type: attachment.RouteTypes[0], ControllerName: me, Recorder: recorder,
		Events: &budget{left: 1}, gauge: newRouteGauge(), now: func() time.Time { return time.Unix(1000, 0) },
	}

	for _, name := range []string{"one", "two"} {
		_, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "team", Name: name}})
		require.NoError(t, err)
		got := &gatewayv1.HTTPRoute{}
		require.NoError(t, c.Get(context.Background(), types.NamespacedName{Namespace: "team", Name: name}, got))
		accepted := Accepted(got.Status.Parents, me, &ref)
		require.NotNil(t, accepted)
		assert.Equal(t, metav1.ConditionTrue, accepted.Status, "%s: the status is written whatever the event budget", name)
	}
	close(recorder.Events)
	var recorded []string
	for e := range recorder.Events {
		recorded = append(recorded, e)
	}
	require.Len(t, recorded, 1, "one event in the budget")
	assert.Contains(t, recorded[0], ReasonAttached)
}

// budget lets left events through, then none.
type budget struct {
	flowcontrol.RateLimiter
	left int
}

func (b *budget) TryAccept() bool {
	if b.left == 0 {
		return false
	}
	b.left--
	return true
}
