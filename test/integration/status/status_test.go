package status_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/test/framework"
)

const controllerName = gatewayv1.GatewayController("gatewarden.dev/attachment")

// otherEntry is what a Gateway implementation writes for the same parentRef:
// gatewarden must leave it exactly as it is.
var otherEntry = gatewayv1.RouteParentStatus{
	// Spelled out as the API server stores it, with group and kind defaulted.
	ParentRef: gatewayv1.ParentReference{
		Group: ptr.To(gatewayv1.Group(gatewayv1.GroupName)), Kind: ptr.To(gatewayv1.Kind("Gateway")),
		Name: "shared-gateway", Namespace: ptr.To(gatewayv1.Namespace("infra-ns")),
	},
	ControllerName: "example.com/gateway-controller",
	Conditions: []metav1.Condition{{
		Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", Message: "written by another controller",
		ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
	}},
}

func route(t *testing.T, ns, name string) *gatewayv1.HTTPRoute {
	t.Helper()
	r := &gatewayv1.HTTPRoute{}
	require.NoError(t, cp.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, r))
	return r
}

// ownAccepted returns gatewarden's Accepted condition of a route, or nil.
func ownAccepted(r *gatewayv1.HTTPRoute) *metav1.Condition {
	for _, p := range r.Status.Parents {
		if p.ControllerName == controllerName {
			return meta.FindStatusCondition(p.Conditions, "Accepted")
		}
	}
	return nil
}

// eventually waits for every route's gatewarden Accepted condition to have
// the status and reason wanted.
func eventually(t *testing.T, want map[string][2]string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for name, w := range want {
			r := &gatewayv1.HTTPRoute{}
			if !assert.NoError(c, cp.Client.Get(context.Background(), types.NamespacedName{Namespace: name, Name: name}, r)) {
				return
			}
			cond := ownAccepted(r)
			if assert.NotNil(c, cond, "%s has no gatewarden entry", name) {
				assert.Equal(c, w[0], string(cond.Status), name)
				assert.Equal(c, w[1], cond.Reason, name)
			}
		}
	}, 10*time.Second, 100*time.Millisecond)
}

func assertOtherEntryUntouched(t *testing.T) {
	t.Helper()
	r := route(t, "careers", "careers")
	require.NotEmpty(t, r.Status.Parents)
	assert.True(t, equality.Semantic.DeepEqual(otherEntry, r.Status.Parents[0]),
		"the other controller's entry keeps its content and its place: %+v", r.Status.Parents[0])
}

func TestStatusFollowsNamespacesAndGateways(t *testing.T) {
	s := serve(t, "status", "--route-enforcement=warn")
	ctx := context.Background()

	res := cp.Kubectl(ctx, "", "apply", "-f", filepath.Join(cp.Root, "config", "samples", "shared-gateway"))
	require.NoError(t, res.Err, res.Stderr)

	// Another controller writes its entry on careers, as a Gateway
	// implementation would.
	careers := route(t, "careers", "careers")
	careers.Status.Parents = append([]gatewayv1.RouteParentStatus{otherEntry}, careers.Status.Parents...)
	require.NoError(t, cp.Client.Status().Update(ctx, careers))

	eventually(t, map[string][2]string{
		"careers": {"True", "Accepted"}, "product": {"True", "Accepted"}, "hr": {"False", "NotAllowedByListeners"},
	})
	hr := ownAccepted(route(t, "hr", "hr"))
	assert.Contains(t, hr.Message, "namespaces matching shared-gateway-access=true")
	assert.Equal(t, route(t, "hr", "hr").Generation, hr.ObservedGeneration)
	assertOtherEntryUntouched(t)
	productSince := ownAccepted(route(t, "product", "product")).LastTransitionTime

	t.Run("removing the label detaches careers and records an event", func(t *testing.T) {
		require.NoError(t, cp.Kubectl(ctx, "", "label", "namespace", "careers", "shared-gateway-access-").Err)
		eventually(t, map[string][2]string{"careers": {"False", "NotAllowedByListeners"}, "product": {"True", "Accepted"}})
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			assert.Contains(c, eventNotes(t, "careers", "Detached"), "Detached from Gateway infra-ns/shared-gateway (NotAllowedByListeners)")
		}, 10*time.Second, 100*time.Millisecond)
		assertOtherEntryUntouched(t)

		require.NoError(t, cp.Kubectl(ctx, "", "label", "namespace", "careers", "shared-gateway-access=true").Err)
		eventually(t, map[string][2]string{"careers": {"True", "Accepted"}})
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			assert.Contains(c, eventNotes(t, "careers", "Attached"), "Attached to Gateway infra-ns/shared-gateway")
		}, 10*time.Second, 100*time.Millisecond)
		assertOtherEntryUntouched(t)
		assert.Equal(t, productSince, ownAccepted(route(t, "product", "product")).LastTransitionTime,
			"a route whose attachment did not change keeps its lastTransitionTime")
	})

	t.Run("editing the Gateway's selector re-evaluates every route", func(t *testing.T) {
		patch := `{"spec":{"listeners":[{"name":"http","protocol":"HTTP","port":80,"allowedRoutes":{"namespaces":{"from":"Selector","selector":{"matchLabels":{"kubernetes.io/metadata.name":"hr"}}}}}]}}`
		res := cp.Kubectl(ctx, "", "patch", "gateway", "-n", "infra-ns", "shared-gateway", "--type=merge", "-p", patch)
		require.NoError(t, res.Err, res.Stderr)
		eventually(t, map[string][2]string{
			"careers": {"False", "NotAllowedByListeners"}, "product": {"False", "NotAllowedByListeners"}, "hr": {"True", "Accepted"},
		})
		assertOtherEntryUntouched(t)
	})

	t.Run("with nothing changing, nothing is written", func(t *testing.T) {
		names := []string{"careers", "product", "hr"}
		before := map[string]string{}
		for _, n := range names {
			before[n] = route(t, n, n).ResourceVersion
		}
		// A label nothing selects on makes the reconciler evaluate every
		// route of these namespaces again, with the same outcome.
		reconciled := reconciles(t, s)
		for _, n := range names {
			require.NoError(t, cp.Kubectl(ctx, "", "label", "namespace", n, "status-test/unrelated=true").Err)
		}
		require.Eventually(t, func() bool { return reconciles(t, s) >= reconciled+float64(len(names)) }, 10*time.Second, 50*time.Millisecond,
			"the routes are evaluated again")
		for _, n := range names {
			assert.Equal(t, before[n], route(t, n, n).ResourceVersion, "%s was written although nothing changed", n)
		}
	})
}

// reconciles is how many HTTPRoute reconciles the status reconciler of s has
// finished.
func reconciles(t *testing.T, s *framework.Server) float64 {
	t.Helper()
	n, _, err := s.Metric(context.Background(), "controller_runtime_reconcile_total", "controller", "HTTPRoute-status")
	require.NoError(t, err)
	return n
}

func eventNotes(t *testing.T, ns, reason string) string {
	t.Helper()
	list := &eventsv1.EventList{}
	require.NoError(t, cp.Client.List(context.Background(), list, client.InNamespace(ns)))
	var notes []string
	for i := range list.Items {
		e := &list.Items[i]
		if e.Reason == reason && e.Regarding.Kind == "HTTPRoute" {
			notes = append(notes, e.Note)
		}
	}
	return strings.Join(notes, "\n")
}

// With --status=false gatewarden writes no status. A witness, a second
// gatewarden that writes status under another controllerName, shows when a
// reconciler has seen the route: by then the first would have written too.
func TestStatusOff(t *testing.T) {
	off := serve(t, "no-status", "--status=false")
	const witness = "example.com/witness"
	serve(t, "witness", "--status-controller-name="+witness)
	ctx := context.Background()
	require.NoError(t, cp.CreateNamespace(ctx, "quiet", nil))
	res := cp.Kubectl(ctx, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: quiet}
spec:
  gatewayClassName: example
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: quiet, namespace: quiet}
spec:
  parentRefs: [{name: gw}]
`, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	require.Eventually(t, func() bool {
		parents := route(t, "quiet", "quiet").Status.Parents
		return len(parents) > 0 && parents[0].ControllerName == witness
	}, 10*time.Second, 50*time.Millisecond, "the witness writes its entry")
	parents := route(t, "quiet", "quiet").Status.Parents
	require.Len(t, parents, 1, "--status=false writes no status: %+v", parents)
	_, found, err := off.Metric(ctx, "controller_runtime_reconcile_total", "controller", "HTTPRoute-status")
	require.NoError(t, err)
	assert.False(t, found, "--status=false runs no status reconciler")
}

// With --leader-elect, every replica serves admissions and only the leader
// runs the status reconciler; when it stops, another takes over.
func TestLeaderElection(t *testing.T) {
	flags := []string{"--leader-elect", "--leader-election-namespace=default", "--leader-election-id=gatewarden-test"}
	first := serve(t, "leader-a", flags...)
	second := serve(t, "leader-b", flags...)

	const reconcilerStarted = `Starting workers	{"controller": "HTTPRoute-status"`
	require.Eventually(t, func() bool {
		return strings.Contains(first.Logs(), reconcilerStarted) != strings.Contains(second.Logs(), reconcilerStarted)
	}, 30*time.Second, 100*time.Millisecond, "exactly one replica runs the reconciler")
	leader, follower := first, second
	if strings.Contains(second.Logs(), reconcilerStarted) {
		leader, follower = second, first
	}

	for _, s := range []*framework.Server{leader, follower} {
		resp, err := cp.TLSClient().Post(s.URL+"/validate-gateway-networking-k8s-io-v1-httproute", "application/json",
			strings.NewReader(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"group":"gateway.networking.k8s.io","version":"v1","kind":"HTTPRoute"},"resource":{"group":"gateway.networking.k8s.io","version":"v1","resource":"httproutes"},"operation":"CREATE","namespace":"default","name":"x","object":{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"x","namespace":"default"}}}}`))
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s serves admissions", s.Name)
	}

	require.NoError(t, leader.Stop(context.Background()))
	require.Eventually(t, func() bool { return strings.Contains(follower.Logs(), reconcilerStarted) }, 30*time.Second, 100*time.Millisecond,
		"the other replica takes over when the leader stops (it releases the lease on the way out)")
}

// A ReferenceGrant changes nothing about a route itself: only the
// reconciler's watch of ReferenceGrants (routesForGrant) brings the routes it
// covers to be evaluated again, and their ResolvedRefs condition follows.
func TestStatusFollowsReferenceGrants(t *testing.T) {
	serve(t, "grants")
	ctx := context.Background()
	for _, ns := range []string{"shop", "payments"} {
		require.NoError(t, cp.CreateNamespace(ctx, ns, nil))
	}
	res := cp.Kubectl(ctx, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  gatewayClassName: example
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: shop}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: checkout, namespace: payments, port: 8080}]
`, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	resolvedRefs := func(status, reason string) {
		t.Helper()
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			r := &gatewayv1.HTTPRoute{}
			if !assert.NoError(c, cp.Client.Get(ctx, types.NamespacedName{Namespace: "shop", Name: "shop"}, r)) {
				return
			}
			for _, p := range r.Status.Parents {
				if p.ControllerName == controllerName {
					cond := meta.FindStatusCondition(p.Conditions, string(gatewayv1.RouteConditionResolvedRefs))
					if assert.NotNil(c, cond) {
						assert.Equal(c, status, string(cond.Status))
						assert.Equal(c, reason, cond.Reason)
					}
					return
				}
			}
			assert.Fail(c, "no gatewarden entry yet")
		}, 10*time.Second, 50*time.Millisecond)
	}
	resolvedRefs("False", "RefNotPermitted")

	grant := &gatewayv1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "shop-to-checkout"},
		Spec: gatewayv1.ReferenceGrantSpec{
			From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: "shop"}},
			To:   []gatewayv1.ReferenceGrantTo{{Group: "", Kind: "Service", Name: ptr.To(gatewayv1.ObjectName("checkout"))}},
		},
	}
	require.NoError(t, cp.Client.Create(ctx, grant))
	resolvedRefs("True", "ResolvedRefs")

	require.NoError(t, cp.Client.Delete(ctx, grant))
	resolvedRefs("False", "RefNotPermitted")
}
