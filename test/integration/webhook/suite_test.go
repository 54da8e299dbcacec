// Package webhook_test proves the admission webhook the way a cluster uses
// it: a real kube-apiserver calls `gatewarden serve` over TLS through the
// chart's ValidatingWebhookConfiguration, and users write with kubectl.
package webhook_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/gatewarden/gatewarden/test/framework"
)

var cp *framework.ControlPlane

func TestMain(m *testing.M) {
	var err error
	cp, err = framework.Start(framework.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if running != nil {
		_ = running.Stop(context.Background())
	}
	if err := cp.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

var (
	running      *framework.Server
	runningFlags []string
	started      int
)

// serve makes sure gatewarden runs with exactly these flags, restarting it
// when another test needed others. Tests of this package run one at a time.
func serve(t *testing.T, flags ...string) *framework.Server {
	t.Helper()
	if running != nil && slices.Equal(runningFlags, flags) {
		exited, err := running.Exited()
		if !exited {
			return running
		}
		t.Logf("gatewarden had exited (%v):\n%s", err, running.Logs())
	}
	if running != nil {
		if err := running.Stop(context.Background()); err != nil {
			t.Fatalf("stopping gatewarden: %v", err)
		}
		running = nil
	}
	started++
	s, err := cp.StartGatewarden(context.Background(), fmt.Sprint(started), nil, flags...)
	if err != nil {
		t.Fatalf("starting gatewarden: %v", err)
	}
	running, runningFlags = s, flags
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gatewarden logs:\n%s", s.Logs())
		}
	})
	return s
}
