package bench_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/test/framework"
)

// The admission load: saturationRequests posted as fast as the server
// answers them, for throughput and CPU, then pacedRequests at pacedRate a
// second, a busy cluster's rate, for latency (each latency counts from the
// request's scheduled time, so that a stall is not hidden by the requests
// it delays).
const (
	saturationRequests = 6000
	pacedRequests      = 3000
	pacedRate          = 1000
	warmupRequests     = 1000
	// defaultDenyShare is the share of reviews gatewarden must deny
	// (BENCH_DENY_SHARE, in percent).
	defaultDenyShare = 10
)

const routePath = "/validate-gateway-networking-k8s-io-v1-httproute"

// BenchmarkAdmission drives HTTPRoute admissions over HTTPS, 16 at a time
// over keep-alive connections, into four servers in one run, each in a
// process of its own and all on the same certificate: gatewarden under the
// chart's memory limit, gatewarden with none (as a user runs it by hand),
// a controller-runtime no-op that decodes the object generically, and a
// no-op that decodes nothing (the floor). Rounds alternate between them, so
// that the machine's noise falls on all alike. Each round's reviews are new
// bodies with fresh uids, shaped as the API server sends them on `kubectl
// apply`: 10% (BENCH_DENY_SHARE) are routes gatewarden must deny, whose
// admission waits on live reads from the API server; the sub-benchmark
// deny=0% keeps the all-allowed figure. gatewarden runs as the chart's
// ServiceAccount with a token, as its pod does (startAsChart), and the API
// server's GET latency beside it is measured as the same user. The cluster
// is not quiet: 20 node Leases a second are renewed meanwhile
// (BENCH_HEARTBEATS; see heartbeats for why it matters), and
// gw-reads-by-get-% says how many of gatewarden's confirmations of Gateways
// a GET answered rather than a list (readByName in pkg/cluster);
// gw-api-reads-per-denial, how many requests to the API server a denial
// cost (the Gateway's read, and the Namespace's when labels decide).
//
// It reports, pooled over all rounds: throughput at saturation and the CPU
// each admission costs the server process (/proc/PID/stat), what it costs
// the API server and etcd meanwhile and how busy the machine's CPUs are (a
// denial's confirmation is work for the API server; on a machine whose
// cores are all busy, that work comes out of the throughput), the drift of
// the throughput from the first round to the last, the p50/p99/max latency
// of allowed and of denied admissions at 1,000 a second, and the API
// server's own GET latency measured beside them. Targets (issue 11): with
// 10% denials, throughput ≥ 1.0× and CPU ≤ the generic no-op's, allowed
// p99 ≤ 1.5× its p99, denied p99 ≤ the API server's GET p99 + 2 ms, no drift
// over 10%; all allowed, throughput ≥ 1.1× the generic no-op's.
func BenchmarkAdmission(b *testing.B) {
	c := theCluster(b)
	s := shapeOf(benchRoutes(b))
	c.populate(b, benchRoutes(b))
	tpl := c.reviewTemplate(b)

	// gatewarden reads nothing but its cache and the API server here: no
	// status writes, which BenchmarkAdmissionDuringStatusSync measures.
	chart := c.startAsChart(b, true, "admission-chart", chartLimit, "--status=false", "--pprof-bind-address="+pprofAddr)
	bare := c.startAsChart(b, true, "admission-bare", noLimit, "--status=false")
	targets := []*target{
		{name: "gatewarden " + chartLimit.String(), url: chart.URL + routePath, pid: chart.PID(), gatewarden: true},
		{name: "gatewarden " + noLimit.String(), url: bare.URL + routePath, pid: bare.PID(), gatewarden: true},
		c.noop(b, "generic"),
		c.noop(b, "none"),
	}
	probe := newGetProbe(s, c.installAsChart(b, true).client)
	if hb := envInt(b, "BENCH_HEARTBEATS", defaultHeartbeats); hb > 0 {
		c.heartbeats(b, hb)
		b.Logf("BENCH_HEARTBEATS: %d node Lease renewals a second meanwhile", hb)
	}
	pids := make([]int, 0, len(targets))
	for _, t := range targets {
		pids = append(pids, t.pid)
	}
	if splitCPUs(b, pids...) {
		b.Log("BENCH_SPLIT_CPUS: the API server and etcd run on CPU 0, the servers and the load on the others")
	}
	shares := []int{envInt(b, "BENCH_DENY_SHARE", defaultDenyShare)}
	if shares[0] != 0 {
		shares = append(shares, 0)
	}
	for _, share := range shares {
		b.Run(fmt.Sprintf("deny=%d%%", share), func(b *testing.B) {
			if share > 0 {
				c.profileAPIServer(b, 20*time.Second)
				profileGatewarden(b, 20*time.Second)
			}
			before := confirmationReads(b, chart, bare)
			requestsBefore, deniedBefore := apiRequests(b, chart, bare)
			runAdmissions(b, c.keepAliveClient(), targets, probe, func(round, server, n int) []review {
				return buildReviews(tpl, s, n, share, fmt.Sprintf("r%d-s%d", round, server))
			})
			if share > 0 {
				// The share of gatewarden's confirmations of Gateways a GET
				// answered: the hedges that won and the GETs made alone.
				after := confirmationReads(b, chart, bare)
				var all, byGet float64
				for i, answer := range readAnswers {
					n := after[i] - before[i]
					all += n
					if answer == "hedge" || answer == "get" {
						byGet += n
					}
				}
				if all == 0 {
					b.Fatal("gatewarden counted no confirmation of a Gateway")
				}
				b.ReportMetric(100*byGet/all, "gw-reads-by-get-%")
				requests, denied := apiRequests(b, chart, bare)
				if denied == deniedBefore {
					b.Fatal("gatewarden denied nothing")
				}
				b.ReportMetric((requests-requestsBefore)/(denied-deniedBefore), "gw-api-reads-per-denial")
			}
		})
	}
}

