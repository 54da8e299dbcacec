// Package bench_test measures gatewarden against a real kube-apiserver with
// a cluster of realistic size in its cache: 1,000 Gateways, 10,000
// Namespaces and 50,000 HTTPRoutes. `make bench` runs it; `make test` does
// not (the setup alone takes a minute or two on two cores).
package bench_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/test/framework"
)

// pprofAddr serves gatewarden's profiler during the benchmarks:
// curl http://127.0.0.1:6061/debug/pprof/profile?seconds=10 > cpu.out
const pprofAddr = "127.0.0.1:6061"

const (
	gateways   = 1000
	namespaces = 10000
	routes     = 50000
	// relabelRoutes live in one namespace, all attached to gw-0.
	relabelRoutes = 1000
	relabelNS     = "relabel"
	accessLabel   = "shared-gateway-access"
	concurrency   = 16
)

var cp *framework.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(framework.RunSuite(m, framework.Options{}, &cp))
}

var (
	populateSmall, populateLarge sync.Once
	benchClient                  client.Client
)

// unlimited is a client that is not rate limited, to create objects fast.
func unlimited(b *testing.B) client.Client {
	if benchClient == nil {
		cfg := rest.CopyConfig(cp.Config)
		cfg.QPS, cfg.Burst = -1, -1
		c, err := client.New(cfg, client.Options{Scheme: cp.Scheme})
		if err != nil {
			b.Fatal(err)
		}
		benchClient = c
	}
	return benchClient
}

// populateRelabel creates the namespace of 1,000 routes attached to gw-0,
// which the relabel benchmarks change.
func populateRelabel(b *testing.B) {
	populateSmall.Do(func() {
		c := unlimited(b)
		create(b, c, []client.Object{
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "infra-0"}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: relabelNS, Labels: map[string]string{accessLabel: "true"}}},
		})
		create(b, c, []client.Object{gateway(0)})
		objs := make([]client.Object, 0, relabelRoutes)
		for i := range relabelRoutes {
			objs = append(objs, route(relabelNS, fmt.Sprintf("route-%d", i), 0))
		}
		create(b, c, objs)
	})
}

// populateCluster creates a cluster of realistic size, once, before
// gatewarden starts: 1,000 Gateways, 10,000 Namespaces, 50,000 routes, plus
// the relabel namespace.
func populateCluster(b *testing.B) {
	populateRelabel(b)
	populateLarge.Do(func() {
		start := time.Now()
		c := unlimited(b)
		var objs []client.Object
		for i := 1; i < gateways/10; i++ {
			objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("infra-%d", i)}})
		}
		for i := range namespaces {
			objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("team-%d", i), Labels: map[string]string{accessLabel: "true", "tier": []string{"gold", "silver"}[i%2]},
			}})
		}
		create(b, c, objs)

		objs = objs[:0]
		for i := 1; i < gateways; i++ {
			objs = append(objs, gateway(i))
		}
		create(b, c, objs)

		objs = objs[:0]
		for i := range routes {
			ns := i % namespaces
			objs = append(objs, route(fmt.Sprintf("team-%d", ns), fmt.Sprintf("route-%d", i), ns%gateways))
		}
		create(b, c, objs)
		b.Logf("created %d Gateways, %d Namespaces and %d routes in %s", gateways, namespaces+1, routes+relabelRoutes, time.Since(start).Round(time.Second))
	})
}

func create(b *testing.B, c client.Client, objs []client.Object) {
	work := make(chan client.Object)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 32 {
		wg.Go(func() {
			for o := range work {
				if err := c.Create(context.Background(), o); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
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
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

// gateway i has 8 HTTPS listeners, each selecting namespaces by label.
func gateway(i int) *gatewayv1.Gateway {
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("infra-%d", i/10), Name: fmt.Sprintf("gw-%d", i)}}
	gw.Spec.GatewayClassName = "example"
	for l := range 8 {
		gw.Spec.Listeners = append(gw.Spec.Listeners, gatewayv1.Listener{
			Name: gatewayv1.SectionName(fmt.Sprintf("https-%d", l)), Port: 443, Protocol: gatewayv1.HTTPSProtocolType,
			Hostname: ptr.To(gatewayv1.Hostname(fmt.Sprintf("*.zone%d.example.com", l))),
			TLS:      &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "cert"}}},
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{
				From:     ptr.To(gatewayv1.NamespacesFromSelector),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{accessLabel: "true"}},
			}},
		})
	}
	return gw
}

