// Package availability_test proves what the cluster keeps while gatewarden
// is down or slow, against a real kube-apiserver and the chart's own
// ValidatingWebhookConfiguration: the writes gatewarden does not judge go
// through, those it must judge fail closed, a slow API server still gets
// gatewarden's answer in time, and gatewarden survives an API server
// restart.
package availability_test

import (
	"os"
	"testing"

	"github.com/gatewarden/gatewarden/test/framework"
)

var cp *framework.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(framework.RunSuite(m, framework.Options{Race: true}, &cp))
}
