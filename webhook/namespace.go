package webhook

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// NamespaceValidator admits Namespace label changes. A Gateway listener that
// selects namespaces by label makes a Namespace's labels part of the
// attachment handshake:
//   - adding a label can grant the namespace a Gateway. With approvers set,
//     only they may; otherwise the grant is allowed with a warning.
//   - removing a label can silently detach every route of the namespace,
//     and its ListenerSets from their Gateways (with the routes that attach
//     through them). The validator says so, naming them.
type NamespaceValidator struct {
	// Reader lists the routes and ListenerSets of the namespace from the
	// cache by namespace, never cluster-wide.
	Reader *cluster.Reader
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
// Gateway: it holds no route or ListenerSet yet, so nothing can detach.
func (v *NamespaceValidator) ValidateCreate(ctx context.Context, ns *corev1.Namespace) (admission.Warnings, error) {
	ctx, cancel := v.Reader.Deadline(ctx)
	defer cancel()
	return v.guardGrants(ctx, ns.Name, nil, ns.Labels)
}

// ValidateUpdate guards the labels a change adds, then warns, or denies with
// --namespace-enforcement=deny, when the change detaches ListenerSets of the
// namespace from their Gateways, or routes from their parents. Unchanged
// labels cost nothing.
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
	c := detaching{
		what: fmt.Sprintf("Relabelling namespace %s", newNS.Name),
		fix:  fmt.Sprintf("To keep them attached, restore the labels of namespace %s or ask the Gateway owner to allow it.", newNS.Name),
		gk:   namespaceGK, name: newNS.Name, path: field.NewPath("metadata", "labels"),
		detachments: func(ctx context.Context, live bool) ([]attachment.ListenerSetDetachment, []attachment.Detachment, error) {
			return v.detachments(ctx, newNS.Name, oldNS.Labels, newNS.Labels, live)
		},
	}
	return c.answer(ctx, v.Reader, v.Mode, warnings)
}

var namespaceGK = corev1.SchemeGroupVersion.WithKind("Namespace").GroupKind()

// guardGrants finds what the new labels newly let the namespace reach: a
// listener's routes, or a Gateway's ListenerSets (oldLabels nil for a new
// Namespace). With approvers set, a grant by anyone else is denied;
// without, it is allowed with a warning. Taking access away is never a
// grant.
func (v *NamespaceValidator) guardGrants(ctx context.Context, ns string, oldLabels, newLabels labels.Set) (admission.Warnings, error) {
	if v.Approvers.Empty() {
		gateways, err := v.Reader.Gateways(ctx, false)
		if err != nil {
			// Unguarded, a grant is only warned about.
			logf.FromContext(ctx).Error(err, "Listing the Gateways a label change could grant failed", "namespace", ns)
			return nil, nil
		}
		return grantWarnings(ns, attachment.Grants(gateways, ns, oldLabels, newLabels)), nil
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
	gateways, err := v.Reader.Gateways(ctx, true)
	if err != nil {
		// What the guard could not check, it does not let through: with
		// approvers set, the webhook fails closed when gatewarden is down,
		// and it answers the same when it cannot read the Gateways in time.
		logf.FromContext(ctx).Error(err, "Listing the Gateways a label change could grant failed; refusing it", "namespace", ns)
		return nil, apierrors.NewInternalError(fmt.Errorf(msgGrantUnchecked, ns, readFailure(ctx, err, v.Reader.ConfirmTimeout), v.Approvers))
	}
	grants := attachment.Grants(gateways, ns, oldLabels, newLabels)
	if len(grants) == 0 {
		return nil, nil
	}
	return nil, denial(namespaceGK, ns,
		field.ErrorList{field.Forbidden(field.NewPath("metadata", "labels"), grantDenial(ns, grants, v.Approvers))})
}

// ValidateDelete allows every delete.
func (v *NamespaceValidator) ValidateDelete(context.Context, *corev1.Namespace) (admission.Warnings, error) {
	return nil, nil
}

// detachments returns the ListenerSets of the namespace that its Gateway
// accepts with the old labels and not with the new ones, and the parentRefs
// of routes that are accepted before and not after: the namespace's own
// routes, and the routes anywhere that attach through its ListenerSets.
func (v *NamespaceValidator) detachments(ctx context.Context, namespace string, oldLabels, newLabels map[string]string, live bool) (
	[]attachment.ListenerSetDetachment, []attachment.Detachment, error) {
	routes, err := v.Reader.RoutesIn(ctx, namespace, live)
	if err != nil {
		return nil, nil, err
	}
	sets, err := v.Reader.ListenerSetsIn(ctx, namespace)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]attachment.ParentKey, 0, len(sets))
	change := cluster.Change{Routes: routes}
	seen := map[types.NamespacedName]bool{}
	for _, r := range routes {
		seen[types.NamespacedName{Namespace: r.Namespace, Name: string(r.Kind) + "/" + r.Name}] = true
	}
	for _, ls := range sets {
		keys = append(keys, ls.ParentKey)
		change.ListenerSets = append(change.ListenerSets, ls.NamespacedName())
		through, err := v.Reader.RoutesOf(ctx, ls.ParentKey, live)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range through {
			if k := (types.NamespacedName{Namespace: r.Namespace, Name: string(r.Kind) + "/" + r.Name}); !seen[k] {
				seen[k] = true
				change.Routes = append(change.Routes, r)
			}
		}
	}
	if len(change.Routes) == 0 && len(keys) == 0 {
		return nil, nil, nil
	}
	objs, err := v.Reader.ObjectsForChange(ctx, change, live)
	if err != nil {
		return nil, nil, err
	}
	before := objs.WithNamespaceLabels(namespace, oldLabels)
	after := objs.WithNamespaceLabels(namespace, newLabels)
	return attachment.ListenerSetDetachments(keys, before, after), attachment.Detachments(change.Routes, before, after), nil
}
