package attachment

import (
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Grant is something a Namespace's labels newly let it reach on a Gateway:
// a listener's routes (allowedRoutes), or the Gateway itself for its
// ListenerSets (allowedListeners).
type Grant struct {
	Gateway *Gateway
	// Listener is the listener whose allowedRoutes selector newly admits
	// the namespace's routes; nil when it is the Gateway's allowedListeners
	// selector that newly admits the namespace's ListenerSets.
	Listener *Listener
}

// Selector is the selector of the rule that grants.
func (g *Grant) Selector() string {
	if g.Listener == nil {
		return g.Gateway.AllowedListeners.SelectorText
	}
	return g.Listener.Routes.SelectorText
}

// Grants returns what admits namespace ns with newLabels and did not with
// oldLabels (nil oldLabels: the Namespace is new): the listeners whose
// allowedRoutes selector, and the Gateways whose allowedListeners selector,
// newly admit it. Only selectors can be granted by a label change, and only
// Gateways gatewarden governs (enforcement not off) count. Removing access
// is never a grant.
func Grants(gateways []*Gateway, ns string, oldLabels, newLabels labels.Set) []Grant {
	after := NamespaceLabels(ns, newLabels)
	var before labels.Set
	if oldLabels != nil {
		before = NamespaceLabels(ns, oldLabels)
	}
	newly := func(rule *Namespaces) bool {
		return rule.From == gatewayv1.NamespacesFromSelector && rule.Admits(ns, after) && (before == nil || !rule.Admits(ns, before))
	}
	var out []Grant
	for _, gw := range gateways {
		if !gw.Governed() {
			continue
		}
		for i := range gw.Listeners {
			if l := &gw.Listeners[i]; newly(&l.Routes) {
				out = append(out, Grant{Gateway: gw, Listener: l})
			}
		}
		if newly(&gw.AllowedListeners) {
			out = append(out, Grant{Gateway: gw})
		}
	}
	return out
}
