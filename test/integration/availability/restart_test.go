package availability_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gatewarden/gatewarden/test/framework"
)

// kube-apiserver stops and starts again on the same port and etcd (an
// upgrade, a crash) under a running gatewarden: /readyz says it is not
// ready while it cannot reach the API server and ready again once it can,
// without a restart of gatewarden; its caches resume; and the admissions
// after the restart see what was written since.
func TestAPIServerRestart(t *testing.T) {
	ctx := context.Background()
	const infra, app = "restart-infra", "restart-app"
	require.NoError(t, cp.CreateNamespace(ctx, infra, nil))
	require.NoError(t, cp.CreateNamespace(ctx, app, nil))
	require.NoError(t, cp.Client.Create(ctx, selectorGateway(infra, "before", "restart.test/before")))

	s, err := cp.StartGatewarden(ctx, "restart", nil, "--status=false")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Stop(context.Background())) })
	pid := s.PID()
	require.Eventually(t, func() bool {
		return deniedByGatewarden(cp.Client.Create(ctx, routeTo(app, "probe", infra, "before"), client.DryRunAll))
	}, 30*time.Second, 50*time.Millisecond)

	apiServer := cp.Env.ControlPlane.APIServer
	stopping := time.Now()
	require.NoError(t, apiServer.Stop())
	t.Logf("kube-apiserver stopped in %s", time.Since(stopping))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, body := readyz(t, s)
		assert.Equal(c, http.StatusInternalServerError, code)
		assert.Contains(c, body, "[-]apiserver failed")
	}, 30*time.Second, 100*time.Millisecond, "not ready while the API server is down")
	assert.Equal(t, http.StatusOK, healthz(t, s), "alive all the same: the kubelet must not restart it for the API server's sake")

	require.NoError(t, apiServer.Start())
	require.Eventually(t, func() bool { code, _ := readyz(t, s); return code == http.StatusOK }, 60*time.Second, 100*time.Millisecond,
		"ready again once the API server is back")
	exited, err := s.Exited()
	require.False(t, exited, "gatewarden was not restarted: %v", err)
	assert.Equal(t, pid, s.PID())

	// Written after the restart: gatewarden's next admission sees it, from
	// its cache or, as for any object its cache does not have yet, from the
	// API server.
	require.NoError(t, cp.Client.Create(ctx, selectorGateway(infra, "after", "restart.test/after")))
	require.Eventually(t, func() bool {
		// The API server calls webhooks again once its own informers have
		// synced: until then writes fail on its side, not gatewarden's.
		return deniedByGatewarden(cp.Client.Create(ctx, routeTo(app, "after", infra, "after"), client.DryRunAll))
	}, 30*time.Second, 100*time.Millisecond, "gatewarden judges a route to a Gateway created after the restart")

	// And its caches resume: the grant warning is decided from the cache
	// alone, so it names the new Gateway once the informer has it.
	warnings := &framework.WarningRecorder{}
	c, err := cp.ClientWithWarnings(warnings)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		warnings.Reset()
		ns := namespace(t, app)
		ns.Labels["restart.test/after"] = "true"
		return c.Update(ctx, ns, client.DryRunAll) == nil &&
			strings.Contains(strings.Join(warnings.Messages(), "\n"), "namespace "+app+" now reaches Gateway "+infra+`/after listener "http"`)
	}, 30*time.Second, 100*time.Millisecond, "gatewarden's cache has the Gateway created after the restart")
}

func healthz(t *testing.T, s *framework.Server) int {
	t.Helper()
	resp, err := http.Get(s.ProbeURL + "/healthz") //nolint:noctx // a probe, as the kubelet's
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func namespace(t *testing.T, name string) *corev1.Namespace {
	t.Helper()
	ns := &corev1.Namespace{}
	require.NoError(t, cp.Client.Get(context.Background(), types.NamespacedName{Name: name}, ns))
	return ns
}
