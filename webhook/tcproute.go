package webhook

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TCPRouteValidator admits TCPRoutes, which TCP listeners (and TLS listeners that terminate) carry.
type TCPRouteValidator = RouteValidator[*gatewayv1.TCPRoute]

var _ admission.Validator[*gatewayv1.TCPRoute] = &TCPRouteValidator{}

// SetupTCPRouteWebhookWithManager serves /validate-gateway-networking-k8s-io-v1-tcproute.
func SetupTCPRouteWebhookWithManager(mgr ctrl.Manager, v *TCPRouteValidator) error {
	return setupRouteWebhook(mgr, v)
}
