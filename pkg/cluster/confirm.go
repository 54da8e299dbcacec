package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
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
		namespaces: map[string]*corev1.Namespace{},
		gateways:   map[types.NamespacedName]*gatewayv1.Gateway{},
		sets:       map[types.NamespacedName]*gatewayv1.ListenerSet{},
		grants:     map[string][]*gatewayv1.ReferenceGrant{},
	}}
	g, gctx := errgroup.WithContext(ctx)
	c.g, c.ctx = g, gctx
	c.namespace(route.Namespace)
	for _, key := range rejected {
		switch key.Kind {
		case attachment.KindGateway:
			c.gateway(key.NamespacedName())
		case attachment.KindListenerSet:
			if r.ListenerSets {
				c.listenerSet(key.NamespacedName())
			}
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return c.s.objectsFor(ctx, route)
}

// confirmReads runs the live reads of one Confirm at once.
type confirmReads struct {
	r   *Reader
	g   *errgroup.Group
	ctx context.Context
	// mu guards s's maps until g is done.
	mu sync.Mutex
	s  objectSource
}

// start reads once what the map does not have yet.
func (c *confirmReads) start(seen func() bool, read func(ctx context.Context) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seen() {
		return
	}
	c.g.Go(func() error { return read(c.ctx) })
}

func (c *confirmReads) namespace(name string) {
	c.start(func() bool {
		_, ok := c.s.namespaces[name]
		c.s.namespaces[name] = nil // claimed
		return ok
	}, func(ctx context.Context) error {
		ns, _, err := get(ctx, c.r, types.NamespacedName{Name: name}, newNamespace, true)
		c.mu.Lock()
		c.s.namespaces[name] = ns
		c.mu.Unlock()
		return err
	})
}

func (c *confirmReads) gateway(key types.NamespacedName) {
	c.start(func() bool {
		_, ok := c.s.gateways[key]
		c.s.gateways[key] = nil
		return ok
	}, func(ctx context.Context) error {
		gw, _, err := get(ctx, c.r, key, newGateway, true)
		c.mu.Lock()
		c.s.gateways[key] = gw
		c.mu.Unlock()
		return err
	})
}

func (c *confirmReads) grants(namespace string) {
	c.start(func() bool {
		_, ok := c.s.grants[namespace]
		c.s.grants[namespace] = nil
		return ok
	}, func(ctx context.Context) error {
		grants, err := c.r.grants(ctx, namespace, true)
		c.mu.Lock()
		c.s.grants[namespace] = grants
		c.mu.Unlock()
		return err
	})
}

// listenerSet reads a ListenerSet, then what judging it reads.
func (c *confirmReads) listenerSet(key types.NamespacedName) {
	c.start(func() bool {
		_, ok := c.s.sets[key]
		c.s.sets[key] = nil
		return ok
	}, func(ctx context.Context) error {
		ls, _, err := get(ctx, c.r, key, newListenerSet, true)
		c.mu.Lock()
		c.s.sets[key] = ls
		c.mu.Unlock()
		if err != nil || ls == nil {
			return err
		}
		c.namespace(ls.Namespace)
		if p := c.r.PrepareListenerSet(ls); p.NamesGateway() {
			c.gateway(p.GatewayRef.Key().NamespacedName())
		}
		for _, ns := range certificateNamespaces(ls) {
			c.grants(ns)
		}
		return nil
	})
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
