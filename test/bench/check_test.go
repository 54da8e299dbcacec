package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/gatewarden/gatewarden/pkg/cluster"
	"github.com/gatewarden/gatewarden/pkg/manifest"
	"github.com/gatewarden/gatewarden/pkg/report"
)

// BenchmarkCheckCluster runs `gatewarden check --cluster` against the
// cluster (BENCH_ROUTES), as a CI job would: the binary, its wall time and its peak resident memory (the
// kernel's maxrss of the process, which is /proc's VmHWM at exit). The
// same read and evaluation run in the benchmark's process too, timed apart,
// to say where the time goes. Then the what-if: a file narrowing gw-0's
// selector, with --changes, which detaches the 1,000 routes of the relabel
// namespace and those of its silver team namespaces. Target: seconds, and memory that follows what is read.
func BenchmarkCheckCluster(b *testing.B) {
	c := theCluster(b)
	n := benchRoutes(b)
	c.populate(b, n)
	want := shapeOf(n).totalRoutes()
	bin, err := c.Gatewarden()
	if err != nil {
		b.Fatal(err)
	}
	narrowed := gatewayObject(0)
	narrowed.TypeMeta = metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "Gateway"}
	for i := range narrowed.Spec.Listeners {
		narrowed.Spec.Listeners[i].AllowedRoutes.Namespaces.Selector.MatchLabels["tier"] = "gold"
	}
	change := filepath.Join(b.TempDir(), "gw-0.json")
	raw, _ := json.Marshal(narrowed)
	if err := os.WriteFile(change, raw, 0o600); err != nil {
		b.Fatal(err)
	}

	var reads, evals, totals, whatIfs []time.Duration
	var rss, whatIfRSS int64
	for b.Loop() {
		read, eval := checkInProcess(b, c)
		reads, evals = append(reads, read), append(evals, eval)

		total, peak, out := runCheck(b, bin, 0, "--cluster", "--kubeconfig", c.Kubeconfig, "-o", "json")
		totals, rss = append(totals, total), max(rss, peak)
		var all struct{ Routes []json.RawMessage }
		if err := json.Unmarshal(out, &all); err != nil || len(all.Routes) != want {
			b.Fatalf("check --cluster printed %d routes (%v), not %d", len(all.Routes), err, want)
		}

		total, peak, out = runCheck(b, bin, 1, "--cluster", "--kubeconfig", c.Kubeconfig, "-f", change, "--changes", "-o", "json")
		whatIfs, whatIfRSS = append(whatIfs, total), max(whatIfRSS, peak)
		var changes struct{ Changes []json.RawMessage }
		if err := json.Unmarshal(out, &changes); err != nil || len(changes.Changes) != detachedByGoldOnly(n) {
			b.Fatalf("check --changes named %d changes (%v), not %d", len(changes.Changes), err, detachedByGoldOnly(n))
		}
	}
	b.ReportMetric(median(reads).Seconds(), "read-s")
	b.ReportMetric(median(evals).Seconds(), "evaluate-s")
	b.ReportMetric(median(totals).Seconds(), "total-s")
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(median(whatIfs).Seconds(), "changes-total-s")
	b.ReportMetric(float64(whatIfRSS)/(1<<20), "changes-peak-rss-MiB")
}

// checkInProcess reads the cluster as check --cluster does (same page size
// and client limits) and evaluates it, and times each.
func checkInProcess(b *testing.B, bc *benchCluster) (read, evaluate time.Duration) {
	cfg := rest.CopyConfig(bc.Config)
	cfg.QPS, cfg.Burst = 50, 100
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		b.Fatal(err)
	}
	kinds, err := cluster.ListedKinds(mapper)
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: bc.Scheme, Mapper: mapper, HTTPClient: httpClient})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	objs, err := (&cluster.Snapshot{Reader: c, Kinds: kinds, PageSize: 500}).Read(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	read = time.Since(start)
	start = time.Now()
	live := make([]manifest.Object, len(objs))
	for i, o := range objs {
		live[i] = manifest.Object{Object: o}
	}
	rep, err := report.Build(live, report.Deny)
	if err != nil {
		b.Fatal(err)
	}
	if err := rep.WriteJSON(io.Discard); err != nil {
		b.Fatal(err)
	}
	return read, time.Since(start)
}

// runCheck runs `gatewarden check` and returns its wall time, its peak
// resident memory and what it printed; it must exit with code.
func runCheck(b *testing.B, bin string, code int, args ...string) (time.Duration, int64, []byte) {
	cmd := exec.Command(bin, append([]string{"check"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		b.Fatal(err)
	}
	if got := cmd.ProcessState.ExitCode(); got != code {
		b.Fatalf("gatewarden %v exited %d, not %d: %s", args, got, code, errOut.String())
	}
	// Linux reports ru_maxrss in KiB.
	return elapsed, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10, out.Bytes()
}

// detachedByGoldOnly is how many routes gw-0 loses when its listeners also
// require tier=gold: those of the relabel namespace (no tier) and of its
// silver team namespaces that have the access label.
func detachedByGoldOnly(routes int) int {
	n := relabelRoutes
	for k := 0; k < ceilDiv(routes, routesPerNamespace) && gatewayOfNamespace(k) == 0; k++ {
		if labelled(k) && k%2 == 1 {
			n += min(routesPerNamespace, routes-k*routesPerNamespace)
		}
	}
	return n
}
