package cluster

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// ListedKind is one kind a Snapshot lists, in one version.
type ListedKind struct {
	GVK schema.GroupVersionKind
	// Resource names it in errors as the API server and kubectl do:
	// "namespaces", "httproutes.gateway.networking.k8s.io".
	Resource string
	NewList  func() client.ObjectList
	// Keep trims one listed item to what the evaluator reads and returns
	// it as the type pkg/manifest reads (every version as its v1 type).
	Keep func(client.Object) metav1.Object
	// Required kinds make ListedKinds fail when the API server does not
	// serve them.
	Required bool
}

// listedKinds are the kinds `check --cluster` reads, one row per kind and
// version; of a kind listed in several versions, the first one the API
// server serves is read. Adding a kind is one row here and one in
// pkg/manifest's Kinds.
func listedKinds() []ListedKind {
	kinds := []ListedKind{
		{GVK: corev1.SchemeGroupVersion.WithKind("Namespace"), Resource: "namespaces",
			NewList: func() client.ObjectList { return &corev1.NamespaceList{} }, Keep: keepNamespace, Required: true},
		{GVK: GatewayAPIv1("Gateway"), Resource: "gateways." + gatewayv1.GroupName,
			NewList: func() client.ObjectList { return &gatewayv1.GatewayList{} }, Keep: keepGateway, Required: true},
		{GVK: GatewayAPIv1("ReferenceGrant"), Resource: "referencegrants." + gatewayv1.GroupName,
			NewList: func() client.ObjectList { return &gatewayv1.ReferenceGrantList{} }, Keep: keepReferenceGrant},
		{GVK: schema.GroupVersionKind{Group: gatewayv1.GroupName, Version: "v1beta1", Kind: "ReferenceGrant"}, Resource: "referencegrants." + gatewayv1.GroupName,
			NewList: func() client.ObjectList { return &gatewayv1beta1.ReferenceGrantList{} }, Keep: keepReferenceGrant},
	}
	for _, t := range attachment.RouteTypes {
		kinds = append(kinds, ListedKind{GVK: GatewayAPIv1(string(t.Kind)), Resource: t.Resource + "." + gatewayv1.GroupName,
			NewList: func() client.ObjectList { return t.NewList() }, Keep: keepRoute})
	}
	return append(kinds, ListedKind{GVK: GatewayAPIv1(string(attachment.KindListenerSet)), Resource: "listenersets." + gatewayv1.GroupName,
		NewList: func() client.ObjectList { return &gatewayv1.ListenerSetList{} }, Keep: keepListenerSet})
}

// ListedKinds returns the kinds to read, each in the first version of
// listedKinds the API server serves: Namespaces, Gateways (v1, required),
// ReferenceGrants (v1, else v1beta1, else none), every route kind it
// serves in v1, and ListenerSets when it serves them (v1; a cluster
// without the CRD has none).
func ListedKinds(mapper meta.RESTMapper) ([]ListedKind, error) {
	var out []ListedKind
	found := map[schema.GroupKind]bool{}
	for _, k := range listedKinds() {
		if found[k.GVK.GroupKind()] {
			continue
		}
		served, err := Served(mapper, k.GVK)
		if err != nil {
			return nil, fmt.Errorf("looking up %s: %w", k.Resource, err)
		}
		if served {
			found[k.GVK.GroupKind()] = true
			out = append(out, k)
		}
	}
	for _, k := range listedKinds() {
		if k.Required && !found[k.GVK.GroupKind()] {
			return nil, fmt.Errorf("the API server does not serve %s %s: install the Gateway API CRDs (v1.1 or later) first", k.GVK.GroupVersion(), k.Resource)
		}
	}
	return out, nil
}

// Snapshot reads every object of some kinds from the API server, page by
// page, with list permission only, and keeps of each what the evaluator
// reads: memory grows with the objects kept, not with a page or with what
// is trimmed away.
//
// Each kind is read as of one resourceVersion (the pages of one list are
// consistent); different kinds are read one after the other, as a cache
// would hold them.
type Snapshot struct {
	Reader client.Reader
	Kinds  []ListedKind
	// PageSize is how many objects a request asks for; 0 asks for all.
	PageSize int64
}

