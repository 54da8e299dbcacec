package cluster

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// IndexParentGateway indexes routes by the Gateways their parentRefs name,
// as "namespace/name", so that a Gateway change finds its routes without a
// cluster-wide list.
const IndexParentGateway = "gatewarden.dev/parent-gateway"

// IndexBackendNamespace indexes routes by the other namespaces their
// backendRefs point into, so that a ReferenceGrant change finds the routes it
// could cover.
const IndexBackendNamespace = "gatewarden.dev/backend-namespace"

// CacheOptions returns the cache options gatewarden runs with: managedFields
// are stripped from everything, and routes keep only what the evaluator and
// the status reconciler read, so that memory scales with what matters.
func CacheOptions(routeTypes []RouteType) cache.Options {
	byObject := map[client.Object]cache.ByObject{}
	for _, t := range routeTypes {
		byObject[t.NewObject()] = cache.ByObject{Transform: TrimRoute}
	}
	// The webhook reads Gateways, Namespaces and ReferenceGrants on every
	// admission and never modifies them: it reads them without a deep copy.
	shared := ptr.To(true)
	byObject[&corev1.Namespace{}] = cache.ByObject{Transform: trimNamespace, UnsafeDisableDeepCopy: shared}
	byObject[&gatewayv1.Gateway{}] = cache.ByObject{Transform: cache.TransformStripManagedFields(), UnsafeDisableDeepCopy: shared}
	byObject[&gatewayv1.ReferenceGrant{}] = cache.ByObject{Transform: cache.TransformStripManagedFields(), UnsafeDisableDeepCopy: shared}
	byObject[&gatewayv1beta1.ReferenceGrant{}] = cache.ByObject{Transform: cache.TransformStripManagedFields(), UnsafeDisableDeepCopy: shared}
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         byObject,
	}
}

var _ toolscache.TransformFunc = TrimRoute

// TrimRoute drops the fields of a route that gatewarden never reads: its
// managedFields, labels and annotations, and in every rule all but the backend
// references (matches, timeouts, what filters do besides referencing a
// backend...). It keeps status: the reconciler must see the entries of
// other controllers to leave them be. The strings it keeps are interned.
func TrimRoute(obj any) (any, error) {
	if o, ok := obj.(client.Object); ok {
		o.SetManagedFields(nil)
		o.SetAnnotations(nil)
		o.SetLabels(nil)
		o.SetNamespace(intern(o.GetNamespace()))
	}
	defer internRoute(obj)
	switch r := obj.(type) {
	case *gatewayv1.HTTPRoute:
		for i := range r.Spec.Rules {
			rule := &r.Spec.Rules[i]
			*rule = gatewayv1.HTTPRouteRule{Filters: httpFiltersWithRefs(rule.Filters), BackendRefs: rule.BackendRefs}
			for j := range rule.BackendRefs {
				rule.BackendRefs[j].Filters = httpFiltersWithRefs(rule.BackendRefs[j].Filters)
			}
		}
	case *gatewayv1.GRPCRoute:
		for i := range r.Spec.Rules {
			rule := &r.Spec.Rules[i]
			*rule = gatewayv1.GRPCRouteRule{Filters: grpcFiltersWithRefs(rule.Filters), BackendRefs: rule.BackendRefs}
			for j := range rule.BackendRefs {
				rule.BackendRefs[j].Filters = grpcFiltersWithRefs(rule.BackendRefs[j].Filters)
			}
		}
	}
	return obj, nil
}

// httpFiltersWithRefs keeps of each filter its type and its backend
// reference, if any. Every filter keeps its place, so that field paths
// (spec.rules[0].filters[1]...) still point where the user wrote them.
func httpFiltersWithRefs(filters []gatewayv1.HTTPRouteFilter) []gatewayv1.HTTPRouteFilter {
	if len(filters) == 0 {
		return nil
	}
	out := make([]gatewayv1.HTTPRouteFilter, len(filters))
	for i, f := range filters {
		out[i].Type = f.Type
		if f.RequestMirror != nil {
			out[i].RequestMirror = &gatewayv1.HTTPRequestMirrorFilter{BackendRef: f.RequestMirror.BackendRef}
		}
		if f.ExternalAuth != nil {
			out[i].ExternalAuth = &gatewayv1.HTTPExternalAuthFilter{BackendRef: f.ExternalAuth.BackendRef}
		}
	}
	return out
}

func grpcFiltersWithRefs(filters []gatewayv1.GRPCRouteFilter) []gatewayv1.GRPCRouteFilter {
	if len(filters) == 0 {
		return nil
	}
	out := make([]gatewayv1.GRPCRouteFilter, len(filters))
	for i, f := range filters {
		out[i].Type = f.Type
		if f.RequestMirror != nil {
			out[i].RequestMirror = &gatewayv1.HTTPRequestMirrorFilter{BackendRef: f.RequestMirror.BackendRef}
		}
	}
	return out
}

// trimNamespace keeps a Namespace's labels, the only thing the evaluator
// reads of it.
func trimNamespace(obj any) (any, error) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		ns.ManagedFields = nil
		ns.Annotations = nil
		ns.Spec = corev1.NamespaceSpec{}
		ns.Status = corev1.NamespaceStatus{}
	}
	return obj, nil
}

// ParentGateways returns every Gateway a route's parentRefs name, once each.
func ParentGateways(r *attachment.Route) []types.NamespacedName {
	var keys []types.NamespacedName
	for i := range r.ParentRefs {
		ref := attachment.DefaultParentRef(r.Namespace, &r.ParentRefs[i])
		if ref.IsGateway() && !slices.Contains(keys, ref.Key()) {
			keys = append(keys, ref.Key())
		}
	}
	return keys
}

// ParentGatewayKeys returns the "namespace/name" of every Gateway a route's
// parentRefs name, the values of IndexParentGateway.
func ParentGatewayKeys(r *attachment.Route) []string {
	var keys []string
	for _, k := range ParentGateways(r) {
		keys = append(keys, k.String())
	}
	return keys
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

// IndexRoutes registers IndexParentGateway and IndexBackendNamespace for
// every route type. It also starts the informers of those types when the
// cache starts.
func IndexRoutes(ctx context.Context, indexer client.FieldIndexer, routeTypes []RouteType) error {
	indexes := map[string]func(*attachment.Route) []string{
		IndexParentGateway:    ParentGatewayKeys,
		IndexBackendNamespace: BackendNamespaces,
	}
	for _, t := range routeTypes {
		for name, values := range indexes {
			err := indexer.IndexField(ctx, t.NewObject(), name, func(o client.Object) []string {
				r, err := attachment.RouteFor(o)
				if err != nil {
					return nil
				}
				return values(r)
			})
			if err != nil {
				return fmt.Errorf("indexing %s by %s: %w", t.Kind, name, err)
			}
		}
	}
	return nil
}
