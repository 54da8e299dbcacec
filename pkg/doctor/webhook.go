package doctor

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

const (
	nameWebhookConfig   = "webhook-config"
	nameFailurePolicy   = "failure-policy"
	nameMatchConditions = "match-conditions"
)

// WebhookConfiguration checks that the ValidatingWebhookConfiguration
// exists, that every webhook carries a caBundle that parses, and that the
// webhooks call the Service the other checks examine.
func WebhookConfiguration(ctx context.Context, e *Env) Result {
	vwc, err := e.webhookConfig(ctx)
	if apierrors.IsNotFound(err) {
		return fail(nameWebhookConfig, fmt.Sprintf("ValidatingWebhookConfiguration %s not found: nothing is validated", e.WebhookConfigName),
			e.fixReinstall("ValidatingWebhookConfiguration "+e.WebhookConfigName))
	}
	if err != nil {
		return unreadable(nameWebhookConfig, err)
	}
	if len(vwc.Webhooks) == 0 {
		return fail(nameWebhookConfig, fmt.Sprintf("ValidatingWebhookConfiguration %s has no webhooks", e.WebhookConfigName),
			e.fixReinstall("each webhook"))
	}

	var empty, unparsable, elsewhere []string
	var cas []*x509.Certificate
	for i := range vwc.Webhooks {
		wh := &vwc.Webhooks[i]
		if svc := wh.ClientConfig.Service; svc == nil || svc.Namespace != e.Namespace || svc.Name != e.ServiceName {
			elsewhere = append(elsewhere, wh.Name+" calls "+target(wh.ClientConfig))
		}
		if len(wh.ClientConfig.CABundle) == 0 {
			empty = append(empty, wh.Name)
			continue
		}
		certs, err := parseBundle(wh.ClientConfig.CABundle)
		if err != nil {
			unparsable = append(unparsable, wh.Name+" ("+err.Error()+")")
			continue
		}
		if cas == nil {
			cas = certs
		}
	}

	var src certSource
	if len(empty) > 0 || len(unparsable) > 0 {
		// Only to word the fix: who fills caBundle depends on the mode.
		src, _ = e.certSource(ctx)
	}
	switch {
	case len(empty) > 0:
		return fail(nameWebhookConfig, fmt.Sprintf("empty caBundle in %d of %d webhooks (%s): the API server cannot trust the webhook, every call fails",
			len(empty), len(vwc.Webhooks), strings.Join(empty, ", ")), e.fixCABundle(src))
	case len(unparsable) > 0:
		return fail(nameWebhookConfig, "caBundle is not PEM certificates in "+strings.Join(unparsable, ", "), e.fixCABundle(src))
	case len(elsewhere) > 0:
		return warn(nameWebhookConfig, "webhooks call another Service than the one checked here: "+strings.Join(elsewhere, "; "),
			"pass the --namespace and --service-name the webhooks call, or reinstall the chart")
	}
	detail := fmt.Sprintf("%d webhooks call Service %s/%s; caBundle: %s", len(vwc.Webhooks), e.Namespace, e.ServiceName, describeCAs(cas))
	if from := vwc.Annotations[cmv1.WantInjectAnnotation]; from != "" {
		detail += ", injected by cert-manager from Certificate " + from
	}
	return ok(nameWebhookConfig, detail)
}

// FailurePolicy reports what the API server does when gatewarden cannot be
// reached: with Fail it rejects the writes the webhooks cover, which is the
// outage an operator is most likely debugging, so the fix is the escape hatch.
func FailurePolicy(ctx context.Context, e *Env) Result {
	vwc, err := e.webhookConfig(ctx)
	if apierrors.IsNotFound(err) {
		return warn(nameFailurePolicy, "not checked: no ValidatingWebhookConfiguration", "see "+nameWebhookConfig)
	}
	if err != nil {
		return unreadable(nameFailurePolicy, err)
	}
	var failing []int
	var names []string
	for i := range vwc.Webhooks {
		wh := &vwc.Webhooks[i]
		if failsClosed(wh) {
			failing = append(failing, i)
			names = append(names, strings.TrimSuffix(wh.Name, ".gatewarden.dev"))
		}
	}
	ready, _, err := e.endpoints(ctx)
	if err != nil {
		return unreadable(nameFailurePolicy, err)
	}
	total := len(vwc.Webhooks)
	switch {
	case len(failing) == 0 && ready == 0:
		return warn(nameFailurePolicy, fmt.Sprintf("Ignore on all %d webhooks and no ready endpoint: writes are admitted unchecked now", total),
			"see service")
	case len(failing) == 0:
		return ok(nameFailurePolicy, fmt.Sprintf("Ignore on all %d webhooks: writes are admitted unchecked whenever gatewarden is down", total))
	case ready == 0:
		return fail(nameFailurePolicy, fmt.Sprintf("Fail on %d of %d webhooks (%s) and no ready endpoint: the API server rejects these writes now",
			len(failing), total, strings.Join(names, ", ")),
			"bring gatewarden back (see service); meanwhile, to let writes through unchecked: "+e.escapeHatch(failing))
	}
	which := fmt.Sprintf("all %d webhooks", total)
	if len(failing) < total {
		which = fmt.Sprintf("%d of %d webhooks (%s)", len(failing), total, strings.Join(names, ", "))
	}
	return ok(nameFailurePolicy, fmt.Sprintf("Fail on %s: their writes are rejected whenever gatewarden is down "+
		"(escape hatch: kubectl delete validatingwebhookconfiguration %s)", which, e.WebhookConfigName))
}

