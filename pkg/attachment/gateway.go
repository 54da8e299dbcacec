package attachment

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Gateway is a Gateway prepared for evaluation: defaults applied and label
// selectors parsed once, so that evaluating a route does no parsing.
type Gateway struct {
	Namespace string
	Name      string
	// Enforcement is the Gateway's gatewarden.dev/enforcement annotation,
	// or "" when it has none or the value is not a Mode.
	Enforcement Mode
	// EnforcementInvalid holds an annotation value that is not a Mode.
	EnforcementInvalid string
	Listeners          []Listener
}

// Listener is one listener of a Gateway with its allowedRoutes resolved.
type Listener struct {
	Name     gatewayv1.SectionName
	Port     gatewayv1.PortNumber
	Protocol gatewayv1.ProtocolType
	// Hostname is "" when the listener matches every hostname.
	Hostname string
	// From is allowedRoutes.namespaces.from, defaulted to Same.
	From gatewayv1.FromNamespaces
	// Selector is the parsed allowedRoutes.namespaces.selector. It is nil
	// when From is Selector but the selector is missing or does not parse:
	// such a listener admits no namespace.
	Selector labels.Selector
	// SelectorText is the selector as written, for messages.
	SelectorText string
	// SelectorError says why Selector is nil when From is Selector.
	SelectorError string
	// kinds are the route kinds the listener admits (its supportedKinds).
	kinds kindSet
	// kindsExplicit records that allowedRoutes.kinds was set, for messages.
	kindsExplicit bool
}

// NewGateway prepares a Gateway for evaluation. It never fails: whatever the
// Gateway says that cannot be used (an unparseable selector, an unknown
// kind) makes the listener admit less, exactly as an implementation would.
func NewGateway(gw *gatewayv1.Gateway) *Gateway {
	g := &Gateway{
		Namespace: gw.Namespace,
		Name:      gw.Name,
		Listeners: make([]Listener, len(gw.Spec.Listeners)),
	}
	if v, ok := gw.Annotations[EnforcementAnnotation]; ok {
		if m, err := ParseMode(v); err == nil {
			g.Enforcement = m
		} else {
			g.EnforcementInvalid = v
		}
	}
	for i := range gw.Spec.Listeners {
		g.Listeners[i] = newListener(&gw.Spec.Listeners[i])
	}
	return g
}

func newListener(l *gatewayv1.Listener) Listener {
	out := Listener{Name: l.Name, Port: l.Port, Protocol: l.Protocol, From: gatewayv1.NamespacesFromSame}
	if l.Hostname != nil {
		out.Hostname = string(*l.Hostname)
	}
	compatible := protocolKinds(l)
	if l.AllowedRoutes != nil {
		if ns := l.AllowedRoutes.Namespaces; ns != nil && ns.From != nil {
			out.From = *ns.From
		}
		if out.From == gatewayv1.NamespacesFromSelector {
			out.Selector, out.SelectorText, out.SelectorError = compileSelector(l.AllowedRoutes.Namespaces.Selector)
		}
		if len(l.AllowedRoutes.Kinds) > 0 {
			// Only kinds that the implementation knows and the protocol can
			// carry are supported; a list of unknown kinds supports none
			// (conformance GatewayInvalidRouteKind), it does not fall back
			// to the protocol's defaults.
			out.kindsExplicit = true
			var listed kindSet
			for _, k := range l.AllowedRoutes.Kinds {
				if k.Group != nil && *k.Group != gatewayv1.GroupName {
					continue
				}
				listed |= kindBit(k.Kind)
			}
			out.kinds = listed & compatible
			return out
		}
	}
	out.kinds = compatible
	return out
}

// compileSelector parses a listener's namespace selector. A missing selector
// or one that does not parse selects nothing; it never panics.
func compileSelector(sel *metav1.LabelSelector) (labels.Selector, string, string) {
	if sel == nil {
		return nil, "", "from: Selector without a selector"
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, describeSelector(sel), "invalid selector: " + err.Error()
	}
	text := s.String()
	if text == "" {
		text = "{} (every namespace)"
	}
	return s, text, ""
}

