package attachment

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Every message the evaluator writes is made here, so that the wording is
// reviewed in one place and tests can assert on it. A message says what was
// decided, why, and, for a rejection, how to fix it. Parents are named with
// their kind ("Gateway infra-ns/shared-gateway", "ListenerSet
// careers/careers-listeners"), so the same message serves both.

// maxListed bounds how many listeners or hostnames a message spells out, so
// that a Gateway with 64 listeners still gives a message kubectl prints whole.
const maxListed = 3

func msgAccepted(p *Parent, l *Listener) string {
	return "Accepted by " + p.String() + " listener " + strconv.Quote(string(l.Name)) + "."
}

// msgPreexisting ends the warning for a rejection an update did not cause.
const msgPreexisting = "(Not denied: this update did not cause it.)"

// owner is who can change a parent's listeners.
func owner(p *Parent) string { return string(p.Kind) + " owner" }

func msgParentNotFound(ref ParentRef) string {
	return fmt.Sprintf("%s was not found, so this parentRef could not be checked. "+
		"Check its name and namespace, or create the %s first.", ref.Key(), ref.Kind)
}

// msgParentNotAttachedYet is for a route to a ListenerSet whose Gateway is
// not known.
func msgParentNotAttachedYet(p *Parent) string {
	return p.Attachment.Message
}

// msgParentNotAttached is for a route to a ListenerSet its Gateway does not
// accept: it has no listener on the Gateway.
func msgParentNotAttached(p *Parent) string {
	return fmt.Sprintf("%s is not accepted by its Gateway, so no route can attach to it: %s", p, p.Attachment.Message)
}

func msgNoMatchingParent(p *Parent, ref ParentRef) string {
	var want, fix string
	switch {
	case ref.SectionName != "" && ref.Port != 0:
		want = fmt.Sprintf("named %q on port %d", ref.SectionName, ref.Port)
		fix = "Set sectionName and port to those of one listener."
	case ref.SectionName != "":
		want = fmt.Sprintf("named %q", ref.SectionName)
		fix = "Set sectionName to one of them, or remove it to use every listener."
	default:
		want = fmt.Sprintf("on port %d", ref.Port)
		fix = "Set port to one of theirs, or remove it to use every listener."
	}
	if len(p.Listeners) == 0 {
		return fmt.Sprintf("%s has no listeners, so no listener %s. Ask the %s to add one.", p, want, owner(p))
	}
	names := make([]string, 0, len(p.Listeners))
	for i := range p.Listeners {
		l := &p.Listeners[i]
		names = append(names, fmt.Sprintf("%q (port %d)", l.Name, l.Port))
	}
	return fmt.Sprintf("%s has no listener %s; its listeners are %s. %s", p, want, listShort(names), fix)
}

func msgNotAllowed(p *Parent, ref ParentRef, route *Route, nsLabels labels.Set) string {
	var reasons []string
	var fix string
	for i := range p.Listeners {
		l := &p.Listeners[i]
		if !selects(ref, l) {
			continue
		}
		why, hint := whyNotAdmitted(p, l, route, nsLabels)
		if why == "" {
			continue
		}
		if fix == "" {
			fix = hint
		}
		reasons = append(reasons, why)
	}
	return fmt.Sprintf("%s %s. %s", p, listShortSep(reasons, "; "), fix)
}

