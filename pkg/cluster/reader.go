package cluster

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// DefaultConfirmTimeout is how long the reads of one admission may wait on
// the API server by default: well under the 5 seconds the chart gives the
// API server to wait on gatewarden.
const DefaultConfirmTimeout = 2 * time.Second

// Options say what the API server serves.
type Options struct {
	// RouteTypes are the route kinds the API server serves.
	RouteTypes []attachment.RouteType
	// GrantV1 says that ReferenceGrant is read in v1; otherwise v1beta1,
	// which every gateway-api release since v0.6 serves.
	GrantV1 bool
	// ListenerSets says that the API server serves ListenerSet (v1).
	// Without it, a parentRef to a ListenerSet is one whose parent is not
	// found.
	ListenerSets bool
}

// Reader is the one place gatewarden reads the cluster for the evaluator:
// for a route, the parents it names, its Namespace and the ReferenceGrants
// of its backends' namespaces; for the webhooks' what-ifs, the routes and
// ListenerSets a change touches.
//
// It reads the cache first: an allow is decided from the cache alone. The
// cache can lag a write by milliseconds, so before a rejection is reported
// the caller asks again: Confirm reads what the rejection depends on from
// the API server (a cache miss gets the same GET), the webhooks' what-ifs
// read with live=true.
type Reader struct {
	Cache client.Reader
	// Live reads the API server. It should not sit behind a client-side
	// rate limiter: a denial waits on it (serve gives it none; the API
	// server's priority and fairness protects the API server).
	Live client.Reader
	Options
	// ConfirmTimeout bounds the reads of one admission (see Deadline); zero
	// leaves them unbounded.
	ConfirmTimeout time.Duration
	// HedgeAfter is how long a list by name may take before a GET races it
	// (readByName); zero makes the lists alone.
	HedgeAfter time.Duration
	// byName is the state of readByName per kind, fixed at NewReader.
	byName map[schema.GroupVersionKind]*byNameReads

	// mu guards flights (confirm.go); it is never held while reading.
	mu      sync.Mutex
	flights map[confirmKey]*keyFlights
	now     func() time.Time

	// prepared memoizes attachment.NewGateway and NewListenerSet per object
	// version: parsing selectors on every admission is most of an
	// admission's cost.
	preparedMu sync.Mutex
	prepared   map[types.UID]preparedObject

	tables tableCache
}

type preparedObject struct {
	resourceVersion string
	object          any
}

// maxPrepared bounds the memo; past it, the memo starts over.
const maxPrepared = 10000

type confirmKey struct {
	kind string
	key  types.NamespacedName
	// cached is the resourceVersion the cache had ("" for a miss): once the
	// cache moves on, the confirmation no longer applies.
	cached string
}

type confirmation struct {
	obj    client.Object // nil when the object does not exist
	grants []*gatewayv1.ReferenceGrant
}

// NewReader returns a Reader over the manager's cache and live client.
func NewReader(cache, live client.Reader, o Options) *Reader {
	r := &Reader{
		Cache: cache, Live: live, Options: o, now: time.Now, HedgeAfter: DefaultHedgeAfter,
		flights: map[confirmKey]*keyFlights{}, prepared: map[types.UID]preparedObject{},
		tables: tableCache{entries: map[types.UID]tableEntry{}},
		byName: map[schema.GroupVersionKind]*byNameReads{},
	}
	for _, k := range metadataKinds {
		if k.byName {
			r.byName[k.gvk] = &byNameReads{}
		}
	}
	return r
}

// Deadline bounds the reads one admission makes, from the cache and the API
// server alike, by ConfirmTimeout from now. An admission that waits on the
// API server longer than the API server waits on gatewarden is answered by
// the API server's timeout instead ("context deadline exceeded", then the
// failurePolicy): with the deadline, gatewarden gives its own answer in
// time, one that says what it could not confirm (see Unanswered).
func (r *Reader) Deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.ConfirmTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, r.ConfirmTimeout)
}

