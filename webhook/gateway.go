package webhook

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// GatewayValidator admits Gateways: the infra owner's side of the handshake.
// It says which attached routes an edit or a delete would detach, and warns
// when a listener trusts labels that app teams can set on their own
// Namespaces.
type GatewayValidator struct {
	Reader     *cluster.Reader
	RouteTypes []cluster.RouteType
	// Mode is --gateway-enforcement: warn (the default), deny or off.
	Mode attachment.Mode
	// Approvers is --grant-approvers: when set, labels are guarded.
	Approvers Approvers
}

var _ admission.Validator[*gatewayv1.Gateway] = &GatewayValidator{}

// SetupGatewayWebhookWithManager serves /validate-gateway-networking-k8s-io-v1-gateway.
func SetupGatewayWebhookWithManager(mgr ctrl.Manager, v *GatewayValidator) error {
	return ctrl.NewWebhookManagedBy(mgr, &gatewayv1.Gateway{}).WithValidator(v).WithLogConstructor(requestLogger("Gateway")).Complete()
}

// ValidateCreate warns about listeners that trust self-service labels, names
// the namespaces a label selector admits, and warns about an enforcement
// annotation that is not a mode.
func (v *GatewayValidator) ValidateCreate(ctx context.Context, gw *gatewayv1.Gateway) (admission.Warnings, error) {
	if v.Mode == attachment.ModeOff {
		return nil, nil
	}
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	return v.configWarnings(ctx, nil, gw), nil
}

// ValidateUpdate warns, or denies with --gateway-enforcement=deny, when the
// edit detaches routes that are attached now.
func (v *GatewayValidator) ValidateUpdate(ctx context.Context, oldGW, newGW *gatewayv1.Gateway) (admission.Warnings, error) {
	if v.Mode == attachment.ModeOff || newGW.DeletionTimestamp != nil {
		return nil, nil
	}
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	warnings := v.configWarnings(ctx, oldGW, newGW)
	if equality.Semantic.DeepEqual(oldGW.Spec.Listeners, newGW.Spec.Listeners) {
		return warnings, nil
	}
	what := fmt.Sprintf("This change to Gateway %s/%s", newGW.Namespace, newGW.Name)
	fix := "Keep the listeners, namespaces, kinds and hostnames these routes use, or tell their owners first."
	dets, err := v.detachments(ctx, oldGW, newGW, false)
	if err != nil {
		// Which routes detach only informs, or in deny mode needs confirming
		// first: never refuse a change for want of it.
		logf.FromContext(ctx).Error(err, "Reading the routes of a changed Gateway failed")
		return append(warnings, fmt.Sprintf(msgUnchecked, readFailure(ctx, err, v.Reader.ConfirmTimeout))), nil
	}
	if len(dets) > 0 && v.Mode == attachment.ModeDeny {
		// Deny only on what the API server confirms, never on a stale cache.
		confirmed, err := v.detachments(ctx, oldGW, newGW, true)
		switch {
		case err != nil:
			logf.FromContext(ctx).Error(err, "Confirming the routes a Gateway change detaches failed; warning instead of denying")
			warnings = append(warnings, detachWarnings(what, dets, fix)...)
			return append(warnings, fmt.Sprintf(msgUnconfirmed, readFailure(ctx, err, v.Reader.ConfirmTimeout))), nil
		case len(confirmed) > 0:
			return warnings, denial(schema.GroupKind{Group: gatewayv1.GroupName, Kind: "Gateway"}, newGW.Name,
				field.ErrorList{field.Forbidden(field.NewPath("spec", "listeners"), detachDenial(detachWarnings(what, confirmed, fix)))})
		}
		return warnings, nil
	}
	if len(dets) == 0 {
		return warnings, nil
	}
	return append(warnings, detachWarnings(what, dets, fix)...), nil
}

// ValidateDelete never blocks a delete; it says which routes lose their
// Gateway.
func (v *GatewayValidator) ValidateDelete(ctx context.Context, gw *gatewayv1.Gateway) (admission.Warnings, error) {
	if v.Mode == attachment.ModeOff {
		return nil, nil
	}
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	dets, err := v.detachments(ctx, gw, nil, false)
	if err != nil {
		// A delete must never fail on gatewarden's account.
		logf.FromContext(ctx).Error(err, "Listing the routes of a deleted Gateway failed")
		return nil, nil
	}
	if len(dets) == 0 {
		return nil, nil
	}
	return detachWarnings(fmt.Sprintf("Deleting Gateway %s/%s", gw.Namespace, gw.Name), dets,
		"Their owners should move them to another Gateway."), nil
}

