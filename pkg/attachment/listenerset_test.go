package attachment

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Builders for ListenerSets: a ListenerSet's listeners are written with the
// Gateway listener builder, whose fields ListenerEntry shares.

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func listenerSet(ns, name string, age int, gwNS, gwName string, listeners ...gatewayv1.Listener) *gatewayv1.ListenerSet {
	ls := &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(epoch.Add(time.Duration(age) * time.Hour))},
		Spec:       gatewayv1.ListenerSetSpec{ParentRef: gatewayv1.ParentGatewayReference{Name: gatewayv1.ObjectName(gwName)}},
	}
	if gwNS != "" {
		ls.Spec.ParentRef.Namespace = ptr.To(gatewayv1.Namespace(gwNS))
	}
	for _, l := range listeners {
		ls.Spec.Listeners = append(ls.Spec.Listeners, gatewayv1.ListenerEntry(l))
	}
	return ls
}

type gatewayOpt func(*gatewayv1.Gateway)

func allowListeners(from gatewayv1.FromNamespaces, sel *metav1.LabelSelector) gatewayOpt {
	return func(g *gatewayv1.Gateway) {
		g.Spec.AllowedListeners = &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr.To(from), Selector: sel}}
	}
}

func withGateway(g *gatewayv1.Gateway, opts ...gatewayOpt) *gatewayv1.Gateway {
	for _, o := range opts {
		o(g)
	}
	return g
}

func certificate(ns, name string) listenerOpt {
	return func(l *gatewayv1.Listener) {
		ref := gatewayv1.SecretObjectReference{Name: gatewayv1.ObjectName(name)}
		if ns != "" {
			ref.Namespace = ptr.To(gatewayv1.Namespace(ns))
		}
		l.TLS = &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{ref}}
	}
}

func listenerSetRef(ns, name string, opts ...refOpt) gatewayv1.ParentReference {
	return parentRef(ns, name, append([]refOpt{groupKind(gatewayv1.GroupName, "ListenerSet")}, opts...)...)
}

func judged(t *testing.T, ix *Index, ns, name string) *ListenerSet {
	t.Helper()
	ls := ix.ListenerSet(types.NamespacedName{Namespace: ns, Name: name})
	require.NotNil(t, ls, "ListenerSet %s/%s", ns, name)
	return ls
}

const (
	httpProto  = gatewayv1.HTTPProtocolType
	httpsProto = gatewayv1.HTTPSProtocolType
	tcpProto   = gatewayv1.TCPProtocolType
	udpProto   = gatewayv1.UDPProtocolType
)

