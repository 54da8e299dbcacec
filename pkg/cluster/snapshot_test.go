package cluster

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// listCall is one List request a paged reader answered.
type listCall struct {
	list  string
	limit int64
	token string
}

// pagedReader serves Lists from a fake client the way the API server pages
// them (the fake client ignores Limit and Continue): the continue token is
// the offset of the next item. fail, when set, may replace an answer.
type pagedReader struct {
	mu    sync.Mutex
	calls []listCall
	fail  func(call listCall) error
}

// callsOf returns the calls for one list type, in order: kinds are read
// concurrently, the pages of one kind one after the other.
func (p *pagedReader) callsOf(list string) []listCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []listCall
	for _, c := range p.calls {
		if c.list == list {
			out = append(out, c)
		}
	}
	return out
}

func (p *pagedReader) client(t *testing.T, objs ...client.Object) client.Reader {
	s := scheme(t)
	require.NoError(t, gatewayv1beta1.Install(s))
	return fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			o := (&client.ListOptions{}).ApplyOptions(opts)
			call := listCall{list: fmt.Sprintf("%T", list), limit: o.Limit, token: o.Continue}
			p.mu.Lock()
			p.calls = append(p.calls, call)
			p.mu.Unlock()
			if p.fail != nil {
				if err := p.fail(call); err != nil {
					return err
				}
			}
			if err := c.List(ctx, list); err != nil {
				return err
			}
			items, err := meta.ExtractList(list)
			if err != nil {
				return err
			}
			from := 0
			if o.Continue != "" {
				from, _ = strconv.Atoi(o.Continue)
			}
			to := len(items)
			if o.Limit > 0 && from+int(o.Limit) < to {
				to = from + int(o.Limit)
				list.SetContinue(strconv.Itoa(to))
			}
			return meta.SetList(list, items[from:to])
		},
	}).Build()
}

func routeNamed(ns, name string) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"}},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "shared-gateway", Namespace: ptr.To(gatewayv1.Namespace("infra-ns"))}}},
			Hostnames:       []gatewayv1.Hostname{"jobs.example.com"},
			Rules: []gatewayv1.HTTPRouteRule{{
				Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/" + name)}}},
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "app"}}}},
			}},
		},
		Status: gatewayv1.HTTPRouteStatus{RouteStatus: gatewayv1.RouteStatus{Parents: []gatewayv1.RouteParentStatus{{ControllerName: "example.com/gateway"}}}},
	}
}

func httpRoutesOnly() []ListedKind {
	kinds := listedKinds()
	return []ListedKind{kinds[0], kinds[1], kinds[2], kinds[4]} // Namespaces, Gateways, ReferenceGrants v1, HTTPRoutes
}

func TestSnapshotReadsPageByPage(t *testing.T) {
	p := &pagedReader{}
	gw := sharedGateway()
	gw.Annotations = map[string]string{attachment.EnforcementAnnotation: "warn", "kubectl.kubernetes.io/last-applied-configuration": "{...}"}
	gw.Status.Conditions = []metav1.Condition{{Type: "Programmed", Status: metav1.ConditionTrue}}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "careers", Labels: map[string]string{"access": "true"}, Annotations: map[string]string{"a": "b"}},
			Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "infra-ns"}},
		gw,
		&gatewayv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: "infra-ns", Name: "grant", Annotations: map[string]string{"a": "b"}},
			Spec: gatewayv1.ReferenceGrantSpec{
				From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: "careers"}},
				To:   []gatewayv1.ReferenceGrantTo{{Kind: "Service"}},
			}},
	}
	for i := range 5 {
		objs = append(objs, routeNamed("careers", fmt.Sprintf("r%d", i)))
	}
	s := &Snapshot{Reader: p.client(t, objs...), Kinds: httpRoutesOnly(), PageSize: 2}
	got, err := s.Read(context.Background())
	require.NoError(t, err)

	assert.Len(t, p.calls, 6)
	assert.Equal(t, []listCall{{"*v1.NamespaceList", 2, ""}}, p.callsOf("*v1.NamespaceList"))
	assert.Equal(t, []listCall{{"*v1.GatewayList", 2, ""}}, p.callsOf("*v1.GatewayList"))
	assert.Equal(t, []listCall{{"*v1.ReferenceGrantList", 2, ""}}, p.callsOf("*v1.ReferenceGrantList"))
	assert.Equal(t, []listCall{{"*v1.HTTPRouteList", 2, ""}, {"*v1.HTTPRouteList", 2, "2"}, {"*v1.HTTPRouteList", 2, "4"}},
		p.callsOf("*v1.HTTPRouteList"), "a page of 2 at a time, to the last page")

	require.Len(t, got, 9)
	assert.Equal(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "careers", Labels: map[string]string{"access": "true"}}}, got[0],
		"a Namespace keeps its name and labels only")
	keptGW := got[2].(*gatewayv1.Gateway)
	assert.Equal(t, map[string]string{attachment.EnforcementAnnotation: "warn"}, keptGW.Annotations, "a Gateway keeps the one annotation the evaluator reads")
	assert.Equal(t, gw.Spec, keptGW.Spec)
	assert.Empty(t, keptGW.Status.Conditions)
	keptGrant := got[3].(*gatewayv1.ReferenceGrant)
	assert.Equal(t, "grant", keptGrant.Name)
	assert.Nil(t, keptGrant.Annotations)
	assert.Len(t, keptGrant.Spec.From, 1)

	for i, obj := range got[4:] {
		r := obj.(*gatewayv1.HTTPRoute)
		assert.Equal(t, fmt.Sprintf("r%d", i), r.Name, "in the order the API server lists them")
		assert.Equal(t, "careers", r.Namespace)
		assert.Nil(t, r.Labels)
		assert.Nil(t, r.Annotations)
		assert.Empty(t, r.ResourceVersion)
		assert.Nil(t, r.Spec.Rules, "backends in the route's own namespace need no ReferenceGrant: the evaluator reads no rule")
		assert.Empty(t, r.Status.Parents, "status is not read")
		want, got := attachment.FromHTTPRoute(routeNamed("careers", r.Name)), attachment.FromHTTPRoute(r)
		assert.Equal(t, want.ParentRefs, got.ParentRefs, "the evaluator reads the same parentRefs")
		assert.Equal(t, want.Hostnames, got.Hostnames, "and hostnames")
	}
}

