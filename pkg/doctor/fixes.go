package doctor

import (
	"fmt"
	"strings"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// The fixes, in one place so that they read alike and tests can assert them.
// They name the objects of the install (Deployment and Service share a name,
// as the chart makes them) so that each can be pasted as is.

// gatewayAPIVersion is the Gateway API release gatewarden is built against.
const gatewayAPIVersion = "v1.6.3"

func fixInstallGatewayAPI() string {
	return "install the Gateway API CRDs: kubectl apply --server-side -f " +
		"https://github.com/kubernetes-sigs/gateway-api/releases/download/" + gatewayAPIVersion + "/standard-install.yaml"
}

func (e *Env) fixReinstall(what string) string {
	return fmt.Sprintf("%s is created by the chart: helm upgrade --install gatewarden <chart> -n %s "+
		"(or pass --namespace, --webhook-config-name, --service-name if it was installed with other names)", what, e.Namespace)
}

// fixUpgrade brings an install from before gatewarden narrowed its webhooks
// up to date.
func (e *Env) fixUpgrade() string {
	return fmt.Sprintf("upgrade the install: helm upgrade gatewarden <chart> -n %s (or kubectl apply -k config/default): "+
		"its webhooks send gatewarden only the writes it evaluates and fail closed only where it may deny", e.Namespace)
}

func (e *Env) serverLogs() string {
	return fmt.Sprintf("kubectl -n %s logs deployment/%s", e.Namespace, e.ServiceName)
}

// fixCABundle says who fills caBundle in each mode, and how to make it.
func (e *Env) fixCABundle(src certSource) string {
	if src.certManager() {
		return fmt.Sprintf("cert-manager's cainjector fills caBundle from the Certificate the annotation %s names "+
			"(it must be %s/%s): check that cainjector runs (kubectl get pods -A -l app.kubernetes.io/component=cainjector) and its logs",
			cmv1.WantInjectAnnotation, e.Namespace, e.CertificateName)
	}
	return fmt.Sprintf("gatewarden fills caBundle at startup and hourly: kubectl -n %s rollout restart deployment/%s, "+
		"then %s; it needs get and patch on validatingwebhookconfigurations/%s",
		e.Namespace, e.ServiceName, e.serverLogs(), e.WebhookConfigName)
}

// fixIssuance says how to get a valid serving certificate in each mode.
func (e *Env) fixIssuance(src certSource) string {
	if src.certManager() {
		return fmt.Sprintf("kubectl -n %s describe certificate %s (its Issuer must be Ready), then the cert-manager logs; "+
			"cmctl renew -n %s %s forces a new one", e.Namespace, e.CertificateName, e.Namespace, e.CertificateName)
	}
	return fmt.Sprintf("gatewarden issues it at startup and renews it hourly: kubectl -n %s rollout restart deployment/%s, "+
		"then %s; it needs get and update on secrets/%s", e.Namespace, e.ServiceName, e.serverLogs(), src.secretName)
}

// escapeHatch is what lets writes through while gatewarden is down, as the
// chart's README and NOTES give it: delete the webhook configuration (the
// API server never sends webhook configurations to webhooks, so this always
// works) and let helm upgrade recreate it; or, narrower, set failurePolicy
// Ignore on the webhooks at those indexes.
func (e *Env) escapeHatch(indexes []int) string {
	ops := make([]string, 0, len(indexes))
	for _, i := range indexes {
		ops = append(ops, fmt.Sprintf(`{"op":"add","path":"/webhooks/%d/failurePolicy","value":"Ignore"}`, i))
	}
	return fmt.Sprintf("kubectl delete validatingwebhookconfiguration %s (helm upgrade recreates it once gatewarden is fixed), "+
		"or fail open: kubectl patch validatingwebhookconfiguration %s --type=json -p '[%s]'",
		e.WebhookConfigName, e.WebhookConfigName, strings.Join(ops, ","))
}