func route(ns, name string, gw int) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{
				Namespace: ptr.To(gatewayv1.Namespace(fmt.Sprintf("infra-%d", gw/10))), Name: gatewayv1.ObjectName(fmt.Sprintf("gw-%d", gw)),
			}}},
			Hostnames: []gatewayv1.Hostname{gatewayv1.Hostname(name + ".zone7.example.com")},
			Rules: []gatewayv1.HTTPRouteRule{{
				Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/" + name)}}},
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "app", Port: ptr.To(gatewayv1.PortNumber(8080))}}}},
			}},
		},
	}
}

// reviews are real AdmissionReview bodies: creates of HTTPRoutes spread over
// the namespaces and Gateways, all of which the Gateways accept.
func reviews(n int) [][]byte {
	out := make([][]byte, n)
	for i := range n {
		ns := (i * 7919) % namespaces
		r := route(fmt.Sprintf("team-%d", ns), fmt.Sprintf("new-%d", i), ns%gateways)
		raw, _ := json.Marshal(r)
		out[i] = review(admissionv1.Create, "httproutes", "HTTPRoute", r.Namespace, r.Name, raw, nil)
	}
	return out
}

func review(op admissionv1.Operation, resource, kind, ns, name string, obj, old []byte) []byte {
	group := gatewayv1.GroupName
	if kind == "Namespace" {
		group = ""
	}
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "00000000-0000-0000-0000-000000000001",
			Kind:      metav1.GroupVersionKind{Group: group, Version: "v1", Kind: kind},
			Resource:  metav1.GroupVersionResource{Group: group, Version: "v1", Resource: resource},
			Namespace: ns, Name: name, Operation: op,
			UserInfo: authUser(),
		},
	}
	r.Request.Object.Raw, r.Request.OldObject.Raw = obj, old
	b, _ := json.Marshal(r)
	return b
}

// load posts the bodies to url from concurrency workers over keep-alive
// connections and returns the throughput and the latency percentiles. With
// rate 0 the workers send as fast as the server answers (saturation, for
// throughput); with a rate, requests are scheduled at that pace and each
// latency counts from its scheduled time, so a stall is not hidden by the
// requests it delayed.
func load(b *testing.B, c *http.Client, url string, bodies [][]byte, rate int) (float64, time.Duration, time.Duration) {
	b.Helper()
	latencies := make([]time.Duration, len(bodies))
	type job struct {
		i     int
		sched time.Time
	}
	next := make(chan job, len(bodies))
	var wg sync.WaitGroup
	var failed sync.Once
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for j := range next {
				resp, err := c.Post(url, "application/json", bytes.NewReader(bodies[j.i]))
				if err == nil {
					var out admissionv1.AdmissionReview
					err = json.NewDecoder(resp.Body).Decode(&out)
					_ = resp.Body.Close()
					if err == nil && (out.Response == nil || !out.Response.Allowed) {
						err = fmt.Errorf("not allowed: %+v", out.Response)
					}
				}
				latencies[j.i] = time.Since(j.sched)
				if err != nil {
					failed.Do(func() { b.Errorf("request %d: %v", j.i, err) })
				}
			}
		})
	}
	for i := range bodies {
		sched := time.Now()
		if rate > 0 {
			sched = start.Add(time.Duration(i) * time.Second / time.Duration(rate))
			time.Sleep(time.Until(sched))
		}
		next <- job{i, sched}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	return float64(len(bodies)) / elapsed.Seconds(), latencies[len(latencies)/2], latencies[len(latencies)*99/100]
}

// asTheChartRunsIt gives the gatewarden a benchmark starts the memory limit
// it has in the chart's container: serve reads the container's 256 MiB limit
// and sets the Go memory limit to 90% of it (and collects less often under
// it). There is no container here, so GOMEMLIMIT says the same.
// BENCH_AS_CHART=off runs it without.
func asTheChartRunsIt(b *testing.B) {
	if os.Getenv("BENCH_AS_CHART") != "off" {
		b.Setenv("GOMEMLIMIT", strconv.Itoa(256<<20/10*9))
	}
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

func keepAliveClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cp.CABundle())
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency,
	}}
}

// noopServer runs test/bench/noop, a controller-runtime webhook server with
// gatewarden's settings whose validator allows everything at once: the cost
// of the framework alone, in a process of its own as gatewarden is.
func noopServer(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "noop")
	build := exec.Command("go", "build", "-o", bin, "./test/bench/noop")
	build.Dir = cp.Root
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building the no-op server: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--cert-dir", cp.ServingCertDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for range 100 {
		if conn, err := net.Dial("tcp", addr); err == nil {
			_ = conn.Close()
			return "https://" + addr + "/validate-gateway-networking-k8s-io-v1-httproute"
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatal("the no-op webhook server did not start")
	return ""
}

