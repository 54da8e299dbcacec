// Command noop is the baseline of the admission benchmark: a
// controller-runtime webhook server with gatewarden's server settings (TLS
// 1.2 minimum, HTTP/1.1, the same certificate) whose HTTPRoute validator
// allows everything at once. Run as its own process, like gatewarden, it
// measures what the framework alone costs.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1")
	certDir := flag.String("cert-dir", "", "folder with tls.crt and tls.key")
	flag.Parse()

	scheme := runtime.NewScheme()
	if err := gatewayv1.Install(scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := webhook.NewServer(webhook.Options{
		Host: "127.0.0.1", Port: *port, CertDir: *certDir,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12; c.NextProtos = []string{"http/1.1"} }},
	})
	srv.Register("/validate-gateway-networking-k8s-io-v1-httproute", admission.WithValidator[*gatewayv1.HTTPRoute](scheme, allow{}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := srv.Start(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type allow struct{}

func (allow) ValidateCreate(context.Context, *gatewayv1.HTTPRoute) (admission.Warnings, error) {
	return nil, nil
}

func (allow) ValidateUpdate(context.Context, *gatewayv1.HTTPRoute, *gatewayv1.HTTPRoute) (admission.Warnings, error) {
	return nil, nil
}

func (allow) ValidateDelete(context.Context, *gatewayv1.HTTPRoute) (admission.Warnings, error) {
	return nil, nil
}
