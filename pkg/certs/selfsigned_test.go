package certs

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

const (
	testNamespace = "gatewarden-system"
	testSecret    = "gatewarden-serving-cert"
	testVWC       = "gatewarden"
	testService   = "gatewarden"
	apiServerName = "gatewarden.gatewarden-system.svc"
)

var (
	t0          = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	day         = 24 * time.Hour
	month       = 30 * day
	year        = 365 * day
	webhookKeys = []string{
		"httproutes.gatewarden.dev", "grpcroutes.gatewarden.dev", "tlsroutes.gatewarden.dev",
		"tcproutes.gatewarden.dev", "udproutes.gatewarden.dev", "gateways.gatewarden.dev", "namespaces.gatewarden.dev",
	}
	secretKey = client.ObjectKey{Namespace: testNamespace, Name: testSecret}
	vwcKey    = client.ObjectKey{Name: testVWC}
)

// clock is a settable time source for SelfSigned.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// emptySecret is what the chart creates.
func emptySecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: testSecret},
		Type:       corev1.SecretTypeOpaque,
	}
}

// webhookConfig is what the chart creates: no caBundle yet, and fields that
// the caBundle patch must leave alone.
func webhookConfig() *admissionregistrationv1.ValidatingWebhookConfiguration {
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: testVWC, Labels: map[string]string{"app.kubernetes.io/name": "gatewarden"}},
	}
	for _, name := range webhookKeys {
		vwc.Webhooks = append(vwc.Webhooks, admissionregistrationv1.ValidatingWebhook{
			Name: name,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				Service: &admissionregistrationv1.ServiceReference{Namespace: testNamespace, Name: testService, Port: ptr.To[int32](443)},
			},
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To[int32](5),
			AdmissionReviewVersions: []string{"v1"},
		})
	}
	return vwc
}

func newSelfSigned(c client.Client, clk *clock, dir string) *SelfSigned {
	return &SelfSigned{
		Client:            c,
		Namespace:         testNamespace,
		SecretName:        testSecret,
		WebhookConfigName: testVWC,
		ServiceName:       testService,
		CertDir:           dir,
		Now:               clk.Now,
	}
}

func setup(t *testing.T, objs ...client.Object) (client.WithWatch, *SelfSigned, *clock) {
	t.Helper()
	if objs == nil {
		objs = []client.Object{emptySecret(), webhookConfig()}
	}
	c := fake.NewClientBuilder().WithObjects(objs...).Build()
	clk := &clock{now: t0}
	return c, newSelfSigned(c, clk, t.TempDir()), clk
}

func getSecret(t *testing.T, c client.Client) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	require.NoError(t, c.Get(context.Background(), secretKey, s))
	return s
}

func getVWC(t *testing.T, c client.Client) *admissionregistrationv1.ValidatingWebhookConfiguration {
	t.Helper()
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	require.NoError(t, c.Get(context.Background(), vwcKey, v))
	return v
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return b
}

func certs(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		out = append(out, c)
	}
	require.NotEmpty(t, out, "no certificate in %q", data)
	return out
}

// verifies reports the error of verifying certPEM for dnsName against the
// bundle, as the API server does when it calls the webhook.
func verifies(t *testing.T, certPEM, bundle []byte, dnsName string, at time.Time) error {
	t.Helper()
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(bundle), "caBundle holds no certificate")
	_, err := certs(t, certPEM)[0].Verify(x509.VerifyOptions{DNSName: dnsName, Roots: roots, CurrentTime: at})
	return err
}

// requireBundleEverywhere checks that every webhook carries the Secret's
// bundle.
func requireBundleEverywhere(t *testing.T, c client.Client) []byte {
	t.Helper()
	bundle := getSecret(t, c).Data[KeyCABundle]
	require.NotEmpty(t, bundle)
	vwc := getVWC(t, c)
	for i := range vwc.Webhooks {
		wh := &vwc.Webhooks[i]
		require.Equal(t, string(bundle), string(wh.ClientConfig.CABundle), "caBundle of %s", wh.Name)
	}
	return bundle
}

