package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/assert"
	admissionv1 "k8s.io/api/admission/v1"
	admissionv1beta1 "k8s.io/api/admission/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// FuzzAdmissionReview posts whatever the API server, or anyone who reaches
// the webhook port, could send to gatewarden's admission handlers, as the
// webhook server runs them, over a fake cluster that holds the README's
// shared Gateway. Nothing may panic (panic recovery is off, so a panic fails
// the test instead of becoming a 500), every answer is HTTP 200 with a
// well-formed AdmissionReview or a 4xx, and an answer to a request that
// parsed carries its UID.
//
// The route handlers decode reviews themselves (routehandler.go): each one
// must answer every input byte for byte as controller-runtime's handler of
// the typed validator does, and read the same route as the typed decode.
//
//	go test -run '^$' -fuzz '^FuzzAdmissionReview$' -fuzztime 60s ./webhook/
func FuzzAdmissionReview(f *testing.F) {
	handlers := fuzzHandlers(f)
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","operation":"CREATE","namespace":"hr","name":"hr",` +
		`"object":{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"hr","namespace":"hr"},` +
		`"spec":{"parentRefs":[{"name":"shared-gateway","namespace":"infra-ns"}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"2","operation":"UPDATE","name":"hr",` +
		`"userInfo":{"username":"alice","groups":["tenants"]},` +
		`"object":{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"hr","labels":{"shared-gateway-access":"true"}}},` +
		`"oldObject":{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"hr"}}}}`))
	f.Add([]byte(`{"request":{"uid":"3","operation":"DELETE","oldObject":null}}`))
	f.Add([]byte(`{"request":`))

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, h := range handlers {
			checkAdmissionAnswer(t, h, body)
			if h.typed != nil {
				checkSameAsTyped(t, h, body)
			}
		}
	})
}