// Unanswered reports whether a read failed because the API server did not
// answer before the deadline of ctx.
func Unanswered(ctx context.Context, err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// ObjectsFor returns what the evaluator needs to evaluate route. With live
// set, every object is confirmed against the API server; before a rejection
// is reported, Confirm reads only what the rejection depends on.
func (r *Reader) ObjectsFor(ctx context.Context, route *attachment.Route, live bool) (*attachment.Index, error) {
	return objectSource{r: r, live: live}.objectsFor(ctx, route)
}

// objectSource says where the objects of one evaluation are read: from the
// cache (a miss is read live), all of them live, or, for a confirmation,
// those Confirm just read live and the rest from the cache.
type objectSource struct {
	r    *Reader
	live bool
	// The objects read live for a confirmation, by key; a nil one does not
	// exist.
	namespaces map[types.NamespacedName]*corev1.Namespace
	gateways   map[types.NamespacedName]*gatewayv1.Gateway
	sets       map[types.NamespacedName]*gatewayv1.ListenerSet
	grants     map[string][]*gatewayv1.ReferenceGrant
}

func (s objectSource) objectsFor(ctx context.Context, route *attachment.Route) (*attachment.Index, error) {
	ix := attachment.NewIndex()
	if err := s.addNamespace(ctx, ix, route.Namespace); err != nil {
		return nil, err
	}
	grantNamespaces := BackendNamespaces(route)
	for _, key := range ParentKeys(route) {
		switch key.Kind {
		case attachment.KindGateway:
			if _, err := s.addGateway(ctx, ix, key.NamespacedName()); err != nil {
				return nil, err
			}
		case attachment.KindListenerSet:
			certs, err := s.addListenerSet(ctx, ix, key.NamespacedName())
			if err != nil {
				return nil, err
			}
			grantNamespaces = append(grantNamespaces, certs...)
		}
	}
	slices.Sort(grantNamespaces)
	for _, ns := range slices.Compact(grantNamespaces) {
		grants, err := s.readGrants(ctx, ns)
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			ix.AddReferenceGrant(g)
		}
	}
	return ix, nil
}

func (s objectSource) namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	key := types.NamespacedName{Name: name}
	if ns, ok := s.namespaces[key]; ok {
		return ns, nil
	}
	ns, _, err := get(ctx, s.r, key, newNamespace, s.live)
	return ns, err
}

func (s objectSource) gateway(ctx context.Context, key types.NamespacedName) (*gatewayv1.Gateway, error) {
	if gw, ok := s.gateways[key]; ok {
		return gw, nil
	}
	gw, _, err := get(ctx, s.r, key, newGateway, s.live)
	return gw, err
}

// listenerSet returns a ListenerSet, and whether it was read live.
func (s objectSource) listenerSet(ctx context.Context, key types.NamespacedName) (*gatewayv1.ListenerSet, bool, error) {
	if ls, ok := s.sets[key]; ok {
		return ls, true, nil
	}
	ls, _, err := get(ctx, s.r, key, newListenerSet, s.live)
	return ls, s.live, err
}

func (s objectSource) readGrants(ctx context.Context, namespace string) ([]*gatewayv1.ReferenceGrant, error) {
	if g, ok := s.grants[namespace]; ok {
		return g, nil
	}
	return s.r.grants(ctx, namespace, s.live)
}

func (s objectSource) addNamespace(ctx context.Context, ix *attachment.Index, name string) error {
	if _, ok := ix.NamespaceLabels(name); ok {
		return nil
	}
	ns, err := s.namespace(ctx, name)
	if err == nil && ns != nil {
		ix.AddNamespace(ns)
	}
	return err
}

// addGateway adds a Gateway, prepared, and returns it (nil when it does not
// exist).
func (s objectSource) addGateway(ctx context.Context, ix *attachment.Index, key types.NamespacedName) (*gatewayv1.Gateway, error) {
	gw, err := s.gateway(ctx, key)
	if err != nil || gw == nil {
		return nil, err
	}
	ix.AddPrepared(s.r.Prepare(gw))
	return gw, nil
}

