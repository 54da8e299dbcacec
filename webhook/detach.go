package webhook

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// detaching is a change to the other side of the handshake (a Namespace
// relabelled, a Gateway or a ListenerSet edited or deleted) and how to work
// out what it detaches. The Namespace, Gateway and ListenerSet validators
// answer it the same way.
type detaching struct {
	// what names the change in the warnings' first line; fix ends them.
	what, fix string
	// gk, name and path are where a denial points.
	gk   schema.GroupKind
	name string
	path *field.Path
	// detachments returns the ListenerSets and the routes' parentRefs the
	// change detaches, from the cache or, with live set, confirmed.
	detachments func(ctx context.Context, live bool) ([]attachment.ListenerSetDetachment, []attachment.Detachment, error)
}

// answer says what the change detaches, after warnings: in warn mode as
// warnings; in deny mode as a denial, once live reads confirm it (a stale
// cache must never cause a wrong denial). What could not be read or
// confirmed is a warning that says so, never a refusal: which routes detach
// only informs, or in deny mode needs confirming first.
func (c *detaching) answer(ctx context.Context, r *cluster.Reader, mode attachment.Mode, warnings admission.Warnings) (admission.Warnings, error) {
	sets, dets, err := c.detachments(ctx, false)
	if err != nil {
		logf.FromContext(ctx).Error(err, "Reading what a change detaches failed", "change", c.what)
		return append(warnings, fmt.Sprintf(msgUnchecked, readFailure(ctx, err, r.ConfirmTimeout))), nil
	}
	if len(sets)+len(dets) == 0 {
		return warnings, nil
	}
	if mode != attachment.ModeDeny {
		return append(warnings, detachWarnings(c.what, sets, dets, c.fix)...), nil
	}
	confirmedSets, confirmed, err := c.detachments(ctx, true)
	switch {
	case err != nil:
		logf.FromContext(ctx).Error(err, "Confirming what a change detaches failed; warning instead of denying", "change", c.what)
		warnings = append(warnings, detachWarnings(c.what, sets, dets, c.fix)...)
		return append(warnings, fmt.Sprintf(msgUnconfirmed, readFailure(ctx, err, r.ConfirmTimeout))), nil
	case len(confirmedSets)+len(confirmed) > 0:
		return warnings, denial(c.gk, c.name,
			field.ErrorList{field.Forbidden(c.path, detachDenial(detachWarnings(c.what, confirmedSets, confirmed, c.fix)))})
	}
	return warnings, nil
}
