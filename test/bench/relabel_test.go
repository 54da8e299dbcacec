package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/test/framework"
)

// BenchmarkNamespaceRelabel1000Routes measures the admission of a label
// change that detaches the 1,000 routes of the relabel namespace, posted
// to gatewarden's HTTPS endpoint with the whole cluster in its cache (an
// informer cache filled by the API server, not a fake client): every route
// of the namespace is evaluated before and after, and the grant guard reads
// every Gateway. The same change on a namespace without routes is the
// baseline. Target: under 50 ms.
func BenchmarkNamespaceRelabel1000Routes(b *testing.B) {
	c := theCluster(b)
	c.populate(b, benchRoutes(b))
	s := c.startAsChart(b, true, "relabel", chartLimit, "--status=false")
	url := s.URL + "/validate--v1-namespace"
	hc := c.keepAliveClient()
	relabel := namespaceLabelChange(relabelNS)
	empty := namespaceLabelChange(infraNamespace(0)) // no routes

	var relabels, empties []time.Duration
	for b.Loop() {
		d, warnings := postNamespaceReview(b, hc, url, relabel)
		relabels = append(relabels, d)
		if !strings.Contains(strings.Join(warnings, "\n"), fmt.Sprintf("detaches %d routes", relabelRoutes)) {
			b.Fatalf("the relabel must warn about the %d routes it detaches: %q", relabelRoutes, warnings)
		}
		d, _ = postNamespaceReview(b, hc, url, empty)
		empties = append(empties, d)
	}
	b.ReportMetric(ms(median(relabels)), "relabel-p50-ms")
	b.ReportMetric(ms(pct(relabels, 100)), "relabel-max-ms")
	b.ReportMetric(ms(median(empties)), "empty-p50-ms")
}

// namespaceLabelChange is the review of an update that takes the access
// label off a namespace.
func namespaceLabelChange(name string) []byte {
	ns := func(labels map[string]string) []byte {
		raw, _ := json.Marshal(&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: newUID(), Labels: labels}})
		return raw
	}
	gvk := metav1.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	gvr := metav1.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: newUID(), Kind: gvk, Resource: gvr, RequestKind: &gvk, RequestResource: &gvr,
			Name: name, Operation: admissionv1.Update,
			UserInfo:  authenticationv1.UserInfo{Username: "alice@example.com", Groups: []string{"system:authenticated"}},
			Object:    runtime.RawExtension{Raw: ns(map[string]string{corev1.LabelMetadataName: name})},
			OldObject: runtime.RawExtension{Raw: ns(map[string]string{corev1.LabelMetadataName: name, accessLabel: "true"})},
		},
	})
	return body
}

func postNamespaceReview(b *testing.B, c *http.Client, url string, body []byte) (time.Duration, []string) {
	start := time.Now()
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	var out admissionv1.AdmissionReview
	err = json.NewDecoder(resp.Body).Decode(&out)
	_ = resp.Body.Close()
	d := time.Since(start)
	if err != nil || out.Response == nil || !out.Response.Allowed {
		b.Fatalf("bad response (%v): %+v", err, out.Response)
	}
	return d, out.Response.Warnings
}

// BenchmarkStatusConvergence relabels the namespace of 1,000 routes
// attached to gw-0, with the whole cluster in gatewarden's cache, and
// waits until the status of every one of them says so; then relabels it
// back. Each step is timed from just before the write of the label, to the
// watch event (started before the write) of the last status. gatewarden
// runs under the chart's memory limit and with none, one after the other,
// with its default flags; each starts with the statuses of the other routes
// written, as a gatewarden that restarts finds them, not in the middle of
// its first sync. Target: under 5 s each way. The api-server-floor
// sub-benchmark comes first: the same status writes from a bare client, what
// the API server alone takes on this machine.
func BenchmarkStatusConvergence(b *testing.B) {
	c := theCluster(b)
	n := benchRoutes(b)
	c.populate(b, n)
	c.writeStatuses(b, n)
	// The floor writes each status with an update; api-server-floor-patch
	// with the merge patch gatewarden sends (with its resourceVersion
	// precondition): the difference is what applying a patch costs the
	// API server, the rest of gatewarden's figure is its own.
	for _, floor := range []struct {
		name  string
		patch bool
	}{{"api-server-floor", false}, {"api-server-floor-patch", true}} {
		b.Run(floor.name, func(b *testing.B) {
			var steps []time.Duration
			for b.Loop() {
				for _, want := range []metav1.ConditionStatus{metav1.ConditionFalse, metav1.ConditionTrue} {
					steps = append(steps, c.flipStatuses(b, want, floor.patch))
				}
			}
			b.ReportMetric(median(steps).Seconds(), "p50-convergence-s")
			b.ReportMetric(pct(steps, 100).Seconds(), "worst-convergence-s")
		})
	}
	for _, limit := range []memoryLimit{chartLimit, noLimit} {
		b.Run(limit.String(), func(b *testing.B) {
			s := c.startAsChart(b, true, "status-"+limit.String(), limit, "--pprof-bind-address="+pprofAddr)
			c.waitStatusSynced(b, s, shapeOf(n).totalRoutes())
			ctx := context.Background()
			var steps, firsts []time.Duration
			c.profileAPIServer(b, 10*time.Second)
			profileGatewarden(b, 10*time.Second)
			for b.Loop() {
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
					start := time.Now()
					if err := c.Client.Update(ctx, ns); err != nil {
						b.Fatal(err)
					}
					w.waitFor(b, step.want, relabelRoutes, time.Minute)
					steps = append(steps, time.Since(start))
					firsts = append(firsts, w.firstChange().Sub(start))
				}
			}
			b.ReportMetric(median(steps).Seconds(), "p50-convergence-s")
			b.ReportMetric(pct(steps, 100).Seconds(), "worst-convergence-s")
			// How long the first status took: the rest is the rate of writes.
			b.ReportMetric(median(firsts).Seconds(), "p50-first-status-s")
		})
	}
}

