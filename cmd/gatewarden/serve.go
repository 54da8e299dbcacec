package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/certs"
	"github.com/gatewarden/gatewarden/pkg/cluster"
	"github.com/gatewarden/gatewarden/pkg/metrics"
	"github.com/gatewarden/gatewarden/pkg/status"
	"github.com/gatewarden/gatewarden/webhook"
)

// serveOptions are the flags of `gatewarden serve`. The names of the flags in
// docs/design.md section 5 are a contract: scripts and charts outside this repo
// set them.
type serveOptions struct {
	kubeconfig   string
	kubeAPIQPS   float32
	kubeAPIBurst int

	webhookHost string
	webhookPort int
	certDir     string

	metricsAddr string
	probeAddr   string

	routeMode       attachment.Mode
	listenerSetMode attachment.Mode
	namespaceMode   attachment.Mode
	gatewayMode     attachment.Mode
	grantApprovers  string

	status               bool
	statusControllerName string
	statusWorkers        int
	statusWriteQPS       float32
	statusWriteBurst     int
	statusEventQPS       float32
	statusEventBurst     int

	leaderElect             bool
	leaderElectionNamespace string
	leaderElectionID        string

	selfSigned            bool
	selfSignedSecretName  string
	webhookConfigName     string
	webhookServiceName    string
	podNamespace          string
	selfSignedCheckPeriod time.Duration

	confirmTimeout time.Duration
	hedgeAfter     time.Duration

	memoryLimit resource.QuantityValue

	pprofAddr       string
	shutdownTimeout time.Duration
	logLevel        string
	logFormat       string
}

