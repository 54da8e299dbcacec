package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gatewarden/gatewarden/pkg/doctor"
)

type doctorOptions struct {
	kubeconfig  string
	kubeContext string
	timeout     time.Duration
	output      string

	namespace            string
	webhookConfigName    string
	serviceName          string
	certificateName      string
	selfSignedSecretName string
}

func newDoctorCommand(s streams) *cobra.Command {
	o := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Diagnose an installation when admissions through gatewarden fail",
		Long: `doctor reads the cluster and says, check by check, whether the API server
can call gatewarden's webhook and trust it: the Gateway API CRDs, the
ValidatingWebhookConfiguration and its caBundle, the serving certificate
(cert-manager's Certificate, or the Secret gatewarden fills itself), the
webhook Service's ready endpoints, which webhooks fail closed while
gatewarden is down, and whether their matchConditions send gatewarden only
the writes it evaluates (an install from before they did is a warning, with
the upgrade that fixes it). Every check that is not OK comes with its fix.

It only reads; it changes nothing in the cluster.

Exit codes: 0 nothing failed (warnings allowed), 1 a check failed, 2 bad usage
or the cluster could not be reached.`,
		Example: `  gatewarden doctor
  gatewarden doctor --namespace gatewarden-system -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), s)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "path to a kubeconfig; empty uses $KUBECONFIG, ~/.kube/config or the in-cluster config")
	f.StringVar(&o.kubeContext, "context", "", "kubeconfig context to use; empty uses the current one")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long all the checks may take together")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.StringVarP(&o.namespace, "namespace", "n", "gatewarden-system", "namespace gatewarden is installed in")
	f.StringVar(&o.webhookConfigName, "webhook-config-name", "gatewarden", "name of the ValidatingWebhookConfiguration")
	f.StringVar(&o.serviceName, "service-name", "gatewarden", "name of the webhook Service (and of the Deployment behind it)")
	f.StringVar(&o.certificateName, "certificate-name", "gatewarden-serving", "cert-manager Certificate of the serving certificate; checked only when cert-manager is installed")
	f.StringVar(&o.selfSignedSecretName, "self-signed-secret-name", "gatewarden-serving-cert", "Secret gatewarden fills with its own certificate when cert-manager is not used")
	return cmd
}

func (o *doctorOptions) run(ctx context.Context, s streams) error {
	if o.output != "text" && o.output != "json" {
		return &exitError{exitUsage, fmt.Errorf("--output %q is not text or json", o.output)}
	}
	if o.timeout <= 0 {
		return &exitError{exitUsage, fmt.Errorf("--timeout %s is not positive", o.timeout)}
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	env, err := o.connect(ctx)
	if err != nil {
		return &exitError{exitUsage, err}
	}
	return o.report(ctx, env, s)
}

// connect builds the clients and makes sure the cluster answers, so that an
// unreachable cluster is one clear error (exit 2) and not every check failing.
func (o *doctorOptions) connect(ctx context.Context) (*doctor.Env, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: o.kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.UserAgent = "gatewarden-doctor/" + buildVersion()
	// A request to an address that drops packets must not outlive --timeout.
	cfg.Timeout = o.timeout
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the discovery client: %w", err)
	}
	if _, err := disc.ServerVersionWithContext(ctx); err != nil {
		return nil, fmt.Errorf("cannot reach the cluster at %s: %w", cfg.Host, err)
	}
	scheme, err := doctor.NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("building the client: %w", err)
	}
	return &doctor.Env{
		Client:               c,
		Discovery:            disc,
		Namespace:            o.namespace,
		WebhookConfigName:    o.webhookConfigName,
		ServiceName:          o.serviceName,
		CertificateName:      o.certificateName,
		SelfSignedSecretName: o.selfSignedSecretName,
	}, nil
}

// report runs the checks on env, writes the report and turns a failed check
// into exit code 1.
func (o *doctorOptions) report(ctx context.Context, env *doctor.Env, s streams) error {
	rep := doctor.Run(ctx, env, doctor.Checks())
	var err error
	if o.output == "json" {
		err = rep.WriteJSON(s.out)
	} else {
		err = rep.WriteText(s.out)
	}
	if err != nil {
		return &exitError{exitUsage, err}
	}
	if rep.Failed() {
		// The report says what failed; nothing to add on stderr.
		return &exitError{code: 1}
	}
	return nil
}