// configWarnings reviews what the Gateway itself says, on create and when
// it changes.
func (v *GatewayValidator) configWarnings(ctx context.Context, oldGW, newGW *gatewayv1.Gateway) []string {
	var out []string
	if val, ok := newGW.Annotations[attachment.EnforcementAnnotation]; ok {
		if _, err := attachment.ParseMode(val); err != nil {
			out = append(out, clip(fmt.Sprintf("annotation %s: %q is not deny, warn or off; the default applies", attachment.EnforcementAnnotation, val)))
		}
	}
	prepared := attachment.NewGateway(newGW)
	for i := range newGW.Spec.Listeners {
		l := &newGW.Spec.Listeners[i]
		keys := selfServiceLabelKeys(l)
		if len(keys) == 0 || (oldGW != nil && sameSelector(oldGW, l)) {
			continue
		}
		if v.Approvers.Empty() {
			out = append(out, fmt.Sprintf("listener %q admits namespaces by label %s, which anyone who may edit a Namespace can set: "+
				"select on %s, or run gatewarden with --grant-approvers", l.Name, strings.Join(keys, ", "), corev1.LabelMetadataName))
		}
		// A label set before any Gateway selected on it was never a grant,
		// so no approver saw it: name what the new selector admits.
		if w := v.admittedNamespaces(ctx, prepared.Listener(l.Name)); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// admittedNamespaces names the Namespaces a new or changed selector admits.
func (v *GatewayValidator) admittedNamespaces(ctx context.Context, l *attachment.Listener) string {
	if l == nil || !l.SelectsOnLabels() {
		return ""
	}
	list := &corev1.NamespaceList{}
	if err := v.Reader.Cache.List(ctx, list, client.MatchingLabelsSelector{Selector: l.Selector}, client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "Listing the namespaces a selector admits")
		return ""
	}
	names := make([]string, 0, len(list.Items))
	for i := range list.Items {
		names = append(names, list.Items[i].Name)
	}
	slices.Sort(names)
	if len(names) <= maxListedRoutes {
		return clip(fmt.Sprintf("listener %q admits %d %s by label: %s", l.Name, len(names), plural(len(names), "namespace", "namespaces"), strings.Join(names, ", ")))
	}
	return clip(fmt.Sprintf("listener %q admits %d namespaces by label: %s and %d more", l.Name, len(names),
		strings.Join(names[:maxListedRoutes], ", "), len(names)-maxListedRoutes))
}

// selfServiceLabelKeys are the label keys a listener's namespace selector
// trusts other than kubernetes.io/metadata.name, which only the API server
// sets.
func selfServiceLabelKeys(l *gatewayv1.Listener) []string {
	if l.AllowedRoutes == nil || l.AllowedRoutes.Namespaces == nil || l.AllowedRoutes.Namespaces.From == nil ||
		*l.AllowedRoutes.Namespaces.From != gatewayv1.NamespacesFromSelector || l.AllowedRoutes.Namespaces.Selector == nil {
		return nil
	}
	sel := l.AllowedRoutes.Namespaces.Selector
	var keys []string
	for k := range sel.MatchLabels {
		keys = append(keys, k)
	}
	for _, e := range sel.MatchExpressions {
		keys = append(keys, e.Key)
	}
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == corev1.LabelMetadataName })
	slices.Sort(keys)
	return slices.Compact(keys)
}

func sameSelector(oldGW *gatewayv1.Gateway, l *gatewayv1.Listener) bool {
	for i := range oldGW.Spec.Listeners {
		o := &oldGW.Spec.Listeners[i]
		if o.Name == l.Name {
			return equality.Semantic.DeepEqual(o.AllowedRoutes, l.AllowedRoutes)
		}
	}
	return false
}

// detachments returns the parentRefs to the Gateway that are accepted by
// oldGW and not by newGW (nil for a delete).
func (v *GatewayValidator) detachments(ctx context.Context, oldGW, newGW *gatewayv1.Gateway, live bool) ([]attachment.Detachment, error) {
	key := types.NamespacedName{Namespace: oldGW.Namespace, Name: oldGW.Name}
	routes, err := v.routesOf(ctx, key, live)
	if err != nil || len(routes) == 0 {
		return nil, err
	}
	before := attachment.NewIndex()
	before.AddGateway(oldGW)
	seen := map[string]bool{}
	for _, r := range routes {
		if seen[r.Namespace] {
			continue
		}
		seen[r.Namespace] = true
		ns, err := v.Reader.Namespace(ctx, r.Namespace, live)
		if err != nil {
			return nil, err
		}
		if ns != nil {
			before.AddNamespace(ns)
		}
	}
	var newGateway *attachment.Gateway // nil: deleted
	if newGW != nil {
		newGateway = attachment.NewGateway(newGW)
	}
	after := attachment.WithGateway(before, key, newGateway)
	return attachment.Detachments(routes, before, after), nil
}

// routesOf lists the routes that name the Gateway, through the cache's index
// of parentRefs; with live set, each one is read again from the API server.
func (v *GatewayValidator) routesOf(ctx context.Context, key types.NamespacedName, live bool) ([]*attachment.Route, error) {
	var routes []*attachment.Route
	for _, t := range v.RouteTypes {
		list := t.NewList()
		if err := v.Reader.Cache.List(ctx, list, client.MatchingFields{cluster.IndexParentGateway: key.String()}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing %s of Gateway %s: %w", t.Kind, key, err)
		}
		rs, err := cluster.RoutesOf(list)
		if err != nil {
			return nil, err
		}
		if live {
			if rs, err = v.reread(ctx, t, rs); err != nil {
				return nil, err
			}
		}
		slices.SortFunc(rs, func(a, b *attachment.Route) int {
			return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
		})
		routes = append(routes, rs...)
	}
	return routes, nil
}

// reread reads routes again from the API server, dropping those deleted.
func (v *GatewayValidator) reread(ctx context.Context, t cluster.RouteType, routes []*attachment.Route) ([]*attachment.Route, error) {
	var out []*attachment.Route
	for _, r := range routes {
		obj := t.NewObject()
		err := v.Reader.Live.Get(ctx, types.NamespacedName{Namespace: r.Namespace, Name: r.Name}, obj)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		fresh, err := attachment.RouteFor(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, fresh)
	}
	return out, nil
}
