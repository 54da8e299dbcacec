package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// liveServer is the API server as Confirm sees it: it records every read,
// and can hold each one until hold returns.
type liveServer struct {
	mu    sync.Mutex
	reads []string
	// hold, when set, is called in every read before it is answered.
	hold func(ctx context.Context) error
}

func (l *liveServer) client(t *testing.T, objs ...client.Object) client.Client {
	record := func(ctx context.Context, what string) error {
		l.mu.Lock()
		l.reads = append(l.reads, what)
		l.mu.Unlock()
		if l.hold != nil {
			return l.hold(ctx)
		}
		return nil
	}
	return withIndexes(fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...)).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := record(ctx, "GET "+describeRead(obj, key)); err != nil {
				return err
			}
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if err := record(ctx, "LIST "+describeList(list, opts)); err != nil {
				return err
			}
			return c.List(ctx, list, opts...)
		},
	}).Build()
}

// describeRead names a read: "*v1.Gateway infra-ns/gw" for the object,
// "metadata of Gateway infra-ns/gw" for its metadata only.
func describeRead(obj client.Object, key client.ObjectKey) string {
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		return fmt.Sprintf("metadata of %s %s", m.Kind, key)
	}
	return fmt.Sprintf("%T %s", obj, key)
}

// describeList names a list: "*v1.ReferenceGrantList", or "metadata of
// Gateway infra-ns/gw" for the metadata of one object listed by name.
func describeList(list client.ObjectList, opts []client.ListOption) string {
	m, ok := list.(*metav1.PartialObjectMetadataList)
	if !ok {
		return fmt.Sprintf("%T", list)
	}
	o := (&client.ListOptions{}).ApplyOptions(opts)
	name := "?"
	if o.FieldSelector != nil {
		name, _ = o.FieldSelector.RequiresExactMatch("metadata.name")
	}
	return fmt.Sprintf("metadata of %s %s", strings.TrimSuffix(m.Kind, "List"), types.NamespacedName{Namespace: o.Namespace, Name: name})
}

func (l *liveServer) read() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reads...)
}

func withIndexes(b *fake.ClientBuilder) *fake.ClientBuilder {
	for _, ix := range Indexes(attachment.RouteTypes, true) {
		b = b.WithIndex(ix.Object, ix.Field, ix.Values)
	}
	return withNames(b)
}

// withNames lets a fake client list by metadata.name, as the API server
// does for every kind: confirmations read metadata that way.
func withNames(b *fake.ClientBuilder) *fake.ClientBuilder {
	for _, obj := range []client.Object{&corev1.Namespace{}, &gatewayv1.Gateway{}, &gatewayv1.ListenerSet{}} {
		b = b.WithIndex(obj, "metadata.name", func(o client.Object) []string { return []string{o.GetName()} })
	}
	return b
}

func gatewayFrom(name string, from gatewayv1.FromNamespaces) *gatewayv1.Gateway {
	gw := sharedGateway()
	gw.Name, gw.UID = name, types.UID(name)
	gw.Spec.Listeners[0].AllowedRoutes.Namespaces.From = ptr.To(from)
	return gw
}

// twoParents names an open Gateway and one that admits its own namespace
// only, and has a backend in another namespace.
func twoParents() *attachment.Route {
	r := careersRoute()
	r.ParentRefs = []gatewayv1.ParentReference{
		{Name: "open", Namespace: ptr.To(gatewayv1.Namespace("infra-ns"))},
		{Name: "own", Namespace: ptr.To(gatewayv1.Namespace("infra-ns"))},
	}
	r.BackendRefs = []attachment.BackendRef{{Ref: &gatewayv1.BackendObjectReference{Name: "app", Namespace: ptr.To(gatewayv1.Namespace("payments"))}}}
	return r
}

func twoParentsCluster() []client.Object {
	return twoParentsClusterWith(gatewayv1.NamespacesFromSame)
}