func TestSnapshotReadsReferenceGrantsV1beta1AsV1(t *testing.T) {
	p := &pagedReader{}
	kinds := listedKinds()
	s := &Snapshot{Reader: p.client(t, &gatewayv1beta1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra-ns", Name: "old"},
		Spec:       gatewayv1beta1.ReferenceGrantSpec{To: []gatewayv1beta1.ReferenceGrantTo{{Kind: "Service"}}},
	}), Kinds: kinds[3:4]}
	got, err := s.Read(context.Background())
	require.NoError(t, err)
	require.Len(t, got, 1)
	g, ok := got[0].(*gatewayv1.ReferenceGrant)
	require.True(t, ok, "the v1 type, as pkg/manifest reads every version")
	assert.Equal(t, "old", g.Name)
	assert.Equal(t, gatewayv1.Kind("Service"), g.Spec.To[0].Kind)
	assert.Equal(t, []listCall{{"*v1beta1.ReferenceGrantList", 0, ""}}, p.calls, "page size 0 lists all at once")
}

func TestSnapshotErrorsNameTheResource(t *testing.T) {
	p := &pagedReader{fail: func(c listCall) error {
		if c.list == "*v1.HTTPRouteList" {
			return apierrors.NewForbidden(schema.GroupResource{Group: gatewayv1.GroupName, Resource: "httproutes"}, "",
				fmt.Errorf(`User "ci" cannot list resource "httproutes" in API group "gateway.networking.k8s.io" at the cluster scope`))
		}
		return nil
	}}
	s := &Snapshot{Reader: p.client(t), Kinds: httpRoutesOnly(), PageSize: 500}
	_, err := s.Read(context.Background())
	require.Error(t, err)
	assert.True(t, apierrors.IsForbidden(err), "the API error stays inspectable")
	assert.Equal(t, `listing httproutes.gateway.networking.k8s.io: httproutes.gateway.networking.k8s.io is forbidden: `+
		`User "ci" cannot list resource "httproutes" in API group "gateway.networking.k8s.io" at the cluster scope`, err.Error())
}

// A continue token the API server compacted away starts the kind over.
func TestSnapshotStartsOverWhenTheContinueTokenExpired(t *testing.T) {
	expired := false
	p := &pagedReader{fail: func(c listCall) error {
		if c.token != "" && !expired {
			expired = true
			return apierrors.NewResourceExpired("The provided continue parameter is too old")
		}
		return nil
	}}
	s := &Snapshot{Reader: p.client(t, routeNamed("a", "r1"), routeNamed("a", "r2"), routeNamed("a", "r3")), Kinds: httpRoutesOnly()[3:], PageSize: 2}
	got, err := s.Read(context.Background())
	require.NoError(t, err)
	assert.Len(t, got, 3, "every route once")
	assert.Equal(t, []listCall{
		{"*v1.HTTPRouteList", 2, ""}, {"*v1.HTTPRouteList", 2, "2"},
		{"*v1.HTTPRouteList", 2, ""}, {"*v1.HTTPRouteList", 2, "2"},
	}, p.calls)
}

