package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	admissionv1beta1 "k8s.io/api/admission/v1beta1"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	admissionmetrics "sigs.k8s.io/controller-runtime/pkg/webhook/admission/metrics"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// routeHandler serves the admission reviews of one route kind. It is
// registered on the manager's webhook server, at the path
// controller-runtime's builder would use, so TLS, the certificate watcher
// and controller-runtime's webhook metrics are those of every other path.
//
// It decodes each review itself, in one pass, into what the decision reads
// (routereview.go), instead of letting controller-runtime decode it: that
// decode found the kind of the review and of the route by reading each
// whole with encoding/json, then decoded both into full typed objects, and
// took 70% of an admission's CPU (BenchmarkRouteAdmission, and 43% of
// gatewarden's CPU under load in issue 11), against about 5% for the
// decision itself.
//
// Whatever the decoder does not answer for sure (bad JSON, YAML, CONNECT,
// DELETE, an object of another kind, any member the typed decode would
// refuse) goes to typed: controller-runtime's handler of the kind's typed
// admission.Validator, so that those answers are exactly controller-
// runtime's. Both end in RouteValidator.admitRoute, and the fuzz tests check
// that both answer every review alike.
type routeHandler struct {
	decoder *routeDecoder
	admit   routeAdmitter
	typed   *admission.Webhook
	log     logr.Logger
}

// routeAdmitter is RouteValidator, whatever its type parameter.
type routeAdmitter interface {
	admitRoute(ctx context.Context, oldRoute, route *attachment.Route, deleting bool) (admission.Warnings, error)
}

// newRouteHandler returns the handler of v's route kind.
func newRouteHandler[T client.Object](scheme *runtime.Scheme, v *RouteValidator[T]) *routeHandler {
	kind := routeTypeFor[T]()
	typed := admission.WithValidator[T](scheme, v)
	typed.LogConstructor = requestLogger(string(kind.Kind))
	return &routeHandler{decoder: newRouteDecoder(kind), admit: v, typed: typed, log: logf.Log.WithName("admission")}
}

// routeTypeFor returns the row of attachment.RouteTypes whose Go type is T;
// a T that has none is a programming error.
func routeTypeFor[T client.Object]() *attachment.RouteType {
	for i := range attachment.RouteTypes {
		if _, ok := attachment.RouteTypes[i].NewObject().(T); ok {
			return &attachment.RouteTypes[i]
		}
	}
	var zero T
	panic(fmt.Sprintf("webhook: %T is not a route kind of attachment.RouteTypes", zero))
}

// setupRouteWebhook registers the handler of v's route kind with the
// manager's webhook server, at controller-runtime's path for its kind
// (/validate-gateway-networking-k8s-io-v1-httproute...).
func setupRouteWebhook[T client.Object](mgr ctrl.Manager, v *RouteValidator[T]) error {
	var zero T
	gvk, err := apiutil.GVKForObject(routeTypeFor[T]().NewObject(), mgr.GetScheme())
	if err != nil {
		return fmt.Errorf("registering the %T webhook: %w", zero, err)
	}
	mgr.GetWebhookServer().Register(validatePath(gvk), newRouteHandler(mgr.GetScheme(), v))
	return nil
}

// validatePath is the path controller-runtime's builder serves a validating
// webhook of gvk on.
func validatePath(gvk schema.GroupVersionKind) string {
	return "/validate-" + strings.ReplaceAll(gvk.Group, ".", "-") + "-" + gvk.Version + "-" + strings.ToLower(gvk.Kind)
}

// maxRequestSize is controller-runtime's limit on a review's size. A larger
// body goes to the typed path, which refuses it.
const maxRequestSize = 7 << 20

// reviewVersions are the AdmissionReview versions the API server sends, by
// apiVersion; the answer is in the version of the review.
var reviewVersions = map[string]schema.GroupVersionKind{
	admissionv1.SchemeGroupVersion.String():      admissionv1.SchemeGroupVersion.WithKind("AdmissionReview"),
	admissionv1beta1.SchemeGroupVersion.String(): admissionv1beta1.SchemeGroupVersion.WithKind("AdmissionReview"),
}

