package attachment

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
)

// Object is a Kubernetes object as the API serves it: what a
// controller-runtime client.Object is, without depending on a client.
type Object interface {
	metav1.Object
	runtime.Object
}

// ObjectList is a list of Objects, as a client.ObjectList is.
type ObjectList interface {
	metav1.ListInterface
	runtime.Object
}

// RouteType is everything gatewarden knows of one route kind, in one row:
// its names, its Go types, what the evaluator reads of it, where its status
// is, and what a cache may drop. The cache, the status reconciler, the
// offline reader, the webhook and the chart all take the kinds from
// RouteTypes: adding a route kind is adding a row.
type RouteType struct {
	Kind gatewayv1.Kind
	// Resource is the plural resource name, as webhook rules and RBAC name
	// it.
	Resource string
	// NewObject returns an empty object of the kind's v1 Go type; NewList
	// an empty list.
	NewObject func() Object
	NewList   func() ObjectList
	// Fields says where the kind's JSON holds what Route reads, for a reader
	// that decodes only that: the route webhooks decode each admission
	// review so. It must agree with what Route reads of the Go type; the
	// webhook's tests compare the two.
	Fields RouteFields

	route  func(Object) (*Route, bool)
	status func(Object) (*gatewayv1.RouteStatus, bool)
	trim   func(Object) bool
	drop   func(Object)
	bit    kindSet
}

// RouteFields says where a route kind's JSON holds what Route reads. Every
// kind has spec.parentRefs and spec.rules[].backendRefs[]; the rest varies.
type RouteFields struct {
	// Hostnames says the kind has spec.hostnames.
	Hostnames bool
	// FilterRefs are the members of a filter that hold a backendRef, in the
	// order Route lists them, for a kind whose rules and backendRefs have
	// filters (spec.rules[].filters[] and spec.rules[].backendRefs[].filters[]).
	// Empty for a kind without filters.
	FilterRefs []string
}

// routeType builds a row from functions on the kind's own Go type: trim
// keeps of the rules what the evaluator reads, dropRules drops them all.
func routeType[T Object, L ObjectList](kind gatewayv1.Kind, resource string, newObj func() T, newList func() L, fields RouteFields,
	route func(T) *Route, status func(T) *gatewayv1.RouteStatus, trim, dropRules func(T)) RouteType {
	return RouteType{
		Kind: kind, Resource: resource, Fields: fields,
		NewObject: func() Object { return newObj() },
		NewList:   func() ObjectList { return newList() },
		route: func(o Object) (*Route, bool) {
			t, ok := o.(T)
			if !ok {
				return nil, false
			}
			return route(t), true
		},
		status: func(o Object) (*gatewayv1.RouteStatus, bool) {
			t, ok := o.(T)
			if !ok {
				return nil, false
			}
			return status(t), true
		},
		trim: func(o Object) bool {
			t, ok := o.(T)
			if ok && trim != nil {
				trim(t)
			}
			return ok
		},
		drop: func(o Object) {
			if t, ok := o.(T); ok {
				dropRules(t)
			}
		},
	}
}

