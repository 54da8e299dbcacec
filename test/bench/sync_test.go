package bench_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gatewarden/gatewarden/test/chart"
)

// serviceAccount is the user gatewarden runs as in the chart's install
// (release gatewarden in gatewarden-system).
const (
	installNamespace = "gatewarden-system"
	serviceAccount   = "system:serviceaccount:" + installNamespace + ":gatewarden"
)

// busyLevelSeats is how many seats gatewarden's flow gets in the
// workload-low level of a busy cluster, where every controller's
// ServiceAccount shares the level's seats: a few, fewer than its 16 status
// workers. busyWorkloadLow gives the level that many on the benchmark's
// API server, which otherwise has seats to spare and queues nothing.
const busyLevelSeats = 4

// BenchmarkAdmissionDuringStatusSync measures admissions while gatewarden's
// reconciler writes the status of 10,000 routes (BENCH_SYNC_ROUTES): the
// writes of a start-up sync. A tenth of the admissions are denials, which
// wait on live reads of the API server. gatewarden runs as its
// ServiceAccount does in the chart's install, with the chart's RBAC, so
// that the API server's priority and fairness classifies its requests.
// Three runs, each on a control plane of its own:
//
//   - unpaced,apf=default: status writes as fast as the API server takes
//     them (--status-write-qps=0), and the API server's own FlowSchemas,
//     which put gatewarden's writes and reads in one flow of the
//     workload-low level;
//   - paced,apf=default: the default pace of status writes
//     (--status-write-qps, --status-write-burst; BENCH_SYNC_WRITE_QPS sets
//     another);
//   - paced,apf=chart: and the chart's FlowSchema, which gives the reads a
//     level of their own.
//
// On an API server with seats to spare nothing queues: both run with
// workload-low cut down to a few seats (busyWorkloadLow), gatewarden's share
// of it on a busy cluster; every other level keeps its seats. Reported:
// the latency of denied and allowed admissions at 200 a second during the
// sync and once it is over, the denials gatewarden could not confirm in
// time (let through with a warning), the API server's GET latency as
// gatewarden's user, and the sync's pace. Target: denied p99 during the
// sync within the quiet one's + 2 ms, no unconfirmed denial.
func BenchmarkAdmissionDuringStatusSync(b *testing.B) {
	n := envInt(b, "BENCH_SYNC_ROUTES", 10000)
	for _, run := range []struct {
		name        string
		flowControl bool
		flags       []string
	}{
		{"unpaced,apf=default", false, []string{"--status-write-qps=0"}},
		{"paced,apf=default", false, nil},
		{"paced,apf=chart", true, nil},
	} {
		b.Run(run.name, func(b *testing.B) {
			c := newControlPlane(b, nil)
			c.populate(b, n)
			c.busyWorkloadLow(b)
			s := shapeOf(n)
			tpl := c.reviewTemplate(b)
			statuses := c.watchStatuses(b, "", defaultController)

			flags := run.flags
			if qps := os.Getenv("BENCH_SYNC_WRITE_QPS"); qps != "" && !strings.HasPrefix(run.name, "unpaced") {
				flags = append(flags, "--status-write-qps="+qps)
			}
			srv := c.startAsChart(b, run.flowControl, "sync", chartLimit, flags...)
			probe := newGetProbe(s, c.installAsChart(b, run.flowControl).client)
			hc := c.keepAliveClient()
			t := &target{name: "gatewarden", url: srv.URL + routePath, pid: srv.PID(), gatewarden: true, tolerateUnconfirmed: true}

			// During the sync: rounds of paced admissions until every status
			// is written.
			var during, quiet phase
			synced := make(chan error, 1)
			start := time.Now()
			go func() {
				_, err := statuses.written(s.totalRoutes(), 30*time.Minute)
				synced <- err
			}()
			var syncErr error
		admissions:
			for round := 0; ; round++ {
				select {
				case syncErr = <-synced:
					break admissions
				default:
				}
				during.run(b, t, hc, probe, buildReviews(tpl, s, syncRoundRequests, defaultDenyShare, fmt.Sprintf("d%d", round)))
			}
			if syncErr != nil {
				b.Fatal(syncErr)
			}
			syncTime := time.Since(start)
			c.waitStatusSynced(b, srv, s.totalRoutes())
			for round := 0; b.Loop(); round++ {
				quiet.run(b, t, hc, probe, buildReviews(tpl, s, syncRoundRequests, defaultDenyShare, fmt.Sprintf("q%d", round)))
			}
			if len(during.denied) == 0 {
				b.Fatalf("the sync of %d statuses was over before a round of admissions ended: raise BENCH_SYNC_ROUTES", s.totalRoutes())
			}
			b.Logf("%d statuses written in %s as %s, workload-low cut to %d seats", s.totalRoutes(), syncTime.Round(time.Second), serviceAccount, busyLevelSeats)
			b.Logf("priority and fairness: %s", c.flowControlSummary(b))
			b.Logf("during the sync: denied %s ms, allowed %s ms, %d of %d denials unconfirmed; API server GET %s ms",
				percentiles(during.denied), percentiles(during.allowed), during.unconfirmed, len(during.denied)+during.unconfirmed, percentiles(during.gets))
			b.Logf("after it:        denied %s ms, allowed %s ms, %d of %d denials unconfirmed; API server GET %s ms",
				percentiles(quiet.denied), percentiles(quiet.allowed), quiet.unconfirmed, len(quiet.denied)+quiet.unconfirmed, percentiles(quiet.gets))
			b.ReportMetric(ms(pct(during.denied, 99)), "sync-denied-p99-ms")
			b.ReportMetric(ms(pct(during.allowed, 99)), "sync-allowed-p99-ms")
			b.ReportMetric(float64(during.unconfirmed), "sync-unconfirmed")
			b.ReportMetric(ms(pct(during.gets, 99)), "sync-get-p99-ms")
			b.ReportMetric(ms(pct(quiet.denied, 99)), "quiet-denied-p99-ms")
			b.ReportMetric(ms(pct(quiet.gets, 99)), "quiet-get-p99-ms")
			b.ReportMetric(float64(s.totalRoutes())/syncTime.Seconds(), "statuses/s")
		})
	}
}

