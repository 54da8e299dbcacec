package availability_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/test/framework"
)

// nowhere is an address where nothing listens: a port of 127.0.0.1 that was
// free a moment ago. A webhook configuration pointed there is gatewarden
// with every replica down: the API server's calls are refused at once.
func nowhere(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "https://" + addr
}

// probeRoute is a route that every configuration of the chart sends to
// gatewarden (a CREATE), in a namespace no test uses: whether its dry run
// fails tells whether the API server has a configuration pointing nowhere.
func probeRoute() *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "default", GenerateName: "probe-"}}
}

// registerDown registers the chart's webhook configuration, rendered with
// set, as if gatewarden were installed and every replica down, and waits
// until the API server applies it. It is removed when the test ends.
func registerDown(t *testing.T, set ...string) {
	t.Helper()
	vwc, err := cp.ChartWebhookConfiguration(set...)
	require.NoError(t, err)
	probe := func() error { return cp.Client.Create(context.Background(), probeRoute(), client.DryRunAll) }
	register(t, framework.PointAt(vwc, "gatewarden-down", nowhere(t), cp.CABundle()), probe, func(err error) bool {
		return strings.Contains(fmt.Sprint(err), `failed calling webhook "httproutes.gatewarden.dev"`)
	})
}

// register creates a webhook configuration and waits until the API server
// applies it, which active says from the error of a probe write's dry run;
// at the end of the test it is deleted, and the probe passes again.
func register(t *testing.T, vwc *admissionregistrationv1.ValidatingWebhookConfiguration, probe func() error, active func(error) bool) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, cp.Client.Create(ctx, vwc))
	t.Cleanup(func() {
		require.NoError(t, cp.Client.Delete(ctx, vwc))
		require.Eventually(t, func() bool { return probe() == nil }, 30*time.Second, 50*time.Millisecond,
			"the API server drops webhook configuration %s", vwc.Name)
	})
	require.Eventually(t, func() bool { return active(probe()) }, 30*time.Second, 50*time.Millisecond,
		"the API server applies webhook configuration %s", vwc.Name)
}

// outcome runs one write as a user would and logs whether the API server
// let it through: the table the closing note of issue 10 reports.
func outcome(t *testing.T, write string, err error) {
	t.Helper()
	verdict := "allowed"
	if err != nil {
		verdict = "refused: " + strings.TrimSpace(err.Error())
		if _, why, ok := strings.Cut(verdict, "failed calling webhook "); ok {
			webhook, _, _ := strings.Cut(why, ":")
			verdict = "refused, failed calling webhook " + webhook
		}
	}
	t.Logf("while gatewarden is down: %-70s %s", write, verdict)
}

// kubectl runs kubectl and returns its error with what it printed.
func kubectl(t *testing.T, stdin string, args ...string) error {
	t.Helper()
	res := cp.Kubectl(context.Background(), stdin, args...)
	if res.Err != nil {
		return fmt.Errorf("%w: %s", res.Err, res.Stderr)
	}
	return nil
}

// fixture is what the tests find in the cluster before gatewarden goes down.
const fixture = `
apiVersion: v1
kind: Namespace
metadata: {name: %[1]s-infra}
---
apiVersion: v1
kind: Namespace
metadata: {name: %[1]s-apps}
---
apiVersion: v1
kind: Namespace
metadata: {name: %[1]s-doomed}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: %[1]s-infra}
spec:
  gatewayClassName: example
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: doomed, namespace: %[1]s-infra}
spec:
  gatewayClassName: example
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: apps, namespace: %[1]s-apps}
spec:
  parentRef: {name: gw, namespace: %[1]s-infra}
  listeners: [{name: apps, port: 80, protocol: HTTP, hostname: apps.example.com}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: doomed, namespace: %[1]s-apps}
spec:
  parentRef: {name: gw, namespace: %[1]s-infra}
  listeners: [{name: doomed, port: 80, protocol: HTTP, hostname: doomed.example.com}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: %[1]s-apps}
spec:
  parentRefs: [{name: gw, namespace: %[1]s-infra}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs:
    - {name: web, port: 80, weight: 90}
    - {name: web-canary, port: 80, weight: 10}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: doomed, namespace: %[1]s-apps}
spec:
  parentRefs: [{name: gw, namespace: %[1]s-infra}]
`

