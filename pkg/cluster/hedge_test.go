package cluster

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/metrics"
)

// hedgeServer is an API server whose lists by name and GETs can each be
// held: list and get, when set, are called before each is answered.
type hedgeServer struct {
	list, get     func(ctx context.Context) error
	lists, gets   atomic.Int32
	listCancelled atomic.Int32
}

func (s *hedgeServer) reader(t *testing.T, objs ...client.Object) *Reader {
	c := withNames(fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...)).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			s.gets.Add(1)
			if s.get != nil {
				if err := s.get(ctx); err != nil {
					return err
				}
			}
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			s.lists.Add(1)
			if s.list != nil {
				if err := s.list(ctx); err != nil {
					if ctx.Err() != nil {
						s.listCancelled.Add(1)
					}
					return err
				}
			}
			return c.List(ctx, list, opts...)
		},
	}).Build()
	r := NewReader(c, c, Options{})
	r.HedgeAfter = time.Millisecond
	return r
}

// waitForCancel is a read that waits for the watch cache until the reader
// gives up on it: a list the hedge must win against.
func waitForCancel(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// answerWhen is a read that answers once ch is closed, or gives up with
// its context.
func answerWhen(ch <-chan struct{}) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

var gatewayGVK = schema.GroupVersion(gatewayv1.GroupVersion).WithKind("Gateway")

func hedgeGateway() (*gatewayv1.Gateway, types.NamespacedName) {
	gw := gatewayFrom("shared", gatewayv1.NamespacesFromAll)
	gw.ResourceVersion = "7"
	return gw, types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}
}

func TestReadByNameListsWhenTheListIsFast(t *testing.T) {
	gw, key := hedgeGateway()
	s := &hedgeServer{}
	r := s.reader(t, gw)
	r.HedgeAfter = time.Hour
	lists := answered("list")
	for range 3 * probeEvery {
		a := r.readByName(context.Background(), gatewayGVK, key)
		require.NoError(t, a.err)
		require.True(t, a.exists)
		assert.Equal(t, gw.UID, a.m.UID)
		assert.Equal(t, "7", a.m.ResourceVersion)
	}
	assert.Equal(t, int32(3*probeEvery), s.lists.Load())
	assert.Zero(t, s.gets.Load(), "a fast list is never raced")
	assert.Equal(t, float64(3*probeEvery), answered("list")-lists)
}

