package attachment

import (
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// hostnamesIntersect reports whether a listener whose hostname is
// listenerHost ("" for any) serves at least one of the route's hostnames.
// A route without hostnames matches every listener.
func hostnamesIntersect(listenerHost string, routeHosts []gatewayv1.Hostname) bool {
	if listenerHost == "" || len(routeHosts) == 0 {
		return true
	}
	for _, h := range routeHosts {
		if HostnamesIntersect(listenerHost, string(h)) {
			return true
		}
	}
	return false
}

// HostnamesIntersect reports whether two hostnames, either of which may be a
// wildcard, have a host name in common. A wildcard "*.example.com" matches
// "a.example.com" and "a.b.example.com" but never "example.com"; two
// wildcards intersect when one's suffix contains the other's.
func HostnamesIntersect(a, b string) bool {
	if a == b {
		return true
	}
	aWild, bWild := strings.HasPrefix(a, "*."), strings.HasPrefix(b, "*.")
	switch {
	case aWild && bWild:
		// Compare the suffixes with their leading dot: "*.com" and
		// "*.example.com" share "x.example.com".
		return strings.HasSuffix(a[1:], b[1:]) || strings.HasSuffix(b[1:], a[1:])
	case aWild:
		return strings.HasSuffix(b, a[1:])
	case bWild:
		return strings.HasSuffix(a, b[1:])
	}
	return false
}