// defaultHeartbeats is BENCH_HEARTBEATS's default: a cluster of 200 nodes,
// whose kubelets renew their Leases every 10 s (heartbeats).
const defaultHeartbeats = 20

// readAnswers are the answers of gatewarden_confirmation_reads_total.
var readAnswers = []string{"list", "list-late", "hedge", "get"}

// confirmationReads sums gatewarden_confirmation_reads_total of servers, by
// readAnswers.
func confirmationReads(b *testing.B, servers ...*framework.Server) []float64 {
	out := make([]float64, len(readAnswers))
	for _, s := range servers {
		for i, answer := range readAnswers {
			v, _, err := s.Metric(context.Background(), "gatewarden_confirmation_reads_total", "answer", answer)
			if err != nil {
				b.Fatal(err)
			}
			out[i] += v
		}
	}
	return out
}

// apiRequests sums, over servers, the requests gatewarden made to the API
// server (client-go's rest_client_requests_total, every method) and the
// admissions it denied. With --status=false, no leader election and its
// informers synced, the requests in between are the confirmations' reads (a
// hedge's list and GET are two, a probe list one more) and, once in 5 to 10
// minutes, an informer's new watch.
func apiRequests(b *testing.B, servers ...*framework.Server) (requests, denied float64) {
	for _, s := range servers {
		n, found, err := s.Metric(context.Background(), "rest_client_requests_total")
		switch {
		case err != nil:
			b.Fatal(err)
		case !found:
			// Renamed or no longer registered: say so rather than report
			// no reads at all.
			b.Fatal("gatewarden's metrics have no rest_client_requests_total")
		}
		d, _, err := s.Metric(context.Background(), "gatewarden_admission_decisions_total", "verdict", "deny")
		if err != nil {
			b.Fatal(err)
		}
		requests, denied = requests+n, denied+d
	}
	return requests, denied
}

