package attachment

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Objects is what the evaluator may look up while it evaluates a route.
// Every lookup is by key: an implementation must never scan.
type Objects interface {
	// Gateway returns the Gateway, or nil when it is not known.
	Gateway(key types.NamespacedName) *Gateway
	// NamespaceLabels returns the labels of a Namespace, and false when the
	// Namespace is not known.
	NamespaceLabels(name string) (labels.Set, bool)
	// ReferenceGrants returns the ReferenceGrants in a namespace.
	ReferenceGrants(namespace string) []*gatewayv1.ReferenceGrant
}

// Index is the map-backed Objects: build it once, evaluate many routes.
// It is not safe for concurrent writes; concurrent reads are fine.
type Index struct {
	gateways   map[types.NamespacedName]*Gateway
	namespaces map[string]labels.Set
	grants     map[string][]*gatewayv1.ReferenceGrant
}

var _ Objects = &Index{}

// NewIndex returns an empty Index.
func NewIndex() *Index {
	return &Index{
		gateways:   map[types.NamespacedName]*Gateway{},
		namespaces: map[string]labels.Set{},
		grants:     map[string][]*gatewayv1.ReferenceGrant{},
	}
}

// AddGateway prepares gw for evaluation and adds it, replacing a Gateway of
// the same namespace and name.
func (ix *Index) AddGateway(gw *gatewayv1.Gateway) *Gateway {
	g := NewGateway(gw)
	ix.gateways[types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}] = g
	return g
}

// AddPrepared adds a Gateway already prepared with NewGateway, replacing a
// Gateway of the same namespace and name.
func (ix *Index) AddPrepared(g *Gateway) {
	ix.gateways[types.NamespacedName{Namespace: g.Namespace, Name: g.Name}] = g
}

// AddNamespace adds a Namespace's labels. Like the API server, it makes sure
// the labels carry kubernetes.io/metadata.name.
func (ix *Index) AddNamespace(ns *corev1.Namespace) {
	ix.namespaces[ns.Name] = NamespaceLabels(ns.Name, ns.Labels)
}

// AddReferenceGrant adds a ReferenceGrant. The v1beta1 type converts with
// (*gatewayv1.ReferenceGrant)(grant).
func (ix *Index) AddReferenceGrant(grant *gatewayv1.ReferenceGrant) {
	ix.grants[grant.Namespace] = append(ix.grants[grant.Namespace], grant)
}

// Gateway implements Objects.
func (ix *Index) Gateway(key types.NamespacedName) *Gateway { return ix.gateways[key] }

// NamespaceLabels implements Objects.
func (ix *Index) NamespaceLabels(name string) (labels.Set, bool) {
	l, ok := ix.namespaces[name]
	return l, ok
}

// ReferenceGrants implements Objects.
func (ix *Index) ReferenceGrants(namespace string) []*gatewayv1.ReferenceGrant {
	return ix.grants[namespace]
}

// NamespaceLabels returns the labels a Namespace has in the cluster: its own,
// plus kubernetes.io/metadata.name, which the API server always sets to the
// Namespace's name. The input map is not modified.
func NamespaceLabels(name string, l map[string]string) labels.Set {
	if l[corev1.LabelMetadataName] == name {
		return l
	}
	out := make(labels.Set, len(l)+1)
	for k, v := range l {
		out[k] = v
	}
	out[corev1.LabelMetadataName] = name
	return out
}

// WithNamespaceLabels returns objs with the labels of one Namespace replaced,
// to ask what a label change would do.
func WithNamespaceLabels(objs Objects, name string, l labels.Set) Objects {
	return namespaceOverlay{Objects: objs, name: name, labels: NamespaceLabels(name, l)}
}

type namespaceOverlay struct {
	Objects
	name   string
	labels labels.Set
}

func (o namespaceOverlay) NamespaceLabels(name string) (labels.Set, bool) {
	if name == o.name {
		return o.labels, true
	}
	return o.Objects.NamespaceLabels(name)
}

// WithGateway returns objs with one Gateway replaced, or removed when gw is
// nil, to ask what a Gateway change would do.
func WithGateway(objs Objects, key types.NamespacedName, gw *Gateway) Objects {
	return gatewayOverlay{Objects: objs, key: key, gateway: gw}
}

type gatewayOverlay struct {
	Objects
	key     types.NamespacedName
	gateway *Gateway
}

func (o gatewayOverlay) Gateway(key types.NamespacedName) *Gateway {
	if key == o.key {
		return o.gateway
	}
	return o.Objects.Gateway(key)
}