// addListenerSet adds a ListenerSet, its Gateway with its merged listener
// table, and its Namespace, and returns the namespaces its certificates are
// in, whose ReferenceGrants it needs.
func (s objectSource) addListenerSet(ctx context.Context, ix *attachment.Index, key types.NamespacedName) ([]string, error) {
	if !s.r.ListenerSets {
		return nil, nil
	}
	obj, fresh, err := s.listenerSet(ctx, key)
	if err != nil || obj == nil {
		return nil, err
	}
	var ls *attachment.ListenerSet
	if fresh {
		// A fresh copy, so that it is judged against the table with what
		// was read live (its Namespace's labels, its certificates'
		// grants), not looked up as the table judged it from the cache.
		ls = attachment.NewListenerSet(obj)
	} else {
		ls = s.r.PrepareListenerSet(obj)
	}
	ix.AddPreparedListenerSet(ls)
	if err := s.addNamespace(ctx, ix, ls.Namespace); err != nil {
		return nil, err
	}
	if !ls.NamesGateway() {
		return nil, nil
	}
	gw, err := s.addGateway(ctx, ix, ls.GatewayRef.Key().NamespacedName())
	if err != nil || gw == nil {
		return nil, err
	}
	t, err := s.r.Table(ctx, gw)
	if err != nil {
		return nil, err
	}
	ix.AddTable(t)
	return certificateNamespaces(obj), nil
}

func (r *Reader) addNamespace(ctx context.Context, ix *attachment.Index, name string, live bool) error {
	return objectSource{r: r, live: live}.addNamespace(ctx, ix, name)
}

func (r *Reader) addGateway(ctx context.Context, ix *attachment.Index, key types.NamespacedName, live bool) (*gatewayv1.Gateway, error) {
	return objectSource{r: r, live: live}.addGateway(ctx, ix, key)
}

// Prepare returns attachment.NewGateway(gw), memoized by the Gateway's UID
// and resourceVersion. gw must not be modified afterwards.
func (r *Reader) Prepare(gw *gatewayv1.Gateway) *attachment.Gateway {
	return prepare(r, gw, attachment.NewGateway)
}

// PrepareListenerSet returns attachment.NewListenerSet(ls), memoized by its
// UID and resourceVersion. ls must not be modified afterwards.
func (r *Reader) PrepareListenerSet(ls *gatewayv1.ListenerSet) *attachment.ListenerSet {
	return prepare(r, ls, attachment.NewListenerSet)
}

func prepare[O client.Object, P any](r *Reader, obj O, newPrepared func(O) *P) *P {
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	if uid == "" || rv == "" {
		return newPrepared(obj)
	}
	r.preparedMu.Lock()
	p, ok := r.prepared[uid]
	r.preparedMu.Unlock()
	if ok && p.resourceVersion == rv {
		if out, ok := p.object.(*P); ok {
			return out
		}
	}
	out := newPrepared(obj)
	r.preparedMu.Lock()
	defer r.preparedMu.Unlock()
	if len(r.prepared) >= maxPrepared {
		clear(r.prepared)
	}
	r.prepared[uid] = preparedObject{resourceVersion: rv, object: out}
	return out
}

// Gateway reads one Gateway, from the cache or confirmed live. It returns nil
// when the Gateway does not exist.
func (r *Reader) Gateway(ctx context.Context, key types.NamespacedName, live bool) (*gatewayv1.Gateway, error) {
	gw, _, err := get(ctx, r, key, newGateway, live)
	return gw, err
}

// ListenerSet reads one ListenerSet, from the cache or confirmed live. It
// returns nil when it does not exist, or when the API server serves no
// ListenerSets.
func (r *Reader) ListenerSet(ctx context.Context, key types.NamespacedName, live bool) (*gatewayv1.ListenerSet, error) {
	if !r.ListenerSets {
		return nil, nil
	}
	ls, _, err := get(ctx, r, key, newListenerSet, live)
	return ls, err
}