func TestEnsureBootstrapsCAServingCertFilesAndCABundle(t *testing.T) {
	c, s, _ := setup(t)
	require.NoError(t, s.Ensure(context.Background()))

	data := getSecret(t, c).Data
	for _, k := range []string{KeyCACert, KeyCAKey, KeyCABundle, KeyTLSCert, KeyTLSKey} {
		assert.NotEmpty(t, data[k], k)
	}
	ca := certs(t, data[KeyCACert])[0]
	assert.True(t, ca.IsCA)
	assert.Equal(t, x509.ECDSA, ca.PublicKeyAlgorithm)
	assert.WithinDuration(t, t0.Add(DefaultCAValidity), ca.NotAfter, time.Second)
	assert.Equal(t, string(data[KeyCACert]), string(data[KeyCABundle]), "a first CA is the whole bundle")

	leaf := certs(t, data[KeyTLSCert])[0]
	assert.ElementsMatch(t, []string{
		"gatewarden", "gatewarden.gatewarden-system", "gatewarden.gatewarden-system.svc",
		"gatewarden.gatewarden-system.svc.cluster.local",
	}, leaf.DNSNames)
	assert.WithinDuration(t, t0.Add(DefaultCertValidity), leaf.NotAfter, time.Second)

	for _, k := range []string{KeyTLSCert, KeyTLSKey, KeyCACert} {
		assert.Equal(t, string(data[k]), string(readFile(t, s.CertDir, k)), "file %s", k)
	}
	info, err := os.Stat(filepath.Join(s.CertDir, KeyTLSKey))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the private key is not world-readable")

	bundle := requireBundleEverywhere(t, c)
	served := readFile(t, s.CertDir, KeyTLSCert)
	for _, name := range s.dnsNames() {
		assert.NoError(t, verifies(t, served, bundle, name, t0), name)
	}
	assert.Error(t, verifies(t, served, bundle, "gatewarden.other-namespace.svc", t0))

	// Only caBundle changed in the webhook configuration.
	want := webhookConfig()
	got := getVWC(t, c)
	for i := range got.Webhooks {
		got.Webhooks[i].ClientConfig.CABundle = nil
	}
	assert.Equal(t, want.Webhooks, got.Webhooks)
	assert.Equal(t, want.Labels, got.Labels)
}

func TestEnsureAgainChangesNothing(t *testing.T) {
	c, s, clk := setup(t)
	ctx := context.Background()
	require.NoError(t, s.Ensure(ctx))
	secretRV, vwcRV := getSecret(t, c).ResourceVersion, getVWC(t, c).ResourceVersion
	filesBefore := readFile(t, s.CertDir, KeyTLSCert)

	clk.Set(t0.Add(30 * day))
	require.NoError(t, s.Ensure(ctx))

	assert.Equal(t, secretRV, getSecret(t, c).ResourceVersion, "no Secret update")
	assert.Equal(t, vwcRV, getVWC(t, c).ResourceVersion, "no webhook configuration patch")
	assert.Equal(t, filesBefore, readFile(t, s.CertDir, KeyTLSCert))
}

func TestEnsureRenewsServingCertWithTheSameCA(t *testing.T) {
	c, s, clk := setup(t)
	ctx := context.Background()
	require.NoError(t, s.Ensure(ctx))
	before := getSecret(t, c).Data
	vwcRV := getVWC(t, c).ResourceVersion

	// Default window: the last third of one year.
	clk.Set(t0.Add(9 * month))
	require.NoError(t, s.Ensure(ctx))
	after := getSecret(t, c).Data

	assert.Equal(t, string(before[KeyCACert]), string(after[KeyCACert]), "same CA")
	assert.Equal(t, string(before[KeyCABundle]), string(after[KeyCABundle]))
	assert.NotEqual(t, string(before[KeyTLSCert]), string(after[KeyTLSCert]), "serving certificate renewed")
	assert.NotEqual(t, string(before[KeyTLSKey]), string(after[KeyTLSKey]), "with a new key")
	assert.Equal(t, vwcRV, getVWC(t, c).ResourceVersion, "caBundle unchanged, not patched")
	assert.Equal(t, string(after[KeyTLSCert]), string(readFile(t, s.CertDir, KeyTLSCert)))
	assert.NoError(t, verifies(t, after[KeyTLSCert], after[KeyCABundle], apiServerName, clk.Now()))
	assert.WithinDuration(t, clk.Now().Add(DefaultCertValidity), certs(t, after[KeyTLSCert])[0].NotAfter, time.Second)
}

