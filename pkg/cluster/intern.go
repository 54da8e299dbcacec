package cluster

import (
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// With 50,000 routes in the cache, the same few strings are stored over and
// over: the group and kind of every parentRef and backendRef, the Gateway
// names, the controllerName and condition texts of every status entry.
// internRoute makes the cached route share one copy of each. Cached objects
// are never modified (a reader gets a deep copy, or reads without copying
// and never writes), so sharing is safe.

// intern returns the canonical copy of s. unique's handles are weak: a
// string no route uses any more is collected.
func intern[T ~string](s T) T {
	if s == "" {
		return s
	}
	return T(unique.Make(string(s)).Value())
}

// The pointers of the values nearly every reference has are shared too.
var (
	groupGatewayAPI = gatewayv1.Group(gatewayv1.GroupName)
	groupCore       = gatewayv1.Group("")
	kindGateway     = gatewayv1.Kind("Gateway")
	kindService     = gatewayv1.Kind("Service")
)

func sharedGroup(p *gatewayv1.Group) *gatewayv1.Group {
	switch {
	case p == nil:
		return nil
	case *p == groupGatewayAPI:
		return &groupGatewayAPI
	case *p == groupCore:
		return &groupCore
	}
	*p = intern(*p)
	return p
}

func sharedKind(p *gatewayv1.Kind) *gatewayv1.Kind {
	switch {
	case p == nil:
		return nil
	case *p == kindGateway:
		return &kindGateway
	case *p == kindService:
		return &kindService
	}
	*p = intern(*p)
	return p
}

func internParentRef(r *gatewayv1.ParentReference) {
	r.Group, r.Kind = sharedGroup(r.Group), sharedKind(r.Kind)
	if r.Namespace != nil {
		*r.Namespace = intern(*r.Namespace)
	}
	r.Name = intern(r.Name)
	if r.SectionName != nil {
		*r.SectionName = intern(*r.SectionName)
	}
}

func internBackendRef(r *gatewayv1.BackendObjectReference) {
	r.Group, r.Kind = sharedGroup(r.Group), sharedKind(r.Kind)
	if r.Namespace != nil {
		*r.Namespace = intern(*r.Namespace)
	}
	r.Name = intern(r.Name)
}

func internRouteStatus(s *gatewayv1.RouteStatus) {
	for i := range s.Parents {
		p := &s.Parents[i]
		internParentRef(&p.ParentRef)
		p.ControllerName = intern(p.ControllerName)
		for j := range p.Conditions {
			internCondition(&p.Conditions[j])
		}
	}
}

func internCondition(c *metav1.Condition) {
	c.Type, c.Status, c.Reason, c.Message = intern(c.Type), intern(c.Status), intern(c.Reason), intern(c.Message)
}

// internRoute interns a route's references, through the Route read from
// it (which points into the object), and its status.
func internRoute(r *attachment.Route, status *gatewayv1.RouteStatus) {
	for i := range r.ParentRefs {
		internParentRef(&r.ParentRefs[i])
	}
	for _, b := range r.BackendRefs {
		internBackendRef(b.Ref)
	}
	if status != nil {
		internRouteStatus(status)
	}
}

// internLabels returns labels with interned keys and values, in a new map
// of the right size. The value of kubernetes.io/metadata.name, the
// Namespace's own name, shares the name's bytes instead.
func internLabels(labels map[string]string, name string) map[string]string {
	if len(labels) == 0 {
		return nil
	}
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if v == name {
			v = name
		} else {
			v = intern(v)
		}
		out[intern(k)] = v
	}
	return out
}

// The values nearly every listener has, shared.
var (
	fromAll      = gatewayv1.NamespacesFromAll
	fromSame     = gatewayv1.NamespacesFromSame
	fromSelector = gatewayv1.NamespacesFromSelector
	tlsTerminate = gatewayv1.TLSModeTerminate
)

// internListener interns a Gateway listener and drops what the evaluator
// does not read of its TLS settings: for a Gateway's own listener, only
// the mode decides which route kinds it carries.
func internListener(l *gatewayv1.Listener) {
	l.Name = intern(l.Name)
	if l.Hostname != nil {
		*l.Hostname = intern(*l.Hostname)
	}
	if l.TLS != nil {
		mode := l.TLS.Mode
		if mode != nil && *mode == tlsTerminate {
			mode = &tlsTerminate
		}
		l.TLS = &gatewayv1.ListenerTLSConfig{Mode: mode}
	}
	if l.AllowedRoutes == nil {
		return
	}
	for i := range l.AllowedRoutes.Kinds {
		k := &l.AllowedRoutes.Kinds[i]
		k.Group, k.Kind = sharedGroup(k.Group), intern(k.Kind)
	}
	ns := l.AllowedRoutes.Namespaces
	if ns == nil {
		return
	}
	if ns.From != nil {
		switch *ns.From {
		case fromAll:
			ns.From = &fromAll
		case fromSame:
			ns.From = &fromSame
		case fromSelector:
			ns.From = &fromSelector
		}
	}
	if sel := ns.Selector; sel != nil {
		sel.MatchLabels = internLabels(sel.MatchLabels, "")
		for i := range sel.MatchExpressions {
			e := &sel.MatchExpressions[i]
			e.Key, e.Operator = intern(e.Key), metav1.LabelSelectorOperator(intern(string(e.Operator)))
			for j := range e.Values {
				e.Values[j] = intern(e.Values[j])
			}
		}
	}
}
