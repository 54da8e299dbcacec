package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	goruntime "runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// mapReader is a cache as the manager's is read without deep copies: a
// lookup by key and a shallow copy. The fake client's JSON round trips would
// measure the fake, not the validator.
type mapReader map[reflect.Type]map[types.NamespacedName]client.Object

func (m mapReader) add(o client.Object) {
	t := reflect.TypeOf(o)
	if m[t] == nil {
		m[t] = map[types.NamespacedName]client.Object{}
	}
	m[t][types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}] = o
}

func (m mapReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	if meta, ok := obj.(*metav1.PartialObjectMetadata); ok {
		o, ok := m.byKind(meta.Kind, key)
		if !ok {
			return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
		}
		meta.ObjectMeta = *o.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta)
		return nil
	}
	o, ok := m[reflect.TypeOf(obj)][key]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(o).Elem())
	return nil
}

// List serves what confirmations list: the metadata of one object by name.
func (m mapReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	metas, ok := list.(*metav1.PartialObjectMetadataList)
	if !ok {
		return nil
	}
	o := (&client.ListOptions{}).ApplyOptions(opts)
	name, found := "", false
	if o.FieldSelector != nil {
		name, found = o.FieldSelector.RequiresExactMatch("metadata.name")
	}
	if !found {
		return fmt.Errorf("mapReader lists only by metadata.name")
	}
	metas.Items = nil
	if obj, ok := m.byKind(strings.TrimSuffix(metas.Kind, "List"), types.NamespacedName{Namespace: o.Namespace, Name: name}); ok {
		metas.Items = append(metas.Items, metav1.PartialObjectMetadata{ObjectMeta: *obj.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta)})
	}
	return nil
}

// byKind finds an object by its kind's name and key.
func (m mapReader) byKind(kind string, key types.NamespacedName) (client.Object, bool) {
	for t, objs := range m {
		if t.Elem().Name() == kind {
			o, ok := objs[key]
			return o, ok
		}
	}
	return nil, false
}

// benchCluster is 1,000 Gateways in infra-ns like the README's shared one
// (shared-gateway, gw-1 ... gw-999) and two Namespaces, careers (labelled:
// its routes are allowed) and hr (not: its routes are denied), as the API
// server stores them, with UIDs and resourceVersions.
func benchCluster() mapReader {
	cache := mapReader{}
	for i := range 1000 {
		gw := sharedGateway()
		gw.UID, gw.ResourceVersion = types.UID(fmt.Sprint(i)), "1"
		if i > 0 {
			gw.Name = fmt.Sprintf("gw-%d", i)
		}
		cache.add(gw)
	}
	cache.add(labelled("careers", map[string]string{accessLabel: "true", corev1.LabelMetadataName: "careers"}))
	cache.add(labelled("hr", map[string]string{corev1.LabelMetadataName: "hr"}))
	return cache
}

// apiServerRoute is an HTTPRoute as the API server sends it in an
// AdmissionReview after `kubectl apply`: with its managedFields, the
// last-applied annotation, and rules that match, filter and weigh, about
// 2.5 KB of JSON of which gatewarden reads a tenth.
func apiServerRoute(ns, name, gateway string) []byte {
	r := &gatewayv1.HTTPRoute{
		TypeMeta: metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: types.UID("6b1c8e0a-2f9d-4c1e-9a57-" + fmt.Sprintf("%012d", len(name))),
			Generation: 1, CreationTimestamp: metav1.NewTime(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)),
			Labels: map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop"},
		},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{
				Group: ptr.To(gatewayv1.Group(gatewayv1.GroupName)), Kind: ptr.To(gatewayv1.Kind("Gateway")),
				Namespace: ptr.To(gatewayv1.Namespace("infra-ns")), Name: gatewayv1.ObjectName(gateway), SectionName: ptr.To(gatewayv1.SectionName("http")),
			}}},
			Hostnames: []gatewayv1.Hostname{gatewayv1.Hostname(name + ".example.com")},
			Rules: []gatewayv1.HTTPRouteRule{{
				Matches: []gatewayv1.HTTPRouteMatch{{
					Path:    &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/" + name)},
					Headers: []gatewayv1.HTTPHeaderMatch{{Type: ptr.To(gatewayv1.HeaderMatchExact), Name: "x-tenant", Value: ns}},
				}},
				Filters: []gatewayv1.HTTPRouteFilter{{
					Type:                  gatewayv1.HTTPRouteFilterRequestHeaderModifier,
					RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "x-route", Value: name}}},
				}},
				BackendRefs: []gatewayv1.HTTPBackendRef{
					{BackendRef: gatewayv1.BackendRef{Weight: ptr.To(int32(90)), BackendObjectReference: gatewayv1.BackendObjectReference{
						Group: ptr.To(gatewayv1.Group("")), Kind: ptr.To(gatewayv1.Kind("Service")), Name: "app", Port: ptr.To(gatewayv1.PortNumber(8080))}}},
					{BackendRef: gatewayv1.BackendRef{Weight: ptr.To(int32(10)), BackendObjectReference: gatewayv1.BackendObjectReference{
						Group: ptr.To(gatewayv1.Group("")), Kind: ptr.To(gatewayv1.Kind("Service")), Name: "app-canary", Port: ptr.To(gatewayv1.PortNumber(8080))}}},
				},
				Timeouts: &gatewayv1.HTTPRouteTimeouts{Request: ptr.To(gatewayv1.Duration("10s"))},
			}},
		},
	}
	applied, _ := json.Marshal(r)
	r.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(applied) + "\n"}
	r.ManagedFields = []metav1.ManagedFieldsEntry{{
		Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "gateway.networking.k8s.io/v1",
		Time: ptr.To(r.CreationTimestamp), FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:annotations":{".":{},` +
			`"f:kubectl.kubernetes.io/last-applied-configuration":{}},"f:labels":{".":{},"f:app.kubernetes.io/name":{},"f:app.kubernetes.io/part-of":{}}},` +
			`"f:spec":{".":{},"f:hostnames":{},"f:parentRefs":{},"f:rules":{}}}`),
	}}
	raw, _ := json.Marshal(r)
	return raw
}

