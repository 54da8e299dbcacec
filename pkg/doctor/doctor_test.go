package doctor

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"slices"
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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/gatewarden/gatewarden/pkg/certs"
)

const (
	ns      = "gatewarden-system"
	svcName = "gatewarden"
	host    = "gatewarden.gatewarden-system.svc"
)

var (
	now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	// webhooks are the chart's: name and the operations of its rule. Those
	// that match updates carry a matchCondition.
	webhooks = []struct {
		name string
		ops  []admissionregistrationv1.OperationType
	}{
		{"httproutes.gatewarden.dev", createUpdate}, {"grpcroutes.gatewarden.dev", createUpdate}, {"tlsroutes.gatewarden.dev", createUpdate},
		{"tcproutes.gatewarden.dev", createUpdate}, {"udproutes.gatewarden.dev", createUpdate}, {"gateways.gatewarden.dev", createUpdate},
		{"gateway-deletions.gatewarden.dev", []admissionregistrationv1.OperationType{admissionregistrationv1.Delete}},
		{"namespaces.gatewarden.dev", createUpdate},
	}
	createUpdate = []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
)

// --- discovery -------------------------------------------------------------

func resources(groupVersion string, names ...string) *metav1.APIResourceList {
	list := &metav1.APIResourceList{GroupVersion: groupVersion}
	for _, n := range names {
		list.APIResources = append(list.APIResources, metav1.APIResource{Name: n}, metav1.APIResource{Name: n + "/status"})
	}
	return list
}

func gatewayAPI() []*metav1.APIResourceList {
	return []*metav1.APIResourceList{
		resources("gateway.networking.k8s.io/v1", "gatewayclasses", "gateways", "httproutes", "grpcroutes",
			"tlsroutes", "tcproutes", "udproutes", "listenersets", "referencegrants"),
		resources("gateway.networking.k8s.io/v1beta1", "referencegrants"),
	}
}

func certManagerAPI() *metav1.APIResourceList {
	return resources("cert-manager.io/v1", "certificates", "certificaterequests", "issuers", "clusterissuers")
}

func discoveryOf(lists ...*metav1.APIResourceList) *fakediscovery.FakeDiscovery {
	return &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: lists}}
}

// --- certificates ------------------------------------------------------------

type pair struct {
	cert            *x509.Certificate
	key             *ecdsa.PrivateKey
	certPEM, keyPEM []byte
}

func issue(t *testing.T, parent *pair, cn string, dnsNames []string, notAfter time.Time) *pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     dnsNames,
		NotBefore:    now.Add(-24 * time.Hour),
		NotAfter:     notAfter,
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, key.Public(), signerKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return &pair{
		cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// --- objects -------------------------------------------------------------------

// webhookConfig is the chart's webhook configuration, every webhook with
// the same failurePolicy but gateway-deletions, which the chart always makes
// Ignore.
func webhookConfig(caBundle []byte, policy admissionregistrationv1.FailurePolicyType) *admissionregistrationv1.ValidatingWebhookConfiguration {
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "gatewarden"}}
	for _, w := range webhooks {
		wh := admissionregistrationv1.ValidatingWebhook{
			Name: w.name,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				Service:  &admissionregistrationv1.ServiceReference{Namespace: ns, Name: svcName, Port: ptr.To[int32](443)},
				CABundle: caBundle,
			},
			Rules:         []admissionregistrationv1.RuleWithOperations{{Operations: w.ops}},
			FailurePolicy: ptr.To(policy),
		}
		if w.name == "gateway-deletions.gatewarden.dev" {
			wh.FailurePolicy = ptr.To(admissionregistrationv1.Ignore)
		}
		if slices.Contains(w.ops, admissionregistrationv1.Update) {
			wh.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "changed", Expression: "request.operation != 'UPDATE' || object != oldObject"}}
		}
		vwc.Webhooks = append(vwc.Webhooks, wh)
	}
	return vwc
}

func service() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: svcName},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app.kubernetes.io/name": "gatewarden"},
			Ports:    []corev1.ServicePort{{Name: "webhook", Port: 443, TargetPort: intstr.FromInt32(9443)}},
		},
	}
}

