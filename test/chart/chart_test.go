package chart

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// namespace is the release namespace; config/ installs into the same one.
const namespace = "gatewarden-system"

// The names every install uses for release "gatewarden".
const (
	fullname          = "gatewarden"
	servingSecret     = "gatewarden-serving-cert"
	servingCert       = "gatewarden-serving"
	cleanupName       = "gatewarden-cleanup"
	certDir           = "/tmp/k8s-webhook-server/serving-certs"
	gatewayAPIGroup   = "gateway.networking.k8s.io"
	selfSignedSetting = "certManager.enabled=false"
)

// mode is one way to install the chart, and the kustomize overlay that must
// render the same objects.
type mode struct {
	name      string
	set       []string
	kustomize string
	certMgr   bool
}

var modes = []mode{
	{name: "cert-manager", kustomize: "config/default", certMgr: true},
	{name: "self-signed", set: []string{selfSignedSetting}, kustomize: "config/self-signed"},
}

// wantWebhook is one admission the server serves (docs/design.md section 5: the
// paths are controller-runtime's defaults).
type wantWebhook struct {
	name     string
	path     string
	group    string
	resource string
	ops      []admissionregistrationv1.OperationType
	scope    admissionregistrationv1.ScopeType
	// failurePolicy with the chart's default values: Fail only where
	// gatewarden may deny.
	failurePolicy admissionregistrationv1.FailurePolicyType
	// condition names the one matchCondition that narrows the writes sent;
	// "" for none.
	condition string
}

var (
	createUpdate = []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	deleteOnly   = []admissionregistrationv1.OperationType{admissionregistrationv1.Delete}
	fail         = admissionregistrationv1.Fail
	ignore       = admissionregistrationv1.Ignore
	namespaced   = admissionregistrationv1.NamespacedScope
)

var wantWebhooks = []wantWebhook{
	{"httproutes.gatewarden.dev", "/validate-gateway-networking-k8s-io-v1-httproute", gatewayAPIGroup, "httproutes", createUpdate, namespaced, fail, "create-or-attachment-changed"},
	{"grpcroutes.gatewarden.dev", "/validate-gateway-networking-k8s-io-v1-grpcroute", gatewayAPIGroup, "grpcroutes", createUpdate, namespaced, fail, "create-or-attachment-changed"},
	{"tlsroutes.gatewarden.dev", "/validate-gateway-networking-k8s-io-v1-tlsroute", gatewayAPIGroup, "tlsroutes", createUpdate, namespaced, fail, "create-or-attachment-changed"},
	{"tcproutes.gatewarden.dev", "/validate-gateway-networking-k8s-io-v1-tcproute", gatewayAPIGroup, "tcproutes", createUpdate, namespaced, fail, "create-or-attachment-changed"},
	{"udproutes.gatewarden.dev", "/validate-gateway-networking-k8s-io-v1-udproute", gatewayAPIGroup, "udproutes", createUpdate, namespaced, fail, "create-or-attachment-changed"},
	{"listenersets.gatewarden.dev", "/validate-gateway-networking-k8s-io-v1-listenerset", gatewayAPIGroup, "listenersets", createUpdate, namespaced, fail, "create-or-spec-changed"},
	{"listenerset-deletions.gatewarden.dev", "/validate-gateway-networking-k8s-io-v1-listenerset", gatewayAPIGroup, "listenersets", deleteOnly, namespaced, ignore, ""},
	{"gateways.gatewarden.dev", "/validate-gateway-networking-k8s-io-v1-gateway", gatewayAPIGroup, "gateways", createUpdate, namespaced, ignore, "create-or-listeners-changed"},
	{"gateway-deletions.gatewarden.dev", "/validate-gateway-networking-k8s-io-v1-gateway", gatewayAPIGroup, "gateways", deleteOnly, namespaced, ignore, ""},
	{"namespaces.gatewarden.dev", "/validate--v1-namespace", "", "namespaces", createUpdate, admissionregistrationv1.ClusterScope, ignore, "create-or-labels-changed"},
}

// extraResources are the subresources a webhook's rule must match besides its
// resource: a Namespace's labels can change through its status and finalize
// subresources, so the grant guard must see those writes too. No other
// subresource may be matched: route status writes are never checked.
var extraResources = map[string][]string{
	"namespaces.gatewarden.dev": {"namespaces/status", "namespaces/finalize"},
}

// tool returns the absolute path of a binary `make tools` builds into bin/.
// A missing tool fails the test: skipping would hide that nothing ran.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "bin", name))
	require.NoError(t, err)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s not found at %s: run make tools", name, path)
	}
	return path
}

func repoPath(t *testing.T, rel string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", rel))
	require.NoError(t, err)
	return path
}

func renderChart(t *testing.T, ns string, set ...string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := RenderChart(tool(t, "helm"), repoPath(t, "charts/gatewarden"), ns, set...)
	require.NoError(t, err)
	require.NotEmpty(t, objs)
	return objs
}

func renderKustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := RenderKustomize(tool(t, "kubectl"), repoPath(t, dir))
	require.NoError(t, err)
	require.NotEmpty(t, objs)
	return objs
}

// typed converts u into a T, failing on any field T does not have: a
// misspelled or misplaced field in a template fails here rather than being
// dropped by the API server.
func typed[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	require.NotNil(t, u)
	out := new(T)
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true),
		"%s %s", u.GetKind(), u.GetName())
	return out
}

func mustFind[T any](t *testing.T, objs []*unstructured.Unstructured, kind, name string) *T {
	t.Helper()
	u := Find(objs, kind, name)
	require.NotNil(t, u, "%s %q is not rendered", kind, name)
	return typed[T](t, u)
}

