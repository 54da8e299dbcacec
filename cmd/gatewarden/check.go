package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
	"github.com/gatewarden/gatewarden/pkg/manifest"
	"github.com/gatewarden/gatewarden/pkg/report"
)

type checkOptions struct {
	files     []string
	output    string
	modes     report.Modes
	namespace string
	color     string

	cluster        bool
	kubeconfig     string
	kubeContext    string
	deleted        []string
	changes        bool
	gateway        string
	chunkSize      int64
	requestTimeout time.Duration
	// namespaceSet records that -n was given: with --cluster it then also
	// keeps the output to that namespace, as kubectl get -n does.
	namespaceSet bool
}

func newCheckCommand(s streams) *cobra.Command {
	o := &checkOptions{modes: report.Deny}
	cmd := &cobra.Command{
		Use:   "check -f PATH [-f PATH...] | check --cluster [-f PATH...] [--delete PATH...] [--changes]",
		Short: "Evaluate route attachment in manifests, offline, for CI, or against the cluster",
		Long: `check reads Namespaces, Gateways, ListenerSets, ReferenceGrants and routes
(HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute) from YAML or JSON files,
folders (recursively) or - (standard input), and says for every route whether
the Gateways and ListenerSets it names would accept it, and for every
ListenerSet whether its Gateway would accept it and which of its listeners
conflict. Other kinds are skipped.

A Namespace the input does not contain is taken to exist with only its
kubernetes.io/metadata.name label. A Gateway or ListenerSet the input does
not contain makes the parentRefs to it Unknown: a warning, not a denial.

With --cluster, check reads the same kinds from the cluster (kubeconfig as
kubectl: --kubeconfig, --context, $KUBECONFIG, ~/.kube/config, in-cluster),
with get and list permission only, and says it for every route and
ListenerSet there. The files of -f are laid over the live objects as kubectl
apply would lay them (the same kind, namespace and name replaces; new objects
are added), and those of --delete are removed (a Namespace with its
contents). --changes then prints only what the files change: each route
whose verdict or reason changes, before and after, each ListenerSet likewise,
and each Namespace that a label selector (of a listener, or of a Gateway's
allowedListeners) newly admits. -n (when given) and --gateway keep the output to one namespace,
or to one Gateway: its ListenerSets, and the routes that name it or them.

Exit codes: 0 nothing denied; 1 at least one route or ListenerSet denied, or
with --changes a change that detaches or denies one; 2 bad input or usage, or
a cluster that cannot be read (the message names the request that failed).`,
		Example: `  gatewarden check -f config/samples/
  kustomize build overlays/prod | gatewarden check -f - -o json

  # Every route in the cluster, or those of one namespace or Gateway
  gatewarden check --cluster
  gatewarden check --cluster -n careers
  gatewarden check --cluster --gateway infra-ns/shared-gateway

  # What would this pull request do to what runs?
  gatewarden check --cluster --changes -f deploy/ --delete removed/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.namespaceSet = cmd.Flags().Changed("namespace")
			return o.run(cmd.Context(), s)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "filename", "f", nil, "a file, a folder (read recursively) or - for standard input; repeatable")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.Var(&o.modes.Routes, "route-enforcement", "what a rejected parentRef is: deny or warn (a Gateway's gatewarden.dev/enforcement annotation overrides it)")
	f.Var(&o.modes.ListenerSets, "listenerset-enforcement", "what a ListenerSet its Gateway does not accept is: deny, warn or off (the Gateway's gatewarden.dev/enforcement annotation overrides it)")
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the objects that name none, as kubectl apply would use; with --cluster, also the only namespace shown")
	f.StringVar(&o.color, "color", "auto", "colour the text output: auto (on a terminal), always or never")
	f.BoolVar(&o.cluster, "cluster", false, "read the objects of the cluster, and lay the files over them")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "with --cluster: path to a kubeconfig; empty uses $KUBECONFIG, ~/.kube/config or the in-cluster config")
	f.StringVar(&o.kubeContext, "context", "", "with --cluster: kubeconfig context to use; empty uses the current one")
	f.StringArrayVar(&o.deleted, "delete", nil, "with --cluster: a file, folder or - whose objects are deleted from the cluster's; repeatable")
	f.BoolVar(&o.changes, "changes", false, "with --cluster and -f or --delete: print only what the files change")
	f.StringVar(&o.gateway, "gateway", "", "NAMESPACE/NAME: show only this Gateway's ListenerSets and the routes whose parentRefs name it or them")
	f.Int64Var(&o.chunkSize, "chunk-size", 500, "with --cluster: how many objects to ask the API server for at a time; 0 asks for all at once")
	f.DurationVar(&o.requestTimeout, "request-timeout", 30*time.Second, "with --cluster: how long one request to the API server may take")
	return cmd
}

func (o *checkOptions) run(ctx context.Context, s streams) error {
	gateway, err := o.validate()
	if err != nil {
		return &exitError{exitUsage, err}
	}
	color, err := o.useColor(s)
	if err != nil {
		return &exitError{exitUsage, err}
	}
	// Bad files fail before the cluster is asked anything.
	read := manifest.Options{DefaultNamespace: o.namespace}
	files, err := manifest.Read(o.files, s.in, read)
	if err != nil {
		return &exitError{exitUsage, err}
	}
	deleted, err := manifest.Read(o.deleted, s.in, read)
	if err != nil {
		return &exitError{exitUsage, err}
	}

	var rep *report.Report
	if !o.cluster {
		rep, err = report.Build(files, o.modes)
	} else {
		var live []manifest.Object
		if live, err = o.readCluster(ctx, s); err != nil {
			return &exitError{exitUsage, err}
		}
		after := manifest.Overlay(live, files, deleted)
		if gateway != (types.NamespacedName{}) && !hasGateway(live, gateway) && !hasGateway(after, gateway) {
			return &exitError{exitUsage, fmt.Errorf("--gateway: Gateway %s is neither in the cluster nor in the files", gateway)}
		}
		if o.changes {
			rep, err = report.Compare(live, after, o.modes)
		} else {
			rep, err = report.Build(after, o.modes)
		}
	}
	if err != nil {
		return &exitError{exitUsage, err}
	}
	filter := report.Filter{Gateway: gateway}
	if o.cluster && o.namespaceSet {
		filter.Namespace = o.namespace
	}
	rep.Filter(filter)

	if o.output == "json" {
		err = rep.WriteJSON(s.out)
	} else {
		err = rep.WriteText(s.out, color)
	}
	if err != nil {
		return &exitError{exitUsage, err}
	}
	if (o.changes && rep.Breaking()) || (!o.changes && rep.Denied()) {
		return &exitError{code: exitDenied}
	}
	return nil
}

// validate checks the flags together and returns --gateway parsed.
func (o *checkOptions) validate() (types.NamespacedName, error) {
	var gw types.NamespacedName
	switch {
	case !o.cluster && len(o.files) == 0:
		return gw, errors.New("check needs at least one -f PATH, or --cluster")
	case o.output != "text" && o.output != "json":
		return gw, fmt.Errorf("--output %q is not text or json", o.output)
	case o.modes.Routes == attachment.ModeOff:
		return gw, errors.New("--route-enforcement for check is deny or warn")
	case !o.cluster && (len(o.deleted) > 0 || o.changes):
		return gw, errors.New("--delete and --changes compare with the cluster: add --cluster")
	case o.changes && len(o.files) == 0 && len(o.deleted) == 0:
		return gw, errors.New("--changes needs the files of a change: -f PATH or --delete PATH")
	case stdinReads(o.files)+stdinReads(o.deleted) > 1:
		return gw, errors.New("- (standard input) can be read only once: give it to one -f or --delete")
	case o.chunkSize < 0:
		return gw, fmt.Errorf("--chunk-size %d is negative", o.chunkSize)
	case o.requestTimeout <= 0:
		return gw, fmt.Errorf("--request-timeout %s is not positive", o.requestTimeout)
	}
	if o.gateway != "" {
		ns, name, ok := strings.Cut(o.gateway, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return gw, fmt.Errorf("--gateway %q is not NAMESPACE/NAME", o.gateway)
		}
		gw = types.NamespacedName{Namespace: ns, Name: name}
	}
	return gw, nil
}

// readCluster reads the objects check evaluates from the cluster. An error
// names what failed: the kubeconfig, reaching the API server, or the list
// of one resource.
func (o *checkOptions) readCluster(ctx context.Context, s streams) ([]manifest.Object, error) {
	// stderr is for check's own error, which CI logs show: client-go's
	// klog lines (such as a sibling list cancelled after the first error)
	// are not; the API server's warnings are, as kubectl prints them.
	klog.SetLogger(logr.Discard())
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: o.kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.UserAgent = "gatewarden-check/" + buildVersion()
	cfg.WarningHandler = rest.NewWarningWriter(s.err, rest.WarningWriterOptions{Deduplicate: true})
	cfg.Timeout = o.requestTimeout
	// The pages are asked one after the other; a client-side limit would
	// only add waits between them.
	cfg.QPS, cfg.Burst = 50, 100
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building the discovery client: %w", err)
	}
	if _, err := disc.ServerVersionWithContext(ctx); err != nil {
		return nil, fmt.Errorf("cannot reach the cluster at %s: %w", cfg.Host, err)
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("discovering the API server's resources: %w", err)
	}
	kinds, err := cluster.ListedKinds(mapper)
	if err != nil {
		return nil, err
	}
	scheme, err := newScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme, Mapper: mapper, HTTPClient: httpClient})
	if err != nil {
		return nil, fmt.Errorf("building the client: %w", err)
	}
	snap := &cluster.Snapshot{Reader: c, Kinds: kinds, PageSize: o.chunkSize}
	objs, err := snap.Read(ctx)
	if err != nil {
		return nil, err
	}
	live := make([]manifest.Object, len(objs))
	for i, obj := range objs {
		live[i] = manifest.Object{Object: obj} // no Source: read from the cluster
	}
	return live, nil
}

func stdinReads(paths []string) int {
	n := 0
	for _, p := range paths {
		if p == manifest.Stdin {
			n++
		}
	}
	return n
}

func hasGateway(objs []manifest.Object, gw types.NamespacedName) bool {
	key := manifest.Key{GroupKind: schema.GroupKind{Group: gatewayv1.GroupName, Kind: string(attachment.KindGateway)}, Namespace: gw.Namespace, Name: gw.Name}
	return slices.ContainsFunc(objs, func(o manifest.Object) bool { return manifest.KeyOf(o.Object) == key })
}

func (o *checkOptions) useColor(s streams) (bool, error) {
	switch o.color {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		if _, set := os.LookupEnv("NO_COLOR"); set {
			return false, nil
		}
		f, ok := s.out.(*os.File)
		if !ok {
			return false, nil
		}
		info, err := f.Stat()
		return err == nil && info.Mode()&os.ModeCharDevice != 0, nil
	}
	return false, fmt.Errorf("--color %q is not auto, always or never", o.color)
}