// allowedListeners is judged with the selector code of allowedRoutes, on the
// labels of the ListenerSet's Namespace; its default is None.
func TestListenerSetAttachment(t *testing.T) {
	entry := listener("careers", 443, httpsProto, hostname("careers.example.com"))
	gw := func(opts ...gatewayOpt) *gatewayv1.Gateway {
		return withGateway(gateway("infra-ns", "shared-gateway", listener("http", 80, httpProto)), opts...)
	}
	tests := []struct {
		name    string
		gw      *gatewayv1.Gateway
		ns      string
		labels  []string
		status  metav1.ConditionStatus
		reason  gatewayv1.ListenerSetConditionReason
		message string
	}{
		{name: "no allowedListeners: None, the default (conformance ListenerSetDefaultNotAllowed)", gw: gw(), ns: "careers",
			status: metav1.ConditionFalse, reason: gatewayv1.ListenerSetReasonNotAllowed,
			message: `Gateway infra-ns/shared-gateway accepts no ListenerSets (spec.allowedListeners.namespaces.from is None, the default). Ask the Gateway owner to allow namespace careers.`},
		{name: "None (conformance ListenerSetAllowedNamespaceNone)", gw: gw(allowListeners(gatewayv1.NamespacesFromNone, nil)), ns: "careers",
			status: metav1.ConditionFalse, reason: gatewayv1.ListenerSetReasonNotAllowed},
		{name: "Same admits the Gateway's namespace (conformance ListenerSetAllowedNamespaceSame)", gw: gw(allowListeners(gatewayv1.NamespacesFromSame, nil)), ns: "infra-ns",
			status: metav1.ConditionTrue, reason: gatewayv1.ListenerSetReasonAccepted, message: "Accepted by Gateway infra-ns/shared-gateway."},
		{name: "Same rejects another namespace", gw: gw(allowListeners(gatewayv1.NamespacesFromSame, nil)), ns: "careers",
			status: metav1.ConditionFalse, reason: gatewayv1.ListenerSetReasonNotAllowed,
			message: `Gateway infra-ns/shared-gateway accepts ListenerSets only from its own namespace "infra-ns". Create the ListenerSet there, or ask the Gateway owner to allow namespace careers.`},
		{name: "All", gw: gw(allowListeners(gatewayv1.NamespacesFromAll, nil)), ns: "hr",
			status: metav1.ConditionTrue, reason: gatewayv1.ListenerSetReasonAccepted},
		{name: "Selector matches the ListenerSet's Namespace labels (conformance ListenerSetAllowedNamespaceSelector)",
			gw: gw(allowListeners(gatewayv1.NamespacesFromSelector, matchLabels("listeners", "true"))), ns: "careers", labels: []string{"listeners", "true"},
			status: metav1.ConditionTrue, reason: gatewayv1.ListenerSetReasonAccepted},
		{name: "Selector does not match", gw: gw(allowListeners(gatewayv1.NamespacesFromSelector, matchLabels("listeners", "true"))), ns: "hr",
			status: metav1.ConditionFalse, reason: gatewayv1.ListenerSetReasonNotAllowed,
			message: `Gateway infra-ns/shared-gateway accepts ListenerSets only from namespaces matching listeners=true; namespace "hr" does not match. Ask the Gateway owner to allow it, or label namespace hr to match.`},
		{name: "empty selector matches every namespace", gw: gw(allowListeners(gatewayv1.NamespacesFromSelector, &metav1.LabelSelector{})), ns: "hr",
			status: metav1.ConditionTrue, reason: gatewayv1.ListenerSetReasonAccepted},
		{name: "Selector without a selector matches none", gw: gw(allowListeners(gatewayv1.NamespacesFromSelector, nil)), ns: "careers", labels: []string{"listeners", "true"},
			status: metav1.ConditionFalse, reason: gatewayv1.ListenerSetReasonNotAllowed, message: "accepts ListenerSets from no namespace (from: Selector without a selector)"},
		{name: "an unparseable selector matches none and does not panic",
			gw: gw(allowListeners(gatewayv1.NamespacesFromSelector, &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Near"}}})),
			ns: "careers", status: metav1.ConditionFalse, reason: gatewayv1.ListenerSetReasonNotAllowed, message: "invalid selector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := index(tt.gw, namespace(tt.ns, tt.labels...), listenerSet(tt.ns, "ls", 0, "infra-ns", "shared-gateway", entry))
			ls := judged(t, ix, tt.ns, "ls")
			assert.Equal(t, tt.status, ls.Attachment.Accepted)
			assert.Equal(t, tt.reason, ls.Attachment.Reason)
			assert.Contains(t, ls.Attachment.Message, tt.message)
			assert.Same(t, ix.Gateway(types.NamespacedName{Namespace: "infra-ns", Name: "shared-gateway"}), ls.Gateway)
		})
	}
}

func TestListenerSetWithoutItsGateway(t *testing.T) {
	ix := index(listenerSet("careers", "ls", 0, "infra-ns", "missing", listener("a", 80, httpProto)))
	ls := judged(t, ix, "careers", "ls")
	assert.Equal(t, Attachment{Accepted: metav1.ConditionUnknown, Reason: gatewayv1.ListenerSetReasonPending,
		Message: "Gateway infra-ns/missing was not found, so ListenerSet careers/ls could not be checked. Check spec.parentRef, or create the Gateway first."},
		ls.Attachment)
	assert.Nil(t, ls.Gateway)

	// spec.parentRef defaults to the ListenerSet's namespace.
	ix = index(gateway("careers", "own", listener("http", 80, httpProto)), listenerSet("careers", "ls", 0, "", "own", listener("a", 81, httpProto)))
	assert.Equal(t, metav1.ConditionFalse, judged(t, ix, "careers", "ls").Attachment.Accepted, "found in its own namespace, where None rejects it")
}

// Precedence (apis/v1/listenerset_types.go): the Gateway's listeners, then
// ListenerSets oldest first, then by namespace/name. A listener not distinct
// from an earlier one is Conflicted; the earlier keeps its routes.
func TestListenerSetConflicts(t *testing.T) {
	all := from(gatewayv1.NamespacesFromAll)
	gw := withGateway(gateway("infra-ns", "gw",
		listener("http", 80, httpProto, hostname("www.example.com"), all),
		listener("tcp", 5432, tcpProto, all),
	), allowListeners(gatewayv1.NamespacesFromAll, nil))

	t.Run("hostname conflict with the Gateway (conformance ListenerSetHostnameConflict)", func(t *testing.T) {
		ix := index(gw, listenerSet("a", "ls", 0, "infra-ns", "gw",
			listener("own", 80, httpProto, hostname("a.example.com")),
			listener("dup", 80, httpProto, hostname("www.example.com")),
		))
		ls := judged(t, ix, "a", "ls")
		assert.Equal(t, gatewayv1.ListenerSetReasonAccepted, ls.Attachment.Reason, "a ListenerSet with one valid listener is accepted")
		assert.Nil(t, ls.Listener("own").Conflict)
		assert.Equal(t, &Conflict{Reason: gatewayv1.ListenerReasonHostnameConflict, Parent: GatewayKey("infra-ns", "gw"), Listener: "http"},
			ls.Listener("dup").Conflict)
	})
	t.Run("every listener conflicted: ListenersNotValid", func(t *testing.T) {
		ix := index(gw, listenerSet("a", "ls", 0, "infra-ns", "gw", listener("dup", 80, httpProto, hostname("www.example.com"))))
		ls := judged(t, ix, "a", "ls")
		assert.Equal(t, metav1.ConditionFalse, ls.Attachment.Accepted)
		assert.Equal(t, gatewayv1.ListenerSetReasonListenersNotValid, ls.Attachment.Reason)
		assert.Equal(t, `None of the listeners of ListenerSet a/ls can be used: listener "dup" conflicts with Gateway infra-ns/gw listener "http" (HostnameConflict). `+
			"Give them ports or hostnames of their own, or fix their references.", ls.Attachment.Message)
	})
	t.Run("TCP on a port the Gateway serves HTTP on (conformance ListenerSetProtocolConflict)", func(t *testing.T) {
		ix := index(gw, listenerSet("a", "ls", 0, "infra-ns", "gw", listener("tcp", 80, tcpProto), listener("ok", 81, tcpProto)))
		assert.Equal(t, gatewayv1.ListenerReasonProtocolConflict, judged(t, ix, "a", "ls").Listener("tcp").Conflict.Reason)
	})
	t.Run("HTTP on a port the Gateway serves TCP on", func(t *testing.T) {
		ix := index(gw, listenerSet("a", "ls", 0, "infra-ns", "gw", listener("web", 5432, httpProto, hostname("db.example.com")), listener("ok", 81, tcpProto)))
		c := judged(t, ix, "a", "ls").Listener("web").Conflict
		require.NotNil(t, c)
		assert.Equal(t, gatewayv1.ListenerReasonProtocolConflict, c.Reason)
		assert.Equal(t, gatewayv1.SectionName("tcp"), c.Listener)
	})
	t.Run("distinct listeners do not conflict", func(t *testing.T) {
		ix := index(gw, listenerSet("a", "ls", 0, "infra-ns", "gw",
			listener("other-host", 80, httpProto, hostname("a.example.com")),
			listener("https-same-host", 80, httpsProto, hostname("www.example.com")),
			listener("other-port", 8080, httpProto, hostname("www.example.com")),
			listener("udp", 5432, udpProto),
		))
		for _, l := range judged(t, ix, "a", "ls").Listeners {
			assert.True(t, l.Usable(), "listener %q: %+v", l.Name, l.Conflict)
		}
	})
	t.Run("the older ListenerSet keeps the listener, whatever the names", func(t *testing.T) {
		ix := index(gw,
			listenerSet("a", "young", 2, "infra-ns", "gw", listener("x", 80, httpProto, hostname("shop.example.com"))),
			listenerSet("z", "old", 1, "infra-ns", "gw", listener("y", 80, httpProto, hostname("shop.example.com"))),
		)
		assert.True(t, judged(t, ix, "z", "old").Listener("y").Usable())
		assert.Equal(t, ListenerSetKey("z", "old"), judged(t, ix, "a", "young").Listener("x").Conflict.Parent)
	})
	t.Run("same creation time: namespace/name decides", func(t *testing.T) {
		ix := index(gw,
			listenerSet("b", "ls", 1, "infra-ns", "gw", listener("x", 80, httpProto, hostname("shop.example.com"))),
			listenerSet("a", "ls", 1, "infra-ns", "gw", listener("y", 80, httpProto, hostname("shop.example.com"))),
		)
		assert.True(t, judged(t, ix, "a", "ls").Listener("y").Usable())
		assert.False(t, judged(t, ix, "b", "ls").Listener("x").Usable())
	})
	t.Run("a ListenerSet the Gateway does not accept claims nothing", func(t *testing.T) {
		narrow := withGateway(gateway("infra-ns", "gw", listener("http", 80, httpProto, hostname("www.example.com"))),
			allowListeners(gatewayv1.NamespacesFromSelector, matchLabels("listeners", "true")))
		ix := index(narrow, namespace("ok", "listeners", "true"),
			listenerSet("rejected", "ls", 0, "infra-ns", "gw", listener("x", 80, httpProto, hostname("shop.example.com"))),
			listenerSet("ok", "ls", 1, "infra-ns", "gw", listener("y", 80, httpProto, hostname("shop.example.com"))),
		)
		assert.Equal(t, gatewayv1.ListenerSetReasonNotAllowed, judged(t, ix, "rejected", "ls").Attachment.Reason)
		assert.True(t, judged(t, ix, "ok", "ls").Listener("y").Usable())
	})
	t.Run("a Conflicted listener claims nothing", func(t *testing.T) {
		ix := index(gw,
			listenerSet("a", "first", 1, "infra-ns", "gw", listener("dup", 80, httpProto, hostname("www.example.com")), listener("ok", 90, httpProto)),
			listenerSet("a", "second", 2, "infra-ns", "gw", listener("dup", 80, httpProto, hostname("www.example.com"))),
		)
		assert.Equal(t, GatewayKey("infra-ns", "gw"), judged(t, ix, "a", "second").Listener("dup").Conflict.Parent,
			"it loses to the Gateway's listener, not to first's Conflicted one")
	})
	t.Run("within one ListenerSet, the first listener wins", func(t *testing.T) {
		ix := index(gw, listenerSet("a", "ls", 0, "infra-ns", "gw", listener("web", 9000, httpProto), listener("raw", 9000, tcpProto)))
		ls := judged(t, ix, "a", "ls")
		assert.True(t, ls.Listener("web").Usable())
		assert.Equal(t, &Conflict{Reason: gatewayv1.ListenerReasonProtocolConflict, Parent: ListenerSetKey("a", "ls"), Listener: "web"}, ls.Listener("raw").Conflict)
	})
}

// A certificateRef into another namespace needs a ReferenceGrant there from
// ListenerSet; the Gateway's grants are not inherited (conformance
// ListenerSetReferenceGrant).
func TestListenerSetCertificateRefs(t *testing.T) {
	gw := withGateway(gateway("infra-ns", "gw", listener("https", 443, httpsProto, hostname("www.example.com"), certificate("certs", "gw"))),
		allowListeners(gatewayv1.NamespacesFromAll, nil))
	grant := func(kind gatewayv1.Kind, ns string) *gatewayv1.ReferenceGrant {
		return &gatewayv1.ReferenceGrant{
			ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: string(kind) + "-" + ns},
			Spec: gatewayv1.ReferenceGrantSpec{
				From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: kind, Namespace: gatewayv1.Namespace(ns)}},
				To:   []gatewayv1.ReferenceGrantTo{{Group: "", Kind: "Secret"}},
			},
		}
	}
	ls := listenerSet("careers", "ls", 0, "infra-ns", "gw", listener("careers", 443, httpsProto, hostname("careers.example.com"), certificate("certs", "careers")))

	t.Run("without a grant the listener is invalid and the ListenerSet not valid", func(t *testing.T) {
		got := judged(t, index(gw, grant(KindGateway, "infra-ns"), ls), "careers", "ls")
		assert.Equal(t, gatewayv1.ListenerSetReasonListenersNotValid, got.Attachment.Reason)
		assert.Equal(t, &InvalidRef{Index: 0, Namespace: "certs", Name: "careers"}, got.Listener("careers").Invalid)
		assert.Contains(t, got.Attachment.Message, `listener "careers" cannot be used: its tls.certificateRefs[0] names Secret certs/careers in another namespace, `+
			`and no ReferenceGrant there lets ListenerSet from "careers" use it`)
	})
	t.Run("a grant from ListenerSet in its namespace makes it valid", func(t *testing.T) {
		got := judged(t, index(gw, grant(KindListenerSet, "careers"), ls), "careers", "ls")
		assert.Equal(t, gatewayv1.ListenerSetReasonAccepted, got.Attachment.Reason)
		assert.True(t, got.Listener("careers").Usable())
	})
	t.Run("a certificate in its own namespace needs no grant", func(t *testing.T) {
		own := listenerSet("careers", "ls", 0, "infra-ns", "gw", listener("careers", 443, httpsProto, hostname("careers.example.com"), certificate("", "careers")))
		assert.Equal(t, gatewayv1.ListenerSetReasonAccepted, judged(t, index(gw, own), "careers", "ls").Attachment.Reason)
	})
}