func endpointSlice(ready ...bool) *discoveryv1.EndpointSlice {
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: svcName + "-abcde",
			Labels: map[string]string{discoveryv1.LabelServiceName: svcName},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("webhook"), Port: ptr.To[int32](9443)}},
	}
	for i, r := range ready {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{"10.0.0." + string(rune('1'+i))},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(r)},
		})
	}
	return slice
}

func servingSecret(name string, ca, leaf *pair) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey: leaf.certPEM, corev1.TLSPrivateKeyKey: leaf.keyPEM, "ca.crt": ca.certPEM,
		},
	}
}

func readyCertificate(notAfter time.Time) *cmv1.Certificate {
	return &cmv1.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gatewarden-serving"},
		Spec: cmv1.CertificateSpec{
			SecretName: "gatewarden-serving-cert",
			DNSNames:   []string{host},
			IssuerRef:  cmmeta.IssuerReference{Name: "gatewarden-ca", Kind: "Issuer"},
		},
		Status: cmv1.CertificateStatus{
			Conditions: []cmv1.CertificateCondition{{Type: cmv1.CertificateConditionReady, Status: cmmeta.ConditionTrue, Reason: "Ready"}},
			NotAfter:   &metav1.Time{Time: notAfter},
		},
	}
}

func newEnv(t *testing.T, disc *fakediscovery.FakeDiscovery, objs ...client.Object) *Env {
	t.Helper()
	scheme, err := NewScheme()
	require.NoError(t, err)
	return &Env{
		Client:               fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build(),
		Discovery:            disc,
		Namespace:            ns,
		WebhookConfigName:    "gatewarden",
		ServiceName:          svcName,
		CertificateName:      "gatewarden-serving",
		SelfSignedSecretName: "gatewarden-serving-cert",
		Now:                  func() time.Time { return now },
	}
}

// certManagerInstall is a healthy install in cert-manager mode.
func certManagerInstall(t *testing.T) (objs []client.Object, ca, leaf *pair) {
	t.Helper()
	ca = issue(t, nil, "gatewarden-ca", nil, now.Add(5*365*24*time.Hour))
	leaf = issue(t, ca, host, []string{svcName, svcName + "." + ns, host}, now.Add(60*24*time.Hour))
	vwc := webhookConfig(ca.certPEM, admissionregistrationv1.Fail)
	vwc.Annotations = map[string]string{cmv1.WantInjectAnnotation: ns + "/gatewarden-serving"}
	return []client.Object{
		vwc, service(), endpointSlice(true, true),
		readyCertificate(now.Add(60 * 24 * time.Hour)),
		servingSecret("gatewarden-serving-cert", ca, leaf),
	}, ca, leaf
}

func resultOf(t *testing.T, r Report, name string) Result {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no result for %s in %+v", name, r.Checks)
	return Result{}
}

func requireAllOK(t *testing.T, r Report) {
	t.Helper()
	require.Len(t, r.Checks, len(Checks()))
	for _, c := range r.Checks {
		assert.Equal(t, StatusOK, c.Status, "%s: %s (fix: %s)", c.Name, c.Detail, c.Fix)
		assert.Empty(t, c.Fix, c.Name)
	}
	assert.False(t, r.Failed())
}

// --- everything in place ---------------------------------------------------------

func TestEverythingInPlaceCertManager(t *testing.T) {
	objs, _, _ := certManagerInstall(t)
	e := newEnv(t, discoveryOf(append(gatewayAPI(), certManagerAPI())...), objs...)
	r := Run(context.Background(), e, Checks())
	requireAllOK(t, r)
	assert.Contains(t, resultOf(t, r, nameCertificate).Detail, "Certificate gatewarden-system/gatewarden-serving Ready, expires in 60d")
	assert.Contains(t, resultOf(t, r, nameServingCert).Detail, "verifies for gatewarden.gatewarden-system.svc against the caBundle of 8 webhooks")
	assert.Contains(t, resultOf(t, r, nameWebhookConfig).Detail, "injected by cert-manager from Certificate gatewarden-system/gatewarden-serving")
}

