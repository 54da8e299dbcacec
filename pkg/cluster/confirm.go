package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// Confirm returns what the evaluator needs to evaluate route again before a
// rejection the cache saw is reported (design.md section 1: a stale cache
// must never cause a wrong denial). It reads again from the API server, all
// at once, only what the rejected parentRefs depend on: each parent in
// rejected with, for a ListenerSet, its Namespace, its Gateway and the
// ReferenceGrants of its certificates' namespaces (without one, a listener
// is invalid and accepts no route); and the route's Namespace when its
// labels can decide, that is when a rejected parent's listeners select
// routes by label (see labelsDecide). The route's other parents and the
// ReferenceGrants of its backends come from the cache: a backend's missing
// grant is a warning, never a denial.
//
// Identical confirmations share their reads, but only reads that began after
// they were asked for (see confirmLive): a burst of identical denials costs
// a round trip per batch, never an answer older than the request.
func (r *Reader) Confirm(ctx context.Context, route *attachment.Route, rejected []attachment.ParentKey) (*attachment.Index, error) {
	return r.NewConfirmation().Confirm(ctx, route, rejected)
}

// Confirmation is the live reads of one admission: Confirm reads each
// object once however many times it is asked (a parent the cache accepted
// can reject on the Namespace read live, and is then confirmed too).
type Confirmation struct {
	c confirmReads
}

// NewConfirmation starts the live reads of one admission.
func (r *Reader) NewConfirmation() *Confirmation {
	return &Confirmation{c: confirmReads{r: r, s: objectSource{
		r:          r,
		namespaces: map[types.NamespacedName]*corev1.Namespace{},
		gateways:   map[types.NamespacedName]*gatewayv1.Gateway{},
		sets:       map[types.NamespacedName]*gatewayv1.ListenerSet{},
		grants:     map[string][]*gatewayv1.ReferenceGrant{},
	}}}
}

// Confirm is Reader.Confirm, reading only what this Confirmation has not
// read yet.
func (cf *Confirmation) Confirm(ctx context.Context, route *attachment.Route, rejected []attachment.ParentKey) (*attachment.Index, error) {
	c := &cf.c
	// Most rejections do not hang on the route's Namespace (a Gateway open
	// to its own namespace only, a route kind no listener takes): its read
	// is half the API server's work for such a denial, and skipped. When
	// the cached parents do not select on labels but the live ones do (the
	// Gateway changed), the Namespace is read in a second round.
	withNamespace := c.labelsDecide(ctx, rejected)
	err := c.round(ctx, func() {
		if withNamespace {
			c.namespace(route.Namespace)
		}
		for _, key := range rejected {
			switch key.Kind {
			case attachment.KindGateway:
				c.gateway(key.NamespacedName())
			case attachment.KindListenerSet:
				c.listenerSet(key.NamespacedName())
			}
		}
	})
	if err == nil && !c.namespaceRead(route.Namespace) && c.liveLabelsDecide(rejected) {
		err = c.round(ctx, func() { c.namespace(route.Namespace) })
	}
	if err != nil {
		return nil, err
	}
	return c.s.objectsFor(ctx, route)
}

// confirmReads are the live reads of one Confirmation, each round made at
// once.
type confirmReads struct {
	r   *Reader
	g   *errgroup.Group
	ctx context.Context
	// mu guards s's maps until g is done.
	mu sync.Mutex
	s  objectSource
}

// round makes the reads start issues, at once, and waits for them.
func (c *confirmReads) round(ctx context.Context, start func()) error {
	c.g, c.ctx = errgroup.WithContext(ctx)
	start()
	return c.g.Wait()
}

// labelsDecide reports whether, in the cache, a rejected parent may select
// routes by the labels of their Namespace: a ListenerSet (whose table
// depends on more than its own listeners), a Gateway the cache does not
// hold, or one with a listener that selects by label.
func (c *confirmReads) labelsDecide(ctx context.Context, rejected []attachment.ParentKey) bool {
	for _, key := range rejected {
		if key.Kind != attachment.KindGateway {
			return true
		}
		gw, found, _, err := cached(ctx, c.r, key.NamespacedName(), newGateway)
		if err != nil || !found || c.r.Prepare(gw).SelectsRoutesOnLabels() {
			return true
		}
	}
	return false
}

// liveLabelsDecide reports whether a rejected Gateway, as read live, has a
// listener that selects routes by label. Only Gateways get here: a rejected
// ListenerSet has the route's Namespace read with it.
func (c *confirmReads) liveLabelsDecide(rejected []attachment.ParentKey) bool {
	for _, key := range rejected {
		if gw := c.s.gateways[key.NamespacedName()]; key.Kind == attachment.KindGateway && gw != nil && c.r.Prepare(gw).SelectsRoutesOnLabels() {
			return true
		}
	}
	return false
}

// namespaceRead reports whether Namespace name was read live.
func (c *confirmReads) namespaceRead(name string) bool {
	_, ok := c.s.namespaces[types.NamespacedName{Name: name}]
	return ok
}

func (c *confirmReads) namespace(name string) {
	read(c, c.s.namespaces, types.NamespacedName{Name: name}, newNamespace, nil)
}

func (c *confirmReads) gateway(key types.NamespacedName) {
	read(c, c.s.gateways, key, newGateway, nil)
}

// listenerSet reads a ListenerSet, then what judging it reads.
func (c *confirmReads) listenerSet(key types.NamespacedName) {
	if !c.r.ListenerSets {
		return
	}
	read(c, c.s.sets, key, newListenerSet, func(ls *gatewayv1.ListenerSet) {
		c.namespace(ls.Namespace)
		if p := c.r.PrepareListenerSet(ls); p.NamesGateway() {
			c.gateway(p.GatewayRef.Key().NamespacedName())
		}
		for _, ns := range certificateNamespaces(ls) {
			c.grants(ns)
		}
	})
}