func TestEnsureRotatesCAAndTrustsBothUntilTheOldExpires(t *testing.T) {
	c, s, clk := setup(t)
	ctx := context.Background()
	require.NoError(t, s.Ensure(ctx))
	oldCA := getSecret(t, c).Data[KeyCACert]

	// Three years in, the serving certificate has been renewed by the old CA.
	clk.Set(t0.Add(3 * year))
	require.NoError(t, s.Ensure(ctx))
	require.Equal(t, string(oldCA), string(getSecret(t, c).Data[KeyCACert]), "CA not due yet")
	servedByOtherReplica := getSecret(t, c).Data[KeyTLSCert]

	// 19 months before the CA expires: inside its last third.
	clk.Set(t0.Add(DefaultCAValidity - 19*month))
	require.NoError(t, s.Ensure(ctx))
	data := getSecret(t, c).Data
	assert.NotEqual(t, string(oldCA), string(data[KeyCACert]), "CA rotated")
	bundle := requireBundleEverywhere(t, c)
	inBundle := certs(t, bundle)
	require.Len(t, inBundle, 2, "new and old CA")
	assert.Equal(t, certs(t, data[KeyCACert])[0].Raw, inBundle[0].Raw, "the current CA first")
	assert.Equal(t, certs(t, oldCA)[0].Raw, inBundle[1].Raw, "the old CA kept")

	// No admission fails during the switch: a replica that has not run
	// Ensure yet still serves the old CA's certificate, and it verifies.
	assert.NoError(t, verifies(t, servedByOtherReplica, bundle, apiServerName, clk.Now()))
	assert.NoError(t, verifies(t, data[KeyTLSCert], bundle, apiServerName, clk.Now()))
	assert.NoError(t, verifies(t, data[KeyTLSCert], data[KeyCACert], apiServerName, clk.Now()),
		"the new serving certificate is signed by the new CA")

	// Once the old CA has expired, it leaves the bundle.
	clk.Set(t0.Add(DefaultCAValidity + day))
	require.NoError(t, s.Ensure(ctx))
	bundle = requireBundleEverywhere(t, c)
	assert.Len(t, certs(t, bundle), 1)
	assert.Equal(t, string(getSecret(t, c).Data[KeyCACert]), string(bundle))
}

func TestReplicasRacingConvergeOnOneCA(t *testing.T) {
	base := fake.NewClientBuilder().WithObjects(emptySecret(), webhookConfig()).Build()
	clk := &clock{now: t0}
	a := newSelfSigned(base, clk, t.TempDir())
	ctx := context.Background()

	// b reads the empty Secret, then a completes a whole Ensure before b
	// writes: b's update must conflict, and b must adopt a's CA.
	var bUpdates int
	bClient := interceptor.NewClient(base, interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			bUpdates++
			if bUpdates == 1 {
				require.NoError(t, a.Ensure(ctx))
			}
			return c.Update(ctx, obj, opts...)
		},
	})
	b := newSelfSigned(bClient, clk, t.TempDir())
	require.NoError(t, b.Ensure(ctx))

	assert.Equal(t, 1, bUpdates, "after the conflict, b found the Secret valid and wrote nothing")
	data := getSecret(t, base).Data
	assert.Equal(t, string(data[KeyCACert]), string(readFile(t, a.CertDir, KeyCACert)))
	assert.Equal(t, string(data[KeyCACert]), string(readFile(t, b.CertDir, KeyCACert)), "one CA for both replicas")
	assert.Equal(t, string(data[KeyTLSCert]), string(readFile(t, b.CertDir, KeyTLSCert)))
	requireBundleEverywhere(t, base)
}

