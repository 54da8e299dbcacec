package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// heartbeatLeases is how many node Leases the heartbeats renew in turn.
const heartbeatLeases = 200

// heartbeats renews node Leases in kube-node-lease at perSecond updates a
// second, as a cluster's kubelets do (each every 10 s: 20 a second for 200
// nodes), until the benchmark ends. A real cluster is never quiet: every
// write anywhere moves etcd's revision past what the API server's watch
// cache of a quiet resource (Gateways) has seen, and a consistent read of
// that resource then waits for etcd's progress notification. A benchmark
// cluster without writes would hide that wait. Zero writes nothing.
func (c *benchCluster) heartbeats(b *testing.B, perSecond int) {
	if perSecond == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	leases := make([]*coordinationv1.Lease, heartbeatLeases)
	for i := range leases {
		leases[i] = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kube-node-lease", Name: fmt.Sprintf("bench-node-%d", i)},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(fmt.Sprintf("bench-node-%d", i)),
				LeaseDurationSeconds: ptr.To[int32](40),
				RenewTime:            &metav1.MicroTime{Time: time.Now()},
			},
		}
		if err := c.fast.Create(ctx, leases[i]); err != nil {
			cancel()
			b.Fatalf("creating the node Lease %s: %v", leases[i].Name, err)
		}
	}
	done := make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		var err error
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				done <- err
				return
			case <-tick.C:
			}
			l := leases[i%len(leases)]
			l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
			if e := c.fast.Update(ctx, l); e != nil && ctx.Err() == nil && err == nil {
				err = fmt.Errorf("renewing the node Lease %s: %w", l.Name, e)
			}
		}
	}()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
		for _, l := range leases {
			if err := c.fast.Delete(context.Background(), l); err != nil {
				b.Errorf("deleting the node Lease %s: %v", l.Name, err)
			}
		}
	})
}