// validate converts every object to its Go type (so unknown fields fail) and
// returns the kinds seen.
func validate(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace":
			typed[corev1.Namespace](t, o)
		case "ServiceAccount":
			typed[corev1.ServiceAccount](t, o)
		case "Secret":
			typed[corev1.Secret](t, o)
		case "Service":
			typed[corev1.Service](t, o)
		case "Deployment":
			typed[appsv1.Deployment](t, o)
		case "Job":
			typed[batchv1.Job](t, o)
		case "PodDisruptionBudget":
			typed[policyv1.PodDisruptionBudget](t, o)
		case "ClusterRole":
			typed[rbacv1.ClusterRole](t, o)
		case "ClusterRoleBinding":
			typed[rbacv1.ClusterRoleBinding](t, o)
		case "Role":
			typed[rbacv1.Role](t, o)
		case "RoleBinding":
			typed[rbacv1.RoleBinding](t, o)
		case "ValidatingWebhookConfiguration":
			typed[admissionregistrationv1.ValidatingWebhookConfiguration](t, o)
		case "Certificate":
			typed[cmv1.Certificate](t, o)
		case "Issuer":
			typed[cmv1.Issuer](t, o)
		case "FlowSchema":
			typed[flowcontrolv1.FlowSchema](t, o)
		case "PriorityLevelConfiguration":
			typed[flowcontrolv1.PriorityLevelConfiguration](t, o)
		default:
			t.Errorf("unexpected kind %s (%s): add it to the test", o.GetKind(), o.GetName())
		}
	}
}

func isHook(o *unstructured.Unstructured) bool {
	_, ok := o.GetAnnotations()["helm.sh/hook"]
	return ok
}

func TestHelmLint(t *testing.T) {
	helm := tool(t, "helm")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			args := []string{"lint", "--strict", repoPath(t, "charts/gatewarden")}
			for _, s := range m.set {
				args = append(args, "--set", s)
			}
			out, err := exec.Command(helm, args...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "0 chart(s) failed")
		})
	}
}

func TestChartRendersKnownValidObjects(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			objs := renderChart(t, namespace, m.set...)
			validate(t, objs)
			for _, o := range objs {
				labels := o.GetLabels()
				assert.Equal(t, "Helm", labels["app.kubernetes.io/managed-by"], "%s %s", o.GetKind(), o.GetName())
				assert.Equal(t, ReleaseName, labels["app.kubernetes.io/instance"], "%s %s", o.GetKind(), o.GetName())
				assert.Equal(t, "gatewarden-0.1.0", labels["helm.sh/chart"], "%s %s", o.GetKind(), o.GetName())
				switch o.GetKind() {
				case "ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration", "FlowSchema", "PriorityLevelConfiguration":
					assert.Empty(t, o.GetNamespace(), "%s %s is cluster-scoped", o.GetKind(), o.GetName())
				default:
					assert.Equal(t, namespace, o.GetNamespace(), "%s %s", o.GetKind(), o.GetName())
				}
			}
		})
	}
}

// assertWebhooks checks the ValidatingWebhookConfiguration of any install
// against the contract with the server and the API server.
func assertWebhooks(t *testing.T, vwc *admissionregistrationv1.ValidatingWebhookConfiguration, ns string, excluded ...string) {
	t.Helper()
	assert.Equal(t, fullname, vwc.Name)
	require.Len(t, vwc.Webhooks, len(wantWebhooks))
	for i := range wantWebhooks {
		want, wh := &wantWebhooks[i], &vwc.Webhooks[i]
		t.Run(want.name, func(t *testing.T) {
			assert.Equal(t, want.name, wh.Name)
			require.NotNil(t, wh.ClientConfig.Service)
			assert.Nil(t, wh.ClientConfig.URL)
			assert.Equal(t, fullname, wh.ClientConfig.Service.Name)
			assert.Equal(t, ns, wh.ClientConfig.Service.Namespace)
			require.NotNil(t, wh.ClientConfig.Service.Port)
			assert.EqualValues(t, 443, *wh.ClientConfig.Service.Port)
			require.NotNil(t, wh.ClientConfig.Service.Path)
			assert.Equal(t, want.path, *wh.ClientConfig.Service.Path)

			require.NotNil(t, wh.SideEffects)
			assert.Equal(t, admissionregistrationv1.SideEffectClassNone, *wh.SideEffects)
			require.NotNil(t, wh.MatchPolicy)
			assert.Equal(t, admissionregistrationv1.Equivalent, *wh.MatchPolicy)
			require.NotNil(t, wh.TimeoutSeconds)
			assert.EqualValues(t, 5, *wh.TimeoutSeconds)
			require.NotNil(t, wh.FailurePolicy)
			assert.Equal(t, want.failurePolicy, *wh.FailurePolicy)
			assert.Equal(t, []string{"v1"}, wh.AdmissionReviewVersions)
			assert.Nil(t, wh.ObjectSelector)

			require.Len(t, wh.Rules, 1)
			rule := wh.Rules[0]
			assert.Equal(t, []string{want.group}, rule.APIGroups)
			assert.Equal(t, []string{"v1"}, rule.APIVersions)
			assert.Equal(t, append([]string{want.resource}, extraResources[want.name]...), rule.Resources)
			assert.Equal(t, want.ops, rule.Operations)
			require.NotNil(t, rule.Scope)
			assert.Equal(t, want.scope, *rule.Scope)
			for _, r := range rule.Resources {
				if !slices.Contains(extraResources[want.name], r) {
					assert.NotContains(t, r, "/", "a rule must not match a subresource such as status")
				}
				assert.NotContains(t, r, "*")
			}

			if want.condition == "" {
				assert.Empty(t, wh.MatchConditions)
			} else {
				require.Len(t, wh.MatchConditions, 1)
				assert.Equal(t, want.condition, wh.MatchConditions[0].Name)
				// Every UPDATE test is guarded: on CREATE oldObject is null.
				assert.True(t, strings.HasPrefix(wh.MatchConditions[0].Expression, "request.operation != 'UPDATE'\n|| "),
					"%s: the expression starts by letting every other operation through", want.name)
			}

			require.NotNil(t, wh.NamespaceSelector)
			assert.Empty(t, wh.NamespaceSelector.MatchLabels)
			require.Len(t, wh.NamespaceSelector.MatchExpressions, 1)
			expr := wh.NamespaceSelector.MatchExpressions[0]
			assert.Equal(t, "kubernetes.io/metadata.name", expr.Key)
			assert.EqualValues(t, "NotIn", expr.Operator)
			assert.Equal(t, append([]string{"kube-system", ns}, excluded...), expr.Values)
		})
	}
}

