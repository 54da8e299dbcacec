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

// GatewayAPIv1 is the v1 GroupVersionKind of a Gateway API kind.
func GatewayAPIv1(kind string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: gatewayv1.GroupName, Version: "v1", Kind: kind}
}

// ServedRouteTypes returns the route types whose v1 version the API server
// serves. A route CRD that is missing, or too old to serve v1, is left out:
// the server starts without it.
func ServedRouteTypes(mapper meta.RESTMapper) ([]attachment.RouteType, error) {
	var served []attachment.RouteType
	for _, t := range attachment.RouteTypes {
		ok, err := Served(mapper, GatewayAPIv1(string(t.Kind)))
		if err != nil {
			return nil, fmt.Errorf("looking up %s: %w", t.Kind, err)
		}
		if ok {
			served = append(served, t)
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
