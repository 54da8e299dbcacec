package cluster

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// IndexParent indexes routes by the parents their parentRefs name, as
// ParentIndexValue writes them ("Gateway/namespace/name",
// "ListenerSet/namespace/name"), so that a Gateway or ListenerSet change
// finds its routes without a cluster-wide list.
const IndexParent = "gatewarden.dev/parent"

// IndexBackendNamespace indexes routes by the other namespaces their
// backendRefs point into, so that a ReferenceGrant change finds the routes it
// could cover.
const IndexBackendNamespace = "gatewarden.dev/backend-namespace"

// IndexListenerSetGateway indexes ListenerSets by the Gateway their
// spec.parentRef names ("namespace/name"), to build a Gateway's merged
// listener table and to find what a Gateway change touches.
const IndexListenerSetGateway = "gatewarden.dev/listenerset-gateway"

// IndexCertificateNamespace indexes ListenerSets by the other namespaces
// their TLS certificateRefs point into, so that a ReferenceGrant change finds
// the ListenerSets it could make valid.
const IndexCertificateNamespace = "gatewarden.dev/certificate-namespace"

// ParentIndexValue is how IndexParent writes a parent.
func ParentIndexValue(k attachment.ParentKey) string {
	return string(k.Kind) + "/" + k.Namespace + "/" + k.Name
}

// CacheOptions returns the cache options gatewarden runs with: every object
// keeps only what the evaluator and the status reconciler read of it, so
// that memory scales with what matters. Of a route: its parentRefs,
// hostnames, backend references into other namespaces and status; of a
// Gateway: its listeners, allowedListeners and enforcement annotation; of a
// Namespace: its labels; of a ListenerSet and a ReferenceGrant: their spec.
// Name, namespace, uid, resourceVersion and generation stay on all of them.
func CacheOptions(routeTypes []attachment.RouteType, listenerSets bool) cache.Options {
	byObject := map[client.Object]cache.ByObject{}
	for _, t := range routeTypes {
		byObject[t.NewObject()] = cache.ByObject{Transform: TrimRoute}
	}
	// The webhook reads Gateways, ListenerSets, Namespaces and
	// ReferenceGrants on every admission and never modifies them: it reads
	// them without a deep copy.
	shared := ptr.To(true)
	byObject[&corev1.Namespace{}] = cache.ByObject{Transform: trimNamespace, UnsafeDisableDeepCopy: shared}
	byObject[&gatewayv1.Gateway{}] = cache.ByObject{Transform: trimGateway, UnsafeDisableDeepCopy: shared}
	byObject[&gatewayv1.ReferenceGrant{}] = cache.ByObject{Transform: trimReferenceGrant, UnsafeDisableDeepCopy: shared}
	byObject[&gatewayv1beta1.ReferenceGrant{}] = cache.ByObject{Transform: trimReferenceGrant, UnsafeDisableDeepCopy: shared}
	if listenerSets {
		byObject[&gatewayv1.ListenerSet{}] = cache.ByObject{Transform: trimListenerSet, UnsafeDisableDeepCopy: shared}
	}
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         byObject,
	}
}

var _ toolscache.TransformFunc = TrimRoute

// trimMeta drops the metadata gatewarden never reads: managedFields,
// labels, annotations, owner references, finalizers.
func trimMeta(o metav1.Object) {
	o.SetManagedFields(nil)
	o.SetAnnotations(nil)
	o.SetLabels(nil)
	o.SetOwnerReferences(nil)
	o.SetFinalizers(nil)
	o.SetGenerateName("")
}

// TrimRoute drops the fields of a route that gatewarden never reads: its
// metadata but for name, namespace, uid, resourceVersion and generation,
// and of its rules all but the backend references into other namespaces
// (attachment.RouteType.TrimRules). It keeps status: the reconciler must see
// the entries of other controllers to leave them be. The strings it keeps
// are interned.
func TrimRoute(obj any) (any, error) {
	o, ok := obj.(client.Object)
	if !ok {
		return obj, nil
	}
	trimMeta(o)
	o.SetNamespace(intern(o.GetNamespace()))
	for i := range attachment.RouteTypes {
		t := &attachment.RouteTypes[i]
		if r, err := t.Route(o); err == nil {
			t.TrimRules(o)
			internRoute(r, t.Status(o))
			break
		}
	}
	return obj, nil
}

// trimNamespace keeps a Namespace's labels, the only thing the evaluator
// reads of it.
func trimNamespace(obj any) (any, error) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return obj, nil
	}
	labels := ns.Labels
	trimMeta(ns)
	ns.Labels = internLabels(labels, ns.Name)
	ns.Spec = corev1.NamespaceSpec{}
	ns.Status = corev1.NamespaceStatus{}
	return obj, nil
}

// trimGateway keeps of a Gateway what attachment.NewGateway reads: its
// enforcement annotation, and of its spec the listeners (name, hostname,
// port, protocol, TLS mode, allowedRoutes) and allowedListeners. Its status
// is its implementation's, which gatewarden neither reads nor writes.
func trimGateway(obj any) (any, error) {
	gw, ok := obj.(*gatewayv1.Gateway)
	if !ok {
		return obj, nil
	}
	enforcement, annotated := gw.Annotations[attachment.EnforcementAnnotation]
	trimMeta(gw)
	if annotated {
		gw.Annotations = map[string]string{attachment.EnforcementAnnotation: enforcement}
	}
	gw.Namespace = intern(gw.Namespace)
	gw.Spec = gatewayv1.GatewaySpec{Listeners: gw.Spec.Listeners, AllowedListeners: gw.Spec.AllowedListeners}
	for i := range gw.Spec.Listeners {
		internListener(&gw.Spec.Listeners[i])
	}
	gw.Status = gatewayv1.GatewayStatus{}
	return obj, nil
}