func TestChartWebhookConfiguration(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			objs := renderChart(t, namespace, m.set...)
			require.Len(t, FindKind(objs, "ValidatingWebhookConfiguration"), 1)
			vwc := mustFind[admissionregistrationv1.ValidatingWebhookConfiguration](t, objs, "ValidatingWebhookConfiguration", fullname)
			assertWebhooks(t, vwc, namespace)
			for _, wh := range vwc.Webhooks {
				assert.Empty(t, wh.ClientConfig.CABundle, "%s: the caBundle is injected, never rendered", wh.Name)
			}
			inject, ok := vwc.Annotations["cert-manager.io/inject-ca-from"]
			if m.certMgr {
				assert.Equal(t, namespace+"/"+servingCert, inject)
			} else {
				assert.False(t, ok, "self-signed mode: the server patches the caBundle, not cainjector")
			}
		})
	}

	t.Run("release namespace and extra exclusions", func(t *testing.T) {
		objs := renderChart(t, "ops", "webhook.excludeNamespaces={tenant-infra,monitoring}")
		vwc := mustFind[admissionregistrationv1.ValidatingWebhookConfiguration](t, objs, "ValidatingWebhookConfiguration", fullname)
		assertWebhooks(t, vwc, "ops", "tenant-infra", "monitoring")
		assert.Equal(t, "ops/"+servingCert, vwc.Annotations["cert-manager.io/inject-ca-from"])
	})

	t.Run("failure policy and timeout", func(t *testing.T) {
		objs := renderChart(t, namespace, "webhook.failurePolicy=Ignore", "webhook.timeoutSeconds=10")
		vwc := mustFind[admissionregistrationv1.ValidatingWebhookConfiguration](t, objs, "ValidatingWebhookConfiguration", fullname)
		for _, wh := range vwc.Webhooks {
			assert.Equal(t, admissionregistrationv1.Ignore, *wh.FailurePolicy, wh.Name)
			assert.EqualValues(t, 10, *wh.TimeoutSeconds, wh.Name)
		}
	})

	t.Run("disabled kinds", func(t *testing.T) {
		objs := renderChart(t, namespace, "webhook.kinds.namespaces=false", "webhook.kinds.udproutes=false", "webhook.kinds.listenersets=false")
		vwc := mustFind[admissionregistrationv1.ValidatingWebhookConfiguration](t, objs, "ValidatingWebhookConfiguration", fullname)
		var names []string
		for _, wh := range vwc.Webhooks {
			names = append(names, wh.Name)
		}
		assert.Equal(t, []string{
			"httproutes.gatewarden.dev", "grpcroutes.gatewarden.dev", "tlsroutes.gatewarden.dev",
			"tcproutes.gatewarden.dev", "gateways.gatewarden.dev", "gateway-deletions.gatewarden.dev",
		}, names)

		objs = renderChart(t, namespace, "webhook.kinds.gateways=false")
		vwc = mustFind[admissionregistrationv1.ValidatingWebhookConfiguration](t, objs, "ValidatingWebhookConfiguration", fullname)
		for _, wh := range vwc.Webhooks {
			assert.NotContains(t, wh.Name, "gateway", "one switch turns off a Gateway's create/update and its deletes")
		}
	})
}

// failurePolicies returns each webhook's failurePolicy by name prefix.
func failurePolicies(t *testing.T, set ...string) map[string]admissionregistrationv1.FailurePolicyType {
	t.Helper()
	objs := renderChart(t, namespace, set...)
	vwc := mustFind[admissionregistrationv1.ValidatingWebhookConfiguration](t, objs, "ValidatingWebhookConfiguration", fullname)
	out := map[string]admissionregistrationv1.FailurePolicyType{}
	for i := range vwc.Webhooks {
		wh := &vwc.Webhooks[i]
		require.NotNil(t, wh.FailurePolicy, wh.Name)
		out[strings.TrimSuffix(wh.Name, ".gatewarden.dev")] = *wh.FailurePolicy
	}
	return out
}

// A webhook fails closed only where gatewarden may deny with the values
// given: failing closed where it only warns blocks writes while it is down
// and protects nothing.
func TestChartFailurePolicyRule(t *testing.T) {
	routesFail := map[string]admissionregistrationv1.FailurePolicyType{
		"httproutes": fail, "grpcroutes": fail, "tlsroutes": fail, "tcproutes": fail, "udproutes": fail, "listenersets": fail,
	}
	with := func(extra map[string]admissionregistrationv1.FailurePolicyType) map[string]admissionregistrationv1.FailurePolicyType {
		out := map[string]admissionregistrationv1.FailurePolicyType{"gateways": ignore, "gateway-deletions": ignore, "listenerset-deletions": ignore, "namespaces": ignore}
		for k, v := range routesFail {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name string
		set  []string
		want map[string]admissionregistrationv1.FailurePolicyType
	}{
		{"defaults: only routes and ListenerSets may be denied", nil, with(nil)},
		{
			// A Gateway's gatewarden.dev/enforcement: deny annotation asks for
			// denial whatever the global route or ListenerSet mode.
			"routes and ListenerSets fail closed in every mode",
			[]string{"enforcement.routes=off", "enforcement.listenerSets=warn"}, with(nil),
		},
		{"approvers guard Namespace labels", []string{"grantApprovers={group:platform-admins}"}, with(map[string]admissionregistrationv1.FailurePolicyType{"namespaces": fail})},
		{"namespace deny mode", []string{"enforcement.namespaces=deny"}, with(map[string]admissionregistrationv1.FailurePolicyType{"namespaces": fail})},
		{
			// A Gateway delete is only ever warned about.
			"gateway deny mode fails closed on create and update, not delete",
			[]string{"enforcement.gateways=deny"}, with(map[string]admissionregistrationv1.FailurePolicyType{"gateways": fail}),
		},
		{
			"one policy for every webhook",
			[]string{"webhook.failurePolicy=Fail"},
			with(map[string]admissionregistrationv1.FailurePolicyType{"gateways": fail, "gateway-deletions": fail, "listenerset-deletions": fail, "namespaces": fail}),
		},
		{
			"a webhook's own policy wins over the rule and the global one",
			[]string{"webhook.failurePolicy=Ignore", "webhook.failurePolicies.httproutes=Fail", "webhook.failurePolicies.namespaces=Fail"},
			map[string]admissionregistrationv1.FailurePolicyType{
				"httproutes": fail, "grpcroutes": ignore, "tlsroutes": ignore, "tcproutes": ignore, "udproutes": ignore,
				"listenersets": ignore, "listenerset-deletions": ignore, "gateways": ignore, "gateway-deletions": ignore, "namespaces": fail,
			},
		},
		{
			"a webhook's own policy over the rule",
			[]string{"grantApprovers={group:platform-admins}", "webhook.failurePolicies.namespaces=Ignore"}, with(nil),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, failurePolicies(t, tt.set...))
		})
	}
}

