//go:build tools

// Package conformance only keeps the conformance module in go.mod: go mod
// tidy keeps a requirement while a package imports it, and this file is
// never built (the tools build tag).
package conformance

import _ "sigs.k8s.io/gateway-api/conformance"
