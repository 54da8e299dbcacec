package attachment

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Gateway is a Gateway prepared for evaluation: defaults applied and label
// selectors parsed once, so that evaluating a route does no parsing.
type Gateway struct {
	// Parent holds the Gateway's own listeners; its Gateway is the Gateway
	// itself.
	Parent
	// Enforcement is the Gateway's gatewarden.dev/enforcement annotation,
	// or "" when it has none or the value is not a Mode. It governs the
	// routes attached to the Gateway and to its ListenerSets, and the
	// ListenerSets themselves.
	Enforcement Mode
	// EnforcementInvalid holds an annotation value that is not a Mode.
	EnforcementInvalid string
	// AllowedListeners is spec.allowedListeners.namespaces: the namespaces
	// whose ListenerSets may attach. From is None when it is absent.
	AllowedListeners Namespaces
}

// NewGateway prepares a Gateway for evaluation. It never fails: whatever the
// Gateway says that cannot be used (an unparseable selector, an unknown
// kind) makes it admit less, exactly as an implementation would.
func NewGateway(gw *gatewayv1.Gateway) *Gateway {
	g := &Gateway{
		Parent: Parent{
			ParentKey:  GatewayKey(gw.Namespace, gw.Name),
			Listeners:  make([]Listener, len(gw.Spec.Listeners)),
			Attachment: attached,
		},
	}
	g.Gateway = g
	if v, ok := gw.Annotations[EnforcementAnnotation]; ok {
		if m, err := ParseMode(v); err == nil {
			g.Enforcement = m
		} else {
			g.EnforcementInvalid = v
		}
	}
	for i := range gw.Spec.Listeners {
		entry := gatewayv1.ListenerEntry(gw.Spec.Listeners[i])
		g.Listeners[i] = newListener(&entry, gw.Namespace)
	}
	// allowedListeners defaults to None, also when it is absent.
	g.AllowedListeners = newNamespaces(nil, nil, gatewayv1.NamespacesFromNone, gw.Namespace)
	if al := gw.Spec.AllowedListeners; al != nil && al.Namespaces != nil {
		g.AllowedListeners = newNamespaces(al.Namespaces.From, al.Namespaces.Selector, gatewayv1.NamespacesFromNone, gw.Namespace)
	}
	return g
}

// Governed reports whether gatewarden judges what attaches to the Gateway:
// not when its annotation turns enforcement off.
func (g *Gateway) Governed() bool { return g != nil && g.Enforcement != ModeOff }
