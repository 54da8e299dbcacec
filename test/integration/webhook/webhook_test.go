package webhook_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func sample(name string) string {
	return filepath.Join(cp.Root, "config", "samples", "shared-gateway", name)
}

// The example scenario of the README, applied with kubectl as a user would:
// the webhook refuses hr, says why and how to fix it; with the Gateway in
// warn mode hr is created with a warning; dry-run says the same and creates
// nothing; relabelling careers warns that careers/careers detaches.
func TestExampleScenario(t *testing.T) {
	serve(t)
	ctx := context.Background()

	// One apply of the whole folder: the Namespaces, the Gateway and the
	// routes are created within a second, so the webhook's cache lags them.
	res := cp.Kubectl(ctx, "", "apply", "-f", filepath.Join(cp.Root, "config", "samples", "shared-gateway"))
	require.Error(t, res.Err, "hr must be refused:\n%s", res.Stdout)
	for _, created := range []string{
		"namespace/careers created", "gateway.gateway.networking.k8s.io/shared-gateway created",
		"httproute.gateway.networking.k8s.io/careers created", "httproute.gateway.networking.k8s.io/product created",
	} {
		assert.Contains(t, res.Stdout, created)
	}
	assert.NotContains(t, res.Stdout, "httproute.gateway.networking.k8s.io/hr created")
	assert.Contains(t, res.Stderr, `Error from server (Forbidden): error when creating "`+sample("12-hr.yaml")+`": `+
		`admission webhook "httproutes.gatewarden.dev" denied the request: spec.parentRefs[0]: `+
		`Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true; `+
		`namespace "hr" does not match. Ask the Gateway owner to allow it, or label namespace hr to match.`)
	assert.NotContains(t, res.Stderr, "Warning: spec.", "careers and product are accepted without a word")
	assert.Contains(t, res.Stderr, `Warning: listener "http" admits 2 namespaces by label: careers, product`,
		"the Gateway owner sees which namespaces its selector admits")
	assert.Contains(t, res.Stderr, `Warning: listener "http" admits namespaces by label shared-gateway-access, which anyone who may edit a Namespace can set`,
		"without grant approvers, the Gateway owner learns that the selector trusts a self-service label")

	t.Run("dry-run shows the same denial and creates nothing", func(t *testing.T) {
		res := cp.Kubectl(ctx, "", "apply", "--dry-run=server", "-f", sample("12-hr.yaml"))
		require.Error(t, res.Err)
		assert.Contains(t, res.Stderr, `Error from server (Forbidden): error when creating "`+sample("12-hr.yaml")+`": `+
			`admission webhook "httproutes.gatewarden.dev" denied the request: spec.parentRefs[0]: Gateway infra-ns/shared-gateway listener "http"`)
		assertNoRoute(t, "hr", "hr")
	})

	res = cp.Kubectl(ctx, "", "annotate", "gateway", "-n", "infra-ns", "shared-gateway", "gatewarden.dev/enforcement=warn")
	require.NoError(t, res.Err, res.Stderr)

	t.Run("dry-run in warn mode warns and creates nothing", func(t *testing.T) {
		res := cp.Kubectl(ctx, "", "apply", "--dry-run=server", "-f", sample("12-hr.yaml"))
		require.NoError(t, res.Err, res.Stderr)
		assert.Contains(t, res.Stdout, "httproute.gateway.networking.k8s.io/hr created (server dry run)")
		assert.Contains(t, res.Stderr, `Warning: spec.parentRefs[0]: Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true`)
		assertNoRoute(t, "hr", "hr")
	})

	t.Run("warn mode creates hr and kubectl prints the warning", func(t *testing.T) {
		res := cp.Kubectl(ctx, "", "apply", "-f", sample("12-hr.yaml"))
		require.NoError(t, res.Err, res.Stderr)
		assert.Contains(t, res.Stdout, "httproute.gateway.networking.k8s.io/hr created")
		assert.Contains(t, res.Stderr, `Warning: spec.parentRefs[0]: Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true; namespace "hr" does not match.`)
	})

	t.Run("removing the label from careers warns that careers/careers detaches", func(t *testing.T) {
		res := cp.Kubectl(ctx, "", "label", "namespace", "careers", "shared-gateway-access-")
		require.NoError(t, res.Err, res.Stderr)
		assert.Contains(t, res.Stdout, "namespace/careers unlabeled")
		assert.Contains(t, res.Stderr, "Warning: Relabelling namespace careers detaches 1 route from Gateway infra-ns/shared-gateway:")
		assert.Contains(t, res.Stderr, "Warning: - HTTPRoute careers/careers from Gateway infra-ns/shared-gateway (NotAllowedByListeners)")
		for _, line := range strings.Split(strings.TrimSpace(res.Stderr), "\n") {
			assert.LessOrEqual(t, len([]rune(strings.TrimPrefix(line, "Warning: "))), 120, line)
		}

		res = cp.Kubectl(ctx, "", "label", "namespace", "careers", "shared-gateway-access=true")
		require.NoError(t, res.Err, res.Stderr)
		assert.NotContains(t, res.Stderr, "detaches", "putting the label back detaches nothing")
	})
}

func assertNoRoute(t *testing.T, namespace, name string) {
	t.Helper()
	err := cp.Client.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: name}, &gatewayv1.HTTPRoute{})
	assert.True(t, apierrors.IsNotFound(err), "the route %s/%s must not exist: %v", namespace, name, err)
}

