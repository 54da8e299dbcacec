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

// Listener is one listener of a Gateway or of a ListenerSet, with its
// allowedRoutes resolved. Both listener types of the API (Listener and
// ListenerEntry) become this one model, so that routes are judged by the
// same code whichever kind of parent they name.
type Listener struct {
	Name     gatewayv1.SectionName
	Port     gatewayv1.PortNumber
	Protocol gatewayv1.ProtocolType
	// Hostname is "" when the listener matches every hostname.
	Hostname string
	// Routes is allowedRoutes.namespaces, defaulted to Same, where Same is
	// the namespace of the Gateway or ListenerSet that declares the listener.
	Routes Namespaces
	// Conflict, when set, says which listener that takes precedence serves
	// the same traffic: this one is Conflicted and accepts no route. Only a
	// ListenerSet's listeners can be conflicted.
	Conflict *Conflict
	// Invalid, when set, says why the listener accepts no route: a TLS
	// certificateRef its ListenerSet may not use.
	Invalid *InvalidRef

	// kinds are the route kinds the listener admits (its supportedKinds).
	kinds kindSet
	// kindsExplicit records that allowedRoutes.kinds was set, and carries
	// the kinds its protocol can carry, for messages.
	kindsExplicit bool
	carries       kindSet
	// certificateRefs are the TLS certificateRefs, checked against
	// ReferenceGrants for a ListenerSet's listeners.
	certificateRefs []gatewayv1.SecretObjectReference
}

// Conflict is the listener a Conflicted listener loses to.
type Conflict struct {
	// Reason is HostnameConflict or ProtocolConflict.
	Reason gatewayv1.ListenerConditionReason
	// Parent and Listener name the listener that takes precedence.
	Parent   ParentKey
	Listener gatewayv1.SectionName
}

// InvalidRef is a certificateRef into another namespace that no
// ReferenceGrant there lets the ListenerSet use.
type InvalidRef struct {
	// Index is the position in tls.certificateRefs.
	Index     int
	Namespace string
	Name      gatewayv1.ObjectName
}

// Usable reports whether the listener can accept routes at all: it is not
// conflicted and its references resolve.
func (l *Listener) Usable() bool { return l.Conflict == nil && l.Invalid == nil }

// newListener prepares a listener declared in namespace owner. It never
// fails: whatever cannot be used (an unparseable selector, an unknown kind)
// makes the listener admit less, exactly as an implementation would.
//
// A Gateway's Listener converts into the ListenerEntry of a ListenerSet:
// they have the same fields.
func newListener(s *gatewayv1.ListenerEntry, owner string) Listener {
	out := Listener{Name: s.Name, Port: s.Port, Protocol: s.Protocol}
	if s.Hostname != nil {
		out.Hostname = string(*s.Hostname)
	}
	if s.TLS != nil {
		out.certificateRefs = s.TLS.CertificateRefs
	}
	out.Routes = newNamespaces(nil, nil, gatewayv1.NamespacesFromSame, owner)
	if s.AllowedRoutes != nil && s.AllowedRoutes.Namespaces != nil {
		out.Routes = newNamespaces(s.AllowedRoutes.Namespaces.From, s.AllowedRoutes.Namespaces.Selector, gatewayv1.NamespacesFromSame, owner)
	}
	compatible := protocolKinds(s.Protocol, s.TLS)
	out.carries = compatible
	if s.AllowedRoutes == nil || len(s.AllowedRoutes.Kinds) == 0 {
		out.kinds = compatible
		return out
	}
	// Only kinds that the implementation knows and the protocol can carry
	// are supported; a list of unknown kinds supports none (conformance
	// GatewayInvalidRouteKind), it does not fall back to the protocol's
	// defaults.
	out.kindsExplicit = true
	var listed kindSet
	for _, k := range s.AllowedRoutes.Kinds {
		if k.Group != nil && *k.Group != gatewayv1.GroupName {
			continue
		}
		listed |= kindBit(k.Kind)
	}
	out.kinds = listed & compatible
	return out
}

