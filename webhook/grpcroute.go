package webhook

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// GRPCRouteValidator admits GRPCRoutes, which HTTP and HTTPS listeners carry.
type GRPCRouteValidator = RouteValidator[*gatewayv1.GRPCRoute]

var _ admission.Validator[*gatewayv1.GRPCRoute] = &GRPCRouteValidator{}

// SetupGRPCRouteWebhookWithManager serves /validate-gateway-networking-k8s-io-v1-grpcroute.
func SetupGRPCRouteWebhookWithManager(mgr ctrl.Manager, v *GRPCRouteValidator) error {
	return setupRouteWebhook(mgr, v)
}
