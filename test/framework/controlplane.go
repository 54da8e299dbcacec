// Package framework runs gatewarden the way a cluster runs it, for the
// integration tests and `make demo`: a real kube-apiserver and etcd started
// by controller-runtime's envtest from the binaries in bin/, the Gateway API
// CRDs from the gateway-api module, the gatewarden binary serving its
// webhooks over TLS on loopback, and a ValidatingWebhookConfiguration that
// sends the API server's admissions to it.
package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
)

// ControlPlane is a running kube-apiserver and etcd with the Gateway API
// CRDs installed.
type ControlPlane struct {
	Env    *envtest.Environment
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
	// Kubeconfig is the path of an admin kubeconfig, for kubectl and the
	// gatewarden binary.
	Kubeconfig string
	// Root is the repository's root; Bin its bin/ folder.
	Root, Bin string

	dir     string
	race    bool
	mu      sync.Mutex
	servers []*Server
	// admissions counts, by webhook path, the admission requests the
	// servers it stopped had served.
	admissions map[string]float64
}

// Options choose what the control plane installs.
type Options struct {
	// Channel of the Gateway API CRDs: "standard" (default) or
	// "experimental".
	Channel string
	// ExtraCRDPaths are more CRD files or folders to install.
	ExtraCRDPaths []string
	// Setup, when set, runs once the control plane is up, before the tests.
	Setup func(*ControlPlane) error
	// Race builds the gatewarden binary with the race detector: a data race
	// it reports fails the Server's Stop. For the tests; benchmarks and the
	// demo run the binary as it ships.
	Race bool
	// APIServerFlags are more kube-apiserver flags, name to value, e.g.
	// {"max-requests-inflight": "20"} for an API server with fewer seats.
	APIServerFlags map[string]string
}

// RepoRoot finds the repository's root from the working directory.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the gatewarden module")
	}
	return filepath.Dir(gomod), nil
}

// ModuleDir returns the folder of a module the repository requires.
func ModuleDir(root, module string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locating module %s: %w", module, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Start starts a control plane. The binaries come from bin/ (`make tools`
// builds them); nothing is downloaded.
func Start(opts Options) (*ControlPlane, error) {
	// envtest and the clients log through controller-runtime; the tests
	// read the API server's answers, not those logs.
	logf.SetLogger(logr.Discard())
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "bin")
	for _, tool := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			return nil, fmt.Errorf("%s is missing from %s: run `make tools` first", tool, bin)
		}
	}
	gw, err := ModuleDir(root, "sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	channel := opts.Channel
	if channel == "" {
		channel = "standard"
	}

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, gatewayv1.Install, gatewayv1beta1.Install,
	} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}

	dir, err := os.MkdirTemp("", "gatewarden-controlplane-")
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		// A certificate folder of its own, rather than one envtest makes and
		// forgets when the API server stops: a test that restarts the API
		// server (on the same port and etcd) gets it back with the same
		// serving certificate, which every client trusts.
		ControlPlane:          envtest.ControlPlane{APIServer: &envtest.APIServer{CertDir: filepath.Join(dir, "apiserver")}},
		BinaryAssetsDirectory: bin,
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths:              append([]string{filepath.Join(gw, "config", "crd", channel)}, opts.ExtraCRDPaths...),
			ErrorIfPathMissing: true,
			Scheme:             scheme,
		},
		ErrorIfCRDPathMissing: true,
		// The serving certificate for the webhook, for 127.0.0.1, and the CA
		// the ValidatingWebhookConfigurations trust.
		WebhookInstallOptions: envtest.WebhookInstallOptions{LocalServingHost: "127.0.0.1"},
		Scheme:                scheme,
	}
	if err := os.Mkdir(filepath.Join(dir, "apiserver"), 0o700); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	// On SIGTERM kube-apiserver closes the watches of running clients (a
	// gatewarden's informers) within this grace, rather than waiting for them
	// to end on their own: a test can stop and start it under gatewarden.
	env.ControlPlane.APIServer.Configure().Set("shutdown-watch-termination-grace-period", "2s")
	for name, value := range opts.APIServerFlags {
		env.ControlPlane.APIServer.Configure().Set(name, value)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("starting kube-apiserver and etcd: %w", err), os.RemoveAll(dir))
	}
	cp := &ControlPlane{Env: env, Config: cfg, Scheme: scheme, Root: root, Bin: bin, dir: dir, race: opts.Race, admissions: map[string]float64{}}
	cp.Kubeconfig = filepath.Join(cp.dir, "kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, env.KubeConfig, 0o600); err != nil {
		return nil, errors.Join(err, cp.Stop())
	}
	if cp.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, errors.Join(err, cp.Stop())
	}
	return cp, nil
}

// Stop stops every gatewarden it started, then the control plane, and
// removes its files.
func (cp *ControlPlane) Stop() error {
	var err error
	for _, s := range cp.servers {
		err = errors.Join(err, s.Stop(context.Background()))
	}
	err = errors.Join(err, cp.Env.Stop())
	if cp.dir != "" {
		err = errors.Join(err, os.RemoveAll(cp.dir))
	}
	return err
}

// ServingCertDir holds tls.crt and tls.key for 127.0.0.1.
func (cp *ControlPlane) ServingCertDir() string {
	return cp.Env.WebhookInstallOptions.LocalServingCertDir
}

// CABundle is the CA that signed the serving certificate.
func (cp *ControlPlane) CABundle() []byte {
	return cp.Env.WebhookInstallOptions.LocalServingCAData
}

// KubectlResult is what kubectl printed.
type KubectlResult struct {
	Stdout, Stderr string
	Err            error
}

// Kubectl runs bin/kubectl against the control plane, as a user would.
// stdin, when not empty, is piped in.
func (cp *ControlPlane) Kubectl(ctx context.Context, stdin string, args ...string) KubectlResult {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(cp.Bin, "kubectl"), append([]string{"--kubeconfig", cp.Kubeconfig}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return KubectlResult{Stdout: out.String(), Stderr: errOut.String(), Err: err}
}

// CreateNamespace creates a Namespace with labels.
func (cp *ControlPlane) CreateNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := &corev1.Namespace{}
	ns.Name, ns.Labels = name, labels
	return cp.Client.Create(ctx, ns)
}