// RouteTypes are the route kinds gatewarden evaluates, in a stable order,
// all in their v1 version (gateway-api v1.6 serves TLSRoute, TCPRoute and
// UDPRoute as v1).
var RouteTypes = withKindBits([]RouteType{
	routeType(KindHTTPRoute, "httproutes",
		func() *gatewayv1.HTTPRoute { return &gatewayv1.HTTPRoute{} }, func() *gatewayv1.HTTPRouteList { return &gatewayv1.HTTPRouteList{} },
		RouteFields{Hostnames: true, FilterRefs: []string{"requestMirror", "externalAuth"}},
		FromHTTPRoute, func(r *gatewayv1.HTTPRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus }, trimHTTPRoute,
		func(r *gatewayv1.HTTPRoute) { r.Spec.Rules = nil }),
	routeType(KindGRPCRoute, "grpcroutes",
		func() *gatewayv1.GRPCRoute { return &gatewayv1.GRPCRoute{} }, func() *gatewayv1.GRPCRouteList { return &gatewayv1.GRPCRouteList{} },
		RouteFields{Hostnames: true, FilterRefs: []string{"requestMirror"}},
		FromGRPCRoute, func(r *gatewayv1.GRPCRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus }, trimGRPCRoute,
		func(r *gatewayv1.GRPCRoute) { r.Spec.Rules = nil }),
	routeType(KindTLSRoute, "tlsroutes",
		func() *gatewayv1.TLSRoute { return &gatewayv1.TLSRoute{} }, func() *gatewayv1.TLSRouteList { return &gatewayv1.TLSRouteList{} },
		RouteFields{Hostnames: true},
		FromTLSRoute, func(r *gatewayv1.TLSRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus }, nil,
		func(r *gatewayv1.TLSRoute) { r.Spec.Rules = nil }),
	routeType(KindTCPRoute, "tcproutes",
		func() *gatewayv1.TCPRoute { return &gatewayv1.TCPRoute{} }, func() *gatewayv1.TCPRouteList { return &gatewayv1.TCPRouteList{} },
		RouteFields{},
		FromTCPRoute, func(r *gatewayv1.TCPRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus }, nil,
		func(r *gatewayv1.TCPRoute) { r.Spec.Rules = nil }),
	routeType(KindUDPRoute, "udproutes",
		func() *gatewayv1.UDPRoute { return &gatewayv1.UDPRoute{} }, func() *gatewayv1.UDPRouteList { return &gatewayv1.UDPRouteList{} },
		RouteFields{},
		FromUDPRoute, func(r *gatewayv1.UDPRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus }, nil,
		func(r *gatewayv1.UDPRoute) { r.Spec.Rules = nil }),
})

func withKindBits(types []RouteType) []RouteType {
	for i := range types {
		types[i].bit = 1 << i
	}
	return types
}

// RouteTypeOf returns the row of a route kind, or nil.
func RouteTypeOf(kind gatewayv1.Kind) *RouteType {
	for i := range RouteTypes {
		if RouteTypes[i].Kind == kind {
			return &RouteTypes[i]
		}
	}
	return nil
}

func kindBit(kind gatewayv1.Kind) kindSet {
	if t := RouteTypeOf(kind); t != nil {
		return t.bit
	}
	return 0
}

// Route returns what the evaluator reads of obj, which must be of this
// kind's type.
func (t *RouteType) Route(obj Object) (*Route, error) {
	if r, ok := t.route(obj); ok {
		return r, nil
	}
	return nil, fmt.Errorf("%T is not a %s", obj, t.Kind)
}

// Status returns the route status of obj, or nil when obj is not of this
// kind's type.
func (t *RouteType) Status(obj Object) *gatewayv1.RouteStatus {
	s, _ := t.status(obj)
	return s
}

// TrimRules drops from obj's rules everything the evaluator does not read.
// It reads a route's backend references only to check those into another
// namespace against ReferenceGrants: a route without any keeps no rules at
// all. Otherwise of each rule only the backend references stay (matches,
// timeouts, what filters do besides referencing a backend go), and every
// rule, backendRef and filter keeps its place, so that field paths
// (spec.rules[0].filters[1]...) still point where the user wrote them.
func (t *RouteType) TrimRules(obj Object) {
	r, ok := t.route(obj)
	if !ok {
		return
	}
	if !r.RefersToOtherNamespaces() {
		t.drop(obj)
		return
	}
	t.trim(obj)
}

// RefersToOtherNamespaces reports whether one of the route's backend
// references points into another namespace: the only ones the evaluator
// checks (checkBackendRefs).
func (r *Route) RefersToOtherNamespaces() bool {
	for i := range r.BackendRefs {
		if r.BackendRefs[i].intoOtherNamespace(r.Namespace) {
			return true
		}
	}
	return false
}

// intoOtherNamespace reports whether the reference points out of namespace
// ns, the route's: such a reference needs a ReferenceGrant.
func (b *BackendRef) intoOtherNamespace(ns string) bool {
	return b.Ref.Namespace != nil && string(*b.Ref.Namespace) != ns
}