// The seeds are only worth their place if they reach the validators: the
// valid reviews among them get the verdicts gatewarden gives, which also
// shows that the fuzzed handlers are gatewarden's own.
func TestFuzzAdmissionReviewSeeds(t *testing.T) {
	handlers := map[string]fuzzHandler{}
	for _, h := range fuzzHandlers(t) {
		handlers[h.name] = h
	}
	for _, tc := range []struct {
		seed, handler string
		allowed       bool
		// code of a refusal; message and warning are substrings.
		code             int32
		message, warning string
	}{
		{seed: "httproute-create-denied", handler: "route", code: http.StatusForbidden,
			message: `spec.parentRefs[0]: Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true; namespace "hr" does not match.`},
		{seed: "httproute-create-allowed", handler: "route", allowed: true},
		{seed: "httproute-create-hostname-mismatch", handler: "route", code: http.StatusForbidden, message: "but none of its hostnames (jobs.example.org) matches"},
		{seed: "httproute-update-adds-parent", handler: "route", code: http.StatusForbidden, message: "spec.parentRefs[1]: Gateway infra-ns/shared-gateway",
			warning: "spec.parentRefs[0]: Gateway infra-ns/open was not found"},
		{seed: "httproute-update-unchanged-rejection", handler: "route", allowed: true, warning: "(Not denied: this update did not cause it.)"},
		{seed: "httproute-delete", handler: "route", allowed: true},
		{seed: "v1beta1-review", handler: "route", code: http.StatusForbidden, message: "spec.parentRefs[0]: Gateway infra-ns/shared-gateway"},
		{seed: "yaml-review", handler: "route", code: http.StatusForbidden, message: "spec.parentRefs[0]: Gateway infra-ns/shared-gateway"},
		{seed: "wrong-object-kind", handler: "route", code: http.StatusBadRequest},
		{seed: "truncated", handler: "route", code: http.StatusBadRequest},
		{seed: "httproute-apiserver-denied", handler: "route", code: http.StatusForbidden,
			message: `spec.parentRefs[0]: Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true; namespace "hr" does not match.`},
		{seed: "httproute-update-deleting", handler: "route", allowed: true},
		{seed: "httproute-create-backends", handler: "route", allowed: true,
			warning: "spec.rules[0].filters[0].externalAuth.backendRef: Service security/auth is in another namespace and no ReferenceGrant"},
		{seed: "grpcroute-create-backends", handler: "grpcroute", allowed: true,
			warning: "spec.rules[0].backendRefs[0].filters[0].requestMirror.backendRef: Service search/shadow is in another namespace"},
		{seed: "tlsroute-create-backends", handler: "tlsroute", code: http.StatusForbidden, message: `listener "http" accepts only HTTPRoute, GRPCRoute, not TLSRoute.`,
			warning: "spec.rules[0].backendRefs[0]: Service payments/app is in another namespace"},
		{seed: "tcproute-create-backends", handler: "tcproute", code: http.StatusForbidden, message: "not TCPRoute.",
			warning: "spec.rules[0].backendRefs[0]: Service payments/app is in another namespace"},
		{seed: "udproute-create-backends", handler: "udproute", code: http.StatusForbidden, message: "not UDPRoute.",
			warning: "spec.rules[0].backendRefs[0]: Service payments/app is in another namespace"},
		{seed: "httproute-create-backends", handler: "grpcroute", code: http.StatusBadRequest},
		{seed: "namespace-create-with-label", handler: "namespace", code: http.StatusForbidden, message: "only group:platform-admins may grant that"},
		{seed: "namespace-grant-by-tenant", handler: "namespace", code: http.StatusForbidden, message: "only group:platform-admins may grant that"},
		{seed: "namespace-grant-by-tenant", handler: "namespace-unguarded", allowed: true,
			warning: `namespace hr now reaches Gateway infra-ns/shared-gateway listener "http"`},
		{seed: "namespace-grant-by-approver", handler: "namespace", allowed: true},
		{seed: "namespace-removes-label", handler: "namespace", code: http.StatusForbidden, message: "- HTTPRoute careers/careers from Gateway infra-ns/shared-gateway"},
		{seed: "namespace-delete", handler: "namespace", allowed: true},
		{seed: "listenerset-create-denied", handler: "listenerset", code: http.StatusForbidden,
			message: `spec.parentRef: Gateway infra-ns/shared-gateway accepts ListenerSets only from its own namespace "infra-ns".`},
		{seed: "listenerset-create-conflict", handler: "listenerset", allowed: true,
			warning: `spec.listeners[1]: listener "dup" conflicts with Gateway infra-ns/shared-gateway listener "http" (HostnameConflict)`},
		{seed: "listenerset-delete", handler: "listenerset", allowed: true},
		{seed: "gateway-update-drops-selector", handler: "gateway", code: http.StatusForbidden, message: "- HTTPRoute careers/careers from Gateway infra-ns/shared-gateway"},
		{seed: "gateway-delete", handler: "gateway", allowed: true, warning: "- HTTPRoute careers/careers from Gateway infra-ns/shared-gateway"},
	} {
		t.Run(tc.seed+"/"+tc.handler, func(t *testing.T) {
			h, ok := handlers[tc.handler]
			if !ok {
				t.Fatalf("no handler %q", tc.handler)
			}
			resp := checkAdmissionAnswer(t, h, readFuzzSeed(t, tc.seed))
			if resp == nil {
				t.Fatal("the seed got an HTTP error, not an AdmissionReview")
			}
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v: %+v", resp.Allowed, tc.allowed, resp.Result)
			}
			if !tc.allowed && (resp.Result.Code != tc.code || !strings.Contains(resp.Result.Message, tc.message)) {
				t.Fatalf("refused with %d %q, want %d and %q", resp.Result.Code, resp.Result.Message, tc.code, tc.message)
			}
			if got := strings.Join(resp.Warnings, "\n"); !strings.Contains(got, tc.warning) || (tc.warning == "" && got != "") {
				t.Fatalf("warnings %q, want %q", got, tc.warning)
			}
		})
	}
}