// target is one server under load, and what was measured of it.
type target struct {
	name       string
	url        string
	pid        int
	gatewarden bool
	// tolerateUnconfirmed counts the denials gatewarden could not confirm
	// in time, and let through with a warning saying so, in unconfirmed,
	// rather than failing the benchmark.
	tolerateUnconfirmed bool
	unconfirmed         atomic.Int32

	rounds        []roundResult
	allowed       []time.Duration
	denied        []time.Duration
	apiServerGets []time.Duration
}

type roundResult struct {
	requests int
	elapsed  time.Duration
	cpu      time.Duration
	// controlPlane is the CPU the API server and etcd used meanwhile: what
	// a denial's confirmation costs them, on the same cores here.
	controlPlane time.Duration
	// busy is the CPU every process on the machine used meanwhile.
	busy time.Duration
}

func (t *target) reset() {
	t.rounds, t.allowed, t.denied, t.apiServerGets = nil, nil, nil, nil
}

func (t *target) throughput() float64 {
	var n int
	var d time.Duration
	for _, r := range t.rounds {
		n, d = n+r.requests, d+r.elapsed
	}
	return float64(n) / d.Seconds()
}

func (t *target) cpuPerAdmission() time.Duration {
	return t.perAdmission(func(r roundResult) time.Duration { return r.cpu })
}

// controlPlanePerAdmission is the API server's and etcd's CPU per
// admission at saturation.
func (t *target) controlPlanePerAdmission() time.Duration {
	return t.perAdmission(func(r roundResult) time.Duration { return r.controlPlane })
}

// busyShare is the share of the machine's CPUs busy at saturation: under
// 1, the throughput is bound by latency, not by the machine.
func (t *target) busyShare() float64 {
	var busy, elapsed time.Duration
	for _, r := range t.rounds {
		busy, elapsed = busy+r.busy, elapsed+r.elapsed
	}
	return busy.Seconds() / (elapsed.Seconds() * float64(goruntime.NumCPU()))
}

func (t *target) perAdmission(of func(roundResult) time.Duration) time.Duration {
	var n int
	var d time.Duration
	for _, r := range t.rounds {
		n, d = n+r.requests, d+of(r)
	}
	return d / time.Duration(n)
}

// drift is the last round's throughput over the first's.
func (t *target) drift() float64 {
	first, last := t.rounds[0], t.rounds[len(t.rounds)-1]
	return (float64(last.requests) / last.elapsed.Seconds()) / (float64(first.requests) / first.elapsed.Seconds())
}

// review is one AdmissionReview body and what gatewarden must answer.
type review struct {
	body   []byte
	denied bool
}

// runAdmissions runs one round per benchmark iteration over every target,
// in an order that turns with the rounds, and reports the pooled figures.
func runAdmissions(b *testing.B, c *http.Client, targets []*target, probe *getProbe, reviews func(round, server, n int) []review) {
	controlPlane := controlPlanePIDs(b)
	if !waitQuiet(b, controlPlane, time.Minute) {
		b.Log("the API server and etcd were still busy a minute after populating; measuring anyway")
	}
	busyStarts := 0
	for _, t := range targets {
		t.reset()
		t.saturate(b, c, reviews(-1, 0, warmupRequests), controlPlane) // connections, first reads of the cache
	}
	round := 0
	for b.Loop() {
		for i := range targets {
			k := (i + round) % len(targets)
			t := targets[k]
			batch := reviews(round, k, saturationRequests+pacedRequests)
			// Every round starts on a quiet control plane, not on the
			// tail of the confirmations of the round before.
			if !waitQuiet(b, controlPlane, 10*time.Second) {
				busyStarts++
			}
			t.rounds = append(t.rounds, t.saturate(b, c, batch[:saturationRequests], controlPlane))
			if t.gatewarden {
				probe.start()
			}
			allowed, denied := t.paced(b, c, batch[saturationRequests:], pacedRate)
			if t.gatewarden {
				t.apiServerGets = append(t.apiServerGets, probe.stop()...)
			}
			t.allowed, t.denied = append(t.allowed, allowed...), append(t.denied, denied...)
		}
		round++
	}
	if busyStarts > 0 {
		b.Logf("%d rounds started with the API server and etcd still busy after 10 s", busyStarts)
	}
	reportAdmissions(b, targets)
}

