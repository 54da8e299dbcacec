// Package listenerset_test proves the second handshake of a shared Gateway
// the way a cluster lives it: the README's scenario one level up, applied
// with kubectl against a real kube-apiserver that calls `gatewarden serve`
// through the chart's ValidatingWebhookConfiguration, and the status
// gatewarden keeps for routes attached through a ListenerSet.
package listenerset_test

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
	os.Exit(framework.RunSuite(m, framework.Options{}, &cp))
}

// serve makes sure gatewarden runs with exactly these flags; the tests of
// this package run one at a time, in order.
func serve(t *testing.T, flags ...string) *framework.Server {
	t.Helper()
	if shared == nil {
		shared = cp.Shared()
	}
	return shared.Serve(t, flags...)
}
