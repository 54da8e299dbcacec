// Package bench_test measures gatewarden against a real kube-apiserver
// holding a cluster of realistic size: by default 50,000 HTTPRoutes in
// 10,000 Namespaces, attached to 1,000 Gateways of 4 to 16 listeners
// (BENCH_ROUTES scales it: one Namespace per 5 routes, one Gateway per 50).
// `make bench` runs it; `make test` does not (populating the cluster alone
// takes minutes on two cores).
//
// Every figure comes from processes of their own, as they run in a cluster:
// the gatewarden binary as it ships, the no-op webhooks of test/bench/noop,
// and the API server. CPU is read from /proc/PID/stat, memory from
// /proc/PID/status, and status convergence from a watch.
package bench_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/test/chart"
	"github.com/gatewarden/gatewarden/test/framework"
)

// pprofAddr serves gatewarden's profiler during the benchmarks that start
// one gatewarden:
// curl http://127.0.0.1:6061/debug/pprof/profile?seconds=10 > cpu.out
const pprofAddr = "127.0.0.1:6061"

// The cluster's shape. Namespace team-K holds routes 5K to 5K+4, all
// attached to Gateway gw-(K/10) in namespace infra-(K/100), so that a
// cluster of n routes is the first n routes of any bigger one. Every
// Gateway's listeners select namespaces by label, except every tenth
// Gateway's, which admit routes from its own namespace only; every tenth
// team Namespace lacks the label. About a fifth of the routes are rejected,
// as in a cluster gatewarden joins late.
const (
	defaultRoutes      = 50000
	routesPerNamespace = 5
	routesPerGateway   = 50
	gatewaysPerInfraNS = 10
	// relabelRoutes live in namespace relabelNS, all attached to gw-0.
	relabelRoutes = 1000
	relabelNS     = "relabel"
	accessLabel   = "shared-gateway-access"
	// concurrency is how many admissions the load keeps in flight, over as
	// many keep-alive connections.
	concurrency = 16
)

// benchRoutes is the number of routes of the cluster the benchmarks run
// against: BENCH_ROUTES, or 50,000.
func benchRoutes(b *testing.B) int {
	return envInt(b, "BENCH_ROUTES", defaultRoutes)
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		b.Fatalf("%s=%q is not a count", name, v)
	}
	return n
}

func namespaceOfRoute(i int) int   { return i / routesPerNamespace }
func gatewayOfRoute(i int) int     { return i / routesPerGateway }
func gatewayOfNamespace(k int) int { return k * routesPerNamespace / routesPerGateway }
func teamNamespace(k int) string   { return fmt.Sprintf("team-%d", k) }
func infraNamespace(g int) string  { return fmt.Sprintf("infra-%d", g/gatewaysPerInfraNS) }
func gatewayName(g int) string     { return fmt.Sprintf("gw-%d", g) }

// labelled reports whether team Namespace k carries the access label.
func labelled(k int) bool { return k%10 != 9 }

// private reports whether Gateway g admits routes from its own namespace
// only.
func private(g int) bool { return g%10 == 9 }

// listenersOf is the number of listeners of Gateway g: 4 to 16.
func listenersOf(g int) int { return 4 + g*7%13 }

// shape is the size of a cluster of n team routes. The relabel namespace,
// its 1,000 routes and the infra namespaces come on top.
type shape struct{ routes, teams, gateways, listeners int }

func shapeOf(routes int) shape {
	s := shape{routes: routes, teams: ceilDiv(routes, routesPerNamespace), gateways: max(ceilDiv(routes, routesPerGateway), 1)}
	for g := range s.gateways {
		s.listeners += listenersOf(g)
	}
	return s
}

// totalRoutes counts the relabel namespace's routes too.
func (s shape) totalRoutes() int { return s.routes + relabelRoutes }

// totalNamespaces counts the relabel and infra namespaces too.
func (s shape) totalNamespaces() int { return s.teams + 1 + ceilDiv(s.gateways, gatewaysPerInfraNS) }

func (s shape) String() string {
	return fmt.Sprintf("%d routes, %d Namespaces, %d Gateways with %d listeners", s.totalRoutes(), s.totalNamespaces(), s.gateways, s.listeners)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func teamNamespaceObject(k int) *corev1.Namespace {
	labels := map[string]string{"tier": []string{"gold", "silver"}[k%2]}
	if labelled(k) {
		labels[accessLabel] = "true"
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: teamNamespace(k), Labels: labels}}
}

