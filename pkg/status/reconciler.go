// Package status keeps route status true after admission. Admission only sees
// the write in front of it: a route admitted yesterday detaches today when
// its Namespace loses a label or the Gateway's allowedRoutes change. The
// reconciler re-evaluates the routes such a change touches, through the same
// pkg/attachment evaluator as the webhook, and keeps one status.parents entry
// per governed parentRef under its own controllerName.
//
// It never modifies or reorders another controller's entries, and it writes
// nothing when nothing changed.
package status

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/flowcontrol"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// Event reasons recorded on a route when its attachment changes.
const (
	ReasonAttached = "Attached"
	ReasonDetached = "Detached"
)

// Options configure the reconcilers of every route kind.
type Options struct {
	Reader         *cluster.Reader
	RouteTypes     []attachment.RouteType
	ControllerName gatewayv1.GatewayController
	// GrantV1 says which ReferenceGrant version to watch.
	GrantV1 bool
	// ListenerSets says that the API server serves ListenerSets, so that
	// routes are re-evaluated when one changes.
	ListenerSets bool
	// MaxConcurrentReconciles per route kind.
	MaxConcurrentReconciles int
	// Writes, when set, paces the status writes of every route kind, so
	// that a start-up sync or a big relabel does not take the API server's
	// every cycle from the reads admissions wait on. Reconciles that write
	// nothing are not paced.
	Writes flowcontrol.RateLimiter
	// Events, when set, bounds the events recorded on routes. client-go's
	// events recorder keeps every event it sent for six minutes or more
	// (to count repeats into a series): a change that detaches 50,000
	// routes would hold 50,000 events in memory. A transition past the
	// budget is not recorded as an event; the status says the same.
	Events flowcontrol.RateLimiter
}

// SetupWithManager starts one reconciler per served route kind. They are
// leader-elected: with --leader-elect only the leader writes status.
func SetupWithManager(mgr ctrl.Manager, o Options) error {
	gauge := newRouteGauge()
	for _, t := range o.RouteTypes {
		r := &Reconciler{
			Client: mgr.GetClient(), Reader: o.Reader, Type: t, ControllerName: o.ControllerName,
			Recorder: mgr.GetEventRecorder("gatewarden"), Writes: o.Writes, Events: o.Events, gauge: gauge, now: time.Now,
		}
		if err := r.setupWithManager(mgr, o); err != nil {
			return fmt.Errorf("setting up the %s status reconciler: %w", t.Kind, err)
		}
	}
	return nil
}

// Reconciler keeps gatewarden's status.parents entries of one route kind.
type Reconciler struct {
	Client         client.Client
	Reader         *cluster.Reader
	Type           attachment.RouteType
	ControllerName gatewayv1.GatewayController
	Recorder       events.EventRecorder
	// Writes, when set, paces the status writes.
	Writes flowcontrol.RateLimiter
	// Events, when set, bounds the events recorded (Options.Events).
	Events flowcontrol.RateLimiter

	gauge *routeGauge
	now   func() time.Time
}