// The self-signed install is made by pkg/certs itself, so the doctor is
// checked against what the server really writes.
func TestEverythingInPlaceSelfSigned(t *testing.T) {
	e := newEnv(t, discoveryOf(gatewayAPI()...),
		webhookConfig(nil, admissionregistrationv1.Fail), service(), endpointSlice(true),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gatewarden-serving-cert"}, Type: corev1.SecretTypeOpaque})
	s := &certs.SelfSigned{
		Client: e.Client, Namespace: ns, SecretName: "gatewarden-serving-cert", WebhookConfigName: "gatewarden",
		ServiceName: svcName, CertDir: t.TempDir(), Now: e.Now,
	}
	require.NoError(t, s.Ensure(context.Background()))

	r := Run(context.Background(), e, Checks())
	requireAllOK(t, r)
	assert.Contains(t, resultOf(t, r, nameCertificate).Detail, "cert-manager not installed: self-signed mode")
	assert.Contains(t, resultOf(t, r, nameFailurePolicy).Detail,
		"Fail on 7 of 8 webhooks (httproutes, grpcroutes, tlsroutes, tcproutes, udproutes, gateways, namespaces): their writes are rejected "+
			"whenever gatewarden is down (escape hatch: kubectl delete validatingwebhookconfiguration gatewarden)")
}

// --- gateway-api-crds ---------------------------------------------------------------

func TestGatewayAPICRDs(t *testing.T) {
	ctx := context.Background()
	t.Run("served", func(t *testing.T) {
		r := GatewayAPICRDs(ctx, newEnv(t, discoveryOf(gatewayAPI()...)))
		assert.Equal(t, StatusOK, r.Status)
		assert.Contains(t, r.Detail, "gateways v1")
		assert.Contains(t, r.Detail, "referencegrants v1,v1beta1")
		assert.Contains(t, r.Detail, "listenersets v1", "doctor says whether the ListenerSet CRD is served")
		assert.NotContains(t, r.Detail, "status")
	})
	t.Run("not installed", func(t *testing.T) {
		r := GatewayAPICRDs(ctx, newEnv(t, discoveryOf(certManagerAPI())))
		assert.Equal(t, StatusFail, r.Status)
		assert.Contains(t, r.Detail, "missing: gateways, httproutes")
		assert.Equal(t, fixInstallGatewayAPI(), r.Fix)
	})
	t.Run("only some kinds", func(t *testing.T) {
		r := GatewayAPICRDs(ctx, newEnv(t, discoveryOf(resources("gateway.networking.k8s.io/v1", "gateways", "grpcroutes"))))
		assert.Equal(t, StatusFail, r.Status)
		assert.Contains(t, r.Detail, "missing: httproutes")
		assert.Contains(t, r.Detail, "not installed: tlsroutes, tcproutes, udproutes, listenersets, referencegrants")
	})
	t.Run("an old install", func(t *testing.T) {
		r := GatewayAPICRDs(ctx, newEnv(t, discoveryOf(
			resources("gateway.networking.k8s.io/v1", "gateways", "httproutes"),
			resources("gateway.networking.k8s.io/v1alpha2", "tlsroutes", "tcproutes"))))
		assert.Equal(t, StatusWarn, r.Status)
		assert.Contains(t, r.Detail, "not validated (gatewarden reads v1): tlsroutes v1alpha2; tcproutes v1alpha2")
		assert.Contains(t, r.Fix, "v1.6.3/standard-install.yaml")
	})
	t.Run("gateways not at v1", func(t *testing.T) {
		r := GatewayAPICRDs(ctx, newEnv(t, discoveryOf(resources("gateway.networking.k8s.io/v1beta1", "gateways", "httproutes"))))
		assert.Equal(t, StatusFail, r.Status)
		assert.Contains(t, r.Detail, "served only at an old version: gateways v1beta1; httproutes v1beta1")
	})
}

// --- webhook-config -----------------------------------------------------------------

func TestMissingWebhookConfiguration(t *testing.T) {
	objs, _, _ := certManagerInstall(t)
	e := newEnv(t, discoveryOf(append(gatewayAPI(), certManagerAPI())...), objs[1:]...)
	r := Run(context.Background(), e, Checks())

	wc := resultOf(t, r, nameWebhookConfig)
	assert.Equal(t, StatusFail, wc.Status)
	assert.Equal(t, "ValidatingWebhookConfiguration gatewarden not found: nothing is validated", wc.Detail)
	assert.Contains(t, wc.Fix, "helm upgrade --install gatewarden <chart> -n gatewarden-system")
	assert.Equal(t, StatusWarn, resultOf(t, r, nameServingCert).Status, "cannot be verified without a caBundle")
	assert.Equal(t, StatusWarn, resultOf(t, r, nameFailurePolicy).Status)
	assert.True(t, r.Failed())
}

func TestEmptyCABundle(t *testing.T) {
	ctx := context.Background()
	t.Run("self-signed", func(t *testing.T) {
		e := newEnv(t, discoveryOf(gatewayAPI()...), webhookConfig(nil, admissionregistrationv1.Fail))
		r := WebhookConfiguration(ctx, e)
		assert.Equal(t, StatusFail, r.Status)
		assert.Contains(t, r.Detail, "empty caBundle in 8 of 8 webhooks")
		assert.Contains(t, r.Fix, "kubectl -n gatewarden-system rollout restart deployment/gatewarden")
	})
	t.Run("cert-manager", func(t *testing.T) {
		vwc := webhookConfig(nil, admissionregistrationv1.Fail)
		vwc.Annotations = map[string]string{cmv1.WantInjectAnnotation: ns + "/gatewarden-serving"}
		e := newEnv(t, discoveryOf(append(gatewayAPI(), certManagerAPI())...), vwc)
		r := WebhookConfiguration(ctx, e)
		assert.Equal(t, StatusFail, r.Status)
		assert.Contains(t, r.Fix, "cainjector")
	})
	t.Run("not PEM", func(t *testing.T) {
		e := newEnv(t, discoveryOf(gatewayAPI()...), webhookConfig([]byte("garbage"), admissionregistrationv1.Fail))
		r := WebhookConfiguration(ctx, e)
		assert.Equal(t, StatusFail, r.Status)
		assert.Contains(t, r.Detail, "caBundle is not PEM certificates in httproutes.gatewarden.dev (no PEM certificate)")
	})
}

func TestWebhooksCallingAnotherService(t *testing.T) {
	objs, _, _ := certManagerInstall(t)
	vwc := objs[0].(*admissionregistrationv1.ValidatingWebhookConfiguration)
	vwc.Webhooks[2].ClientConfig.Service = nil
	vwc.Webhooks[2].ClientConfig.URL = ptr.To("https://example.com/validate")
	r := WebhookConfiguration(context.Background(), newEnv(t, discoveryOf(gatewayAPI()...), objs...))
	assert.Equal(t, StatusWarn, r.Status)
	assert.Contains(t, r.Detail, "tlsroutes.gatewarden.dev calls URL https://example.com/validate")
}

// --- serving-cert --------------------------------------------------------------------

func TestServingCertDoesNotVerifyAgainstCABundle(t *testing.T) {
	objs, _, _ := certManagerInstall(t)
	other := issue(t, nil, "someone-else", nil, now.Add(365*24*time.Hour))
	vwc := objs[0].(*admissionregistrationv1.ValidatingWebhookConfiguration)
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig.CABundle = other.certPEM
	}
	e := newEnv(t, discoveryOf(append(gatewayAPI(), certManagerAPI())...), objs...)
	r := Run(context.Background(), e, Checks())

	sc := resultOf(t, r, nameServingCert)
	assert.Equal(t, StatusFail, sc.Status)
	assert.Contains(t, sc.Detail, "does not verify for gatewarden.gatewarden-system.svc against the caBundle of 8 of 8 webhooks")
	assert.Contains(t, sc.Detail, "certificate signed by unknown authority")
	assert.Equal(t, e.fixCABundle(certSource{injectFrom: "x"}), sc.Fix)
	assert.Equal(t, StatusOK, resultOf(t, r, nameWebhookConfig).Status, "the bundle itself parses")
	assert.True(t, r.Failed())
}