func argsOf(t *testing.T, d *appsv1.Deployment) []string {
	t.Helper()
	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	return d.Spec.Template.Spec.Containers[0].Args
}

func TestChartDeployment(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			objs := renderChart(t, namespace, m.set...)
			d := mustFind[appsv1.Deployment](t, objs, "Deployment", fullname)
			spec := d.Spec.Template.Spec

			require.NotNil(t, d.Spec.Replicas)
			assert.EqualValues(t, 2, *d.Spec.Replicas)
			assert.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)
			require.NotNil(t, d.Spec.Strategy.RollingUpdate)
			assert.Equal(t, intstr.FromInt32(0), *d.Spec.Strategy.RollingUpdate.MaxUnavailable)
			assert.Equal(t, intstr.FromInt32(1), *d.Spec.Strategy.RollingUpdate.MaxSurge)
			assert.Equal(t, map[string]string{
				"app.kubernetes.io/name":     "gatewarden",
				"app.kubernetes.io/instance": ReleaseName,
			}, d.Spec.Selector.MatchLabels)
			assert.Subset(t, d.Spec.Template.Labels, d.Spec.Selector.MatchLabels)
			assert.Equal(t, fullname, spec.ServiceAccountName)

			// Grace period > preStop sleep (5s) + the server's drain (30s).
			require.NotNil(t, spec.TerminationGracePeriodSeconds)
			assert.EqualValues(t, 45, *spec.TerminationGracePeriodSeconds)

			psc := spec.SecurityContext
			require.NotNil(t, psc)
			assert.Equal(t, ptrTo(true), psc.RunAsNonRoot)
			assert.Equal(t, ptrTo(int64(65532)), psc.RunAsUser)
			assert.Equal(t, ptrTo(int64(65532)), psc.RunAsGroup)
			require.NotNil(t, psc.SeccompProfile)
			assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)

			require.Len(t, spec.TopologySpreadConstraints, 1)
			tsc := spec.TopologySpreadConstraints[0]
			assert.Equal(t, "kubernetes.io/hostname", tsc.TopologyKey)
			assert.Equal(t, corev1.ScheduleAnyway, tsc.WhenUnsatisfiable)
			require.NotNil(t, tsc.LabelSelector)
			assert.Equal(t, d.Spec.Selector.MatchLabels, tsc.LabelSelector.MatchLabels)

			require.Len(t, spec.Containers, 1)
			c := spec.Containers[0]
			assert.Equal(t, "ghcr.io/gatewarden/gatewarden:v0.1.0", c.Image)
			sc := c.SecurityContext
			require.NotNil(t, sc)
			assert.Equal(t, ptrTo(true), sc.RunAsNonRoot)
			assert.Equal(t, ptrTo(int64(65532)), sc.RunAsUser)
			assert.Equal(t, ptrTo(int64(65532)), sc.RunAsGroup)
			assert.Equal(t, ptrTo(true), sc.ReadOnlyRootFilesystem)
			assert.Equal(t, ptrTo(false), sc.AllowPrivilegeEscalation)
			require.NotNil(t, sc.Capabilities)
			assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
			assert.Empty(t, sc.Capabilities.Add)
			assert.Nil(t, sc.Privileged)
			require.NotNil(t, sc.SeccompProfile)
			assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)

			want := []string{
				"serve",
				"--webhook-port=9443",
				"--cert-dir=" + certDir,
				"--metrics-bind-address=:8080",
				"--health-probe-bind-address=:8081",
				"--confirm-timeout=2000ms",
				"--route-enforcement=deny",
				"--listenerset-enforcement=deny",
				"--namespace-enforcement=warn",
				"--gateway-enforcement=warn",
				"--status=true",
				"--status-controller-name=gatewarden.dev/attachment",
				"--leader-elect=true",
				"--log-level=info",
			}
			if !m.certMgr {
				want = append(want,
					"--self-signed",
					"--webhook-config-name="+fullname,
					"--self-signed-secret-name="+servingSecret,
					"--webhook-service-name="+fullname,
				)
			}
			assert.Equal(t, want, c.Args)
			assert.Empty(t, c.Command, "the image's entrypoint is the binary")

			require.Len(t, c.Env, 1)
			assert.Equal(t, "POD_NAMESPACE", c.Env[0].Name)
			require.NotNil(t, c.Env[0].ValueFrom)
			require.NotNil(t, c.Env[0].ValueFrom.FieldRef)
			assert.Equal(t, "metadata.namespace", c.Env[0].ValueFrom.FieldRef.FieldPath)

			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			assert.Equal(t, map[string]int32{"webhook": 9443, "metrics": 8080, "health": 8081}, ports)

			require.NotNil(t, c.LivenessProbe)
			require.NotNil(t, c.LivenessProbe.HTTPGet)
			assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
			assert.Equal(t, intstr.FromString("health"), c.LivenessProbe.HTTPGet.Port)
			require.NotNil(t, c.ReadinessProbe)
			require.NotNil(t, c.ReadinessProbe.HTTPGet)
			assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
			assert.Equal(t, intstr.FromString("health"), c.ReadinessProbe.HTTPGet.Port)

			require.NotNil(t, c.Lifecycle)
			require.NotNil(t, c.Lifecycle.PreStop)
			assert.Nil(t, c.Lifecycle.PreStop.Exec, "the distroless image has no shell")
			require.NotNil(t, c.Lifecycle.PreStop.Sleep)
			assert.EqualValues(t, 5, c.Lifecycle.PreStop.Sleep.Seconds)

			assert.Equal(t, "100m", ptrTo(c.Resources.Requests[corev1.ResourceCPU]).String())
			assert.Equal(t, "128Mi", ptrTo(c.Resources.Requests[corev1.ResourceMemory]).String())
			assert.Equal(t, "256Mi", ptrTo(c.Resources.Limits[corev1.ResourceMemory]).String())
			_, cpuLimit := c.Resources.Limits[corev1.ResourceCPU]
			assert.False(t, cpuLimit, "no CPU limit: throttling a webhook becomes API latency")

			mounts := map[string]corev1.VolumeMount{}
			for _, vm := range c.VolumeMounts {
				mounts[vm.Name] = vm
			}
			require.Contains(t, mounts, "serving-certs")
			assert.Equal(t, certDir, mounts["serving-certs"].MountPath)
			assert.Equal(t, m.certMgr, mounts["serving-certs"].ReadOnly)
			require.Contains(t, mounts, "tmp")
			assert.Equal(t, "/tmp", mounts["tmp"].MountPath)

			volumes := map[string]corev1.Volume{}
			for _, v := range spec.Volumes {
				volumes[v.Name] = v
			}
			require.Contains(t, volumes, "tmp")
			assert.NotNil(t, volumes["tmp"].EmptyDir)
			require.Contains(t, volumes, "serving-certs")
			certs := volumes["serving-certs"]
			if m.certMgr {
				require.NotNil(t, certs.Secret)
				assert.Equal(t, servingSecret, certs.Secret.SecretName)
				assert.Nil(t, certs.EmptyDir)
			} else {
				assert.Nil(t, certs.Secret)
				assert.NotNil(t, certs.EmptyDir, "the server writes the certificate it keeps in the Secret")
			}
		})
	}
}

