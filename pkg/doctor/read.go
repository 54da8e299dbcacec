package doctor

import (
	"context"
	"fmt"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The reads several checks share. Each check reads again rather than sharing
// a cache: the doctor runs once, and independent checks stay testable alone.

func (e *Env) webhookConfig(ctx context.Context) (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := e.Client.Get(ctx, client.ObjectKey{Name: e.WebhookConfigName}, vwc); err != nil {
		return nil, fmt.Errorf("reading ValidatingWebhookConfiguration %s: %w", e.WebhookConfigName, err)
	}
	return vwc, nil
}

// serves reports whether the API server serves resource in groupVersion.
func (e *Env) serves(ctx context.Context, groupVersion, resource string) (bool, error) {
	list, err := e.Discovery.ServerResourcesForGroupVersionWithContext(ctx, groupVersion)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("discovering %s: %w", groupVersion, err)
	}
	for i := range list.APIResources {
		if list.APIResources[i].Name == resource {
			return true, nil
		}
	}
	return false, nil
}

// certSource says where the serving certificate comes from.
type certSource struct {
	// cmServed: the cert-manager CRDs are installed.
	cmServed bool
	// certificate is the serving Certificate; nil when not found.
	certificate *cmv1.Certificate
	// injectFrom is the webhook configuration's request to cainjector.
	injectFrom string
	// secretName holds tls.crt: the Certificate's spec.secretName, else the
	// self-signed Secret (the chart gives both the same name).
	secretName string
}

// certManager reports whether the install uses cert-manager (or asks for it).
func (s certSource) certManager() bool {
	return s.certificate != nil || s.injectFrom != ""
}

func (e *Env) certSource(ctx context.Context) (certSource, error) {
	src := certSource{secretName: e.SelfSignedSecretName}
	// The annotation is only a hint here; the webhook-config check reports
	// an unreadable webhook configuration.
	if vwc, err := e.webhookConfig(ctx); err == nil {
		src.injectFrom = vwc.Annotations[cmv1.WantInjectAnnotation]
	}
	served, err := e.serves(ctx, cmv1.SchemeGroupVersion.String(), "certificates")
	if err != nil {
		return src, err
	}
	src.cmServed = served
	if !served {
		return src, nil
	}
	cert := &cmv1.Certificate{}
	err = e.Client.Get(ctx, client.ObjectKey{Namespace: e.Namespace, Name: e.CertificateName}, cert)
	switch {
	case apierrors.IsNotFound(err):
		return src, nil
	case err != nil:
		return src, fmt.Errorf("reading Certificate %s/%s: %w", e.Namespace, e.CertificateName, err)
	}
	src.certificate = cert
	if cert.Spec.SecretName != "" {
		src.secretName = cert.Spec.SecretName
	}
	return src, nil
}

// endpoints counts the webhook Service's endpoints by readiness.
func (e *Env) endpoints(ctx context.Context) (ready, notReady int, err error) {
	var slices discoveryv1.EndpointSliceList
	err = e.Client.List(ctx, &slices, client.InNamespace(e.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: e.ServiceName})
	if err != nil {
		return 0, 0, fmt.Errorf("listing the EndpointSlices of Service %s/%s: %w", e.Namespace, e.ServiceName, err)
	}
	for i := range slices.Items {
		for _, ep := range slices.Items[i].Endpoints {
			// An unset ready condition means unknown, which the API says
			// consumers should read as ready.
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ready++
			} else {
				notReady++
			}
		}
	}
	return ready, notReady, nil
}

// unreadable is the result of a check that could not read what it needs.
// It is a warning, not a failure: it says nothing about the installation.
func unreadable(name string, err error) Result {
	if apierrors.IsForbidden(err) {
		return warn(name, "not checked: "+err.Error(),
			"run the doctor as a user allowed to read it (kubectl auth can-i get ... shows what is missing)")
	}
	return warn(name, "not checked: "+err.Error(), "retry; if it persists, check the API server")
}
