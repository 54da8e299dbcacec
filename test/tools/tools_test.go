// Package tools_test checks the tools `make tools` builds from source into
// bin/: they must tell their versions as their release builds do, or
// kubectl cannot parse its own version and helm renders charts for a
// Kubernetes it does not talk to.
package tools_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The versions test/tools/kube/go.mod and the Makefile pin.
const (
	kubeVersion = "v1.37.2"
	helmVersion = "v3.22.0"
)

func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "bin", name))
	require.NoError(t, err)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s not found at %s: run make tools", name, path)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool(t, name), args...)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

func TestKubectlVersion(t *testing.T) {
	out := run(t, "kubectl", "version", "--client", "-o", "json")
	assert.Contains(t, out, `"gitVersion": "`+kubeVersion+`"`)
	assert.Contains(t, out, `"minor": "37"`)
}

func TestKubeAPIServerVersion(t *testing.T) {
	assert.Equal(t, "Kubernetes "+kubeVersion, strings.TrimSpace(run(t, "kube-apiserver", "--version")))
}

func TestHelmVersion(t *testing.T) {
	assert.Contains(t, run(t, "helm", "version", "--short"), helmVersion)
}

// Without a cluster, helm renders for the Kubernetes version it was built
// for; the chart's kubeVersion floor (>=1.32) must accept it without
// --kube-version.
func TestHelmTemplateWithoutKubeVersion(t *testing.T) {
	out := run(t, "helm", "template", "gatewarden", "charts/gatewarden", "--namespace", "gatewarden-system")
	assert.Contains(t, out, "kind: ValidatingWebhookConfiguration")
}
