package listenerset_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func sample(dir, name string) string {
	return filepath.Join(cp.Root, "config", "samples", dir, name)
}

const (
	controllerName = gatewayv1.GatewayController("gatewarden.dev/attachment")

	hrNotAllowed = `Gateway infra-ns/shared-gateway accepts ListenerSets only from namespaces matching shared-gateway-access=true; ` +
		`namespace "hr" does not match. Ask the Gateway owner to allow it, or label namespace hr to match.`
)

// The README's second act, with kubectl: careers adds its own listener
// through a ListenerSet, hr's is refused by gatewarden, a route attaches
// through careers' ListenerSet, and relabelling careers says what detaches.
func TestListenerSetScenario(t *testing.T) {
	serve(t)
	ctx := context.Background()

	res := cp.Kubectl(ctx, "", "apply", "-f", filepath.Join(cp.Root, "config", "samples", "shared-gateway"))
	require.Error(t, res.Err, "the first act: hr's route is refused")
	require.Contains(t, res.Stdout, "gateway.gateway.networking.k8s.io/shared-gateway created")

	res = cp.Kubectl(ctx, "", "apply", "-f", sample("listenersets", "20-careers-listeners.yaml"))
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stdout, "listenerset.gateway.networking.k8s.io/careers-listeners created")
	assert.Empty(t, res.Stderr, "careers' namespace carries the label allowedListeners selects")

	t.Run("hr's ListenerSet is refused by gatewarden, with the selector", func(t *testing.T) {
		file := sample("listenersets", "22-hr-listeners.yaml")
		res := cp.Kubectl(ctx, "", "apply", "-f", file)
		require.Error(t, res.Err)
		assert.Contains(t, res.Stderr, `Error from server (Forbidden): error when creating "`+file+`": `+
			`admission webhook "listenersets.gatewarden.dev" denied the request: spec.parentRef: `+hrNotAllowed)
		assertNoListenerSet(t, "hr", "hr-listeners")

		res = cp.Kubectl(ctx, "", "apply", "--dry-run=server", "-f", file)
		require.Error(t, res.Err)
		assert.Contains(t, res.Stderr, `admission webhook "listenersets.gatewarden.dev" denied the request: spec.parentRef: `+hrNotAllowed)
		assertNoListenerSet(t, "hr", "hr-listeners")
	})

	t.Run("a route attaches through careers' ListenerSet", func(t *testing.T) {
		res := cp.Kubectl(ctx, "", "apply", "-f", sample("listenersets", "21-careers-site.yaml"))
		require.NoError(t, res.Err, res.Stderr)
		assert.Contains(t, res.Stdout, "httproute.gateway.networking.k8s.io/careers-site created")
		assert.Empty(t, res.Stderr)
		eventuallyAccepted(t, "careers", "careers-site", gatewayv1.ObjectName("careers-listeners"), metav1.ConditionTrue, "Accepted")
	})

	t.Run("warn mode from the Gateway's annotation lets hr's ListenerSet in, with the warning", func(t *testing.T) {
		res := cp.Kubectl(ctx, "", "annotate", "gateway", "-n", "infra-ns", "shared-gateway", "gatewarden.dev/enforcement=warn")
		require.NoError(t, res.Err, res.Stderr)
		res = cp.Kubectl(ctx, "", "apply", "-f", sample("listenersets", "22-hr-listeners.yaml"))
		require.NoError(t, res.Err, res.Stderr)
		assert.Contains(t, res.Stdout, "listenerset.gateway.networking.k8s.io/hr-listeners created")
		assert.Contains(t, res.Stderr, "Warning: spec.parentRef: "+hrNotAllowed)

		res = cp.Kubectl(ctx, "", "annotate", "gateway", "-n", "infra-ns", "shared-gateway", "gatewarden.dev/enforcement-")
		require.NoError(t, res.Err, res.Stderr)
	})

	t.Run("a route to hr's ListenerSet is refused: the Gateway does not accept it", func(t *testing.T) {
		res := cp.Kubectl(ctx, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: hr-site, namespace: hr}
spec:
  parentRefs: [{kind: ListenerSet, name: hr-listeners}]
  hostnames: [hr.example.com]
`, "apply", "-f", "-")
		require.Error(t, res.Err)
		assert.Contains(t, res.Stderr, `admission webhook "httproutes.gatewarden.dev" denied the request: spec.parentRefs[0]: `+
			`ListenerSet hr/hr-listeners is not accepted by its Gateway, so no route can attach to it: `+hrNotAllowed)
	})

	t.Run("relabelling careers names its ListenerSet and the routes that detach", func(t *testing.T) {
		res := cp.Kubectl(ctx, "", "label", "namespace", "careers", "shared-gateway-access-")
		require.NoError(t, res.Err, res.Stderr)
		for _, line := range []string{
			"Warning: Relabelling namespace careers detaches 1 ListenerSet and 2 routes:",
			"Warning: - ListenerSet careers/careers-listeners from Gateway infra-ns/shared-gateway (NotAllowed)",
			"Warning: - HTTPRoute careers/careers from Gateway infra-ns/shared-gateway (NotAllowedByListeners)",
			"Warning: - HTTPRoute careers/careers-site from ListenerSet careers/careers-listeners (NotAllowedByListeners)",
		} {
			assert.Contains(t, res.Stderr, line)
		}
		eventuallyAccepted(t, "careers", "careers-site", "careers-listeners", metav1.ConditionFalse, "NotAllowedByListeners")

		res = cp.Kubectl(ctx, "", "label", "namespace", "careers", "shared-gateway-access=true")
		require.NoError(t, res.Err, res.Stderr)
		assert.NotContains(t, res.Stderr, "detaches")
		eventuallyAccepted(t, "careers", "careers-site", "careers-listeners", metav1.ConditionTrue, "Accepted")
	})
}

// With --grant-approvers, labelling hr into the Gateway's allowedListeners
// is a grant like labelling it into a listener's allowedRoutes: the cluster
// admin of the test is not an approver (system:masters is not special).
func TestGrantGuardCoversAllowedListeners(t *testing.T) {
	serve(t, "--grant-approvers=group:platform-admins")
	ctx := context.Background()
	res := cp.Kubectl(ctx, "", "label", "namespace", "hr", "shared-gateway-access=true")
	require.Error(t, res.Err)
	assert.Contains(t, res.Stderr, `admission webhook "namespaces.gatewarden.dev" denied the request: metadata.labels: these labels would let namespace hr `+
		`attach routes to Gateway infra-ns/shared-gateway listener "http" (selector shared-gateway-access=true), `+
		`attach ListenerSets to Gateway infra-ns/shared-gateway (allowedListeners selector shared-gateway-access=true); `+
		`only group:platform-admins may grant that.`)
	assert.Equal(t, "", namespaceLabel(t, "hr", "shared-gateway-access"))
}

func assertNoListenerSet(t *testing.T, ns, name string) {
	t.Helper()
	err := cp.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &gatewayv1.ListenerSet{})
	assert.True(t, apierrors.IsNotFound(err), "ListenerSet %s/%s must not exist: %v", ns, name, err)
}

func namespaceLabel(t *testing.T, ns, key string) string {
	t.Helper()
	res := cp.Kubectl(context.Background(), "", "get", "namespace", ns, "-o", "jsonpath={.metadata.labels."+strings.ReplaceAll(key, ".", `\.`)+"}")
	require.NoError(t, res.Err, res.Stderr)
	return res.Stdout
}

// eventuallyAccepted waits for gatewarden's status entry of the route's
// parentRef to the ListenerSet to say so.
func eventuallyAccepted(t *testing.T, ns, name string, listenerSet gatewayv1.ObjectName, status metav1.ConditionStatus, reason string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r := &gatewayv1.HTTPRoute{}
		if !assert.NoError(c, cp.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, r)) {
			return
		}
		var cond *metav1.Condition
		for _, p := range r.Status.Parents {
			if p.ControllerName == controllerName && p.ParentRef.Name == listenerSet && p.ParentRef.Kind != nil && *p.ParentRef.Kind == "ListenerSet" {
				cond = meta.FindStatusCondition(p.Conditions, "Accepted")
			}
		}
		if assert.NotNil(c, cond, "no gatewarden entry for the ListenerSet parentRef of %s/%s", ns, name) {
			assert.Equal(c, status, cond.Status)
			assert.Equal(c, reason, cond.Reason)
		}
	}, 20*time.Second, 100*time.Millisecond)
}