// Routes attach to a ListenerSet with a parentRef of kind ListenerSet; its
// listeners are judged as a Gateway's, with Same meaning the ListenerSet's
// namespace.
func TestRoutesThroughListenerSets(t *testing.T) {
	gw := withGateway(gateway("infra-ns", "gw",
		listener("gw-listener", 80, httpProto, hostname("www.example.com"), from(gatewayv1.NamespacesFromSame)),
	), allowListeners(gatewayv1.NamespacesFromSelector, matchLabels("listeners", "true")), func(g *gatewayv1.Gateway) {
		g.Annotations = map[string]string{EnforcementAnnotation: "warn"}
	})
	careersLS := listenerSet("careers", "careers", 0, "infra-ns", "gw",
		listener("same", 80, httpProto, hostname("careers.example.com")),
		listener("selector", 80, httpProto, hostname("jobs.example.com"), selector(matchLabels("jobs", "true"))),
		listener("dup", 80, httpProto, hostname("www.example.com"), from(gatewayv1.NamespacesFromAll)),
	)
	careersLS.Annotations = map[string]string{EnforcementAnnotation: "off"}
	objs := index(gw, careersLS, namespace("careers", "listeners", "true"), namespace("jobs", "jobs", "true"), namespace("hr"),
		listenerSet("hr", "hr", 0, "infra-ns", "gw", listener("hr", 80, httpProto, hostname("hr.example.com"), from(gatewayv1.NamespacesFromAll))),
	)
	const (
		accepted   = gatewayv1.RouteReasonAccepted
		notAllowed = gatewayv1.RouteReasonNotAllowedByListeners
		noParent   = gatewayv1.RouteReasonNoMatchingParent
	)
	tests := []struct {
		name    string
		route   *Route
		reason  gatewayv1.RouteConditionReason
		message string
	}{
		{name: "Same means the ListenerSet's namespace (conformance ListenerSetAllowedRoutesNamespaces)",
			route: route(KindHTTPRoute, "careers", "r", nil, listenerSetRef("", "careers", section("same"))), reason: accepted,
			message: `Accepted by ListenerSet careers/careers listener "same".`},
		{name: "Same does not mean the Gateway's namespace",
			route: route(KindHTTPRoute, "infra-ns", "r", nil, listenerSetRef("careers", "careers", section("same"))), reason: notAllowed,
			message: `ListenerSet careers/careers listener "same" accepts routes only from its own namespace "careers". ` +
				`Create the route in namespace "careers", or ask the ListenerSet owner to allow namespace infra-ns.`},
		{name: "a ListenerSet listener's selector, on the route's Namespace",
			route: route(KindHTTPRoute, "jobs", "r", []string{"jobs.example.com"}, listenerSetRef("careers", "careers")), reason: accepted},
		{name: "sectionName selects among the ListenerSet's listeners only",
			route: route(KindHTTPRoute, "careers", "r", nil, listenerSetRef("careers", "careers", section("gw-listener"))), reason: noParent,
			message: `ListenerSet careers/careers has no listener named "gw-listener"; its listeners are "same" (port 80), "selector" (port 80), "dup" (port 80).`},
		{name: "a parentRef to the Gateway never reaches a ListenerSet's listener (conformance ListenerSetGatewayParentSectionNameNotFound)",
			route: route(KindHTTPRoute, "careers", "r", nil, parentRef("infra-ns", "gw", section("same"))), reason: noParent},
		{name: "a Conflicted listener accepts no route",
			route: route(KindHTTPRoute, "jobs", "r", nil, listenerSetRef("careers", "careers", section("dup"))), reason: notAllowed,
			message: `listener "dup" conflicts with Gateway infra-ns/gw listener "gw-listener" (HostnameConflict), which takes precedence, so it accepts no route.`},
		{name: "a ListenerSet the Gateway does not accept accepts no route",
			route: route(KindHTTPRoute, "hr", "r", nil, listenerSetRef("", "hr")), reason: notAllowed,
			message: `ListenerSet hr/hr is not accepted by its Gateway, so no route can attach to it: Gateway infra-ns/gw accepts ListenerSets only from namespaces matching listeners=true; namespace "hr" does not match.`},
		{name: "a ListenerSet that does not exist",
			route: route(KindHTTPRoute, "careers", "r", nil, listenerSetRef("", "nope")), reason: gatewayv1.RouteReasonPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Evaluate(tt.route, objs)
			require.Len(t, res.Parents, 1)
			assert.Equal(t, tt.reason, res.Parents[0].Reason, res.Parents[0].Message)
			assert.Contains(t, res.Parents[0].Message, tt.message)
		})
	}

	t.Run("a route with a Gateway and a ListenerSet parentRef gets a verdict for each (conformance ListenerSetDualParentRefIndependence)", func(t *testing.T) {
		res := Evaluate(route(KindHTTPRoute, "careers", "r", nil, parentRef("infra-ns", "gw"), listenerSetRef("", "careers")), objs)
		require.Len(t, res.Parents, 2)
		assert.Equal(t, notAllowed, res.Parents[0].Reason, "the Gateway's own listener is Same")
		assert.Equal(t, accepted, res.Parents[1].Reason)
	})
	t.Run("the Gateway's annotation governs routes through its ListenerSets, never the ListenerSet's own", func(t *testing.T) {
		res := Evaluate(route(KindHTTPRoute, "infra-ns", "r", nil, listenerSetRef("careers", "careers", section("same"))), objs)
		require.Len(t, res.Parents, 1)
		assert.Equal(t, VerdictWarn, ParentVerdict(&res.Parents[0], ModeDeny), "the Gateway says warn; the ListenerSet's off is ignored")
		assert.Equal(t, "Gateway infra-ns/gw", res.Parents[0].Governor().String())
	})
}

