package webhook

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// HTTPRouteValidator admits HTTPRoutes, the most common route kind.
type HTTPRouteValidator = RouteValidator[*gatewayv1.HTTPRoute]

var _ admission.Validator[*gatewayv1.HTTPRoute] = &HTTPRouteValidator{}

// SetupHTTPRouteWebhookWithManager serves /validate-gateway-networking-k8s-io-v1-httproute.
func SetupHTTPRouteWebhookWithManager(mgr ctrl.Manager, v *HTTPRouteValidator) error {
	return setupRouteWebhook(mgr, v)
}