func TestServingCertForAnotherName(t *testing.T) {
	objs, ca, _ := certManagerInstall(t)
	wrong := issue(t, ca, "gatewarden.default.svc", []string{"gatewarden.default.svc"}, now.Add(60*24*time.Hour))
	objs[len(objs)-1] = servingSecret("gatewarden-serving-cert", ca, wrong)
	r := ServingCertificate(context.Background(), newEnv(t, discoveryOf(append(gatewayAPI(), certManagerAPI())...), objs...))
	assert.Equal(t, StatusFail, r.Status)
	assert.Contains(t, r.Fix, "the certificate must name gatewarden.gatewarden-system.svc (it names gatewarden.default.svc)")
}

func TestServingCertKeyMismatch(t *testing.T) {
	objs, ca, leaf := certManagerInstall(t)
	secret := servingSecret("gatewarden-serving-cert", ca, leaf)
	secret.Data[corev1.TLSPrivateKeyKey] = ca.keyPEM
	objs[len(objs)-1] = secret
	r := ServingCertificate(context.Background(), newEnv(t, discoveryOf(append(gatewayAPI(), certManagerAPI())...), objs...))
	assert.Equal(t, StatusFail, r.Status)
	assert.Contains(t, r.Detail, "tls.key does not go with tls.crt")
}