func TestChartArgs(t *testing.T) {
	tests := []struct {
		name    string
		set     []string
		want    []string
		notWant []string
	}{
		{
			name:    "no grant approvers by default",
			notWant: []string{"--grant-approvers"},
		},
		{
			name: "grant approvers are comma-joined",
			set:  []string{"grantApprovers={group:platform-admins,user:alice}"},
			want: []string{"--grant-approvers=group:platform-admins,user:alice"},
		},
		{
			name: "enforcement modes",
			set:  []string{"enforcement.routes=warn", "enforcement.listenerSets=warn", "enforcement.namespaces=deny", "enforcement.gateways=off"},
			want: []string{"--route-enforcement=warn", "--listenerset-enforcement=warn", "--namespace-enforcement=deny", "--gateway-enforcement=off"},
		},
		{
			name: "unquoted off (YAML false) means off",
			set:  []string{"enforcement.routes=false"},
			want: []string{"--route-enforcement=off"},
		},
		{
			name: "status and logging",
			set:  []string{"status.enabled=false", "status.controllerName=example.com/attach", "logLevel=debug"},
			want: []string{"--status=false", "--status-controller-name=example.com/attach", "--log-level=debug"},
		},
		{
			name: "live reads give up in 40% of the API server's timeout",
			set:  []string{"webhook.timeoutSeconds=10"},
			want: []string{"--confirm-timeout=4000ms"},
		},
		{
			name: "leader election off",
			set:  []string{"leaderElection.enabled=false"},
			want: []string{"--leader-elect=false"},
		},
		{
			name: "extra args come last",
			set:  []string{"extraArgs={--webhook-host=0.0.0.0}"},
			want: []string{"--webhook-host=0.0.0.0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := renderChart(t, namespace, tt.set...)
			args := argsOf(t, mustFind[appsv1.Deployment](t, objs, "Deployment", fullname))
			for _, w := range tt.want {
				assert.Contains(t, args, w)
			}
			for _, nw := range tt.notWant {
				for _, a := range args {
					assert.False(t, strings.HasPrefix(a, nw), "unexpected %s", a)
				}
			}
		})
	}
}