func TestListedKinds(t *testing.T) {
	mapper := func(gvks ...schema.GroupVersionKind) meta.RESTMapper {
		m := meta.NewDefaultRESTMapper(nil)
		for _, gvk := range gvks {
			m.Add(gvk, meta.RESTScopeNamespace)
		}
		return m
	}
	ns := corev1.SchemeGroupVersion.WithKind("Namespace")
	v1beta1Grant := schema.GroupVersionKind{Group: gatewayv1.GroupName, Version: "v1beta1", Kind: "ReferenceGrant"}
	resources := func(kinds []ListedKind) []string {
		var out []string
		for _, k := range kinds {
			out = append(out, k.GVK.Version+" "+k.Resource)
		}
		return out
	}

	got, err := ListedKinds(mapper(ns, GatewayAPIv1("Gateway"), GatewayAPIv1("ReferenceGrant"), v1beta1Grant, GatewayAPIv1("HTTPRoute"), GatewayAPIv1("TCPRoute")))
	require.NoError(t, err)
	assert.Equal(t, []string{"v1 namespaces", "v1 gateways.gateway.networking.k8s.io", "v1 referencegrants.gateway.networking.k8s.io",
		"v1 httproutes.gateway.networking.k8s.io", "v1 tcproutes.gateway.networking.k8s.io"}, resources(got),
		"ReferenceGrant once, in v1; only the route kinds served")

	got, err = ListedKinds(mapper(ns, GatewayAPIv1("Gateway"), GatewayAPIv1("ReferenceGrant"), GatewayAPIv1("HTTPRoute"), GatewayAPIv1("ListenerSet")))
	require.NoError(t, err)
	assert.Equal(t, []string{"v1 namespaces", "v1 gateways.gateway.networking.k8s.io", "v1 referencegrants.gateway.networking.k8s.io",
		"v1 httproutes.gateway.networking.k8s.io", "v1 listenersets.gateway.networking.k8s.io"}, resources(got),
		"ListenerSets, when the API server serves them")

	got, err = ListedKinds(mapper(ns, GatewayAPIv1("Gateway"), v1beta1Grant))
	require.NoError(t, err)
	assert.Equal(t, []string{"v1 namespaces", "v1 gateways.gateway.networking.k8s.io", "v1beta1 referencegrants.gateway.networking.k8s.io"}, resources(got))

	_, err = ListedKinds(mapper(ns, GatewayAPIv1("HTTPRoute")))
	assert.EqualError(t, err, "the API server does not serve gateway.networking.k8s.io/v1 gateways.gateway.networking.k8s.io: install the Gateway API CRDs (v1.1 or later) first")
}

func TestSnapshotReadsListenerSets(t *testing.T) {
	p := &pagedReader{}
	created := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	ls := &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "careers", Name: "careers-listeners", CreationTimestamp: created,
			ResourceVersion: "7", Labels: map[string]string{"app": "careers"},
			Annotations: map[string]string{attachment.EnforcementAnnotation: "off", "kubectl.kubernetes.io/last-applied-configuration": "{...}"}},
		Spec: gatewayv1.ListenerSetSpec{
			ParentRef: gatewayv1.ParentGatewayReference{Name: "shared-gateway", Namespace: ptr.To(gatewayv1.Namespace("infra-ns"))},
			Listeners: []gatewayv1.ListenerEntry{{Name: "careers", Port: 80, Protocol: gatewayv1.HTTPProtocolType, Hostname: ptr.To(gatewayv1.Hostname("careers.example.com"))}},
		},
		Status: gatewayv1.ListenerSetStatus{Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue}}},
	}
	kinds := listedKinds()
	last := kinds[len(kinds)-1]
	require.Equal(t, "listenersets.gateway.networking.k8s.io", last.Resource)
	s := &Snapshot{Reader: p.client(t, ls), Kinds: []ListedKind{last}}
	got, err := s.Read(context.Background())
	require.NoError(t, err)
	require.Len(t, got, 1)
	kept, ok := got[0].(*gatewayv1.ListenerSet)
	require.True(t, ok)
	assert.True(t, created.Equal(&kept.CreationTimestamp), "creationTimestamp is kept: precedence depends on it (%s)", kept.CreationTimestamp)
	kept.CreationTimestamp = metav1.Time{}
	assert.Equal(t, &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "careers", Name: "careers-listeners"},
		Spec:       ls.Spec,
	}, kept, "its spec; not its own annotations, which govern nothing, nor its status")
	assert.Equal(t, []listCall{{"*v1.ListenerSetList", 0, ""}}, p.calls)
}
