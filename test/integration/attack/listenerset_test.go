package attack_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ---------------------------------------------------------------------------
// ListenerSets: the ways around the second handshake of a shared Gateway.
// ---------------------------------------------------------------------------

// listenerInfra is a platform team's namespace with two Gateways:
//   - shared: listener "web" (port 80, www.example.com) open to every
//     namespace's routes; its allowedListeners admits only the ListenerSets
//     of namespaces labelled accessLabel=true;
//   - closed: the same listener, and no allowedListeners (None).
type listenerInfra struct {
	ns, accessLabel string
}

func newListenerInfra(t *testing.T, ns string) *listenerInfra {
	t.Helper()
	inf := &listenerInfra{ns: ns, accessLabel: "attack.test/" + ns}
	require.NoError(t, createNamespace(context.Background(), ns, nil))
	for _, name := range []string{"shared", "closed"} {
		gw := &gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: gatewayv1.GatewaySpec{GatewayClassName: "example", Listeners: []gatewayv1.Listener{{
				Name: "web", Port: 80, Protocol: gatewayv1.HTTPProtocolType, Hostname: ptr.To(gatewayv1.Hostname("www.example.com")),
				AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}},
			}}},
		}
		if name == "shared" {
			gw.Spec.AllowedListeners = &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{
				From:     ptr.To(gatewayv1.NamespacesFromSelector),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{inf.accessLabel: "true"}},
			}}
		}
		require.NoError(t, cp.Client.Create(context.Background(), gw))
	}
	return inf
}

// admit labels a tenant's namespace into shared's allowedListeners, as an
// approver does.
func (inf *listenerInfra) admit(t *testing.T, tn *tenant) {
	t.Helper()
	err := impersonate(t, "platform-bob", approverGroup).Patch(context.Background(), namespaceRef(tn.ns),
		client.RawPatch(types.MergePatchType, labelsPatch(map[string]string{inf.accessLabel: "true"})))
	require.NoError(t, err)
}

func (inf *listenerInfra) listenerSet(tn *tenant, name, gateway string, entries ...gatewayv1.ListenerEntry) *gatewayv1.ListenerSet {
	return &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: name},
		Spec: gatewayv1.ListenerSetSpec{
			ParentRef: gatewayv1.ParentGatewayReference{Name: gatewayv1.ObjectName(gateway), Namespace: ptr.To(gatewayv1.Namespace(inf.ns))},
			Listeners: entries,
		},
	}
}

func entry(name string, port int32, host string) gatewayv1.ListenerEntry {
	return gatewayv1.ListenerEntry{Name: gatewayv1.SectionName(name), Port: port, Protocol: gatewayv1.HTTPProtocolType, Hostname: ptr.To(gatewayv1.Hostname(host))}
}

func listenerSetRef(ns, name string, section string) gatewayv1.ParentReference {
	ref := gatewayv1.ParentReference{Kind: ptr.To(gatewayv1.Kind("ListenerSet")), Namespace: ptr.To(gatewayv1.Namespace(ns)), Name: gatewayv1.ObjectName(name)}
	if section != "" {
		ref.SectionName = ptr.To(gatewayv1.SectionName(section))
	}
	return ref
}

func assertNoListenerSet(t *testing.T, ns, name string) {
	t.Helper()
	err := cp.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &gatewayv1.ListenerSet{})
	assert.True(t, apierrors.IsNotFound(err), "ListenerSet %s/%s must not exist: %v", ns, name, err)
}

