package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Keys of the Secret. tls.crt, tls.key and ca.crt are the names cert-manager
// uses too, so that the files and the doctor look the same in both modes.
const (
	KeyTLSCert = corev1.TLSCertKey
	KeyTLSKey  = corev1.TLSPrivateKeyKey
	// KeyCACert is the CA that signs the serving certificate now.
	KeyCACert = "ca.crt"
	// KeyCAKey is the private key of KeyCACert.
	KeyCAKey = "ca.key"
	// KeyCABundle is every CA the API server must trust: the current one
	// first, then the CAs it replaced, each until it expires, so that a
	// replica still serving a certificate of the previous CA keeps working.
	// It is what goes into the webhooks' caBundle.
	KeyCABundle = "ca-bundle.crt"
)

// Defaults of SelfSigned's durations.
const (
	DefaultCAValidity    = 5 * 365 * 24 * time.Hour
	DefaultCertValidity  = 365 * 24 * time.Hour
	DefaultCheckInterval = time.Hour
	DefaultClusterDomain = "cluster.local"
)

// firstRetry is how soon Start tries again after a failed Ensure. It doubles
// up to CheckInterval: the install creates the ValidatingWebhookConfiguration
// in the same moment as the Deployment, so the first attempts may find it
// missing, and an hour is too long to wait for it.
const firstRetry = 5 * time.Second

// SelfSigned keeps a self-signed CA and the webhook's serving certificate in
// a Secret, the serving pair in CertDir and the CA bundle in the webhooks'
// caBundle. Run Ensure once before the webhook server starts (it needs the
// files), then add it to the manager to keep everything renewed.
type SelfSigned struct {
	// Client must read the API server directly: a cached read would make
	// replicas act on stale Secrets, and the cache would need list/watch
	// rights on Secrets, which the server does not have.
	Client client.Client

	// Namespace holds the Secret and the Service.
	Namespace string
	// SecretName is the Secret the install creates empty for the server.
	SecretName string
	// WebhookConfigName is the ValidatingWebhookConfiguration whose webhooks'
	// caBundle is kept in step with the Secret.
	WebhookConfigName string
	// ServiceName is the webhook Service; the serving certificate covers
	// <svc>, <svc>.<ns>, <svc>.<ns>.svc and <svc>.<ns>.svc.<ClusterDomain>.
	ServiceName string
	// ClusterDomain defaults to DefaultClusterDomain.
	ClusterDomain string
	// ExtraHosts are more DNS names or IP addresses the serving certificate
	// covers, such as the address gatewarden listens on when the API server
	// reaches it by URL rather than through the Service.
	ExtraHosts []string
	// CertDir receives tls.crt, tls.key and ca.crt, where the webhook server
	// reads them. It must be writable (an emptyDir), not the Secret mounted.
	CertDir string

	// CAValidity defaults to DefaultCAValidity.
	CAValidity time.Duration
	// CertValidity defaults to DefaultCertValidity. A serving certificate
	// never outlives its CA.
	CertValidity time.Duration
	// RenewBefore is how long before expiry a certificate is replaced. Zero
	// means the last third of each certificate's lifetime.
	RenewBefore time.Duration
	// CheckInterval is how often Start runs Ensure; defaults to
	// DefaultCheckInterval.
	CheckInterval time.Duration

	// Now returns the current time; time.Now when nil. For tests.
	Now func() time.Time
	// Log receives what changed and what failed. The zero Logger discards.
	Log logr.Logger
}

var (
	_ manager.Runnable               = &SelfSigned{}
	_ manager.LeaderElectionRunnable = &SelfSigned{}
)

