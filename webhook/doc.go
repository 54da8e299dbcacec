// Package webhook is gatewarden's admission glue: one validator per
// admission kind (routes, Namespaces, Gateways, ListenerSets), typed with
// controller-runtime's admission.Validator[T], and setup.go to register them
// with a manager.
//
// A validator reads what a route needs through pkg/cluster, asks
// pkg/attachment for the verdict, and turns it into an admission answer:
// allowed, allowed with warnings, or denied with field paths. It holds no
// attachment rule of its own.
//
// The route kinds, the hot path, are served by routeHandler
// (routehandler.go), which decodes each review in one pass into what the
// decision reads and ends in the same validator; what it cannot answer for
// sure goes to controller-runtime's handler of the typed validator.
package webhook
