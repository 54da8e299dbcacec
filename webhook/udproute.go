package webhook

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// UDPRouteValidator admits UDPRoutes, which UDP listeners carry.
type UDPRouteValidator = RouteValidator[*gatewayv1.UDPRoute]

var _ admission.Validator[*gatewayv1.UDPRoute] = &UDPRouteValidator{}

// SetupUDPRouteWebhookWithManager serves /validate-gateway-networking-k8s-io-v1-udproute.
func SetupUDPRouteWebhookWithManager(mgr ctrl.Manager, v *UDPRouteValidator) error {
	return setupRouteWebhook(mgr, v)
}