func (c *confirmReads) grants(namespace string) {
	c.mu.Lock()
	_, claimed := c.s.grants[namespace]
	if !claimed {
		c.s.grants[namespace] = nil
	}
	c.mu.Unlock()
	if claimed {
		return
	}
	c.g.Go(func() error {
		grants, err := c.r.grants(c.ctx, namespace, true)
		c.mu.Lock()
		c.s.grants[namespace] = grants
		c.mu.Unlock()
		return err
	})
}

// read reads an object live into m, once, in a goroutine of its own, and
// then calls found with it if it exists.
func read[V any, T interface {
	*V
	client.Object
}](c *confirmReads, m map[types.NamespacedName]*V, key types.NamespacedName, newObj func() T, found func(T)) {
	c.mu.Lock()
	_, claimed := m[key]
	if !claimed {
		m[key] = nil // does not exist, until read
	}
	c.mu.Unlock()
	if claimed {
		return
	}
	c.g.Go(func() error {
		obj, exists, err := get(c.ctx, c.r, key, newObj, true)
		if err == nil {
			readDone(c, m, key, obj, exists, found)
		}
		return err
	})
}

// readDone puts what read found in m, and calls found with it.
func readDone[V any, T interface {
	*V
	client.Object
}](c *confirmReads, m map[types.NamespacedName]*V, key types.NamespacedName, obj T, exists bool, found func(T)) {
	if !exists {
		return
	}
	c.mu.Lock()
	m[key] = (*V)(obj)
	c.mu.Unlock()
	if found != nil {
		found(obj)
	}
}

// flight is a live read, in progress or waiting for its turn, whose answer
// every confirmation that joined it waits for.
type flight struct {
	// started is when the read began: it answers only the confirmations
	// asked for at that moment or before. Zero while it waits its turn.
	started time.Time
	done    chan struct{}
	result  confirmation
	err     error
	// waiters counts the confirmations that wait for it (tests read it).
	waiters int
}

// keyFlights are the reads of one object: at most readsPerKey in progress,
// and at most one waiting its turn, shared by every confirmation that
// comes while all of those are busy.
type keyFlights struct {
	running int
	// latest is the read in progress that began last.
	latest *flight
	// pending is the read that begins when one in progress ends.
	pending *flight
	// read, ctx and timeout make every read of the key: the first
	// caller's read function (the reads of a key are all alike), without
	// its cancellation, bounded by ConfirmTimeout.
	read    func(context.Context) (confirmation, error)
	ctx     context.Context
	timeout time.Duration
}

// readsPerKey is how many reads of one object may be in progress at once.
// One would make a confirmation that comes while a read is in flight wait
// for it and then for the next (two round trips); two let it start its own
// read at once, and only a third, in a storm of identical denials, waits.
const readsPerKey = 2

// confirmLive returns what the API server says of k, from a read that began
// no earlier than this call: that of the read in flight for the same key
// and cached resourceVersion if it began at this very moment, else a new
// one.
//
// A read that began before the call may predate a write the caller has
// seen complete (kubectl labels a Namespace, then creates a route: the
// label is committed before the route's admission starts, but not before a
// read already on its way), and answering from it could deny on what the
// API server no longer says (design.md section 1). So a caller that finds
// an older read in flight starts its own, unless readsPerKey are in flight
// already: then it shares the read that begins when one of them ends with
// every other caller that came meanwhile. A storm of identical denials
// costs at most readsPerKey reads per key per round trip, and each waits
// at most two.
//
// A shared read runs on its own, bounded by ConfirmTimeout: a confirmation
// that gives up (its admission's deadline) does not fail those that wait
// with it.
func (r *Reader) confirmLive(ctx context.Context, k confirmKey, read func(context.Context) (confirmation, error)) (confirmation, error) {
	since := r.now()
	r.mu.Lock()
	kf, ok := r.flights[k]
	if !ok {
		kf = &keyFlights{read: read, ctx: context.WithoutCancel(ctx), timeout: r.ConfirmTimeout}
		r.flights[k] = kf
	}
	var f *flight
	switch {
	case kf.latest != nil && !kf.latest.started.Before(since):
		f = kf.latest
	case kf.running < readsPerKey:
		f = r.startLocked(k, kf, &flight{done: make(chan struct{})})
	default:
		if kf.pending == nil {
			kf.pending = &flight{done: make(chan struct{})}
		}
		f = kf.pending
	}
	f.waiters++
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.result, f.err
	case <-ctx.Done():
		return confirmation{}, fmt.Errorf("waiting for the API server: %w", ctx.Err())
	}
}

// startLocked starts read f of k now. r.mu is held.
func (r *Reader) startLocked(k confirmKey, kf *keyFlights, f *flight) *flight {
	f.started = r.now()
	kf.running++
	kf.latest = f
	go r.fly(k, kf, f)
	return f
}

// fly makes a shared read and hands its answer to those waiting; then the
// read waiting its turn, if any, begins.
func (r *Reader) fly(k confirmKey, kf *keyFlights, f *flight) {
	ctx := kf.ctx
	if kf.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, kf.timeout)
		defer cancel()
	}
	f.result, f.err = kf.read(ctx)
	r.mu.Lock()
	kf.running--
	if kf.latest == f {
		kf.latest = nil
	}
	if kf.pending != nil {
		p := kf.pending
		kf.pending = nil
		r.startLocked(k, kf, p)
	} else if kf.running == 0 {
		delete(r.flights, k)
	}
	r.mu.Unlock()
	close(f.done)
}