// Ensure brings the Secret, the files in CertDir and the webhooks' caBundle
// to a valid CA and serving certificate, renewing what is missing, invalid or
// due. It changes nothing when everything is in order, so it is cheap to call
// often, from every replica at once.
func (s *SelfSigned) Ensure(ctx context.Context) error {
	if err := s.validate(); err != nil {
		return err
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	data, err := s.ensureSecret(ctx, now)
	if err != nil {
		return err
	}
	// The API server must trust a certificate before it is served, so the
	// caBundle goes first. If that fails, the pair already served stays (it
	// is renewed well before it expires), unless nothing is served yet: then
	// writing the files cannot break anything and lets the server start.
	bundleErr := s.ensureCABundle(ctx, data[KeyCABundle])
	if bundleErr != nil && s.serving() {
		return bundleErr
	}
	written, fileErr := s.writeFiles(data)
	if len(written) > 0 {
		s.Log.Info("wrote the serving certificate", "dir", s.CertDir, "files", written)
	}
	return errors.Join(bundleErr, fileErr)
}

// Start runs Ensure now and then every CheckInterval until ctx is done,
// sooner after a failure. Errors are logged, never returned: a failed renewal
// must not stop the manager while the current certificate is still valid.
func (s *SelfSigned) Start(ctx context.Context) error {
	interval := s.CheckInterval
	if interval <= 0 {
		interval = DefaultCheckInterval
	}
	wait, retryIn := time.Duration(0), min(firstRetry, interval)
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		if err := s.Ensure(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.Log.Error(err, "keeping the self-signed serving certificate valid", "retryIn", retryIn)
			wait, retryIn = retryIn, min(2*retryIn, interval)
			continue
		}
		wait, retryIn = interval, min(firstRetry, interval)
	}
}

// NeedLeaderElection is false: every replica serves, so every replica needs
// the files.
func (s *SelfSigned) NeedLeaderElection() bool { return false }

func (s *SelfSigned) validate() error {
	var missing []string
	for name, v := range map[string]string{
		"Namespace": s.Namespace, "SecretName": s.SecretName, "WebhookConfigName": s.WebhookConfigName,
		"ServiceName": s.ServiceName, "CertDir": s.CertDir,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if s.Client == nil {
		missing = append(missing, "Client")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("self-signed certificates: %v not set", missing)
	}
	caValidity, certValidity := s.caValidity(), s.certValidity()
	if caValidity <= 0 || certValidity <= 0 || s.RenewBefore < 0 {
		return fmt.Errorf("self-signed certificates: CAValidity %s, CertValidity %s and RenewBefore %s must not be negative",
			s.CAValidity, s.CertValidity, s.RenewBefore)
	}
	// A window as long as the lifetime would renew every new certificate on
	// the next pass, and replicas would replace each other's forever.
	if s.RenewBefore >= min(caValidity, certValidity) {
		return fmt.Errorf("self-signed certificates: RenewBefore %s must be shorter than CAValidity %s and CertValidity %s",
			s.RenewBefore, caValidity, certValidity)
	}
	return nil
}

func (s *SelfSigned) caValidity() time.Duration {
	if s.CAValidity == 0 {
		return DefaultCAValidity
	}
	return s.CAValidity
}

func (s *SelfSigned) certValidity() time.Duration {
	if s.CertValidity == 0 {
		return DefaultCertValidity
	}
	return s.CertValidity
}

// dnsNames are the names a client may use for the Service (the API server
// uses <svc>.<ns>.svc), and the ExtraHosts.
func (s *SelfSigned) dnsNames() []string {
	domain := s.ClusterDomain
	if domain == "" {
		domain = DefaultClusterDomain
	}
	svc, ns := s.ServiceName, s.Namespace
	return append([]string{svc + "." + ns + ".svc", svc, svc + "." + ns, svc + "." + ns + ".svc." + domain}, s.ExtraHosts...)
}

// ensureSecret returns the Secret's data after making it valid. Replicas race
// here: each computes from what it read and updates with that resourceVersion;
// the losers get a Conflict, read the winner's CA and keep it.
func (s *SelfSigned) ensureSecret(ctx context.Context, now time.Time) (map[string][]byte, error) {
	key := client.ObjectKey{Namespace: s.Namespace, Name: s.SecretName}
	var data map[string][]byte
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		secret := &corev1.Secret{}
		if err := s.Client.Get(ctx, key, secret); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("serving certificate Secret %s not found: the install must create it "+
					"(empty, type Opaque); gatewarden may only read and update it: %w", key, err)
			}
			return fmt.Errorf("reading the serving certificate Secret %s: %w", key, err)
		}
		next, changes, err := s.desired(secret.Data, now)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			data = secret.Data
			return nil
		}
		secret.Data = next
		if err := s.Client.Update(ctx, secret); err != nil {
			return fmt.Errorf("updating the serving certificate Secret %s: %w", key, err)
		}
		s.Log.Info("updated the serving certificate Secret", "secret", key, "changes", changes)
		data = secret.Data
		return nil
	})
	return data, err
}

