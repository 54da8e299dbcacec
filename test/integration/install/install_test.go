// Package install_test proves the install against a real kube-apiserver: the
// chart's and config/'s manifests are accepted by the API server, the
// self-signed mode bootstraps its own certificates and the API server trusts
// them, and `gatewarden doctor` tells a broken install from a working one.
package install_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/gatewarden/gatewarden/pkg/certs"
	"github.com/gatewarden/gatewarden/test/chart"
	"github.com/gatewarden/gatewarden/test/framework"
)

const releaseNS = "gatewarden-system"

var cp *framework.ControlPlane

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		// A gatewarden that crashed or raced when it stopped fails the suite.
		fmt.Fprintln(os.Stderr, err)
		code = max(code, 1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	root, err := framework.RepoRoot()
	if err != nil {
		return 1, err
	}
	certManager, err := framework.ModuleDir(root, "github.com/cert-manager/cert-manager")
	if err != nil {
		return 1, err
	}
	cp, err = framework.Start(framework.Options{Race: true, ExtraCRDPaths: []string{filepath.Join(certManager, "deploy", "crds")}})
	if err != nil {
		return 1, err
	}
	if err := cmv1.AddToScheme(cp.Scheme); err != nil {
		return 1, err
	}
	if cp.Client, err = client.New(cp.Config, client.Options{Scheme: cp.Scheme}); err != nil {
		return 1, err
	}
	if err := cp.CreateNamespace(context.Background(), releaseNS, nil); err != nil {
		return 1, err
	}
	code := m.Run()
	return code, cp.Stop()
}

func render(t *testing.T, set ...string) string {
	t.Helper()
	objs, err := chart.RenderChart(filepath.Join(cp.Bin, "helm"), filepath.Join(cp.Root, "charts", "gatewarden"), releaseNS, set...)
	require.NoError(t, err)
	var out bytes.Buffer
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		require.NoError(t, err)
		out.WriteString("---\n")
		out.Write(b)
	}
	return out.String()
}

// The API server validates every rendered object, as `helm install` would
// have it do: schemas, CEL rules, RBAC escalation checks included.
func TestRenderedManifestsAreAcceptedByTheAPIServer(t *testing.T) {
	ctx := context.Background()
	for name, manifests := range map[string]func() string{
		"chart with cert-manager": func() string { return render(t) },
		"chart, self-signed":      func() string { return render(t, "certManager.enabled=false") },
		"chart with a user's issuer": func() string {
			return render(t, "certManager.issuerRef.name=corp-ca", "certManager.issuerRef.kind=ClusterIssuer")
		},
		"config/default":     func() string { return kustomize(t, "config/default") },
		"config/self-signed": func() string { return kustomize(t, "config/self-signed") },
	} {
		t.Run(name, func(t *testing.T) {
			res := cp.Kubectl(ctx, manifests(), "apply", "--dry-run=server", "-f", "-")
			require.NoError(t, res.Err, "%s\n%s", res.Stdout, res.Stderr)
			assert.Contains(t, res.Stdout, "validatingwebhookconfiguration.admissionregistration.k8s.io/gatewarden created (server dry run)")
			assert.Contains(t, res.Stdout, "deployment.apps/gatewarden created (server dry run)")
			assert.Contains(t, res.Stdout, "flowschema.flowcontrol.apiserver.k8s.io/gatewarden-confirmations created (server dry run)")
			assert.Contains(t, res.Stdout, "prioritylevelconfiguration.flowcontrol.apiserver.k8s.io/gatewarden-confirmations created (server dry run)")
		})
	}
}

func kustomize(t *testing.T, dir string) string {
	t.Helper()
	res := cp.Kubectl(context.Background(), "", "kustomize", filepath.Join(cp.Root, dir))
	require.NoError(t, res.Err, res.Stderr)
	return res.Stdout
}

// `serve --self-signed` against a real API server: it fills the Secret the
// chart creates empty, patches the caBundle of its webhook configuration,
// and the API server then trusts the webhook and calls it.
func TestSelfSignedModeBootstrapsItsOwnCertificates(t *testing.T) {
	ctx := context.Background()
	objs, err := chart.RenderChart(filepath.Join(cp.Bin, "helm"), filepath.Join(cp.Root, "charts", "gatewarden"), releaseNS, "certManager.enabled=false")
	require.NoError(t, err)
	secret := chart.Find(objs, "Secret", "gatewarden-serving-cert")
	require.NotNil(t, secret, "the chart creates the Secret the server fills")
	secret.SetNamespace(releaseNS)
	require.NoError(t, cp.Client.Create(ctx, secret))

	webhooks, err := cp.ChartWebhookConfiguration("certManager.enabled=false")
	require.NoError(t, err)
	certDir := t.TempDir()
	s, err := cp.StartGatewarden(ctx, "self-signed", webhooks,
		"--self-signed", "--namespace="+releaseNS, "--cert-dir="+certDir,
		"--self-signed-secret-name=gatewarden-serving-cert", "--webhook-service-name=gatewarden",
		"--webhook-config-name=gatewarden-self-signed")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Stop(context.Background())) })

	filled := &corev1.Secret{}
	require.NoError(t, cp.Client.Get(ctx, types.NamespacedName{Namespace: releaseNS, Name: "gatewarden-serving-cert"}, filled))
	for _, key := range []string{certs.KeyCACert, certs.KeyTLSCert, certs.KeyTLSKey, certs.KeyCABundle} {
		assert.NotEmpty(t, filled.Data[key], key)
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, cp.Client.Get(ctx, types.NamespacedName{Name: "gatewarden-self-signed"}, vwc))
	for _, w := range vwc.Webhooks {
		assert.Equal(t, filled.Data[certs.KeyCABundle], w.ClientConfig.CABundle, "%s trusts the self-signed CA", w.Name)
	}
	served, err := os.ReadFile(filepath.Join(certDir, "tls.crt"))
	require.NoError(t, err)
	assert.Equal(t, filled.Data[certs.KeyTLSCert], served, "the server serves the certificate of its Secret")
	// StartGatewarden returned only once the API server called the webhook
	// successfully, through the self-signed CA: prove it with a denial.
	require.NoError(t, cp.CreateNamespace(ctx, "self-signed-app", nil))
	require.NoError(t, cp.CreateNamespace(ctx, "gatewarden-probe-infra", nil))
	res := cp.Kubectl(ctx, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: gatewarden-probe-infra}