func TestServingSecretUnreadable(t *testing.T) {
	objs, _, _ := certManagerInstall(t)
	e := newEnv(t, discoveryOf(append(gatewayAPI(), certManagerAPI())...), objs...)
	e.Client = interceptor.NewClient(e.Client.(client.WithWatch), interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if _, isSecret := obj.(*corev1.Secret); isSecret {
				return apierrors.NewForbidden(corev1.Resource("secrets"), key.Name, nil)
			}
			return c.Get(ctx, key, obj, opts...)
		},
	})
	r := ServingCertificate(context.Background(), e)
	assert.Equal(t, StatusWarn, r.Status, "lacking rights says nothing about the install")
	assert.Contains(t, r.Detail, "not checked")
	assert.Contains(t, r.Fix, "kubectl auth can-i")
}

// --- certificate -------------------------------------------------------------------------

func TestCertManagerCertificate(t *testing.T) {
	ctx := context.Background()
	disc := func() *fakediscovery.FakeDiscovery { return discoveryOf(append(gatewayAPI(), certManagerAPI())...) }
	withCert := func(t *testing.T, cert *cmv1.Certificate) *Env {
		objs, _, _ := certManagerInstall(t)
		objs[3] = cert
		return newEnv(t, disc(), objs...)
	}

	t.Run("expiring in 3 days", func(t *testing.T) {
		r := Certificate(ctx, withCert(t, readyCertificate(now.Add(3*24*time.Hour))))
		assert.Equal(t, StatusWarn, r.Status)
		assert.Contains(t, r.Detail, "expires in 3d")
		assert.Contains(t, r.Fix, "kubectl -n gatewarden-system describe certificate gatewarden-serving")
	})
	t.Run("expired", func(t *testing.T) {
		r := Certificate(ctx, withCert(t, readyCertificate(now.Add(-time.Hour))))
		assert.Equal(t, StatusFail, r.Status)
		assert.Contains(t, r.Detail, "expired")
	})
	t.Run("not ready", func(t *testing.T) {
		cert := readyCertificate(now.Add(60 * 24 * time.Hour))
		cert.Status.Conditions[0] = cmv1.CertificateCondition{
			Type: cmv1.CertificateConditionReady, Status: cmmeta.ConditionFalse,
			Reason: "DoesNotExist", Message: "Issuing certificate as Secret does not exist",
		}
		r := Certificate(ctx, withCert(t, cert))
		assert.Equal(t, StatusFail, r.Status)
		assert.Equal(t, "Certificate gatewarden-system/gatewarden-serving is not Ready (DoesNotExist): Issuing certificate as Secret does not exist", r.Detail)
	})
	t.Run("annotation names another Certificate", func(t *testing.T) {
		e := withCert(t, readyCertificate(now.Add(60*24*time.Hour)))
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		require.NoError(t, e.Client.Get(ctx, client.ObjectKey{Name: "gatewarden"}, vwc))
		vwc.Annotations[cmv1.WantInjectAnnotation] = "default/other"
		require.NoError(t, e.Client.Update(ctx, vwc))
		r := Certificate(ctx, e)
		assert.Equal(t, StatusWarn, r.Status)
		assert.Contains(t, r.Fix, "cert-manager.io/inject-ca-from: gatewarden-system/gatewarden-serving")
	})
	t.Run("annotated but no cert-manager", func(t *testing.T) {
		objs, _, _ := certManagerInstall(t)
		r := Certificate(ctx, newEnv(t, discoveryOf(gatewayAPI()...), objs...))
		assert.Equal(t, StatusFail, r.Status)
		assert.Contains(t, r.Detail, "cert-manager's CRDs are not installed")
	})
	t.Run("annotated but no Certificate", func(t *testing.T) {
		objs, _, _ := certManagerInstall(t)
		r := Certificate(ctx, newEnv(t, disc(), objs[:3]...))
		assert.Equal(t, StatusFail, r.Status)
		assert.Contains(t, r.Detail, "Certificate gatewarden-system/gatewarden-serving not found")
	})
}