// RouteFor returns the Route of a typed Gateway API route object of any kind
// of RouteTypes.
func RouteFor(obj any) (*Route, error) {
	o, ok := obj.(Object)
	if ok {
		for i := range RouteTypes {
			if r, ok := RouteTypes[i].route(o); ok {
				return r, nil
			}
		}
	}
	return nil, fmt.Errorf("%T is not a route kind gatewarden evaluates", obj)
}

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
	// Ref points into the route object it was read from.
	Ref *gatewayv1.BackendObjectReference
}

var (
	specPath       = field.NewPath("spec")
	parentRefsPath = specPath.Child("parentRefs")
	rulesPath      = specPath.Child("rules")
)

// ParentRefPath is the field path of the i-th parentRef of a route.
func ParentRefPath(i int) *field.Path { return parentRefsPath.Index(i) }

// FromHTTPRoute returns the Route of an HTTPRoute. It shares r's memory.
func FromHTTPRoute(r *gatewayv1.HTTPRoute) *Route {
	route := &Route{
		Kind: KindHTTPRoute, Namespace: r.Namespace, Name: r.Name,
		ParentRefs: r.Spec.ParentRefs, Hostnames: r.Spec.Hostnames,
	}
	for i := range r.Spec.Rules {
		rule, rulePath := &r.Spec.Rules[i], rulesPath.Index(i)
		for j := range rule.Filters {
			f := &rule.Filters[j]
			route.addFilterRefs(rulePath.Child("filters").Index(j), f.RequestMirror, f.ExternalAuth)
		}
		for j := range rule.BackendRefs {
			b, bPath := &rule.BackendRefs[j], rulePath.Child("backendRefs").Index(j)
			route.BackendRefs = append(route.BackendRefs, BackendRef{Path: bPath, Ref: &b.BackendObjectReference})
			for k := range b.Filters {
				f := &b.Filters[k]
				route.addFilterRefs(bPath.Child("filters").Index(k), f.RequestMirror, f.ExternalAuth)
			}
		}
	}
	return route
}

// FromGRPCRoute returns the Route of a GRPCRoute. It shares r's memory.
func FromGRPCRoute(r *gatewayv1.GRPCRoute) *Route {
	route := &Route{
		Kind: KindGRPCRoute, Namespace: r.Namespace, Name: r.Name,
		ParentRefs: r.Spec.ParentRefs, Hostnames: r.Spec.Hostnames,
	}
	for i := range r.Spec.Rules {
		rule, rulePath := &r.Spec.Rules[i], rulesPath.Index(i)
		for j := range rule.Filters {
			route.addFilterRefs(rulePath.Child("filters").Index(j), rule.Filters[j].RequestMirror, nil)
		}
		for j := range rule.BackendRefs {
			b, bPath := &rule.BackendRefs[j], rulePath.Child("backendRefs").Index(j)
			route.BackendRefs = append(route.BackendRefs, BackendRef{Path: bPath, Ref: &b.BackendObjectReference})
			for k := range b.Filters {
				route.addFilterRefs(bPath.Child("filters").Index(k), b.Filters[k].RequestMirror, nil)
			}
		}
	}
	return route
}

// FromTLSRoute returns the Route of a TLSRoute. It shares r's memory.
func FromTLSRoute(r *gatewayv1.TLSRoute) *Route {
	route := &Route{
		Kind: KindTLSRoute, Namespace: r.Namespace, Name: r.Name,
		ParentRefs: r.Spec.ParentRefs, Hostnames: r.Spec.Hostnames,
	}
	for i := range r.Spec.Rules {
		route.addBackendRefs(rulesPath.Index(i), r.Spec.Rules[i].BackendRefs)
	}
	return route
}

