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
// decided, why, and, for a rejection, how to fix it.

// maxListed bounds how many listeners or hostnames a message spells out, so
// that a Gateway with 64 listeners still gives a message kubectl prints whole.
const maxListed = 3

func msgAccepted(gw *Gateway, l *Listener) string {
	return "Accepted by Gateway " + gw.String() + " listener " + strconv.Quote(string(l.Name)) + "."
}

// msgPreexisting ends the warning for a rejection an update did not cause.
const msgPreexisting = "(Not denied: this update did not cause it.)"

func msgGatewayNotFound(ref ParentRef) string {
	return fmt.Sprintf("Gateway %s/%s was not found, so this parentRef could not be checked. "+
		"Check its name and namespace, or create the Gateway first.", ref.Namespace, ref.Name)
}

func msgNoMatchingParent(gw *Gateway, ref ParentRef) string {
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
	if len(gw.Listeners) == 0 {
		return fmt.Sprintf("Gateway %s has no listeners, so no listener %s. Ask the Gateway owner to add one.", gw, want)
	}
	names := make([]string, 0, len(gw.Listeners))
	for i := range gw.Listeners {
		l := &gw.Listeners[i]
		names = append(names, fmt.Sprintf("%q (port %d)", l.Name, l.Port))
	}
	return fmt.Sprintf("Gateway %s has no listener %s; its listeners are %s. %s", gw, want, listShort(names), fix)
}

func msgNotAllowed(gw *Gateway, ref ParentRef, route *Route, nsLabels labels.Set) string {
	var reasons []string
	var fix string
	for i := range gw.Listeners {
		l := &gw.Listeners[i]
		if !selects(ref, l) {
			continue
		}
		why, hint := whyNotAdmitted(gw, l, route, nsLabels)
		if why == "" {
			continue
		}
		if fix == "" {
			fix = hint
		}
		reasons = append(reasons, why)
	}
	return fmt.Sprintf("Gateway %s %s. %s", gw, listShortSep(reasons, "; "), fix)
}

// whyNotAdmitted explains why listener l does not admit the route's kind or
// namespace, with a hint for the fix, or returns "" when it admits both.
func whyNotAdmitted(gw *Gateway, l *Listener, route *Route, nsLabels labels.Set) (why, hint string) {
	name := strconv.Quote(string(l.Name))
	if !l.AdmitsKind(route.Kind) {
		if l.kinds == 0 {
			if l.kindsExplicit {
				return fmt.Sprintf("listener %s accepts no route kind: its allowedRoutes.kinds names none that a %s listener carries", name, l.Protocol),
					"Ask the Gateway owner to fix allowedRoutes.kinds of listener " + name + "."
			}
			return fmt.Sprintf("listener %s accepts no route kind over protocol %q", name, l.Protocol),
				"Target a listener whose protocol carries " + string(route.Kind) + "."
		}
		return fmt.Sprintf("listener %s accepts only %s, not %s", name, l.kinds, route.Kind),
			fmt.Sprintf("Target a listener that accepts %s, or ask the Gateway owner to allow it.", route.Kind)
	}
	if l.AdmitsNamespace(gw.Namespace, route.Namespace, nsLabels) {
		return "", ""
	}
	ns := strconv.Quote(route.Namespace)
	switch l.From {
	case gatewayv1.NamespacesFromSame:
		return fmt.Sprintf("listener %s accepts routes only from its own namespace %q", name, gw.Namespace),
			fmt.Sprintf("Create the route in namespace %q, or ask the Gateway owner to allow namespace %s.", gw.Namespace, route.Namespace)
	case gatewayv1.NamespacesFromSelector:
		if l.Selector == nil {
			return fmt.Sprintf("listener %s accepts routes from no namespace (%s)", name, l.SelectorError),
				"Ask the Gateway owner to fix allowedRoutes.namespaces.selector of listener " + name + "."
		}
		return fmt.Sprintf("listener %s accepts routes only from namespaces matching %s; namespace %s does not match", name, l.SelectorText, ns),
			fmt.Sprintf("Ask the Gateway owner to allow it, or label namespace %s to match.", route.Namespace)
	case gatewayv1.NamespacesFromNone:
		return fmt.Sprintf("listener %s accepts routes from no namespace (from: None)", name),
			"Target another listener, or ask the Gateway owner to allow namespace " + route.Namespace + "."
	default:
		return fmt.Sprintf("listener %s has allowedRoutes.namespaces.from %q, which gatewarden does not know, so it accepts no route", name, l.From),
			"Ask the Gateway owner to set from to All, Same or Selector."
	}
}

func msgNoHostname(gw *Gateway, ref ParentRef, route *Route, nsLabels labels.Set) string {
	var listeners []string
	for i := range gw.Listeners {
		l := &gw.Listeners[i]
		if selects(ref, l) && l.AdmitsKind(route.Kind) && l.AdmitsNamespace(gw.Namespace, route.Namespace, nsLabels) {
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
	return fmt.Sprintf("Gateway %s %s would accept this route, but none of its hostnames (%s) matches. "+
		"Add a hostname the listener serves to spec.hostnames, or target another listener.", gw, what, listShort(hosts))
}

func msgRefNotPermitted(route *Route, t refTarget) string {
	what := string(t.Kind)
	if t.Group != "" {
		what += "." + string(t.Group)
	}
	return fmt.Sprintf("%s %s/%s is in another namespace and no ReferenceGrant in %q allows %s from %q to use it, so it gets no traffic. "+
		"Ask the owners of %q to create one.", what, t.Namespace, t.Name, t.Namespace, route.Kind, route.Namespace, t.Namespace)
}

// listShort joins up to maxListed items and counts the rest.
func listShort(items []string) string { return listShortSep(items, ", ") }

func listShortSep(items []string, sep string) string {
	if len(items) <= maxListed {
		return strings.Join(items, sep)
	}
	return strings.Join(items[:maxListed], sep) + fmt.Sprintf("%sand %d more", sep, len(items)-maxListed)
}