// bodies are the buffers reviews are read into: they are copied into the
// string the decoder reads, then reused.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (h *routeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.Header.Get("Content-Type") != "application/json" {
		h.typed.ServeHTTP(w, r)
		return
	}
	defer r.Body.Close()
	buf := bodies.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 {
			bodies.Put(buf)
		}
	}()
	limited := &io.LimitedReader{R: r.Body, N: maxRequestSize}
	if _, err := buf.ReadFrom(limited); err != nil || limited.N <= 0 {
		// The typed path reads the body again, and fails as it did here.
		var rest io.Reader = r.Body
		if err != nil {
			rest = failingReader{err}
		}
		h.typed.ServeHTTP(w, withBody(r, io.MultiReader(bytes.NewReader(buf.Bytes()), rest)))
		return
	}
	rv, ok := h.decoder.decode(buf.String())
	if !ok || !rv.decided() {
		h.typed.ServeHTTP(w, withBody(r, bytes.NewReader(buf.Bytes())))
		return
	}
	h.write(w, h.handle(r.Context(), &rv), reviewVersions[rv.apiVersion])
}

// decided reports whether the fast path answers the review: a CREATE or an
// UPDATE whose route (and old route) the typed decode would read as the
// decoder did. controller-runtime answers CONNECT, DELETE and the rest.
func (rv *routeReview) decided() bool {
	switch rv.operation {
	case admissionv1.Create:
		return rv.object.present && rv.object.exact
	case admissionv1.Update:
		return rv.object.present && rv.object.exact && rv.oldObject.present && rv.oldObject.exact
	}
	return false
}

// handle decides as controller-runtime's admission.Webhook.Handle would
// around the typed validator: the same logger in the context, the same
// answers for an error, a denial and a panic.
func (h *routeHandler) handle(ctx context.Context, rv *routeReview) (resp admission.Response) {
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: rv.uid, Operation: rv.operation, Namespace: rv.namespace, Name: rv.name,
		UserInfo: authenticationv1.UserInfo{Username: rv.username},
	}}
	defer func() {
		if p := recover(); p != nil {
			admissionmetrics.WebhookPanics.WithLabelValues().Inc()
			if h.typed.RecoverPanic == nil || *h.typed.RecoverPanic {
				for _, fn := range utilruntime.PanicHandlers {
					fn(ctx, p)
				}
				resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("panic: %v [recovered]", p))
				resp.UID = rv.uid
				return
			}
			logf.FromContext(ctx).Info(fmt.Sprintf("Observed a panic in webhook: %v", p))
			panic(p)
		}
	}()
	ctx = logf.IntoContext(ctx, h.typed.LogConstructor(h.log, &req))

	var oldRoute *attachment.Route
	if rv.operation == admissionv1.Update {
		oldRoute = rv.oldObject.route
	}
	warnings, err := h.admit.admitRoute(ctx, oldRoute, rv.object.route, rv.object.deleting)
	var status apierrors.APIStatus
	switch {
	case err == nil:
		resp = admission.Allowed("").WithWarnings(warnings...)
	case errors.As(err, &status):
		result := status.Status()
		resp = admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Result: &result}}.WithWarnings(warnings...)
	default:
		resp = admission.Denied(err.Error()).WithWarnings(warnings...)
	}
	if err := resp.Complete(req); err != nil {
		// Complete fails only on patches, which a validator has none of.
		resp = admission.Errored(http.StatusInternalServerError, err)
		resp.UID = rv.uid
	}
	return resp
}

// write answers as controller-runtime's webhook does, in the review's
// version.
func (h *routeHandler) write(w io.Writer, resp admission.Response, gvk schema.GroupVersionKind) {
	ar := admissionv1.AdmissionReview{Response: &resp.AdmissionResponse}
	ar.SetGroupVersionKind(gvk)
	if err := json.NewEncoder(w).Encode(ar); err != nil {
		log := h.typed.LogConstructor(h.log, nil)
		log.Error(err, "unable to encode and write the response")
		serverError := admission.Errored(http.StatusInternalServerError, err)
		if err := json.NewEncoder(w).Encode(admissionv1.AdmissionReview{Response: &serverError.AdmissionResponse}); err != nil {
			log.Error(err, "still unable to encode and write the InternalServerError response")
		}
	}
}

// withBody is r with another body, for the typed path.
func withBody(r *http.Request, body io.Reader) *http.Request {
	out := *r
	out.Body = io.NopCloser(body)
	return &out
}

// failingReader fails as the request's body did.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }
