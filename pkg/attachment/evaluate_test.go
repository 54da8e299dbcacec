package attachment

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Builders keep the tables below readable: each case shows only what it is
// about.

func gateway(ns, name string, listeners ...gatewayv1.Listener) *gatewayv1.Gateway {
	return &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       gatewayv1.GatewaySpec{GatewayClassName: "test", Listeners: listeners},
	}
}

type listenerOpt func(*gatewayv1.Listener)

func listener(name string, port int32, proto gatewayv1.ProtocolType, opts ...listenerOpt) gatewayv1.Listener {
	l := gatewayv1.Listener{Name: gatewayv1.SectionName(name), Port: port, Protocol: proto}
	for _, o := range opts {
		o(&l)
	}
	return l
}

func allowedRoutes(l *gatewayv1.Listener) *gatewayv1.AllowedRoutes {
	if l.AllowedRoutes == nil {
		l.AllowedRoutes = &gatewayv1.AllowedRoutes{}
	}
	return l.AllowedRoutes
}

func from(f gatewayv1.FromNamespaces) listenerOpt {
	return func(l *gatewayv1.Listener) {
		ar := allowedRoutes(l)
		if ar.Namespaces == nil {
			ar.Namespaces = &gatewayv1.RouteNamespaces{}
		}
		ar.Namespaces.From = ptr.To(f)
	}
}

func selector(sel *metav1.LabelSelector) listenerOpt {
	return func(l *gatewayv1.Listener) {
		from(gatewayv1.NamespacesFromSelector)(l)
		l.AllowedRoutes.Namespaces.Selector = sel
	}
}

func matchLabels(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

func kinds(ks ...string) listenerOpt {
	return func(l *gatewayv1.Listener) {
		ar := allowedRoutes(l)
		for _, k := range ks {
			group, kind, found := strings.Cut(k, "/")
			if !found {
				ar.Kinds = append(ar.Kinds, gatewayv1.RouteGroupKind{Kind: gatewayv1.Kind(k)})
				continue
			}
			ar.Kinds = append(ar.Kinds, gatewayv1.RouteGroupKind{Group: ptr.To(gatewayv1.Group(group)), Kind: gatewayv1.Kind(kind)})
		}
	}
}

func hostname(h string) listenerOpt {
	return func(l *gatewayv1.Listener) { l.Hostname = ptr.To(gatewayv1.Hostname(h)) }
}

func tlsMode(m gatewayv1.TLSModeType) listenerOpt {
	return func(l *gatewayv1.Listener) { l.TLS = &gatewayv1.ListenerTLSConfig{Mode: ptr.To(m)} }
}

func namespace(name string, kv ...string) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	for i := 0; i < len(kv); i += 2 {
		ns.Labels[kv[i]] = kv[i+1]
	}
	return ns
}

type refOpt func(*gatewayv1.ParentReference)

