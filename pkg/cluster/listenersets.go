package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// tableCache keeps each Gateway's merged listener table across admissions,
// for one version of the Gateway and of everything its ListenerSets are
// judged on. Building a table costs every ListenerSet of the Gateway; with
// it, judging one ListenerSet costs its own listeners.
type tableCache struct {
	// watching is set once Watch has hooked the informers that tell a
	// table is stale; without them every table is built afresh.
	watching atomic.Bool
	// epoch counts changes to ListenerSets, Namespace labels and
	// ReferenceGrants, anything of which a table may depend on.
	epoch atomic.Uint64

	mu      sync.Mutex
	entries map[types.UID]tableEntry
}

type tableEntry struct {
	resourceVersion string
	epoch           uint64
	table           *attachment.ListenerTable
}

// Table returns the merged listener table of a Gateway: its listeners and
// those of the ListenerSets the cache holds for it, judged on what the cache
// holds. Its Gateway is r.Prepare(gw).
func (r *Reader) Table(ctx context.Context, gw *gatewayv1.Gateway) (*attachment.ListenerTable, error) {
	g := r.Prepare(gw)
	watching := r.tables.watching.Load() && gw.UID != ""
	epoch := r.tables.epoch.Load()
	if watching {
		r.tables.mu.Lock()
		e, ok := r.tables.entries[gw.UID]
		r.tables.mu.Unlock()
		if ok && e.resourceVersion == gw.ResourceVersion && e.epoch == epoch && e.table.Gateway == g {
			return e.table, nil
		}
	}
	sets, err := r.ListenerSetsOf(ctx, g.NamespacedName())
	if err != nil {
		return nil, err
	}
	t := attachment.NewListenerTable(g, sets, r.Lookup(ctx))
	if watching {
		r.tables.mu.Lock()
		if len(r.tables.entries) >= maxPrepared {
			clear(r.tables.entries)
		}
		r.tables.entries[gw.UID] = tableEntry{resourceVersion: gw.ResourceVersion, epoch: epoch, table: t}
		r.tables.mu.Unlock()
	}
	return t, nil
}

// ListenerSetsOf returns the ListenerSets in the cache whose parentRef names
// the Gateway, prepared (not judged).
func (r *Reader) ListenerSetsOf(ctx context.Context, gateway types.NamespacedName) ([]*attachment.ListenerSet, error) {
	return r.listListenerSets(ctx, client.MatchingFields{IndexListenerSetGateway: ListenerSetGatewayValue(gateway.Namespace, gateway.Name)})
}

// ListenerSetsWithCertificatesIn returns the ListenerSets in the cache with
// a TLS certificateRef into a namespace other than their own, prepared.
func (r *Reader) ListenerSetsWithCertificatesIn(ctx context.Context, namespace string) ([]*attachment.ListenerSet, error) {
	return r.listListenerSets(ctx, client.MatchingFields{IndexCertificateNamespace: namespace})
}

// ListenerSetsIn returns the ListenerSets in the cache in a namespace,
// prepared (not judged).
func (r *Reader) ListenerSetsIn(ctx context.Context, namespace string) ([]*attachment.ListenerSet, error) {
	return r.listListenerSets(ctx, client.InNamespace(namespace))
}

func (r *Reader) listListenerSets(ctx context.Context, opts ...client.ListOption) ([]*attachment.ListenerSet, error) {
	if !r.ListenerSets {
		return nil, nil
	}
	list := &gatewayv1.ListenerSetList{}
	if err := r.Cache.List(ctx, list, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		return nil, fmt.Errorf("listing ListenerSets: %w", err)
	}
	out := make([]*attachment.ListenerSet, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, r.PrepareListenerSet(&list.Items[i]))
	}
	slices.SortFunc(out, func(a, b *attachment.ListenerSet) int {
		return cmpKeys(a.ParentKey, b.ParentKey)
	})
	return out, nil
}

func cmpKeys(a, b attachment.ParentKey) int {
	if a.Namespace != b.Namespace {
		if a.Namespace < b.Namespace {
			return -1
		}
		return 1
	}
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}