// desired computes the Secret's data from what is stored: it keeps what is
// valid and replaces the rest. changes is empty when nothing differs.
func (s *SelfSigned) desired(stored map[string][]byte, now time.Time) (next map[string][]byte, changes []string, err error) {
	next = maps.Clone(stored)
	if next == nil {
		next = map[string][]byte{}
	}

	ca, previous, caErr := parseCA(stored[KeyCACert], stored[KeyCAKey])
	switch {
	case len(stored[KeyCACert]) == 0 && len(stored[KeyCAKey]) == 0:
		ca, changes = nil, append(changes, "new CA")
	case caErr != nil:
		ca, changes = nil, append(changes, "new CA: "+caErr.Error())
	case now.Before(ca.cert.NotBefore):
		ca, changes = nil, append(changes, "new CA: the stored one is not valid yet")
	case due(ca.cert, now, s.RenewBefore):
		ca, changes = nil, append(changes, "rotated the CA: it expires "+ca.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if ca == nil {
		if ca, err = newCA(now, s.caValidity()); err != nil {
			return nil, nil, err
		}
	}

	// The CA replaced here and those replaced before stay trusted until
	// they expire: a replica may still serve a certificate they signed.
	trusted := []*x509.Certificate{ca.cert}
	candidates := ParseCertificates(stored[KeyCABundle])
	if previous != nil {
		candidates = append([]*x509.Certificate{previous}, candidates...)
	}
	for _, c := range candidates {
		if c.IsCA && now.Before(c.NotAfter) && !slices.ContainsFunc(trusted, c.Equal) {
			trusted = append(trusted, c)
		}
	}
	var bundle []byte
	for _, c := range trusted {
		bundle = append(bundle, encodeCert(c)...)
	}

	certPEM, keyPEM := stored[KeyTLSCert], stored[KeyTLSKey]
	if problem := servingCertProblem(certPEM, keyPEM, ca.cert, s.dnsNames(), now, s.RenewBefore); problem != "" {
		serving, err := newServingCert(ca, s.dnsNames(), now, s.certValidity())
		if err != nil {
			return nil, nil, err
		}
		certPEM, keyPEM = serving.certPEM, serving.keyPEM
		changes = append(changes, "new serving certificate: "+problem)
	}

	next[KeyCACert], next[KeyCAKey], next[KeyCABundle] = ca.certPEM, ca.keyPEM, bundle
	next[KeyTLSCert], next[KeyTLSKey] = certPEM, keyPEM
	for _, k := range []string{KeyCACert, KeyCAKey, KeyCABundle, KeyTLSCert, KeyTLSKey} {
		if !bytes.Equal(next[k], stored[k]) {
			if len(changes) == 0 {
				// Only the bundle can differ alone: an expired CA left it.
				changes = append(changes, "rewrote "+k)
			}
			return next, changes, nil
		}
	}
	return nil, nil, nil
}

// ParseCertificates reads the PEM certificates of a bundle as the API server
// reads a caBundle, skipping what does not parse: a damaged entry must not
// cost the trust in the others.
func ParseCertificates(data []byte) []*x509.Certificate {
	var certs []*x509.Certificate
	for rest := data; len(rest) > 0; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			certs = append(certs, cert)
		}
	}
	return certs
}
