package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// RoutesOf lists the routes of every served kind whose parentRefs name the
// parent, through the cache's index, sorted by kind, then namespace/name.
// With live set, each one is read again from the API server, and those
// deleted are dropped.
func (r *Reader) RoutesOf(ctx context.Context, parent attachment.ParentKey, live bool) ([]*attachment.Route, error) {
	var routes []*attachment.Route
	for _, t := range r.RouteTypes {
		list := t.NewList()
		if err := r.Cache.List(ctx, list, client.MatchingFields{IndexParent: ParentIndexValue(parent)}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing the %ss of %s: %w", t.Kind, parent, err)
		}
		rs, err := RoutesOf(list)
		if err != nil {
			return nil, err
		}
		if live {
			if rs, err = r.reread(ctx, t, rs); err != nil {
				return nil, err
			}
		}
		slices.SortFunc(rs, func(a, b *attachment.Route) int {
			return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
		})
		routes = append(routes, rs...)
	}
	return routes, nil
}

// reread reads routes again from the API server, dropping those deleted.
func (r *Reader) reread(ctx context.Context, t attachment.RouteType, routes []*attachment.Route) ([]*attachment.Route, error) {
	var out []*attachment.Route
	for _, route := range routes {
		obj := t.NewObject()
		err := r.Live.Get(ctx, types.NamespacedName{Namespace: route.Namespace, Name: route.Name}, obj)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s %s/%s from the API server: %w", t.Kind, route.Namespace, route.Name, err)
		}
		fresh, err := t.Route(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, fresh)
	}
	return out, nil
}

// RoutesIn lists the routes of every served kind in one namespace, sorted by
// kind and name, from the cache or, with live set, from the API server.
func (r *Reader) RoutesIn(ctx context.Context, namespace string, live bool) ([]*attachment.Route, error) {
	reader := r.Cache
	opts := []client.ListOption{client.InNamespace(namespace), client.UnsafeDisableDeepCopy}
	if live {
		reader, opts = r.Live, opts[:1]
	}
	var routes []*attachment.Route
	for _, t := range r.RouteTypes {
		list := t.NewList()
		if err := reader.List(ctx, list, opts...); err != nil {
			return nil, fmt.Errorf("listing %ss in %s: %w", t.Kind, namespace, err)
		}
		rs, err := RoutesOf(list)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(rs, func(a, b *attachment.Route) int { return strings.Compare(a.Name, b.Name) })
		routes = append(routes, rs...)
	}
	return routes, nil
}

// Gateways lists every Gateway that admits routes or ListenerSets by a
// namespace label selector, prepared, from the cache or, with live set, from
// the API server: the Gateways a label change can grant.
func (r *Reader) Gateways(ctx context.Context, live bool) ([]*attachment.Gateway, error) {
	reader, opts := r.Cache, []client.ListOption{client.UnsafeDisableDeepCopy}
	if live {
		reader, opts = r.Live, nil
	}
	list := &gatewayv1.GatewayList{}
	if err := reader.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing Gateways: %w", err)
	}
	gateways := make([]*attachment.Gateway, 0, len(list.Items))
	for i := range list.Items {
		if selectsByLabel(&list.Items[i]) {
			gateways = append(gateways, r.Prepare(&list.Items[i]))
		}
	}
	return gateways, nil
}

// selectsByLabel reports whether a Gateway has a namespace selector, before
// preparing it for evaluation.
func selectsByLabel(gw *gatewayv1.Gateway) bool {
	if al := gw.Spec.AllowedListeners; al != nil && al.Namespaces != nil && al.Namespaces.From != nil &&
		*al.Namespaces.From == gatewayv1.NamespacesFromSelector {
		return true
	}
	for i := range gw.Spec.Listeners {
		ar := gw.Spec.Listeners[i].AllowedRoutes
		if ar != nil && ar.Namespaces != nil && ar.Namespaces.From != nil && *ar.Namespaces.From == gatewayv1.NamespacesFromSelector {
			return true
		}
	}
	return false
}