// twoParentsClusterWith is twoParentsCluster with Gateway "own" admitting
// routes from the namespaces own says; with Selector, those labelled
// access=true, which careers is not.
func twoParentsClusterWith(own gatewayv1.FromNamespaces) []client.Object {
	return []client.Object{
		gatewayFrom("open", gatewayv1.NamespacesFromAll), gatewayFrom("own", own),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "careers"}},
	}
}

// A confirmation reads again only what the rejection depends on: the
// rejecting Gateway, and the route's Namespace when the Gateway admits
// namespaces by label. The accepting Gateway and the backend's
// ReferenceGrants come from the cache: a grant never turns an allow into a
// deny.
func TestConfirmReadsOnlyWhatTheRejectionDependsOn(t *testing.T) {
	for _, tc := range []struct {
		own   gatewayv1.FromNamespaces
		reads []string
	}{
		{gatewayv1.NamespacesFromSelector, []string{"GET metadata of Namespace /careers", "LIST metadata of Gateway infra-ns/own"}},
		// Admitting its own namespace only, it rejects careers whatever
		// the labels of careers say.
		{gatewayv1.NamespacesFromSame, []string{"LIST metadata of Gateway infra-ns/own"}},
	} {
		t.Run(string(tc.own), func(t *testing.T) {
			testConfirmReads(t, twoParentsClusterWith(tc.own), tc.reads)
		})
	}
}

func testConfirmReads(t *testing.T, objs []client.Object, reads []string) {
	cache := withIndexes(fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...)).Build()
	live := &liveServer{}
	r := NewReader(cache, live.client(t, objs...), Options{GrantV1: true, ListenerSets: true})
	route := twoParents()

	objects, err := r.ObjectsFor(context.Background(), route, false)
	require.NoError(t, err)
	res := attachment.Evaluate(route, objects)
	require.Equal(t, metav1.ConditionTrue, res.Parents[0].Accepted)
	require.Equal(t, metav1.ConditionFalse, res.Parents[1].Accepted)
	require.Empty(t, live.read(), "the cache answers")

	objects, err = r.Confirm(context.Background(), route, []attachment.ParentKey{attachment.GatewayKey("infra-ns", "own")})
	require.NoError(t, err)
	assert.ElementsMatch(t, reads, live.read())
	res = attachment.Evaluate(route, objects)
	assert.Equal(t, metav1.ConditionTrue, res.Parents[0].Accepted, "the open Gateway, from the cache")
	assert.Equal(t, metav1.ConditionFalse, res.Parents[1].Accepted)
	assert.Len(t, res.RefProblems, 1, "the backend's grants, from the cache")
}

// When the cache has the rejecting Gateway admit its own namespace only but
// the API server has it select namespaces by label, the route's Namespace
// is read too, after the Gateway, and decides.
func TestConfirmReadsTheNamespaceWhenTheLiveGatewaySelectsByLabel(t *testing.T) {
	cache := withIndexes(fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(twoParentsClusterWith(gatewayv1.NamespacesFromSame)...)).Build()
	liveObjs := twoParentsClusterWith(gatewayv1.NamespacesFromSelector)
	liveObjs[2].SetLabels(map[string]string{"access": "true"})
	for _, o := range liveObjs {
		// Written since the cache's version (the fake client's 999).
		o.SetResourceVersion("1000")
	}
	live := &liveServer{}
	r := NewReader(cache, live.client(t, liveObjs...), Options{GrantV1: true})
	route := twoParents()

	objects, err := r.Confirm(context.Background(), route, []attachment.ParentKey{attachment.GatewayKey("infra-ns", "own")})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"LIST metadata of Gateway infra-ns/own", "GET *v1.Gateway infra-ns/own",
		"GET metadata of Namespace /careers", "GET *v1.Namespace /careers",
	}, live.read(), "one after the other, each read whole as its version is not the cache's")
	res := attachment.Evaluate(route, objects)
	assert.Equal(t, metav1.ConditionTrue, res.Parents[1].Accepted, "the live Gateway admits careers by its live label: %s", res.Parents[1].Message)
}

