// Package cluster is the one place where gatewarden reads the cluster for the
// evaluator: which route kinds exist, the cache indexes and transforms, and
// Reader, which gathers the Gateways, Namespaces and ReferenceGrants a route
// needs from the manager's cache and confirms them with live reads before a
// rejection. Snapshot lists, page by page, everything `check --cluster`
// evaluates, trimmed as the cache trims it.
//
// The webhook and the status reconciler both read through it, so they see
// the same objects. It holds no attachment rule: those are pkg/attachment's.
package cluster