func (r *Reconciler) setupWithManager(mgr ctrl.Manager, o Options) error {
	var grant client.Object = &gatewayv1beta1.ReferenceGrant{}
	if o.GrantV1 {
		grant = &gatewayv1.ReferenceGrant{}
	}
	workers := o.MaxConcurrentReconciles
	if workers < 1 {
		workers = 4
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named(string(r.Type.Kind)+"-status").
		For(r.Type.NewObject()).
		// A Gateway's status is written often by its implementation; only
		// its spec and its enforcement annotation matter here.
		Watches(&gatewayv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(r.routesOfGateway),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.routesOfNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Watches(grant, handler.EnqueueRequestsFromMapFunc(r.routesForGrant))
	if o.ListenerSets {
		// Its status is the implementation's; its spec is what matters.
		b = b.Watches(&gatewayv1.ListenerSet{}, handler.EnqueueRequestsFromMapFunc(r.routesOfListenerSet),
			builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: workers}).Complete(r)
}

// Reconcile evaluates one route and writes gatewarden's entries when they
// changed.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := routeKey{kind: r.Type.Kind, NamespacedName: req.NamespacedName}
	obj := r.Type.NewObject()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.gauge.forget(key)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	route, err := r.Type.Route(obj)
	if err != nil {
		return reconcile.Result{}, reconcile.TerminalError(err)
	}
	objs, err := r.Reader.ObjectsFor(ctx, route, false)
	if err != nil {
		return reconcile.Result{}, err
	}
	res := attachment.Evaluate(route, objs)
	r.gauge.set(key, res)

	st := r.Type.Status(obj)
	now := metav1.NewTime(r.now().Truncate(time.Second))
	own := Desired(route, res, r.ControllerName, obj.GetGeneration(), st.Parents, now)
	merged, changed := Merge(st.Parents, own, r.ControllerName)
	if !changed {
		return reconcile.Result{}, nil
	}
	transitions := r.transitions(route.Namespace, st.Parents, own)

	if r.Writes != nil {
		if err := r.Writes.Wait(ctx); err != nil {
			return reconcile.Result{}, err
		}
	}
	orig := obj.DeepCopyObject().(client.Object)
	st.Parents = merged
	// The resourceVersion precondition makes a concurrent write of another
	// controller a conflict (and a retry), never a lost entry.
	if err := r.Client.Status().Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil
		}
		if apierrors.IsConflict(err) {
			// The newer version's watch event re-enqueues the route; the
			// delay only covers an event that would never come.
			return reconcile.Result{RequeueAfter: time.Second}, nil
		}
		return reconcile.Result{}, fmt.Errorf("writing the status of %s %s: %w", r.Type.Kind, req, err)
	}
	skipped := 0
	for _, t := range transitions {
		if r.Events != nil && !r.Events.TryAccept() {
			skipped++
			continue
		}
		r.Recorder.Eventf(obj, nil, t.eventType, t.reason, "Evaluate", "%s", t.note)
	}
	logf.FromContext(ctx).V(1).Info("Wrote route status", "entries", len(own), "eventsOverBudget", skipped)
	return reconcile.Result{}, nil
}

type transition struct {
	eventType, reason, note string
}

// transitions compares gatewarden's previous Accepted conditions with the
// new ones. A route seen for the first time has no transition: starting
// gatewarden must not flood the cluster with events.
func (r *Reconciler) transitions(namespace string, current, own []gatewayv1.RouteParentStatus) []transition {
	var out []transition
	for i := range own {
		was := Accepted(current, r.ControllerName, &own[i].ParentRef)
		now := Accepted(own, r.ControllerName, &own[i].ParentRef)
		if was == nil || now == nil || was.Status == now.Status {
			continue
		}
		parent := attachment.DefaultParentRef(namespace, &own[i].ParentRef).Key()
		switch now.Status {
		case metav1.ConditionTrue:
			out = append(out, transition{corev1.EventTypeNormal, ReasonAttached, fmt.Sprintf("Attached to %s: %s", parent, now.Message)})
		case metav1.ConditionFalse:
			out = append(out, transition{corev1.EventTypeWarning, ReasonDetached, fmt.Sprintf("Detached from %s (%s): %s", parent, now.Reason, now.Message)})
		}
	}
	return out
}

// routesOfGateway maps a Gateway to the routes that name it, and those that
// name its ListenerSets, through the cache's indexes.
func (r *Reconciler) routesOfGateway(ctx context.Context, gw client.Object) []reconcile.Request {
	out := r.list(ctx, client.MatchingFields{cluster.IndexParent: cluster.ParentIndexValue(attachment.GatewayKey(gw.GetNamespace(), gw.GetName()))})
	return append(out, r.routesOfListenerSetsOf(ctx, types.NamespacedName{Namespace: gw.GetNamespace(), Name: gw.GetName()})...)
}