// setUp creates the fixture under prefix while no webhook is registered.
func setUp(t *testing.T, prefix string) {
	t.Helper()
	require.NoError(t, kubectl(t, fmt.Sprintf(fixture, prefix), "apply", "-f", "-"))
}

// write is one write a user or a controller makes.
type write struct {
	name string
	do   func(t *testing.T) error
}

// unjudged are writes gatewarden does not evaluate, on the fixture under
// prefix: the chart's matchConditions and rules keep the API server from
// even calling it.
func unjudged(prefix string) []write {
	ctx := context.Background()
	apps, infra, doomed := prefix+"-apps", prefix+"-infra", prefix+"-doomed"
	return []write{
		{"annotate a Namespace", func(t *testing.T) error {
			return kubectl(t, "", "annotate", "namespace", apps, "example.com/owner=team-a")
		}},
		{"write namespaces/status, labels unchanged", func(t *testing.T) error {
			ns := &corev1.Namespace{}
			require.NoError(t, cp.Client.Get(ctx, types.NamespacedName{Name: apps}, ns))
			ns.Status.Conditions = append(ns.Status.Conditions, corev1.NamespaceCondition{
				Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionFalse, Reason: "ContentRemoved", LastTransitionTime: metav1.Now(),
			})
			return cp.Client.Status().Update(ctx, ns)
		}},
		{"delete a Namespace, finalize it as the namespace controller does", func(t *testing.T) error {
			if err := kubectl(t, "", "delete", "namespace", doomed, "--wait=false"); err != nil {
				return err
			}
			// No kube-controller-manager runs here: once the namespace is
			// empty, its namespace controller empties spec.finalizers through
			// the finalize subresource, and the API server removes it.
			ns := &corev1.Namespace{}
			require.NoError(t, cp.Client.Get(ctx, types.NamespacedName{Name: doomed}, ns))
			require.NotNil(t, ns.DeletionTimestamp)
			ns.Spec.Finalizers = nil
			if err := cp.Client.SubResource("finalize").Update(ctx, ns); err != nil {
				return err
			}
			require.Eventually(t, func() bool {
				return apierrors.IsNotFound(cp.Client.Get(ctx, types.NamespacedName{Name: doomed}, &corev1.Namespace{}))
			}, 10*time.Second, 50*time.Millisecond, "the namespace is gone")
			return nil
		}},
		{"annotate a route", func(t *testing.T) error {
			return kubectl(t, "", "annotate", "httproute", "-n", apps, "web", "example.com/owner=team-a")
		}},
		{"label a route", func(t *testing.T) error {
			return kubectl(t, "", "label", "httproute", "-n", apps, "web", "tier=frontend")
		}},
		{"shift a route's backend weights, as a canary rollout does", func(t *testing.T) error {
			return kubectl(t, "", "patch", "httproute", "-n", apps, "web", "--type=json", "-p",
				`[{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":50},{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":50}]`)
		}},
		{"change a route's matches", func(t *testing.T) error {
			return kubectl(t, "", "patch", "httproute", "-n", apps, "web", "--type=json", "-p",
				`[{"op":"replace","path":"/spec/rules/0/matches/0/path/value","value":"/shop"}]`)
		}},
		{"annotate a Gateway", func(t *testing.T) error {
			return kubectl(t, "", "annotate", "gateway", "-n", infra, "gw", "example.com/owner=infra")
		}},
		{"delete a route", func(t *testing.T) error {
			return kubectl(t, "", "delete", "httproute", "-n", apps, "doomed")
		}},
		{"annotate a ListenerSet", func(t *testing.T) error {
			return kubectl(t, "", "annotate", "listenerset", "-n", apps, "apps", "example.com/owner=team-a")
		}},
	}
}