// whyNotAdmitted explains why listener l does not admit the route's kind or
// namespace, with a hint for the fix, or returns "" when it admits both.
func whyNotAdmitted(p *Parent, l *Listener, route *Route, nsLabels labels.Set) (why, hint string) {
	name := strconv.Quote(string(l.Name))
	switch {
	case l.Conflict != nil:
		return fmt.Sprintf("listener %s conflicts with %s listener %q (%s), which takes precedence, so it accepts no route",
				name, l.Conflict.Parent, l.Conflict.Listener, l.Conflict.Reason),
			fmt.Sprintf("Ask the %s to give listener %s a port or hostname of its own.", owner(p), name)
	case l.Invalid != nil:
		return fmt.Sprintf("listener %s cannot be used: %s", name, whyInvalid(p, l.Invalid)),
			fmt.Sprintf("Ask the owners of namespace %q for a ReferenceGrant from %s %q.", l.Invalid.Namespace, p.Kind, p.Namespace)
	}
	if !l.AdmitsKind(route.Kind) {
		if l.kinds == 0 {
			if l.kindsExplicit {
				return fmt.Sprintf("listener %s accepts no route kind: its allowedRoutes.kinds names none that a %s listener carries", name, l.Protocol),
					fmt.Sprintf("Ask the %s to fix allowedRoutes.kinds of listener %s.", owner(p), name)
			}
			return fmt.Sprintf("listener %s accepts no route kind over protocol %q", name, l.Protocol),
				"Target a listener whose protocol carries " + string(route.Kind) + "."
		}
		return fmt.Sprintf("listener %s accepts only %s, not %s", name, l.kinds, route.Kind),
			fmt.Sprintf("Target a listener that accepts %s, or ask the %s to allow it.", route.Kind, owner(p))
	}
	if l.AdmitsNamespace(route.Namespace, nsLabels) {
		return "", ""
	}
	ns := strconv.Quote(route.Namespace)
	rule := &l.Routes
	switch rule.From {
	case gatewayv1.NamespacesFromSame:
		return fmt.Sprintf("listener %s accepts routes only from its own namespace %q", name, rule.Same),
			fmt.Sprintf("Create the route in namespace %q, or ask the %s to allow namespace %s.", rule.Same, owner(p), route.Namespace)
	case gatewayv1.NamespacesFromSelector:
		if rule.Selector == nil {
			return fmt.Sprintf("listener %s accepts routes from no namespace (%s)", name, rule.SelectorError),
				fmt.Sprintf("Ask the %s to fix allowedRoutes.namespaces.selector of listener %s.", owner(p), name)
		}
		return fmt.Sprintf("listener %s accepts routes only from namespaces matching %s; namespace %s does not match", name, rule.SelectorText, ns),
			fmt.Sprintf("Ask the %s to allow it, or label namespace %s to match.", owner(p), route.Namespace)
	case gatewayv1.NamespacesFromNone:
		return fmt.Sprintf("listener %s accepts routes from no namespace (from: None)", name),
			fmt.Sprintf("Target another listener, or ask the %s to allow namespace %s.", owner(p), route.Namespace)
	default:
		return fmt.Sprintf("listener %s has allowedRoutes.namespaces.from %q, which gatewarden does not know, so it accepts no route", name, rule.From),
			fmt.Sprintf("Ask the %s to set from to All, Same or Selector.", owner(p))
	}
}

func whyInvalid(p *Parent, r *InvalidRef) string {
	return fmt.Sprintf("its tls.certificateRefs[%d] names Secret %s/%s in another namespace, and no ReferenceGrant there lets %s from %q use it",
		r.Index, r.Namespace, r.Name, p.Kind, p.Namespace)
}

func msgNoHostname(p *Parent, ref ParentRef, route *Route, nsLabels labels.Set) string {
	var listeners []string
	for i := range p.Listeners {
		l := &p.Listeners[i]
		if selects(ref, l) && l.Usable() && l.AdmitsKind(route.Kind) && l.AdmitsNamespace(route.Namespace, nsLabels) {
			listeners = append(listeners, fmt.Sprintf("%q (%s)", l.Name, l.Hostname))
		}
	}
	hosts := make([]string, len(route.Hostnames))
	for i, h := range route.Hostnames {
		hosts[i] = string(h)
	}
	what := "listener " + listeners[0]
	if len(listeners) > 1 {
		what = "listeners " + listShort(listeners)
	}
	return fmt.Sprintf("%s %s would accept this route, but none of its hostnames (%s) matches. "+
		"Add a hostname the listener serves to spec.hostnames, or target another listener.", p, what, listShort(hosts))
}

func msgRefNotPermitted(route *Route, t refTarget) string {
	what := string(t.Kind)
	if t.Group != "" {
		what += "." + string(t.Group)
	}
	return fmt.Sprintf("%s %s/%s is in another namespace and no ReferenceGrant in %q allows %s from %q to use it, so it gets no traffic. "+
		"Ask the owners of %q to create one.", what, t.Namespace, t.Name, t.Namespace, route.Kind, route.Namespace, t.Namespace)
}

// The messages of a ListenerSet's own Attachment.

func msgListenerSetAccepted(ls *ListenerSet) string {
	return "Accepted by " + ls.Gateway.String() + "."
}

