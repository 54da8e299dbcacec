package webhook

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// GatewayValidator admits Gateways: the infra owner's side of the handshake.
// It says which attached ListenerSets and routes an edit or a delete would
// detach, and warns when a listener or allowedListeners trusts labels that
// app teams can set on their own Namespaces.
type GatewayValidator struct {
	Reader *cluster.Reader
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

// ValidateCreate warns about selectors that trust self-service labels, names
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
// edit detaches ListenerSets or routes that are attached now.
func (v *GatewayValidator) ValidateUpdate(ctx context.Context, oldGW, newGW *gatewayv1.Gateway) (admission.Warnings, error) {
	if v.Mode == attachment.ModeOff || newGW.DeletionTimestamp != nil {
		return nil, nil
	}
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	warnings := v.configWarnings(ctx, oldGW, newGW)
	// The field a denial points at: what changed of what routes and
	// ListenerSets attach by.
	changed := field.NewPath("spec", "listeners")
	switch {
	case equality.Semantic.DeepEqual(oldGW.Spec.Listeners, newGW.Spec.Listeners) &&
		equality.Semantic.DeepEqual(oldGW.Spec.AllowedListeners, newGW.Spec.AllowedListeners):
		return warnings, nil
	case equality.Semantic.DeepEqual(oldGW.Spec.Listeners, newGW.Spec.Listeners):
		changed = field.NewPath("spec", "allowedListeners")
	}
	c := detaching{
		what: fmt.Sprintf("This change to Gateway %s/%s", newGW.Namespace, newGW.Name),
		fix:  "Keep the listeners, namespaces, kinds and hostnames they use, or tell their owners first.",
		gk:   schema.GroupKind{Group: gatewayv1.GroupName, Kind: "Gateway"}, name: newGW.Name, path: changed,
		detachments: func(ctx context.Context, live bool) ([]attachment.ListenerSetDetachment, []attachment.Detachment, error) {
			return v.detachments(ctx, oldGW, newGW, live)
		},
	}
	return c.answer(ctx, v.Reader, v.Mode, warnings)
}

// ValidateDelete never blocks a delete; it says which ListenerSets and
// routes lose their Gateway.
func (v *GatewayValidator) ValidateDelete(ctx context.Context, gw *gatewayv1.Gateway) (admission.Warnings, error) {
	if v.Mode == attachment.ModeOff {
		return nil, nil
	}
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	// A delete is never denied, whatever the mode.
	c := detaching{
		what: fmt.Sprintf("Deleting Gateway %s/%s", gw.Namespace, gw.Name),
		fix:  "Their owners should move them to another Gateway.",
		detachments: func(ctx context.Context, live bool) ([]attachment.ListenerSetDetachment, []attachment.Detachment, error) {
			return v.detachments(ctx, gw, nil, live)
		},
	}
	return c.answer(ctx, v.Reader, attachment.ModeWarn, nil)
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
		var sel *metav1.LabelSelector
		if l.AllowedRoutes != nil && l.AllowedRoutes.Namespaces != nil {
			sel = l.AllowedRoutes.Namespaces.Selector
		}
		if oldGW != nil && sameSelector(oldGW, l) {
			continue
		}
		out = append(out, v.selectorWarnings(ctx, fmt.Sprintf("listener %q", l.Name), &prepared.Listener(l.Name).Routes, sel, "namespaces")...)
	}
	if al := newGW.Spec.AllowedListeners; al != nil && al.Namespaces != nil &&
		(oldGW == nil || !equality.Semantic.DeepEqual(oldGW.Spec.AllowedListeners, newGW.Spec.AllowedListeners)) {
		out = append(out, v.selectorWarnings(ctx, "allowedListeners", &prepared.AllowedListeners, al.Namespaces.Selector, "ListenerSets from namespaces")...)
	}
	return out
}

// selectorWarnings reviews one new or changed namespace selector: whether it
// trusts labels anyone who may edit a Namespace can set, and which
// namespaces it admits now.
func (v *GatewayValidator) selectorWarnings(ctx context.Context, what string, rule *attachment.Namespaces, sel *metav1.LabelSelector, admitted string) []string {
	if !rule.SelectsOnLabels() {
		return nil
	}
	var out []string
	if keys := selfServiceLabelKeys(sel); len(keys) > 0 && v.Approvers.Empty() {
		out = append(out, fmt.Sprintf("%s admits %s by label %s, which anyone who may edit a Namespace can set: "+
			"select on %s, or run gatewarden with --grant-approvers", what, admitted, strings.Join(keys, ", "), corev1.LabelMetadataName))
	}
	// A label set before any Gateway selected on it was never a grant, so
	// no approver saw it: name what the new selector admits.
	names, err := v.Reader.NamespacesMatching(ctx, rule.Selector)
	if err != nil {
		logf.FromContext(ctx).Error(err, "Listing the namespaces a selector admits")
		return out
	}
	if len(names) <= maxListedRoutes {
		return append(out, clip(fmt.Sprintf("%s admits %d %s by label: %s", what, len(names), plural(len(names), "namespace", "namespaces"), strings.Join(names, ", "))))
	}
	return append(out, clip(fmt.Sprintf("%s admits %d namespaces by label: %s and %d more", what, len(names),
		strings.Join(names[:maxListedRoutes], ", "), len(names)-maxListedRoutes)))
}

// selfServiceLabelKeys are the label keys a namespace selector trusts other
// than kubernetes.io/metadata.name, which only the API server sets.
func selfServiceLabelKeys(sel *metav1.LabelSelector) []string {
	if sel == nil {
		return nil
	}
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

// detachments returns the ListenerSets of the Gateway that oldGW accepts
// and newGW (nil for a delete) does not, and the parentRefs accepted by
// oldGW, directly or through its ListenerSets, and not by newGW.
func (v *GatewayValidator) detachments(ctx context.Context, oldGW, newGW *gatewayv1.Gateway, live bool) (
	[]attachment.ListenerSetDetachment, []attachment.Detachment, error) {
	key := types.NamespacedName{Namespace: oldGW.Namespace, Name: oldGW.Name}
	routes, err := v.Reader.RoutesOf(ctx, attachment.GatewayKey(key.Namespace, key.Name), live)
	if err != nil {
		return nil, nil, err
	}
	sets, err := v.Reader.ListenerSetsOf(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]attachment.ParentKey, 0, len(sets))
	change := cluster.Change{Routes: routes, Gateways: []types.NamespacedName{key}}
	for _, ls := range sets {
		keys = append(keys, ls.ParentKey)
		change.ListenerSets = append(change.ListenerSets, ls.NamespacedName())
		through, err := v.Reader.RoutesOf(ctx, ls.ParentKey, live)
		if err != nil {
			return nil, nil, err
		}
		change.Routes = append(change.Routes, through...)
	}
	if len(change.Routes) == 0 && len(keys) == 0 {
		return nil, nil, nil
	}
	objs, err := v.Reader.ObjectsForChange(ctx, change, live)
	if err != nil {
		return nil, nil, err
	}
	before := objs.WithGateway(key, attachment.NewGateway(oldGW))
	var newGateway *attachment.Gateway // nil: deleted
	if newGW != nil {
		newGateway = attachment.NewGateway(newGW)
	}
	after := objs.WithGateway(key, newGateway)
	return attachment.ListenerSetDetachments(keys, before, after), attachment.Detachments(change.Routes, before, after), nil
}
