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
// at once, only what the rejected parentRefs depend on: the route's
// Namespace, and each parent in rejected with, for a ListenerSet, its
// Namespace, its Gateway and the ReferenceGrants of its certificates'
// namespaces (without one, a listener is invalid and accepts no route). The
// route's other parents and the ReferenceGrants of its backends come from the
// cache: a backend's missing grant is a warning, never a denial.
//
// A read that another confirmation is making at the same moment is shared,
// and one made within ConfirmTTL is reused (see confirmLive), so a burst of
// identical denials costs one round trip.
func (r *Reader) Confirm(ctx context.Context, route *attachment.Route, rejected []attachment.ParentKey) (*attachment.Index, error) {
	c := &confirmReads{r: r, s: objectSource{
		r:          r,
		namespaces: map[types.NamespacedName]*corev1.Namespace{},
		gateways:   map[types.NamespacedName]*gatewayv1.Gateway{},
		sets:       map[types.NamespacedName]*gatewayv1.ListenerSet{},
		grants:     map[string][]*gatewayv1.ReferenceGrant{},
	}}
	c.g, c.ctx = errgroup.WithContext(ctx)
	c.namespace(route.Namespace)
	for _, key := range rejected {
		switch key.Kind {
		case attachment.KindGateway:
			c.gateway(key.NamespacedName())
		case attachment.KindListenerSet:
			c.listenerSet(key.NamespacedName())
		}
	}
	if err := c.g.Wait(); err != nil {
		return nil, err
	}
	return c.s.objectsFor(ctx, route)
}

// confirmReads are the live reads of one Confirm, made at once.
type confirmReads struct {
	r   *Reader
	g   *errgroup.Group
	ctx context.Context
	// mu guards s's maps until g is done.
	mu sync.Mutex
	s  objectSource
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
	c.s.grants[namespace] = nil
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

// read reads an object live into m, once, and then calls found with it if it
// exists. A confirmation remembered within ConfirmTTL answers at once;
// anything else is read in a goroutine of its own.
func read[V any, T interface {
	*V
	client.Object
}](c *confirmReads, m map[types.NamespacedName]*V, key types.NamespacedName, newObj func() T, found func(T)) {
	c.mu.Lock()
	_, claimed := m[key]
	m[key] = nil // does not exist, until read
	c.mu.Unlock()
	if claimed {
		return
	}
	if obj, exists, ok, err := remembered(c.ctx, c.r, key, newObj); err == nil && ok {
		readDone(c, m, key, obj, exists, found)
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

// flight is a live read in progress, which every confirmation that needs it
// at the same moment waits for.
type flight struct {
	done   chan struct{}
	result confirmation
	err    error
	// waiters counts the confirmations that wait for it (tests read it).
	waiters int
}

// confirmLive returns what the API server says of k: what it said within
// ConfirmTTL if anything, else the answer of the read in flight for the same
// key and cached resourceVersion, else that of a new read. A shared read
// runs on its own, bounded by ConfirmTimeout: a confirmation that gives up
// (its admission's deadline) does not fail those that wait with it. Sharing
// can return an answer as old as one round trip, as ConfirmTTL can one as
// old as a second.
func (r *Reader) confirmLive(ctx context.Context, k confirmKey, read func(context.Context) (confirmation, error)) (confirmation, error) {
	r.mu.Lock()
	if c, ok := r.confirms[k]; ok && !r.now().After(c.expires) {
		r.mu.Unlock()
		return c, nil
	}
	f, ok := r.flights[k]
	if !ok {
		f = &flight{done: make(chan struct{})}
		r.flights[k] = f
		go r.fly(ctx, r.ConfirmTimeout, k, f, read)
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

// remembered returns the confirmation of k made within ConfirmTTL.
func (r *Reader) remembered(k confirmKey) (confirmation, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.confirms[k]
	if !ok || r.now().After(c.expires) {
		return confirmation{}, false
	}
	return c, true
}

// fly makes a shared read, remembers its answer for ConfirmTTL, and hands it
// to those waiting.
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
	if err == nil {
		r.remember(k, c)
	}
	r.mu.Unlock()
	f.result, f.err = c, err
	close(f.done)
}

// remember keeps a live read's answer for ConfirmTTL. r.mu is held.
func (r *Reader) remember(k confirmKey, c confirmation) {
	now := r.now()
	// Expired entries go at most once per ConfirmTTL: the map holds what
	// was confirmed within the last two.
	if now.Sub(r.lastSweep) > ConfirmTTL {
		for old, v := range r.confirms {
			if now.After(v.expires) {
				delete(r.confirms, old)
			}
		}
		r.lastSweep = now
	}
	c.expires = now.Add(ConfirmTTL)
	r.confirms[k] = c
}
