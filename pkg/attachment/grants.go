package attachment

import (
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Grant is a Gateway listener that a Namespace's labels newly let it reach.
type Grant struct {
	Gateway  *Gateway
	Listener *Listener
}

// Grants returns the listeners that admit namespace ns with newLabels and
// did not with oldLabels (nil oldLabels: the Namespace is new). Only
// listeners that select namespaces by label can be granted by a label
// change, and only Gateways gatewarden governs (enforcement not off) count.
// Removing access is never a grant.
func Grants(gateways []*Gateway, ns string, oldLabels, newLabels labels.Set) []Grant {
	after := NamespaceLabels(ns, newLabels)
	var before labels.Set
	if oldLabels != nil {
		before = NamespaceLabels(ns, oldLabels)
	}
	var out []Grant
	for _, gw := range gateways {
		if gw.Enforcement == ModeOff {
			continue
		}
		for i := range gw.Listeners {
			l := &gw.Listeners[i]
			if l.From != gatewayv1.NamespacesFromSelector || !l.AdmitsNamespace(gw.Namespace, ns, after) {
				continue
			}
			if before != nil && l.AdmitsNamespace(gw.Namespace, ns, before) {
				continue
			}
			out = append(out, Grant{Gateway: gw, Listener: l})
		}
	}
	return out
}
