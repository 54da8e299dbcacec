package bench_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// defaultController is the controllerName of gatewarden's status entries.
const defaultController = gatewayv1.GatewayController("gatewarden.dev/attachment")

// noEntry is the status of a route without an entry of the controller.
const noEntry = metav1.ConditionStatus("")

// statusWatch follows the Accepted condition a controller wrote on the
// HTTPRoutes of a namespace, or of the cluster: a list, then a watch from
// the list's resourceVersion (client-go's RetryWatcher, which resumes where
// it was when the API server closes a watch). Polling lists instead would
// cost the API server as much as the writes it waits for, and miss nothing
// only by luck.
type statusWatch struct {
	controller gatewayv1.GatewayController

	mu       sync.Mutex
	status   map[types.NamespacedName]metav1.ConditionStatus
	counts   map[metav1.ConditionStatus]int
	changed  chan struct{}
	watchErr error
	// first is when the watch first saw a route's Accepted status change.
	first time.Time
}

// watchStatuses starts a statusWatch, stopped when the benchmark ends. It
// returns once the list is read: every change after that is seen.
func (c *benchCluster) watchStatuses(b *testing.B, namespace string, controller gatewayv1.GatewayController) *statusWatch {
	wc, err := client.NewWithWatch(c.Config, client.Options{Scheme: c.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	w := &statusWatch{
		controller: controller,
		status:     map[types.NamespacedName]metav1.ConditionStatus{},
		counts:     map[metav1.ConditionStatus]int{},
		changed:    make(chan struct{}, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	list := &gatewayv1.HTTPRouteList{}
	opts := []client.ListOption{client.InNamespace(namespace), client.Limit(1000)}
	for {
		if err := wc.List(ctx, list, opts...); err != nil {
			b.Fatal(err)
		}
		for i := range list.Items {
			w.observe(&list.Items[i], false)
		}
		if list.Continue == "" {
			break
		}
		opts = []client.ListOption{client.InNamespace(namespace), client.Limit(1000), client.Continue(list.Continue)}
	}
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &toolscache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return wc.Watch(ctx, &gatewayv1.HTTPRouteList{}, &client.ListOptions{Namespace: namespace, Raw: &o})
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		defer rw.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-rw.ResultChan():
				if !ok {
					return
				}
				switch ev.Type {
				case watch.Added, watch.Modified:
					if r, ok := ev.Object.(*gatewayv1.HTTPRoute); ok {
						w.observe(r, false)
					}
				case watch.Deleted:
					if r, ok := ev.Object.(*gatewayv1.HTTPRoute); ok {
						w.observe(r, true)
					}
				case watch.Error:
					w.mu.Lock()
					w.watchErr = apierrors.FromObject(ev.Object)
					w.mu.Unlock()
					w.signal()
				}
			}
		}
	}()
	return w
}

func (w *statusWatch) observe(r *gatewayv1.HTTPRoute, deleted bool) {
	key := types.NamespacedName{Namespace: r.Namespace, Name: r.Name}
	now := noEntry
	for _, p := range r.Status.Parents {
		if cond := meta.FindStatusCondition(p.Conditions, "Accepted"); p.ControllerName == w.controller && cond != nil {
			now = cond.Status
		}
	}
	w.mu.Lock()
	if was, ok := w.status[key]; ok {
		w.counts[was]--
		if was != now && w.first.IsZero() {
			w.first = time.Now()
		}
	}
	if deleted {
		delete(w.status, key)
	} else {
		w.status[key] = now
		w.counts[now]++
	}
	w.mu.Unlock()
	w.signal()
}

// firstChange is when the watch first saw a route's Accepted status
// change, or the zero time.
func (w *statusWatch) firstChange() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first
}

func (w *statusWatch) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until at least n routes have the Accepted status given and
// returns how long that took.
func (w *statusWatch) waitFor(b *testing.B, want metav1.ConditionStatus, n int, timeout time.Duration) time.Duration {
	d, err := w.waitUntil(timeout, func(counts map[metav1.ConditionStatus]int) bool { return counts[want] >= n },
		func(counts map[metav1.ConditionStatus]int) string {
			return "routes with Accepted=" + string(want) + ": " + strconv.Itoa(counts[want]) + " of " + strconv.Itoa(n)
		})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// waitWritten waits until n routes have an entry of the controller.
func (w *statusWatch) waitWritten(b *testing.B, n int, timeout time.Duration) time.Duration {
	d, err := w.written(n, timeout)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// written waits until n routes have an entry of the controller; it may
// run on a goroutine of its own.
func (w *statusWatch) written(n int, timeout time.Duration) (time.Duration, error) {
	return w.waitUntil(timeout, func(counts map[metav1.ConditionStatus]int) bool { return withEntry(counts) >= n },
		func(counts map[metav1.ConditionStatus]int) string {
			return "routes with a status entry: " + strconv.Itoa(withEntry(counts)) + " of " + strconv.Itoa(n)
		})
}

func withEntry(counts map[metav1.ConditionStatus]int) int {
	return counts[metav1.ConditionTrue] + counts[metav1.ConditionFalse] + counts[metav1.ConditionUnknown]
}

func (w *statusWatch) waitUntil(timeout time.Duration, done func(map[metav1.ConditionStatus]int) bool,
	progress func(map[metav1.ConditionStatus]int) string) (time.Duration, error) {
	start := time.Now()
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		ok, err, msg := done(w.counts), w.watchErr, progress(w.counts)
		w.mu.Unlock()
		if err != nil {
			return 0, fmt.Errorf("watching route status: %w (%s)", err, msg)
		}
		if ok {
			return time.Since(start), nil
		}
		select {
		case <-w.changed:
		case <-deadline:
			return 0, fmt.Errorf("after %s, %s", timeout, msg)
		}
	}
}
