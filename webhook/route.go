package webhook

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// RouteValidator admits the routes of one kind. Each route kind has its own
// file with its named type and setup function; they all share this logic.
type RouteValidator[T client.Object] struct {
	// Reader gathers the Gateways, Namespace and ReferenceGrants a route
	// needs, from the cache and, before a rejection, confirmed live.
	Reader *cluster.Reader
	// Mode is --route-enforcement; a Gateway's annotation overrides it.
	Mode attachment.Mode
	// Observe, when set, is told of every decision, for metrics.
	Observe func(kind gatewayv1.Kind, d attachment.Decision, elapsed time.Duration)
}

// ValidateCreate evaluates every parentRef of a new route.
func (v *RouteValidator[T]) ValidateCreate(ctx context.Context, obj T) (admission.Warnings, error) {
	route, err := attachment.RouteFor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return v.admitRoute(ctx, nil, route, false)
}

// ValidateUpdate evaluates the updated route. A rejection the update did not
// cause is a warning, not a denial (attachment.DecideUpdate).
func (v *RouteValidator[T]) ValidateUpdate(ctx context.Context, oldObj, newObj T) (admission.Warnings, error) {
	oldRoute, err := attachment.RouteFor(oldObj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	route, err := attachment.RouteFor(newObj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return v.admitRoute(ctx, oldRoute, route, newObj.GetDeletionTimestamp() != nil)
}

// ValidateDelete allows every delete: the webhook configuration does not
// even send them, and a delete must never be blocked.
func (v *RouteValidator[T]) ValidateDelete(context.Context, T) (admission.Warnings, error) {
	return nil, nil
}

// admitRoute decides the admission of a route, created (oldRoute nil) or
// updated from oldRoute; deleting says the updated route has a
// deletionTimestamp. Both the typed path (ValidateCreate, ValidateUpdate)
// and the route handler, which decodes the review itself, end here, so
// that they decide alike. It reads nothing of the admission request but its
// arguments: the route handler does not put the request in the context.
func (v *RouteValidator[T]) admitRoute(ctx context.Context, oldRoute, route *attachment.Route, deleting bool) (admission.Warnings, error) {
	if deleting && oldRoute != nil && !attachmentChanged(oldRoute, route) {
		// Finalizers are being removed: never stand in the way of a delete.
		// A route held by its own finalizer may not change what the
		// evaluator reads (parentRefs, hostnames, backend references)
		// unchecked, though.
		return nil, nil
	}
	start := time.Now()
	// Every read below, the GET of a cache miss included, ends in time for
	// the API server to get this answer rather than its own timeout.
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	d, err := v.decide(ctx, oldRoute, route)
	if err != nil {
		// What could not be read cannot be confirmed: a rejection the cache
		// saw becomes a warning, and so does a route whose objects could not
		// be read at all. A stale cache must never cause a wrong denial.
		logf.FromContext(ctx).Error(err, "Reading what a route needs failed; warning instead of denying",
			"route", route.Namespace+"/"+route.Name, "kind", route.Kind)
		d = unconfirmed(ctx, d, err, v.Reader.ConfirmTimeout)
	}
	if v.Observe != nil {
		v.Observe(route.Kind, d, time.Since(start))
	}
	if d.Verdict == attachment.VerdictDeny {
		gk := schema.GroupKind{Group: gatewayv1.GroupName, Kind: string(route.Kind)}
		return d.Warnings, denial(gk, route.Name, d.Denials)
	}
	return d.Warnings, nil
}

// attachmentChanged reports whether an update changes what the evaluator
// reads of a route: its parentRefs, hostnames or backend references. (A
// field.Path has unexported fields, which equality.Semantic refuses: the
// paths are compared as strings.)
func attachmentChanged(before, after *attachment.Route) bool {
	if before.Kind != after.Kind || before.Namespace != after.Namespace || before.Name != after.Name ||
		!equality.Semantic.DeepEqual(before.ParentRefs, after.ParentRefs) || !equality.Semantic.DeepEqual(before.Hostnames, after.Hostnames) ||
		len(before.BackendRefs) != len(after.BackendRefs) {
		return true
	}
	for i := range before.BackendRefs {
		b, a := &before.BackendRefs[i], &after.BackendRefs[i]
		if b.Path.String() != a.Path.String() || !equality.Semantic.DeepEqual(b.Ref, a.Ref) {
			return true
		}
	}
	return false
}

// decide decides from the cache and, when the cache rejects a parentRef,
// again on live reads of what the rejection depends on (Reader.Confirm): the
// cache may lag a write that happened a moment ago (kubectl apply -f dir/
// creates the Namespace, the Gateway and the route within a second). On an
// error it returns the cache's decision, if it got that far.
func (v *RouteValidator[T]) decide(ctx context.Context, oldRoute, route *attachment.Route) (attachment.Decision, error) {
	objs, err := v.Reader.ObjectsFor(ctx, route, false)
	if err != nil {
		return attachment.Decision{}, err
	}
	res, d := v.evaluate(oldRoute, route, objs)
	rejected := rejectedParents(res, v.Mode, nil)
	if len(rejected) == 0 {
		// Nothing rejected: an allow, or warnings that need no
		// confirmation (a parent not found was read live already, and a
		// backend's missing ReferenceGrant never denies).
		return d, nil
	}
	cached := d
	confirmation := v.Reader.NewConfirmation()
	for {
		if objs, err = confirmation.Confirm(ctx, route, rejected); err != nil {
			return cached, err
		}
		res, d = v.evaluate(oldRoute, route, objs)
		// A parent the cache accepted may reject on what was read live
		// (the route's Namespace): it is confirmed too before it counts.
		more := rejectedParents(res, v.Mode, rejected)
		if len(more) == 0 {
			break
		}
		rejected = append(rejected, more...)
	}
	if d.Verdict == attachment.VerdictDeny {
		// A listener that loses to another ListenerSet's was judged on the
		// cache's tables: the winner is confirmed too.
		if err := v.Reader.ConfirmConflicts(ctx, res); err != nil {
			return cached, err
		}
	}
	return d, nil
}

func (v *RouteValidator[T]) evaluate(oldRoute, route *attachment.Route, objs attachment.Objects) (attachment.RouteResult, attachment.Decision) {
	res := attachment.Evaluate(route, objs)
	if oldRoute != nil {
		return res, attachment.DecideUpdate(attachment.Evaluate(oldRoute, objs), res, v.Mode)
	}
	return res, attachment.Decide(res, v.Mode)
}

// rejectedParents are the parents that reject the route and whose rejection
// is reported (denied or warned about), other than those in confirmed.
func rejectedParents(res attachment.RouteResult, mode attachment.Mode, confirmed []attachment.ParentKey) []attachment.ParentKey {
	var out []attachment.ParentKey
	for i := range res.Parents {
		p := &res.Parents[i]
		key := p.Ref.Key()
		if p.Accepted == metav1.ConditionFalse && attachment.ParentVerdict(p, mode) != attachment.VerdictAllow &&
			!slices.Contains(confirmed, key) && !slices.Contains(out, key) {
			out = append(out, key)
		}
	}
	return out
}

// unconfirmed turns the denials of a decision that could not be confirmed
// into warnings, and says why: a stale cache must never cause a wrong
// denial. d is the cache's decision, empty when even that could not be read.
func unconfirmed(ctx context.Context, d attachment.Decision, err error, timeout time.Duration) attachment.Decision {
	out := attachment.Decision{Verdict: attachment.VerdictWarn, Reason: d.Reason, Warnings: d.Warnings}
	for _, e := range d.Denials {
		out.Warnings = append(out.Warnings, e.Field+": "+e.Detail)
	}
	out.Warnings = append(out.Warnings, fmt.Sprintf(msgUnconfirmed, readFailure(ctx, err, timeout)))
	return out
}