// routesOfListenerSet maps a ListenerSet to the routes of every ListenerSet
// of its Gateway: a change to one can make another's listeners conflict,
// or stop conflicting. Called for the old and the new object of an update,
// it covers the Gateway a ListenerSet leaves and the one it joins.
func (r *Reconciler) routesOfListenerSet(ctx context.Context, obj client.Object) []reconcile.Request {
	ls, ok := obj.(*gatewayv1.ListenerSet)
	if !ok {
		return nil
	}
	p := attachment.NewListenerSet(ls)
	out := r.list(ctx, client.MatchingFields{cluster.IndexParent: cluster.ParentIndexValue(p.ParentKey)})
	if p.NamesGateway() {
		out = append(out, r.routesOfListenerSetsOf(ctx, p.GatewayRef.Key().NamespacedName())...)
	}
	return out
}

// routesOfListenerSetsOf lists the routes attached to the ListenerSets of a
// Gateway.
func (r *Reconciler) routesOfListenerSetsOf(ctx context.Context, gateway types.NamespacedName) []reconcile.Request {
	sets, err := r.Reader.ListenerSetsOf(ctx, gateway)
	if err != nil {
		logf.FromContext(ctx).Error(err, "Listing the ListenerSets of a Gateway to re-evaluate their routes", "gateway", gateway)
		return nil
	}
	var out []reconcile.Request
	for _, ls := range sets {
		out = append(out, r.list(ctx, client.MatchingFields{cluster.IndexParent: cluster.ParentIndexValue(ls.ParentKey)})...)
	}
	return out
}

// routesOfNamespace maps a relabelled Namespace to the routes in it, and to
// the routes of the Gateways its ListenerSets attach to: its labels decide
// whether they are accepted, and with them whose listeners conflict.
func (r *Reconciler) routesOfNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	out := r.list(ctx, client.InNamespace(ns.GetName()))
	sets, err := r.Reader.ListenerSetsIn(ctx, ns.GetName())
	if err != nil {
		logf.FromContext(ctx).Error(err, "Listing the ListenerSets of a Namespace to re-evaluate their routes", "namespace", ns.GetName())
		return out
	}
	return append(out, r.routesOfGateways(ctx, sets)...)
}

// routesOfGateways lists the routes attached to every ListenerSet of the
// Gateways the given ListenerSets name.
func (r *Reconciler) routesOfGateways(ctx context.Context, sets []*attachment.ListenerSet) []reconcile.Request {
	var out []reconcile.Request
	seen := map[types.NamespacedName]bool{}
	for _, ls := range sets {
		if !ls.NamesGateway() {
			continue
		}
		gw := ls.GatewayRef.Key().NamespacedName()
		if !seen[gw] {
			seen[gw] = true
			out = append(out, r.routesOfListenerSetsOf(ctx, gw)...)
		}
	}
	return out
}

// routesForGrant maps a ReferenceGrant to the routes it could cover: those
// with a backendRef into its namespace, from a namespace it names, and those
// of the Gateways of ListenerSets with a certificate in its namespace.
func (r *Reconciler) routesForGrant(ctx context.Context, obj client.Object) []reconcile.Request {
	var from []gatewayv1.ReferenceGrantFrom
	switch g := obj.(type) {
	case *gatewayv1.ReferenceGrant:
		from = g.Spec.From
	case *gatewayv1beta1.ReferenceGrant:
		from = g.Spec.From
	}
	var out []reconcile.Request
	for _, req := range r.list(ctx, client.MatchingFields{cluster.IndexBackendNamespace: obj.GetNamespace()}) {
		for _, f := range from {
			if f.Group == gatewayv1.GroupName && f.Kind == r.Type.Kind && string(f.Namespace) == req.Namespace {
				out = append(out, req)
				break
			}
		}
	}
	sets, err := r.Reader.ListenerSetsWithCertificatesIn(ctx, obj.GetNamespace())
	if err != nil {
		logf.FromContext(ctx).Error(err, "Listing the ListenerSets a ReferenceGrant covers", "namespace", obj.GetNamespace())
		return out
	}
	return append(out, r.routesOfGateways(ctx, sets)...)
}

func (r *Reconciler) list(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	list := r.Type.NewList()
	if err := r.Client.List(ctx, list, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		logf.FromContext(ctx).Error(err, "Listing routes to re-evaluate", "kind", r.Type.Kind)
		return nil
	}
	var out []reconcile.Request
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		if m, ok := o.(metav1.Object); ok {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()}})
		}
		return nil
	})
	return out
}
