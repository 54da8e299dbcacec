package webhook

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// ListenerSetValidator admits ListenerSets: the second handshake of a shared
// Gateway. A ListenerSet the Gateway's allowedListeners does not admit is
// denied (or warned, per --listenerset-enforcement and the Gateway's
// gatewarden.dev/enforcement annotation, never the ListenerSet's own);
// listeners that conflict with ones that take precedence are warned about,
// naming the winner; an update or delete that detaches attached routes says
// which.
type ListenerSetValidator struct {
	Reader *cluster.Reader
	// Mode is --listenerset-enforcement: deny (the default), warn or off.
	Mode attachment.Mode
	// Observe, when set, is told of every decision, for metrics.
	Observe func(kind gatewayv1.Kind, d attachment.Decision, elapsed time.Duration)
}

var _ admission.Validator[*gatewayv1.ListenerSet] = &ListenerSetValidator{}

// SetupListenerSetWebhookWithManager serves /validate-gateway-networking-k8s-io-v1-listenerset.
func SetupListenerSetWebhookWithManager(mgr ctrl.Manager, v *ListenerSetValidator) error {
	return ctrl.NewWebhookManagedBy(mgr, &gatewayv1.ListenerSet{}).WithValidator(v).WithLogConstructor(requestLogger("ListenerSet")).Complete()
}

var listenerSetGK = schema.GroupKind{Group: gatewayv1.GroupName, Kind: string(attachment.KindListenerSet)}

// ValidateCreate judges a new ListenerSet against its Gateway.
func (v *ListenerSetValidator) ValidateCreate(ctx context.Context, ls *gatewayv1.ListenerSet) (admission.Warnings, error) {
	return v.validate(ctx, nil, ls)
}

// ValidateUpdate judges the updated ListenerSet (a rejection the update did
// not cause is a warning) and warns about the routes it detaches.
func (v *ListenerSetValidator) ValidateUpdate(ctx context.Context, oldLS, newLS *gatewayv1.ListenerSet) (admission.Warnings, error) {
	if newLS.DeletionTimestamp != nil && equality.Semantic.DeepEqual(oldLS.Spec, newLS.Spec) {
		// Finalizers are being removed: never stand in the way of a delete.
		return nil, nil
	}
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	warnings, err := v.validate(ctx, oldLS, newLS)
	if err != nil || v.Mode == attachment.ModeOff || equality.Semantic.DeepEqual(oldLS.Spec, newLS.Spec) {
		return warnings, err
	}
	return append(warnings, v.detachWarnings(ctx, oldLS, newLS)...), nil
}

// ValidateDelete never blocks a delete; it says which routes lose their
// ListenerSet.
func (v *ListenerSetValidator) ValidateDelete(ctx context.Context, ls *gatewayv1.ListenerSet) (admission.Warnings, error) {
	if v.Mode == attachment.ModeOff {
		return nil, nil
	}
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	return v.detachWarnings(ctx, ls, nil), nil
}

func (v *ListenerSetValidator) validate(ctx context.Context, oldLS, newLS *gatewayv1.ListenerSet) (admission.Warnings, error) {
	start := time.Now()
	// Every read below ends in time for the API server to get this answer
	// rather than its own timeout.
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	d, err := v.decide(ctx, oldLS, newLS, false)
	if err == nil && d.Verdict == attachment.VerdictDeny {
		// The cache may lag a Gateway or Namespace written a moment ago:
		// confirm with live reads before denying.
		var confirmed attachment.Decision
		if confirmed, err = v.decide(ctx, oldLS, newLS, true); err == nil {
			d = confirmed
		}
	}
	if err != nil {
		// What could not be read cannot be confirmed: a stale cache must
		// never cause a wrong denial.
		logf.FromContext(ctx).Error(err, "Reading what a ListenerSet needs failed; warning instead of denying",
			"listenerSet", newLS.Namespace+"/"+newLS.Name)
		d = unconfirmed(ctx, d, err, v.Reader.ConfirmTimeout)
	}
	if v.Observe != nil {
		v.Observe(attachment.KindListenerSet, d, time.Since(start))
	}
	if d.Verdict == attachment.VerdictDeny {
		return d.Warnings, denial(listenerSetGK, newLS.Name, d.Denials)
	}
	return d.Warnings, nil
}

