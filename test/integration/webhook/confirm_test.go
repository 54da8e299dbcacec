package webhook_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// delegations records the reads a MetadataReader passes on.
type delegations struct {
	client.Reader
	reads []string
}

func (d *delegations) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	d.reads = append(d.reads, "get "+key.String())
	return d.Reader.Get(ctx, key, obj, opts...)
}

func (d *delegations) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	d.reads = append(d.reads, "list")
	return d.Reader.List(ctx, list, opts...)
}

// The reads that confirm a denial go to the API server as prepared requests
// (cluster.MetadataReader): they must answer exactly what controller-runtime's
// metadata client answers, found or not, and pass on what they do not serve.
func TestConfirmationReadsAnswerAsTheMetadataClient(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "confirm-", Labels: map[string]string{"team": "a"}}}
	require.NoError(t, cp.Client.Create(ctx, ns))
	t.Cleanup(func() { _ = cp.Client.Delete(ctx, ns) })
	for _, name := range []string{"gw", "gw-2"} {
		gw := &gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name},
			Spec: gatewayv1.GatewaySpec{GatewayClassName: "example", Listeners: []gatewayv1.Listener{
				{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80},
			}},
		}
		require.NoError(t, cp.Client.Create(ctx, gw))
	}

	hc, err := rest.HTTPClientFor(cp.Config)
	require.NoError(t, err)
	mapper, err := apiutil.NewDynamicRESTMapper(cp.Config, hc)
	require.NoError(t, err)
	reference, err := client.New(cp.Config, client.Options{Scheme: cp.Scheme, HTTPClient: hc, Mapper: mapper})
	require.NoError(t, err)
	passed := &delegations{Reader: reference}
	r, err := cluster.NewMetadataReader(passed, cp.Config, hc)
	require.NoError(t, err)

	namespaceKind := corev1.SchemeGroupVersion.WithKind("Namespace")
	gatewayList := schema.GroupVersion(gatewayv1.GroupVersion).WithKind("GatewayList")
	metadata := func(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadata {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(gvk)
		return m
	}
	list := func() *metav1.PartialObjectMetadataList {
		l := &metav1.PartialObjectMetadataList{}
		l.SetGroupVersionKind(gatewayList)
		return l
	}

	t.Run("a Namespace's metadata", func(t *testing.T) {
		got, want := metadata(namespaceKind), metadata(namespaceKind)
		require.NoError(t, r.Get(ctx, client.ObjectKey{Name: ns.Name}, got))
		require.NoError(t, reference.Get(ctx, client.ObjectKey{Name: ns.Name}, want))
		assert.Equal(t, want, got)
		assert.Equal(t, ns.UID, got.UID)
		assert.Equal(t, "a", got.Labels["team"])
	})
	t.Run("a Namespace that does not exist", func(t *testing.T) {
		err := r.Get(ctx, client.ObjectKey{Name: ns.Name + "-absent"}, metadata(namespaceKind))
		assert.True(t, apierrors.IsNotFound(err), "want NotFound, got %v", err)
	})
	t.Run("a Gateway listed by name", func(t *testing.T) {
		got, want := list(), list()
		by := []client.ListOption{client.InNamespace(ns.Name), client.MatchingFields{"metadata.name": "gw"}}
		require.NoError(t, r.List(ctx, got, by...))
		require.NoError(t, reference.List(ctx, want, by...))
		require.Len(t, got.Items, 1)
		assert.Equal(t, "gw", got.Items[0].Name)
		assert.Equal(t, want.Items, got.Items)
		assert.NotEmpty(t, got.ResourceVersion, "a consistent list says which revision it read")
	})
	// The GET that races a slow list (cluster.readByName): the same
	// metadata as the list's item.
	t.Run("a Gateway's metadata", func(t *testing.T) {
		gatewayKind := schema.GroupVersion(gatewayv1.GroupVersion).WithKind("Gateway")
		got, want := metadata(gatewayKind), metadata(gatewayKind)
		require.NoError(t, r.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "gw"}, got))
		require.NoError(t, reference.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "gw"}, want))
		assert.Equal(t, want, got)
		listed := list()
		require.NoError(t, r.List(ctx, listed, client.InNamespace(ns.Name), client.MatchingFields{"metadata.name": "gw"}))
		require.Len(t, listed.Items, 1)
		assert.Equal(t, listed.Items[0].UID, got.UID)
		assert.Equal(t, listed.Items[0].ResourceVersion, got.ResourceVersion)
		err := r.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "gw-3"}, metadata(gatewayKind))
		assert.True(t, apierrors.IsNotFound(err), "want NotFound, got %v", err)
	})
	t.Run("a Gateway that does not exist", func(t *testing.T) {
		got := list()
		require.NoError(t, r.List(ctx, got, client.InNamespace(ns.Name), client.MatchingFields{"metadata.name": "gw-3"}))
		assert.Empty(t, got.Items)
	})
	require.Empty(t, passed.reads, "the reads of a confirmation are served by the MetadataReader itself")

	t.Run("other reads are passed on", func(t *testing.T) {
		gw := &gatewayv1.Gateway{}
		require.NoError(t, r.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "gw"}, gw))
		assert.Len(t, gw.Spec.Listeners, 1)
		labelled := list()
		require.NoError(t, r.List(ctx, labelled, client.InNamespace(ns.Name), client.MatchingLabels{"absent": "x"}))
		assert.Empty(t, labelled.Items)
		// A Namespace asked for in a namespace: controller-runtime's
		// client knows it is cluster-scoped.
		require.NoError(t, r.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: ns.Name}, metadata(namespaceKind)))
		assert.Equal(t, []string{"get " + ns.Name + "/gw", "list", "get " + ns.Name + "/" + ns.Name}, passed.reads)
	})
}
