// Package certs gives the webhook server a serving certificate the API server
// trusts when cert-manager is not installed.
//
// SelfSigned keeps a small CA and a serving certificate for the webhook
// Service in one Secret, copies the serving pair into the directory the
// webhook server reads (controller-runtime's certwatcher reloads it), and
// writes the CA bundle into the caBundle of every webhook of the
// ValidatingWebhookConfiguration. Every replica runs it: the Secret is the
// one shared truth, written with optimistic concurrency, so replicas that
// start together converge on one CA instead of overwriting each other.
//
// It must not create or delete anything: the install creates the (empty)
// Secret and the ValidatingWebhookConfiguration, and RBAC lets the server only
// get, update and patch those two objects by name. It must not touch any
// field of the webhook configuration other than clientConfig.caBundle, and it
// must never put a certificate into service that the API server does not
// trust yet: a CA being replaced stays in the bundle until it expires.
//
// In cert-manager mode this package is not used; cert-manager issues the
// certificate and its cainjector fills caBundle.
package certs