// gatewayObject is Gateway g: HTTPS listeners on port 443 for
// *.zoneL.example.com, each admitting the namespaces with the access label,
// or, for a private Gateway, its own namespace only.
func gatewayObject(g int) *gatewayv1.Gateway {
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: infraNamespace(g), Name: gatewayName(g)}}
	gw.Spec.GatewayClassName = "example"
	namespaces := &gatewayv1.RouteNamespaces{
		From:     ptr.To(gatewayv1.NamespacesFromSelector),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{accessLabel: "true"}},
	}
	if private(g) {
		namespaces = &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromSame)}
	}
	for l := range listenersOf(g) {
		gw.Spec.Listeners = append(gw.Spec.Listeners, gatewayv1.Listener{
			Name: gatewayv1.SectionName(fmt.Sprintf("https-%d", l)), Port: 443, Protocol: gatewayv1.HTTPSProtocolType,
			Hostname:      ptr.To(gatewayv1.Hostname(fmt.Sprintf("*.zone%d.example.com", l))),
			TLS:           &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "cert"}}},
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: namespaces.DeepCopy()},
		})
	}
	return gw
}

// routeObject is an HTTPRoute as a team writes it: a hostname in one of the
// four zones every Gateway has a listener for, one rule, one backend in its
// own namespace, and a parentRef to each of the Gateways.
func routeObject(ns, name string, zone int, gateways ...int) *gatewayv1.HTTPRoute {
	r := &gatewayv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.HTTPRouteSpec{
			Hostnames: []gatewayv1.Hostname{gatewayv1.Hostname(fmt.Sprintf("%s.zone%d.example.com", name, zone%4))},
			Rules: []gatewayv1.HTTPRouteRule{{
				Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/" + name)}}},
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "app", Port: ptr.To(gatewayv1.PortNumber(8080))}}}},
			}},
		},
	}
	for _, g := range gateways {
		r.Spec.ParentRefs = append(r.Spec.ParentRefs, gatewayv1.ParentReference{
			Namespace: ptr.To(gatewayv1.Namespace(infraNamespace(g))), Name: gatewayv1.ObjectName(gatewayName(g)),
		})
	}
	return r
}

// benchCluster is a control plane and how much of the cluster's shape it
// holds so far.
type benchCluster struct {
	*framework.ControlPlane
	// fast is a client without client-side rate limits, to create objects
	// quickly.
	fast client.Client

	mu       sync.Mutex
	routes   int
	gateways int
	relabel  bool
	// chartInstall is what installAsChart installed, once.
	chartInstall *chartInstall
}

// chartInstall is the chart's ServiceAccount, RBAC and flow control on a
// control plane, and a kubeconfig and a client for that ServiceAccount.
type chartInstall struct {
	kubeconfig  string
	client      client.Client
	flowControl bool
}

var (
	cp          *framework.ControlPlane
	mainOnce    sync.Once
	mainCluster *benchCluster
)

func TestMain(m *testing.M) {
	os.Exit(framework.RunSuite(m, framework.Options{}, &cp))
}

// theCluster is the control plane TestMain started.
func theCluster(b *testing.B) *benchCluster {
	mainOnce.Do(func() { mainCluster = newBenchCluster(b, cp) })
	return mainCluster
}

// newControlPlane starts a control plane of its own, with extra flags for
// its kube-apiserver, stopped when the benchmark ends.
func newControlPlane(b *testing.B, apiServerFlags map[string]string) *benchCluster {
	c, err := framework.Start(framework.Options{APIServerFlags: apiServerFlags})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := c.Stop(); err != nil {
			b.Error(err)
		}
	})
	return newBenchCluster(b, c)
}

func newBenchCluster(b *testing.B, c *framework.ControlPlane) *benchCluster {
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = -1, -1
	fast, err := client.New(cfg, client.Options{Scheme: c.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	return &benchCluster{ControlPlane: c, fast: fast}
}

// populate makes the cluster hold the first n routes of the shape, their
// Namespaces and Gateways, and the relabel namespace with its 1,000 routes
// attached to gw-0. Objects are created once: a bigger n adds to what is
// there.
func (c *benchCluster) populate(b *testing.B, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n <= c.routes && c.relabel {
		return
	}
	start := time.Now()
	want := shapeOf(n).gateways
	var objs []client.Object
	for g := c.gateways; g < want; g++ {
		if g%gatewaysPerInfraNS == 0 {
			objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: infraNamespace(g)}})
		}
	}
	for k := ceilDiv(c.routes, routesPerNamespace); k < ceilDiv(n, routesPerNamespace); k++ {
		objs = append(objs, teamNamespaceObject(k))
	}
	if !c.relabel {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: relabelNS, Labels: map[string]string{accessLabel: "true"}}})
	}
	create(b, c.fast, objs)

	objs = objs[:0]
	for g := c.gateways; g < want; g++ {
		objs = append(objs, gatewayObject(g))
	}
	create(b, c.fast, objs)
	c.gateways = want

	objs = objs[:0]
	for i := c.routes; i < n; i++ {
		objs = append(objs, routeObject(teamNamespace(namespaceOfRoute(i)), fmt.Sprintf("route-%d", i), i, gatewayOfRoute(i)))
	}
	if !c.relabel {
		for i := range relabelRoutes {
			objs = append(objs, routeObject(relabelNS, fmt.Sprintf("route-%d", i), i, 0))
		}
	}
	create(b, c.fast, objs)
	b.Logf("populated %s in %s", shapeOf(n), time.Since(start).Round(time.Second))
	c.routes, c.relabel = max(c.routes, n), true
}