spec:
  gatewayClassName: example
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: self-signed-app}
spec:
  parentRefs: [{name: gw, namespace: gatewarden-probe-infra}]
`, "apply", "-f", "-")
	require.Error(t, res.Err)
	assert.Contains(t, res.Stderr, `admission webhook "httproutes.gatewarden.dev" denied the request: spec.parentRefs[0]: Gateway gatewarden-probe-infra/gw listener "http" accepts routes only from its own namespace`)
}

// doctor against the local control plane: before the install it names the
// missing pieces and fails; with every piece in place it says OK.
func TestDoctor(t *testing.T) {
	ctx := context.Background()
	bin, err := cp.Gatewarden()
	require.NoError(t, err)
	doctor := func() (int, map[string]string, string) {
		cmd := exec.CommandContext(ctx, bin, "doctor", "--kubeconfig", cp.Kubeconfig, "--namespace", releaseNS, "-o", "json")
		out, err := cmd.Output()
		code := 0
		if err != nil {
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, string(out))
			code = ee.ExitCode()
		}
		var report struct {
			Checks []struct{ Name, Status, Detail, Fix string } `json:"checks"`
		}
		require.NoError(t, json.Unmarshal(out, &report), string(out))
		status := map[string]string{}
		for _, c := range report.Checks {
			status[c.Name] = c.Status
		}
		return code, status, string(out)
	}

	code, status, out := doctor()
	assert.Equal(t, 1, code, out)
	assert.Equal(t, "OK", status["gateway-api-crds"], out)
	assert.Equal(t, "FAIL", status["webhook-config"], out)
	assert.Contains(t, out, "helm upgrade --install gatewarden", "a failed check comes with its fix")

	// Install what the chart renders, as `helm install` would (with
	// cert-manager), minus the pods: this control plane runs none.
	res := cp.Kubectl(ctx, render(t), "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	t.Cleanup(func() {
		// The webhooks point at a Service without pods and fail closed:
		// remove them so that nothing else in this control plane is blocked.
		_ = cp.Client.Delete(context.Background(), &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "gatewarden"}})
	})
	// cert-manager's part: the serving Secret and the injected caBundle
	// (made here by the self-signed issuer code, as cert-manager would),
	// and the Certificate marked Ready.
	require.NoError(t, client.IgnoreAlreadyExists(cp.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNS, Name: "gatewarden-serving-cert"}})))
	issuer := &certs.SelfSigned{Client: cp.Client, Namespace: releaseNS, SecretName: "gatewarden-serving-cert",
		WebhookConfigName: "gatewarden", ServiceName: "gatewarden", CertDir: t.TempDir()}
	require.NoError(t, issuer.Ensure(ctx))
	cert := &cmv1.Certificate{}
	require.NoError(t, cp.Client.Get(ctx, types.NamespacedName{Namespace: releaseNS, Name: "gatewarden-serving"}, cert))
	cert.Status = cmv1.CertificateStatus{
		Conditions: []cmv1.CertificateCondition{{Type: cmv1.CertificateConditionReady, Status: cmmeta.ConditionTrue, Reason: "Ready", Message: "issued"}},
		NotAfter:   ptr.To(metav1.NewTime(time.Now().Add(60 * 24 * time.Hour))),
	}
	require.NoError(t, cp.Client.Status().Update(ctx, cert))
	// The Service's ready endpoint, as the endpoint controller would write
	// it for a ready pod. It is only read, never called.
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: releaseNS, Name: "gatewarden-abcde", Labels: map[string]string{discoveryv1.LabelServiceName: "gatewarden"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.10"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("webhook"), Port: ptr.To(int32(9443))}},
	}
	require.NoError(t, cp.Client.Create(ctx, slice))

	code, status, out = doctor()
	assert.Equal(t, 0, code, out)
	for name, st := range status {
		assert.Equal(t, "OK", st, "%s: %s", name, out)
	}
	assert.GreaterOrEqual(t, len(status), 5, out)

	// A certificate about to expire is reported.
	cert.Status.NotAfter = ptr.To(metav1.NewTime(time.Now().Add(48 * time.Hour)))
	require.NoError(t, cp.Client.Status().Update(ctx, cert))
	_, status, out = doctor()
	assert.NotEqual(t, "OK", status["certificate"], out)
	assert.True(t, strings.Contains(out, "expire"), out)
}