// syncRoundRequests is one round of admissions during the sync: 5 s at
// syncRate a second.
const (
	syncRate          = 200
	syncRoundRequests = 5 * syncRate
)

// phase pools the latencies of the rounds of one phase.
type phase struct {
	allowed, denied, gets []time.Duration
	unconfirmed           int
}

func (p *phase) run(b *testing.B, t *target, hc *http.Client, probe *getProbe, batch []review) {
	t.unconfirmed.Store(0)
	probe.start()
	allowed, denied := t.paced(b, hc, batch, syncRate)
	p.gets = append(p.gets, probe.stop()...)
	p.allowed, p.denied = append(p.allowed, allowed...), append(p.denied, denied...)
	p.unconfirmed += int(t.unconfirmed.Load())
}

// busyWorkloadLow gives the API server's workload-low priority level, where
// every ServiceAccount's requests go, busyLevelSeats seats of its own and
// none to borrow, and tells the API server to keep it so. The other levels
// keep theirs.
func (c *benchCluster) busyWorkloadLow(b *testing.B) {
	ctx := context.Background()
	plcs := &flowcontrolv1.PriorityLevelConfigurationList{}
	if err := c.Client.List(ctx, plcs); err != nil {
		b.Fatal(err)
	}
	// Seats go to the levels in proportion to their shares.
	var others int32
	for i := range plcs.Items {
		if p := &plcs.Items[i]; p.Spec.Limited != nil && p.Name != "workload-low" {
			others += ptr.Deref(p.Spec.Limited.NominalConcurrencyShares, 0)
		}
	}
	total := int32(600) // --max-requests-inflight 400 + --max-mutating-requests-inflight 200
	shares := max(1, busyLevelSeats*others/(total-busyLevelSeats))
	wl := &flowcontrolv1.PriorityLevelConfiguration{}
	if err := c.Client.Get(ctx, client.ObjectKey{Name: "workload-low"}, wl); err != nil {
		b.Fatal(err)
	}
	wl.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] = "false"
	wl.Spec.Limited.NominalConcurrencyShares = ptr.To(shares)
	wl.Spec.Limited.LendablePercent = ptr.To(int32(0))
	wl.Spec.Limited.BorrowingLimitPercent = ptr.To(int32(0))
	if err := c.Client.Update(ctx, wl); err != nil {
		b.Fatal(err)
	}
}