// apiServerReview wraps an object as the API server does.
func apiServerReview(uid string, op admissionv1.Operation, ns, name string, obj, oldObj []byte) []byte {
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID(uid), Operation: op, Namespace: ns, Name: name,
			Kind:            metav1.GroupVersionKind{Group: gatewayv1.GroupName, Version: "v1", Kind: "HTTPRoute"},
			Resource:        metav1.GroupVersionResource{Group: gatewayv1.GroupName, Version: "v1", Resource: "httproutes"},
			RequestKind:     &metav1.GroupVersionKind{Group: gatewayv1.GroupName, Version: "v1", Kind: "HTTPRoute"},
			RequestResource: &metav1.GroupVersionResource{Group: gatewayv1.GroupName, Version: "v1", Resource: "httproutes"},
			UserInfo:        authenticationv1.UserInfo{Username: "alice", UID: "8d5e4f3a", Groups: []string{"tenants", "system:authenticated"}},
			Object:          runtime.RawExtension{Raw: obj}, OldObject: runtime.RawExtension{Raw: oldObj},
			DryRun:  ptr.To(false),
			Options: runtime.RawExtension{Raw: []byte(`{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"kubectl-client-side-apply","fieldValidation":"Strict"}`)},
		},
	})
	return body
}

// benchReviews are n distinct CREATE reviews of HTTPRoutes in namespace ns
// naming one of the 1,000 Gateways each.
func benchReviews(ns string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		name, gw := fmt.Sprintf("%s-%d", ns, i), fmt.Sprintf("gw-%d", 1+i%999)
		out[i] = apiServerReview(fmt.Sprintf("uid-%s-%d", ns, i), admissionv1.Create, ns, name, apiServerRoute(ns, name, gw), nil)
	}
	return out
}