// flipStatuses is the floor of a convergence on this machine: what the API
// server takes to write the 1,000 statuses of the relabel namespace when
// nothing is evaluated. A client without rate limits, as gatewarden's
// ServiceAccount (as gatewarden writes), with as many
// workers as gatewarden's --status-workers default, sets the Accepted
// condition of gatewarden's entry on every route to want, writing the
// status gatewarden would (same entry, same size; an update with the
// resourceVersion read, or with patch gatewarden's merge patch with the
// resourceVersion as precondition), timed through the same watch as
// gatewarden's convergence. No gatewarden runs meanwhile; the next one to start finds
// the statuses as the Namespace's labels say, once want is True.
func (c *benchCluster) flipStatuses(b *testing.B, want metav1.ConditionStatus, patch bool) time.Duration {
	const workers = 16
	ctx := context.Background()
	list := &gatewayv1.HTTPRouteList{}
	if err := c.fast.List(ctx, list, client.InNamespace(relabelNS)); err != nil {
		b.Fatal(err)
	}
	if len(list.Items) != relabelRoutes {
		b.Fatalf("%d routes in namespace %s, want %d", len(list.Items), relabelNS, relabelRoutes)
	}
	reason := gatewayv1.RouteReasonAccepted
	if want == metav1.ConditionFalse {
		reason = gatewayv1.RouteReasonNotAllowedByListeners
	}
	writer := c.installAsChart(b, true).client
	w := c.watchStatuses(b, relabelNS, defaultController)
	next := make(chan *gatewayv1.HTTPRoute)
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		go func() {
			var err error
			for r := range next {
				if err != nil {
					continue
				}
				orig := r.DeepCopy()
				for i := range r.Status.Parents {
					if r.Status.Parents[i].ControllerName != defaultController {
						continue
					}
					cond := meta.FindStatusCondition(r.Status.Parents[i].Conditions, string(gatewayv1.RouteConditionAccepted))
					if cond == nil {
						err = fmt.Errorf("route %s/%s has no Accepted condition of %s", r.Namespace, r.Name, defaultController)
						break
					}
					cond.Status, cond.Reason = want, string(reason)
					cond.LastTransitionTime = metav1.NewTime(time.Now().Truncate(time.Second))
				}
				switch {
				case err != nil:
				case patch:
					err = writer.Status().Patch(ctx, r, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
				default:
					err = writer.Status().Update(ctx, r)
				}
			}
			errs <- err
		}()
	}
	for i := range list.Items {
		next <- &list.Items[i]
	}
	close(next)
	for range workers {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	w.waitFor(b, want, relabelRoutes, time.Minute)
	return time.Since(start)
}

// writeStatuses has a gatewarden write the status of every route, as fast
// as the API server takes them, and stops it.
func (c *benchCluster) writeStatuses(b *testing.B, n int) {
	s, err := c.StartGatewarden(context.Background(), "status-sync", nil, "--status-write-qps=0")
	if err != nil {
		b.Fatal(err)
	}
	d := c.waitStatusSynced(b, s, shapeOf(n).totalRoutes())
	if err := s.Stop(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("the status of every route written in %s", d.Round(time.Second))
}

// waitStatusSynced waits until every route has gatewarden's status entry
// and its reconcilers are idle: their queues empty, nothing in flight. A
// relabel measured earlier would wait behind the start-up sync.
func (c *benchCluster) waitStatusSynced(b *testing.B, s *framework.Server, routes int) time.Duration {
	start := time.Now()
	c.watchStatuses(b, "", defaultController).waitWritten(b, routes, 30*time.Minute)
	ctx := context.Background()
	for {
		depth, _, err := s.Metric(ctx, "workqueue_depth")
		if err != nil {
			b.Fatal(err)
		}
		active, _, err := s.Metric(ctx, "controller_runtime_active_workers")
		if err != nil {
			b.Fatal(err)
		}
		if depth == 0 && active == 0 {
			return time.Since(start)
		}
		if time.Since(start) > 30*time.Minute {
			b.Fatalf("gatewarden's reconcilers still busy after 30 minutes: %v in their queues, %v at work", depth, active)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
