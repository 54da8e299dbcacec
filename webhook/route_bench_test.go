package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// mapReader is a cache as the manager's is read without deep copies: a
// lookup by key and a shallow copy. The fake client's JSON round trips would
// measure the fake, not the validator.
type mapReader map[reflect.Type]map[types.NamespacedName]client.Object

func (m mapReader) add(o client.Object) {
	t := reflect.TypeOf(o)
	if m[t] == nil {
		m[t] = map[types.NamespacedName]client.Object{}
	}
	m[t][types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}] = o
}

func (m mapReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	o, ok := m[reflect.TypeOf(obj)][key]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
	}
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(o).Elem())
	return nil
}

func (m mapReader) List(context.Context, client.ObjectList, ...client.ListOption) error { return nil }

// BenchmarkRouteAdmission is one HTTPRoute admission through
// controller-runtime's handler, as the HTTPS server runs it, minus TLS.
func BenchmarkRouteAdmission(b *testing.B) {
	// As the API server stores them: with a UID and a resourceVersion, and
	// the Namespace with its kubernetes.io/metadata.name label.
	cache := mapReader{}
	for i := range 1000 {
		gw := sharedGateway()
		gw.UID, gw.ResourceVersion = types.UID(fmt.Sprint(i)), "1"
		if i > 0 {
			gw.Name = fmt.Sprintf("gw-%d", i)
		}
		cache.add(gw)
	}
	cache.add(labelled("careers", map[string]string{accessLabel: "true", corev1.LabelMetadataName: "careers"}))
	v := &HTTPRouteValidator{Reader: cluster.NewReader(cache, cache, cluster.Options{RouteTypes: attachment.RouteTypes, GrantV1: true}), Mode: "deny"}
	handler := admission.WithValidator[*gatewayv1.HTTPRoute](testScheme(b), v)
	route := httpRoute("careers", "careers")
	route.TypeMeta = metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"}
	raw, _ := json.Marshal(route)
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "1", Operation: admissionv1.Create, Namespace: "careers", Name: "careers",
			Kind:   metav1.GroupVersionKind{Group: gatewayv1.GroupName, Version: "v1", Kind: "HTTPRoute"},
			Object: runtimeRaw(raw),
		},
	})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"allowed":true`)) {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

func runtimeRaw(b []byte) runtime.RawExtension { return runtime.RawExtension{Raw: b} }