// Read lists the kinds concurrently (the pages of one kind follow each
// other, so the small kinds are read while the routes are) and returns what
// Keep keeps, in Kinds order, each kind in the order the API server lists
// it (by namespace and name). The first error cancels the other lists.
func (s *Snapshot) Read(ctx context.Context) ([]metav1.Object, error) {
	g, ctx := errgroup.WithContext(ctx)
	read := make([][]metav1.Object, len(s.Kinds))
	for i, k := range s.Kinds {
		g.Go(func() error {
			objs, err := s.list(ctx, k)
			read[i] = objs
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Concat(read...), nil
}

// list reads one kind. A continue token the API server has compacted away
// (410 Gone, after minutes) starts the kind over, as client-go's pager does.
func (s *Snapshot) list(ctx context.Context, k ListedKind) ([]metav1.Object, error) {
	const attempts = 3
	var err error
	for range attempts {
		var objs []metav1.Object
		if objs, err = s.listOnce(ctx, k); err == nil {
			return objs, nil
		}
		if !apierrors.IsResourceExpired(err) {
			break
		}
	}
	return nil, fmt.Errorf("listing %s: %w", k.Resource, err)
}

func (s *Snapshot) listOnce(ctx context.Context, k ListedKind) ([]metav1.Object, error) {
	var out []metav1.Object
	token := ""
	for {
		list := k.NewList()
		opts := []client.ListOption{client.Continue(token)}
		if s.PageSize > 0 {
			opts = append(opts, client.Limit(s.PageSize))
		}
		if err := s.Reader.List(ctx, list, opts...); err != nil {
			return nil, err
		}
		err := meta.EachListItem(list, func(item runtime.Object) error {
			obj, ok := item.(client.Object)
			if !ok {
				return fmt.Errorf("%T is not an object", item)
			}
			out = append(out, k.Keep(obj))
			return nil
		})
		if err != nil {
			return nil, err
		}
		if token = list.GetContinue(); token == "" {
			return out, nil
		}
	}
}

// keepNamespace keeps a Namespace's name and labels, in a new object: the
// listed page, with everything else of every Namespace, is then garbage.
func keepNamespace(obj client.Object) metav1.Object {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: obj.GetName(), Labels: obj.GetLabels()}}
}

// keepGateway keeps a Gateway's spec and its enforcement annotation (not,
// say, kubectl's last-applied-configuration, a copy of the whole object).
func keepGateway(obj client.Object) metav1.Object {
	gw := obj.(*gatewayv1.Gateway)
	out := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: gw.Namespace, Name: gw.Name, CreationTimestamp: gw.CreationTimestamp}, Spec: gw.Spec}
	if v, ok := gw.Annotations[attachment.EnforcementAnnotation]; ok {
		out.Annotations = map[string]string{attachment.EnforcementAnnotation: v}
	}
	return out
}

// keepListenerSet keeps a ListenerSet's spec and its creationTimestamp,
// which orders the ListenerSets of a Gateway: the oldest listener takes
// precedence. Its annotations go: a ListenerSet's own enforcement
// annotation governs nothing. Its status is the Gateway implementation's.
func keepListenerSet(obj client.Object) metav1.Object {
	ls := obj.(*gatewayv1.ListenerSet)
	return &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ls.Namespace, Name: ls.Name, CreationTimestamp: ls.CreationTimestamp},
		Spec:       ls.Spec,
	}
}

// keepReferenceGrant keeps a ReferenceGrant's spec, as the v1 type.
func keepReferenceGrant(obj client.Object) metav1.Object {
	var spec gatewayv1.ReferenceGrantSpec
	switch g := obj.(type) {
	case *gatewayv1.ReferenceGrant:
		spec = g.Spec
	case *gatewayv1beta1.ReferenceGrant:
		spec = (*gatewayv1.ReferenceGrant)(g).Spec
	}
	return &gatewayv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: obj.GetNamespace(), Name: obj.GetName()}, Spec: spec}
}

// keepRoute trims a route as the cache does (TrimRoute), and drops its
// status and the metadata the evaluator does not read.
func keepRoute(obj client.Object) metav1.Object {
	_, _ = TrimRoute(obj)
	obj.SetUID("")
	obj.SetResourceVersion("")
	obj.SetCreationTimestamp(metav1.Time{})
	obj.SetFinalizers(nil)
	obj.SetOwnerReferences(nil)
	clearRouteStatus(obj)
	return obj
}

// clearRouteStatus drops a route's status: the evaluator judges the spec,
// and on a big cluster every route carries a status entry per controller.
func clearRouteStatus(obj client.Object) {
	switch r := obj.(type) {
	case *gatewayv1.HTTPRoute:
		r.Status = gatewayv1.HTTPRouteStatus{}
	case *gatewayv1.GRPCRoute:
		r.Status = gatewayv1.GRPCRouteStatus{}
	case *gatewayv1.TLSRoute:
		r.Status = gatewayv1.TLSRouteStatus{}
	case *gatewayv1.TCPRoute:
		r.Status = gatewayv1.TCPRouteStatus{}
	case *gatewayv1.UDPRoute:
		r.Status = gatewayv1.UDPRouteStatus{}
	}
}
