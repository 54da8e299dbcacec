package availability_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What the API server does when a matchCondition cannot be evaluated (here
// it reads an annotation the object does not have): it follows the
// webhook's failurePolicy. Fail refuses the write without calling the
// webhook, with a Forbidden that quotes the expression but does not name
// the webhook; Ignore admits it without calling it. This is why the chart's
// expressions read every field through has().
func TestMatchConditionErrorsFollowTheFailurePolicy(t *testing.T) {
	setUp(t, "cel")
	url := nowhere(t)
	webhook := func(name string, policy admissionregistrationv1.FailurePolicyType, rule admissionregistrationv1.Rule) admissionregistrationv1.ValidatingWebhook {
		return admissionregistrationv1.ValidatingWebhook{
			Name:                    name,
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			FailurePolicy:           ptr.To(policy),
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url + "/validate"), CABundle: cp.CABundle()},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule:       rule,
			}},
		}
	}
	configuration := func(policy admissionregistrationv1.FailurePolicyType) *admissionregistrationv1.ValidatingWebhookConfiguration {
		broken := webhook("broken.gatewarden.test", policy, admissionregistrationv1.Rule{
			APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"namespaces"},
		})
		broken.MatchConditions = []admissionregistrationv1.MatchCondition{{
			Name: "reads-a-missing-annotation", Expression: "object.metadata.annotations['gatewarden.test/missing'] == 'yes'",
		}}
		// applied fails every probe ConfigMap: it tells when the API server
		// applies the configuration, whatever broken does.
		applied := webhook("applied.gatewarden.test", admissionregistrationv1.Fail, admissionregistrationv1.Rule{
			APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"},
		})
		applied.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"gatewarden.test/probe": "true"}}
		return &admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "broken-condition"},
			Webhooks:   []admissionregistrationv1.ValidatingWebhook{broken, applied},
		}
	}
	probe := func() error {
		return cp.Client.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Namespace: "default", GenerateName: "probe-", Labels: map[string]string{"gatewarden.test/probe": "true"},
		}}, client.DryRunAll)
	}
	applied := func(err error) bool {
		return strings.Contains(fmt.Sprint(err), `failed calling webhook "applied.gatewarden.test"`)
	}
	annotate := func(t *testing.T) error {
		return kubectl(t, "", "annotate", "namespace", "cel-apps", "--overwrite", "example.com/owner=team-a")
	}

	t.Run("Fail refuses the write", func(t *testing.T) {
		register(t, configuration(admissionregistrationv1.Fail), probe, applied)
		err := annotate(t)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `Error from server (Forbidden): namespaces "cel-apps" is forbidden: `+
			`expression 'object.metadata.annotations['gatewarden.test/missing'] == 'yes'' resulted in error: no such key: gatewarden.test/missing`)
		assert.NotContains(t, err.Error(), "failed calling webhook", "the webhook itself is not called")
	})
	t.Run("Ignore admits it", func(t *testing.T) {
		register(t, configuration(admissionregistrationv1.Ignore), probe, applied)
		assert.NoError(t, annotate(t))
	})
}

// The chart's expressions never fail to evaluate, whatever a real object
// leaves out: with every webhook made to fail closed (an evaluation error
// would then refuse the write), writes of objects without labels,
// annotations, hostnames, rules, parentRefs or filters go through when they
// change nothing gatewarden evaluates, and reach gatewarden (down, so the
// call fails) when they do.
func TestChartMatchConditionsNeverFailOnSparseObjects(t *testing.T) {
	const ns = "sparse"
	require.NoError(t, kubectl(t, `
apiVersion: v1
kind: Namespace
metadata: {name: sparse}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bare, namespace: sparse}
spec:
  gatewayClassName: example
  listeners: [{name: tcp, port: 9000, protocol: TCP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bare, namespace: sparse}
spec: {}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: rules-only, namespace: sparse}
spec:
  rules: [{}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: mirror, namespace: sparse}
spec:
  rules:
  - filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 9000}}
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-env, value: test}]}
    backendRefs: [{name: grpc, port: 9000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {name: tcp, namespace: sparse}
spec:
  parentRefs: [{name: bare}]
  rules: [{backendRefs: [{name: db, port: 5432}]}]
`, "apply", "-f", "-"))
	registerDown(t, "webhook.failurePolicy=Fail")

	for _, tc := range []struct {
		write string
		args  []string
		// webhook is the webhook the write must reach; "" when it must not
		// reach gatewarden at all.
		webhook string
	}{
		{"annotate a Namespace that has no annotations", []string{"annotate", "namespace", ns, "a=b"}, ""},
		{"annotate a Gateway that has no annotations", []string{"annotate", "gateway", "-n", ns, "bare", "a=b"}, ""},
		{"annotate an HTTPRoute with an empty spec", []string{"annotate", "httproute", "-n", ns, "bare", "a=b"}, ""},
		{"annotate an HTTPRoute whose rule is empty", []string{"annotate", "httproute", "-n", ns, "rules-only", "a=b"}, ""},
		{"annotate a GRPCRoute with filters", []string{"annotate", "grpcroute", "-n", ns, "mirror", "a=b"}, ""},
		{"annotate a TCPRoute, a kind without hostnames", []string{"annotate", "tcproute", "-n", ns, "tcp", "a=b"}, ""},
		{"change a GRPCRoute's header filter", []string{"patch", "grpcroute", "-n", ns, "mirror", "--type=json", "-p",
			`[{"op":"replace","path":"/spec/rules/0/filters/1/requestHeaderModifier/set/0/value","value":"prod"}]`}, ""},
		{"change a GRPCRoute's mirror backend", []string{"patch", "grpcroute", "-n", ns, "mirror", "--type=json", "-p",
			`[{"op":"replace","path":"/spec/rules/0/filters/0/requestMirror/backendRef/name","value":"other"}]`}, "grpcroutes"},
		{"give an HTTPRoute with an empty spec a parentRef", []string{"patch", "httproute", "-n", ns, "bare", "--type=merge", "-p",
			`{"spec":{"parentRefs":[{"name":"bare"}]}}`}, "httproutes"},
		{"give an empty rule a backend", []string{"patch", "httproute", "-n", ns, "rules-only", "--type=json", "-p",
			`[{"op":"add","path":"/spec/rules/0/backendRefs","value":[{"name":"web","port":80}]}]`}, "httproutes"},
		{"label a Namespace", []string{"label", "namespace", ns, "team=a"}, "namespaces"},
		{"set the enforcement annotation of a Gateway", []string{"annotate", "gateway", "-n", ns, "bare", "gatewarden.dev/enforcement=warn"}, "gateways"},
	} {
		t.Run(tc.write, func(t *testing.T) {
			err := kubectl(t, "", tc.args...)
			if tc.webhook == "" {
				assert.NoError(t, err, "not sent to gatewarden, and no expression failed")
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), fmt.Sprintf(`failed calling webhook "%s.gatewarden.dev": failed to call webhook`, tc.webhook),
				"sent to gatewarden, whose call fails: the expression evaluated")
		})
	}
}
