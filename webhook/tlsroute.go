package webhook

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TLSRouteValidator admits TLSRoutes, which TLS listeners carry.
type TLSRouteValidator = RouteValidator[*gatewayv1.TLSRoute]

var _ admission.Validator[*gatewayv1.TLSRoute] = &TLSRouteValidator{}

// SetupTLSRouteWebhookWithManager serves /validate-gateway-networking-k8s-io-v1-tlsroute.
func SetupTLSRouteWebhookWithManager(mgr ctrl.Manager, v *TLSRouteValidator) error {
	return setupRouteWebhook(mgr, v)
}
