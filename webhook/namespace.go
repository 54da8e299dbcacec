package webhook

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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

// NamespaceValidator admits Namespace label changes. A Gateway listener that
// selects namespaces by label makes a Namespace's labels part of the
// attachment handshake:
//   - adding a label can grant the namespace a Gateway. With approvers set,
//     only they may; otherwise the grant is allowed with a warning.
//   - removing a label can silently detach every route of the namespace.
//     The validator says so, naming the routes.
type NamespaceValidator struct {
	Reader *cluster.Reader
	// RouteTypes are the route kinds the cluster serves; routes are listed
	// from the cache by namespace, never cluster-wide.
	RouteTypes []cluster.RouteType
	// Mode is --namespace-enforcement: warn (the default), deny or off.
	Mode attachment.Mode
	// Approvers is --grant-approvers: who may grant a namespace a Gateway.
	Approvers Approvers
}

var _ admission.Validator[*corev1.Namespace] = &NamespaceValidator{}

// SetupNamespaceWebhookWithManager serves /validate--v1-namespace.
func SetupNamespaceWebhookWithManager(mgr ctrl.Manager, v *NamespaceValidator) error {
	return ctrl.NewWebhookManagedBy(mgr, &corev1.Namespace{}).WithValidator(v).WithLogConstructor(requestLogger("Namespace")).Complete()
}

// ValidateCreate guards a new Namespace whose labels already reach a
// Gateway: it holds no route yet, so nothing can detach.
func (v *NamespaceValidator) ValidateCreate(ctx context.Context, ns *corev1.Namespace) (admission.Warnings, error) {
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	return v.guardGrants(ctx, ns.Name, nil, ns.Labels)
}

// ValidateUpdate guards the labels a change adds, then warns, or denies with
// --namespace-enforcement=deny, when the change detaches routes of the
// namespace from their Gateways. Unchanged labels cost nothing.
func (v *NamespaceValidator) ValidateUpdate(ctx context.Context, oldNS, newNS *corev1.Namespace) (admission.Warnings, error) {
	if labels.Equals(oldNS.Labels, newNS.Labels) {
		return nil, nil
	}
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	// A Namespace held in Terminating by a finalizer its owner controls
	// keeps its routes: a label granted now is a grant all the same.
	warnings, err := v.guardGrants(ctx, newNS.Name, labels.Set(oldNS.Labels), newNS.Labels)
	if err != nil || v.Mode == attachment.ModeOff || newNS.DeletionTimestamp != nil {
		return warnings, err
	}
	what := fmt.Sprintf("Relabelling namespace %s", newNS.Name)
	fix := fmt.Sprintf("To keep them attached, restore the labels of namespace %s or ask the Gateway owner to allow it.", newNS.Name)
	dets, err := v.detachments(ctx, newNS.Name, oldNS.Labels, newNS.Labels, false)
	if err != nil {
		// Which routes detach only informs, or in deny mode needs confirming
		// first: never refuse a label change for want of it.
		logf.FromContext(ctx).Error(err, "Reading the routes of a relabelled namespace failed", "namespace", newNS.Name)
		return append(warnings, fmt.Sprintf(msgUnchecked, readFailure(ctx, err, v.Reader.ConfirmTimeout))), nil
	}
	if len(dets) > 0 && v.Mode == attachment.ModeDeny {
		// Deny only on what the API server confirms, never on a stale cache.
		confirmed, err := v.detachments(ctx, newNS.Name, oldNS.Labels, newNS.Labels, true)
		switch {
		case err != nil:
			logf.FromContext(ctx).Error(err, "Confirming the routes a relabel detaches failed; warning instead of denying", "namespace", newNS.Name)
			warnings = append(warnings, detachWarnings(what, dets, fix)...)
			return append(warnings, fmt.Sprintf(msgUnconfirmed, readFailure(ctx, err, v.Reader.ConfirmTimeout))), nil
		case len(confirmed) > 0:
			return warnings, denial(namespaceGK, newNS.Name,
				field.ErrorList{field.Forbidden(field.NewPath("metadata", "labels"), detachDenial(detachWarnings(what, confirmed, fix)))})
		}
		return warnings, nil
	}
	if len(dets) == 0 {
		return warnings, nil
	}
	return append(warnings, detachWarnings(what, dets, fix)...), nil
}

var namespaceGK = corev1.SchemeGroupVersion.WithKind("Namespace").GroupKind()