// trimListenerSet keeps a ListenerSet's spec: its status is the Gateway
// implementation's, which gatewarden neither reads nor writes.
func trimListenerSet(obj any) (any, error) {
	if ls, ok := obj.(*gatewayv1.ListenerSet); ok {
		trimMeta(ls)
		ls.Status = gatewayv1.ListenerSetStatus{}
	}
	return obj, nil
}

// trimReferenceGrant keeps a ReferenceGrant's spec, which has no status.
func trimReferenceGrant(obj any) (any, error) {
	if o, ok := obj.(metav1.Object); ok {
		trimMeta(o)
	}
	return obj, nil
}

// ParentKeys returns every Gateway and ListenerSet a route's parentRefs
// name, once each.
func ParentKeys(r *attachment.Route) []attachment.ParentKey {
	var keys []attachment.ParentKey
	for i := range r.ParentRefs {
		ref := attachment.DefaultParentRef(r.Namespace, &r.ParentRefs[i])
		if ref.Governed() && !slices.Contains(keys, ref.Key()) {
			keys = append(keys, ref.Key())
		}
	}
	return keys
}

// parentIndexValues are the values of IndexParent for a route.
func parentIndexValues(r *attachment.Route) []string {
	var out []string
	for _, k := range ParentKeys(r) {
		out = append(out, ParentIndexValue(k))
	}
	return out
}

// BackendNamespaces returns the namespaces other than its own that a route's
// backendRefs point into, once each.
func BackendNamespaces(r *attachment.Route) []string {
	var out []string
	for _, b := range r.BackendRefs {
		if b.Ref.Namespace != nil && string(*b.Ref.Namespace) != r.Namespace && !slices.Contains(out, string(*b.Ref.Namespace)) {
			out = append(out, string(*b.Ref.Namespace))
		}
	}
	return out
}

// Index is one field index of the cache.
type Index struct {
	Object client.Object
	Field  string
	Values client.IndexerFunc
}

// Indexes are the cache's field indexes: IndexParent and
// IndexBackendNamespace on every route type, and, when the API server serves
// ListenerSets, IndexListenerSetGateway and IndexCertificateNamespace.
func Indexes(routeTypes []attachment.RouteType, listenerSets bool) []Index {
	var out []Index
	for _, t := range routeTypes {
		for field, values := range map[string]func(*attachment.Route) []string{
			IndexParent:           parentIndexValues,
			IndexBackendNamespace: BackendNamespaces,
		} {
			out = append(out, Index{Object: t.NewObject(), Field: field, Values: func(o client.Object) []string {
				r, err := t.Route(o)
				if err != nil {
					return nil
				}
				return values(r)
			}})
		}
	}
	if listenerSets {
		out = append(out,
			Index{Object: &gatewayv1.ListenerSet{}, Field: IndexListenerSetGateway, Values: listenerSetGateway},
			Index{Object: &gatewayv1.ListenerSet{}, Field: IndexCertificateNamespace, Values: certificateNamespaces},
		)
	}
	return out
}

// IndexRoutes registers Indexes with the cache. It also starts the
// informers of those types when the cache starts.
func IndexRoutes(ctx context.Context, indexer client.FieldIndexer, routeTypes []attachment.RouteType, listenerSets bool) error {
	for _, ix := range Indexes(routeTypes, listenerSets) {
		if err := indexer.IndexField(ctx, ix.Object, ix.Field, ix.Values); err != nil {
			return fmt.Errorf("indexing %T by %s: %w", ix.Object, ix.Field, err)
		}
	}
	return nil
}

// ListenerSetGatewayValue is how IndexListenerSetGateway writes a Gateway.
func ListenerSetGatewayValue(namespace, name string) string { return namespace + "/" + name }

func listenerSetGateway(o client.Object) []string {
	ls, ok := o.(*gatewayv1.ListenerSet)
	if !ok {
		return nil
	}
	p := attachment.NewListenerSet(ls)
	if !p.NamesGateway() {
		return nil
	}
	return []string{ListenerSetGatewayValue(p.GatewayRef.Namespace, p.GatewayRef.Name)}
}

// certificateNamespaces are the other namespaces a ListenerSet's TLS
// certificateRefs point into.
func certificateNamespaces(o client.Object) []string {
	ls, ok := o.(*gatewayv1.ListenerSet)
	if !ok || ls == nil {
		return nil
	}
	var out []string
	for _, l := range ls.Spec.Listeners {
		if l.TLS == nil {
			continue
		}
		for _, ref := range l.TLS.CertificateRefs {
			if ref.Namespace != nil && string(*ref.Namespace) != ls.Namespace && !slices.Contains(out, string(*ref.Namespace)) {
				out = append(out, string(*ref.Namespace))
			}
		}
	}
	return out
}
