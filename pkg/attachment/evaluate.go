package attachment

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ParentResult is the verdict for one parentRef to a Gateway or a
// ListenerSet.
type ParentResult struct {
	// Index is the parentRef's position in spec.parentRefs.
	Index int
	Ref   ParentRef
	// Accepted is True or False, or Unknown when the parent (or a
	// ListenerSet's Gateway) is not known.
	Accepted metav1.ConditionStatus
	// Reason is the Gateway API reason of the Accepted condition.
	Reason gatewayv1.RouteConditionReason
	// Message says what was decided, why, and how to fix a rejection.
	Message string
	// Parent is the Gateway or ListenerSet that decided, nil when it is not
	// known.
	Parent *Parent

	// preexisting marks a rejection that an update did not cause.
	preexisting bool
}

// Path is the field path of the parentRef in the route.
func (p *ParentResult) Path() *field.Path { return ParentRefPath(p.Index) }

// Governor is the Gateway whose enforcement governs this parentRef: the
// Gateway named, or the ListenerSet's Gateway. Nil when it is not known.
func (p *ParentResult) Governor() *Gateway {
	if p.Parent == nil {
		return nil
	}
	return p.Parent.Gateway
}

// RefProblem is a backend reference that does not resolve.
type RefProblem struct {
	Path *field.Path
	// Reason is the Gateway API reason of the ResolvedRefs condition.
	Reason  gatewayv1.RouteConditionReason
	Message string
}

// RouteResult is the evaluator's answer for one route.
type RouteResult struct {
	// Parents has one entry per parentRef to a Gateway or a ListenerSet, in
	// parentRef order.
	Parents []ParentResult
	// RefProblems are backendRefs that are not permitted. They never
	// reject a parentRef: they make ResolvedRefs False.
	RefProblems []RefProblem
}

// Evaluate decides, for every parentRef of route to a Gateway or a
// ListenerSet, whether that parent would accept the route, and which
// backendRefs are not permitted.
func Evaluate(route *Route, objs Objects) RouteResult {
	var res RouteResult
	nsLabels, ok := objs.NamespaceLabels(route.Namespace)
	if !ok {
		// Every Namespace carries its name label; one not known to objs has
		// nothing else the evaluator could use.
		nsLabels = NamespaceLabels(route.Namespace, nil)
	}
	for i := range route.ParentRefs {
		ref := DefaultParentRef(route.Namespace, &route.ParentRefs[i])
		if !ref.Governed() {
			continue
		}
		if res.Parents == nil {
			res.Parents = make([]ParentResult, 0, len(route.ParentRefs))
		}
		res.Parents = append(res.Parents, evaluateParent(route, i, ref, nsLabels, objs))
	}
	res.RefProblems = checkBackendRefs(route, objs)
	return res
}