// guardGrants finds the Gateway listeners that the new labels newly let the
// namespace reach (oldLabels nil for a new Namespace). With approvers set, a
// grant by anyone else is denied; without, it is allowed with a warning.
// Taking access away is never a grant.
func (v *NamespaceValidator) guardGrants(ctx context.Context, ns string, oldLabels, newLabels labels.Set) (admission.Warnings, error) {
	if v.Approvers.Empty() {
		grants, err := v.grants(ctx, ns, oldLabels, newLabels, false)
		if err != nil {
			// Unguarded, a grant is only warned about.
			logf.FromContext(ctx).Error(err, "Listing the Gateways a label change could grant failed", "namespace", ns)
			return nil, nil
		}
		return grantWarnings(ns, grants), nil
	}
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	if v.Approvers.Approve(req.UserInfo) {
		return nil, nil
	}
	// The guard reads the Gateways from the API server: a cache that has
	// not seen a Gateway created a moment ago must neither let a grant
	// through nor cause a wrong denial. Label changes are rare enough.
	grants, err := v.grants(ctx, ns, oldLabels, newLabels, true)
	if err != nil {
		// What the guard could not check, it does not let through: with
		// approvers set, the webhook fails closed when gatewarden is down,
		// and it answers the same when it cannot read the Gateways in time.
		logf.FromContext(ctx).Error(err, "Listing the Gateways a label change could grant failed; refusing it", "namespace", ns)
		return nil, apierrors.NewInternalError(fmt.Errorf(msgGrantUnchecked, ns, readFailure(ctx, err, v.Reader.ConfirmTimeout), v.Approvers))
	}
	if len(grants) == 0 {
		return nil, nil
	}
	return nil, denial(namespaceGK, ns,
		field.ErrorList{field.Forbidden(field.NewPath("metadata", "labels"), grantDenial(ns, grants, v.Approvers))})
}

// grants lists every Gateway (from the cache, or live) and asks the
// evaluator which of their listeners the label change newly admits.
func (v *NamespaceValidator) grants(ctx context.Context, ns string, oldLabels, newLabels labels.Set, live bool) ([]attachment.Grant, error) {
	reader, opts := v.Reader.Cache, []client.ListOption{client.UnsafeDisableDeepCopy}
	if live {
		reader, opts = v.Reader.Live, nil
	}
	list := &gatewayv1.GatewayList{}
	if err := reader.List(ctx, list, opts...); err != nil {
		return nil, err
	}
	gateways := make([]*attachment.Gateway, 0, len(list.Items))
	for i := range list.Items {
		if selectsByLabel(&list.Items[i]) {
			gateways = append(gateways, v.Reader.Prepare(&list.Items[i]))
		}
	}
	return attachment.Grants(gateways, ns, oldLabels, newLabels), nil
}

// selectsByLabel reports whether a Gateway has a listener that admits
// namespaces by label selector, before preparing it for evaluation.
func selectsByLabel(gw *gatewayv1.Gateway) bool {
	for i := range gw.Spec.Listeners {
		ar := gw.Spec.Listeners[i].AllowedRoutes
		if ar != nil && ar.Namespaces != nil && ar.Namespaces.From != nil && *ar.Namespaces.From == gatewayv1.NamespacesFromSelector {
			return true
		}
	}
	return false
}

// ValidateDelete allows every delete.
func (v *NamespaceValidator) ValidateDelete(context.Context, *corev1.Namespace) (admission.Warnings, error) {
	return nil, nil
}

// detachments returns the parentRefs of the namespace's routes that are
// accepted with the old labels and not with the new ones.
func (v *NamespaceValidator) detachments(ctx context.Context, namespace string, oldLabels, newLabels map[string]string, live bool) ([]attachment.Detachment, error) {
	routes, err := v.routesIn(ctx, namespace, live)
	if err != nil || len(routes) == 0 {
		return nil, err
	}
	before := attachment.NewIndex()
	before.AddNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: oldLabels}})
	seen := map[types.NamespacedName]bool{}
	for _, r := range routes {
		for _, nn := range cluster.ParentGateways(r) {
			if seen[nn] {
				continue
			}
			seen[nn] = true
			gw, err := v.Reader.Gateway(ctx, nn, live)
			if err != nil {
				return nil, err
			}
			if gw != nil {
				before.AddPrepared(v.Reader.Prepare(gw))
			}
		}
	}
	after := attachment.WithNamespaceLabels(before, namespace, newLabels)
	return attachment.Detachments(routes, before, after), nil
}

// routesIn lists the routes of every served kind in one namespace, sorted by
// kind and name so that warnings are stable.
func (v *NamespaceValidator) routesIn(ctx context.Context, namespace string, live bool) ([]*attachment.Route, error) {
	reader := v.Reader.Cache
	opts := []client.ListOption{client.InNamespace(namespace), client.UnsafeDisableDeepCopy}
	if live {
		reader, opts = v.Reader.Live, opts[:1]
	}
	var routes []*attachment.Route
	for _, t := range v.RouteTypes {
		list := t.NewList()
		if err := reader.List(ctx, list, opts...); err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", t.Kind, namespace, err)
		}
		rs, err := cluster.RoutesOf(list)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(rs, func(a, b *attachment.Route) int { return strings.Compare(a.Name, b.Name) })
		routes = append(routes, rs...)
	}
	return routes, nil
}