// reportAdmissions logs a table of every target and reports the figures the targets
// of issue 11 are about, gatewarden's under the chart's limit first.
func reportAdmissions(b *testing.B, targets []*target) {
	var table strings.Builder
	fmt.Fprintf(&table, "%d rounds; latency at %d/s; throughput and CPU at saturation, %d in flight\n", len(targets[0].rounds), pacedRate, concurrency)
	fmt.Fprintf(&table, "%-24s %9s %6s %9s %9s %5s   %-24s %-24s %s\n", "server", "req/s", "drift", "CPU/adm", "ctl/adm", "busy", "allowed p50/p99/max ms", "denied p50/p99/max ms", "VmHWM")
	for _, t := range targets {
		denied := "-"
		if t.gatewarden && len(t.denied) > 0 {
			denied = percentiles(t.denied)
		}
		allowed := percentiles(append(slices.Clone(t.allowed), t.denied...))
		if t.gatewarden {
			allowed = percentiles(t.allowed)
		}
		_, peak := procMemory(b, t.pid)
		fmt.Fprintf(&table, "%-24s %9.0f %6.2f %7.0fµs %7.0fµs %4.0f%%   %-24s %-24s %.0f MiB\n", t.name, t.throughput(), t.drift(),
			float64(t.cpuPerAdmission().Microseconds()), float64(t.controlPlanePerAdmission().Microseconds()), 100*t.busyShare(), allowed, denied, mib(peak))
	}
	var gets []time.Duration
	for _, t := range targets {
		gets = append(gets, t.apiServerGets...)
	}
	fmt.Fprintf(&table, "API server GET (%d beside gatewarden's paced rounds): %s ms\n", len(gets), percentiles(gets))
	fmt.Fprintf(&table, "CPU/adm: the server's; ctl/adm: the API server's and etcd's; busy: the machine's %d CPUs, all processes", goruntime.NumCPU())
	b.Log("\n" + table.String())

	noop := targets[2] // the generic no-op
	noopAll := append(slices.Clone(noop.allowed), noop.denied...)
	b.ReportMetric(noop.throughput(), "noop-req/s")
	b.ReportMetric(float64(noop.cpuPerAdmission().Microseconds()), "noop-cpu-µs")
	b.ReportMetric(ms(pct(noopAll, 99)), "noop-p99-ms")
	b.ReportMetric(targets[3].throughput(), "floor-req/s")
	b.ReportMetric(ms(pct(gets, 99)), "get-p99-ms")
	for _, t := range targets[:2] {
		name := "gw"
		if t != targets[0] {
			name = "gw-nolimit"
		}
		b.ReportMetric(t.throughput()/noop.throughput(), name+"-throughput-x")
		b.ReportMetric(float64(t.cpuPerAdmission())/float64(noop.cpuPerAdmission()), name+"-cpu-x")
		b.ReportMetric(ms(pct(t.allowed, 99)), name+"-allowed-p99-ms")
		if len(t.denied) > 0 {
			b.ReportMetric(ms(pct(t.denied, 99)), name+"-denied-p99-ms")
		}
		b.ReportMetric(t.drift(), name+"-drift")
	}
	for _, t := range targets {
		if d := t.drift(); d < 0.9 || d > 1.1 {
			b.Logf("DRIFT: %s's last round ran at %.2f× its first round's throughput", t.name, d)
		}
	}
}

func percentiles(d []time.Duration) string {
	if len(d) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f/%.1f/%.1f", ms(pct(d, 50)), ms(pct(d, 99)), ms(pct(d, 100)))
}