// readFuzzSeed reads a seed of testdata/fuzz/FuzzAdmissionReview, a file of
// Go's fuzz corpus format with one []byte.
func readFuzzSeed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzAdmissionReview", name))
	if err != nil {
		t.Fatal(err)
	}
	header, value, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	quoted, ok := strings.CutPrefix(value, "[]byte(")
	if header != "go test fuzz v1" || !ok || !strings.HasSuffix(quoted, ")") {
		t.Fatalf("%s is not a corpus file with one []byte", name)
	}
	body, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return []byte(body)
}

// fuzzHandler is one validator as the webhook server serves it. For a route
// kind, typed is controller-runtime's handler of its typed validator, which
// the route handler must answer alike.
type fuzzHandler struct {
	name    string
	path    string
	handler http.Handler
	typed   http.Handler
	decoder *routeDecoder
	// typedDecoder decodes objects as the typed path does.
	typedDecoder admission.Decoder
}

// post sends body to h as the API server does.
func post(h http.Handler, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// parsedReview decodes body as controller-runtime's webhook does before it
// hands the request to a handler: ok says it did.
func parsedReview(body []byte) (admissionv1.AdmissionRequest, bool) {
	var req admissionv1.AdmissionRequest
	ar := unversionedReview{}
	ar.Request = &req
	ar.SetGroupVersionKind(admissionv1.SchemeGroupVersion.WithKind("AdmissionReview"))
	_, _, err := reviewCodecs.UniversalDeserializer().Decode(body, nil, &ar)
	return req, err == nil
}

// reviewCodecs decode AdmissionReviews as controller-runtime's webhook does.
var reviewCodecs = func() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	utilruntime.Must(admissionv1.AddToScheme(scheme))
	utilruntime.Must(admissionv1beta1.AddToScheme(scheme))
	return serializer.NewCodecFactory(scheme)
}()

// unversionedReview is a type the scheme does not know, as
// controller-runtime decodes v1 and v1beta1 reviews alike.
type unversionedReview struct{ admissionv1.AdmissionReview }

// checkAdmissionAnswer posts body to h and checks the answer's invariants.
// It returns the AdmissionResponse, or nil for an HTTP error.
func checkAdmissionAnswer(t *testing.T, h fuzzHandler, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	rec := post(h.handler, h.path, body)
	req, parsed := parsedReview(body)

	if rec.Code != http.StatusOK {
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("%s: HTTP %d, want 200 or a 4xx: %s", h.name, rec.Code, rec.Body)
		}
		return nil
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s: the answer is not JSON: %v\n%s", h.name, err, rec.Body)
	}
	resp := out.Response
	if resp == nil {
		t.Fatalf("%s: the answer has no response: %s", h.name, rec.Body)
	}
	if out.Request != nil {
		t.Fatalf("%s: the answer carries the request back", h.name)
	}
	if !resp.Allowed && (resp.Result == nil || resp.Result.Message == "" || resp.Result.Code < 400 || resp.Result.Code > 599) {
		t.Fatalf("%s: a refusal without an error code and message: %+v", h.name, resp.Result)
	}
	if resp.Allowed && resp.Result != nil && resp.Result.Code >= 400 {
		t.Fatalf("%s: allowed with error code %d", h.name, resp.Result.Code)
	}
	if parsed && resp.UID != req.UID {
		t.Fatalf("%s: the answer's UID is %q, the request's %q", h.name, resp.UID, req.UID)
	}
	if !parsed && resp.Allowed {
		t.Fatalf("%s: a request that did not parse is allowed", h.name)
	}
	// gatewarden refuses a write it understood with Forbidden, never the
	// API's own Invalid: kubectl then prints which webhook refused it.
	if parsed && !resp.Allowed && resp.Result.Code != http.StatusBadRequest &&
		(resp.Result.Code != http.StatusForbidden || resp.Result.Reason != metav1.StatusReasonForbidden) {
		t.Fatalf("%s: refused with %d %s, want 403 Forbidden: %+v", h.name, resp.Result.Code, resp.Result.Reason, resp.Result)
	}
	// A delete is never blocked, unless its object does not decode.
	if parsed && req.Operation == admissionv1.Delete && !resp.Allowed && resp.Result.Code != http.StatusBadRequest {
		t.Fatalf("%s: a DELETE is refused: %+v", h.name, resp.Result)
	}
	return resp
}