func TestDecideListenerSet(t *testing.T) {
	gw := withGateway(gateway("infra-ns", "gw", listener("http", 80, httpProto, hostname("www.example.com"))),
		allowListeners(gatewayv1.NamespacesFromSame, nil))
	notAllowed := judged(t, index(gw, listenerSet("careers", "ls", 0, "infra-ns", "gw", listener("a", 81, httpProto))), "careers", "ls")
	conflicted := judged(t, index(gw, listenerSet("infra-ns", "ls", 0, "infra-ns", "gw",
		listener("ok", 81, httpProto), listener("dup", 80, httpProto, hostname("www.example.com")))), "infra-ns", "ls")

	d := DecideListenerSet(notAllowed, ModeDeny)
	assert.Equal(t, VerdictDeny, d.Verdict)
	assert.Equal(t, field.ErrorList{field.Forbidden(field.NewPath("spec", "parentRef"), notAllowed.Attachment.Message)}, d.Denials)
	assert.Equal(t, "NotAllowed", d.Reason)

	d = DecideListenerSet(notAllowed, ModeWarn)
	assert.Equal(t, VerdictWarn, d.Verdict)
	assert.Equal(t, []string{"spec.parentRef: " + notAllowed.Attachment.Message}, d.Warnings)
	assert.Equal(t, VerdictAllow, DecideListenerSet(notAllowed, ModeOff).Verdict)

	d = DecideListenerSetUpdate(notAllowed, notAllowed, ModeDeny)
	assert.Equal(t, VerdictWarn, d.Verdict, "a rejection the update did not cause is not denied")
	assert.Contains(t, d.Warnings[0], msgPreexisting)

	d = DecideListenerSet(conflicted, ModeDeny)
	assert.Equal(t, VerdictWarn, d.Verdict, "conflicts warn")
	assert.Equal(t, []string{`spec.listeners[1]: listener "dup" conflicts with Gateway infra-ns/gw listener "http" (HostnameConflict), ` +
		`which takes precedence: it accepts no route. Give it a port or hostname of its own.`}, d.Warnings)

	annotated := gw.DeepCopy()
	annotated.Annotations = map[string]string{EnforcementAnnotation: "warn"}
	notAllowedWarn := judged(t, index(annotated, listenerSet("careers", "ls", 0, "infra-ns", "gw", listener("a", 81, httpProto))), "careers", "ls")
	assert.Equal(t, VerdictWarn, DecideListenerSet(notAllowedWarn, ModeDeny).Verdict, "the Gateway's annotation overrides the default")
}