// pct is the p-th percentile of d (100: the maximum).
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// saturate posts the bodies from concurrency workers as fast as the server
// answers, and measures the elapsed time, the CPU the server used, the CPU
// of the controlPlane processes and of the whole machine.
func (t *target) saturate(b *testing.B, c *http.Client, batch []review, controlPlane []int) roundResult {
	next := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Int32
	cpu0, ctl0, busy0, start := cpuTime(b, t.pid), cpuOf(b, controlPlane), machineBusy(b), time.Now()
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				if err := t.post(c, batch[i]); err != nil && failed.Add(1) == 1 {
					b.Errorf("%s: %v", t.name, err)
				}
			}
		})
	}
	for i := range batch {
		next <- i
	}
	close(next)
	wg.Wait()
	return roundResult{requests: len(batch), elapsed: time.Since(start), cpu: cpuTime(b, t.pid) - cpu0,
		controlPlane: cpuOf(b, controlPlane) - ctl0, busy: machineBusy(b) - busy0}
}

// paced posts the bodies at rate a second and returns the latencies of the
// admissions gatewarden must allow and of those it must deny.
func (t *target) paced(b *testing.B, c *http.Client, batch []review, rate int) (allowed, denied []time.Duration) {
	latencies := make([]time.Duration, len(batch))
	type job struct {
		i     int
		sched time.Time
	}
	next := make(chan job, len(batch))
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range concurrency {
		wg.Go(func() {
			for j := range next {
				err := t.post(c, batch[j.i])
				latencies[j.i] = time.Since(j.sched)
				if err != nil && failed.Add(1) == 1 {
					b.Errorf("%s: %v", t.name, err)
				}
			}
		})
	}
	start := time.Now()
	for i := range batch {
		sched := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		time.Sleep(time.Until(sched))
		next <- job{i, sched}
	}
	close(next)
	wg.Wait()
	for i, r := range batch {
		if r.denied {
			denied = append(denied, latencies[i])
		} else {
			allowed = append(allowed, latencies[i])
		}
	}
	return allowed, denied
}

// post sends one review and checks the answer: gatewarden must deny
// exactly the reviews it must deny, with a 403; a no-op allows everything.
func (t *target) post(c *http.Client, r review) error {
	resp, err := c.Post(t.url, "application/json", bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	if out.Response == nil {
		return fmt.Errorf("no response: HTTP %s", resp.Status)
	}
	wantAllowed := !t.gatewarden || !r.denied
	if t.tolerateUnconfirmed && !wantAllowed && out.Response.Allowed && unconfirmed(out.Response.Warnings) {
		t.unconfirmed.Add(1)
		return nil
	}
	if out.Response.Allowed != wantAllowed {
		return fmt.Errorf("allowed=%t, want %t: %v %v", out.Response.Allowed, wantAllowed, out.Response.Result, out.Response.Warnings)
	}
	if !wantAllowed && (out.Response.Result == nil || out.Response.Result.Code != http.StatusForbidden) {
		return fmt.Errorf("a denial that is not a 403: %v", out.Response.Result)
	}
	return nil
}

// unconfirmed reports whether warnings say that gatewarden let a rejection
// through because it could not confirm it (webhook/messages.go
// msgUnconfirmed).
func unconfirmed(warnings []string) bool {
	for _, w := range warnings {
		if strings.Contains(w, "Not denied: gatewarden could not confirm this") {
			return true
		}
	}
	return false
}

// keepAliveClient posts to servers on the control plane's serving
// certificate over up to concurrency keep-alive connections each.
func (c *benchCluster) keepAliveClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CABundle())
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency,
	}}
}

var (
	noopOnce sync.Once
	noopBin  string
	noopErr  error
)

