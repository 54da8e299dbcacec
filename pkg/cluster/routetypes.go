package cluster

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// RouteType is one route kind as the cluster serves it.
type RouteType struct {
	Kind gatewayv1.Kind
	// Resource is the plural resource name, as webhook rules name it.
	Resource  string
	NewObject func() client.Object
	NewList   func() client.ObjectList
}

// GroupVersionKind of the v1 type gatewarden reads.
func (t RouteType) GroupVersionKind() schema.GroupVersionKind { return GatewayAPIv1(string(t.Kind)) }

// GatewayAPIv1 is the v1 GroupVersionKind of a Gateway API kind.
func GatewayAPIv1(kind string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: gatewayv1.GroupName, Version: "v1", Kind: kind}
}

// RouteTypes are every route kind gatewarden evaluates, all in their v1
// version (gateway-api v1.6 serves TLSRoute, TCPRoute and UDPRoute as v1).
var RouteTypes = []RouteType{
	{Kind: attachment.KindHTTPRoute, Resource: "httproutes",
		NewObject: func() client.Object { return &gatewayv1.HTTPRoute{} }, NewList: func() client.ObjectList { return &gatewayv1.HTTPRouteList{} }},
	{Kind: attachment.KindGRPCRoute, Resource: "grpcroutes",
		NewObject: func() client.Object { return &gatewayv1.GRPCRoute{} }, NewList: func() client.ObjectList { return &gatewayv1.GRPCRouteList{} }},
	{Kind: attachment.KindTLSRoute, Resource: "tlsroutes",
		NewObject: func() client.Object { return &gatewayv1.TLSRoute{} }, NewList: func() client.ObjectList { return &gatewayv1.TLSRouteList{} }},
	{Kind: attachment.KindTCPRoute, Resource: "tcproutes",
		NewObject: func() client.Object { return &gatewayv1.TCPRoute{} }, NewList: func() client.ObjectList { return &gatewayv1.TCPRouteList{} }},
	{Kind: attachment.KindUDPRoute, Resource: "udproutes",
		NewObject: func() client.Object { return &gatewayv1.UDPRoute{} }, NewList: func() client.ObjectList { return &gatewayv1.UDPRouteList{} }},
}

// ServedRouteTypes returns the route types whose v1 version the API server
// serves. A route CRD that is missing, or too old to serve v1, is left out:
// the server starts without it.
func ServedRouteTypes(mapper meta.RESTMapper) ([]RouteType, error) {
	var served []RouteType
	for _, t := range RouteTypes {
		gvk := t.GroupVersionKind()
		_, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		switch {
		case err == nil:
			served = append(served, t)
		case meta.IsNoMatchError(err):
		default:
			return nil, fmt.Errorf("looking up %s: %w", gvk, err)
		}
	}
	return served, nil
}

// Served reports whether the API server serves gvk.
func Served(mapper meta.RESTMapper, gvk schema.GroupVersionKind) (bool, error) {
	_, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err == nil {
		return true, nil
	}
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	return false, err
}

// RoutesOf converts a list of any route type into the evaluator's routes.
func RoutesOf(list client.ObjectList) ([]*attachment.Route, error) {
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	routes := make([]*attachment.Route, 0, len(items))
	for _, item := range items {
		r, err := attachment.RouteFor(item)
		if err != nil {
			return nil, errors.Join(errors.New("listing routes"), err)
		}
		routes = append(routes, r)
	}
	return routes, nil
}
