package attachment

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Route kinds the evaluator knows. All of them live in the Gateway API group.
const (
	KindHTTPRoute gatewayv1.Kind = "HTTPRoute"
	KindGRPCRoute gatewayv1.Kind = "GRPCRoute"
	KindTLSRoute  gatewayv1.Kind = "TLSRoute"
	KindTCPRoute  gatewayv1.Kind = "TCPRoute"
	KindUDPRoute  gatewayv1.Kind = "UDPRoute"

	// KindGateway is the only parent kind gatewarden governs.
	KindGateway gatewayv1.Kind = "Gateway"
)

// RouteKinds lists the route kinds the evaluator knows, in a stable order.
var RouteKinds = []gatewayv1.Kind{KindHTTPRoute, KindGRPCRoute, KindTLSRoute, KindTCPRoute, KindUDPRoute}

// Route is what the evaluator needs to know of a route of any kind.
type Route struct {
	Kind       gatewayv1.Kind
	Namespace  string
	Name       string
	ParentRefs []gatewayv1.ParentReference
	// Hostnames is empty for kinds that have none (TCPRoute, UDPRoute), which
	// matches every listener hostname.
	Hostnames []gatewayv1.Hostname
	// BackendRefs are every object reference of the route that forwards
	// traffic: rules[].backendRefs, and the backendRefs inside RequestMirror
	// and ExternalAuth filters.
	BackendRefs []BackendRef
}

// BackendRef is one backend reference of a route with where it is in the
// route's spec, so that problems point at the field.
type BackendRef struct {
	Path *field.Path
	Ref  gatewayv1.BackendObjectReference
}

// RouteFor returns the Route of a typed Gateway API route object. It accepts
// the v1 types of HTTPRoute, GRPCRoute, TLSRoute, TCPRoute and UDPRoute.
func RouteFor(obj any) (*Route, error) {
	switch r := obj.(type) {
	case *gatewayv1.HTTPRoute:
		return FromHTTPRoute(r), nil
	case *gatewayv1.GRPCRoute:
		return FromGRPCRoute(r), nil
	case *gatewayv1.TLSRoute:
		return FromTLSRoute(r), nil
	case *gatewayv1.TCPRoute:
		return FromTCPRoute(r), nil
	case *gatewayv1.UDPRoute:
		return FromUDPRoute(r), nil
	default:
		return nil, fmt.Errorf("%T is not a route kind gatewarden evaluates", obj)
	}
}

var (
	specPath       = field.NewPath("spec")
	parentRefsPath = specPath.Child("parentRefs")
	rulesPath      = specPath.Child("rules")
)

// ParentRefPath is the field path of the i-th parentRef of a route.
func ParentRefPath(i int) *field.Path { return parentRefsPath.Index(i) }

// FromHTTPRoute returns the Route of an HTTPRoute.
func FromHTTPRoute(r *gatewayv1.HTTPRoute) *Route {
	route := &Route{
		Kind: KindHTTPRoute, Namespace: r.Namespace, Name: r.Name,
		ParentRefs: r.Spec.ParentRefs, Hostnames: r.Spec.Hostnames,
	}
	for i, rule := range r.Spec.Rules {
		rulePath := rulesPath.Index(i)
		for j, f := range rule.Filters {
			route.addFilterRefs(rulePath.Child("filters").Index(j), f.RequestMirror, f.ExternalAuth)
		}
		for j, b := range rule.BackendRefs {
			bPath := rulePath.Child("backendRefs").Index(j)
			route.BackendRefs = append(route.BackendRefs, BackendRef{Path: bPath, Ref: b.BackendObjectReference})
			for k, f := range b.Filters {
				route.addFilterRefs(bPath.Child("filters").Index(k), f.RequestMirror, f.ExternalAuth)
			}
		}
	}
	return route
}

// FromGRPCRoute returns the Route of a GRPCRoute.
func FromGRPCRoute(r *gatewayv1.GRPCRoute) *Route {
	route := &Route{
		Kind: KindGRPCRoute, Namespace: r.Namespace, Name: r.Name,
		ParentRefs: r.Spec.ParentRefs, Hostnames: r.Spec.Hostnames,
	}
	for i, rule := range r.Spec.Rules {
		rulePath := rulesPath.Index(i)
		for j, f := range rule.Filters {
			route.addFilterRefs(rulePath.Child("filters").Index(j), f.RequestMirror, nil)
		}
		for j, b := range rule.BackendRefs {
			bPath := rulePath.Child("backendRefs").Index(j)
			route.BackendRefs = append(route.BackendRefs, BackendRef{Path: bPath, Ref: b.BackendObjectReference})
			for k, f := range b.Filters {
				route.addFilterRefs(bPath.Child("filters").Index(k), f.RequestMirror, nil)
			}
		}
	}
	return route
}

// FromTLSRoute returns the Route of a TLSRoute.
func FromTLSRoute(r *gatewayv1.TLSRoute) *Route {
	route := &Route{
		Kind: KindTLSRoute, Namespace: r.Namespace, Name: r.Name,
		ParentRefs: r.Spec.ParentRefs, Hostnames: r.Spec.Hostnames,
	}
	for i, rule := range r.Spec.Rules {
		route.addBackendRefs(rulesPath.Index(i), rule.BackendRefs)
	}
	return route
}

// FromTCPRoute returns the Route of a TCPRoute.
func FromTCPRoute(r *gatewayv1.TCPRoute) *Route {
	route := &Route{Kind: KindTCPRoute, Namespace: r.Namespace, Name: r.Name, ParentRefs: r.Spec.ParentRefs}
	for i, rule := range r.Spec.Rules {
		route.addBackendRefs(rulesPath.Index(i), rule.BackendRefs)
	}
	return route
}

// FromUDPRoute returns the Route of a UDPRoute.
func FromUDPRoute(r *gatewayv1.UDPRoute) *Route {
	route := &Route{Kind: KindUDPRoute, Namespace: r.Namespace, Name: r.Name, ParentRefs: r.Spec.ParentRefs}
	for i, rule := range r.Spec.Rules {
		route.addBackendRefs(rulesPath.Index(i), rule.BackendRefs)
	}
	return route
}

func (r *Route) addBackendRefs(rulePath *field.Path, refs []gatewayv1.BackendRef) {
	for j, b := range refs {
		r.BackendRefs = append(r.BackendRefs, BackendRef{Path: rulePath.Child("backendRefs").Index(j), Ref: b.BackendObjectReference})
	}
}

func (r *Route) addFilterRefs(filterPath *field.Path, mirror *gatewayv1.HTTPRequestMirrorFilter, auth *gatewayv1.HTTPExternalAuthFilter) {
	if mirror != nil {
		r.BackendRefs = append(r.BackendRefs, BackendRef{Path: filterPath.Child("requestMirror", "backendRef"), Ref: mirror.BackendRef})
	}
	if auth != nil {
		r.BackendRefs = append(r.BackendRefs, BackendRef{Path: filterPath.Child("externalAuth", "backendRef"), Ref: auth.BackendRef})
	}
}