// noop runs test/bench/noop with the decoding given, on the control
// plane's serving certificate, and stops it when the benchmark ends.
func (c *benchCluster) noop(b *testing.B, decode string) *target {
	noopOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatewarden-noop-")
		if err != nil {
			noopErr = err
			return
		}
		noopBin = filepath.Join(dir, "noop")
		build := exec.Command("go", "build", "-o", noopBin, "./test/bench/noop")
		build.Dir = c.Root
		if out, err := build.CombinedOutput(); err != nil {
			noopErr = fmt.Errorf("building the no-op server: %w\n%s", err, out)
		}
	})
	if noopErr != nil {
		b.Fatal(noopErr)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(noopBin, "--port", strconv.Itoa(port), "--cert-dir", c.ServingCertDir(), "--decode", decode)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	name := map[string]string{"generic": "no-op (generic decode)", "none": "no-op (no decode)"}[decode]
	for range 100 {
		if conn, err := net.Dial("tcp", addr); err == nil {
			_ = conn.Close()
			return &target{name: name, url: "https://" + addr + routePath, pid: cmd.Process.Pid}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatal("the no-op webhook server did not start")
	return nil
}

// reviewTemplate is an HTTPRoute as the API server hands it to a validating
// webhook on `kubectl apply`: defaulted, with a uid, a creationTimestamp,
// managedFields, and kubectl's last-applied-configuration annotation. A
// server-side dry run makes it, before any webhook is registered.
func (c *benchCluster) reviewTemplate(b *testing.B) *gatewayv1.HTTPRoute {
	r := routeObject(teamNamespace(0), "template", 0, 0)
	r.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: lastApplied(r)}
	if err := c.Client.Create(context.Background(), r, client.DryRunAll, client.FieldOwner("kubectl-client-side-apply")); err != nil {
		b.Fatal(err)
	}
	r.TypeMeta = metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"}
	return r
}

func lastApplied(r *gatewayv1.HTTPRoute) string {
	raw, _ := json.Marshal(r)
	return string(raw) + "\n"
}

// buildReviews returns n HTTPRoute CREATE reviews, denyShare percent of
// them routes gatewarden must deny, all different: new names, new uids,
// spread over the namespaces and Gateways. The denied ones alternate
// between a tenant without the access label on a shared Gateway, and a
// tenant with it on a private Gateway, which every other time also names
// its own shared Gateway (accepted). One allowed review in three names a
// second shared Gateway.
func buildReviews(tpl *gatewayv1.HTTPRoute, s shape, n, denyShare int, tag string) []review {
	out := make([]review, n)
	namespaces := s.teams
	denials := 0
	for j := range n {
		denied := (j+1)*denyShare/100 > j*denyShare/100
		k := rand.IntN(namespaces)
		var gateways []int
		switch {
		case !denied:
			k = allowedTenant(k, namespaces, s.gateways)
			gateways = []int{gatewayOfNamespace(k)}
			if j%3 == 0 {
				gateways = append(gateways, sharedGateway(gatewayOfNamespace(k)+1, s.gateways))
			}
		case denials%2 == 0:
			k = k - k%10 + 9 // no access label
			if k >= namespaces || private(gatewayOfNamespace(k)) {
				k = 9 // team-9 is unlabelled, its gw-0 shared
			}
			gateways = []int{gatewayOfNamespace(k)}
		default:
			k = allowedTenant(k, namespaces, s.gateways)
			g := gatewayOfNamespace(k)
			g = g - g%10 + 9 // private
			if g >= s.gateways {
				g = 9
			}
			gateways = []int{g}
			if denials%4 == 1 {
				gateways = append(gateways, gatewayOfNamespace(k))
			}
		}
		if denied {
			denials++
		}
		name := fmt.Sprintf("new-%s-%d", tag, j)
		out[j] = review{body: routeReview(tpl, routeObject(teamNamespace(k), name, j, gateways...)), denied: denied}
	}
	return out
}

// allowedTenant is a team namespace near k with the access label whose
// Gateway is shared.
func allowedTenant(k, namespaces, gateways int) int {
	for ; !labelled(k) || private(gatewayOfNamespace(k)) || gatewayOfNamespace(k) >= gateways; k = (k + 1) % namespaces {
	}
	return k
}

// sharedGateway is the first shared Gateway from g on.
func sharedGateway(g, gateways int) int {
	for g %= gateways; private(g); g = (g + 1) % gateways {
	}
	return g
}

var uidCounter atomic.Uint64

func newUID() types.UID {
	n := uidCounter.Add(1)
	return types.UID(fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rand.Uint32(), rand.Uint32()&0xffff, rand.Uint32()&0xfff, rand.Uint32()&0xfff, n))
}