// Namespace reads one Namespace, from the cache or confirmed live. It returns
// nil when the Namespace does not exist.
func (r *Reader) Namespace(ctx context.Context, name string, live bool) (*corev1.Namespace, error) {
	ns, _, err := get(ctx, r, types.NamespacedName{Name: name}, newNamespace, live)
	return ns, err
}

func newGateway() *gatewayv1.Gateway         { return &gatewayv1.Gateway{} }
func newListenerSet() *gatewayv1.ListenerSet { return &gatewayv1.ListenerSet{} }
func newNamespace() *corev1.Namespace        { return &corev1.Namespace{} }

// get reads an object from the cache; on a miss, or when live is set, it
// confirms with the API server. It returns false when the object does not
// exist. Objects it returns are shared and must not be modified.
func get[T client.Object](ctx context.Context, r *Reader, key types.NamespacedName, newObj func() T, live bool) (T, bool, error) {
	var none T
	obj, found, ck, err := cached(ctx, r, key, newObj)
	switch {
	case err != nil:
		return none, false, err
	case found && !live:
		return obj, true, nil
	}
	// The read may run for other confirmations of the same key after this
	// one has returned: it captures nothing this function changes.
	inCache, cachedObj := found, obj
	c, err := r.confirmLive(ctx, ck, func(ctx context.Context) (confirmation, error) {
		if inCache {
			current, exists, err := r.stillCurrent(ctx, key, cachedObj)
			switch {
			case err != nil:
				return confirmation{}, err
			case !exists:
				return confirmation{}, nil
			case current:
				return confirmation{obj: cachedObj}, nil
			}
		}
		fresh := newObj()
		err := r.Live.Get(ctx, key, fresh)
		switch {
		case apierrors.IsNotFound(err):
			return confirmation{}, nil
		case err != nil:
			return confirmation{}, err
		}
		return confirmation{obj: fresh}, nil
	})
	if err != nil {
		return none, false, fmt.Errorf("reading %T %s from the API server: %w", obj, key, err)
	}
	obj, found = confirmed[T](c)
	return obj, found, nil
}

// stillCurrent asks the API server for the metadata of the object the cache
// holds, and reports whether the cache's version is the current one: a
// resourceVersion names one state of an object, so the cached object is
// then what a full read would return. Most confirmations find the cache
// current; the metadata (protobuf, a few hundred bytes) costs the API
// server and gatewarden far less than the object (a Gateway of 16
// listeners is kilobytes of JSON to encode and decode). It reports whether
// the object exists; kinds it has no metadata read for are never current.
//
// A Gateway or a ListenerSet is read as a list by name, raced by a GET when
// the list is slow (readByName): the API server serves a consistent list
// from its watch cache, as fresh as a GET (it first asks etcd for the
// current revision and waits until its cache has it), without reading the
// object from etcd and decoding its JSON. A Namespace is stored as
// protobuf, cheap to decode, and a list of Namespaces would share the
// informer's priority level: it is read with a GET.
func (r *Reader) stillCurrent(ctx context.Context, key types.NamespacedName, obj client.Object) (current, exists bool, err error) {
	kind, ok := metadataKinds[reflect.TypeOf(obj)]
	if !ok {
		return false, true, nil
	}
	read := r.getMetadata
	if kind.byName {
		read = r.readByName
	}
	a := read(ctx, kind.gvk, key)
	if a.err != nil || !a.exists {
		return false, a.exists, a.err
	}
	return a.m.UID == obj.GetUID() && a.m.ResourceVersion == obj.GetResourceVersion(), true, nil
}

// metadataKinds are the kinds confirmations read metadata of first, their
// REST resource and scope, and whether they read it as a list by name.
var metadataKinds = map[reflect.Type]struct {
	gvk        schema.GroupVersionKind
	resource   string
	namespaced bool
	byName     bool
}{
	reflect.TypeFor[*corev1.Namespace]():      {corev1.SchemeGroupVersion.WithKind("Namespace"), "namespaces", false, false},
	reflect.TypeFor[*gatewayv1.Gateway]():     {schema.GroupVersion(gatewayv1.GroupVersion).WithKind("Gateway"), "gateways", true, true},
	reflect.TypeFor[*gatewayv1.ListenerSet](): {schema.GroupVersion(gatewayv1.GroupVersion).WithKind("ListenerSet"), "listenersets", true, true},
}