// BenchmarkAdmissionHTTPS drives gatewarden's HTTPS endpoint with real
// AdmissionReviews, 16 at a time over keep-alive connections, with 1,000
// Gateways, 10,000 Namespaces and 50,000 routes in its cache, and the same
// load against a no-op controller-runtime webhook with the same server
// settings. Throughput is measured at saturation (target: at least 80% of
// the no-op's); latency at a steady 1,000 admissions a second, a busy
// cluster's rate (target: p99 under 5 ms).
func BenchmarkAdmissionHTTPS(b *testing.B) {
	populateCluster(b)
	asTheChartRunsIt(b)
	s := startGatewarden(b, "admission", "--status=false", "--pprof-bind-address="+pprofAddr)
	gatewardenURL := s.URL + "/validate-gateway-networking-k8s-io-v1-httproute"
	noopURL := noopServer(b)
	c := keepAliveClient()
	bodies := reviews(6000)
	// Warm up both: connections, and the first reads of the cache.
	load(b, c, gatewardenURL, bodies[:1000], 0)
	load(b, c, noopURL, bodies[:1000], 0)

	var gwRate, noopRate float64
	var gwP50s, gwP99s, noopP99s []time.Duration
	for b.Loop() {
		noopRate, _, _ = load(b, c, noopURL, bodies, 0)
		gwRate, _, _ = load(b, c, gatewardenURL, bodies, 0)
		_, _, p99 := load(b, c, noopURL, bodies[:3000], 1000)
		noopP99s = append(noopP99s, p99)
		_, p50, p99 := load(b, c, gatewardenURL, bodies[:3000], 1000)
		gwP50s, gwP99s = append(gwP50s, p50), append(gwP99s, p99)
	}
	// The median run's percentiles: one run's tail on a shared two-core
	// machine says more about the machine than about the server.
	gwP50, gwP99, noopP99 := median(gwP50s), median(gwP99s), median(noopP99s)
	b.ReportMetric(gwRate, "gatewarden-req/s")
	b.ReportMetric(noopRate, "noop-req/s")
	b.ReportMetric(gwRate/noopRate, "throughput-ratio")
	b.ReportMetric(float64(gwP50.Microseconds())/1000, "gatewarden-p50-ms@1k/s")
	b.ReportMetric(float64(gwP99.Microseconds())/1000, "gatewarden-p99-ms@1k/s")
	b.ReportMetric(float64(noopP99.Microseconds())/1000, "noop-p99-ms@1k/s")
}

// BenchmarkNamespaceRelabel1000Routes measures the admission of a label
// change on a namespace holding 1,000 routes attached to one Gateway,
// through the HTTPS endpoint, with the full cluster in the cache: every
// route is evaluated before and after. Target: under 50 ms.
func BenchmarkNamespaceRelabel1000Routes(b *testing.B) {
	populateCluster(b)
	s := startGatewarden(b, "relabel", "--status=false")
	url := s.URL + "/validate--v1-namespace"
	c := keepAliveClient()
	oldNS, _ := json.Marshal(&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: relabelNS, Labels: map[string]string{accessLabel: "true"}}})
	newNS, _ := json.Marshal(&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: relabelNS}})
	body := review(admissionv1.Update, "namespaces", "Namespace", "", relabelNS, newNS, oldNS)

	var warnings int
	for b.Loop() {
		resp, err := c.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var out admissionv1.AdmissionReview
		err = json.NewDecoder(resp.Body).Decode(&out)
		_ = resp.Body.Close()
		if err != nil || out.Response == nil {
			b.Fatalf("bad response: %v", err)
		}
		warnings = len(out.Response.Warnings)
	}
	if warnings == 0 {
		b.Fatalf("the relabel must warn about the 1,000 routes that detach (got %d warnings)", warnings)
	}
}