// routeReview is the AdmissionReview the API server sends for `kubectl
// apply` creating r: the template's metadata and defaults with r's names,
// spec and last-applied annotation, and a new uid for the request and the
// object.
func routeReview(tpl, r *gatewayv1.HTTPRoute) []byte {
	obj := tpl.DeepCopy()
	obj.Name, obj.Namespace, obj.UID = r.Name, r.Namespace, newUID()
	obj.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: lastApplied(r)}
	obj.Spec.Hostnames = r.Spec.Hostnames
	obj.Spec.Rules[0].Matches[0].Path.Value = r.Spec.Rules[0].Matches[0].Path.Value
	obj.Spec.ParentRefs = nil
	for _, ref := range r.Spec.ParentRefs {
		defaulted := tpl.Spec.ParentRefs[0]
		defaulted.Namespace, defaulted.Name = ref.Namespace, ref.Name
		obj.Spec.ParentRefs = append(obj.Spec.ParentRefs, defaulted)
	}
	raw, _ := json.Marshal(obj)
	gvk := metav1.GroupVersionKind{Group: gatewayv1.GroupName, Version: "v1", Kind: "HTTPRoute"}
	gvr := metav1.GroupVersionResource{Group: gatewayv1.GroupName, Version: "v1", Resource: "httproutes"}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:  newUID(),
			Kind: gvk, Resource: gvr, RequestKind: &gvk, RequestResource: &gvr,
			Name: r.Name, Namespace: r.Namespace, Operation: admissionv1.Create,
			UserInfo: authenticationv1.UserInfo{
				Username: "alice@example.com", UID: "5b1ef05d-2f6d-4d47-9d4a-0bbd4ba7a1e2",
				Groups: []string{"team-" + r.Namespace, "system:authenticated"},
			},
			Object:  runtime.RawExtension{Raw: raw},
			DryRun:  ptr.To(false),
			Options: runtime.RawExtension{Raw: []byte(`{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"kubectl-client-side-apply","fieldValidation":"Strict"}`)},
		},
	}
	body, _ := json.Marshal(review)
	return body
}

// getProbe measures the API server's own GET latency while gatewarden is
// under load: every 20 ms, a GET of a team Namespace or a Gateway, as a
// denial's confirmation reads them.
type getProbe struct {
	c     client.Client
	shape shape

	mu        sync.Mutex
	stopped   chan struct{}
	done      chan struct{}
	latencies []time.Duration
}

// newGetProbe reads through c, as gatewarden's user, so that the API
// server authenticates, authorizes and queues its GETs as gatewarden's.
func newGetProbe(s shape, c client.Client) *getProbe {
	return &getProbe{c: c, shape: s}
}

func (p *getProbe) start() {
	p.stopped, p.done, p.latencies = make(chan struct{}), make(chan struct{}), nil
	go func() {
		defer close(p.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-p.stopped:
				return
			case <-tick.C:
			}
			var obj client.Object
			var key client.ObjectKey
			if i%2 == 0 {
				obj, key = &corev1.Namespace{}, client.ObjectKey{Name: teamNamespace(rand.IntN(p.shape.teams))}
			} else {
				g := rand.IntN(p.shape.gateways)
				obj, key = &gatewayv1.Gateway{}, client.ObjectKey{Namespace: infraNamespace(g), Name: gatewayName(g)}
			}
			start := time.Now()
			if err := p.c.Get(context.Background(), key, obj); err == nil {
				p.mu.Lock()
				p.latencies = append(p.latencies, time.Since(start))
				p.mu.Unlock()
			}
		}
	}()
}

func (p *getProbe) stop() []time.Duration {
	close(p.stopped)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latencies
}