// flowControlSummary says, from the API server's metrics, how many
// requests each FlowSchema gatewarden's ServiceAccount falls under
// dispatched, and how long they waited in their queues on average.
func (c *benchCluster) flowControlSummary(b *testing.B) string {
	raw, err := c.rawClient(b).Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	dispatched := map[string]float64{}
	waitSum, waitCount := map[string]float64{}, map[string]float64{}
	for _, line := range strings.Split(string(raw), "\n") {
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(rest, "} ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		var fs, pl string
		for _, kv := range strings.Split(labels, ",") {
			k, val, _ := strings.Cut(kv, "=")
			switch k {
			case "flow_schema":
				fs = strings.Trim(val, `"`)
			case "priority_level":
				pl = strings.Trim(val, `"`)
			}
		}
		if fs != "service-accounts" && fs != "gatewarden-confirmations" {
			continue
		}
		key := fs + "→" + pl
		switch name {
		case "apiserver_flowcontrol_dispatched_requests_total":
			dispatched[key] += v
		case "apiserver_flowcontrol_request_wait_duration_seconds_sum":
			waitSum[key] += v
		case "apiserver_flowcontrol_request_wait_duration_seconds_count":
			waitCount[key] += v
		}
	}
	var parts []string
	for key, n := range dispatched {
		mean := 0.0
		if waitCount[key] > 0 {
			mean = waitSum[key] / waitCount[key]
		}
		parts = append(parts, fmt.Sprintf("%s: %.0f requests, %.1f ms mean wait", key, n, mean*1000))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// rawClient is a REST client of the control plane's admin.
func (c *benchCluster) rawClient(b *testing.B) *rest.RESTClient {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		b.Fatal(err)
	}
	return cs.CoreV1().RESTClient().(*rest.RESTClient)
}

// installAsChart creates what the chart installs for gatewarden to read
// and write as its ServiceAccount (the ServiceAccount, its RBAC, and, with
// flowControl, the chart's FlowSchema and PriorityLevelConfiguration), and
// returns a kubeconfig and a client for that user. It authenticates as a
// pod does, with a token the API server issued for the ServiceAccount
// (TokenRequest, what the kubelet projects into the pod): the API server
// checks a token once and then answers from its token cache, where a client
// certificate costs it a verification of the chain on every request, a
// quarter of what it spends on a confirmation's read. A second call on the
// same control plane returns the same install, and must ask for the same
// flow control.
func (c *benchCluster) installAsChart(b *testing.B, flowControl bool) *chartInstall {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.chartInstall != nil {
		if c.chartInstall.flowControl != flowControl {
			b.Fatalf("the chart is installed with flowControl.enabled=%t, not %t", c.chartInstall.flowControl, flowControl)
		}
		return c.chartInstall
	}
	ctx := context.Background()
	if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: installNamespace}}); err != nil {
		b.Fatal(err)
	}
	objs, err := chart.RenderChart(filepath.Join(c.Bin, "helm"), filepath.Join(c.Root, "charts", "gatewarden"), installNamespace,
		fmt.Sprintf("flowControl.enabled=%t", flowControl))
	if err != nil {
		b.Fatal(err)
	}
	var created []string
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "FlowSchema", "PriorityLevelConfiguration":
			if err := c.Client.Create(ctx, o); err != nil {
				b.Fatalf("creating the chart's %s %s: %v", o.GetKind(), o.GetName(), err)
			}
			created = append(created, o.GetKind())
		}
	}
	if flowControl != strings.Contains(strings.Join(created, ","), "FlowSchema") {
		b.Fatalf("flowControl.enabled=%t rendered %v", flowControl, created)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: installNamespace, Name: chart.ReleaseName}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](24 * 3600)}}
	if err := c.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		b.Fatalf("asking for a token of ServiceAccount %s/%s: %v", sa.Namespace, sa.Name, err)
	}
	raw, err := clientcmd.Write(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"envtest": {Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"gatewarden": {Token: tr.Status.Token}},
		Contexts:       map[string]*clientcmdapi.Context{"gatewarden": {Cluster: "envtest", AuthInfo: "gatewarden"}},
		CurrentContext: "gatewarden",
	})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(c.Env.ControlPlane.APIServer.CertDir, "serviceaccount.kubeconfig")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	in := &chartInstall{kubeconfig: path, client: c.clientFor(b, path), flowControl: flowControl}
	assertUser(b, in.client, serviceAccount)
	c.chartInstall = in
	return in
}

// assertUser fails the benchmark unless the API server takes c's
// credentials for user.
func assertUser(b *testing.B, c client.Client, user string) {
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(context.Background(), review); err != nil {
		b.Fatalf("asking the API server who the chart's ServiceAccount is: %v", err)
	}
	if got := review.Status.UserInfo.Username; got != user {
		b.Fatalf("the chart's ServiceAccount authenticates as %q, not %q", got, user)
	}
}

// clientFor is a client with the credentials of a kubeconfig, not rate
// limited on its side.
func (c *benchCluster) clientFor(b *testing.B, kubeconfig string) client.Client {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = -1, -1
	out, err := client.New(cfg, client.Options{Scheme: c.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	return out
}