// A Gateway deleted since the cache saw it is known from its metadata read:
// the confirmation finds no Gateway, and reads nothing more.
func TestConfirmSeesAGatewayDeletedSinceTheCache(t *testing.T) {
	objs := twoParentsCluster()
	cache := withIndexes(fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...)).Build()
	live := &liveServer{}
	r := NewReader(cache, live.client(t, objs[0], objs[2]), Options{GrantV1: true})

	objects, err := r.Confirm(context.Background(), twoParents(), []attachment.ParentKey{attachment.GatewayKey("infra-ns", "own")})
	require.NoError(t, err)
	assert.Equal(t, []string{"LIST metadata of Gateway infra-ns/own"}, live.read())
	assert.Nil(t, objects.Gateway(types.NamespacedName{Namespace: "infra-ns", Name: "own"}))
}

// The reads of a confirmation are made at once: each read here is answered
// only once all three are being made, which would never happen one after
// the other.
func TestConfirmReadsAtOnce(t *testing.T) {
	objs := twoParentsClusterWith(gatewayv1.NamespacesFromSelector)
	cache := withIndexes(fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...)).Build()
	var inFlight atomic.Int32
	all := make(chan struct{})
	live := &liveServer{hold: func(ctx context.Context) error {
		if inFlight.Add(1) == 3 {
			close(all)
		}
		select {
		case <-all:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	r := NewReader(cache, live.client(t, objs...), Options{GrantV1: true})
	r.HedgeAfter = 0 // the reads are held: no GET races the lists here (hedge_test.go)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := r.Confirm(ctx, twoParents(), []attachment.ParentKey{attachment.GatewayKey("infra-ns", "own"), attachment.GatewayKey("infra-ns", "open")})
	require.NoError(t, err)
	assert.Len(t, live.read(), 3)
}

// Identical confirmations share one read of each object, but only a read
// that began after they were asked for: one that comes while a read is in
// flight starts its own at once, and those that come while two are in
// flight share the read that begins when one of them ends.
func TestConfirmationsShareOnlyReadsBegunAfterThem(t *testing.T) {
	objs := twoParentsClusterWith(gatewayv1.NamespacesFromSelector)
	cache := withIndexes(fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...)).Build()
	release := make(chan struct{})
	live := &liveServer{hold: func(ctx context.Context) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	r := NewReader(cache, live.client(t, objs...), Options{GrantV1: true})
	r.HedgeAfter = 0 // the reads are held: no GET races the lists here (hedge_test.go)
	rejected := []attachment.ParentKey{attachment.GatewayKey("infra-ns", "own")}
	flightsOf := func(kind string, key types.NamespacedName) (running, pending int) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for k, kf := range r.flights {
			if k.kind == kind && k.key == key {
				if kf.pending != nil {
					pending = kf.pending.waiters
				}
				return kf.running, pending
			}
		}
		return 0, 0
	}
	both := func(running, pending int) func() bool {
		return func() bool {
			r1, p1 := flightsOf("*v1.Namespace", types.NamespacedName{Name: "careers"})
			r2, p2 := flightsOf("*v1.Gateway", types.NamespacedName{Namespace: "infra-ns", Name: "own"})
			return r1 == running && p1 == pending && r2 == running && p2 == pending
		}
	}

	errs := make(chan error, 9)
	confirm := func() {
		_, err := r.Confirm(context.Background(), twoParents(), rejected)
		errs <- err
	}
	go confirm()
	require.Eventually(t, both(1, 0), 10*time.Second, time.Millisecond, "the first confirmation reads the Namespace and the Gateway")
	go confirm()
	require.Eventually(t, both(2, 0), 10*time.Second, time.Millisecond, "the second, asked after those reads began, reads both again at once")
	const later = 7
	for range later {
		go confirm()
	}
	require.Eventually(t, both(2, later), 10*time.Second, time.Millisecond, "the later ones share the read that begins when one in flight ends")
	close(release)
	for range 2 + later {
		require.NoError(t, <-errs)
	}
	assert.Len(t, live.read(), 6, "two reads of each at once, then one more of each for the seven that came while they were in flight")
}

// A confirmation that gives up (its admission's deadline) does not fail the
// others waiting on the same read.
func TestConfirmationThatGivesUpLeavesTheReadToOthers(t *testing.T) {
	objs := twoParentsClusterWith(gatewayv1.NamespacesFromSelector)
	cache := withIndexes(fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...)).Build()
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	live := &liveServer{hold: func(ctx context.Context) error {
		started <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	r := NewReader(cache, live.client(t, objs...), Options{GrantV1: true})
	r.HedgeAfter = 0 // the reads are held: no GET races the lists here (hedge_test.go)
	rejected := []attachment.ParentKey{attachment.GatewayKey("infra-ns", "own")}
	// Both ask at the same instant, so that both may share the same reads.
	at := time.Now()
	r.now = func() time.Time { return at }

	first, cancel := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() {
		_, err := r.Confirm(first, twoParents(), rejected)
		firstErr <- err
	}()
	<-started
	<-started
	second := make(chan error, 1)
	go func() {
		_, err := r.Confirm(context.Background(), twoParents(), rejected)
		second <- err
	}()
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, kf := range r.flights {
			if kf.latest == nil || kf.latest.waiters != 2 {
				return false
			}
		}
		return len(r.flights) == 2
	}, 10*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-firstErr, context.Canceled)
	close(release)
	require.NoError(t, <-second, "the read the first one started goes on for the second")
	assert.Len(t, live.read(), 2)
}

