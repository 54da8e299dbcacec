package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gatewarden/gatewarden/pkg/certs"
)

const (
	nameCertificate = "certificate"
	nameServingCert = "serving-cert"
)

// expiryWarning is how close to expiry a certificate is worth a warning.
// Both cert-manager (by default) and gatewarden renew a third of the
// lifetime ahead, weeks before this: a certificate this close means renewal
// is failing.
const expiryWarning = 7 * 24 * time.Hour

// Certificate checks the serving certificate's issuance: cert-manager's
// Certificate Ready and not about to expire when cert-manager is used, the
// self-signed Secret filled and not about to expire otherwise.
func Certificate(ctx context.Context, e *Env) Result {
	src, err := e.certSource(ctx)
	if err != nil {
		return unreadable(nameCertificate, err)
	}
	certKey := e.Namespace + "/" + e.CertificateName
	switch {
	case src.certificate != nil:
		return e.checkCertificate(src)
	case src.injectFrom != "" && !src.cmServed:
		return fail(nameCertificate, fmt.Sprintf("the webhook configuration asks cert-manager for its caBundle (%s: %s), but cert-manager's CRDs are not installed",
			cmv1.WantInjectAnnotation, src.injectFrom),
			"install cert-manager, or install the chart in self-signed mode")
	case src.injectFrom != "":
		return fail(nameCertificate, fmt.Sprintf("Certificate %s not found, but the webhook configuration asks cert-manager for its caBundle (%s: %s)",
			certKey, cmv1.WantInjectAnnotation, src.injectFrom),
			e.fixReinstall("Certificate "+e.CertificateName)+"; or pass --certificate-name")
	}
	mode := "cert-manager not installed: self-signed mode"
	if src.cmServed {
		mode = fmt.Sprintf("cert-manager installed but no Certificate %s: self-signed mode", certKey)
	}
	return e.checkSelfSignedSecret(ctx, src, mode)
}

func (e *Env) checkCertificate(src certSource) Result {
	cert := src.certificate
	key := cert.Namespace + "/" + cert.Name
	var ready *cmv1.CertificateCondition
	for i := range cert.Status.Conditions {
		if cert.Status.Conditions[i].Type == cmv1.CertificateConditionReady {
			ready = &cert.Status.Conditions[i]
		}
	}
	if ready == nil || ready.Status != cmmeta.ConditionTrue {
		state := "has no Ready condition yet"
		if ready != nil {
			state = fmt.Sprintf("is not Ready (%s): %s", ready.Reason, ready.Message)
		}
		return fail(nameCertificate, fmt.Sprintf("Certificate %s %s", key, state), e.fixIssuance(src))
	}
	want := e.Namespace + "/" + e.CertificateName
	if src.injectFrom != "" && src.injectFrom != want {
		return warn(nameCertificate, fmt.Sprintf("Certificate %s is Ready, but the webhook configuration gets its caBundle from %s", key, src.injectFrom),
			fmt.Sprintf("set the annotation %s: %s on ValidatingWebhookConfiguration %s, or pass --certificate-name",
				cmv1.WantInjectAnnotation, want, e.WebhookConfigName))
	}
	if cert.Status.NotAfter == nil {
		return warn(nameCertificate, fmt.Sprintf("Certificate %s is Ready but has no status.notAfter", key), e.fixIssuance(src))
	}
	now, notAfter := e.now(), cert.Status.NotAfter.Time
	detail := fmt.Sprintf("Certificate %s Ready, %s", key, until(now, notAfter))
	if r := cert.Status.RenewalTime; r != nil {
		detail += ", renewal due " + date(r.Time)
	}
	detail += ", Secret " + cert.Spec.SecretName
	switch {
	case !now.Before(notAfter):
		return fail(nameCertificate, detail, e.fixIssuance(src))
	case notAfter.Sub(now) < expiryWarning:
		return warn(nameCertificate, detail+": cert-manager should have renewed it by now", e.fixIssuance(src))
	}
	return ok(nameCertificate, detail)
}

func (e *Env) checkSelfSignedSecret(ctx context.Context, src certSource, mode string) Result {
	secret, res := e.servingSecret(ctx, nameCertificate, src)
	if secret == nil {
		return res
	}
	key := e.Namespace + "/" + src.secretName
	ca, err := firstCert(secret.Data["ca.crt"])
	if err != nil {
		return fail(nameCertificate, fmt.Sprintf("%s; Secret %s ca.crt: %v", mode, key, err), e.fixIssuance(src))
	}
	leaf, err := firstCert(secret.Data[corev1.TLSCertKey])
	if err != nil {
		return fail(nameCertificate, fmt.Sprintf("%s; Secret %s tls.crt: %v", mode, key, err), e.fixIssuance(src))
	}
	now := e.now()
	detail := fmt.Sprintf("%s; Secret %s: CA %s, serving certificate %s", mode, key, until(now, ca.NotAfter), until(now, leaf.NotAfter))
	soonest := ca.NotAfter
	if leaf.NotAfter.Before(soonest) {
		soonest = leaf.NotAfter
	}
	switch {
	case !now.Before(soonest):
		return fail(nameCertificate, detail, e.fixIssuance(src))
	case soonest.Sub(now) < expiryWarning:
		return warn(nameCertificate, detail+": gatewarden should have renewed it by now", e.fixIssuance(src))
	}
	return ok(nameCertificate, detail)
}