// BenchmarkStatusConvergence relabels a namespace holding 1,000 routes
// attached to one Gateway, and waits until the status of every one of them
// says so; then relabels it back. Target: under 5 s each way.
func BenchmarkStatusConvergence(b *testing.B) {
	populateRelabel(b)
	asTheChartRunsIt(b)
	startGatewarden(b, "status", "--pprof-bind-address="+pprofAddr)
	ctx := context.Background()
	w := watchRelabelRoutes(b)
	w.wait(b, metav1.ConditionTrue, 10*time.Minute)

	var worst time.Duration
	for b.Loop() {
		for _, step := range []struct {
			labels map[string]string
			want   metav1.ConditionStatus
		}{{nil, metav1.ConditionFalse}, {map[string]string{accessLabel: "true"}, metav1.ConditionTrue}} {
			ns := &corev1.Namespace{}
			if err := cp.Client.Get(ctx, client.ObjectKey{Name: relabelNS}, ns); err != nil {
				b.Fatal(err)
			}
			ns.Labels = step.labels
			t0 := time.Now()
			if err := cp.Client.Update(ctx, ns); err != nil {
				b.Fatal(err)
			}
			w.wait(b, step.want, time.Minute)
			worst = max(worst, time.Since(t0))
		}
	}
	b.ReportMetric(worst.Seconds(), "worst-convergence-s")
}

// BenchmarkMemory reports the resident memory of gatewarden, status
// reconciler on, once it has evaluated and written the status of all
// 51,000 routes of the full cluster. Target: under 250 MiB.
//
// It runs gatewarden as the chart does (asTheChartRunsIt).
func BenchmarkMemory(b *testing.B) {
	populateCluster(b)
	asTheChartRunsIt(b)
	s := startGatewarden(b, "memory", "--pprof-bind-address="+pprofAddr)
	start := time.Now()
	for gauged(b, s) < routes+relabelRoutes {
		if time.Since(start) > 20*time.Minute {
			b.Fatalf("the reconciler evaluated %d routes in 20 minutes", gauged(b, s))
		}
		time.Sleep(time.Second)
	}
	b.Logf("the reconciler evaluated all %d routes %s after start", routes+relabelRoutes, time.Since(start).Round(time.Second))
	var peak int64
	for b.Loop() {
		peak = max(peak, rss(b, s.PID()))
		time.Sleep(100 * time.Millisecond)
	}
	b.ReportMetric(float64(peak)/(1<<20), "gatewarden-rss-MiB")
}

// gauged sums gatewarden_routes: the route parentRefs the reconciler has
// evaluated.
func gauged(b *testing.B, s *framework.Server) int {
	resp, err := http.Get(s.MetricsURL + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	total := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "gatewarden_routes{") {
			if v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64); err == nil {
				total += v
			}
		}
	}
	return int(total)
}

// routeWatch follows gatewarden's Accepted condition of the relabel routes
// through a watch: polling 1,000 routes with their status would cost the
// API server as much as the writes it waits for.
type routeWatch struct {
	mu     sync.Mutex
	status map[string]metav1.ConditionStatus
	seen   chan struct{}
}

func watchRelabelRoutes(b *testing.B) *routeWatch {
	c, err := client.NewWithWatch(cp.Config, client.Options{Scheme: cp.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	w, err := c.Watch(ctx, &gatewayv1.HTTPRouteList{}, client.InNamespace(relabelNS))
	if err != nil {
		b.Fatal(err)
	}
	rw := &routeWatch{status: map[string]metav1.ConditionStatus{}, seen: make(chan struct{}, 1)}
	go func() {
		for ev := range w.ResultChan() {
			r, ok := ev.Object.(*gatewayv1.HTTPRoute)
			if !ok {
				continue
			}
			rw.mu.Lock()
			rw.status[r.Name] = ""
			for _, p := range r.Status.Parents {
				if cond := meta.FindStatusCondition(p.Conditions, "Accepted"); p.ControllerName == "gatewarden.dev/attachment" && cond != nil {
					rw.status[r.Name] = cond.Status
				}
			}
			rw.mu.Unlock()
			select {
			case rw.seen <- struct{}{}:
			default:
			}
		}
	}()
	return rw
}

func (w *routeWatch) wait(b *testing.B, want metav1.ConditionStatus, timeout time.Duration) {
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		done := 0
		for _, s := range w.status {
			if s == want {
				done++
			}
		}
		w.mu.Unlock()
		if done == relabelRoutes {
			return
		}
		select {
		case <-w.seen:
		case <-deadline:
			b.Fatalf("%d of %d routes converged to Accepted=%s within %s", done, relabelRoutes, want, timeout)
		}
	}
}

func rss(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

func startGatewarden(b *testing.B, name string, flags ...string) *framework.Server {
	s, err := cp.StartGatewarden(context.Background(), name, nil, flags...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func authUser() authenticationv1.UserInfo {
	return authenticationv1.UserInfo{Username: "bench", Groups: []string{"system:authenticated"}}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