func parentRef(ns, name string, opts ...refOpt) gatewayv1.ParentReference {
	r := gatewayv1.ParentReference{Name: gatewayv1.ObjectName(name)}
	if ns != "" {
		r.Namespace = ptr.To(gatewayv1.Namespace(ns))
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func section(s string) refOpt {
	return func(r *gatewayv1.ParentReference) { r.SectionName = ptr.To(gatewayv1.SectionName(s)) }
}

func port(p int32) refOpt {
	return func(r *gatewayv1.ParentReference) { r.Port = ptr.To(p) }
}

func groupKind(g, k string) refOpt {
	return func(r *gatewayv1.ParentReference) {
		r.Group = ptr.To(gatewayv1.Group(g))
		r.Kind = ptr.To(gatewayv1.Kind(k))
	}
}

func route(kind gatewayv1.Kind, ns, name string, hosts []string, refs ...gatewayv1.ParentReference) *Route {
	r := &Route{Kind: kind, Namespace: ns, Name: name, ParentRefs: refs}
	for _, h := range hosts {
		r.Hostnames = append(r.Hostnames, gatewayv1.Hostname(h))
	}
	return r
}

func index(objs ...any) *Index {
	ix := NewIndex()
	for _, o := range objs {
		switch o := o.(type) {
		case *gatewayv1.Gateway:
			ix.AddGateway(o)
		case *corev1.Namespace:
			ix.AddNamespace(o)
		case *gatewayv1.ReferenceGrant:
			ix.AddReferenceGrant(o)
		case *gatewayv1.ListenerSet:
			ix.AddListenerSet(o)
		default:
			panic("index: unexpected object")
		}
	}
	return ix
}

// The shared Gateway of the example scenario and its namespaces.
func sharedGateway(opts ...listenerOpt) *gatewayv1.Gateway {
	opts = append([]listenerOpt{selector(matchLabels("shared-gateway-access", "true"))}, opts...)
	return gateway("infra-ns", "shared-gateway", listener("http", 80, gatewayv1.HTTPProtocolType, opts...))
}

func TestEvaluateParent(t *testing.T) {
	const (
		accepted     = gatewayv1.RouteReasonAccepted
		notAllowed   = gatewayv1.RouteReasonNotAllowedByListeners
		noHostname   = gatewayv1.RouteReasonNoMatchingListenerHostname
		noParent     = gatewayv1.RouteReasonNoMatchingParent
		pending      = gatewayv1.RouteReasonPending
		http         = gatewayv1.HTTPProtocolType
		https        = gatewayv1.HTTPSProtocolType
		shared       = "shared-gateway"
		infra        = "infra-ns"
		accessLabel  = "shared-gateway-access"
		exampleHosts = "a.example.com"
	)
	labelled := namespace("careers", accessLabel, "true")
	unlabelled := namespace("hr")

	tests := []struct {
		name    string
		objs    *Index
		route   *Route
		reason  gatewayv1.RouteConditionReason
		message []string // substrings the message must contain
	}{
		// allowedRoutes.namespaces
		{
			name:    "selector matches the namespace labels",
			objs:    index(sharedGateway(), labelled),
			route:   route(KindHTTPRoute, "careers", "careers", nil, parentRef(infra, shared)),
			reason:  accepted,
			message: []string{`Accepted by Gateway infra-ns/shared-gateway listener "http"`},
		},
		{
			name:   "selector does not match the namespace labels",
			objs:   index(sharedGateway(), unlabelled),
			route:  route(KindHTTPRoute, "hr", "hr", nil, parentRef(infra, shared)),
			reason: notAllowed,
			message: []string{
				`Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true; namespace "hr" does not match.`,
				`label namespace hr`,
			},
		},
		{
			name:   "selector matches the namespace, not the route: a namespace absent from the input has only its name label",
			objs:   index(sharedGateway()),
			route:  route(KindHTTPRoute, "hr", "hr", nil, parentRef(infra, shared)),
			reason: notAllowed,
		},
		{
			name: "selector matchExpressions In",
			objs: index(gateway(infra, shared, listener("http", 80, http, selector(&metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}},
			}))), namespace("careers", "team", "b")),
			route:  route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name: "selector matchExpressions NotIn excludes",
			objs: index(gateway(infra, shared, listener("http", 80, http, selector(&metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"hr"}}},
			}))), namespace("hr", "team", "hr")),
			route:   route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason:  notAllowed,
			message: []string{"team notin (hr)"},
		},
		{
			name:   "selector on kubernetes.io/metadata.name, which every namespace carries",
			objs:   index(gateway(infra, shared, listener("http", 80, http, selector(matchLabels(corev1.LabelMetadataName, "careers")))), namespace("careers")),
			route:  route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "empty selector matches every namespace",
			objs:   index(gateway(infra, shared, listener("http", 80, http, selector(&metav1.LabelSelector{}))), unlabelled),
			route:  route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:    "from Selector without a selector matches no namespace",
			objs:    index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromSelector))), labelled),
			route:   route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared)),
			reason:  notAllowed,
			message: []string{"accepts routes from no namespace (from: Selector without a selector)"},
		},
		{
			name: "unparseable selector matches no namespace and does not panic",
			objs: index(gateway(infra, shared, listener("http", 80, http, selector(&metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: accessLabel, Operator: "Between", Values: []string{"true"}}},
			}))), labelled),
			route:   route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared)),
			reason:  notAllowed,
			message: []string{"invalid selector", "Ask the Gateway owner to fix allowedRoutes.namespaces.selector"},
		},
		{
			name:   "invalid label value in selector matches no namespace",
			objs:   index(gateway(infra, shared, listener("http", 80, http, selector(matchLabels(accessLabel, "not valid!")))), labelled),
			route:  route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared)),
			reason: notAllowed,
		},
		{
			name:   "from All admits any namespace",
			objs:   index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromAll))), unlabelled),
			route:  route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "from Same admits the Gateway's namespace",
			objs:   index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromSame)))),
			route:  route(KindHTTPRoute, infra, "r", nil, parentRef("", shared)),
			reason: accepted,
		},
		{
			name:    "from Same rejects another namespace",
			objs:    index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromSame))), labelled),
			route:   route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared)),
			reason:  notAllowed,
			message: []string{`accepts routes only from its own namespace "infra-ns"`},
		},
		{
			name:   "allowedRoutes omitted defaults to Same",
			objs:   index(gateway(infra, shared, listener("http", 80, http)), labelled),
			route:  route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared)),
			reason: notAllowed,
		},
		{
			name:   "allowedRoutes without namespaces defaults to Same",
			objs:   index(gateway(infra, shared, listener("http", 80, http, kinds("HTTPRoute")))),
			route:  route(KindHTTPRoute, infra, "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:    "from None admits nothing",
			objs:    index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromNone)))),
			route:   route(KindHTTPRoute, infra, "r", nil, parentRef(infra, shared)),
			reason:  notAllowed,
			message: []string{"(from: None)"},
		},
		{
			name:   "an unknown from value admits nothing",
			objs:   index(gateway(infra, shared, listener("http", 80, http, from("Everywhere")))),
			route:  route(KindHTTPRoute, infra, "r", nil, parentRef(infra, shared)),
			reason: notAllowed,
		},

		// allowedRoutes.kinds
		{
			name:   "HTTP listener admits GRPCRoute by default",
			objs:   index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromAll)))),
			route:  route(KindGRPCRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:    "HTTP listener does not admit TCPRoute by default",
			objs:    index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromAll)))),
			route:   route(KindTCPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason:  notAllowed,
			message: []string{`listener "http" accepts only HTTPRoute, GRPCRoute, not TCPRoute`},
		},
		{
			name:   "HTTPS listener admits HTTPRoute by default",
			objs:   index(gateway(infra, shared, listener("https", 443, https, from(gatewayv1.NamespacesFromAll)))),
			route:  route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "TLS passthrough listener admits TLSRoute",
			objs:   index(gateway(infra, shared, listener("tls", 443, gatewayv1.TLSProtocolType, from(gatewayv1.NamespacesFromAll), tlsMode(gatewayv1.TLSModePassthrough)))),
			route:  route(KindTLSRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "TLS passthrough listener does not admit TCPRoute",
			objs:   index(gateway(infra, shared, listener("tls", 443, gatewayv1.TLSProtocolType, from(gatewayv1.NamespacesFromAll), tlsMode(gatewayv1.TLSModePassthrough)))),
			route:  route(KindTCPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: notAllowed,
		},
		{
			name:   "TLS terminate listener admits TCPRoute",
			objs:   index(gateway(infra, shared, listener("tls", 443, gatewayv1.TLSProtocolType, from(gatewayv1.NamespacesFromAll), tlsMode(gatewayv1.TLSModeTerminate)))),
			route:  route(KindTCPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "TCP listener admits TCPRoute",
			objs:   index(gateway(infra, shared, listener("tcp", 5432, gatewayv1.TCPProtocolType, from(gatewayv1.NamespacesFromAll)))),
			route:  route(KindTCPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "UDP listener admits UDPRoute and not TCPRoute",
			objs:   index(gateway(infra, shared, listener("udp", 53, gatewayv1.UDPProtocolType, from(gatewayv1.NamespacesFromAll)))),
			route:  route(KindTCPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: notAllowed,
		},
		{
			name:   "UDP listener admits UDPRoute",
			objs:   index(gateway(infra, shared, listener("udp", 53, gatewayv1.UDPProtocolType, from(gatewayv1.NamespacesFromAll)))),
			route:  route(KindUDPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "an implementation-specific protocol admits no known kind",
			objs:   index(gateway(infra, shared, listener("x", 80, "example.com/proto", from(gatewayv1.NamespacesFromAll)))),
			route:  route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: notAllowed,
		},
		{
			name:   "explicit kinds restrict the protocol defaults",
			objs:   index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromAll), kinds("HTTPRoute")))),
			route:  route(KindGRPCRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: notAllowed,
		},
		{
			name:   "a kind without group means the Gateway API group",
			objs:   index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromAll), kinds("GRPCRoute")))),
			route:  route(KindGRPCRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "a kind with the explicit Gateway API group",
			objs:   index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromAll), kinds("gateway.networking.k8s.io/HTTPRoute")))),
			route:  route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "a kind of another group is not the Gateway API kind",
			objs:   index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromAll), kinds("example.com/HTTPRoute")))),
			route:  route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: notAllowed,
		},
		{
			name:    "only unknown kinds admit no route, without falling back to the protocol defaults",
			objs:    index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromAll), kinds("InvalidRoute")))),
			route:   route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason:  notAllowed,
			message: []string{"its allowedRoutes.kinds names none that a HTTP listener carries"},
		},
		{
			name:   "unknown kinds beside a known one are ignored",
			objs:   index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromAll), kinds("InvalidRoute", "HTTPRoute")))),
			route:  route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "a listed kind the protocol cannot carry is not supported",
			objs:   index(gateway(infra, shared, listener("http", 80, http, from(gatewayv1.NamespacesFromAll), kinds("TCPRoute")))),
			route:  route(KindTCPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: notAllowed,
		},

		// hostnames
		{
			name:   "listener without hostname matches every route hostname",
			objs:   index(sharedGateway(), labelled),
			route:  route(KindHTTPRoute, "careers", "r", []string{"careers.example.com"}, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "route without hostnames matches a listener hostname",
			objs:   index(sharedGateway(hostname("*.example.com")), labelled),
			route:  route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "listener wildcard matches one label",
			objs:   index(sharedGateway(hostname("*.example.com")), labelled),
			route:  route(KindHTTPRoute, "careers", "r", []string{exampleHosts}, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "listener wildcard matches several labels",
			objs:   index(sharedGateway(hostname("*.example.com")), labelled),
			route:  route(KindHTTPRoute, "careers", "r", []string{"a.b.example.com"}, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "listener wildcard never matches the bare domain",
			objs:   index(sharedGateway(hostname("*.example.com")), labelled),
			route:  route(KindHTTPRoute, "careers", "r", []string{"example.com"}, parentRef(infra, shared)),
			reason: noHostname,
			message: []string{
				`Gateway infra-ns/shared-gateway listener "http" (*.example.com) would accept this route, but none of its hostnames (example.com) matches.`,
			},
		},
		{
			name:   "route wildcard matches a precise listener hostname",
			objs:   index(sharedGateway(hostname("careers.example.com")), labelled),
			route:  route(KindHTTPRoute, "careers", "r", []string{"*.example.com"}, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "two wildcards intersect when one suffix contains the other",
			objs:   index(sharedGateway(hostname("*.example.com")), labelled),
			route:  route(KindHTTPRoute, "careers", "r", []string{"*.com"}, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "two disjoint wildcards do not intersect",
			objs:   index(sharedGateway(hostname("*.example.com")), labelled),
			route:  route(KindHTTPRoute, "careers", "r", []string{"*.example.org"}, parentRef(infra, shared)),
			reason: noHostname,
		},
		{
			name:   "route hostnames that do not intersect are ignored while one does",
			objs:   index(sharedGateway(hostname("careers.example.com")), labelled),
			route:  route(KindHTTPRoute, "careers", "r", []string{"other.example.org", "careers.example.com"}, parentRef(infra, shared)),
			reason: accepted,
		},
		{
			name:   "precise hostnames that differ do not intersect",
			objs:   index(sharedGateway(hostname("careers.example.com")), labelled),
			route:  route(KindHTTPRoute, "careers", "r", []string{"jobs.example.com"}, parentRef(infra, shared)),
			reason: noHostname,
		},

		// Listeners are judged as a whole (the Cilium class of bug).
		{
			name: "one listener admits the namespace, another has the hostname: rejected",
			objs: index(gateway(infra, shared,
				listener("open", 80, http, from(gatewayv1.NamespacesFromAll), hostname("other.example.com")),
				listener("narrow", 80, http, selector(matchLabels(accessLabel, "true")), hostname("careers.example.com")),
			), unlabelled),
			route:  route(KindHTTPRoute, "hr", "r", []string{"careers.example.com"}, parentRef(infra, shared)),
			reason: noHostname,
		},
		{
			name: "one listener admits the kind, another the namespace: rejected",
			objs: index(gateway(infra, shared,
				listener("grpc-only", 80, http, from(gatewayv1.NamespacesFromAll), kinds("GRPCRoute"), hostname("a.example.com")),
				listener("same", 80, http, from(gatewayv1.NamespacesFromSame), hostname("b.example.com")),
			), unlabelled),
			route:  route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason: notAllowed,
			message: []string{
				`listener "grpc-only" accepts only GRPCRoute, not HTTPRoute; listener "same" accepts routes only from its own namespace "infra-ns".`,
			},
		},
		{
			name: "one of two listeners accepts: accepted",
			objs: index(gateway(infra, shared,
				listener("same", 80, http, from(gatewayv1.NamespacesFromSame)),
				listener("open", 8080, http, from(gatewayv1.NamespacesFromAll)),
			), unlabelled),
			route:   route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared)),
			reason:  accepted,
			message: []string{`listener "open"`},
		},
		{
			name: "NotAllowedByListeners wins over NoMatchingListenerHostname when no listener admits namespace and kind",
			objs: index(gateway(infra, shared,
				listener("a", 80, http, from(gatewayv1.NamespacesFromSame), hostname("a.example.com")),
			), unlabelled),
			route:  route(KindHTTPRoute, "hr", "r", []string{"b.example.com"}, parentRef(infra, shared)),
			reason: notAllowed,
		},

		// Listener selection by sectionName and port.
		{
			name: "sectionName picks that listener only",
			objs: index(gateway(infra, shared,
				listener("open", 80, http, from(gatewayv1.NamespacesFromAll)),
				listener("same", 8080, http, from(gatewayv1.NamespacesFromSame)),
			), unlabelled),
			route:  route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared, section("same"))),
			reason: notAllowed,
		},
		{
			name:   "sectionName of a listener that does not exist",
			objs:   index(sharedGateway(), labelled),
			route:  route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared, section("https"))),
			reason: noParent,
			message: []string{
				`Gateway infra-ns/shared-gateway has no listener named "https"; its listeners are "http" (port 80). Set sectionName to one of them`,
			},
		},
		{
			name: "port picks every listener on that port",
			objs: index(gateway(infra, shared,
				listener("same", 80, http, from(gatewayv1.NamespacesFromSame)),
				listener("open", 80, http, from(gatewayv1.NamespacesFromAll), hostname("x.example.com")),
				listener("other", 8080, http, from(gatewayv1.NamespacesFromAll)),
			), unlabelled),
			route:  route(KindHTTPRoute, "hr", "r", nil, parentRef(infra, shared, port(80))),
			reason: accepted,
		},
		{
			name:    "port that no listener uses",
			objs:    index(sharedGateway(), labelled),
			route:   route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared, port(443))),
			reason:  noParent,
			message: []string{"has no listener on port 443"},
		},
		{
			name:    "sectionName and port must both match",
			objs:    index(sharedGateway(), labelled),
			route:   route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared, section("http"), port(443))),
			reason:  noParent,
			message: []string{`has no listener named "http" on port 443`},
		},
		{
			name:   "sectionName and port matching the same listener",
			objs:   index(sharedGateway(), labelled),
			route:  route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared, section("http"), port(80))),
			reason: accepted,
		},
		{
			name:    "a Gateway with no listeners matches no parentRef",
			objs:    index(gateway(infra, shared), labelled),
			route:   route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared)),
			reason:  noParent,
			message: []string{"has no listeners"},
		},

		// parentRef defaults and Gateways that are not known.
		{
			name:   "parentRef without namespace names a Gateway in the route's namespace",
			objs:   index(sharedGateway(), labelled),
			route:  route(KindHTTPRoute, "careers", "r", nil, parentRef("", shared)),
			reason: pending,
		},
		{
			name:   "explicit group and kind are the defaults",
			objs:   index(sharedGateway(), labelled),
			route:  route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, shared, groupKind(gatewayv1.GroupName, "Gateway"))),
			reason: accepted,
		},
		{
			name:    "a Gateway that is not known is Unknown",
			objs:    index(labelled),
			route:   route(KindHTTPRoute, "careers", "r", nil, parentRef(infra, "missing")),
			reason:  pending,
			message: []string{"Gateway infra-ns/missing was not found"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Evaluate(tt.route, tt.objs)
			require.Len(t, res.Parents, 1)
			p := res.Parents[0]
			assert.Equal(t, tt.reason, p.Reason, p.Message)
			want := metav1.ConditionFalse
			switch tt.reason {
			case accepted:
				want = metav1.ConditionTrue
			case pending:
				want = metav1.ConditionUnknown
			}
			assert.Equal(t, want, p.Accepted)
			for _, m := range tt.message {
				assert.Contains(t, p.Message, m)
			}
		})
	}
}

