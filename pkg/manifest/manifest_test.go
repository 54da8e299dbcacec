package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func decode(t *testing.T, doc string) ([]Object, error) {
	t.Helper()
	return Decode("in.yaml", strings.NewReader(doc), Options{})
}

func TestDecodeKinds(t *testing.T) {
	objs, err := decode(t, `
apiVersion: v1
kind: Namespace
metadata: {name: careers}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: skipped}
---
apiVersion: v1
kind: Service
metadata: {name: skipped}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: example
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: ls, namespace: careers, creationTimestamp: "2026-01-02T03:04:05Z"}
spec:
  parentRef: {name: gw, namespace: infra}
  listeners: [{name: careers, port: 80, protocol: HTTP, hostname: careers.example.com}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: infra}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: careers}]
  to: [{group: "", kind: Service}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw, namespace: infra}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: careers}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: t, namespace: careers}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: t, namespace: careers}
---
apiVersion: gateway.networking.k8s.io/v1
kind: UDPRoute
metadata: {name: u, namespace: careers}
---
apiVersion: example.com/v1
kind: HTTPRoute
metadata: {name: not-gateway-api}
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XListenerSet
metadata: {name: experimental, namespace: careers}
---
`)
	require.NoError(t, err)
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, kindOf(o.Object))
	}
	assert.Equal(t, []string{"Namespace", "Gateway", "ListenerSet", "ReferenceGrant", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"}, kinds)
	assert.Equal(t, Source{File: "in.yaml", Document: 7}, objs[4].Source)

	ls := objs[2].Object.(*gatewayv1.ListenerSet)
	assert.Equal(t, gatewayv1.ObjectName("gw"), ls.Spec.ParentRef.Name)
	assert.Equal(t, gatewayv1.Hostname("careers.example.com"), *ls.Spec.Listeners[0].Hostname)
	assert.Equal(t, "2026-01-02T03:04:05Z", ls.CreationTimestamp.UTC().Format("2006-01-02T15:04:05Z"),
		"creationTimestamp is read: it orders the ListenerSets of a Gateway")

	route := objs[4].Object.(*gatewayv1.HTTPRoute)
	assert.Equal(t, "default", route.Namespace, "a namespaced object without namespace gets the default, as kubectl gives it")
	assert.Equal(t, gatewayv1.ObjectName("gw"), route.Spec.ParentRefs[0].Name)
	assert.Empty(t, objs[0].Object.(*corev1.Namespace).Namespace, "a Namespace is cluster-scoped")
}

func kindOf(o any) string {
	switch o.(type) {
	case *corev1.Namespace:
		return "Namespace"
	case *gatewayv1.Gateway:
		return "Gateway"
	case *gatewayv1.ListenerSet:
		return "ListenerSet"
	case *gatewayv1.ReferenceGrant:
		return "ReferenceGrant"
	case *gatewayv1.HTTPRoute:
		return "HTTPRoute"
	case *gatewayv1.GRPCRoute:
		return "GRPCRoute"
	case *gatewayv1.TLSRoute:
		return "TLSRoute"
	case *gatewayv1.TCPRoute:
		return "TCPRoute"
	case *gatewayv1.UDPRoute:
		return "UDPRoute"
	}
	return "unknown"
}

func TestDecodeJSONAndLists(t *testing.T) {
	objs, err := decode(t, `{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
  {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "a"}}
]}`)
	require.NoError(t, err)
	require.Len(t, objs, 2)
	assert.Equal(t, "r", objs[1].Object.GetName())
}

func TestDecodeErrorsNameFileAndDocument(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"invalid YAML", "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\nkind: [unclosed\n", "in.yaml: document 2: not valid YAML or JSON"},
		{"route without name", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {namespace: a}\n", "in.yaml: document 1: HTTPRoute has no metadata.name"},
		{"missing kind", "apiVersion: v1\nmetadata: {name: a}\n", "in.yaml: document 1: not a Kubernetes object: apiVersion and kind are required"},
		{"a scalar", "just a string\n", "in.yaml: document 1: not a Kubernetes object: the document is not a mapping"},
		{"a list", "- a\n- b\n", "in.yaml: document 1: not a Kubernetes object"},
		{"wrong field type", "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec: {listeners: [{name: a, port: eighty, protocol: HTTP}]}\n",
			"in.yaml: document 1: gateway.networking.k8s.io/v1 Gateway: json: cannot unmarshal string"},
		{"bad apiVersion", "apiVersion: a/b/c\nkind: Gateway\nmetadata: {name: gw}\n", `in.yaml: document 1: apiVersion "a/b/c"`},
		{"bad item in a List", `{"apiVersion": "v1", "kind": "List", "items": [{"kind": "HTTPRoute"}]}`, "in.yaml: document 1: items[0]: not a Kubernetes object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.doc)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDecodeSkipsEmptyDocuments(t *testing.T) {
	objs, err := decode(t, "---\n# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\n")
	require.NoError(t, err)
	require.Len(t, objs, 1)
	// A leading separator opens no document; the comment-only one counts.
	assert.Equal(t, 2, objs[0].Source.Document)
}

func TestReadFoldersRecursivelyAndStdin(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	write("b/ns.yml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n")
	write("a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
	write("c/d/ns.json", `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d"}}`)
	write("README.md", "not a manifest")

	stdin := strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata: {name: from-stdin}\n")
	objs, err := Read([]string{dir, Stdin}, stdin, Options{})
	require.NoError(t, err)
	var names []string
	for _, o := range objs {
		names = append(names, o.Object.GetName())
	}
	assert.Equal(t, []string{"a", "b", "d", "from-stdin"}, names)
	assert.Equal(t, "<stdin>", objs[3].Source.File)

	_, err = Read([]string{filepath.Join(dir, "missing.yaml")}, nil, Options{})
	assert.ErrorContains(t, err, "missing.yaml")

	empty := t.TempDir()
	_, err = Read([]string{empty}, nil, Options{})
	assert.ErrorContains(t, err, "no .yaml, .yml or .json files")
}