func msgListenerSetGatewayNotFound(ls *ListenerSet) string {
	if !ls.NamesGateway() {
		return fmt.Sprintf("spec.parentRef names %s %s/%s, which is not a Gateway, so %s could not be checked.",
			ls.GatewayRef.Kind, ls.GatewayRef.Namespace, ls.GatewayRef.Name, ls.ParentKey)
	}
	return fmt.Sprintf("%s was not found, so %s could not be checked. Check spec.parentRef, or create the Gateway first.",
		ls.GatewayRef.Key(), ls.ParentKey)
}

func msgListenerSetNotAllowed(gw *Gateway, ls *ListenerSet) string {
	rule := &gw.AllowedListeners
	ns := ls.Namespace
	switch rule.From {
	case gatewayv1.NamespacesFromNone:
		return fmt.Sprintf("%s accepts no ListenerSets (spec.allowedListeners.namespaces.from is None, the default). "+
			"Ask the Gateway owner to allow namespace %s.", gw, ns)
	case gatewayv1.NamespacesFromSame:
		return fmt.Sprintf("%s accepts ListenerSets only from its own namespace %q. "+
			"Create the ListenerSet there, or ask the Gateway owner to allow namespace %s.", gw, rule.Same, ns)
	case gatewayv1.NamespacesFromSelector:
		if rule.Selector == nil {
			return fmt.Sprintf("%s accepts ListenerSets from no namespace (%s). "+
				"Ask the Gateway owner to fix spec.allowedListeners.namespaces.selector.", gw, rule.SelectorError)
		}
		return fmt.Sprintf("%s accepts ListenerSets only from namespaces matching %s; namespace %q does not match. "+
			"Ask the Gateway owner to allow it, or label namespace %s to match.", gw, rule.SelectorText, ns, ns)
	default:
		return fmt.Sprintf("%s has spec.allowedListeners.namespaces.from %q, which gatewarden does not know, so it accepts no ListenerSet. "+
			"Ask the Gateway owner to set from to All, Same, Selector or None.", gw, rule.From)
	}
}

func msgListenersNotValid(ls *ListenerSet) string {
	var reasons []string
	for i := range ls.Listeners {
		reasons = append(reasons, whyUnusable(&ls.Parent, &ls.Listeners[i]))
	}
	return fmt.Sprintf("None of the listeners of %s can be used: %s. Give them ports or hostnames of their own, or fix their references.",
		ls.ParentKey, listShortSep(reasons, "; "))
}

// whyUnusable says why a Conflicted or invalid listener accepts no route.
func whyUnusable(p *Parent, l *Listener) string {
	if l.Conflict != nil {
		return fmt.Sprintf("listener %q conflicts with %s listener %q (%s)", l.Name, l.Conflict.Parent, l.Conflict.Listener, l.Conflict.Reason)
	}
	if l.Invalid != nil {
		return fmt.Sprintf("listener %q cannot be used: %s", l.Name, whyInvalid(p, l.Invalid))
	}
	return ""
}

// msgListenerConflict is the warning for one Conflicted listener of a
// ListenerSet: which listener takes precedence, and what to do.
func msgListenerConflict(l *Listener) string {
	return fmt.Sprintf("listener %q conflicts with %s listener %q (%s), which takes precedence: it accepts no route. "+
		"Give it a port or hostname of its own.", l.Name, l.Conflict.Parent, l.Conflict.Listener, l.Conflict.Reason)
}

func msgInvalidRouteKinds(l *Listener) string {
	return fmt.Sprintf("listener %q accepts no route (InvalidRouteKinds): its allowedRoutes.kinds names none that a %s listener carries. List %s.",
		l.Name, l.Protocol, l.carries)
}

func msgListenerInvalid(p *Parent, l *Listener) string {
	return fmt.Sprintf("listener %q accepts no route: %s. Ask the owners of namespace %q for a ReferenceGrant from %s %q.",
		l.Name, whyInvalid(p, l.Invalid), l.Invalid.Namespace, p.Kind, p.Namespace)
}

// listShort joins up to maxListed items and counts the rest.
func listShort(items []string) string { return listShortSep(items, ", ") }

func listShortSep(items []string, sep string) string {
	if len(items) <= maxListed {
		return strings.Join(items, sep)
	}
	return strings.Join(items[:maxListed], sep) + fmt.Sprintf("%sand %d more", sep, len(items)-maxListed)
}