func TestChartCertificates(t *testing.T) {
	t.Run("cert-manager CA chain", func(t *testing.T) {
		objs := renderChart(t, namespace)
		selfSigned := mustFind[cmv1.Issuer](t, objs, "Issuer", "gatewarden-selfsigned")
		assert.NotNil(t, selfSigned.Spec.SelfSigned)

		ca := mustFind[cmv1.Certificate](t, objs, "Certificate", "gatewarden-ca")
		assert.True(t, ca.Spec.IsCA)
		assert.Equal(t, "gatewarden-ca", ca.Spec.SecretName)
		assert.Equal(t, "gatewarden-selfsigned", ca.Spec.IssuerRef.Name)
		assert.Equal(t, "Issuer", ca.Spec.IssuerRef.Kind)
		require.NotNil(t, ca.Spec.Duration)
		assert.GreaterOrEqual(t, ca.Spec.Duration.Hours(), float64(4*365*24), "the CA outlives many serving certificates")
		require.NotNil(t, ca.Spec.PrivateKey)
		assert.Equal(t, cmv1.ECDSAKeyAlgorithm, ca.Spec.PrivateKey.Algorithm)
		assert.Equal(t, cmv1.RotationPolicyNever, ca.Spec.PrivateKey.RotationPolicy)

		caIssuer := mustFind[cmv1.Issuer](t, objs, "Issuer", "gatewarden-ca")
		require.NotNil(t, caIssuer.Spec.CA)
		assert.Equal(t, "gatewarden-ca", caIssuer.Spec.CA.SecretName)

		serving := mustFind[cmv1.Certificate](t, objs, "Certificate", servingCert)
		assert.False(t, serving.Spec.IsCA)
		assert.Equal(t, servingSecret, serving.Spec.SecretName)
		assert.Equal(t, "gatewarden-ca", serving.Spec.IssuerRef.Name)
		assert.Equal(t, "Issuer", serving.Spec.IssuerRef.Kind)
		assert.Equal(t, []string{
			"gatewarden",
			"gatewarden.gatewarden-system",
			"gatewarden.gatewarden-system.svc",
			"gatewarden.gatewarden-system.svc.cluster.local",
		}, serving.Spec.DNSNames)
		require.NotNil(t, serving.Spec.Duration)
		require.NotNil(t, serving.Spec.RenewBefore)
		assert.InDelta(t, 90*24, serving.Spec.Duration.Hours(), 0.1)
		assert.InDelta(t, 30*24, serving.Spec.RenewBefore.Hours(), 0.1)

		assert.Len(t, FindKind(objs, "Certificate"), 2)
		assert.Len(t, FindKind(objs, "Issuer"), 2)
		assert.Nil(t, Find(objs, "Secret", servingSecret), "cert-manager writes the Secret")
	})

	t.Run("user issuer replaces the chain", func(t *testing.T) {
		objs := renderChart(t, namespace, "certManager.issuerRef.name=corp-ca", "certManager.issuerRef.kind=ClusterIssuer")
		assert.Empty(t, FindKind(objs, "Issuer"))
		require.Len(t, FindKind(objs, "Certificate"), 1)
		serving := mustFind[cmv1.Certificate](t, objs, "Certificate", servingCert)
		assert.Equal(t, "corp-ca", serving.Spec.IssuerRef.Name)
		assert.Equal(t, "ClusterIssuer", serving.Spec.IssuerRef.Kind)
		assert.Equal(t, "cert-manager.io", serving.Spec.IssuerRef.Group)
		vwc := mustFind[admissionregistrationv1.ValidatingWebhookConfiguration](t, objs, "ValidatingWebhookConfiguration", fullname)
		assert.Equal(t, namespace+"/"+servingCert, vwc.Annotations["cert-manager.io/inject-ca-from"])
	})

	t.Run("self-signed mode has no cert-manager objects", func(t *testing.T) {
		objs := renderChart(t, namespace, selfSignedSetting)
		for _, o := range objs {
			assert.NotEqual(t, "cert-manager.io", o.GroupVersionKind().Group, "%s %s", o.GetKind(), o.GetName())
		}
		secret := mustFind[corev1.Secret](t, objs, "Secret", servingSecret)
		assert.Equal(t, corev1.SecretTypeOpaque, secret.Type)
		assert.Empty(t, secret.Data, "the server fills it")
		assert.Empty(t, secret.StringData)
		assert.Equal(t, "keep", secret.Annotations["helm.sh/resource-policy"])
	})
}

func ptrTo[T any](v T) *T { return &v }

// rulesOf returns the rules of the Role or ClusterRole.
func rulesOf(t *testing.T, objs []*unstructured.Unstructured, kind, name string) []rbacv1.PolicyRule {
	t.Helper()
	if kind == "Role" {
		return mustFind[rbacv1.Role](t, objs, kind, name).Rules
	}
	return mustFind[rbacv1.ClusterRole](t, objs, kind, name).Rules
}

var (
	readRules = []rbacv1.PolicyRule{
		{APIGroups: []string{gatewayAPIGroup}, Resources: []string{"gateways", "listenersets", "httproutes", "grpcroutes", "tlsroutes", "tcproutes", "udproutes", "referencegrants"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}},
	}
	statusRule = rbacv1.PolicyRule{APIGroups: []string{gatewayAPIGroup}, Resources: []string{"httproutes/status", "grpcroutes/status", "tlsroutes/status", "tcproutes/status", "udproutes/status"}, Verbs: []string{"patch", "update"}}
	eventRules = []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
	leaseRule   = rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch"}}
	webhookRule = rbacv1.PolicyRule{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingwebhookconfigurations"}, ResourceNames: []string{fullname}, Verbs: []string{"get", "update", "patch"}}
	secretRule  = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{servingSecret}, Verbs: []string{"get", "update", "patch"}}
)

func serverClusterRules(selfSigned bool) []rbacv1.PolicyRule {
	rules := slices.Concat(readRules, []rbacv1.PolicyRule{statusRule}, eventRules)
	if selfSigned {
		rules = append(rules, webhookRule)
	}
	return rules
}

func serverRoleRules(selfSigned bool) []rbacv1.PolicyRule {
	rules := []rbacv1.PolicyRule{leaseRule}
	if selfSigned {
		rules = append(rules, secretRule)
	}
	return rules
}