// describeSelector writes a selector as the user wrote it, without parsing
// it, for selectors that do not parse.
func describeSelector(sel *metav1.LabelSelector) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(sel.MatchLabels)) {
		parts = append(parts, k+"="+sel.MatchLabels[k])
	}
	for _, e := range sel.MatchExpressions {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", e.Key, e.Operator, strings.Join(e.Values, ",")))
	}
	return strings.Join(parts, ",")
}

// AdmitsKind reports whether the listener admits routes of kind.
func (l *Listener) AdmitsKind(kind gatewayv1.Kind) bool { return l.kinds&kindBit(kind) != 0 }

// AdmitsNamespace reports whether the listener of a Gateway in gatewayNamespace
// admits routes from the namespace named ns with the given labels.
func (l *Listener) AdmitsNamespace(gatewayNamespace, ns string, nsLabels labels.Set) bool {
	switch l.From {
	case gatewayv1.NamespacesFromAll:
		return true
	case gatewayv1.NamespacesFromSame:
		return ns == gatewayNamespace
	case gatewayv1.NamespacesFromSelector:
		return l.Selector != nil && l.Selector.Matches(nsLabels)
	default: // None, or a value this version does not know: admit nothing.
		return false
	}
}

// SelectsOnLabels reports whether the listener admits namespaces by a label
// selector, as opposed to by name or not at all.
func (l *Listener) SelectsOnLabels() bool {
	return l.From == gatewayv1.NamespacesFromSelector && l.Selector != nil
}

// Listener returns the listener named name, or nil.
func (g *Gateway) Listener(name gatewayv1.SectionName) *Listener {
	for i := range g.Listeners {
		if g.Listeners[i].Name == name {
			return &g.Listeners[i]
		}
	}
	return nil
}

// String is namespace/name, as messages name a Gateway.
func (g *Gateway) String() string { return g.Namespace + "/" + g.Name }

// kindSet is a set of the route kinds the evaluator knows.
type kindSet uint8

const (
	kindSetHTTP kindSet = 1 << iota
	kindSetGRPC
	kindSetTLS
	kindSetTCP
	kindSetUDP
)

func kindBit(kind gatewayv1.Kind) kindSet {
	switch kind {
	case KindHTTPRoute:
		return kindSetHTTP
	case KindGRPCRoute:
		return kindSetGRPC
	case KindTLSRoute:
		return kindSetTLS
	case KindTCPRoute:
		return kindSetTCP
	case KindUDPRoute:
		return kindSetUDP
	}
	return 0
}

func (s kindSet) list() []gatewayv1.Kind {
	var out []gatewayv1.Kind
	for _, k := range RouteKinds {
		if s&kindBit(k) != 0 {
			out = append(out, k)
		}
	}
	return out
}

func (s kindSet) String() string {
	kinds := s.list()
	if len(kinds) == 0 {
		return "no route kind"
	}
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = string(k)
	}
	return strings.Join(parts, ", ")
}

// protocolKinds are the route kinds a listener's protocol can carry, which
// are also the kinds it admits when allowedRoutes.kinds is empty.
func protocolKinds(l *gatewayv1.Listener) kindSet {
	switch l.Protocol {
	case gatewayv1.HTTPProtocolType, gatewayv1.HTTPSProtocolType:
		return kindSetHTTP | kindSetGRPC
	case gatewayv1.TLSProtocolType:
		// A terminated TLS stream is plain TCP behind the Gateway.
		if l.TLS != nil && (l.TLS.Mode == nil || *l.TLS.Mode == gatewayv1.TLSModeTerminate) {
			return kindSetTLS | kindSetTCP
		}
		return kindSetTLS
	case gatewayv1.TCPProtocolType:
		return kindSetTCP
	case gatewayv1.UDPProtocolType:
		return kindSetUDP
	}
	return 0
}
