package bench_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gatewarden/gatewarden/test/framework"
)

// BenchmarkMemory measures gatewarden's peak resident memory (VmHWM) from
// its start, through the start-up status sync that writes the status of
// every route, then under load: admissions (10% denied) and a relabel of
// 1,000 routes and back, once per iteration. Each size gets a control
// plane of its own, populated before gatewarden starts, so that the sync
// writes every status. gatewarden runs under the chart's memory limit
// (BENCH_GOGC, when set, is passed on as GOGC, to compare collectors;
// BENCH_HEAP_PROFILE, a path, keeps the profile of the live heap).
//
// BENCH_MEMORY_ROUTES lists the sizes, in routes (default: BENCH_ROUTES);
// `make bench-sizing` runs the sizes of the README's sizing table and logs
// its rows. Target: under 200 MiB at 50,000 routes and 1,000 Gateways, and
// the chart's memory limit at least 1.25× the peak at the size its README
// promises.
func BenchmarkMemory(b *testing.B) {
	for _, n := range memorySizes(b) {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			c := newControlPlane(b, nil)
			c.populate(b, n)
			s := shapeOf(n)
			tpl := c.reviewTemplate(b)
			limit := chartMemoryLimit(b)
			env := chartLimit.env(b)
			if v := envInt(b, "BENCH_GOGC", 0); v > 0 {
				env["GOGC"] = strconv.Itoa(v)
			}

			start := time.Now()
			var srv *framework.Server
			withEnv(env, func() {
				var err error
				srv, err = c.StartGatewarden(context.Background(), "memory", nil, "--pprof-bind-address="+pprofAddr)
				if err != nil {
					b.Fatal(err)
				}
			})
			b.Cleanup(func() {
				if err := srv.Stop(context.Background()); err != nil {
					b.Error(err)
				}
			})
			c.waitStatusSynced(b, srv, s.totalRoutes())
			synced := time.Since(start)
			_, syncPeak := procMemory(b, srv.PID())

			hc := c.keepAliveClient()
			t := &target{name: "gatewarden", url: srv.URL + routePath, pid: srv.PID(), gatewarden: true}
			ctx := context.Background()
			round := 0
			for b.Loop() {
				t.saturate(b, hc, buildReviews(tpl, s, saturationRequests, defaultDenyShare, fmt.Sprintf("m%d", round)), nil)
				for _, step := range []struct {
					labels map[string]string
					want   metav1.ConditionStatus
				}{{nil, metav1.ConditionFalse}, {map[string]string{accessLabel: "true"}, metav1.ConditionTrue}} {
					ns := &corev1.Namespace{}
					if err := c.Client.Get(ctx, client.ObjectKey{Name: relabelNS}, ns); err != nil {
						b.Fatal(err)
					}
					w := c.watchStatuses(b, relabelNS, defaultController)
					ns.Labels = step.labels
					if err := c.Client.Update(ctx, ns); err != nil {
						b.Fatal(err)
					}
					w.waitFor(b, step.want, relabelRoutes, 5*time.Minute)
				}
				round++
			}
			rss, peak := procMemory(b, srv.PID())
			live := liveHeap(b, srv)
			b.ReportMetric(mib(peak), "peak-rss-MiB")
			b.ReportMetric(mib(syncPeak), "sync-peak-rss-MiB")
			b.ReportMetric(mib(rss), "rss-MiB")
			b.ReportMetric(mib(live), "live-heap-MiB")
			b.ReportMetric(synced.Seconds(), "sync-s")
			b.ReportMetric(float64(limit)/float64(peak), "limit-over-peak")
			b.Logf("%s: start-up sync %s (%.0f statuses/s); VmHWM %.0f MiB after the sync, %.0f MiB after the load; VmRSS %.0f MiB; live heap %.0f MiB; the chart's limit %.0f MiB is %.2f× the peak",
				s, synced.Round(time.Second), float64(s.totalRoutes())/synced.Seconds(), mib(syncPeak), mib(peak), mib(rss), mib(live), mib(limit), float64(limit)/float64(peak))
			b.Logf("sizing row: | %s | %s | %s | %s | %.0f MiB | %.0f MiB | %s |", thousands(s.totalRoutes()), thousands(s.totalNamespaces()),
				thousands(s.gateways), thousands(s.listeners), mib(live), mib(peak), limitFor(peak))
		})
	}
}

// memorySizes are BENCH_MEMORY_ROUTES, comma-separated, or BENCH_ROUTES.
func memorySizes(b *testing.B) []int {
	v := os.Getenv("BENCH_MEMORY_ROUTES")
	if v == "" {
		return []int{benchRoutes(b)}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < routesPerGateway*10 {
			b.Fatalf("BENCH_MEMORY_ROUTES=%q: sizes are counts of routes, at least %d", v, routesPerGateway*10)
		}
		out = append(out, n)
	}
	return out
}

// limitFor is the container memory limit that leaves 25% headroom over a
// peak, rounded up to 32 MiB.
func limitFor(peak int64) string {
	const step = 32 << 20
	limit := (peak*5/4 + step - 1) / step * step
	return fmt.Sprintf("%dMi", limit>>20)
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// liveHeap collects garbage in gatewarden (its profiler's heap?gc=1) and
// reads the heap that is left (go_memstats_heap_alloc_bytes).
func liveHeap(b *testing.B, s *framework.Server) int64 {
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		b.Fatal(err)
	}
	// BENCH_HEAP_PROFILE keeps the profile, for go tool pprof.
	if path := os.Getenv("BENCH_HEAP_PROFILE"); path != "" {
		out, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(out, resp.Body); err != nil {
			b.Fatal(err)
		}
		if err := out.Close(); err != nil {
			b.Fatal(err)
		}
	}
	_ = resp.Body.Close()
	v, found, err := s.Metric(context.Background(), "go_memstats_heap_alloc_bytes")
	if err != nil || !found {
		b.Fatalf("reading go_memstats_heap_alloc_bytes: %v", err)
	}
	return int64(v)
}
