package doctor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const nameService = "service"

// ServiceEndpoints checks that the webhook Service exists, has the port the
// webhooks call, and has at least one ready endpoint: a gatewarden pod that
// passes its readiness probe. Without one, every call of the API server to
// the webhook fails.
func ServiceEndpoints(ctx context.Context, e *Env) Result {
	key := client.ObjectKey{Namespace: e.Namespace, Name: e.ServiceName}
	svc := &corev1.Service{}
	err := e.Client.Get(ctx, key, svc)
	if apierrors.IsNotFound(err) {
		return fail(nameService, fmt.Sprintf("Service %s not found: the API server cannot reach the webhook", key),
			e.fixReinstall("Service "+e.ServiceName))
	}
	if err != nil {
		return unreadable(nameService, fmt.Errorf("reading Service %s: %w", key, err))
	}

	// The port the webhooks call; 443 when the configuration is unreadable
	// (webhook-config reports that).
	port := int32(443)
	if vwc, err := e.webhookConfig(ctx); err == nil {
		port = servicePort(vwc)
	}
	hasPort := false
	for _, p := range svc.Spec.Ports {
		hasPort = hasPort || p.Port == port
	}
	if !hasPort {
		return fail(nameService, fmt.Sprintf("Service %s has no port %d, which the webhooks call", key, port),
			e.fixReinstall("the Service port"))
	}

	ready, notReady, err := e.endpoints(ctx)
	if err != nil {
		return unreadable(nameService, err)
	}
	if ready == 0 {
		detail := fmt.Sprintf("Service %s has no ready endpoint: no gatewarden pod is Ready", key)
		if notReady > 0 {
			detail += fmt.Sprintf(" (%d not ready)", notReady)
		}
		return fail(nameService, detail, fmt.Sprintf(
			"kubectl -n %s get pods; kubectl -n %s describe deployment/%s (selector, probes, events); %s",
			e.Namespace, e.Namespace, e.ServiceName, e.serverLogs()))
	}
	detail := fmt.Sprintf("Service %s port %d, %d ready endpoint(s)", key, port, ready)
	if notReady > 0 {
		detail += fmt.Sprintf(", %d not ready", notReady)
	}
	return ok(nameService, detail)
}
