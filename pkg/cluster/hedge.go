package cluster

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gatewarden/gatewarden/pkg/metrics"
)

// DefaultHedgeAfter is how long a confirmation's list by name may take
// before a GET of the same object races it: several times a GET's latency
// on a healthy API server, and well under the 100 ms the API server's watch
// cache may wait for etcd's progress notification.
const DefaultHedgeAfter = 20 * time.Millisecond

// A Gateway's or a ListenerSet's metadata has two linearizable reads, each
// as fresh as the moment it is made:
//
//   - a list by metadata.name, answered from the API server's watch cache:
//     the API server asks etcd for its current revision and waits until its
//     watch cache has seen it. It costs the API server least (no read from
//     etcd, no JSON to decode), but on a cluster where anything else was
//     written since the last Gateway event (a node's Lease, an Event),
//     that revision is one the watch cache of a quiet resource learns of
//     only from etcd's progress notification, which the API server asks
//     for at most every 100 ms: with 20 writes a second elsewhere, 70% of
//     the lists in the admission benchmark waited, 50 ms on average;
//   - a GET, answered from etcd: never waits on the watch cache, but costs
//     the API server the object's JSON to decode (about half as much again
//     as the list, measured).
//
// readByName makes the list, and races it with a GET when the list has not
// answered within hedgeAfter: the first answer wins and the other read is
// cancelled. While lists keep losing (a busy cluster, or a storm of
// denials with writes around it), it makes the GET alone, and every
// probeEvery reads a list beside it that answers no admission, only to find
// out when lists are fast again: a probe must not make a denial wait.
type byNameReads struct {
	mu sync.Mutex
	// slow grows by slowStep when the GET beats a list and shrinks by one
	// when a list answers within hedgeAfter, within [0, slowMax]: at
	// slowGetFirst or more, reads are GETs (with hysteresis: fast lists must
	// outnumber slow ones to get back).
	slow  int
	reads int
}

const (
	slowStep     = 2
	slowMax      = 8
	slowGetFirst = 4
	probeEvery   = 16
)

// plan says whether the next read is a GET alone, and whether a list
// should probe beside it.
func (h *byNameReads) plan() (getOnly, probe bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.slow < slowGetFirst {
		return false, false
	}
	h.reads++
	return true, h.reads%probeEvery == 0
}

// listed records how a list fared: in time (before the hedge), late (after
// the hedge began, but before the GET that raced it), or lost (the GET
// answered first). A late list is no evidence of a waiting watch cache: on
// a machine whose CPUs are all busy every read is slow, a GET as much as a
// list, and making GETs instead would only cost the API server more.
func (h *byNameReads) listed(o listOutcome) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch o {
	case listInTime:
		h.slow = max(0, h.slow-1)
	case listLost:
		h.slow = min(slowMax, h.slow+slowStep)
	}
}

type listOutcome int

const (
	listInTime listOutcome = iota
	listLate
	listLost
)

// metadataAnswer is what one read of an object's metadata said.
type metadataAnswer struct {
	m      *metav1.PartialObjectMetadata
	exists bool
	err    error
	// list says the answer is a list's (in readByName's race).
	list bool
}

// outcomeOf is how the list fared in a race: list says whether the list's
// answer won, hedged whether the GET had begun.
func outcomeOf(list, hedged bool) listOutcome {
	switch {
	case !list:
		return listLost
	case hedged:
		return listLate
	}
	return listInTime
}

// answer names what answered a race with outcome o, for
// metrics.ConfirmationReads.
func (o listOutcome) answer() string {
	return [...]string{listInTime: "list", listLate: "list-late", listLost: "hedge"}[o]
}

// readByName reads the metadata of key, of a kind read by name (see
// byNameReads).
func (r *Reader) readByName(ctx context.Context, gvk schema.GroupVersionKind, key types.NamespacedName) metadataAnswer {
	h := r.byName[gvk]
	if h == nil || r.HedgeAfter <= 0 {
		return r.listByName(ctx, gvk, key)
	}
	if getOnly, probe := h.plan(); getOnly {
		metrics.ConfirmationReads.WithLabelValues(gvk.Kind, "get").Inc()
		if probe {
			return r.getWithProbe(ctx, h, gvk, key)
		}
		return r.getMetadata(ctx, gvk, key)
	}
	ctx, cancel := context.WithCancel(ctx)
	// The read that loses is cancelled; it answers into the buffer.
	defer cancel()
	answers := make(chan metadataAnswer, 2)
	go func() {
		a := r.listByName(ctx, gvk, key)
		a.list = true
		answers <- a
	}()
	hedge := time.NewTimer(r.HedgeAfter)
	defer hedge.Stop()
	inFlight, hedged := 1, false
	var firstErr error
	for {
		select {
		case a := <-answers:
			inFlight--
			if a.err == nil {
				o := outcomeOf(a.list, hedged)
				h.listed(o)
				metrics.ConfirmationReads.WithLabelValues(gvk.Kind, o.answer()).Inc()
				return a
			}
			if firstErr == nil {
				firstErr = a.err
			}
			if inFlight == 0 {
				// A list that fails before the hedge is its answer; a
				// failure of both reads, the first failure.
				return metadataAnswer{exists: true, err: firstErr}
			}
		case <-hedge.C:
			hedged = true
			inFlight++
			go func() { answers <- r.getMetadata(ctx, gvk, key) }()
		case <-ctx.Done():
			return metadataAnswer{exists: true, err: ctx.Err()}
		}
	}
}

// getWithProbe makes the GET that answers, and beside it a list that
// answers nothing, only to record whether lists are fast again: the list
// loses if it has not answered hedgeAfter after the GET did, as it would
// have lost the race of a hedged read.
func (r *Reader) getWithProbe(ctx context.Context, h *byNameReads, gvk schema.GroupVersionKind, key types.NamespacedName) metadataAnswer {
	probeCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	listed := make(chan error, 1)
	go func() { listed <- r.listByName(probeCtx, gvk, key).err }()
	a := r.getMetadata(ctx, gvk, key)
	go func() {
		defer cancel()
		deadline := time.NewTimer(r.HedgeAfter)
		defer deadline.Stop()
		o := listLost
		select {
		case err := <-listed:
			if err == nil {
				o = listInTime
			}
		case <-deadline.C:
		}
		h.listed(o)
	}()
	return a
}

// listByName lists the metadata of gvk's objects in key's namespace by
// metadata.name.
func (r *Reader) listByName(ctx context.Context, gvk schema.GroupVersionKind, key types.NamespacedName) metadataAnswer {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := r.Live.List(ctx, list, client.InNamespace(key.Namespace), client.MatchingFields{"metadata.name": key.Name}); err != nil {
		return metadataAnswer{exists: true, err: err}
	}
	if len(list.Items) == 0 {
		return metadataAnswer{}
	}
	return metadataAnswer{m: &list.Items[0], exists: true}
}

// getMetadata GETs the metadata of key.
func (r *Reader) getMetadata(ctx context.Context, gvk schema.GroupVersionKind, key types.NamespacedName) metadataAnswer {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	switch err := r.Live.Get(ctx, key, m); {
	case apierrors.IsNotFound(err):
		return metadataAnswer{}
	case err != nil:
		return metadataAnswer{exists: true, err: err}
	}
	return metadataAnswer{m: m, exists: true}
}