// BenchmarkRouteAdmission is one HTTPRoute admission through the handler
// the webhook server runs for the route path (gatewarden: routeHandler), and
// through controller-runtime's handler of the typed validator, which it
// replaced (controller-runtime), minus TLS, on API-server-shaped reviews
// (about 3 KB): allowed (careers is labelled), and denied (hr is not; the
// denial is confirmed by live reads, here of the same map).
//
//	go test -run '^$' -bench BenchmarkRouteAdmission -benchmem ./webhook/
func BenchmarkRouteAdmission(b *testing.B) {
	logf.SetLogger(logr.Discard())
	cache := benchCluster()
	v := &HTTPRouteValidator{Reader: cluster.NewReader(cache, cache, cluster.Options{RouteTypes: attachment.RouteTypes, GrantV1: true}), Mode: "deny"}
	typed := admission.WithValidator[*gatewayv1.HTTPRoute](testScheme(b), v)
	typed.LogConstructor = requestLogger("HTTPRoute")
	for _, bc := range []struct {
		name, namespace, want string
	}{
		{"allowed", "careers", `"allowed":true`},
		{"denied", "hr", `"code":403`},
	} {
		bodies := benchReviews(bc.namespace, 64)
		for _, h := range []struct {
			name    string
			handler http.Handler
		}{
			{"gatewarden", newRouteHandler(testScheme(b), v)},
			{"controller-runtime", typed},
		} {
			b.Run(bc.name+"/"+h.name, func(b *testing.B) {
				b.SetBytes(int64(len(bodies[0])))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					rec := httptest.NewRecorder()
					req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(bodies[i%len(bodies)]))
					req.Header.Set("Content-Type", "application/json")
					h.handler.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(bc.want)) {
						b.Fatalf("%d %s", rec.Code, rec.Body)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkRouteAdmissionGC is what garbage collection costs admissions
// when the heap holds what gatewarden caches at the README's scale (50,000
// routes, trimmed as the cache trims them, 10,000 Namespaces, 1,000
// Gateways): at GOGC 100 (Go's default), 200, 400 and 800, under the Go
// memory limit serve derives from the chart's container limit (65% of
// 256Mi: 166 MiB, GOGC 400) and from twice that (512Mi: 333 MiB). Every
// core posts reviews, one in ten denied, as fast as they are answered; it
// reports the latency percentiles, the CPU per admission and the
// collections per thousand. The GOGC serve uses without a limit comes from
// this curve (cmd/gatewarden/memlimit.go).
//
//	go test -run '^$' -bench BenchmarkRouteAdmissionGC -benchtime 20000x ./webhook/
func BenchmarkRouteAdmissionGC(b *testing.B) {
	logf.SetLogger(logr.Discard())
	cache := benchCluster()
	ballast := cachedObjects(50000, 10000)
	v := &HTTPRouteValidator{Reader: cluster.NewReader(cache, cache, cluster.Options{RouteTypes: attachment.RouteTypes, GrantV1: true}), Mode: "deny"}
	handler := newRouteHandler(testScheme(b), v)
	allowed, denied := benchReviews("careers", 90), benchReviews("hr", 10)
	bodies := make([][]byte, 0, 100)
	for i := range 10 {
		bodies = append(append(bodies, allowed[i*9:i*9+9]...), denied[i])
	}
	for _, c := range []struct {
		name  string
		gogc  int
		limit int64
	}{
		{"GOGC=100", 100, math.MaxInt64},
		{"GOGC=200", 200, math.MaxInt64},
		{"GOGC=300", 300, math.MaxInt64},
		{"GOGC=400", 400, math.MaxInt64},
		{"GOGC=800", 800, math.MaxInt64},
		{"GOMEMLIMIT=166MiB,GOGC=400", 400, 256 << 20 / 100 * 65},
		{"GOMEMLIMIT=333MiB,GOGC=400", 400, 512 << 20 / 100 * 65},
	} {
		b.Run(c.name, func(b *testing.B) {
			defer debug.SetGCPercent(debug.SetGCPercent(c.gogc))
			defer debug.SetMemoryLimit(debug.SetMemoryLimit(c.limit))
			goruntime.GC()
			var before goruntime.MemStats
			goruntime.ReadMemStats(&before)
			cpu, gc := processCPU(), gcCPU()
			var next atomic.Int64
			var mu sync.Mutex
			var latencies []time.Duration
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					body := bodies[next.Add(1)%int64(len(bodies))]
					start := time.Now()
					rec := httptest.NewRecorder()
					req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					handler.ServeHTTP(rec, req)
					mine = append(mine, time.Since(start))
					if rec.Code != http.StatusOK {
						b.Errorf("%d %s", rec.Code, rec.Body)
						return
					}
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			var after goruntime.MemStats
			goruntime.ReadMemStats(&after)
			slices.Sort(latencies)
			at := func(q float64) float64 {
				return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(at(0.5), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
			b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-us/op")
			b.ReportMetric(float64((gcCPU()-gc).Microseconds())/float64(b.N), "gc-cpu-us/op")
			b.ReportMetric(float64(after.NumGC-before.NumGC)*1000/float64(b.N), "gc/kop")
			b.ReportMetric(float64(after.HeapAlloc)/(1<<20), "heap-MiB")
		})
	}
	goruntime.KeepAlive(ballast)
}

// processCPU is the CPU time the process has used.
func processCPU() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// gcCPU is the CPU time the garbage collector has used, as the runtime
// estimates it.
func gcCPU() time.Duration {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return time.Duration(s[0].Value.Float64() * float64(time.Second))
}

// cachedObjects are routes and Namespaces as gatewarden's cache holds them:
// trimmed, as the informers hand them over, by key.
func cachedObjects(routes, namespaces int) map[string]any {
	out := make(map[string]any, routes+namespaces)
	for i := range namespaces {
		ns := labelled(fmt.Sprintf("team-%d", i), map[string]string{corev1.LabelMetadataName: fmt.Sprintf("team-%d", i), accessLabel: "true"})
		ns.UID, ns.ResourceVersion = types.UID(fmt.Sprintf("ns-%d", i)), "1"
		out["ns/"+ns.Name] = ns
	}
	for i := range routes {
		ns := fmt.Sprintf("team-%d", i%namespaces)
		r := &gatewayv1.HTTPRoute{}
		if err := json.Unmarshal(apiServerRoute(ns, fmt.Sprintf("route-%d", i), fmt.Sprintf("gw-%d", i%1000)), r); err != nil {
			panic(err)
		}
		r.Status.Parents = []gatewayv1.RouteParentStatus{{
			ParentRef: r.Spec.ParentRefs[0], ControllerName: "gatewarden.dev/attachment",
			Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", Message: "Accepted by listener http"}},
		}}
		if _, err := cluster.TrimRoute(r); err != nil {
			panic(err)
		}
		out[ns+"/"+r.Name] = r
	}
	return out
}
