// Command noop is the baseline of the admission benchmark: a
// controller-runtime webhook server with gatewarden's server settings (TLS
// 1.2 minimum, HTTP/1.1, the same certificate, controller-runtime's metrics
// on every path) that allows every HTTPRoute. Run as its own process, like
// gatewarden, it measures what the framework costs, with one of two
// handlers:
//
//   - --decode=generic: what a minimal controller-runtime webhook does.
//     controller-runtime decodes the AdmissionReview, and the handler
//     decodes the object generically (admission.Decoder into an
//     unstructured.Unstructured) before it allows it.
//   - --decode=none: the floor. The handler reads the body, finds the
//     request's uid and answers; nothing is decoded.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// path is where gatewarden serves HTTPRoute admissions.
const path = "/validate-gateway-networking-k8s-io-v1-httproute"

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1")
	certDir := flag.String("cert-dir", "", "folder with tls.crt and tls.key")
	decode := flag.String("decode", "generic", "what the handler decodes: generic or none")
	flag.Parse()

	var handler http.Handler
	switch *decode {
	case "generic":
		handler = &webhook.Admission{Handler: genericAllow{decoder: admission.NewDecoder(runtime.NewScheme())}}
	case "none":
		handler = http.HandlerFunc(floorAllow)
	default:
		fmt.Fprintf(os.Stderr, "--decode %q is not generic or none\n", *decode)
		os.Exit(2)
	}
	srv := webhook.NewServer(webhook.Options{
		Host: "127.0.0.1", Port: *port, CertDir: *certDir,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12; c.NextProtos = []string{"http/1.1"} }},
	})
	srv.Register(path, handler)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := srv.Start(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// genericAllow decodes the object into an unstructured.Unstructured and
// allows it.
type genericAllow struct {
	decoder admission.Decoder
}

func (h genericAllow) Handle(_ context.Context, req admission.Request) admission.Response {
	obj := &unstructured.Unstructured{}
	if err := h.decoder.Decode(req, obj); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	return admission.Allowed("")
}

// uidPrefix starts every AdmissionReview the benchmark sends, as Go's
// encoding/json writes admissionv1.AdmissionReview: the request's uid is its
// first field.
var uidPrefix = []byte(`"request":{"uid":"`)

// floorAllow answers with the request's uid, allowed, having decoded
// nothing: the cost of TLS, HTTP and reading the body.
func floorAllow(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	start := bytes.Index(body, uidPrefix)
	if start < 0 {
		http.Error(w, "no request uid", http.StatusBadRequest)
		return
	}
	uid := body[start+len(uidPrefix):]
	uid = uid[:max(bytes.IndexByte(uid, '"'), 0)]
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":%q,"allowed":true}}`, uid)
}