func TestGrantsOfAllowedListeners(t *testing.T) {
	gw := NewGateway(withGateway(gateway("infra-ns", "gw", listener("http", 80, httpProto)),
		allowListeners(gatewayv1.NamespacesFromSelector, matchLabels("listeners", "true"))))
	grants := Grants([]*Gateway{gw}, "hr", labels.Set{}, labels.Set{"listeners": "true"})
	require.Len(t, grants, 1)
	assert.Nil(t, grants[0].Listener, "the Gateway's allowedListeners, not a listener")
	assert.Equal(t, "listeners=true", grants[0].Selector())
	assert.Empty(t, Grants([]*Gateway{gw}, "hr", labels.Set{"listeners": "true"}, labels.Set{}))
}

func TestListenerSetDetachmentsOnRelabel(t *testing.T) {
	gw := withGateway(gateway("infra-ns", "gw", listener("http", 80, httpProto)),
		allowListeners(gatewayv1.NamespacesFromSelector, matchLabels("listeners", "true")))
	before := index(gw, namespace("careers", "listeners", "true"),
		listenerSet("careers", "ls", 0, "infra-ns", "gw", listener("careers", 81, httpProto)))
	after := before.WithNamespaceLabels("careers", labels.Set{})
	keys := []ParentKey{ListenerSetKey("careers", "ls")}
	dets := ListenerSetDetachments(keys, before, after)
	require.Len(t, dets, 1)
	assert.Equal(t, gatewayv1.ListenerSetReasonNotAllowed, dets[0].After.Reason)
	assert.Empty(t, ListenerSetDetachments(keys, before, before))
	assert.Equal(t, gatewayv1.ListenerSetReasonAccepted, judged(t, before, "careers", "ls").Attachment.Reason, "the original is unchanged")

	r := route(KindHTTPRoute, "careers", "r", nil, listenerSetRef("", "ls"))
	routeDets := Detachments([]*Route{r}, before, after)
	require.Len(t, routeDets, 1, "the route loses its ListenerSet")
	assert.Equal(t, gatewayv1.RouteReasonNotAllowedByListeners, routeDets[0].After.Reason)
}