func TestEvaluateSkipsParentRefsItDoesNotGovern(t *testing.T) {
	objs := index(sharedGateway(), namespace("careers", "shared-gateway-access", "true"))
	r := route(KindHTTPRoute, "careers", "r", nil,
		parentRef("", "mesh-svc", groupKind("", "Service")),
		parentRef("infra-ns", "shared-gateway"),
		parentRef("infra-ns", "set", groupKind(gatewayv1.GroupName, "ListenerSet")),
		parentRef("infra-ns", "shared-gateway", groupKind("example.com", "Gateway")),
	)
	res := Evaluate(r, objs)
	require.Len(t, res.Parents, 2, "a mesh Service and another group's Gateway are skipped; Gateways and ListenerSets are not")
	assert.Equal(t, 1, res.Parents[0].Index)
	assert.Equal(t, "spec.parentRefs[1]", res.Parents[0].Path().String())
	assert.Equal(t, ParentRef{Group: gatewayv1.GroupName, Kind: KindGateway, Namespace: "infra-ns", Name: "shared-gateway"}, res.Parents[0].Ref)
	assert.Equal(t, ParentRef{Group: gatewayv1.GroupName, Kind: KindListenerSet, Namespace: "infra-ns", Name: "set"}, res.Parents[1].Ref)
	assert.Equal(t, "ListenerSet infra-ns/set was not found, so this parentRef could not be checked. "+
		"Check its name and namespace, or create the ListenerSet first.", res.Parents[1].Message)
}