func (v *ListenerSetValidator) decide(ctx context.Context, oldLS, newLS *gatewayv1.ListenerSet, live bool) (attachment.Decision, error) {
	judged, err := v.Reader.JudgeListenerSet(ctx, newLS, live)
	if err != nil {
		return attachment.Decision{}, err
	}
	if oldLS == nil {
		return attachment.DecideListenerSet(judged, v.Mode), nil
	}
	old, err := v.Reader.JudgeListenerSet(ctx, oldLS, live)
	if err != nil {
		return attachment.Decision{}, err
	}
	return attachment.DecideListenerSetUpdate(old, judged, v.Mode), nil
}

// detachWarnings names the routes an update (newLS) or a delete (nil)
// detaches: those attached to the ListenerSet, and to the other ListenerSets
// of its Gateway whose listeners it now takes or gives back. It only ever
// warns, and says so when it could not work them out.
func (v *ListenerSetValidator) detachWarnings(ctx context.Context, oldLS, newLS *gatewayv1.ListenerSet) admission.Warnings {
	c := detaching{
		what: fmt.Sprintf("This change to ListenerSet %s/%s", oldLS.Namespace, oldLS.Name),
		fix:  "Keep the listeners these routes use, or tell their owners first.",
		detachments: func(ctx context.Context, _ bool) ([]attachment.ListenerSetDetachment, []attachment.Detachment, error) {
			return v.detachments(ctx, oldLS, newLS)
		},
	}
	if newLS == nil {
		c.what = fmt.Sprintf("Deleting ListenerSet %s/%s", oldLS.Namespace, oldLS.Name)
		c.fix = "Their owners should move them to another parent."
	}
	warnings, _ := c.answer(ctx, v.Reader, attachment.ModeWarn, nil)
	return warnings
}

func (v *ListenerSetValidator) detachments(ctx context.Context, oldLS, newLS *gatewayv1.ListenerSet) (
	[]attachment.ListenerSetDetachment, []attachment.Detachment, error) {
	self := types.NamespacedName{Namespace: oldLS.Namespace, Name: oldLS.Name}
	old := attachment.NewListenerSet(oldLS)
	change := cluster.Change{ListenerSets: []types.NamespacedName{self}}
	// The other ListenerSets of the Gateways it leaves and joins: their
	// listeners may conflict, or stop conflicting, with its own.
	gateways := []types.NamespacedName{old.GatewayRef.Key().NamespacedName()}
	var updated *attachment.ListenerSet // nil: deleted
	if newLS != nil {
		updated = attachment.NewListenerSet(newLS)
		gateways = append(gateways, updated.GatewayRef.Key().NamespacedName())
	}
	var keys []attachment.ParentKey
	for _, gw := range gateways {
		sets, err := v.Reader.ListenerSetsOf(ctx, gw)
		if err != nil {
			return nil, nil, err
		}
		for _, ls := range sets {
			if ls.NamespacedName() != self {
				keys = append(keys, ls.ParentKey)
				change.ListenerSets = append(change.ListenerSets, ls.NamespacedName())
			}
		}
	}
	for _, k := range append([]attachment.ParentKey{old.ParentKey}, keys...) {
		routes, err := v.Reader.RoutesOf(ctx, k, false)
		if err != nil {
			return nil, nil, err
		}
		change.Routes = append(change.Routes, routes...)
	}
	if len(change.Routes) == 0 && len(keys) == 0 {
		return nil, nil, nil
	}
	objs, err := v.Reader.ObjectsForChange(ctx, change, false)
	if err != nil {
		return nil, nil, err
	}
	before := objs.WithListenerSet(self, old)
	after := objs.WithListenerSet(self, updated)
	return attachment.ListenerSetDetachments(keys, before, after), attachment.Detachments(change.Routes, before, after), nil
}