// Judging a ListenerSet against a table counts only the listeners before
// it: a table built without it, or with another version of it, judges it
// the same.
func TestListenerTableJudgesOneListenerSetAlone(t *testing.T) {
	gw := NewGateway(withGateway(gateway("infra-ns", "gw", listener("http", 80, httpProto, hostname("www.example.com"))),
		allowListeners(gatewayv1.NamespacesFromAll, nil)))
	var sets []*ListenerSet
	for i := range 20 {
		sets = append(sets, NewListenerSet(listenerSet("t", fmt.Sprintf("ls-%02d", i), i, "infra-ns", "gw",
			listener("web", 80, httpProto, hostname(fmt.Sprintf("h%d.example.com", i%5))))))
	}
	ix := NewIndex()
	full := NewListenerTable(gw, sets, ix)
	for i, ls := range sets {
		inTable, ok := full.Judged(ls)
		require.True(t, ok)
		alone := NewListenerTable(gw, append(append([]*ListenerSet{}, sets[:i]...), sets[i+1:]...), ix).Judge(ls, ix)
		assert.Equal(t, inTable.Attachment, alone.Attachment, ls.Name)
		assert.Equal(t, inTable.Listeners[0].Conflict, alone.Listeners[0].Conflict, ls.Name)
		assert.Equal(t, i >= 5, inTable.Listeners[0].Conflict != nil, "%s: the first of each hostname wins", ls.Name)
	}
	_, ok := full.Judged(NewListenerSet(listenerSet("t", "ls-00", 0, "infra-ns", "gw")))
	assert.False(t, ok, "another version of a ListenerSet is not the one judged")
}

// A listener whose allowedRoutes.kinds names no kind its protocol carries
// accepts no route (conformance ListenerSetAllowedRoutesSupportedKinds:
// ResolvedRefs=False/InvalidRouteKinds): a warning.
func TestDecideListenerSetWarnsAboutInvalidRouteKinds(t *testing.T) {
	gw := withGateway(gateway("infra-ns", "gw", listener("http", 80, httpProto)), allowListeners(gatewayv1.NamespacesFromAll, nil))
	ls := judged(t, index(gw, listenerSet("a", "ls", 0, "infra-ns", "gw",
		listener("tls-only", 443, gatewayv1.TLSProtocolType, kinds("HTTPRoute"), tlsMode(gatewayv1.TLSModePassthrough)))), "a", "ls")
	d := DecideListenerSet(ls, ModeDeny)
	assert.Equal(t, VerdictWarn, d.Verdict)
	assert.Equal(t, []string{`spec.listeners[0].allowedRoutes.kinds: listener "tls-only" accepts no route (InvalidRouteKinds): ` +
		`its allowedRoutes.kinds names none that a TLS listener carries. List TLSRoute.`}, d.Warnings, "a Passthrough listener carries TLSRoute only")
}
