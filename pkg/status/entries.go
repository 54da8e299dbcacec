package status

import (
	"strconv"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// maxParents is the API's limit on status.parents (RouteStatus.Parents
// MaxItems).
const maxParents = 32

// Desired computes gatewarden's own status.parents entries for a route: one
// per parentRef to a governed parent (a Gateway, or a ListenerSet whose
// Gateway is known, and that Gateway not annotated off), with
// the parentRef as the route spells it, Accepted with the evaluator's reason
// and message, and ResolvedRefs for its backendRef problems. Conditions keep
// their lastTransitionTime from current when their status is unchanged.
func Desired(route *attachment.Route, res attachment.RouteResult, controller gatewayv1.GatewayController,
	generation int64, current []gatewayv1.RouteParentStatus, now metav1.Time) []gatewayv1.RouteParentStatus {
	resolved := metav1.Condition{
		Type: string(gatewayv1.RouteConditionResolvedRefs), Status: metav1.ConditionTrue,
		Reason: string(gatewayv1.RouteReasonResolvedRefs), Message: "All backend references are permitted.",
	}
	if len(res.RefProblems) > 0 {
		p := res.RefProblems[0]
		resolved.Status, resolved.Reason = metav1.ConditionFalse, string(p.Reason)
		resolved.Message = p.Path.String() + ": " + p.Message
		if n := len(res.RefProblems); n > 1 {
			resolved.Message += " (and " + strconv.Itoa(n-1) + " more)"
		}
	}

	var out []gatewayv1.RouteParentStatus
	for i := range res.Parents {
		p := &res.Parents[i]
		if !p.Governor().Governed() {
			continue
		}
		ref := route.ParentRefs[p.Index]
		if indexOf(out, controller, &ref) >= 0 {
			continue // the same parentRef twice gets one entry
		}
		var conds []metav1.Condition
		if old := indexOf(current, controller, &ref); old >= 0 {
			conds = append(conds, current[old].Conditions...)
		}
		accepted := metav1.Condition{
			Type: string(gatewayv1.RouteConditionAccepted), Status: p.Accepted,
			Reason: string(p.Reason), Message: p.Message,
		}
		for _, c := range []metav1.Condition{accepted, resolved} {
			c.ObservedGeneration = generation
			c.LastTransitionTime = now
			// SetStatusCondition keeps lastTransitionTime unless the
			// status changes.
			meta.SetStatusCondition(&conds, c)
		}
		out = append(out, gatewayv1.RouteParentStatus{ParentRef: ref, ControllerName: controller, Conditions: conds})
	}
	return out
}

// Merge puts gatewarden's entries into the route's status.parents: entries of
// other controllers are kept exactly as they are and where they are; its own
// entries are updated in place, new ones appended, stale ones (parentRef
// removed) dropped. It reports whether anything changed. When the API's
// limit of 32 entries leaves no room, new entries are not added.
func Merge(current, own []gatewayv1.RouteParentStatus, controller gatewayv1.GatewayController) ([]gatewayv1.RouteParentStatus, bool) {
	out := make([]gatewayv1.RouteParentStatus, 0, len(current)+len(own))
	placed := make([]bool, len(own))
	for i := range current {
		c := &current[i]
		if c.ControllerName != controller {
			out = append(out, *c)
			continue
		}
		j := indexOf(own, controller, &c.ParentRef)
		if j < 0 || placed[j] {
			continue // stale, or a duplicate of ours: drop it
		}
		out = append(out, own[j])
		placed[j] = true
	}
	for j := range own {
		if !placed[j] && len(out) < maxParents {
			out = append(out, own[j])
		}
	}
	return out, !equality.Semantic.DeepEqual(normalize(current), normalize(out))
}

// normalize treats a nil and an empty list alike.
func normalize(p []gatewayv1.RouteParentStatus) []gatewayv1.RouteParentStatus {
	if len(p) == 0 {
		return nil
	}
	return p
}

func indexOf(entries []gatewayv1.RouteParentStatus, controller gatewayv1.GatewayController, ref *gatewayv1.ParentReference) int {
	for i := range entries {
		if entries[i].ControllerName == controller && equality.Semantic.DeepEqual(entries[i].ParentRef, *ref) {
			return i
		}
	}
	return -1
}

// Accepted returns the Accepted condition of gatewarden's entry for ref, or
// nil.
func Accepted(entries []gatewayv1.RouteParentStatus, controller gatewayv1.GatewayController, ref *gatewayv1.ParentReference) *metav1.Condition {
	if i := indexOf(entries, controller, ref); i >= 0 {
		return meta.FindStatusCondition(entries[i].Conditions, string(gatewayv1.RouteConditionAccepted))
	}
	return nil
}