// Watch hooks the informers of what a merged listener table depends on
// (ListenerSets, Namespace labels, ReferenceGrants), so that a table is kept
// until one of them changes. Until it is called, tables are built afresh
// for every admission.
func (r *Reader) Watch(ctx context.Context, informers cache.Informers) error {
	if !r.ListenerSets {
		return nil
	}
	stale := func() { r.tables.epoch.Add(1) }
	onChange := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { stale() },
		UpdateFunc: func(any, any) { stale() },
		DeleteFunc: func(any) { stale() },
	}
	var grant client.Object = &gatewayv1beta1.ReferenceGrant{}
	if r.GrantV1 {
		grant = &gatewayv1.ReferenceGrant{}
	}
	for _, obj := range []client.Object{&gatewayv1.ListenerSet{}, grant} {
		inf, err := informers.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("watching %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(onChange); err != nil {
			return fmt.Errorf("watching %T: %w", obj, err)
		}
	}
	inf, err := informers.GetInformer(ctx, &corev1.Namespace{})
	if err != nil {
		return fmt.Errorf("watching Namespaces: %w", err)
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { stale() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(metav1.Object)
			n, ok2 := newObj.(metav1.Object)
			if !ok1 || !ok2 || !equality.Semantic.DeepEqual(o.GetLabels(), n.GetLabels()) {
				stale()
			}
		},
		DeleteFunc: func(any) { stale() },
	})
	if err != nil {
		return fmt.Errorf("watching Namespaces: %w", err)
	}
	r.tables.watching.Store(true)
	return nil
}

// ConfirmConflicts confirms, with live reads, the ListenerSets a rejection
// depends on through a conflict: a listener that loses to another
// ListenerSet's listener accepts no route only while that ListenerSet is as
// the cache says. The tables are built from the cache; before a denial
// rests on one, the winner is read live. It returns an error when a winner
// is gone or has changed since the cache saw it, so that the caller does
// not deny.
//
// The winners are read at once.
func (r *Reader) ConfirmConflicts(ctx context.Context, res attachment.RouteResult) error {
	var winners []types.NamespacedName
	for i := range res.Parents {
		p := &res.Parents[i]
		if p.Accepted != metav1.ConditionFalse || p.Parent == nil {
			continue
		}
		for j := range p.Parent.Listeners {
			c := p.Parent.Listeners[j].Conflict
			if c != nil && c.Parent.Kind == attachment.KindListenerSet && !slices.Contains(winners, c.Parent.NamespacedName()) {
				winners = append(winners, c.Parent.NamespacedName())
			}
		}
	}
	if len(winners) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, key := range winners {
		g.Go(func() error { return r.confirmUnchanged(gctx, key) })
	}
	return g.Wait()
}

func (r *Reader) confirmUnchanged(ctx context.Context, key types.NamespacedName) error {
	cached := &gatewayv1.ListenerSet{}
	if err := r.Cache.Get(ctx, key, cached); err != nil {
		return fmt.Errorf("reading ListenerSet %s from the cache: %w", key, err)
	}
	fresh, err := r.ListenerSet(ctx, key, true)
	switch {
	case err != nil:
		return err
	case fresh == nil:
		return fmt.Errorf("ListenerSet %s, whose listener takes precedence, was deleted a moment ago", key)
	case fresh.ResourceVersion != cached.ResourceVersion:
		return fmt.Errorf("ListenerSet %s, whose listener takes precedence, changed a moment ago", key)
	}
	return nil
}

// JudgeListenerSet judges a ListenerSet as it would be if it were written as
// obj: against its Gateway's merged listener table, on its Namespace's
// labels and its certificates' ReferenceGrants. With live set, the Gateway,
// the Namespace and the grants are confirmed with the API server; the other
// ListenerSets of the Gateway come from the cache.
func (r *Reader) JudgeListenerSet(ctx context.Context, obj *gatewayv1.ListenerSet, live bool) (*attachment.ListenerSet, error) {
	ix := attachment.NewIndex()
	ls := attachment.NewListenerSet(obj)
	ix.AddPreparedListenerSet(ls)
	if err := r.addNamespace(ctx, ix, ls.Namespace, live); err != nil {
		return nil, err
	}
	for _, ns := range certificateNamespaces(obj) {
		grants, err := r.grants(ctx, ns, live)
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			ix.AddReferenceGrant(g)
		}
	}
	if ls.NamesGateway() {
		gw, err := r.addGateway(ctx, ix, ls.GatewayRef.Key().NamespacedName(), live)
		if err != nil {
			return nil, err
		}
		if gw != nil {
			t, err := r.Table(ctx, gw)
			if err != nil {
				return nil, err
			}
			ix.AddTable(t)
		}
	}
	return ix.ListenerSet(ls.NamespacedName()), nil
}