func TestReplicasStartingTogetherConverge(t *testing.T) {
	base := fake.NewClientBuilder().WithObjects(emptySecret(), webhookConfig()).Build()
	clk := &clock{now: t0}
	replicas := make([]*SelfSigned, 4)
	for i := range replicas {
		replicas[i] = newSelfSigned(base, clk, t.TempDir())
	}
	var wg sync.WaitGroup
	errs := make([]error, len(replicas))
	for i, r := range replicas {
		wg.Go(func() { errs[i] = r.Ensure(context.Background()) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "replica %d", i)
	}
	data := getSecret(t, base).Data
	for i, r := range replicas {
		assert.Equal(t, string(data[KeyCACert]), string(readFile(t, r.CertDir, KeyCACert)), "replica %d", i)
		assert.Equal(t, string(data[KeyTLSCert]), string(readFile(t, r.CertDir, KeyTLSCert)), "replica %d", i)
	}
	assert.Len(t, certs(t, requireBundleEverywhere(t, base)), 1, "one CA, not one per replica")
}

func TestEnsureReplacesGarbage(t *testing.T) {
	secret := emptySecret()
	secret.Data = map[string][]byte{
		KeyCACert:   []byte("not a certificate"),
		KeyCAKey:    []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		KeyCABundle: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
		KeyTLSCert:  {0xff, 0x00},
		KeyTLSKey:   nil,
		"unrelated": []byte("kept"),
	}
	vwc := webhookConfig()
	vwc.Webhooks[0].ClientConfig.CABundle = []byte("garbage")
	c, s, _ := setup(t, secret, vwc)
	require.NoError(t, s.Ensure(context.Background()))

	data := getSecret(t, c).Data
	assert.Equal(t, "kept", string(data["unrelated"]), "keys gatewarden does not own are kept")
	bundle := requireBundleEverywhere(t, c)
	assert.Len(t, certs(t, bundle), 1)
	assert.NoError(t, verifies(t, readFile(t, s.CertDir, KeyTLSCert), bundle, apiServerName, t0))
}

func TestEnsureReissuesWhatDoesNotFit(t *testing.T) {
	ctx := context.Background()
	c, s, _ := setup(t)
	require.NoError(t, s.Ensure(ctx))
	first := getSecret(t, c).Data

	t.Run("another Service name", func(t *testing.T) {
		other := newSelfSigned(c, &clock{now: t0}, t.TempDir())
		other.ServiceName = "webhook"
		require.NoError(t, other.Ensure(ctx))
		data := getSecret(t, c).Data
		assert.Equal(t, string(first[KeyCACert]), string(data[KeyCACert]), "same CA")
		assert.NoError(t, verifies(t, data[KeyTLSCert], data[KeyCABundle], "webhook.gatewarden-system.svc", t0))
	})

	t.Run("a serving certificate of another CA", func(t *testing.T) {
		// A second, unrelated installation's pair.
		_, foreign, _ := setup(t)
		require.NoError(t, foreign.Ensure(ctx))
		foreignData := getSecret(t, foreign.Client).Data

		secret := getSecret(t, c)
		secret.Data[KeyTLSCert], secret.Data[KeyTLSKey] = foreignData[KeyTLSCert], foreignData[KeyTLSKey]
		require.NoError(t, c.Update(ctx, secret))
		require.NoError(t, s.Ensure(ctx))
		data := getSecret(t, c).Data
		assert.NotEqual(t, string(foreignData[KeyTLSCert]), string(data[KeyTLSCert]))
		assert.NoError(t, verifies(t, data[KeyTLSCert], data[KeyCACert], apiServerName, t0))
	})

	t.Run("a key that does not match", func(t *testing.T) {
		secret := getSecret(t, c)
		secret.Data[KeyTLSKey] = secret.Data[KeyCAKey]
		require.NoError(t, c.Update(ctx, secret))
		require.NoError(t, s.Ensure(ctx))
		data := getSecret(t, c).Data
		assert.NotEqual(t, string(data[KeyCAKey]), string(data[KeyTLSKey]))
		assert.Equal(t, string(data[KeyTLSCert]), string(readFile(t, s.CertDir, KeyTLSCert)))
	})
}

func TestEnsureWithoutSecretSaysTheInstallMustCreateIt(t *testing.T) {
	_, s, _ := setup(t, webhookConfig())
	err := s.Ensure(context.Background())
	require.Error(t, err)
	assert.True(t, apierrors.IsNotFound(err), "the API error is kept: %v", err)
	assert.Contains(t, err.Error(), "gatewarden-system/gatewarden-serving-cert not found")
	assert.Contains(t, err.Error(), "the install must create it")
	_, statErr := os.Stat(filepath.Join(s.CertDir, KeyTLSCert))
	assert.ErrorIs(t, statErr, os.ErrNotExist)
}

func TestEnsureWithoutWebhookConfiguration(t *testing.T) {
	c, s, _ := setup(t, emptySecret())
	err := s.Ensure(context.Background())
	require.Error(t, err)
	assert.True(t, apierrors.IsNotFound(err), "the API error is kept: %v", err)
	assert.Contains(t, err.Error(), `ValidatingWebhookConfiguration "gatewarden" not found: the install must create it`)

	// Nothing was served yet, so the files are written anyway: the webhook
	// server can start, and the next Ensure fills caBundle.
	assert.Equal(t, string(getSecret(t, c).Data[KeyTLSCert]), string(readFile(t, s.CertDir, KeyTLSCert)))

	require.NoError(t, c.Create(context.Background(), webhookConfig()))
	require.NoError(t, s.Ensure(context.Background()))
	requireBundleEverywhere(t, c)
}

func TestEnsureKeepsServingWhenTheCABundleCannotBeUpdated(t *testing.T) {
	c, s, clk := setup(t)
	ctx := context.Background()
	require.NoError(t, s.Ensure(ctx))
	served := readFile(t, s.CertDir, KeyTLSCert)

	// The CA is due; but the webhook configuration cannot be patched.
	clk.Set(t0.Add(DefaultCAValidity - 19*month))
	s.Client = interceptor.NewClient(c, interceptor.Funcs{
		Patch: func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
			return apierrors.NewForbidden(admissionregistrationv1.Resource("validatingwebhookconfigurations"), testVWC, nil)
		},
	})
	err := s.Ensure(ctx)
	require.Error(t, err)
	assert.True(t, apierrors.IsForbidden(err))
	assert.Equal(t, string(served), string(readFile(t, s.CertDir, KeyTLSCert)),
		"a certificate of the new CA is not served before the API server trusts it")
}