func evaluateParent(route *Route, index int, ref ParentRef, nsLabels labels.Set, objs Objects) ParentResult {
	res := ParentResult{Index: index, Ref: ref}
	p := objs.Parent(ref.Key())
	if p == nil {
		res.Accepted, res.Reason = metav1.ConditionUnknown, gatewayv1.RouteReasonPending
		res.Message = msgParentNotFound(ref)
		return res
	}
	res.Parent = p
	// A ListenerSet its Gateway does not accept has no listener on it.
	switch p.Attachment.Accepted {
	case metav1.ConditionUnknown:
		res.Accepted, res.Reason = metav1.ConditionUnknown, gatewayv1.RouteReasonPending
		res.Message = msgParentNotAttachedYet(p)
		return res
	case metav1.ConditionFalse:
		res.Accepted, res.Reason = metav1.ConditionFalse, gatewayv1.RouteReasonNotAllowedByListeners
		res.Message = msgParentNotAttached(p)
		return res
	}

	selected, kindAndNamespace := 0, 0
	kind := kindBit(route.Kind)
	for i := range p.Listeners {
		l := &p.Listeners[i]
		if !selects(ref, l) {
			continue
		}
		selected++
		// Each listener is judged as a whole: the kind, the namespace and
		// the hostname must all pass on the same listener, which must be in
		// effect (not Conflicted, its references resolved).
		if !l.Usable() || l.kinds&kind == 0 || !l.AdmitsNamespace(route.Namespace, nsLabels) {
			continue
		}
		kindAndNamespace++
		if hostnamesIntersect(l.Hostname, route.Hostnames) {
			res.Accepted, res.Reason = metav1.ConditionTrue, gatewayv1.RouteReasonAccepted
			res.Message = msgAccepted(p, l)
			return res
		}
	}
	res.Accepted = metav1.ConditionFalse
	switch {
	case selected == 0:
		res.Reason = gatewayv1.RouteReasonNoMatchingParent
		res.Message = msgNoMatchingParent(p, ref)
	case kindAndNamespace == 0:
		res.Reason = gatewayv1.RouteReasonNotAllowedByListeners
		res.Message = msgNotAllowed(p, ref, route, nsLabels)
	default:
		res.Reason = gatewayv1.RouteReasonNoMatchingListenerHostname
		res.Message = msgNoHostname(p, ref, route, nsLabels)
	}
	return res
}

// selects reports whether a parentRef's sectionName and port pick listener l.
func selects(ref ParentRef, l *Listener) bool {
	return (ref.SectionName == "" || ref.SectionName == l.Name) && (ref.Port == 0 || ref.Port == l.Port)
}

func checkBackendRefs(route *Route, objs Objects) []RefProblem {
	var problems []RefProblem
	from := referrer{Kind: route.Kind, Namespace: route.Namespace}
	for i := range route.BackendRefs {
		b := &route.BackendRefs[i]
		if !b.intoOtherNamespace(route.Namespace) {
			continue
		}
		target := backendTarget(b.Ref)
		if referencePermitted(objs.ReferenceGrants(target.Namespace), from, target) {
			continue
		}
		problems = append(problems, RefProblem{
			Path:    b.Path,
			Reason:  gatewayv1.RouteReasonRefNotPermitted,
			Message: msgRefNotPermitted(route, target),
		})
	}
	return problems
}

// refTarget is a reference with its defaults: for a backendRef, the core
// group and Service; for a certificateRef, the core group and Secret.
type refTarget struct {
	Group     gatewayv1.Group
	Kind      gatewayv1.Kind
	Namespace string
	Name      gatewayv1.ObjectName
}

// referrer is the kind and namespace of the object that holds a reference:
// what a ReferenceGrant's from must name.
type referrer struct {
	Kind      gatewayv1.Kind
	Namespace string
}

func backendTarget(ref *gatewayv1.BackendObjectReference) refTarget {
	t := refTarget{Kind: "Service", Name: ref.Name}
	if ref.Group != nil {
		t.Group = *ref.Group
	}
	if ref.Kind != nil {
		t.Kind = *ref.Kind
	}
	if ref.Namespace != nil {
		t.Namespace = string(*ref.Namespace)
	}
	return t
}

// referencePermitted reports whether one of the grants, all in the target's
// namespace, lets from refer to the target.
func referencePermitted(grants []*gatewayv1.ReferenceGrant, from referrer, target refTarget) bool {
	for _, g := range grants {
		if grantsFrom(g, from) && grantsTo(g, target) {
			return true
		}
	}
	return false
}

func grantsFrom(g *gatewayv1.ReferenceGrant, from referrer) bool {
	for _, f := range g.Spec.From {
		if f.Group == gatewayv1.GroupName && f.Kind == from.Kind && string(f.Namespace) == from.Namespace {
			return true
		}
	}
	return false
}

func grantsTo(g *gatewayv1.ReferenceGrant, target refTarget) bool {
	for _, t := range g.Spec.To {
		if t.Group == target.Group && t.Kind == target.Kind && (t.Name == nil || *t.Name == "" || *t.Name == target.Name) {
			return true
		}
	}
	return false
}