func TestEvaluateEachParentRefOnItsOwn(t *testing.T) {
	objs := index(
		sharedGateway(),
		gateway("careers", "own", listener("http", 80, gatewayv1.HTTPProtocolType)),
		namespace("careers"),
	)
	r := route(KindHTTPRoute, "careers", "r", nil, parentRef("", "own"), parentRef("infra-ns", "shared-gateway"))
	res := Evaluate(r, objs)
	require.Len(t, res.Parents, 2)
	assert.Equal(t, metav1.ConditionTrue, res.Parents[0].Accepted)
	assert.Equal(t, ParentRef{Group: gatewayv1.GroupName, Kind: KindGateway, Namespace: "careers", Name: "own"}, res.Parents[0].Ref)
	assert.Equal(t, gatewayv1.RouteReasonNotAllowedByListeners, res.Parents[1].Reason)
	assert.Equal(t, 1, res.Parents[1].Index)
}

func TestHostnamesIntersect(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"a.example.com", "a.example.com", true},
		{"a.example.com", "b.example.com", false},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "aexample.com", false},
		{"*.example.com", "*.example.com", true},
		{"*.example.com", "*.a.example.com", true},
		{"*.example.com", "*.com", true},
		{"*.example.com", "*.example.org", false},
		{"*.example.com", "*.xample.com", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, HostnamesIntersect(tt.a, tt.b), "%s ∩ %s", tt.a, tt.b)
		assert.Equal(t, tt.want, HostnamesIntersect(tt.b, tt.a), "%s ∩ %s", tt.b, tt.a)
	}
}