// MatchConditions reports whether the webhooks send gatewarden only the
// writes it evaluates. An install from before gatewarden narrowed its
// webhooks sends it every update they match (an annotation, a Namespace's
// finalize call) and, failing closed, refuses them all while gatewarden is
// down, Gateway deletes included, which gatewarden never denies.
func MatchConditions(ctx context.Context, e *Env) Result {
	vwc, err := e.webhookConfig(ctx)
	if apierrors.IsNotFound(err) {
		return warn(nameMatchConditions, "not checked: no ValidatingWebhookConfiguration", "see "+nameWebhookConfig)
	}
	if err != nil {
		return unreadable(nameMatchConditions, err)
	}
	var narrowed, everything, deletesClosed []string
	for i := range vwc.Webhooks {
		wh := &vwc.Webhooks[i]
		name := strings.TrimSuffix(wh.Name, ".gatewarden.dev")
		if matches(wh, admissionregistrationv1.Update) {
			if len(wh.MatchConditions) == 0 {
				everything = append(everything, name)
			} else {
				narrowed = append(narrowed, name)
			}
		}
		if matches(wh, admissionregistrationv1.Delete) && failsClosed(wh) {
			deletesClosed = append(deletesClosed, name)
		}
	}
	var problems []string
	if len(everything) > 0 {
		problems = append(problems, fmt.Sprintf("no matchConditions on %s: every update they match reaches gatewarden, "+
			"metadata-only ones included, and fails while it is down where failurePolicy is Fail", strings.Join(everything, ", ")))
	}
	if len(deletesClosed) > 0 {
		problems = append(problems, fmt.Sprintf("%s fails deletes closed, which gatewarden never denies", strings.Join(deletesClosed, ", ")))
	}
	if len(problems) > 0 {
		return warn(nameMatchConditions, strings.Join(problems, "; "), e.fixUpgrade())
	}
	return ok(nameMatchConditions, fmt.Sprintf("%d webhooks send gatewarden only the updates it evaluates (%s); no delete fails closed",
		len(narrowed), strings.Join(narrowed, ", ")))
}

// matches reports whether a webhook's rules match an operation.
func matches(wh *admissionregistrationv1.ValidatingWebhook, op admissionregistrationv1.OperationType) bool {
	for _, r := range wh.Rules {
		for _, o := range r.Operations {
			if o == op || o == admissionregistrationv1.OperationAll {
				return true
			}
		}
	}
	return false
}

// failsClosed reports whether the API server refuses a write it cannot get
// the webhook's verdict on; an unset policy is Fail.
func failsClosed(wh *admissionregistrationv1.ValidatingWebhook) bool {
	return wh.FailurePolicy == nil || *wh.FailurePolicy == admissionregistrationv1.Fail
}

// target describes what a webhook calls.
func target(cc admissionregistrationv1.WebhookClientConfig) string {
	switch {
	case cc.Service != nil:
		return "Service " + cc.Service.Namespace + "/" + cc.Service.Name
	case cc.URL != nil:
		return "URL " + *cc.URL
	}
	return "nothing"
}

// servicePort is the Service port the webhooks call; 443 unless set.
func servicePort(vwc *admissionregistrationv1.ValidatingWebhookConfiguration) int32 {
	for i := range vwc.Webhooks {
		if svc := vwc.Webhooks[i].ClientConfig.Service; svc != nil && svc.Port != nil {
			return *svc.Port
		}
	}
	return 443
}

func describeCAs(cas []*x509.Certificate) string {
	parts := make([]string, 0, len(cas))
	for _, c := range cas {
		parts = append(parts, fmt.Sprintf("%q until %s", c.Subject.CommonName, date(c.NotAfter)))
	}
	noun := "CA"
	if len(cas) > 1 {
		noun = "CAs"
	}
	return fmt.Sprintf("%d %s (%s)", len(cas), noun, strings.Join(parts, ", "))
}