func TestSelfSignedSecret(t *testing.T) {
	ctx := context.Background()
	emptySecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gatewarden-serving-cert"}}

	t.Run("cert-manager installed, not used", func(t *testing.T) {
		ca := issue(t, nil, "gatewarden-ca", nil, now.Add(5*365*24*time.Hour))
		leaf := issue(t, ca, host, []string{host}, now.Add(300*24*time.Hour))
		e := newEnv(t, discoveryOf(append(gatewayAPI(), certManagerAPI())...),
			webhookConfig(ca.certPEM, admissionregistrationv1.Fail), servingSecret("gatewarden-serving-cert", ca, leaf))
		r := Certificate(ctx, e)
		assert.Equal(t, StatusOK, r.Status, r.Detail)
		assert.Contains(t, r.Detail, "cert-manager installed but no Certificate gatewarden-system/gatewarden-serving: self-signed mode")
	})
	t.Run("not filled yet", func(t *testing.T) {
		e := newEnv(t, discoveryOf(gatewayAPI()...), webhookConfig(nil, admissionregistrationv1.Fail), emptySecret)
		r := Certificate(ctx, e)
		assert.Equal(t, StatusFail, r.Status)
		assert.Equal(t, "Secret gatewarden-system/gatewarden-serving-cert has no tls.crt: gatewarden has not filled it yet", r.Detail)
		assert.Contains(t, r.Fix, "update on secrets/gatewarden-serving-cert")
	})
	t.Run("missing", func(t *testing.T) {
		r := Certificate(ctx, newEnv(t, discoveryOf(gatewayAPI()...)))
		assert.Equal(t, StatusFail, r.Status)
		assert.Contains(t, r.Detail, "the chart creates it empty")
	})
	t.Run("about to expire", func(t *testing.T) {
		ca := issue(t, nil, "gatewarden-ca", nil, now.Add(5*365*24*time.Hour))
		leaf := issue(t, ca, host, []string{host}, now.Add(20*time.Hour))
		r := Certificate(ctx, newEnv(t, discoveryOf(gatewayAPI()...), servingSecret("gatewarden-serving-cert", ca, leaf)))
		assert.Equal(t, StatusWarn, r.Status)
		assert.Contains(t, r.Detail, "serving certificate expires in 20h")
	})
}

// --- service and failure-policy ----------------------------------------------------------

func TestNoReadyEndpoints(t *testing.T) {
	objs, _, _ := certManagerInstall(t)
	objs[2] = endpointSlice(false, false)
	e := newEnv(t, discoveryOf(append(gatewayAPI(), certManagerAPI())...), objs...)
	r := Run(context.Background(), e, Checks())

	svc := resultOf(t, r, nameService)
	assert.Equal(t, StatusFail, svc.Status)
	assert.Equal(t, "Service gatewarden-system/gatewarden has no ready endpoint: no gatewarden pod is Ready (2 not ready)", svc.Detail)
	assert.Contains(t, svc.Fix, "kubectl -n gatewarden-system logs deployment/gatewarden")

	fp := resultOf(t, r, nameFailurePolicy)
	assert.Equal(t, StatusFail, fp.Status)
	assert.Contains(t, fp.Detail, "the API server rejects these writes now")
	assert.Contains(t, fp.Fix, "kubectl delete validatingwebhookconfiguration gatewarden")
	assert.Contains(t, fp.Fix, `kubectl patch validatingwebhookconfiguration gatewarden --type=json -p '[{"op":"add","path":"/webhooks/0/failurePolicy","value":"Ignore"},`)
	assert.Contains(t, fp.Fix, `"/webhooks/7/failurePolicy"`)
	assert.NotContains(t, fp.Fix, `"/webhooks/6/failurePolicy"`, "gateway-deletions already fails open")
}