// A rejecting ListenerSet is confirmed with what judging it reads: its
// Namespace, its Gateway and the grants of its certificates' namespaces.
func TestConfirmListenerSet(t *testing.T) {
	gw := sharedGateway()
	gw.Spec.AllowedListeners = &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}
	ls := &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "ls", UID: "ls"},
		Spec: gatewayv1.ListenerSetSpec{
			ParentRef: gatewayv1.ParentGatewayReference{Name: "shared-gateway", Namespace: ptr.To(gatewayv1.Namespace("infra-ns"))},
			Listeners: []gatewayv1.ListenerEntry{{Name: "https", Port: 443, Protocol: gatewayv1.HTTPSProtocolType,
				AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}},
				TLS:           &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "cert", Namespace: ptr.To(gatewayv1.Namespace("certs"))}}}}},
		},
	}
	objs := []client.Object{gw, ls, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "careers"}}, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}}
	cache := withIndexes(fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...)).Build()
	live := &liveServer{}
	r := NewReader(cache, live.client(t, objs...), Options{GrantV1: true, ListenerSets: true})
	route := careersRoute()
	route.ParentRefs = []gatewayv1.ParentReference{{Kind: ptr.To(gatewayv1.Kind("ListenerSet")), Name: "ls", Namespace: ptr.To(gatewayv1.Namespace("team"))}}

	objects, err := r.Confirm(context.Background(), route, []attachment.ParentKey{attachment.ListenerSetKey("team", "ls")})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		"GET metadata of Namespace /careers",
		"LIST metadata of ListenerSet team/ls",
		"GET metadata of Namespace /team",
		"LIST metadata of Gateway infra-ns/shared-gateway",
		"LIST *v1.ReferenceGrantList",
	}, live.read())
	res := attachment.Evaluate(route, objects)
	require.Len(t, res.Parents, 1)
	assert.Equal(t, metav1.ConditionFalse, res.Parents[0].Accepted, "its certificate has no grant: the listener accepts no route")
	assert.Contains(t, res.Parents[0].Message, "no ReferenceGrant there lets ListenerSet from \"team\" use it")
}
