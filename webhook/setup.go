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
	// Reader reads the cluster for every validator; it knows the route
	// kinds the cluster serves, listed when a Namespace, Gateway or
	// ListenerSet change is evaluated.
	Reader *cluster.Reader
	// RouteMode, ListenerSetMode, NamespaceMode, GatewayMode:
	// --route-enforcement, --listenerset-enforcement,
	// --namespace-enforcement, --gateway-enforcement.
	RouteMode       attachment.Mode
	ListenerSetMode attachment.Mode
	NamespaceMode   attachment.Mode
	GatewayMode     attachment.Mode
	// Approvers is --grant-approvers.
	Approvers Approvers
	// Observe, when set, is told of every route and ListenerSet decision,
	// for metrics.
	Observe func(kind gatewayv1.Kind, d attachment.Decision, elapsed time.Duration)
}

// SetupWithManager registers every validator with the manager's webhook
// server. Every route kind, and ListenerSet, is served whether or not its
// CRD exists yet: a CRD installed later must never meet a 404 that fails
// its writes closed.
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
	if err := SetupListenerSetWebhookWithManager(mgr, &ListenerSetValidator{Reader: o.Reader, Mode: o.ListenerSetMode, Observe: o.Observe}); err != nil {
		return err
	}
	if err := SetupGatewayWebhookWithManager(mgr, &GatewayValidator{Reader: o.Reader, Mode: o.GatewayMode, Approvers: o.Approvers}); err != nil {
		return err
	}
	return SetupNamespaceWebhookWithManager(mgr, &NamespaceValidator{Reader: o.Reader, Mode: o.NamespaceMode, Approvers: o.Approvers})
}
