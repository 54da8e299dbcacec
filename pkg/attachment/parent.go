package attachment

import (
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The parent kinds gatewarden governs, both in the Gateway API group: a
// route attaches to the listeners of a Gateway, or to those a ListenerSet
// adds to its Gateway.
const (
	KindGateway     gatewayv1.Kind = "Gateway"
	KindListenerSet gatewayv1.Kind = "ListenerSet"
)

// ParentKey names a Gateway or a ListenerSet. The kind is part of the key: a
// Gateway and a ListenerSet of the same namespace and name are two parents.
type ParentKey struct {
	Kind      gatewayv1.Kind
	Namespace string
	Name      string
}

// GatewayKey is the ParentKey of a Gateway.
func GatewayKey(namespace, name string) ParentKey {
	return ParentKey{Kind: KindGateway, Namespace: namespace, Name: name}
}

// ListenerSetKey is the ParentKey of a ListenerSet.
func ListenerSetKey(namespace, name string) ParentKey {
	return ParentKey{Kind: KindListenerSet, Namespace: namespace, Name: name}
}

// String is how messages name a parent: "Gateway infra-ns/shared-gateway".
func (k ParentKey) String() string { return string(k.Kind) + " " + k.Namespace + "/" + k.Name }

// NamespacedName is the parent's namespace and name.
func (k ParentKey) NamespacedName() types.NamespacedName {
	return types.NamespacedName{Namespace: k.Namespace, Name: k.Name}
}

// Parent is what a route's parentRef attaches to: a Gateway, or a
// ListenerSet with the listeners it adds to its Gateway.
type Parent struct {
	ParentKey
	// Listeners are the parent's own listeners, in spec order. A route's
	// parentRef selects among these only: a parentRef to a Gateway never
	// reaches the listeners of its ListenerSets.
	Listeners []Listener
	// Gateway owns the listeners: the Gateway itself, or a ListenerSet's
	// Gateway (nil when that is not known). Its gatewarden.dev/enforcement
	// annotation governs every route attached to the parent; a ListenerSet's
	// own annotations never do.
	Gateway *Gateway
	// Attachment is the parent's own place on its Gateway: always accepted
	// for a Gateway; a ListenerSet's Accepted condition.
	Attachment Attachment
}

// SelectsRoutesOnLabels reports whether any of the parent's listeners admits
// routes by a label selector on their Namespace: only then can the labels of
// a route's Namespace decide whether the parent accepts it.
func (p *Parent) SelectsRoutesOnLabels() bool {
	for i := range p.Listeners {
		if p.Listeners[i].Routes.SelectsOnLabels() {
			return true
		}
	}
	return false
}

// Listener returns the listener named name, or nil.
func (p *Parent) Listener(name gatewayv1.SectionName) *Listener {
	for i := range p.Listeners {
		if p.Listeners[i].Name == name {
			return &p.Listeners[i]
		}
	}
	return nil
}

// ParentRef is a parentRef (of a route, or a ListenerSet's spec.parentRef)
// with the API's defaults applied.
type ParentRef struct {
	Group     gatewayv1.Group
	Kind      gatewayv1.Kind
	Namespace string
	Name      string
	// SectionName is "" when the parentRef names no listener.
	SectionName gatewayv1.SectionName
	// Port is 0 when the parentRef names no port.
	Port gatewayv1.PortNumber
}

// DefaultParentRef applies the defaults of apis/v1/shared_types.go: group
// gateway.networking.k8s.io, kind Gateway, and the route's namespace.
func DefaultParentRef(routeNamespace string, ref *gatewayv1.ParentReference) ParentRef {
	out := ParentRef{Group: gatewayv1.GroupName, Kind: KindGateway, Namespace: routeNamespace, Name: string(ref.Name)}
	if ref.Group != nil {
		out.Group = *ref.Group
	}
	if ref.Kind != nil {
		out.Kind = *ref.Kind
	}
	if ref.Namespace != nil && *ref.Namespace != "" {
		out.Namespace = string(*ref.Namespace)
	}
	if ref.SectionName != nil {
		out.SectionName = *ref.SectionName
	}
	if ref.Port != nil {
		out.Port = *ref.Port
	}
	return out
}

// Governed reports whether the parentRef names a parent gatewarden governs:
// a Gateway or a ListenerSet. Others (a Service for mesh, another group's
// Gateway, a kind spelled in lower case) are skipped, as no Gateway
// implementation attaches them to a Gateway either.
func (r ParentRef) Governed() bool {
	return r.Group == gatewayv1.GroupName && (r.Kind == KindGateway || r.Kind == KindListenerSet)
}

// Key is the parent the parentRef names.
func (r ParentRef) Key() ParentKey {
	return ParentKey{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}