func TestCABundlePatchSurvivesAConcurrentChange(t *testing.T) {
	c, s, _ := setup(t)
	ctx := context.Background()
	// Between gatewarden's read and its patch, someone (helm upgrade)
	// reorders the webhooks and changes a timeout.
	var patches int
	s.Client = interceptor.NewClient(c, interceptor.Funcs{
		Patch: func(ctx context.Context, cl client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			patches++
			if patches == 1 {
				vwc := getVWC(t, cl)
				vwc.Webhooks[0], vwc.Webhooks[1] = vwc.Webhooks[1], vwc.Webhooks[0]
				vwc.Webhooks[0].TimeoutSeconds = ptr.To[int32](9)
				require.NoError(t, cl.Update(ctx, vwc))
			}
			return cl.Patch(ctx, obj, patch, opts...)
		},
	})
	require.NoError(t, s.Ensure(ctx))

	assert.Equal(t, 2, patches, "the guarded patch failed once and was redone on a fresh read")
	got := getVWC(t, c)
	assert.Equal(t, "grpcroutes.gatewarden.dev", got.Webhooks[0].Name, "the concurrent change is kept")
	assert.Equal(t, int32(9), *got.Webhooks[0].TimeoutSeconds)
	requireBundleEverywhere(t, c)
}

func TestValidateRejectsSettingsThatWouldChurn(t *testing.T) {
	_, s, _ := setup(t)
	s.CertValidity = 30 * day
	s.RenewBefore = 30 * day
	assert.ErrorContains(t, s.Ensure(context.Background()), "RenewBefore 720h0m0s must be shorter")

	s.RenewBefore = 0
	s.SecretName, s.CertDir = "", ""
	assert.ErrorContains(t, s.Ensure(context.Background()), "[CertDir SecretName] not set")
}