func newServeCommand(s streams) *cobra.Command {
	o := &serveOptions{
		routeMode:       attachment.ModeDeny,
		listenerSetMode: attachment.ModeDeny,
		namespaceMode:   attachment.ModeWarn,
		gatewayMode:     attachment.ModeWarn,
	}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the admission webhook (and the route status reconciler)",
		Long: `serve runs gatewarden in the cluster: a TLS admission webhook that evaluates
route, Namespace and Gateway writes against the Gateways' allowedRoutes, and
denies or warns. The serving certificate is read from --cert-dir (tls.crt,
tls.key) and reloaded when the files change.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return &exitError{exitUsage, err}
			}
			// Tests pass their own context; the process stops on SIGTERM.
			ctx := cmd.Context()
			if ctx == nil || ctx == context.Background() {
				ctx = ctrl.SetupSignalHandler()
			}
			if err := o.run(ctx, s); err != nil {
				return &exitError{1, err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "path to a kubeconfig; empty uses $KUBECONFIG or the in-cluster config")
	f.Float32Var(&o.kubeAPIQPS, "kube-api-qps", 500, "queries per second to the API server for status writes and lists: a relabel's 1,000 status writes must not queue behind client-go's default of 5. The reads that confirm a denial are not paced: the API server's priority and fairness protects it")
	f.IntVar(&o.kubeAPIBurst, "kube-api-burst", 1000, "burst of queries to the API server")
	f.StringVar(&o.webhookHost, "webhook-host", "", "address the webhook server listens on; empty means every interface")
	f.IntVar(&o.webhookPort, "webhook-port", 9443, "port the webhook server listens on")
	f.StringVar(&o.certDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "folder holding tls.crt and tls.key, reloaded when they change")
	f.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", `address of the Prometheus metrics endpoint; "0" turns it off`)
	f.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	f.Var(&o.routeMode, "route-enforcement", "what a rejected parentRef of a route is: deny, warn or off (a Gateway's gatewarden.dev/enforcement annotation overrides it)")
	f.Var(&o.listenerSetMode, "listenerset-enforcement", "what a ListenerSet its Gateway's allowedListeners does not admit is: deny, warn or off (the Gateway's gatewarden.dev/enforcement annotation overrides it)")
	f.Var(&o.namespaceMode, "namespace-enforcement", "what a Namespace label change that detaches routes is: warn, deny or off")
	f.Var(&o.gatewayMode, "gateway-enforcement", "what a Gateway change that detaches routes is: warn, deny or off")
	f.DurationVar(&o.confirmTimeout, "confirm-timeout", cluster.DefaultConfirmTimeout, "how long one admission may wait on the API server (live confirmations, a cache miss): keep it well under the webhook's timeoutSeconds, so that the API server gets gatewarden's answer rather than its own timeout. When it passes, a rejection is warned about, not denied; a grant the guard could not check is refused")
	f.DurationVar(&o.hedgeAfter, "confirm-hedge-after", cluster.DefaultHedgeAfter, "how long a confirmation's list of a Gateway or ListenerSet by name (answered from the API server's watch cache, which on a busy cluster may wait up to 100 ms for etcd) may take before a GET of the same object races it; the GET costs the API server more. 0 never races it")
	f.StringVar(&o.grantApprovers, "grant-approvers", "", "who may grant a namespace access to a Gateway by labelling it: group:NAME,user:NAME,...; empty lets anyone, with a warning")
	f.BoolVar(&o.status, "status", true, "write gatewarden's own entry in the status.parents of routes")
	f.StringVar(&o.statusControllerName, "status-controller-name", "gatewarden.dev/attachment", "controllerName of gatewarden's status.parents entries")
	f.IntVar(&o.statusWorkers, "status-workers", 16, "routes of each kind whose status is written at once: a relabel detaching 1,000 routes means 1,000 writes")
	f.Float32Var(&o.statusWriteQPS, "status-write-qps", defaultStatusWriteQPS, "status writes a second, once --status-write-burst is spent: a start-up sync of every route's status must not take the API server's every cycle from the reads an admission waits on; 0 does not pace them")
	f.Float32Var(&o.statusEventQPS, "status-event-qps", defaultStatusEventQPS, "events a second recorded on routes whose attachment changed, once --status-event-burst is spent: client-go keeps every event it sent in memory for six minutes or more, so the events of a change that detaches every route must be bounded; the status says the same; 0 does not bound them")
	f.IntVar(&o.statusEventBurst, "status-event-burst", defaultStatusEventBurst, "events recorded at once on routes whose attachment changed, before --status-event-qps bounds them")
	f.IntVar(&o.statusWriteBurst, "status-write-burst", defaultStatusWriteBurst, "status writes made at once before --status-write-qps paces them: a relabel of this many routes converges as fast as the API server takes the writes")
	f.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader to write status; every replica serves admissions")
	f.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease; empty means the pod's namespace")
	f.StringVar(&o.leaderElectionID, "leader-election-id", "gatewarden.dev", "name of the leader election Lease")
	f.BoolVar(&o.selfSigned, "self-signed", false, "without cert-manager: keep a self-signed CA and serving certificate in --self-signed-secret-name, write them to --cert-dir and patch the caBundle of --webhook-config-name; renewed before they expire")
	f.StringVar(&o.selfSignedSecretName, "self-signed-secret-name", "gatewarden-serving-cert", "the Secret (created empty by the install) that holds the self-signed CA and serving certificate")
	f.StringVar(&o.webhookConfigName, "webhook-config-name", "gatewarden", "the ValidatingWebhookConfiguration whose caBundle --self-signed keeps")
	f.StringVar(&o.webhookServiceName, "webhook-service-name", "gatewarden", "the Service in front of the webhook, whose DNS names the self-signed certificate covers")
	f.StringVar(&o.podNamespace, "namespace", os.Getenv("POD_NAMESPACE"), "the namespace gatewarden runs in (default $POD_NAMESPACE)")
	f.DurationVar(&o.selfSignedCheckPeriod, "self-signed-check-interval", certs.DefaultCheckInterval, "how often --self-signed checks that its certificates are valid and renews them")
	f.Var(&o.memoryLimit, "memory-limit", "the Go runtime's soft memory limit (such as 512Mi), which garbage collection works to stay under; the default is GOMEMLIMIT, else 65% of the container's memory limit, else none (and then GOGC 200: fewer collections of the cache, for about three times the live heap)")
	f.StringVar(&o.pprofAddr, "pprof-bind-address", "0", `address of the Go profiler (/debug/pprof); "0" turns it off`)
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long in-flight admissions and status writes get to finish on shutdown")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info or error")
	f.StringVar(&o.logFormat, "log-format", "json", "log format: json or console")
	return cmd
}

func (o *serveOptions) validate() error {
	if _, err := webhook.ParseApprovers(o.grantApprovers); err != nil {
		return err
	}
	if o.webhookPort < 1 || o.webhookPort > 65535 {
		return fmt.Errorf("--webhook-port %d is not a port", o.webhookPort)
	}
	if _, err := o.level(); err != nil {
		return err
	}
	if o.logFormat != "json" && o.logFormat != "console" {
		return fmt.Errorf("--log-format %q is not json or console", o.logFormat)
	}
	if o.statusWriteQPS < 0 {
		return fmt.Errorf("--status-write-qps %v is negative", o.statusWriteQPS)
	}
	if o.statusWriteQPS > 0 && o.statusWriteBurst < 1 {
		return fmt.Errorf("--status-write-burst %d is less than 1", o.statusWriteBurst)
	}
	if o.statusEventQPS < 0 {
		return fmt.Errorf("--status-event-qps %v is negative", o.statusEventQPS)
	}
	if o.statusEventQPS > 0 && o.statusEventBurst < 1 {
		return fmt.Errorf("--status-event-burst %d is less than 1", o.statusEventBurst)
	}
	if o.confirmTimeout <= 0 {
		return fmt.Errorf("--confirm-timeout %s is not positive", o.confirmTimeout)
	}
	if o.hedgeAfter < 0 {
		return fmt.Errorf("--confirm-hedge-after %s is negative", o.hedgeAfter)
	}
	if o.memoryLimit.Sign() < 0 {
		return fmt.Errorf("--memory-limit %s is negative", o.memoryLimit.String())
	}
	if o.selfSigned && o.podNamespace == "" {
		return errors.New("--self-signed needs --namespace or $POD_NAMESPACE: the namespace of its Secret and Service")
	}
	return nil
}

func (o *serveOptions) level() (zapcore.Level, error) {
	switch o.logLevel {
	case "debug":
		return zapcore.DebugLevel, nil
	case "info":
		return zapcore.InfoLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	}
	return 0, fmt.Errorf("--log-level %q is not debug, info or error", o.logLevel)
}

func (o *serveOptions) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	} else {
		cfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = o.kubeAPIQPS, o.kubeAPIBurst
	cfg.UserAgent = "gatewarden/" + buildVersion()
	return cfg, nil
}

// unlimited is cfg without a client-side rate limiter, for the reads an
// admission waits on; the API server's priority and fairness protects it.
func unlimited(cfg *rest.Config) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.QPS, out.Burst, out.RateLimiter = -1, 0, nil
	return out
}

// The pace of status writes by default: a relabel of 1,000 routes goes at
// once, twice in a row (the burst refills within 5 s); a sync of 50,000
// statuses takes about 4 minutes, and leaves the API server room for the
// reads of admissions meanwhile.
const (
	defaultStatusWriteQPS   = 200
	defaultStatusWriteBurst = 1000
)

// The budget of route events by default: every route of a relabel of 1,000
// gets its event, and past that one a second, so that client-go's recorder
// holds at most about 1,400 events (2 MB) at any time.
const (
	defaultStatusEventQPS   = 1
	defaultStatusEventBurst = 1000
)

// statusEvents bounds the route events, or nil for --status-event-qps 0.
func (o *serveOptions) statusEvents() flowcontrol.RateLimiter {
	if o.statusEventQPS == 0 {
		return nil
	}
	return flowcontrol.NewTokenBucketRateLimiter(o.statusEventQPS, o.statusEventBurst)
}

// statusWrites paces the status writes, or nil for --status-write-qps 0.
func (o *serveOptions) statusWrites() flowcontrol.RateLimiter {
	if o.statusWriteQPS == 0 {
		return nil
	}
	return flowcontrol.NewTokenBucketRateLimiter(o.statusWriteQPS, o.statusWriteBurst)
}

// newScheme knows every type gatewarden reads.
func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, gatewayv1.Install, gatewayv1beta1.Install} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

func (o *serveOptions) run(ctx context.Context, s streams) error {
	level, _ := o.level()
	zapOpts := []zap.Opts{zap.WriteTo(s.err), zap.Level(level)}
	if o.logFormat == "console" {
		zapOpts = append(zapOpts, zap.ConsoleEncoder())
	}
	ctrl.SetLogger(zap.New(zapOpts...))
	log := ctrl.Log.WithName("serve")
	tuneGC(log, cgroupMemoryMax, o.memoryLimit.Value())

	cfg, err := o.restConfig()
	if err != nil {
		return err
	}
	scheme, err := newScheme()
	if err != nil {
		return err
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return fmt.Errorf("discovering the API server's resources: %w", err)
	}
	gatewaysServed, err := cluster.Served(mapper, cluster.GatewayAPIv1("Gateway"))
	if err != nil {
		return fmt.Errorf("discovering the API server's resources: %w", err)
	}
	if !gatewaysServed {
		return errors.New("the API server does not serve gateway.networking.k8s.io/v1 Gateways: install the Gateway API CRDs (v1.1 or later) first")
	}
	routeTypes, err := cluster.ServedRouteTypes(mapper)
	if err != nil {
		return err
	}
	grantV1, err := cluster.Served(mapper, cluster.GatewayAPIv1("ReferenceGrant"))
	if err != nil {
		return err
	}
	listenerSets, err := cluster.Served(mapper, cluster.GatewayAPIv1(string(attachment.KindListenerSet)))
	if err != nil {
		return err
	}
	var kinds []gatewayv1.Kind
	for _, t := range routeTypes {
		kinds = append(kinds, t.Kind)
	}
	log.Info("Starting gatewarden", "version", buildVersion(), "routeKinds", kinds, "referenceGrantV1", grantV1, "listenerSets", listenerSets,
		"routeEnforcement", o.routeMode, "listenerSetEnforcement", o.listenerSetMode, "namespaceEnforcement", o.namespaceMode,
		"gatewayEnforcement", o.gatewayMode, "confirmTimeout", o.confirmTimeout, "confirmHedgeAfter", o.hedgeAfter)

	var selfSigned *certs.SelfSigned
	if o.selfSigned {
		if selfSigned, err = o.bootstrapCertificates(ctx, cfg, scheme, mapper); err != nil {
			return err
		}
	}

	shutdown := o.shutdownTimeout
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:         scheme,
		MapperProvider: func(*rest.Config, *http.Client) (meta.RESTMapper, error) { return mapper, nil },
		Cache:          cluster.CacheOptions(routeTypes, listenerSets),
		Metrics:        metricsserver.Options{BindAddress: o.metricsAddr},
		WebhookServer: ctrlwebhook.NewServer(ctrlwebhook.Options{
			Host:    o.webhookHost,
			Port:    o.webhookPort,
			CertDir: o.certDir,
			TLSOpts: []func(*tls.Config){func(c *tls.Config) {
				c.MinVersion = tls.VersionTLS12
				// HTTP/2 off: its rapid-reset and stream-exhaustion attacks
				// (CVE-2023-44487, CVE-2023-39325) reach any TLS server.
				c.NextProtos = []string{"http/1.1"}
			}},
		}),
		HealthProbeBindAddress:        o.probeAddr,
		PprofBindAddress:              o.pprofAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              o.leaderElectionID,
		LeaderElectionNamespace:       o.leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       &shutdown,
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	// Start every informer the webhook reads with the manager, so that
	// /readyz waits for them and no admission waits for a cold cache.
	if err := cluster.IndexRoutes(ctx, mgr.GetFieldIndexer(), routeTypes, listenerSets); err != nil {
		return err
	}
	watched := []client.Object{&gatewayv1.Gateway{}, &corev1.Namespace{}}
	if listenerSets {
		watched = append(watched, &gatewayv1.ListenerSet{})
	}
	if grantV1 {
		watched = append(watched, &gatewayv1.ReferenceGrant{})
	} else {
		watched = append(watched, &gatewayv1beta1.ReferenceGrant{})
	}
	for _, obj := range watched {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("watching %T: %w", obj, err)
		}
	}

	approvers, _ := webhook.ParseApprovers(o.grantApprovers)
	served := cluster.Options{RouteTypes: routeTypes, GrantV1: grantV1, ListenerSets: listenerSets}
	// The webhook's reader keeps each Gateway's merged listener table until
	// the informers say a ListenerSet, a Namespace's labels or a
	// ReferenceGrant changed.
	// The reads a denial waits on have a client of their own, without
	// client-go's rate limiter: they must not queue behind the status
	// writes --kube-api-qps paces.
	live, err := client.New(unlimited(cfg), client.Options{Scheme: scheme, Mapper: mapper, HTTPClient: httpClient})
	if err != nil {
		return err
	}
	confirmations, err := cluster.NewMetadataReader(live, unlimited(cfg), httpClient)
	if err != nil {
		return err
	}
	reader := cluster.NewReader(mgr.GetCache(), confirmations, served)
	reader.ConfirmTimeout = o.confirmTimeout
	reader.HedgeAfter = o.hedgeAfter
	if err := reader.Watch(ctx, mgr.GetCache()); err != nil {
		return err
	}
	if err := webhook.SetupWithManager(mgr, webhook.Options{
		Reader:          reader,
		RouteMode:       o.routeMode,
		ListenerSetMode: o.listenerSetMode,
		NamespaceMode:   o.namespaceMode,
		GatewayMode:     o.gatewayMode,
		Approvers:       approvers,
		Observe:         metrics.ObserveAdmission,
	}); err != nil {
		return fmt.Errorf("setting up the webhooks: %w", err)
	}
	if o.status {
		// The reconciler runs on events of the same informers that tell the
		// webhook's reader a table is stale, in no set order: it builds its
		// tables afresh, so that status never rests on a stale one.
		if err := status.SetupWithManager(mgr, status.Options{
			Reader:                  cluster.NewReader(mgr.GetCache(), mgr.GetAPIReader(), served),
			RouteTypes:              routeTypes,
			ControllerName:          gatewayv1.GatewayController(o.statusControllerName),
			GrantV1:                 grantV1,
			ListenerSets:            listenerSets,
			MaxConcurrentReconciles: o.statusWorkers,
			Writes:                  o.statusWrites(),
			Events:                  o.statusEvents(),
		}); err != nil {
			return err
		}
	}

	if selfSigned != nil {
		if err := mgr.Add(selfSigned); err != nil {
			return err
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("cache", func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), 100*time.Millisecond)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("the cache has not synced yet")
		}
		return nil
	}); err != nil {
		return err
	}
	disco, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, httpClient)
	if err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("apiserver", cluster.APIServerCheck(disco.RESTClient(), time.Second)); err != nil {
		return err
	}

	log.Info("Starting the manager", "webhook", fmt.Sprintf("%s:%d", o.webhookHost, o.webhookPort))
	return mgr.Start(ctx)
}

// bootstrapCertificates makes sure the serving certificate exists in
// --cert-dir before the webhook server starts, which cannot start without
// it. The ValidatingWebhookConfiguration may be created a moment after the
// Deployment: as long as the files are written, a failure to patch its
// caBundle is retried by the runnable the manager runs afterwards.
func (o *serveOptions) bootstrapCertificates(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, mapper meta.RESTMapper) (*certs.SelfSigned, error) {
	live, err := client.New(cfg, client.Options{Scheme: scheme, Mapper: mapper})
	if err != nil {
		return nil, err
	}
	s := &certs.SelfSigned{
		Client: live, Namespace: o.podNamespace, SecretName: o.selfSignedSecretName,
		WebhookConfigName: o.webhookConfigName, ServiceName: o.webhookServiceName,
		CertDir: o.certDir, CheckInterval: o.selfSignedCheckPeriod, Log: ctrl.Log.WithName("self-signed"),
	}
	if o.webhookHost != "" {
		// A webhook called by URL at its listen address needs that name too.
		s.ExtraHosts = []string{o.webhookHost}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err := s.Ensure(ctx)
		if err == nil || certFilesExist(o.certDir) {
			if err != nil {
				s.Log.Error(err, "Serving certificate written; the caBundle will be patched on the next try")
			}
			return s, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("--self-signed: %w", err)
		}
		s.Log.Error(err, "Could not set up the self-signed certificate yet; retrying")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func certFilesExist(dir string) bool {
	for _, f := range []string{"tls.crt", "tls.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}