// checkSameAsTyped checks that a route handler answers body exactly as
// controller-runtime's handler of the typed validator does, and that when
// its decoder answers, it read the route the typed decode reads.
func checkSameAsTyped(t *testing.T, h fuzzHandler, body []byte) {
	t.Helper()
	got, want := post(h.handler, h.path, body), post(h.typed, h.path, body)
	if got.Code != want.Code || got.Body.String() != want.Body.String() {
		t.Fatalf("%s: answered %d %s\nthe typed path answers %d %s", h.name, got.Code, got.Body, want.Code, want.Body)
	}
	rv, ok := h.decoder.decode(string(body))
	if !ok || !rv.decided() {
		return
	}
	req, parsed := parsedReview(body)
	if !parsed {
		t.Fatalf("%s: the decoder answers a review controller-runtime does not parse", h.name)
	}
	for name, o := range map[string]struct {
		raw []byte
		got routeObject
	}{"object": {req.Object.Raw, rv.object}, "oldObject": {req.OldObject.Raw, rv.oldObject}} {
		if name == "oldObject" && req.Operation != admissionv1.Update {
			continue
		}
		obj := h.decoder.kind.NewObject()
		if err := h.typedDecoder.DecodeRaw(runtime.RawExtension{Raw: o.raw}, obj); err != nil {
			t.Fatalf("%s: the decoder reads %s, which the typed decode refuses: %v", h.name, name, err)
		}
		want, err := h.decoder.kind.Route(obj)
		if err != nil {
			t.Fatal(err)
		}
		if !assert.Equal(t, want, o.got.route, "%s: %s", h.name, name) ||
			!assert.Equal(t, obj.GetDeletionTimestamp() != nil, o.got.deleting, "%s: %s deletionTimestamp", h.name, name) {
			t.FailNow()
		}
	}
}