// cached reads an object from the cache, and returns it if found, with the
// key its live confirmation is remembered by.
func cached[T client.Object](ctx context.Context, r *Reader, key types.NamespacedName, newObj func() T) (T, bool, confirmKey, error) {
	obj := newObj()
	err := r.Cache.Get(ctx, key, obj)
	cachedVersion := ""
	switch {
	case err == nil:
		cachedVersion = obj.GetResourceVersion()
	case !apierrors.IsNotFound(err):
		return obj, false, confirmKey{}, fmt.Errorf("reading %T %s from the cache: %w", obj, key, err)
	}
	return obj, err == nil, confirmKey{kind: fmt.Sprintf("%T", obj), key: key, cached: cachedVersion}, nil
}

// confirmed is the object of a confirmation: false when it does not exist.
func confirmed[T client.Object](c confirmation) (T, bool) {
	var none T
	if c.obj == nil {
		return none, false
	}
	return c.obj.(T), true
}

func (r *Reader) grants(ctx context.Context, namespace string, live bool) ([]*gatewayv1.ReferenceGrant, error) {
	cached, version, err := r.listGrants(ctx, r.Cache, namespace)
	if err != nil {
		return nil, fmt.Errorf("listing ReferenceGrants in %s from the cache: %w", namespace, err)
	}
	if !live {
		return cached, nil
	}
	ck := confirmKey{kind: "ReferenceGrantList", key: types.NamespacedName{Namespace: namespace}, cached: version}
	c, err := r.confirmLive(ctx, ck, func(ctx context.Context) (confirmation, error) {
		fresh, _, err := r.listGrants(ctx, r.Live, namespace)
		return confirmation{grants: fresh}, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing ReferenceGrants in %s from the API server: %w", namespace, err)
	}
	return c.grants, nil
}

// listGrants lists the ReferenceGrants of a namespace in the served version,
// with a fingerprint of their resourceVersions.
func (r *Reader) listGrants(ctx context.Context, reader client.Reader, namespace string) ([]*gatewayv1.ReferenceGrant, string, error) {
	var out []*gatewayv1.ReferenceGrant
	if r.GrantV1 {
		list := &gatewayv1.ReferenceGrantList{}
		if err := reader.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return nil, "", err
		}
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
	} else {
		list := &gatewayv1beta1.ReferenceGrantList{}
		if err := reader.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return nil, "", err
		}
		for i := range list.Items {
			out = append(out, (*gatewayv1.ReferenceGrant)(&list.Items[i]))
		}
	}
	var version strings.Builder
	for _, g := range out {
		version.WriteString(g.Name + "@" + g.ResourceVersion + ",")
	}
	return out, version.String(), nil
}

// Lookup returns the cache's answers to what judging a ListenerSet reads:
// Namespace labels and ReferenceGrants. A read the cache cannot answer is a
// Namespace without labels and no grants: a ListenerSet admits less, and the
// live confirmation before any denial reads again.
func (r *Reader) Lookup(ctx context.Context) attachment.Lookup {
	return cacheLookup{ctx: ctx, r: r}
}

// cacheLookup answers within one admission or reconcile, hence its context.
type cacheLookup struct {
	ctx context.Context
	r   *Reader
}

func (l cacheLookup) NamespaceLabels(name string) (labels.Set, bool) {
	ns, found, err := get(l.ctx, l.r, types.NamespacedName{Name: name}, newNamespace, false)
	if err != nil || !found {
		return nil, false
	}
	return attachment.NamespaceLabels(name, ns.Labels), true
}

func (l cacheLookup) ReferenceGrants(namespace string) []*gatewayv1.ReferenceGrant {
	grants, _, err := l.r.listGrants(l.ctx, l.r.Cache, namespace)
	if err != nil {
		return nil
	}
	return grants
}