// FromTCPRoute returns the Route of a TCPRoute. It shares r's memory.
func FromTCPRoute(r *gatewayv1.TCPRoute) *Route {
	route := &Route{Kind: KindTCPRoute, Namespace: r.Namespace, Name: r.Name, ParentRefs: r.Spec.ParentRefs}
	for i := range r.Spec.Rules {
		route.addBackendRefs(rulesPath.Index(i), r.Spec.Rules[i].BackendRefs)
	}
	return route
}

// FromUDPRoute returns the Route of a UDPRoute. It shares r's memory.
func FromUDPRoute(r *gatewayv1.UDPRoute) *Route {
	route := &Route{Kind: KindUDPRoute, Namespace: r.Namespace, Name: r.Name, ParentRefs: r.Spec.ParentRefs}
	for i := range r.Spec.Rules {
		route.addBackendRefs(rulesPath.Index(i), r.Spec.Rules[i].BackendRefs)
	}
	return route
}

func (r *Route) addBackendRefs(rulePath *field.Path, refs []gatewayv1.BackendRef) {
	for j := range refs {
		r.BackendRefs = append(r.BackendRefs, BackendRef{Path: rulePath.Child("backendRefs").Index(j), Ref: &refs[j].BackendObjectReference})
	}
}

func (r *Route) addFilterRefs(filterPath *field.Path, mirror *gatewayv1.HTTPRequestMirrorFilter, auth *gatewayv1.HTTPExternalAuthFilter) {
	if mirror != nil {
		r.BackendRefs = append(r.BackendRefs, BackendRef{Path: filterPath.Child("requestMirror", "backendRef"), Ref: &mirror.BackendRef})
	}
	if auth != nil {
		r.BackendRefs = append(r.BackendRefs, BackendRef{Path: filterPath.Child("externalAuth", "backendRef"), Ref: &auth.BackendRef})
	}
}

func trimHTTPRoute(r *gatewayv1.HTTPRoute) {
	for i := range r.Spec.Rules {
		rule := &r.Spec.Rules[i]
		*rule = gatewayv1.HTTPRouteRule{Filters: httpFiltersWithRefs(rule.Filters), BackendRefs: rule.BackendRefs}
		for j := range rule.BackendRefs {
			rule.BackendRefs[j].Filters = httpFiltersWithRefs(rule.BackendRefs[j].Filters)
		}
	}
}

func trimGRPCRoute(r *gatewayv1.GRPCRoute) {
	for i := range r.Spec.Rules {
		rule := &r.Spec.Rules[i]
		*rule = gatewayv1.GRPCRouteRule{Filters: grpcFiltersWithRefs(rule.Filters), BackendRefs: rule.BackendRefs}
		for j := range rule.BackendRefs {
			rule.BackendRefs[j].Filters = grpcFiltersWithRefs(rule.BackendRefs[j].Filters)
		}
	}
}

// httpFiltersWithRefs keeps of each filter its type and its backend
// reference, if any, each filter in its place.
func httpFiltersWithRefs(filters []gatewayv1.HTTPRouteFilter) []gatewayv1.HTTPRouteFilter {
	if len(filters) == 0 {
		return nil
	}
	out := make([]gatewayv1.HTTPRouteFilter, len(filters))
	for i, f := range filters {
		out[i].Type = f.Type
		if f.RequestMirror != nil {
			out[i].RequestMirror = &gatewayv1.HTTPRequestMirrorFilter{BackendRef: f.RequestMirror.BackendRef}
		}
		if f.ExternalAuth != nil {
			out[i].ExternalAuth = &gatewayv1.HTTPExternalAuthFilter{BackendRef: f.ExternalAuth.BackendRef}
		}
	}
	return out
}

func grpcFiltersWithRefs(filters []gatewayv1.GRPCRouteFilter) []gatewayv1.GRPCRouteFilter {
	if len(filters) == 0 {
		return nil
	}
	out := make([]gatewayv1.GRPCRouteFilter, len(filters))
	for i, f := range filters {
		out[i].Type = f.Type
		if f.RequestMirror != nil {
			out[i].RequestMirror = &gatewayv1.HTTPRequestMirrorFilter{BackendRef: f.RequestMirror.BackendRef}
		}
	}
	return out
}
