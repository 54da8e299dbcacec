// Package doctor diagnoses why the API server cannot reach gatewarden's
// admission webhook, or why it would reject writes, for an operator on call.
//
// Each Check reads the cluster (through a controller-runtime client and the
// discovery API) and returns one Result: OK, WARN or FAIL, a one-line detail
// and, when not OK, the command or change that fixes it. The checks cover the
// Gateway API CRDs, the ValidatingWebhookConfiguration and its caBundle, the
// serving certificate (cert-manager's Certificate or the self-signed Secret)
// and the webhook Service's ready endpoints.
//
// It only reads: it must never change the cluster, even to repair what it
// finds, and it must not fail when it lacks the rights to read something
// (that check says so and the others go on). It holds no admission rule.
package doctor
