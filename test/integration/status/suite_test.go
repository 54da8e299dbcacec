// Package status_test proves the status reconciler against a real
// kube-apiserver: route status stays true after admission, when a Namespace
// is relabelled or a Gateway edited, and other controllers' entries are
// never touched.
package status_test

import (
	"context"
	"os"
	"testing"

	"github.com/gatewarden/gatewarden/test/framework"
)

var cp *framework.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(framework.RunSuite(m, framework.Options{Race: true}, &cp))
}

// serve runs gatewarden for one test and stops it at the end.
func serve(t testing.TB, name string, flags ...string) *framework.Server {
	t.Helper()
	s, err := cp.StartGatewarden(context.Background(), name, nil, flags...)
	if err != nil {
		t.Fatalf("starting gatewarden: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gatewarden logs:\n%s", s.Logs())
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("stopping gatewarden: %v", err)
		}
	})
	return s
}
