// Package attachment decides whether a Gateway API route would attach to the
// Gateways it names, exactly as the Gateway API specification defines it.
//
// It is the one evaluator that the admission webhook, the status reconciler
// and the offline `gatewarden check` command all ask, so that they can never
// disagree. It is pure: a Route and the Objects it may look up go in, a
// RouteResult comes out. It must not import a Kubernetes client, admission
// types, an HTTP stack or a logger; everything that reads the cluster or
// files lives around it.
//
// The rules it implements, with their sources in the gateway-api repository:
//   - parentRef defaults (apis/v1/shared_types.go): group
//     gateway.networking.k8s.io, kind Gateway, namespace = the route's.
//     parentRefs to any other kind are not Gateways and are skipped.
//   - listener selection by sectionName and port; nothing selected is
//     NoMatchingParent.
//   - allowedRoutes (apis/v1/gateway_types.go): namespaces All, Same (the
//     default), Selector (on the labels of the route's Namespace) and None;
//     kinds, defaulted from the listener protocol when empty.
//   - hostname intersection between the listener and the route.
//   - A parentRef is Accepted when at least one selected listener passes
//     kind, namespace and hostname together. Otherwise the reason is
//     NotAllowedByListeners when no selected listener admits the route's
//     kind and namespace, and NoMatchingListenerHostname when some do but
//     none shares a hostname with the route.
//   - ReferenceGrant for cross-namespace backendRefs: a missing grant is
//     RefNotPermitted on ResolvedRefs, never a rejection of the parentRef.
package attachment