func TestChartRBAC(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			objs := renderChart(t, namespace, m.set...)
			assert.Equal(t, serverClusterRules(!m.certMgr), rulesOf(t, objs, "ClusterRole", fullname))
			assert.Equal(t, serverRoleRules(!m.certMgr), rulesOf(t, objs, "Role", fullname))

			for _, kind := range []string{"ClusterRole", "Role"} {
				for _, o := range FindKind(objs, kind) {
					for _, r := range rulesOf(t, objs, kind, o.GetName()) {
						assert.NotContains(t, r.Verbs, "*", "%s %s", kind, o.GetName())
						assert.NotContains(t, r.Resources, "*", "%s %s", kind, o.GetName())
						assert.NotContains(t, r.APIGroups, "*", "%s %s", kind, o.GetName())
						if slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, "validatingwebhookconfigurations") {
							// RBAC cannot narrow create to a name: the Secret is pre-created.
							assert.NotContains(t, r.Verbs, "create", "%s %s: %v", kind, o.GetName(), r)
							assert.NotEmpty(t, r.ResourceNames, "%s %s: %v must name its objects", kind, o.GetName(), r)
						}
					}
				}
			}

			crb := mustFind[rbacv1.ClusterRoleBinding](t, objs, "ClusterRoleBinding", fullname)
			assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: fullname}, crb.RoleRef)
			assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: fullname, Namespace: namespace}}, crb.Subjects)
			rb := mustFind[rbacv1.RoleBinding](t, objs, "RoleBinding", fullname)
			assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: fullname}, rb.RoleRef)
			assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: fullname, Namespace: namespace}}, rb.Subjects)
		})
	}

	t.Run("status off drops the status rule", func(t *testing.T) {
		objs := renderChart(t, namespace, "status.enabled=false")
		assert.Equal(t, slices.Concat(readRules, eventRules), rulesOf(t, objs, "ClusterRole", fullname))
	})

	t.Run("no leader election, no Role", func(t *testing.T) {
		objs := renderChart(t, namespace, "leaderElection.enabled=false")
		assert.Nil(t, Find(objs, "Role", fullname))
		assert.Nil(t, Find(objs, "RoleBinding", fullname))
	})
}

func TestChartCleanupHook(t *testing.T) {
	objs := renderChart(t, namespace)
	for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Job"} {
		o := Find(objs, kind, cleanupName)
		require.NotNil(t, o, "%s %s", kind, cleanupName)
		ann := o.GetAnnotations()
		assert.Equal(t, "pre-delete", ann["helm.sh/hook"], kind)
		assert.Equal(t, "before-hook-creation,hook-succeeded", ann["helm.sh/hook-delete-policy"], kind)
	}
	assert.Equal(t, "-10", Find(objs, "ClusterRole", cleanupName).GetAnnotations()["helm.sh/hook-weight"], "RBAC before the Job")
	assert.Equal(t, "0", Find(objs, "Job", cleanupName).GetAnnotations()["helm.sh/hook-weight"])

	assert.Equal(t, []rbacv1.PolicyRule{{
		APIGroups:     []string{"admissionregistration.k8s.io"},
		Resources:     []string{"validatingwebhookconfigurations"},
		ResourceNames: []string{fullname},
		Verbs:         []string{"delete"},
	}}, rulesOf(t, objs, "ClusterRole", cleanupName))

	job := mustFind[batchv1.Job](t, objs, "Job", cleanupName)
	spec := job.Spec.Template.Spec
	assert.Equal(t, cleanupName, spec.ServiceAccountName)
	assert.Equal(t, corev1.RestartPolicyNever, spec.RestartPolicy)
	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]
	assert.Equal(t, []string{"delete", "validatingwebhookconfiguration", fullname, "--ignore-not-found", "--wait=false"}, c.Args)
	require.NotNil(t, c.SecurityContext)
	assert.Equal(t, ptrTo(true), c.SecurityContext.ReadOnlyRootFilesystem)
	assert.Equal(t, ptrTo(false), c.SecurityContext.AllowPrivilegeEscalation)
	assert.Equal(t, ptrTo(true), c.SecurityContext.RunAsNonRoot)
	require.NotNil(t, spec.SecurityContext)
	assert.Equal(t, ptrTo(true), spec.SecurityContext.RunAsNonRoot)
	d := mustFind[appsv1.Deployment](t, objs, "Deployment", fullname)
	assert.NotSubset(t, job.Spec.Template.Labels, d.Spec.Selector.MatchLabels, "the Service must not select the Job's pod")

	objs = renderChart(t, namespace, "cleanup.enabled=false")
	for _, o := range objs {
		assert.False(t, isHook(o), "%s %s", o.GetKind(), o.GetName())
	}
}

func TestChartService(t *testing.T) {
	objs := renderChart(t, namespace)
	svc := mustFind[corev1.Service](t, objs, "Service", fullname)
	d := mustFind[appsv1.Deployment](t, objs, "Deployment", fullname)
	assert.Equal(t, d.Spec.Selector.MatchLabels, svc.Spec.Selector)
	ports := map[int32]intstr.IntOrString{}
	for _, p := range svc.Spec.Ports {
		ports[p.Port] = p.TargetPort
	}
	assert.Equal(t, map[int32]intstr.IntOrString{443: intstr.FromString("webhook"), 8080: intstr.FromString("metrics")}, ports)
	assert.Nil(t, Find(objs, "ServiceMonitor", fullname))

	objs = renderChart(t, namespace, "metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prometheus")
	sm := Find(objs, "ServiceMonitor", fullname)
	require.NotNil(t, sm)
	assert.Equal(t, "prometheus", sm.GetLabels()["release"])
	endpoints, _, err := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	require.NoError(t, err)
	require.Len(t, endpoints, 1)
	assert.Equal(t, "metrics", endpoints[0].(map[string]any)["port"])
}

