package manifest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
)

// from says where a test object comes from: "" is the cluster, else a file.
func namespace(from, name string) Object {
	return Object{Source: Source{File: from}, Object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}}
}

func gateway(from, ns, name string) Object {
	return Object{Source: Source{File: from}, Object: &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
}

func httpRoute(from, ns, name string) Object {
	return Object{Source: Source{File: from}, Object: &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
}

func grpcRoute(from, ns, name string) Object {
	return Object{Source: Source{File: from}, Object: &gatewayv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
}

// describe writes each object as its key and where it comes from.
func describe(objs []Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		from := o.Source.File
		if from == "" {
			from = "cluster"
		}
		out = append(out, fmt.Sprintf("%s @%s", KeyOf(o.Object), from))
	}
	return out
}

func TestOverlay(t *testing.T) {
	live := []Object{
		namespace("", "infra"), namespace("", "shop"),
		gateway("", "infra", "gw"),
		httpRoute("", "shop", "cart"), httpRoute("", "shop", "pay"), httpRoute("", "infra", "health"),
	}
	tests := []struct {
		name             string
		applied, deleted []Object
		want             []string
	}{{
		name: "nothing changes",
		want: []string{"Namespace infra @cluster", "Namespace shop @cluster", "Gateway infra/gw @cluster",
			"HTTPRoute shop/cart @cluster", "HTTPRoute shop/pay @cluster", "HTTPRoute infra/health @cluster"},
	}, {
		name:    "an applied object replaces the live one in its place",
		applied: []Object{gateway("gw.yaml", "infra", "gw")},
		want: []string{"Namespace infra @cluster", "Namespace shop @cluster", "Gateway infra/gw @gw.yaml",
			"HTTPRoute shop/cart @cluster", "HTTPRoute shop/pay @cluster", "HTTPRoute infra/health @cluster"},
	}, {
		name:    "new objects are added at the end, in file order",
		applied: []Object{httpRoute("new.yaml", "shop", "search"), namespace("new.yaml", "team-x")},
		want: []string{"Namespace infra @cluster", "Namespace shop @cluster", "Gateway infra/gw @cluster",
			"HTTPRoute shop/cart @cluster", "HTTPRoute shop/pay @cluster", "HTTPRoute infra/health @cluster",
			"HTTPRoute shop/search @new.yaml", "Namespace team-x @new.yaml"},
	}, {
		name:    "the same name in another kind or namespace is another object",
		applied: []Object{grpcRoute("g.yaml", "shop", "cart"), httpRoute("g.yaml", "infra", "cart")},
		want: []string{"Namespace infra @cluster", "Namespace shop @cluster", "Gateway infra/gw @cluster",
			"HTTPRoute shop/cart @cluster", "HTTPRoute shop/pay @cluster", "HTTPRoute infra/health @cluster",
			"GRPCRoute shop/cart @g.yaml", "HTTPRoute infra/cart @g.yaml"},
	}, {
		name:    "the last of two applies of one object wins, in the place of the first",
		applied: []Object{httpRoute("a.yaml", "shop", "new"), httpRoute("a.yaml", "shop", "pay"), httpRoute("b.yaml", "shop", "new"), httpRoute("b.yaml", "shop", "pay")},
		want: []string{"Namespace infra @cluster", "Namespace shop @cluster", "Gateway infra/gw @cluster",
			"HTTPRoute shop/cart @cluster", "HTTPRoute shop/pay @b.yaml", "HTTPRoute infra/health @cluster",
			"HTTPRoute shop/new @b.yaml"},
	}, {
		name:    "a deleted object is removed",
		deleted: []Object{httpRoute("old.yaml", "shop", "pay"), gateway("old.yaml", "infra", "gw")},
		want: []string{"Namespace infra @cluster", "Namespace shop @cluster",
			"HTTPRoute shop/cart @cluster", "HTTPRoute infra/health @cluster"},
	}, {
		name:    "deleting what the cluster does not hold changes nothing",
		deleted: []Object{httpRoute("old.yaml", "shop", "gone-already"), grpcRoute("old.yaml", "shop", "cart")},
		want: []string{"Namespace infra @cluster", "Namespace shop @cluster", "Gateway infra/gw @cluster",
			"HTTPRoute shop/cart @cluster", "HTTPRoute shop/pay @cluster", "HTTPRoute infra/health @cluster"},
	}, {
		name:    "a deleted Namespace takes its objects with it, not those applied into it",
		deleted: []Object{namespace("old.yaml", "shop")},
		applied: []Object{httpRoute("new.yaml", "shop", "late")},
		want: []string{"Namespace infra @cluster", "Gateway infra/gw @cluster",
			"HTTPRoute infra/health @cluster", "HTTPRoute shop/late @new.yaml"},
	}, {
		name:    "an object deleted and applied (a moved file) stays, as applied",
		deleted: []Object{namespace("old/ns.yaml", "shop"), httpRoute("old/ns.yaml", "shop", "cart")},
		applied: []Object{namespace("new/ns.yaml", "shop"), httpRoute("new/ns.yaml", "shop", "cart")},
		want: []string{"Namespace infra @cluster", "Namespace shop @new/ns.yaml", "Gateway infra/gw @cluster",
			"HTTPRoute shop/cart @new/ns.yaml", "HTTPRoute shop/pay @cluster", "HTTPRoute infra/health @cluster"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := describe(live)
			got := Overlay(live, tt.applied, tt.deleted)
			assert.Equal(t, tt.want, describe(got))
			assert.Equal(t, before, describe(live), "the live objects are not modified")
		})
	}
}

func TestKeyOf(t *testing.T) {
	for _, k := range Kinds {
		obj := k.New()
		obj.SetNamespace("ns")
		obj.SetName("n")
		got := KeyOf(obj)
		assert.Equal(t, k.Group, got.Group)
		assert.Equal(t, k.Kind, got.Kind)
		assert.Equal(t, "ns", got.Namespace)
		assert.Equal(t, "n", got.Name)
	}
	assert.Equal(t, "Namespace shop", KeyOf(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}).String())
	assert.Equal(t, "HTTPRoute shop/cart", KeyOf(&gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"}}).String())
	assert.Panics(t, func() { KeyOf(&gatewayv1beta1.ReferenceGrant{}) }, "only the types Read returns have a key")
}