// NamespacesMatching returns the names of the Namespaces in the cache that a
// selector matches, sorted.
func (r *Reader) NamespacesMatching(ctx context.Context, selector labels.Selector) ([]string, error) {
	list := &corev1.NamespaceList{}
	if err := r.Cache.List(ctx, list, client.MatchingLabelsSelector{Selector: selector}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing Namespaces: %w", err)
	}
	names := make([]string, 0, len(list.Items))
	for i := range list.Items {
		names = append(names, list.Items[i].Name)
	}
	slices.Sort(names)
	return names, nil
}

// Change names what a what-if evaluation (a Namespace relabelled, a Gateway
// or a ListenerSet edited) must be able to evaluate.
type Change struct {
	Routes       []*attachment.Route
	ListenerSets []types.NamespacedName
	Gateways     []types.NamespacedName
}

// ObjectsForChange returns an Index that can evaluate the routes and judge
// the ListenerSets of a change, and stays right when the caller replaces a
// Namespace's labels, a Gateway or a ListenerSet in it (Index.With...): it
// holds every ListenerSet of every Gateway involved, with their Namespaces'
// labels and their certificates' ReferenceGrants, so that the merged
// listener tables it builds are whole. With live set, the routes' and
// ListenerSets' own Namespaces and the Gateways are read from the API
// server; the other ListenerSets of a Gateway come from the cache.
func (r *Reader) ObjectsForChange(ctx context.Context, c Change, live bool) (*attachment.Index, error) {
	ix := attachment.NewIndex()
	gateways := slices.Clone(c.Gateways)
	var grantNamespaces []string
	for _, route := range c.Routes {
		if err := r.addNamespace(ctx, ix, route.Namespace, live); err != nil {
			return nil, err
		}
		grantNamespaces = append(grantNamespaces, BackendNamespaces(route)...)
		for _, k := range ParentKeys(route) {
			switch k.Kind {
			case attachment.KindGateway:
				gateways = append(gateways, k.NamespacedName())
			case attachment.KindListenerSet:
				c.ListenerSets = append(c.ListenerSets, k.NamespacedName())
			}
		}
	}
	added := map[types.NamespacedName]bool{}
	for _, key := range c.ListenerSets {
		if added[key] {
			continue
		}
		added[key] = true
		obj, err := r.ListenerSet(ctx, key, live)
		if err != nil {
			return nil, err
		}
		if obj == nil {
			continue
		}
		ls := r.PrepareListenerSet(obj)
		ix.AddPreparedListenerSet(ls)
		if ls.NamesGateway() {
			gateways = append(gateways, ls.GatewayRef.Key().NamespacedName())
		}
		if err := r.addNamespace(ctx, ix, ls.Namespace, live); err != nil {
			return nil, err
		}
		grantNamespaces = append(grantNamespaces, certificateNamespaces(obj)...)
	}
	slices.SortFunc(gateways, func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) })
	for _, key := range slices.Compact(gateways) {
		gw, err := r.addGateway(ctx, ix, key, live)
		if err != nil {
			return nil, err
		}
		if gw == nil {
			continue
		}
		sets, err := r.ListenerSetsOf(ctx, key)
		if err != nil {
			return nil, err
		}
		for _, ls := range sets {
			if added[ls.NamespacedName()] {
				continue
			}
			added[ls.NamespacedName()] = true
			ix.AddPreparedListenerSet(ls)
			if err := r.addNamespace(ctx, ix, ls.Namespace, false); err != nil {
				return nil, err
			}
			for i := range ls.Listeners {
				grantNamespaces = append(grantNamespaces, ls.Listeners[i].CertificateNamespaces()...)
			}
		}
	}
	slices.Sort(grantNamespaces)
	for _, ns := range slices.Compact(grantNamespaces) {
		grants, err := r.grants(ctx, ns, live)
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			ix.AddReferenceGrant(g)
		}
	}
	return ix, nil
}
