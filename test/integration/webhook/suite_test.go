// Package webhook_test proves the admission webhook the way a cluster uses
// it: a real kube-apiserver calls `gatewarden serve` over TLS through the
// chart's ValidatingWebhookConfiguration, and users write with kubectl.
package webhook_test

import (
	"os"
	"testing"

	"github.com/gatewarden/gatewarden/test/framework"
)

var (
	cp     *framework.ControlPlane
	shared *framework.Shared
)

func TestMain(m *testing.M) {
	os.Exit(framework.RunSuite(m, framework.Options{Race: true}, &cp))
}

// serve makes sure gatewarden runs with exactly these flags; tests of this
// package run one at a time.
func serve(t *testing.T, flags ...string) *framework.Server {
	t.Helper()
	if shared == nil {
		shared = cp.Shared()
	}
	return shared.Serve(t, flags...)
}
