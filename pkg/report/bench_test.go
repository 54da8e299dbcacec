package report

import (
	"fmt"
	"io"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/manifest"
)

// manyListenerSets is one shared Gateway with 1,000 ListenerSets, one per
// namespace, each with a listener of its own hostname, and 10 routes
// through each: 10,000 routes, as check reads them from a big cluster.
func manyListenerSets() []manifest.Object {
	const sets, routesPerSet = 1000, 10
	objs := []manifest.Object{{Object: &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "shared"},
		Spec: gatewayv1.GatewaySpec{
			Listeners: []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}},
			AllowedListeners: &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{
				From:     ptr.To(gatewayv1.NamespacesFromSelector),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"listeners": "yes"}},
			}},
		},
	}}}
	for i := range sets {
		ns := fmt.Sprintf("team%d", i)
		objs = append(objs,
			manifest.Object{Object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"listeners": "yes"}}}},
			manifest.Object{Object: &gatewayv1.ListenerSet{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ls"},
				Spec: gatewayv1.ListenerSetSpec{
					ParentRef: gatewayv1.ParentGatewayReference{Name: "shared", Namespace: ptr.To(gatewayv1.Namespace("infra"))},
					Listeners: []gatewayv1.ListenerEntry{{Name: "web", Port: 80, Protocol: gatewayv1.HTTPProtocolType,
						Hostname: ptr.To(gatewayv1.Hostname(ns + ".example.com"))}},
				},
			}})
		for j := range routesPerSet {
			objs = append(objs, manifest.Object{Object: &gatewayv1.HTTPRoute{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("r%d", j)},
				Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{
					Kind: ptr.To(gatewayv1.Kind("ListenerSet")), Name: "ls", SectionName: ptr.To(gatewayv1.SectionName("web")),
				}}}},
			}})
		}
	}
	return objs
}

// BenchmarkBuildListenerSets: check's evaluation and JSON of 10,000 routes
// through 1,000 ListenerSets of one Gateway. The Gateway's merged listener
// table is built once, so the cost grows with the objects, not with
// ListenerSets times routes.
func BenchmarkBuildListenerSets(b *testing.B) {
	objs := manyListenerSets()
	rep, err := Build(objs, Deny)
	if err != nil {
		b.Fatal(err)
	}
	if len(rep.ListenerSets) != 1000 || rep.Denied() {
		b.Fatalf("1,000 ListenerSets, all accepted, and nothing denied: got %d, denied %v", len(rep.ListenerSets), rep.Denied())
	}
	b.ReportAllocs()
	for b.Loop() {
		rep, _ := Build(objs, Deny)
		_ = rep.WriteJSON(io.Discard)
	}
}
