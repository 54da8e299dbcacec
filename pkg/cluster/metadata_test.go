package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestMetadataPath(t *testing.T) {
	gw := schema.GroupVersion(gatewayv1.GroupVersion)
	for _, tc := range []struct {
		gvk       schema.GroupVersionKind
		namespace string
		want      []string
	}{
		{corev1.SchemeGroupVersion.WithKind("Namespace"), "", []string{"/api/v1", "namespaces"}},
		{gw.WithKind("GatewayList"), "infra", []string{"/apis/gateway.networking.k8s.io/v1", "namespaces", "infra", "gateways"}},
		{gw.WithKind("Gateway"), "infra", []string{"/apis/gateway.networking.k8s.io/v1", "namespaces", "infra", "gateways"}},
		{gw.WithKind("ListenerSetList"), "team", []string{"/apis/gateway.networking.k8s.io/v1", "namespaces", "team", "listenersets"}},
		// Served by the embedded reader: the wrong scope, other kinds and
		// versions.
		{corev1.SchemeGroupVersion.WithKind("Namespace"), "team", nil},
		{gw.WithKind("GatewayList"), "", nil},
		{gw.WithKind("HTTPRouteList"), "team", nil},
		{schema.GroupVersionKind{Group: gatewayv1.GroupName, Version: "v1beta1", Kind: "GatewayList"}, "infra", nil},
	} {
		got, ok := metadataPath(tc.gvk, tc.namespace)
		assert.Equal(t, tc.want != nil, ok, "%s in %q", tc.gvk, tc.namespace)
		assert.Equal(t, tc.want, got, "%s in %q", tc.gvk, tc.namespace)
	}
}