// CertificateNamespaces are the namespaces, other than that of the object
// that declares the listener, its TLS certificateRefs point into.
func (l *Listener) CertificateNamespaces() []string {
	var out []string
	for _, ref := range l.certificateRefs {
		if ref.Namespace != nil && *ref.Namespace != "" && string(*ref.Namespace) != l.Routes.Same && !slices.Contains(out, string(*ref.Namespace)) {
			out = append(out, string(*ref.Namespace))
		}
	}
	return out
}

// AdmitsKind reports whether the listener admits routes of kind.
func (l *Listener) AdmitsKind(kind gatewayv1.Kind) bool { return l.kinds&kindBit(kind) != 0 }

// AdmitsNamespace reports whether the listener admits routes from the
// namespace named ns with the given labels.
func (l *Listener) AdmitsNamespace(ns string, nsLabels labels.Set) bool {
	return l.Routes.Admits(ns, nsLabels)
}

// Namespaces is a namespaces rule of the API, {from, selector}, with its
// default applied and its selector parsed once: a listener's
// allowedRoutes.namespaces (which namespaces' routes it accepts) or a
// Gateway's allowedListeners.namespaces (which namespaces' ListenerSets it
// accepts). One implementation judges both.
type Namespaces struct {
	From gatewayv1.FromNamespaces
	// Same is the namespace From: Same admits: that of the object that
	// declares the rule.
	Same string
	// Selector is the parsed selector. It is nil when From is Selector but
	// the selector is missing or does not parse: such a rule admits no
	// namespace.
	Selector labels.Selector
	// SelectorText is the selector as written, for messages.
	SelectorText string
	// SelectorError says why Selector is nil when From is Selector.
	SelectorError string
}

func newNamespaces(from *gatewayv1.FromNamespaces, sel *metav1.LabelSelector, def gatewayv1.FromNamespaces, same string) Namespaces {
	n := Namespaces{From: def, Same: same}
	if from != nil {
		n.From = *from
	}
	if n.From == gatewayv1.NamespacesFromSelector {
		n.Selector, n.SelectorText, n.SelectorError = compileSelector(sel)
	}
	return n
}

// Admits reports whether the rule admits the namespace named ns with the
// given labels.
func (n *Namespaces) Admits(ns string, nsLabels labels.Set) bool {
	switch n.From {
	case gatewayv1.NamespacesFromAll:
		return true
	case gatewayv1.NamespacesFromSame:
		return ns == n.Same
	case gatewayv1.NamespacesFromSelector:
		return n.Selector != nil && n.Selector.Matches(nsLabels)
	default: // None, or a value this version does not know: admit nothing.
		return false
	}
}

// SelectsOnLabels reports whether the rule admits namespaces by a label
// selector, as opposed to by name or not at all.
func (n *Namespaces) SelectsOnLabels() bool {
	return n.From == gatewayv1.NamespacesFromSelector && n.Selector != nil
}

// compileSelector parses a namespace selector. A missing selector or one
// that does not parse selects nothing; it never panics.
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

// kindSet is a set of the route kinds the evaluator knows.
type kindSet uint8

func (s kindSet) list() []gatewayv1.Kind {
	var out []gatewayv1.Kind
	for i := range RouteTypes {
		if s&RouteTypes[i].bit != 0 {
			out = append(out, RouteTypes[i].Kind)
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
func protocolKinds(protocol gatewayv1.ProtocolType, tls *gatewayv1.ListenerTLSConfig) kindSet {
	switch protocol {
	case gatewayv1.HTTPProtocolType, gatewayv1.HTTPSProtocolType:
		return kindBit(KindHTTPRoute) | kindBit(KindGRPCRoute)
	case gatewayv1.TLSProtocolType:
		// A terminated TLS stream is plain TCP behind the Gateway.
		if tls != nil && (tls.Mode == nil || *tls.Mode == gatewayv1.TLSModeTerminate) {
			return kindBit(KindTLSRoute) | kindBit(KindTCPRoute)
		}
		return kindBit(KindTLSRoute)
	case gatewayv1.TCPProtocolType:
		return kindBit(KindTCPRoute)
	case gatewayv1.UDPProtocolType:
		return kindBit(KindUDPRoute)
	}
	return 0
}
