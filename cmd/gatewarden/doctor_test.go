package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/gatewarden/gatewarden/pkg/doctor"
)

// runDoctor runs the doctor command alone (root.go wires it into the
// binary) and returns the exit code execute would.
func runDoctor(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newDoctorCommand(streams{in: strings.NewReader(""), out: &out, err: &errOut})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	err := cmd.Execute()
	var ee *exitError
	switch {
	case err == nil:
		code = exitOK
	case errors.As(err, &ee):
		code = ee.code
		if ee.err != nil {
			errOut.WriteString(ee.err.Error())
		}
	default:
		code = exitUsage
		errOut.WriteString(err.Error())
	}
	return code, out.String(), errOut.String()
}

func TestDoctorUsageErrors(t *testing.T) {
	code, _, stderr := runDoctor(t, "-o", "yaml")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `--output "yaml" is not text or json`)

	code, _, _ = runDoctor(t, "--no-such-flag")
	assert.Equal(t, exitUsage, code)
}

func TestDoctorUnreachableCluster(t *testing.T) {
	// Port 1 on loopback refuses at once: nothing listens there.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: t}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`), 0o600))
	code, stdout, stderr := runDoctor(t, "--kubeconfig", kubeconfig, "--timeout", "5s")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout, "no report without a cluster")
	assert.Contains(t, stderr, "cannot reach the cluster at https://127.0.0.1:1")
}

func TestDoctorBadKubeconfig(t *testing.T) {
	code, _, stderr := runDoctor(t, "--kubeconfig", filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "loading the kubeconfig")
}

// The report and exit code on a cluster where nothing is installed: every
// check runs, the failures exit 1.
func TestDoctorReportsFailuresWithExitCode1(t *testing.T) {
	scheme, err := doctor.NewScheme()
	require.NoError(t, err)
	env := &doctor.Env{
		Client: fake.NewClientBuilder().WithScheme(scheme).WithObjects(
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gatewarden-system"}}).Build(),
		Discovery: &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: []*metav1.APIResourceList{{
			GroupVersion: "gateway.networking.k8s.io/v1",
			APIResources: []metav1.APIResource{{Name: "gateways"}, {Name: "httproutes"}},
		}}}},
		Namespace: "gatewarden-system", WebhookConfigName: "gatewarden", ServiceName: "gatewarden",
		CertificateName: "gatewarden-serving", SelfSignedSecretName: "gatewarden-serving-cert",
	}

	for _, output := range []string{"text", "json"} {
		t.Run(output, func(t *testing.T) {
			var out bytes.Buffer
			o := &doctorOptions{output: output}
			err := o.report(context.Background(), env, streams{out: &out, err: &bytes.Buffer{}})
			var ee *exitError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, 1, ee.code)
			assert.NoError(t, ee.err, "the report is the message")

			if output == "text" {
				assert.True(t, strings.HasPrefix(out.String(), "CHECK "), out.String())
				assert.Contains(t, out.String(), "webhook-config    FAIL    ValidatingWebhookConfiguration gatewarden not found")
				assert.Contains(t, out.String(), "\nFixes:\n")
				return
			}
			var got struct {
				Checks []doctor.Result `json:"checks"`
			}
			require.NoError(t, json.Unmarshal(out.Bytes(), &got))
			require.Len(t, got.Checks, len(doctor.Checks()))
			assert.Equal(t, "gateway-api-crds", got.Checks[0].Name)
			assert.Equal(t, doctor.StatusOK, got.Checks[0].Status)
			assert.Equal(t, doctor.StatusFail, got.Checks[1].Status)
			assert.NotEmpty(t, got.Checks[1].Fix)
		})
	}
}