func TestNotAllowedMessageStaysShortWithManyListeners(t *testing.T) {
	var ls []gatewayv1.Listener
	for i := range 64 {
		ls = append(ls, listener("listener-"+strings.Repeat("x", 3)+string(rune('a'+i%26))+string(rune('a'+i/26)), int32(8000+i), gatewayv1.HTTPProtocolType))
	}
	objs := index(gateway("infra-ns", "big", ls...))
	res := Evaluate(route(KindHTTPRoute, "hr", "r", nil, parentRef("infra-ns", "big")), objs)
	require.Len(t, res.Parents, 1)
	msg := res.Parents[0].Message
	assert.Contains(t, msg, "and 61 more")
	assert.Less(t, len(msg), 400, msg)

	res = Evaluate(route(KindHTTPRoute, "hr", "r", nil, parentRef("infra-ns", "big", section("nope"))), objs)
	assert.Contains(t, res.Parents[0].Message, "and 61 more")
}

func TestNamespaceLabels(t *testing.T) {
	in := map[string]string{"team": "a"}
	got := NamespaceLabels("careers", in)
	assert.Equal(t, "careers", got[corev1.LabelMetadataName])
	assert.Equal(t, "a", got["team"])
	assert.NotContains(t, in, corev1.LabelMetadataName, "the input map must not be modified")
}

func TestWithNamespaceLabelsOverridesOneNamespace(t *testing.T) {
	objs := index(sharedGateway(), namespace("careers", "shared-gateway-access", "true"))
	r := route(KindHTTPRoute, "careers", "r", nil, parentRef("infra-ns", "shared-gateway"))
	require.Equal(t, metav1.ConditionTrue, Evaluate(r, objs).Parents[0].Accepted)

	relabelled := objs.WithNamespaceLabels("careers", map[string]string{})
	assert.Equal(t, gatewayv1.RouteReasonNotAllowedByListeners, Evaluate(r, relabelled).Parents[0].Reason)
	assert.Equal(t, metav1.ConditionTrue, Evaluate(r, objs).Parents[0].Accepted, "the underlying objects are unchanged")
}