// A tenant whose namespace the shared Gateway does not select cannot add a
// listener to it, by any write path.
func TestListenerSetFromANamespaceTheGatewayDoesNotSelect(t *testing.T) {
	serve(t, guardOn...)
	ctx := context.Background()
	inf := newListenerInfra(t, "infra-ls-unselected")
	tn := newTenant(t, "ls-unselected", false)
	notAllowed := fmt.Sprintf(`denied the request: spec.parentRef: Gateway %s/shared accepts ListenerSets only from namespaces matching %s=true; namespace %q does not match.`,
		inf.ns, inf.accessLabel, tn.ns)

	_, err := tn.do(func() error {
		return tn.c.Create(ctx, inf.listenerSet(tn, "mine", "shared", entry("mine", 80, "mine.example.com")))
	})
	requireDeniedByGatewarden(t, err, "listenersets", notAllowed)

	_, err = tn.kubectl(ctx, fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: mine, namespace: %s}
spec:
  parentRef: {name: shared, namespace: %s}
  listeners: [{name: mine, port: 80, protocol: HTTP, hostname: mine.example.com}]
`, tn.ns, inf.ns), "apply", "--server-side", "--field-manager", tn.user, "-f", "-")
	requireDeniedByGatewarden(t, err, "listenersets", notAllowed)
	assertNoListenerSet(t, tn.ns, "mine")

	// Annotating its own ListenerSet off changes nothing: the Gateway governs.
	_, err = tn.do(func() error {
		ls := inf.listenerSet(tn, "mine", "shared", entry("mine", 80, "mine.example.com"))
		ls.Annotations = map[string]string{"gatewarden.dev/enforcement": "off"}
		return tn.c.Create(ctx, ls)
	})
	requireDeniedByGatewarden(t, err, "listenersets", notAllowed)
	assertNoListenerSet(t, tn.ns, "mine")
}

// An accepted ListenerSet cannot be moved to a Gateway that does not accept
// it.
func TestMovingAnAcceptedListenerSetToAnotherGateway(t *testing.T) {
	serve(t, guardOn...)
	ctx := context.Background()
	inf := newListenerInfra(t, "infra-ls-move")
	tn := newTenant(t, "ls-move", false)
	inf.admit(t, tn)

	_, err := tn.do(func() error {
		return tn.c.Create(ctx, inf.listenerSet(tn, "mine", "shared", entry("mine", 80, "mine.example.com")))
	})
	require.NoError(t, err, "the tenant's namespace is admitted")

	moved := fmt.Sprintf(`{"spec":{"parentRef":{"name":"closed","namespace":%q}}}`, inf.ns)
	_, err = tn.do(func() error {
		return tn.c.Patch(ctx, &gatewayv1.ListenerSet{ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: "mine"}},
			client.RawPatch(types.MergePatchType, []byte(moved)))
	})
	requireDeniedByGatewarden(t, err, "listenersets",
		fmt.Sprintf("denied the request: spec.parentRef: Gateway %s/closed accepts no ListenerSets", inf.ns))
	ls := &gatewayv1.ListenerSet{}
	require.NoError(t, cp.Client.Get(ctx, types.NamespacedName{Namespace: tn.ns, Name: "mine"}, ls))
	assert.Equal(t, gatewayv1.ObjectName("shared"), ls.Spec.ParentRef.Name, "the ListenerSet stays on the Gateway that accepts it")
}

// A route cannot use another tenant's ListenerSet listener, whose
// allowedRoutes default Same means the ListenerSet's own namespace.
func TestRouteNamingAListenerSetInAnotherNamespace(t *testing.T) {
	serve(t, guardOn...)
	ctx := context.Background()
	inf := newListenerInfra(t, "infra-ls-cross")
	victim := newTenant(t, "ls-victim", false)
	inf.admit(t, victim)
	_, err := victim.do(func() error {
		return victim.c.Create(ctx, inf.listenerSet(victim, "site", "shared", entry("site", 80, "victim.example.com")))
	})
	require.NoError(t, err)

	attacker := newTenant(t, "ls-attacker", false)
	_, err = attacker.createRoute(ctx, "steal", listenerSetRef(victim.ns, "site", ""))
	requireDeniedByGatewarden(t, err, "httproutes", fmt.Sprintf(
		`denied the request: spec.parentRefs[0]: ListenerSet %s/site listener "site" accepts routes only from its own namespace %q.`, victim.ns, victim.ns))
	attacker.assertNoRoute(t, "steal")

	// The victim's own route attaches.
	_, err = victim.createRoute(ctx, "site", listenerSetRef(victim.ns, "site", ""))
	require.NoError(t, err)
}

// A ListenerSet listener that claims what the Gateway already serves is
// Conflicted: it is created with a warning naming the winner, and no route
// attaches through it.
func TestListenerSetClaimingWhatTheGatewayServes(t *testing.T) {
	serve(t, guardOn...)
	ctx := context.Background()
	inf := newListenerInfra(t, "infra-ls-claim")
	tn := newTenant(t, "ls-claim", false)
	inf.admit(t, tn)

	takeover := entry("takeover", 80, "www.example.com")
	takeover.AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}
	warnings, err := tn.do(func() error {
		return tn.c.Create(ctx, inf.listenerSet(tn, "claim", "shared", entry("own", 80, "own.example.com"), takeover))
	})
	require.NoError(t, err, "conflicts are warnings")
	assert.Equal(t, []string{fmt.Sprintf(`spec.listeners[1]: listener "takeover" conflicts with Gateway %s/shared listener "web" (HostnameConflict), `+
		`which takes precedence: it accepts no route. Give it a port or hostname of its own.`, inf.ns)}, warnings)

	_, err = tn.createRoute(ctx, "through-takeover", listenerSetRef(tn.ns, "claim", "takeover"))
	requireDeniedByGatewarden(t, err, "httproutes", fmt.Sprintf(
		`denied the request: spec.parentRefs[0]: ListenerSet %s/claim listener "takeover" conflicts with Gateway %s/shared listener "web" (HostnameConflict), `+
			`which takes precedence, so it accepts no route.`, tn.ns, inf.ns))
	tn.assertNoRoute(t, "through-takeover")
}