// warnedOnly are writes gatewarden evaluates but, with the chart's default
// values, only ever warns about: their webhooks fail open.
func warnedOnly(prefix string) []write {
	apps, infra := prefix+"-apps", prefix+"-infra"
	return []write{
		{"delete a Gateway", func(t *testing.T) error {
			return kubectl(t, "", "delete", "gateway", "-n", infra, "doomed")
		}},
		{"delete a ListenerSet", func(t *testing.T) error {
			return kubectl(t, "", "delete", "listenerset", "-n", apps, "doomed")
		}},
		{"label a Namespace (namespace enforcement warn, no grant approvers)", func(t *testing.T) error {
			return kubectl(t, "", "label", "namespace", apps, "team=a")
		}},
		{"change a Gateway's listeners (gateway enforcement warn)", func(t *testing.T) error {
			return kubectl(t, "", "patch", "gateway", "-n", infra, "gw", "--type=json", "-p",
				`[{"op":"add","path":"/spec/listeners/-","value":{"name":"alt","port":8080,"protocol":"HTTP"}}]`)
		}},
	}
}

// The chart's configuration with gatewarden down, as users write: what
// gatewarden does not judge, or only warns about, goes through.
func TestDownTheClusterKeepsWorking(t *testing.T) {
	setUp(t, "keep")
	registerDown(t)
	for _, w := range append(unjudged("keep"), warnedOnly("keep")...) {
		t.Run(w.name, func(t *testing.T) {
			err := w.do(t)
			outcome(t, w.name, err)
			assert.NoError(t, err)
		})
	}
}

// With gatewarden up, the API server does not call it for the writes it
// does not evaluate (its own count of admission requests stays put), and
// calls it once for each of the others.
func TestUpGatewardenIsCalledOnlyForWhatItJudges(t *testing.T) {
	ctx := context.Background()
	setUp(t, "up")
	s, err := cp.StartGatewarden(ctx, "up", nil, "--status=false")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Stop(context.Background())) })
	calls := func(t *testing.T) float64 {
		n, _, err := s.Metric(ctx, "controller_runtime_webhook_requests_total")
		require.NoError(t, err)
		return n
	}
	for _, w := range unjudged("up") {
		t.Run(w.name, func(t *testing.T) {
			before := calls(t)
			require.NoError(t, w.do(t))
			n := calls(t) - before
			t.Logf("admission requests gatewarden served for %q: %.0f", w.name, n)
			assert.Zero(t, n)
		})
	}
	for _, w := range append([]write{
		{"change a route's parentRefs", func(t *testing.T) error {
			return kubectl(t, "", "patch", "httproute", "-n", "up-apps", "web", "--type=json", "-p",
				`[{"op":"add","path":"/spec/parentRefs/0/sectionName","value":"http"}]`)
		}},
		{"change a route's backendRefs", func(t *testing.T) error {
			return kubectl(t, "", "patch", "httproute", "-n", "up-apps", "web", "--type=json", "-p",
				`[{"op":"add","path":"/spec/rules/0/backendRefs/-","value":{"name":"web-next","port":80}}]`)
		}},
	}, warnedOnly("up")...) {
		t.Run(w.name, func(t *testing.T) {
			before := calls(t)
			require.NoError(t, w.do(t))
			n := calls(t) - before
			t.Logf("admission requests gatewarden served for %q: %.0f", w.name, n)
			assert.Equal(t, 1.0, n)
		})
	}
}

