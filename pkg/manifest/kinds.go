package manifest

import (
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Kind is one kind gatewarden reads: the group and kind a manifest names,
// and the typed object that every version of it decodes into.
type Kind struct {
	Group string
	Kind  string
	New   func() metav1.Object
}

// Kinds are the kinds gatewarden reads, one row each. Adding a kind is one
// row here (and one in pkg/cluster's snapshot table, for check --cluster).
var Kinds = []Kind{
	{Group: "", Kind: "Namespace", New: func() metav1.Object { return &corev1.Namespace{} }},
	{Group: gatewayv1.GroupName, Kind: "Gateway", New: func() metav1.Object { return &gatewayv1.Gateway{} }},
	{Group: gatewayv1.GroupName, Kind: "ListenerSet", New: func() metav1.Object { return &gatewayv1.ListenerSet{} }},
	{Group: gatewayv1.GroupName, Kind: "ReferenceGrant", New: func() metav1.Object { return &gatewayv1.ReferenceGrant{} }},
	{Group: gatewayv1.GroupName, Kind: "HTTPRoute", New: func() metav1.Object { return &gatewayv1.HTTPRoute{} }},
	{Group: gatewayv1.GroupName, Kind: "GRPCRoute", New: func() metav1.Object { return &gatewayv1.GRPCRoute{} }},
	{Group: gatewayv1.GroupName, Kind: "TLSRoute", New: func() metav1.Object { return &gatewayv1.TLSRoute{} }},
	{Group: gatewayv1.GroupName, Kind: "TCPRoute", New: func() metav1.Object { return &gatewayv1.TCPRoute{} }},
	{Group: gatewayv1.GroupName, Kind: "UDPRoute", New: func() metav1.Object { return &gatewayv1.UDPRoute{} }},
}

// kindOfType finds a Kinds row by the Go type of its objects.
var kindOfType = func() map[reflect.Type]schema.GroupKind {
	m := make(map[reflect.Type]schema.GroupKind, len(Kinds))
	for _, k := range Kinds {
		m[reflect.TypeOf(k.New())] = schema.GroupKind{Group: k.Group, Kind: k.Kind}
	}
	return m
}()

// Key names an object as the API server does: by group, kind, namespace and
// name. Versions do not matter: a v1beta1 and a v1 Gateway of the same
// name are the same object.
type Key struct {
	schema.GroupKind
	Namespace string
	Name      string
}

func (k Key) String() string {
	if k.Namespace == "" {
		return k.Kind + " " + k.Name
	}
	return k.Kind + " " + k.Namespace + "/" + k.Name
}

// KeyOf returns the key of an object of one of the Kinds. It panics on any
// other type: objects come from Read or from the cluster's snapshot, which
// hold nothing else.
func KeyOf(obj metav1.Object) Key {
	gk, ok := kindOfType[reflect.TypeOf(obj)]
	if !ok {
		panic(fmt.Sprintf("manifest: %T is not one of the kinds gatewarden reads", obj))
	}
	return Key{GroupKind: gk, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}
