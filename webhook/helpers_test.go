package webhook

import (
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// withIndexes gives a fake client the field indexes of gatewarden's cache.
func withIndexes(b *fake.ClientBuilder) *fake.ClientBuilder {
	for _, ix := range cluster.Indexes(attachment.RouteTypes, true) {
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

// testReader reads a fake client as the cache and the API server alike.
func testReader(c client.Reader) *cluster.Reader {
	return cluster.NewReader(c, c, cluster.Options{RouteTypes: attachment.RouteTypes, GrantV1: true, ListenerSets: true})
}