func TestChartPodDisruptionBudget(t *testing.T) {
	objs := renderChart(t, namespace)
	pdb := mustFind[policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget", fullname)
	require.NotNil(t, pdb.Spec.MinAvailable)
	assert.Equal(t, intstr.FromInt32(1), *pdb.Spec.MinAvailable)
	assert.Nil(t, pdb.Spec.MaxUnavailable)
	d := mustFind[appsv1.Deployment](t, objs, "Deployment", fullname)
	assert.Equal(t, d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels)

	objs = renderChart(t, namespace, "replicas=1")
	assert.Nil(t, Find(objs, "PodDisruptionBudget", fullname), "with one replica a PDB would block every drain")
}

func TestChartSchemaRejects(t *testing.T) {
	helm := tool(t, "helm")
	chartDir := repoPath(t, "charts/gatewarden")
	tests := []struct {
		set   string
		field string
	}{
		{"enforcement.routes=block", "/enforcement/routes"},
		{"replicas=two", "/replicas"},
		{"enforcement.namespaces=allow", "/enforcement/namespaces"},
		{"enforcement.gateways=true", "/enforcement/gateways"},
		{"webhook.failurePolicy=Never", "/webhook/failurePolicy"},
		{"webhook.failurePolicies.namespaces=Never", "/webhook/failurePolicies/namespaces"},
		{"webhook.failurePolicies.services=Fail", "services"},
		{"webhook.timeoutSeconds=60", "/webhook/timeoutSeconds"},
		{"logLevel=warn", "/logLevel"},
		{"grantApprovers={alice}", "/grantApprovers/0"},
		{"certManager.issuerRef.kind=Vault", "/certManager/issuerRef/kind"},
		{"replica=3", "replica"},
		{"webhook.kinds.services=true", "services"},
		{"flowControl.matchingPrecedence=9500", "/flowControl/matchingPrecedence"},
		{"flowControl.nominalConcurrencyShares=0", "/flowControl/nominalConcurrencyShares"},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			_, err := RenderChart(helm, chartDir, namespace, tt.set)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "schema")
			assert.Contains(t, err.Error(), tt.field)
		})
	}
}

// objectKey identifies an object across the chart and kustomize renders.
func objectKey(o *unstructured.Unstructured) string {
	return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}

// TestKustomizeMatchesChart renders config/ and checks it installs the same
// objects as the chart, with the same contents where it matters: the
// kustomize install is the chart's default render, in another format.
func TestKustomizeMatchesChart(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			kobjs := renderKustomize(t, m.kustomize)
			validate(t, kobjs)
			cobjs := renderChart(t, namespace, m.set...)

			var kkeys, ckeys []string
			for _, o := range kobjs {
				if o.GetKind() == "Namespace" {
					assert.Equal(t, namespace, o.GetName())
					continue
				}
				kkeys = append(kkeys, objectKey(o))
			}
			for _, o := range cobjs {
				if !isHook(o) {
					ckeys = append(ckeys, objectKey(o))
				}
			}
			slices.Sort(kkeys)
			slices.Sort(ckeys)
			assert.Equal(t, ckeys, kkeys, "the same objects, the chart's uninstall hook aside")

			kvwc := mustFind[admissionregistrationv1.ValidatingWebhookConfiguration](t, kobjs, "ValidatingWebhookConfiguration", fullname)
			cvwc := mustFind[admissionregistrationv1.ValidatingWebhookConfiguration](t, cobjs, "ValidatingWebhookConfiguration", fullname)
			assertWebhooks(t, kvwc, namespace)
			assert.Equal(t, cvwc.Webhooks, kvwc.Webhooks)
			assert.Equal(t, cvwc.Annotations, kvwc.Annotations)

			kd := mustFind[appsv1.Deployment](t, kobjs, "Deployment", fullname)
			cd := mustFind[appsv1.Deployment](t, cobjs, "Deployment", fullname)
			assert.Equal(t, cd.Spec.Replicas, kd.Spec.Replicas)
			assert.Equal(t, cd.Spec.Strategy, kd.Spec.Strategy)
			assert.Equal(t, cd.Spec.Selector, kd.Spec.Selector)
			assert.Equal(t, cd.Spec.Template.Spec, kd.Spec.Template.Spec)

			assert.Equal(t, rulesOf(t, cobjs, "ClusterRole", fullname), rulesOf(t, kobjs, "ClusterRole", fullname))
			assert.Equal(t, rulesOf(t, cobjs, "Role", fullname), rulesOf(t, kobjs, "Role", fullname))
			assert.Equal(t,
				mustFind[rbacv1.ClusterRoleBinding](t, cobjs, "ClusterRoleBinding", fullname).Subjects,
				mustFind[rbacv1.ClusterRoleBinding](t, kobjs, "ClusterRoleBinding", fullname).Subjects)
			assert.Equal(t,
				mustFind[rbacv1.RoleBinding](t, cobjs, "RoleBinding", fullname).Subjects,
				mustFind[rbacv1.RoleBinding](t, kobjs, "RoleBinding", fullname).Subjects)
			assert.Equal(t,
				mustFind[corev1.Service](t, cobjs, "Service", fullname).Spec,
				mustFind[corev1.Service](t, kobjs, "Service", fullname).Spec)
			assert.Equal(t,
				mustFind[flowcontrolv1.FlowSchema](t, cobjs, "FlowSchema", flowControlName).Spec,
				mustFind[flowcontrolv1.FlowSchema](t, kobjs, "FlowSchema", flowControlName).Spec)
			assert.Equal(t,
				mustFind[flowcontrolv1.PriorityLevelConfiguration](t, cobjs, "PriorityLevelConfiguration", flowControlName).Spec,
				mustFind[flowcontrolv1.PriorityLevelConfiguration](t, kobjs, "PriorityLevelConfiguration", flowControlName).Spec)
			assert.Equal(t,
				mustFind[policyv1.PodDisruptionBudget](t, cobjs, "PodDisruptionBudget", fullname).Spec,
				mustFind[policyv1.PodDisruptionBudget](t, kobjs, "PodDisruptionBudget", fullname).Spec)

			if m.certMgr {
				for _, name := range []string{"gatewarden-ca", servingCert} {
					assert.Equal(t,
						mustFind[cmv1.Certificate](t, cobjs, "Certificate", name).Spec,
						mustFind[cmv1.Certificate](t, kobjs, "Certificate", name).Spec, name)
				}
				for _, name := range []string{"gatewarden-selfsigned", "gatewarden-ca"} {
					assert.Equal(t,
						mustFind[cmv1.Issuer](t, cobjs, "Issuer", name).Spec,
						mustFind[cmv1.Issuer](t, kobjs, "Issuer", name).Spec, name)
				}
			} else {
				secret := mustFind[corev1.Secret](t, kobjs, "Secret", servingSecret)
				assert.Equal(t, corev1.SecretTypeOpaque, secret.Type)
				assert.Empty(t, secret.Data)
			}
		})
	}
}