// The chart's configuration with gatewarden down: what gatewarden must
// judge is refused, and the API server names gatewarden's webhook.
func TestDownWhatMustBeJudgedFailsClosed(t *testing.T) {
	ctx := context.Background()
	setUp(t, "closed")
	apps, infra := "closed-apps", "closed-infra"
	refusedBy := func(t *testing.T, webhook string, err error) {
		t.Helper()
		require.Error(t, err)
		assert.Contains(t, err.Error(), fmt.Sprintf(`failed calling webhook "%s.gatewarden.dev"`, webhook))
	}

	for _, tc := range []struct {
		write   string
		set     []string
		webhook string
		do      func(t *testing.T) error
	}{
		{"create a route with a parentRef to a Gateway", nil, "httproutes", func(t *testing.T) error {
			return kubectl(t, fmt.Sprintf("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: new, namespace: %s}\n"+
				"spec: {parentRefs: [{name: gw, namespace: %s}]}\n", apps, infra), "apply", "-f", "-")
		}},
		{"change a route's parentRefs", nil, "httproutes", func(t *testing.T) error {
			return kubectl(t, "", "patch", "httproute", "-n", apps, "web", "--type=json", "-p",
				`[{"op":"add","path":"/spec/parentRefs/0/sectionName","value":"http"}]`)
		}},
		{"change a route's backendRefs", nil, "httproutes", func(t *testing.T) error {
			return kubectl(t, "", "patch", "httproute", "-n", apps, "web", "--type=json", "-p",
				`[{"op":"replace","path":"/spec/rules/0/backendRefs/1/namespace","value":"elsewhere"}]`)
		}},
		{"label a Namespace, with grant approvers", []string{"grantApprovers={group:platform-admins}"}, "namespaces", func(t *testing.T) error {
			return kubectl(t, "", "label", "namespace", apps, "access=granted")
		}},
		{"create a Namespace, with grant approvers", []string{"grantApprovers={group:platform-admins}"}, "namespaces", func(*testing.T) error {
			return cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "closed-new"}})
		}},
		{"label a Namespace, namespace enforcement deny", []string{"enforcement.namespaces=deny"}, "namespaces", func(t *testing.T) error {
			return kubectl(t, "", "label", "namespace", apps, "access=granted")
		}},
		{"change a Gateway's listeners, gateway enforcement deny", []string{"enforcement.gateways=deny"}, "gateways", func(t *testing.T) error {
			return kubectl(t, "", "patch", "gateway", "-n", infra, "gw", "--type=json", "-p",
				`[{"op":"add","path":"/spec/listeners/-","value":{"name":"alt","port":8080,"protocol":"HTTP"}}]`)
		}},
		{"create a ListenerSet", nil, "listenersets", func(t *testing.T) error {
			return kubectl(t, fmt.Sprintf("apiVersion: gateway.networking.k8s.io/v1\nkind: ListenerSet\nmetadata: {name: new, namespace: %s}\n"+
				"spec: {parentRef: {name: gw, namespace: %s}, listeners: [{name: new, port: 80, protocol: HTTP, hostname: new.example.com}]}\n", apps, infra),
				"apply", "-f", "-")
		}},
		{"change a ListenerSet's listeners, ListenerSet enforcement warn", []string{"enforcement.listenerSets=warn"}, "listenersets", func(t *testing.T) error {
			return kubectl(t, "", "patch", "listenerset", "-n", apps, "apps", "--type=json", "-p",
				`[{"op":"replace","path":"/spec/listeners/0/hostname","value":"www.example.com"}]`)
		}},
		{"set a Gateway's enforcement annotation, gateway enforcement deny", []string{"enforcement.gateways=deny"}, "gateways", func(t *testing.T) error {
			return kubectl(t, "", "annotate", "gateway", "-n", infra, "gw", "gatewarden.dev/enforcement=warn")
		}},
	} {
		t.Run(tc.write, func(t *testing.T) {
			registerDown(t, tc.set...)
			err := tc.do(t)
			outcome(t, tc.write, err)
			refusedBy(t, tc.webhook, err)
		})
	}
	// Nothing of it was written.
	r := &gatewayv1.HTTPRoute{}
	require.NoError(t, cp.Client.Get(ctx, types.NamespacedName{Namespace: apps, Name: "web"}, r))
	assert.Nil(t, r.Spec.ParentRefs[0].SectionName)
	assert.Equal(t, ptr.To[int32](10), r.Spec.Rules[0].BackendRefs[1].Weight)
	assert.Nil(t, r.Spec.Rules[0].BackendRefs[1].Namespace)
}