func TestNoEndpointSliceAtAll(t *testing.T) {
	r := ServiceEndpoints(context.Background(), newEnv(t, discoveryOf(), service()))
	assert.Equal(t, StatusFail, r.Status)
	assert.Contains(t, r.Detail, "no ready endpoint")
}

func TestServiceWithoutTheWebhookPort(t *testing.T) {
	svc := service()
	svc.Spec.Ports[0].Port = 8443
	r := ServiceEndpoints(context.Background(), newEnv(t, discoveryOf(), svc, endpointSlice(true),
		webhookConfig(nil, admissionregistrationv1.Fail)))
	assert.Equal(t, StatusFail, r.Status)
	assert.Contains(t, r.Detail, "has no port 443, which the webhooks call")
}

func TestMissingService(t *testing.T) {
	r := ServiceEndpoints(context.Background(), newEnv(t, discoveryOf()))
	assert.Equal(t, StatusFail, r.Status)
	assert.Contains(t, r.Fix, "Service gatewarden is created by the chart")
}

func TestFailurePolicyIgnore(t *testing.T) {
	ctx := context.Background()
	vwc := webhookConfig(nil, admissionregistrationv1.Ignore)
	r := FailurePolicy(ctx, newEnv(t, discoveryOf(), vwc, endpointSlice(true)))
	assert.Equal(t, StatusOK, r.Status)
	assert.Contains(t, r.Detail, "writes are admitted unchecked whenever gatewarden is down")

	r = FailurePolicy(ctx, newEnv(t, discoveryOf(), vwc))
	assert.Equal(t, StatusWarn, r.Status)
	assert.Contains(t, r.Detail, "admitted unchecked now")
}

func TestFailurePolicyUnsetIsFail(t *testing.T) {
	vwc := webhookConfig(nil, admissionregistrationv1.Ignore)
	vwc.Webhooks[7].FailurePolicy = nil
	r := FailurePolicy(context.Background(), newEnv(t, discoveryOf(), vwc))
	assert.Equal(t, StatusFail, r.Status)
	assert.Contains(t, r.Detail, "Fail on 1 of 8 webhooks (namespaces)")
	assert.Contains(t, r.Fix, `/webhooks/7/failurePolicy`)
	assert.NotContains(t, r.Fix, `/webhooks/0/failurePolicy`)
}

// The chart's own split: the webhooks that may deny fail closed, and the
// doctor names them.
func TestFailurePolicyNamesTheWebhooksThatFailClosed(t *testing.T) {
	vwc := webhookConfig(nil, admissionregistrationv1.Ignore)
	for i := range 5 {
		vwc.Webhooks[i].FailurePolicy = ptr.To(admissionregistrationv1.Fail)
	}
	r := FailurePolicy(context.Background(), newEnv(t, discoveryOf(), vwc, endpointSlice(true)))
	assert.Equal(t, StatusOK, r.Status)
	assert.Equal(t, "Fail on 5 of 8 webhooks (httproutes, grpcroutes, tlsroutes, tcproutes, udproutes): their writes are rejected "+
		"whenever gatewarden is down (escape hatch: kubectl delete validatingwebhookconfiguration gatewarden)", r.Detail)
}

// --- match-conditions -------------------------------------------------------------------