// create creates objects from 32 workers; an object that exists already is
// fine.
func create(b *testing.B, c client.Client, objs []client.Object) {
	work := make(chan client.Object)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range 32 {
		wg.Go(func() {
			for o := range work {
				if err := c.Create(context.Background(), o); err != nil && !strings.Contains(err.Error(), "already exists") {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, o := range objs {
		work <- o
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		b.Fatalf("%d of %d objects not created: %v", len(errs), len(objs), errors.Join(errs[:min(3, len(errs))]...))
	}
}

// memoryLimit says how gatewarden runs: as the chart runs it, under the
// container memory limit of the chart's default values, or as a user runs
// it by hand, with none.
type memoryLimit bool

const (
	chartLimit memoryLimit = true
	noLimit    memoryLimit = false
)

func (m memoryLimit) String() string {
	if m {
		return "chart-limit"
	}
	return "no-limit"
}

var (
	chartMemoryOnce  sync.Once
	chartMemoryBytes int64
)

// chartMemoryLimit is resources.limits.memory of the chart's Deployment
// with default values.
func chartMemoryLimit(b *testing.B) int64 {
	chartMemoryOnce.Do(func() {
		objs, err := chart.RenderChart(cp.Bin+"/helm", cp.Root+"/charts/gatewarden", "gatewarden-system")
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range objs {
			if o.GetKind() != "Deployment" {
				continue
			}
			containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			for _, c := range containers {
				m, _ := c.(map[string]any)
				limit, _, _ := unstructured.NestedString(m, "resources", "limits", "memory")
				if q, err := resource.ParseQuantity(limit); err == nil {
					chartMemoryBytes = q.Value()
				}
			}
		}
	})
	if chartMemoryBytes == 0 {
		b.Fatal("the chart's Deployment sets no memory limit")
	}
	return chartMemoryBytes
}

// env is the environment a gatewarden process starts with. Under the
// chart's limit, GOMEMLIMIT says what serve reads from the container's
// cgroup there (cmd/gatewarden/memlimit.go containerShare: 65% of the
// container's limit);
// without, gatewarden gets none, as when a user runs it by hand.
func (m memoryLimit) env(b *testing.B) map[string]string {
	if !m {
		return map[string]string{"GOMEMLIMIT": "", "GOGC": ""}
	}
	return map[string]string{"GOMEMLIMIT": strconv.FormatInt(chartMemoryLimit(b)/100*65, 10), "GOGC": ""}
}

// envMu serializes starting processes with a changed environment: the
// child inherits the benchmark's environment when it starts.
var envMu sync.Mutex

func withEnv(env map[string]string, start func()) {
	envMu.Lock()
	defer envMu.Unlock()
	saved := map[string]*string{}
	for k, v := range env {
		if old, ok := os.LookupEnv(k); ok {
			saved[k] = &old
		} else {
			saved[k] = nil
		}
		if v == "" {
			_ = os.Unsetenv(k)
		} else {
			_ = os.Setenv(k, v)
		}
	}
	defer func() {
		for k, v := range saved {
			if v == nil {
				_ = os.Unsetenv(k)
			} else {
				_ = os.Setenv(k, *v)
			}
		}
	}()
	start()
}

// startAsChart is startGatewarden as the chart's ServiceAccount, with its
// RBAC, the chart's flow control when flowControl says so, and a token as a
// pod's (installAsChart): the API server authenticates, authorizes and
// queues gatewarden's reads and writes as it does in a cluster.
func (c *benchCluster) startAsChart(b *testing.B, flowControl bool, name string, limit memoryLimit, flags ...string) *framework.Server {
	return c.startGatewarden(b, name, limit, append([]string{"--kubeconfig=" + c.installAsChart(b, flowControl).kubeconfig}, flags...)...)
}

// startGatewarden runs `gatewarden serve` against the cluster with the
// memory limit given, and stops it when the benchmark ends.
// BENCH_GATEWARDEN_FLAGS, space-separated, come after the benchmark's own
// flags, to compare settings without editing the benchmark.
func (c *benchCluster) startGatewarden(b *testing.B, name string, limit memoryLimit, flags ...string) *framework.Server {
	flags = append(flags, strings.Fields(os.Getenv("BENCH_GATEWARDEN_FLAGS"))...)
	var s *framework.Server
	var err error
	withEnv(limit.env(b), func() {
		s, err = c.StartGatewarden(context.Background(), name, nil, flags...)
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			b.Error(err)
		}
	})
	return s
}
