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

// flight is a live read in progress, which every confirmation asked for
// since it began waits for.
type flight struct {
	// started is when the read began: it answers only the confirmations
	// asked for at that moment or before.
	started time.Time
	done    chan struct{}
	result  confirmation
	err     error
	// next is the read that followed it, for those it began too early
	// for; r.mu guards it.
	next *flight
	// waiters counts the confirmations that wait for it (tests read it).
	waiters int
}

// confirmLive returns what the API server says of k, from a read that began
// no earlier than this call: the answer of the read in flight for the same
// key and cached resourceVersion if it began since, else that of a new one.
//
// A read that began before the call may predate a write the caller has
// seen complete (kubectl labels a Namespace, then creates a route: the
// label is committed before the route's admission starts, but not before a
// read already on its way), and answering from it could deny on what the
// API server no longer says (design.md section 1). So a caller that finds
// an older read in flight waits for it to end and then shares the next one
// with every other caller that came meanwhile: a storm of identical
// denials costs one read per key per round trip, and each waits at most
// two.
//
// A shared read runs on its own, bounded by ConfirmTimeout: a confirmation
// that gives up (its admission's deadline) does not fail those that wait
// with it.
func (r *Reader) confirmLive(ctx context.Context, k confirmKey, read func(context.Context) (confirmation, error)) (confirmation, error) {
	since := r.now()
	r.mu.Lock()
	f := r.flightLocked(ctx, k, read)
	r.mu.Unlock()
	if err := f.wait(ctx); err != nil {
		return confirmation{}, err
	}
	if f.started.Before(since) {
		// Begun before this call: take the read that follows it, which
		// began after it ended, so after this call.
		r.mu.Lock()
		if f.next == nil {
			f.next = r.flightLocked(ctx, k, read)
		} else {
			f.next.waiters++
		}
		f = f.next
		r.mu.Unlock()
		if err := f.wait(ctx); err != nil {
			return confirmation{}, err
		}
	}
	return f.result, f.err
}

// flightLocked joins the read of k in flight, or starts one. r.mu is held.
func (r *Reader) flightLocked(ctx context.Context, k confirmKey, read func(context.Context) (confirmation, error)) *flight {
	f, ok := r.flights[k]
	if !ok {
		f = &flight{started: r.now(), done: make(chan struct{})}
		r.flights[k] = f
		go r.fly(ctx, r.ConfirmTimeout, k, f, read)
	}
	f.waiters++
	return f
}

// wait waits for the read to end, or for ctx.
func (f *flight) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the API server: %w", ctx.Err())
	}
}

// fly makes a shared read and hands its answer to those waiting.
func (r *Reader) fly(ctx context.Context, timeout time.Duration, k confirmKey, f *flight, read func(context.Context) (confirmation, error)) {
	ctx = context.WithoutCancel(ctx)
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c, err := read(ctx)
	r.mu.Lock()
	delete(r.flights, k)
	r.mu.Unlock()
	f.result, f.err = c, err
	close(f.done)
}