func TestMatchConditions(t *testing.T) {
	ctx := context.Background()
	t.Run("the chart's webhooks", func(t *testing.T) {
		r := MatchConditions(ctx, newEnv(t, discoveryOf(), webhookConfig(nil, admissionregistrationv1.Fail)))
		assert.Equal(t, Result{Name: nameMatchConditions, Status: StatusOK,
			Detail: "7 webhooks send gatewarden only the updates it evaluates (httproutes, grpcroutes, tlsroutes, tcproutes, udproutes, gateways, namespaces); " +
				"no delete fails closed"}, r)
	})

	// What the chart installed before it narrowed its webhooks: no
	// matchConditions, Gateway deletes in the gateways webhook, all Fail.
	old := webhookConfig(nil, admissionregistrationv1.Fail)
	old.Webhooks = slices.Delete(old.Webhooks, 6, 7)
	for i := range old.Webhooks {
		old.Webhooks[i].MatchConditions = nil
	}
	old.Webhooks[5].Rules[0].Operations = []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete}

	t.Run("an install from before", func(t *testing.T) {
		r := MatchConditions(ctx, newEnv(t, discoveryOf(), old))
		assert.Equal(t, StatusWarn, r.Status)
		assert.Equal(t, "no matchConditions on httproutes, grpcroutes, tlsroutes, tcproutes, udproutes, gateways, namespaces: "+
			"every update they match reaches gatewarden, metadata-only ones included, and fails while it is down where failurePolicy is Fail; "+
			"gateways fails deletes closed, which gatewarden never denies", r.Detail)
		assert.Equal(t, "upgrade the install: helm upgrade gatewarden <chart> -n gatewarden-system (or kubectl apply -k config/default): "+
			"its webhooks send gatewarden only the writes it evaluates and fail closed only where it may deny", r.Fix)
	})

	t.Run("a delete failing closed is not", func(t *testing.T) {
		vwc := webhookConfig(nil, admissionregistrationv1.Fail)
		vwc.Webhooks[6].FailurePolicy = nil
		r := MatchConditions(ctx, newEnv(t, discoveryOf(), vwc))
		assert.Equal(t, StatusWarn, r.Status, "an unset failurePolicy is Fail")
		assert.Equal(t, "gateway-deletions fails deletes closed, which gatewarden never denies", r.Detail)
	})

	t.Run("no webhook configuration", func(t *testing.T) {
		r := MatchConditions(ctx, newEnv(t, discoveryOf()))
		assert.Equal(t, StatusWarn, r.Status)
		assert.Equal(t, "not checked: no ValidatingWebhookConfiguration", r.Detail)
	})
}

// --- report ---------------------------------------------------------------------------

func TestReportText(t *testing.T) {
	r := Report{Checks: []Result{
		{Name: "gateway-api-crds", Status: StatusOK, Detail: "served: gateways v1"},
		{Name: "service", Status: StatusFail, Detail: "no ready\nendpoint", Fix: "start the pods"},
		{Name: "certificate", Status: StatusWarn, Detail: "expires soon", Fix: "renew it"},
	}}
	var out bytes.Buffer
	require.NoError(t, r.WriteText(&out))
	assert.Equal(t, `CHECK             STATUS  DETAIL
gateway-api-crds  OK      served: gateways v1
service           FAIL    no ready endpoint
certificate       WARN    expires soon

Fixes:
  service: start the pods
  certificate: renew it
`, out.String())
	assert.True(t, r.Failed())

	out.Reset()
	require.NoError(t, Report{Checks: r.Checks[:1]}.WriteText(&out))
	assert.NotContains(t, out.String(), "Fixes")
}

func TestReportJSON(t *testing.T) {
	r := Report{Checks: []Result{
		{Name: "service", Status: StatusFail, Detail: "no ready endpoint", Fix: "start the pods"},
		{Name: "certificate", Status: StatusOK, Detail: "fine"},
	}}
	var out bytes.Buffer
	require.NoError(t, r.WriteJSON(&out))
	var got map[string][]map[string]string
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Equal(t, map[string][]map[string]string{"checks": {
		{"name": "service", "status": "FAIL", "detail": "no ready endpoint", "fix": "start the pods"},
		{"name": "certificate", "status": "OK", "detail": "fine"},
	}}, got)
	assert.False(t, strings.Contains(out.String(), `"fix": ""`))
}
