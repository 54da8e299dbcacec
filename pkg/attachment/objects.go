package attachment

import (
	"maps"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Objects is what the evaluator may look up while it evaluates a route.
// Every lookup is by key: an implementation must never scan.
type Objects interface {
	Lookup
	// Parent returns the Gateway or ListenerSet a ParentKey names, or nil
	// when it is not known. A ListenerSet comes judged: its Attachment to
	// its Gateway and its listeners' conflicts decided.
	Parent(key ParentKey) *Parent
}

// Index is the map-backed Objects: build it once, evaluate many routes.
// Adding is not safe for concurrent use; once built, concurrent reads are.
type Index struct {
	gateways     map[types.NamespacedName]*Gateway
	listenerSets map[types.NamespacedName]*ListenerSet
	// setsOf lists the ListenerSets whose parentRef names each Gateway.
	setsOf     map[types.NamespacedName][]*ListenerSet
	namespaces map[string]labels.Set
	grants     map[string][]*gatewayv1.ReferenceGrant

	// given are merged listener tables the caller built and keeps (AddTable);
	// tables are those built on first use from what the Index holds, and
	// dropped when it changes. mu guards tables.
	given  map[types.NamespacedName]*ListenerTable
	mu     sync.Mutex
	tables map[types.NamespacedName]*ListenerTable
}

var _ Objects = &Index{}

// NewIndex returns an empty Index.
func NewIndex() *Index {
	return &Index{
		gateways:     map[types.NamespacedName]*Gateway{},
		listenerSets: map[types.NamespacedName]*ListenerSet{},
		setsOf:       map[types.NamespacedName][]*ListenerSet{},
		namespaces:   map[string]labels.Set{},
		grants:       map[string][]*gatewayv1.ReferenceGrant{},
		given:        map[types.NamespacedName]*ListenerTable{},
		tables:       map[types.NamespacedName]*ListenerTable{},
	}
}

// AddGateway prepares gw for evaluation and adds it, replacing a Gateway of
// the same namespace and name.
func (ix *Index) AddGateway(gw *gatewayv1.Gateway) *Gateway {
	g := NewGateway(gw)
	ix.AddPrepared(g)
	return g
}

// AddPrepared adds a Gateway already prepared with NewGateway, replacing a
// Gateway of the same namespace and name.
func (ix *Index) AddPrepared(g *Gateway) {
	key := g.NamespacedName()
	ix.gateways[key] = g
	delete(ix.tables, key)
}

// AddListenerSet prepares ls and adds it, replacing a ListenerSet of the
// same namespace and name.
func (ix *Index) AddListenerSet(ls *gatewayv1.ListenerSet) *ListenerSet {
	s := NewListenerSet(ls)
	ix.AddPreparedListenerSet(s)
	return s
}

// AddPreparedListenerSet adds a ListenerSet already prepared with
// NewListenerSet, replacing one of the same namespace and name.
func (ix *Index) AddPreparedListenerSet(ls *ListenerSet) {
	key := ls.NamespacedName()
	if old, ok := ix.listenerSets[key]; ok {
		gw := old.GatewayRef.Key().NamespacedName()
		ix.setsOf[gw] = deleteSet(ix.setsOf[gw], old)
		delete(ix.tables, gw)
	}
	ix.listenerSets[key] = ls
	gw := ls.GatewayRef.Key().NamespacedName()
	ix.setsOf[gw] = append(ix.setsOf[gw], ls)
	delete(ix.tables, gw)
}

// AddTable adds the merged listener table of a Gateway, built by the
// caller (who keeps it across evaluations, and knows every ListenerSet of
// the Gateway). While the Index holds that same prepared Gateway, it is
// used instead of one built from what the Index holds.
func (ix *Index) AddTable(t *ListenerTable) {
	ix.given[t.Gateway.NamespacedName()] = t
}

func deleteSet(sets []*ListenerSet, ls *ListenerSet) []*ListenerSet {
	out := make([]*ListenerSet, 0, len(sets))
	for _, s := range sets {
		if s != ls {
			out = append(out, s)
		}
	}
	return out
}

// AddNamespace adds a Namespace's labels. Like the API server, it makes sure
// the labels carry kubernetes.io/metadata.name.
func (ix *Index) AddNamespace(ns *corev1.Namespace) {
	ix.SetNamespaceLabels(ns.Name, ns.Labels)
}

// SetNamespaceLabels sets the labels of a Namespace.
func (ix *Index) SetNamespaceLabels(name string, l map[string]string) {
	ix.namespaces[name] = NamespaceLabels(name, l)
	clear(ix.tables) // allowedListeners selectors read them
}

// AddReferenceGrant adds a ReferenceGrant. The v1beta1 type converts with
// (*gatewayv1.ReferenceGrant)(grant).
func (ix *Index) AddReferenceGrant(grant *gatewayv1.ReferenceGrant) {
	ix.grants[grant.Namespace] = append(ix.grants[grant.Namespace], grant)
	clear(ix.tables) // ListenerSet certificateRefs read them
}

// Gateway returns a Gateway of the Index, or nil.
func (ix *Index) Gateway(key types.NamespacedName) *Gateway { return ix.gateways[key] }

// ListenerSet returns a ListenerSet of the Index, judged against its
// Gateway, or nil.
func (ix *Index) ListenerSet(key types.NamespacedName) *ListenerSet {
	ls, ok := ix.listenerSets[key]
	if !ok {
		return nil
	}
	t := ix.Table(ls.GatewayRef.Key().NamespacedName())
	if t == nil || !ls.NamesGateway() {
		return ls.unjudged()
	}
	if j, ok := t.Judged(ls); ok {
		return j
	}
	return t.Judge(ls, ix)
}

// ListenerSetsOf returns the ListenerSets of the Index whose parentRef names
// the Gateway, judged.
func (ix *Index) ListenerSetsOf(gateway types.NamespacedName) []*ListenerSet {
	out := make([]*ListenerSet, 0, len(ix.setsOf[gateway]))
	for _, ls := range ix.setsOf[gateway] {
		out = append(out, ix.ListenerSet(ls.NamespacedName()))
	}
	return out
}

// Table returns the merged listener table of a Gateway of the Index, or nil
// when the Index has no such Gateway.
func (ix *Index) Table(gateway types.NamespacedName) *ListenerTable {
	gw := ix.gateways[gateway]
	if gw == nil {
		return nil
	}
	if t, ok := ix.given[gateway]; ok && t.Gateway == gw {
		return t
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if t, ok := ix.tables[gateway]; ok && t.Gateway == gw {
		return t
	}
	t := NewListenerTable(gw, ix.setsOf[gateway], ix)
	ix.tables[gateway] = t
	return t
}

// Parent implements Objects.
func (ix *Index) Parent(key ParentKey) *Parent {
	switch key.Kind {
	case KindGateway:
		if g := ix.gateways[key.NamespacedName()]; g != nil {
			return &g.Parent
		}
	case KindListenerSet:
		if ls := ix.ListenerSet(key.NamespacedName()); ls != nil {
			return &ls.Parent
		}
	}
	return nil
}

// NamespaceLabels implements Objects.
func (ix *Index) NamespaceLabels(name string) (labels.Set, bool) {
	l, ok := ix.namespaces[name]
	return l, ok
}

// ReferenceGrants implements Objects.
func (ix *Index) ReferenceGrants(namespace string) []*gatewayv1.ReferenceGrant {
	return ix.grants[namespace]
}

// clone returns a copy of the Index that can be changed without changing
// ix, to ask what a change would do. Prepared objects are shared; tables
// given by AddTable are not, as they would not see the change.
func (ix *Index) clone() *Index {
	out := &Index{
		gateways:     maps.Clone(ix.gateways),
		listenerSets: maps.Clone(ix.listenerSets),
		setsOf:       maps.Clone(ix.setsOf),
		namespaces:   maps.Clone(ix.namespaces),
		grants:       maps.Clone(ix.grants),
		given:        map[types.NamespacedName]*ListenerTable{},
		tables:       map[types.NamespacedName]*ListenerTable{},
	}
	for k, v := range out.setsOf {
		out.setsOf[k] = slices.Clip(v) // appending to the copy must not write into ix's
	}
	return out
}

// WithNamespaceLabels returns a copy of ix with the labels of one Namespace
// replaced, to ask what a label change would do.
func (ix *Index) WithNamespaceLabels(name string, l labels.Set) *Index {
	out := ix.clone()
	out.SetNamespaceLabels(name, l)
	return out
}

// WithGateway returns a copy of ix with one Gateway replaced, or removed
// when gw is nil, to ask what a Gateway change would do.
func (ix *Index) WithGateway(key types.NamespacedName, gw *Gateway) *Index {
	out := ix.clone()
	if gw == nil {
		delete(out.gateways, key)
	} else {
		out.gateways[key] = gw
	}
	return out
}

// WithListenerSet returns a copy of ix with one ListenerSet replaced, or
// removed when ls is nil, to ask what a ListenerSet change would do.
func (ix *Index) WithListenerSet(key types.NamespacedName, ls *ListenerSet) *Index {
	out := ix.clone()
	if old, ok := out.listenerSets[key]; ok {
		gw := old.GatewayRef.Key().NamespacedName()
		out.setsOf[gw] = deleteSet(out.setsOf[gw], old)
		delete(out.listenerSets, key)
	}
	if ls != nil {
		out.AddPreparedListenerSet(ls)
	}
	return out
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
