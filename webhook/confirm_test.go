package webhook

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// While a denial waits on the API server, an allowed route is decided from
// the cache without waiting behind it.
func TestAllowedRouteNeverWaitsBehindADenial(t *testing.T) {
	api := &apiServer{}
	r := readerOver(t, api, sharedGateway(), labelled("hr", nil), labelled("careers", map[string]string{accessLabel: "true"}))
	r.ConfirmTimeout = time.Minute
	v := &HTTPRouteValidator{Reader: r, Mode: attachment.ModeDeny}

	ctx, cancel := context.WithCancel(withUser("alice"))
	denied := make(chan error, 1)
	go func() {
		_, err := v.ValidateCreate(ctx, httpRoute("hr", "hr"))
		denied <- err
	}()
	require.Eventually(t, func() bool { return api.reads.Load() > 0 }, 10*time.Second, time.Millisecond, "the denial waits on the API server")

	allowed := make(chan error, 1)
	go func() {
		warnings, err := v.ValidateCreate(withUser("bob"), httpRoute("careers", "jobs"))
		if err == nil && len(warnings) > 0 {
			err = fmt.Errorf("warnings: %v", warnings)
		}
		allowed <- err
	}()
	select {
	case err := <-allowed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the allowed route waited behind the denial")
	}
	cancel()
	require.NoError(t, <-denied, "a denial that could not be confirmed is a warning")
}

// The cache's answer is confirmed on the route's Namespace read live: a
// parent the cache accepts may then reject the route, and it is read live
// too before it counts. Here the cache has the Namespace labelled and
// Gateway "selector" admitting it by that label; the API server has the
// label gone, but also "selector" opened to all namespaces a moment ago.
// Only Gateway "own", which never admitted hr (it selects another label),
// is denied.
func TestRouteDenialConfirmsWhatTheLiveNamespaceRejects(t *testing.T) {
	selector := sharedGateway()
	selector.Name = "selector"
	open := selector.DeepCopy()
	open.Spec.Listeners[0].AllowedRoutes.Namespaces.From = ptr.To(gatewayv1.NamespacesFromAll)
	own := sharedGateway()
	own.Name = "own"
	own.Spec.Listeners[0].AllowedRoutes.Namespaces.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "own"}}

	cache := withIndexes(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(selector, own, labelled("hr", map[string]string{accessLabel: "true"}))).Build()
	var mu sync.Mutex
	var reads []string
	// Both changed since the cache's version (the fake client's 999).
	open.ResourceVersion = "1000"
	unlabelled := labelled("hr", nil)
	unlabelled.ResourceVersion = "1000"
	live := withNames(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(open, own, unlabelled)).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			mu.Lock()
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
				reads = append(reads, fmt.Sprintf("metadata of %s %s", m.Kind, key))
			} else {
				reads = append(reads, fmt.Sprintf("%T %s", obj, key))
			}
			mu.Unlock()
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if m, ok := list.(*metav1.PartialObjectMetadataList); ok {
				o := (&client.ListOptions{}).ApplyOptions(opts)
				name, _ := o.FieldSelector.RequiresExactMatch("metadata.name")
				mu.Lock()
				reads = append(reads, fmt.Sprintf("metadata of %s %s", strings.TrimSuffix(m.Kind, "List"), client.ObjectKey{Namespace: o.Namespace, Name: name}))
				mu.Unlock()
			}
			return c.List(ctx, list, opts...)
		},
	}).Build()
	v := &HTTPRouteValidator{Reader: cluster.NewReader(cache, live, cluster.Options{RouteTypes: attachment.RouteTypes, GrantV1: true}), Mode: attachment.ModeDeny}
	route := httpRoute("hr", "hr")
	route.Spec.ParentRefs = []gatewayv1.ParentReference{
		{Name: "selector", Namespace: ptr.To(gatewayv1.Namespace("infra-ns"))},
		{Name: "own", Namespace: ptr.To(gatewayv1.Namespace("infra-ns"))},
	}

	_, err := v.ValidateCreate(withUser("alice"), route)
	var status *apierrors.StatusError
	require.ErrorAs(t, err, &status)
	require.Len(t, status.ErrStatus.Details.Causes, 1, status.ErrStatus.Message)
	assert.Equal(t, "spec.parentRefs[1]", status.ErrStatus.Details.Causes[0].Field)
	assert.ElementsMatch(t, []string{
		"metadata of Namespace /hr", "*v1.Namespace /hr", // the label is gone since the cache's version
		"metadata of Gateway infra-ns/own",
		"metadata of Gateway infra-ns/selector", "*v1.Gateway infra-ns/selector", // opened since
	}, reads)
}