func TestRouteToAMissingGatewayIsCreatedWithAWarning(t *testing.T) {
	serve(t)
	ctx := context.Background()
	require.NoError(t, cp.CreateNamespace(ctx, "early-team", nil))
	res := cp.Kubectl(ctx, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: early
  namespace: early-team
spec:
  parentRefs:
  - name: not-yet
    namespace: infra-later
`, "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stdout, "httproute.gateway.networking.k8s.io/early created")
	assert.Contains(t, res.Stderr, "Warning: spec.parentRefs[0]: Gateway infra-later/not-yet was not found, so this parentRef could not be checked.")
}

const crossNamespaceRoute = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: %s
  namespace: shop
spec:
  rules:
  - backendRefs:
    - name: checkout
      namespace: payments
      port: 8080
`

func TestCrossNamespaceBackendRefNeedsAReferenceGrant(t *testing.T) {
	serve(t)
	ctx := context.Background()
	for _, ns := range []string{"shop", "payments"} {
		require.NoError(t, cp.CreateNamespace(ctx, ns, nil))
	}

	res := cp.Kubectl(ctx, fmt.Sprintf(crossNamespaceRoute, "without-grant"), "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stdout, "httproute.gateway.networking.k8s.io/without-grant created")
	assert.Contains(t, res.Stderr, `Warning: spec.rules[0].backendRefs[0]: Service payments/checkout is in another namespace and no ReferenceGrant in "payments" allows HTTPRoute from "shop"`)

	// The grant and the next route in one apply: the webhook must not warn
	// on a cache that has not seen the grant yet.
	res = cp.Kubectl(ctx, `
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: shop-to-checkout
  namespace: payments
spec:
  from:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    namespace: shop
  to:
  - group: ""
    kind: Service
    name: checkout
---`+fmt.Sprintf(crossNamespaceRoute, "with-grant"), "apply", "-f", "-")
	require.NoError(t, res.Err, res.Stderr)
	assert.Contains(t, res.Stdout, "httproute.gateway.networking.k8s.io/with-grant created")
	assert.Empty(t, res.Stderr)
}

func TestLayer4RoutesAreEvaluatedToo(t *testing.T) {
	serve(t)
	ctx := context.Background()
	require.NoError(t, cp.CreateNamespace(ctx, "l4", nil))
	res := cp.Kubectl(ctx, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: web
  namespace: l4
spec:
  gatewayClassName: example
  listeners:
  - name: http
    port: 80
    protocol: HTTP
---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata:
  name: postgres
  namespace: l4
spec:
  parentRefs:
  - name: web
  rules:
  - backendRefs:
    - name: postgres
      port: 5432
`, "apply", "-f", "-")
	require.Error(t, res.Err)
	assert.Contains(t, res.Stderr, `admission webhook "tcproutes.gatewarden.dev" denied the request: spec.parentRefs[0]: Gateway l4/web listener "http" accepts only HTTPRoute, GRPCRoute, not TCPRoute.`)
}

// A request that is not a valid AdmissionReview gets a clear error, and the
// server goes on serving.
func TestMalformedAdmissionReview(t *testing.T) {
	s := serve(t)
	c := cp.TLSClient()
	url := s.URL + "/validate-gateway-networking-k8s-io-v1-httproute"
	post := func(body string) (int, string) {
		resp, err := c.Post(url, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}

	for name, body := range map[string]string{
		"not JSON":       "{{{ not json",
		"empty":          "",
		"no request":     `{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}`,
		"wrong kind":     `{"apiVersion": "v1", "kind": "Pod"}`,
		"object garbage": review(`{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"x","namespace":"y"},"spec":{"parentRefs":"not a list"}}`),
	} {
		t.Run(name, func(t *testing.T) {
			code, body := post(body)
			if code == http.StatusOK {
				var out admissionv1.AdmissionReview
				require.NoError(t, json.Unmarshal([]byte(body), &out), body)
				require.NotNil(t, out.Response, body)
				assert.False(t, out.Response.Allowed)
				require.NotNil(t, out.Response.Result)
				assert.Equal(t, int32(http.StatusBadRequest), out.Response.Result.Code)
				assert.NotEmpty(t, out.Response.Result.Message)
			} else {
				assert.Equal(t, http.StatusBadRequest, code, body)
			}
		})
	}

	code, body := post(review(`{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"x","namespace":"default"},"spec":{}}`))
	require.Equal(t, http.StatusOK, code)
	var out admissionv1.AdmissionReview
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	assert.True(t, out.Response.Allowed, "a valid review after the bad ones is answered")
	exited, err := s.Exited()
	assert.False(t, exited, "the server keeps serving: %v", err)
}

func review(object string) string {
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "00000000-0000-0000-0000-000000000001",
			Kind:      metav1.GroupVersionKind{Group: gatewayv1.GroupName, Version: "v1", Kind: "HTTPRoute"},
			Resource:  metav1.GroupVersionResource{Group: gatewayv1.GroupName, Version: "v1", Resource: "httproutes"},
			Namespace: "default", Name: "x", Operation: admissionv1.Create,
		},
	}
	r.Request.Object.Raw = []byte(object)
	b, _ := json.Marshal(r)
	return string(b)
}

// The server speaks TLS 1.2 or later and HTTP/1.1 only.
func TestTLSSettings(t *testing.T) {
	s := serve(t)
	addr := strings.TrimPrefix(s.URL, "https://")
	_, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}) //nolint:gosec // testing that old TLS is refused
	assert.Error(t, err, "TLS 1.1 must be refused")

	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}) //nolint:gosec // the test only inspects the handshake
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	assert.NotEqual(t, "h2", conn.ConnectionState().NegotiatedProtocol, "HTTP/2 is off")
	assert.GreaterOrEqual(t, conn.ConnectionState().Version, uint16(tls.VersionTLS12))
}