// ServingCertificate checks what the API server checks when it calls the
// webhook: that tls.crt verifies for <svc>.<ns>.svc against the caBundle of
// every webhook, and that tls.key belongs to it.
func ServingCertificate(ctx context.Context, e *Env) Result {
	src, err := e.certSource(ctx)
	if err != nil {
		return unreadable(nameServingCert, err)
	}
	secret, res := e.servingSecret(ctx, nameServingCert, src)
	if secret == nil {
		return res
	}
	key := e.Namespace + "/" + src.secretName
	chain, err := parseBundle(secret.Data[corev1.TLSCertKey])
	if err != nil {
		return fail(nameServingCert, fmt.Sprintf("Secret %s tls.crt: %v", key, err), e.fixIssuance(src))
	}
	if _, err := tls.X509KeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]); err != nil {
		return fail(nameServingCert, fmt.Sprintf("Secret %s: tls.key does not go with tls.crt: %v", key, err), e.fixIssuance(src))
	}

	vwc, err := e.webhookConfig(ctx)
	if apierrors.IsNotFound(err) {
		return warn(nameServingCert, "not verified: no ValidatingWebhookConfiguration", "see "+nameWebhookConfig)
	}
	if err != nil {
		return unreadable(nameServingCert, err)
	}
	leaf := chain[0]
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	host := e.serviceHost()
	var verified, failed []string
	var firstErr error
	for i := range vwc.Webhooks {
		wh := &vwc.Webhooks[i]
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(wh.ClientConfig.CABundle) {
			continue // webhook-config reports it
		}
		_, err := leaf.Verify(x509.VerifyOptions{
			DNSName:       host,
			Roots:         roots,
			Intermediates: intermediates,
			CurrentTime:   e.now(),
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			failed = append(failed, wh.Name)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		verified = append(verified, wh.Name)
	}
	switch {
	case len(failed) > 0:
		fix := e.fixCABundle(src)
		var hostErr x509.HostnameError
		var invalidErr x509.CertificateInvalidError
		switch {
		case errors.As(firstErr, &hostErr):
			fix = fmt.Sprintf("the certificate must name %s (it names %s): %s", host, strings.Join(leaf.DNSNames, ", "), e.fixIssuance(src))
		case errors.As(firstErr, &invalidErr) && invalidErr.Reason == x509.Expired:
			fix = e.fixIssuance(src)
		}
		return fail(nameServingCert, fmt.Sprintf("Secret %s tls.crt does not verify for %s against the caBundle of %d of %d webhooks (%s): %v",
			key, host, len(failed), len(vwc.Webhooks), strings.Join(failed, ", "), firstErr), fix)
	case len(verified) == 0:
		return warn(nameServingCert, "not verified: no webhook has a caBundle", "see "+nameWebhookConfig)
	}
	return ok(nameServingCert, fmt.Sprintf("Secret %s tls.crt verifies for %s against the caBundle of %d webhooks; %s",
		key, host, len(verified), until(e.now(), leaf.NotAfter)))
}

// servingSecret reads the Secret holding tls.crt. When it cannot, it returns
// nil and the result to report.
func (e *Env) servingSecret(ctx context.Context, name string, src certSource) (*corev1.Secret, Result) {
	key := client.ObjectKey{Namespace: e.Namespace, Name: src.secretName}
	secret := &corev1.Secret{}
	err := e.Client.Get(ctx, key, secret)
	switch {
	case apierrors.IsNotFound(err) && src.certManager():
		return nil, fail(name, fmt.Sprintf("Secret %s not found: cert-manager has not issued the certificate", key), e.fixIssuance(src))
	case apierrors.IsNotFound(err):
		return nil, fail(name, fmt.Sprintf("Secret %s not found: the chart creates it empty and gatewarden fills it", key),
			e.fixReinstall("Secret "+src.secretName)+"; or pass --self-signed-secret-name")
	case err != nil:
		return nil, unreadable(name, fmt.Errorf("reading Secret %s: %w", key, err))
	}
	if len(secret.Data[corev1.TLSCertKey]) == 0 {
		who := "gatewarden has not filled it yet"
		if src.certManager() {
			who = "cert-manager has not issued the certificate"
		}
		return nil, fail(name, fmt.Sprintf("Secret %s has no tls.crt: %s", key, who), e.fixIssuance(src))
	}
	return secret, Result{}
}

// parseBundle reads PEM certificates as the API server reads a caBundle:
// what does not parse is skipped, and at least one certificate must.
func parseBundle(data []byte) ([]*x509.Certificate, error) {
	parsed := certs.ParseCertificates(data)
	if len(parsed) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return parsed, nil
}

func firstCert(data []byte) (*x509.Certificate, error) {
	if len(data) == 0 {
		return nil, errors.New("empty")
	}
	bundle, err := parseBundle(data)
	if err != nil {
		return nil, err
	}
	return bundle[0], nil
}
