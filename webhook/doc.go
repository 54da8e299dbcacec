// Package webhook is gatewarden's admission glue: one validator per
// admission kind (routes, Namespaces), typed with controller-runtime's
// admission.Validator[T], and setup.go to register them with a manager.
//
// A validator reads what a route needs through pkg/cluster, asks
// pkg/attachment for the verdict, and turns it into an admission answer:
// allowed, allowed with warnings, or denied with field paths. It holds no
// attachment rule of its own.
package webhook
