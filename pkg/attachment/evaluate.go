package attachment

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ParentRef is a route's parentRef with the API's defaults applied.
type ParentRef struct {
	Group     gatewayv1.Group
	Kind      gatewayv1.Kind
	Namespace string
	Name      string
	// SectionName is "" when the parentRef names no listener.
	SectionName gatewayv1.SectionName
	// Port is 0 when the parentRef names no port.
	Port gatewayv1.PortNumber
}

// DefaultParentRef applies the defaults of apis/v1/shared_types.go: group
// gateway.networking.k8s.io, kind Gateway, and the route's namespace.
func DefaultParentRef(routeNamespace string, ref *gatewayv1.ParentReference) ParentRef {
	out := ParentRef{Group: gatewayv1.GroupName, Kind: KindGateway, Namespace: routeNamespace, Name: string(ref.Name)}
	if ref.Group != nil {
		out.Group = *ref.Group
	}
	if ref.Kind != nil {
		out.Kind = *ref.Kind
	}
	if ref.Namespace != nil && *ref.Namespace != "" {
		out.Namespace = string(*ref.Namespace)
	}
	if ref.SectionName != nil {
		out.SectionName = *ref.SectionName
	}
	if ref.Port != nil {
		out.Port = *ref.Port
	}
	return out
}

// IsGateway reports whether the parentRef names a Gateway, the only parent
// gatewarden governs. Others (a Service for mesh, a ListenerSet) are skipped.
func (r ParentRef) IsGateway() bool {
	return r.Group == gatewayv1.GroupName && r.Kind == KindGateway
}

// Key is the namespace and name of the referenced Gateway.
func (r ParentRef) Key() types.NamespacedName {
	return types.NamespacedName{Namespace: r.Namespace, Name: r.Name}
}

// ParentResult is the verdict for one parentRef to a Gateway.
type ParentResult struct {
	// Index is the parentRef's position in spec.parentRefs.
	Index int
	Ref   ParentRef
	// Accepted is True or False, or Unknown when the Gateway is not known.
	Accepted metav1.ConditionStatus
	// Reason is the Gateway API reason of the Accepted condition.
	Reason gatewayv1.RouteConditionReason
	// Message says what was decided, why, and how to fix a rejection.
	Message string
	// Gateway is the Gateway that decided, nil when it is not known.
	Gateway *Gateway

	// preexisting marks a rejection that an update did not cause.
	preexisting bool
}

// Path is the field path of the parentRef in the route.
func (p *ParentResult) Path() *field.Path { return ParentRefPath(p.Index) }

// RefProblem is a backend reference that does not resolve.
type RefProblem struct {
	Path *field.Path
	// Reason is the Gateway API reason of the ResolvedRefs condition.
	Reason  gatewayv1.RouteConditionReason
	Message string
}

// RouteResult is the evaluator's answer for one route.
type RouteResult struct {
	// Parents has one entry per parentRef to a Gateway, in parentRef order.
	Parents []ParentResult
	// RefProblems are backendRefs that are not permitted. They never
	// reject a parentRef: they make ResolvedRefs False.
	RefProblems []RefProblem
}

// Evaluate decides, for every parentRef of route to a Gateway, whether that
// Gateway would accept the route, and which backendRefs are not permitted.
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
		if !ref.IsGateway() {
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
	gw := objs.Gateway(ref.Key())
	if gw == nil {
		res.Accepted, res.Reason = metav1.ConditionUnknown, gatewayv1.RouteReasonPending
		res.Message = msgGatewayNotFound(ref)
		return res
	}
	res.Gateway = gw

	selected, kindAndNamespace := 0, 0
	for i := range gw.Listeners {
		l := &gw.Listeners[i]
		if !selects(ref, l) {
			continue
		}
		selected++
		// Each listener is judged as a whole: the kind, the namespace and
		// the hostname must all pass on the same listener.
		if !l.AdmitsKind(route.Kind) || !l.AdmitsNamespace(gw.Namespace, route.Namespace, nsLabels) {
			continue
		}
		kindAndNamespace++
		if hostnamesIntersect(l.Hostname, route.Hostnames) {
			res.Accepted, res.Reason = metav1.ConditionTrue, gatewayv1.RouteReasonAccepted
			res.Message = msgAccepted(gw, l)
			return res
		}
	}
	res.Accepted = metav1.ConditionFalse
	switch {
	case selected == 0:
		res.Reason = gatewayv1.RouteReasonNoMatchingParent
		res.Message = msgNoMatchingParent(gw, ref)
	case kindAndNamespace == 0:
		res.Reason = gatewayv1.RouteReasonNotAllowedByListeners
		res.Message = msgNotAllowed(gw, ref, route, nsLabels)
	default:
		res.Reason = gatewayv1.RouteReasonNoMatchingListenerHostname
		res.Message = msgNoHostname(gw, ref, route, nsLabels)
	}
	return res
}

// selects reports whether a parentRef's sectionName and port pick listener l.
func selects(ref ParentRef, l *Listener) bool {
	return (ref.SectionName == "" || ref.SectionName == l.Name) && (ref.Port == 0 || ref.Port == l.Port)
}

func checkBackendRefs(route *Route, objs Objects) []RefProblem {
	var problems []RefProblem
	for i := range route.BackendRefs {
		b := &route.BackendRefs[i]
		if b.Ref.Namespace == nil || string(*b.Ref.Namespace) == route.Namespace {
			continue
		}
		target := backendTarget(b.Ref)
		if referencePermitted(objs.ReferenceGrants(target.Namespace), route, target) {
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

// refTarget is a backendRef with its defaults: the core group and Service.
type refTarget struct {
	Group     gatewayv1.Group
	Kind      gatewayv1.Kind
	Namespace string
	Name      gatewayv1.ObjectName
}

func backendTarget(ref gatewayv1.BackendObjectReference) refTarget {
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
// namespace, lets the route refer to the target.
func referencePermitted(grants []*gatewayv1.ReferenceGrant, route *Route, target refTarget) bool {
	for _, g := range grants {
		if grantsFrom(g, route) && grantsTo(g, target) {
			return true
		}
	}
	return false
}

func grantsFrom(g *gatewayv1.ReferenceGrant, route *Route) bool {
	for _, f := range g.Spec.From {
		if f.Group == gatewayv1.GroupName && f.Kind == route.Kind && string(f.Namespace) == route.Namespace {
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
