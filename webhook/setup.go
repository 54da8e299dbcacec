package webhook

import (
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// Options configure every validator.
type Options struct {
	Reader *cluster.Reader
	// RouteTypes are the route kinds the cluster serves, listed when a
	// Namespace or Gateway change is evaluated.
	RouteTypes []cluster.RouteType
	// RouteMode, NamespaceMode, GatewayMode: --route-enforcement,
	// --namespace-enforcement, --gateway-enforcement.
	RouteMode     attachment.Mode
	NamespaceMode attachment.Mode
	GatewayMode   attachment.Mode
	// Approvers is --grant-approvers.
	Approvers Approvers
	// Observe, when set, is told of every route decision, for metrics.
	Observe func(kind gatewayv1.Kind, d attachment.Decision, elapsed time.Duration)
}

// SetupWithManager registers every validator with the manager's webhook
// server. Every route kind is served whether or not its CRD exists yet: a
// CRD installed later must never meet a 404 that fails its writes closed.
func SetupWithManager(mgr ctrl.Manager, o Options) error {
	if err := SetupHTTPRouteWebhookWithManager(mgr, &HTTPRouteValidator{Reader: o.Reader, Mode: o.RouteMode, Observe: o.Observe}); err != nil {
		return err
	}
	if err := SetupGRPCRouteWebhookWithManager(mgr, &GRPCRouteValidator{Reader: o.Reader, Mode: o.RouteMode, Observe: o.Observe}); err != nil {
		return err
	}
	if err := SetupTLSRouteWebhookWithManager(mgr, &TLSRouteValidator{Reader: o.Reader, Mode: o.RouteMode, Observe: o.Observe}); err != nil {
		return err
	}
	if err := SetupTCPRouteWebhookWithManager(mgr, &TCPRouteValidator{Reader: o.Reader, Mode: o.RouteMode, Observe: o.Observe}); err != nil {
		return err
	}
	if err := SetupUDPRouteWebhookWithManager(mgr, &UDPRouteValidator{Reader: o.Reader, Mode: o.RouteMode, Observe: o.Observe}); err != nil {
		return err
	}
	if err := SetupGatewayWebhookWithManager(mgr, &GatewayValidator{Reader: o.Reader, RouteTypes: o.RouteTypes, Mode: o.GatewayMode, Approvers: o.Approvers}); err != nil {
		return err
	}
	return SetupNamespaceWebhookWithManager(mgr, &NamespaceValidator{Reader: o.Reader, RouteTypes: o.RouteTypes, Mode: o.NamespaceMode, Approvers: o.Approvers})
}
