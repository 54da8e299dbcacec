package cluster

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// BenchmarkConfirmDenial is the live reads before a denial of a route with
// three Gateways, two of which reject it, and backends in two other
// namespaces, against an API server that answers each read in apiLatency:
//
//   - sequential reads everything again, one read after the other, as
//     ObjectsFor(live) does (and as the route webhook did before Confirm);
//
//   - parallel is Confirm: the Namespace and the two rejecting Gateways, at
//     once;
//
//   - shared is Confirm from every core at once for the same denial: reads/op
//     is what each costs the API server (a read is shared only by the
//     confirmations asked for before it began).
//
//     go test -run '^$' -bench BenchmarkConfirmDenial ./pkg/cluster/
func BenchmarkConfirmDenial(b *testing.B) {
	const apiLatency = time.Millisecond
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "careers"}},
		gatewayFrom("open", gatewayv1.NamespacesFromAll), gatewayFrom("own", gatewayv1.NamespacesFromSame), gatewayFrom("other", gatewayv1.NamespacesFromSame),
	}
	s := scheme(b)
	cache := withIndexes(fake.NewClientBuilder().WithScheme(s).WithObjects(objs...)).Build()
	var reads atomic.Int64
	wait := func(ctx context.Context) error {
		reads.Add(1)
		select {
		case <-time.After(apiLatency):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	live := withIndexes(fake.NewClientBuilder().WithScheme(s).WithObjects(objs...)).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := wait(ctx); err != nil {
				return err
			}
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if err := wait(ctx); err != nil {
				return err
			}
			return c.List(ctx, list, opts...)
		},
	}).Build()
	route := careersRoute()
	route.ParentRefs = nil
	for _, gw := range []string{"open", "own", "other"} {
		route.ParentRefs = append(route.ParentRefs, gatewayv1.ParentReference{Name: gatewayv1.ObjectName(gw), Namespace: ptr.To(gatewayv1.Namespace("infra-ns"))})
	}
	for _, ns := range []string{"payments", "search"} {
		route.BackendRefs = append(route.BackendRefs, attachment.BackendRef{Ref: &gatewayv1.BackendObjectReference{Name: "app", Namespace: ptr.To(gatewayv1.Namespace(ns))}})
	}
	rejected := []attachment.ParentKey{attachment.GatewayKey("infra-ns", "own"), attachment.GatewayKey("infra-ns", "other")}
	newReader := func() *Reader {
		return NewReader(cache, live, Options{GrantV1: true})
	}
	run := func(b *testing.B, confirm func(r *Reader) error) {
		r := newReader()
		reads.Store(0)
		b.ResetTimer()
		for b.Loop() {
			if err := confirm(r); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(reads.Load())/float64(b.N), "reads/op")
	}
	b.Run("sequential", func(b *testing.B) {
		run(b, func(r *Reader) error {
			_, err := r.ObjectsFor(context.Background(), route, true)
			return err
		})
	})
	b.Run("parallel", func(b *testing.B) {
		run(b, func(r *Reader) error {
			_, err := r.Confirm(context.Background(), route, rejected)
			return err
		})
	})
	b.Run("shared", func(b *testing.B) {
		r := newReader()
		reads.Store(0)
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.Confirm(context.Background(), route, rejected); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(reads.Load())/float64(b.N), "reads/op")
	})
}