// fuzzHandlers builds the admission handlers of every route kind, a Namespace with
// and without approvers, a ListenerSet and a Gateway, over a fake cluster:
// infra-ns holds shared-gateway, whose listener admits namespaces labelled
// shared-gateway-access=true and which admits ListenerSets from infra-ns;
// careers is labelled and has a route attached, hr is not.
func fuzzHandlers(tb testing.TB) []fuzzHandler {
	scheme := fuzzScheme(tb)
	selector := &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{
		From:     ptr.To(gatewayv1.NamespacesFromSelector),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"shared-gateway-access": "true"}},
	}}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "infra-ns"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "careers", Labels: map[string]string{"shared-gateway-access": "true"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hr"}},
		&gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Namespace: "infra-ns", Name: "shared-gateway"},
			Spec: gatewayv1.GatewaySpec{GatewayClassName: "example", Listeners: []gatewayv1.Listener{
				{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType, Hostname: ptr.To(gatewayv1.Hostname("*.example.com")), AllowedRoutes: selector},
			}, AllowedListeners: &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{From: ptr.To(gatewayv1.NamespacesFromSame)}}},
		},
		&gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: "careers", Name: "careers"},
			Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{
				ParentRefs: []gatewayv1.ParentReference{{Name: "shared-gateway", Namespace: ptr.To(gatewayv1.Namespace("infra-ns"))}},
			}},
		},
	}
	builder := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...)
	c := withIndexes(builder).Build()
	reader := cluster.NewReader(c, c, cluster.Options{RouteTypes: attachment.RouteTypes, GrantV1: true, ListenerSets: true})
	approvers := Approvers{Groups: []string{"platform-admins"}}

	// As the webhook server runs them, but a panic must fail the fuzz test,
	// not become a 500; logged as the server does, through gatewarden's
	// request logger, into a sink that takes every level and keeps nothing.
	standalone := func(name string, wh *admission.Webhook) *admission.Webhook {
		wh.WithRecoverPanic(false)
		wh.LogConstructor = requestLogger(name)
		if _, err := admission.StandaloneWebhook(wh, admission.StandaloneOptions{Logger: logr.New(nopSink{})}); err != nil {
			tb.Fatal(err)
		}
		return wh
	}
	handlers := []fuzzHandler{
		routeFuzzHandler(tb, "route", scheme, &HTTPRouteValidator{Reader: reader, Mode: attachment.ModeDeny}),
		routeFuzzHandler(tb, "grpcroute", scheme, &GRPCRouteValidator{Reader: reader, Mode: attachment.ModeDeny}),
		routeFuzzHandler(tb, "tlsroute", scheme, &TLSRouteValidator{Reader: reader, Mode: attachment.ModeDeny}),
		routeFuzzHandler(tb, "tcproute", scheme, &TCPRouteValidator{Reader: reader, Mode: attachment.ModeDeny}),
		routeFuzzHandler(tb, "udproute", scheme, &UDPRouteValidator{Reader: reader, Mode: attachment.ModeDeny}),
		{name: "namespace", path: "/validate--v1-namespace",
			handler: standalone("namespace", admission.WithValidator[*corev1.Namespace](scheme, &NamespaceValidator{Reader: reader, Mode: attachment.ModeDeny, Approvers: approvers}))},
		{name: "namespace-unguarded", path: "/validate--v1-namespace",
			handler: standalone("namespace-unguarded", admission.WithValidator[*corev1.Namespace](scheme, &NamespaceValidator{Reader: reader, Mode: attachment.ModeWarn}))},
		{name: "listenerset", path: "/validate-gateway-networking-k8s-io-v1-listenerset",
			handler: standalone("listenerset", admission.WithValidator[*gatewayv1.ListenerSet](scheme, &ListenerSetValidator{Reader: reader, Mode: attachment.ModeDeny}))},
		{name: "gateway", path: "/validate-gateway-networking-k8s-io-v1-gateway",
			handler: standalone("gateway", admission.WithValidator[*gatewayv1.Gateway](scheme, &GatewayValidator{Reader: reader, Mode: attachment.ModeDeny}))},
	}
	return handlers
}

// routeFuzzHandler is the route handler of v's kind, and the typed handler
// it must answer alike, both with panic recovery off.
func routeFuzzHandler[T client.Object](tb testing.TB, name string, scheme *runtime.Scheme, v *RouteValidator[T]) fuzzHandler {
	h := newRouteHandler(scheme, v)
	h.typed.WithRecoverPanic(false)
	h.log = logr.New(nopSink{})
	typed := admission.WithValidator[T](scheme, v).WithRecoverPanic(false)
	typed.LogConstructor = h.typed.LogConstructor
	if _, err := admission.StandaloneWebhook(typed, admission.StandaloneOptions{Logger: logr.New(nopSink{})}); err != nil {
		tb.Fatal(err)
	}
	gvk, err := apiutil.GVKForObject(h.decoder.kind.NewObject(), scheme)
	if err != nil {
		tb.Fatal(err)
	}
	return fuzzHandler{name: name, path: validatePath(gvk), handler: h, typed: typed, decoder: h.decoder, typedDecoder: admission.NewDecoder(scheme)}
}

// fuzzScheme knows the Gateway API and core types, as the manager's does.
func fuzzScheme(tb testing.TB) *runtime.Scheme {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, gatewayv1.Install, gatewayv1beta1.Install} {
		if err := add(scheme); err != nil {
			tb.Fatal(err)
		}
	}
	return scheme
}

// nopSink is a logr.LogSink that is enabled at every level and drops
// everything, so that the fuzzer runs the logging code without its output.
type nopSink struct{}

func (nopSink) Init(logr.RuntimeInfo)            {}
func (nopSink) Enabled(int) bool                 { return true }
func (nopSink) Info(int, string, ...any)         {}
func (nopSink) Error(error, string, ...any)      {}
func (s nopSink) WithValues(...any) logr.LogSink { return s }
func (s nopSink) WithName(string) logr.LogSink   { return s }