func TestShortCAValidityDoesNotChurn(t *testing.T) {
	c, s, clk := setup(t)
	// A CA shorter than the serving validity: serving certificates are cut
	// to the CA's expiry, and must not then look due on every pass.
	s.CAValidity = 30 * day
	ctx := context.Background()
	require.NoError(t, s.Ensure(ctx))
	data := getSecret(t, c).Data
	assert.Equal(t, certs(t, data[KeyCACert])[0].NotAfter, certs(t, data[KeyTLSCert])[0].NotAfter)

	rv := getSecret(t, c).ResourceVersion
	clk.Set(t0.Add(day))
	require.NoError(t, s.Ensure(ctx))
	assert.Equal(t, rv, getSecret(t, c).ResourceVersion)
}

func TestStartKeepsEnsuringUntilCancelled(t *testing.T) {
	c, s, _ := setup(t, emptySecret())
	s.CheckInterval = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()

	// The webhook configuration appears after the server started, as it
	// may during an install; Start retries and fills it.
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(s.CertDir, KeyTLSCert))
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, c.Create(context.Background(), webhookConfig()))
	require.Eventually(t, func() bool {
		vwc := getVWC(t, c)
		return len(vwc.Webhooks[0].ClientConfig.CABundle) > 0
	}, 5*time.Second, 10*time.Millisecond)

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not return after its context was cancelled")
	}
	assert.False(t, s.NeedLeaderElection(), "every replica needs the files")
}

func TestReplacedCAStaysTrustedEvenWithoutAStoredBundle(t *testing.T) {
	ctx := context.Background()
	for name, damage := range map[string]func(map[string][]byte){
		// A Secret written by hand or by an older version.
		"no bundle key": func(d map[string][]byte) { delete(d, KeyCABundle) },
		// The CA's key is lost: a new CA is needed, but certificates the
		// old one signed are still being served.
		"CA key lost": func(d map[string][]byte) { d[KeyCAKey] = []byte("lost"); delete(d, KeyCABundle) },
	} {
		t.Run(name, func(t *testing.T) {
			c, s, _ := setup(t)
			// A CA of a year is due for rotation after eight months, while
			// the serving certificate it signed (a year, never past its CA)
			// is still served.
			s.CAValidity = year
			require.NoError(t, s.Ensure(ctx))
			secret := getSecret(t, c)
			served, oldCA := secret.Data[KeyTLSCert], secret.Data[KeyCACert]
			damage(secret.Data)
			require.NoError(t, c.Update(ctx, secret))

			if name == "no bundle key" {
				// Nothing else is wrong with it: the CA is replaced because it is due.
				s.Now = func() time.Time { return t0.Add(9 * month) }
			}
			require.NoError(t, s.Ensure(ctx))
			data := getSecret(t, c).Data
			require.NotEqual(t, string(oldCA), string(data[KeyCACert]), "a new CA")
			bundle := requireBundleEverywhere(t, c)
			inBundle := certs(t, bundle)
			require.Len(t, inBundle, 2)
			assert.Equal(t, certs(t, oldCA)[0].Raw, inBundle[1].Raw, "the replaced CA is kept")
			now := s.Now()
			require.True(t, now.Before(certs(t, served)[0].NotAfter), "the old serving certificate has not expired at %s", now)
			assert.NoError(t, verifies(t, served, bundle, apiServerName, now), "the old serving certificate still verifies")
		})
	}
}

// A webhook that the API server calls by URL at its listen address (the
// local demo and the integration tests) needs that address in the
// certificate too.
func TestExtraHostsAreCovered(t *testing.T) {
	c, s, _ := setup(t)
	s.ExtraHosts = []string{"127.0.0.1", "gatewarden.example.internal"}
	require.NoError(t, s.Ensure(context.Background()))
	bundle := requireBundleEverywhere(t, c)
	served := readFile(t, s.CertDir, KeyTLSCert)
	for _, host := range []string{"127.0.0.1", "gatewarden.example.internal", "gatewarden.gatewarden-system.svc"} {
		assert.NoError(t, verifies(t, served, bundle, host, t0), host)
	}
	assert.Error(t, verifies(t, served, bundle, "127.0.0.2", t0), "only the hosts asked for")
}
