package webhook

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// withIndexes gives a fake client the field indexes of gatewarden's cache.
func withIndexes(b *fake.ClientBuilder) *fake.ClientBuilder {
	for _, ix := range cluster.Indexes(attachment.RouteTypes, true) {
		b = b.WithIndex(ix.Object, ix.Field, ix.Values)
	}
	return b
}

// testReader reads a fake client as the cache and the API server alike.
func testReader(c client.Reader) *cluster.Reader {
	return cluster.NewReader(c, c, cluster.Options{RouteTypes: attachment.RouteTypes, GrantV1: true, ListenerSets: true})
}