// answered is how many Gateway reads metrics.ConfirmationReads counted as
// answered by answer.
func answered(answer string) float64 {
	var m dto.Metric
	if err := metrics.ConfirmationReads.WithLabelValues("Gateway", answer).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func TestReadByNameHedgesASlowList(t *testing.T) {
	gw, key := hedgeGateway()
	s := &hedgeServer{list: waitForCancel}
	r := s.reader(t, gw)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hedges := answered("hedge")
	a := r.readByName(ctx, gatewayGVK, key)
	require.NoError(t, a.err)
	require.True(t, a.exists)
	assert.Equal(t, "7", a.m.ResourceVersion, "the GET's answer")
	assert.Equal(t, 1.0, answered("hedge")-hedges)
	assert.Equal(t, int32(1), s.gets.Load())
	// On a busy machine the list's goroutine may reach the API server only
	// after the GET has answered.
	assert.Eventually(t, func() bool { return s.lists.Load() == 1 }, 5*time.Second, time.Millisecond)
	// The list that lost is cancelled, not left waiting.
	assert.Eventually(t, func() bool { return s.listCancelled.Load() == 1 }, 5*time.Second, time.Millisecond)

	// A hedged GET says "not found" as a list that finds nothing does.
	a = r.readByName(ctx, gatewayGVK, types.NamespacedName{Namespace: key.Namespace, Name: "gone"})
	require.NoError(t, a.err)
	assert.False(t, a.exists)
}

// A list that answers after the hedge began but before the GET is not
// counted against lists: on a busy machine every read is slow.
func TestReadByNameLateListIsNoEvidence(t *testing.T) {
	gw, key := hedgeGateway()
	getStarted := make(chan struct{})
	s := &hedgeServer{
		list: answerWhen(getStarted),
		get: func(ctx context.Context) error {
			close(getStarted)
			return waitForCancel(ctx)
		},
	}
	r := s.reader(t, gw)
	late := answered("list-late")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a := r.readByName(ctx, gatewayGVK, key)
	require.NoError(t, a.err)
	assert.Equal(t, "7", a.m.ResourceVersion, "the list's answer")
	assert.Zero(t, r.byName[gatewayGVK].slowNow())
	assert.Equal(t, 1.0, answered("list-late")-late)
	assert.Equal(t, int32(1), s.gets.Load(), "the list was raced")
}

// While lists keep losing, reads are GETs alone, and every probeEvery reads
// a list probes beside the GET without holding up the answer; once the
// probes' lists are fast again, reads are lists.
func TestReadByNameGetsWhileListsAreSlow(t *testing.T) {
	gw, key := hedgeGateway()
	var slow atomic.Bool
	slow.Store(true)
	s := &hedgeServer{list: func(ctx context.Context) error {
		if slow.Load() {
			return waitForCancel(ctx)
		}
		return nil
	}}
	r := s.reader(t, gw)
	// Long enough for a fake list that does not wait to be in time on a
	// busy machine; the slow lists wait for the hedge.
	r.HedgeAfter = 200 * time.Millisecond
	ctx := context.Background()
	read := func() time.Duration {
		t.Helper()
		start := time.Now()
		a := r.readByName(ctx, gatewayGVK, key)
		require.NoError(t, a.err)
		require.Equal(t, "7", a.m.ResourceVersion)
		return time.Since(start)
	}
	// Two lost races take the reads to GETs.
	h := r.byName[gatewayGVK]
	require.False(t, h.getFirstNow())
	for range slowGetFirst / slowStep {
		read()
	}
	require.Equal(t, int32(slowGetFirst/slowStep), s.lists.Load())
	require.True(t, h.getFirstNow())

	lists, gets, answeredByGet := s.lists.Load(), s.gets.Load(), answered("get")
	for range 2 * probeEvery {
		assert.Less(t, read(), r.HedgeAfter, "a GET alone does not wait for a probe")
	}
	assert.Equal(t, gets+2*probeEvery, s.gets.Load(), "every read a GET")
	assert.Equal(t, float64(2*probeEvery), answered("get")-answeredByGet)
	assert.Eventually(t, func() bool { return s.lists.Load() == lists+2 }, 5*time.Second, time.Millisecond,
		"one probe every %d reads", probeEvery)
	// The probes that found lists slow keep the reads GETs.
	assert.Eventually(t, func() bool { return s.listCancelled.Load() == lists+2 }, 5*time.Second, time.Millisecond)
	require.True(t, h.getFirstNow())

	// The lists are fast again: each probe that finds so takes the state
	// a step back; past the threshold the reads are lists again.
	slow.Store(false)
	for reads := 0; h.getFirstNow(); reads++ {
		require.LessOrEqual(t, reads, (slowMax-slowGetFirst+1)*probeEvery, "the reads never went back to lists")
		slowBefore := h.slowNow()
		read()
		if h.probed() {
			// A probe: its fast list takes the state a step back.
			require.Eventually(t, func() bool { return h.slowNow() == slowBefore-1 }, 5*time.Second, time.Millisecond)
		}
	}
	getsBefore := s.gets.Load()
	for range probeEvery {
		read()
	}
	assert.Equal(t, getsBefore, s.gets.Load(), "fast lists again: no GET")
}

func TestReadByNameErrors(t *testing.T) {
	gw, key := hedgeGateway()
	boom := apierrors.NewServiceUnavailable("etcd is down")

	t.Run("a list that fails before the hedge is the answer", func(t *testing.T) {
		s := &hedgeServer{list: func(context.Context) error { return boom }}
		r := s.reader(t, gw)
		r.HedgeAfter = time.Hour
		a := r.readByName(context.Background(), gatewayGVK, key)
		assert.ErrorIs(t, a.err, boom)
		assert.Zero(t, s.gets.Load())
	})

	t.Run("the other read answers when one fails", func(t *testing.T) {
		release := make(chan struct{})
		s := &hedgeServer{
			list: answerWhen(release),
			get: func(context.Context) error {
				close(release) // the list answers once the GET has failed
				return boom
			},
		}
		r := s.reader(t, gw)
		a := r.readByName(context.Background(), gatewayGVK, key)
		require.NoError(t, a.err)
		assert.Equal(t, "7", a.m.ResourceVersion)
	})

	t.Run("both fail: the first failure", func(t *testing.T) {
		listErr := errors.New("list failed")
		getFailed := make(chan struct{})
		s := &hedgeServer{
			list: func(context.Context) error {
				<-getFailed
				return listErr
			},
			get: func(context.Context) error {
				defer close(getFailed)
				return boom
			},
		}
		r := s.reader(t, gw)
		a := r.readByName(context.Background(), gatewayGVK, key)
		assert.ErrorIs(t, a.err, boom)
	})

	t.Run("the admission's deadline", func(t *testing.T) {
		s := &hedgeServer{list: waitForCancel, get: waitForCancel}
		r := s.reader(t, gw)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		a := r.readByName(ctx, gatewayGVK, key)
		assert.ErrorIs(t, a.err, context.DeadlineExceeded)
	})
}

// getFirstNow reports whether the reads are GETs.
func (h *byNameReads) getFirstNow() bool {
	return h.slowNow() >= slowGetFirst
}

// probed reports whether the last read in GET mode started a probe.
func (h *byNameReads) probed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reads%probeEvery == 0
}

func (h *byNameReads) slowNow() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.slow
}
